#!/usr/bin/env bash
# real_idevicerestore_nodevice.sh: Debian's real idevicerestore with no phone
# attached (~10 s): explain must call its output and exit status "no-device".
#
# 1.0.0 looks for the device (10 s) before it checks the IPSW path, but the
# path given here exists anyway (a small file), so that an idevicerestore
# that checked the file first would still reach the device search rather
# than stop at "Firmware file ... does not exist".
set -u
top=${IDB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${IDEVICEBENCH:-$top/build/idevicebench}

echo "1..3"
if ! command -v idevicerestore >/dev/null 2>&1; then
	echo "ok 1 # SKIP idevicerestore is not installed"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'not really an ipsw\n' >"$tmp/small.ipsw"

# its own working directory: master would drop a log file there
(cd "$tmp" && timeout 120 idevicerestore -i 0x1234 -y -P "$tmp/small.ipsw" \
    </dev/null >"$tmp/restore.log" 2>&1)
rc=$?

bad=0
if [ $rc -ne 0 ] && [ $rc -ne 124 ] &&
    grep -q 'Unable to discover device mode' "$tmp/restore.log"; then
	echo "ok 1 - idevicerestore failed the no-device way (exit $rc)"
else
	echo "not ok 1 - idevicerestore failed the no-device way (exit $rc)"
	sed 's/^/#   /' "$tmp/restore.log" | head -20
	bad=1
fi

"$bin" explain --exit "$rc" "$tmp/restore.log" >"$tmp/out" 2>&1
erc=$?
if [ $erc -eq 0 ] && grep -q '^outcome: *failed' "$tmp/out" &&
    grep -q '^class: *no-device' "$tmp/out" && grep -q '^code: *none' "$tmp/out"; then
	echo "ok 2 - explain --exit $rc: no-device"
else
	echo "not ok 2 - explain --exit $rc: no-device (rc $erc)"
	sed 's/^/#   /' "$tmp/out"
	bad=1
fi

"$bin" explain --json "$tmp/restore.log" >"$tmp/json" 2>&1
if jq -e '.state == "failed" and .class == "no-device" and .code == null' "$tmp/json" >/dev/null 2>&1; then
	echo "ok 3 - explain --json from the text alone: no-device"
else
	echo "not ok 3 - explain --json from the text alone: no-device"
	sed 's/^/#   /' "$tmp/json"
	bad=1
fi
[ $bad -eq 0 ]
