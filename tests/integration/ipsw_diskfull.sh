#!/usr/bin/env bash
# Pre-extraction into a cache on a really full file system (a 1 MB tmpfs in a private
# mount namespace): the preparation ends with an error naming the lack of space, leaves
# no partial file, and a later preparation into a roomy cache still works.
. "$IDB_TOP/tests/lib.sh"
PREP="$IDB_BUILD/tests/ipsw/ipswprep"
[ -x "$PREP" ] || skip_all "ipswprep not built"
unshare -m true 2>/dev/null || skip_all "no mount namespaces here"

NAME="iPhone9,1_15.8.3_19H386_Restore"
IPSW="$T/$NAME.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" "$IPSW" --os-bytes 3000000
mkdir -p "$T/small"
unshare -m bash -c "mount -t tmpfs -o size=1m tmpfs '$T/small' || exit 99
	'$PREP' '$IPSW' '$T/small/cache' >'$T/full.out' 2>&1
	echo \"rc \$?\" >>'$T/full.out'
	find '$T/small' -type f >'$T/full.files'"
if grep -q '^rc 99' "$T/full.out" 2>/dev/null || [ ! -s "$T/full.out" ]; then
	skip_all "cannot mount a tmpfs here"
fi
check "the preparation fails" grep -qx "rc 1" "$T/full.out"
check "done reports ENOSPC and says why" grep -q "^done 28 .*space" "$T/full.out"
check "no partial file is left on the full file system" test ! -s "$T/full.files"
check "nothing was called cached" bash -c "! grep -qx 'cached yes' '$T/full.out'"
check "a roomy cache works afterwards" bash -c "'$PREP' '$IPSW' '$T/roomy' | grep -q '^done 0 extracted'"
check "and holds the whole image" bash -c "[ \$(stat -c %s '$T/roomy/$NAME/038-00002-001.dmg') -eq 3000000 ]"
if ! grep -q '^done 28' "$T/full.out"; then diag "$T/full.out"; fi
done_testing
