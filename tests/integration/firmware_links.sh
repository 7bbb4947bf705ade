#!/usr/bin/env bash
# Links planted in the library. A shop may let technicians (not root) write the library
# folder while the bench runs as root: whatever they put there, the bench never writes,
# truncates or reads through a symbolic link in its own places (.partial/, .meta/), and a
# link cannot make a file look like a download the budget may delete.
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"

W="$T/www"
L="$T/lib"
N=iPhone10,6_16.7.10_20H350_Restore.ipsw
mkdir -p "$W/fw" "$L/.meta" "$L/.partial"
mk_ipsw "$W/fw/$N" iPhone10,6 0x8015 0x0e 16.7.10 20H350 --os-bytes 300000
nginx_start "$W" || { not_ok "nginx started"; done_testing; }
python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone10,6 0x8015 0x0e fw/$N:16.7.10:20H350:1

# files outside the library that the links point at
echo precious >"$T/victim.partial"
echo precious >"$T/victim.meta"
printf 'downloaded 1\n' >"$T/says-downloaded"
ln -s "$T/victim.partial" "$L/.partial/$N"
ln -s "$T/victim.meta" "$L/.meta/$N"
# a file put there by hand, whose .meta entry is a link to a file saying "downloaded"
mk_ipsw "$L/byhand.ipsw" iPhone9,1 0x8010 0x08 15.8.2 19H384 --os-bytes 300000
ln -s "$T/says-downloaded" "$L/.meta/byhand.ipsw"
touch -h -d '3 days ago' "$L/.meta/byhand.ipsw" "$L/byhand.ipsw"
printf '[firmware]\ndir = %s\nindex = http://127.0.0.1:%s\nkeep = 500K\n' "$L" "$NGINX_PORT" >"$T/fw.conf"

"$IDEVICEBENCH" -c "$T/fw.conf" firmware fetch iPhone10,6 >"$T/fetch.out" 2>&1
echo "rc $?" >>"$T/fetch.out"
check "the fetch succeeds" grep -qx "rc 0" "$T/fetch.out"
check "the file a .partial link pointed at is untouched" grep -qx precious "$T/victim.partial"
check "the file a .meta link pointed at is untouched" grep -qx precious "$T/victim.meta"
check "the download is a file in the library" bash -c "[ -f '$L/$N' ] && [ ! -L '$L/$N' ]"
check "its .meta entry is a file of its own now" bash -c "[ -f '$L/.meta/$N' ] && [ ! -L '$L/.meta/$N' ] &&
	grep -q '^downloaded 1' '$L/.meta/$N'"
check "the download is verified" bash -c "cmp -s '$W/fw/$N' '$L/$N'"
check "no partial is left" bash -c "[ -z \"\$(ls -A '$L/.partial')\" ]"
check "a file whose .meta is a link is not taken for a download: keep did not evict it" \
	[ -e "$L/byhand.ipsw" ]
"$IDEVICEBENCH" -c "$T/fw.conf" firmware --json >"$T/list.json" 2>&1
check "the table counts only the real download against keep" python3 - "$T/list.json" "$L" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = {r["path"].rsplit("/", 1)[-1]: r for r in rows}
assert by["byhand.ipsw"]["downloaded"] is False, by["byhand.ipsw"]
assert by["iPhone10,6_16.7.10_20H350_Restore.ipsw"]["downloaded"] is True
PY

# .partial itself a link to a folder elsewhere: refused with the reason, nothing written there
rm -f "$L/$N" "$L/.meta/$N"
rm -rf "$L/.partial"
mkdir -p "$T/elsewhere"
ln -s "$T/elsewhere" "$L/.partial"
"$IDEVICEBENCH" -c "$T/fw.conf" firmware fetch iPhone10,6 >"$T/fetch2.out" 2>&1
echo "rc $?" >>"$T/fetch2.out"
check "a linked .partial folder: the fetch fails" grep -qx "rc 1" "$T/fetch2.out"
check "and says why" grep -q "\.partial is not a folder (a link?): remove it" "$T/fetch2.out"
check "nothing was written where it points" bash -c "[ -z \"\$(ls -A '$T/elsewhere')\" ]"

# .meta a link to a folder elsewhere: the download still lands, nothing is written there
rm -f "$L/.partial"
rm -rf "$L/.meta"
mkdir -p "$T/metaelse"
ln -s "$T/metaelse" "$L/.meta"
"$IDEVICEBENCH" -c "$T/fw.conf" firmware fetch iPhone10,6 >"$T/fetch3.out" 2>&1
echo "rc $?" >>"$T/fetch3.out"
check "a linked .meta folder: nothing is written where it points" \
	bash -c "[ -z \"\$(ls -A '$T/metaelse')\" ]"
# the file is whole and checked; only its record is not kept (so keep never evicts it)
check "and the download still lands, checked" bash -c "grep -qx 'rc 0' '$T/fetch3.out' && cmp -s '$W/fw/$N' '$L/$N'"
done_testing
