#!/usr/bin/env bash
# real_idevicerestore_nodevice.sh: Debian's real idevicerestore with no phone
# attached (~10 s): explain must call its output and exit status "no-device".
#
# 1.0.0 looks for the device (10 s) before it checks the IPSW path, but the
# path given here exists anyway (a small file), so that an idevicerestore
# that checked the file first would still reach the device search rather
# than stop at "Firmware file ... does not exist".
set -u
. "$IDB_TOP/tests/lib.sh"
bin=$IDEVICEBENCH

command -v idevicerestore >/dev/null 2>&1 || skip_all "idevicerestore is not installed"
printf 'not really an ipsw\n' >"$T/small.ipsw"

# its own working directory: master would drop a log file there
(cd "$T" && timeout 120 idevicerestore -i 0x1234 -y -P "$T/small.ipsw" \
    </dev/null >"$T/restore.log" 2>&1)
rc=$?

if [ $rc -ne 0 ] && [ $rc -ne 124 ] &&
    grep -q 'Unable to discover device mode' "$T/restore.log"; then
	ok "idevicerestore failed the no-device way (exit $rc)"
else
	not_ok "idevicerestore failed the no-device way (exit $rc)"
	sed 's/^/#   /' "$T/restore.log" | head -20
fi

"$bin" explain --exit "$rc" "$T/restore.log" >"$T/out" 2>&1
erc=$?
if [ $erc -eq 0 ] && grep -q '^outcome: *failed' "$T/out" &&
    grep -q '^class: *no-device' "$T/out" && grep -q '^code: *none' "$T/out"; then
	ok "explain --exit $rc: no-device"
else
	not_ok "explain --exit $rc: no-device (rc $erc)"
	sed 's/^/#   /' "$T/out"
fi

"$bin" explain --json "$T/restore.log" >"$T/json" 2>&1
if jq -e '.state == "failed" and .class == "no-device" and .code == null' "$T/json" >/dev/null 2>&1; then
	ok "explain --json from the text alone: no-device"
else
	not_ok "explain --json from the text alone: no-device"
	sed 's/^/#   /' "$T/json"
fi
done_testing
