#!/usr/bin/env bash
# benchsim: the real irecovery talks to an emulated recovery device: string
# descriptors (-q) and iBoot commands (-n, "kick"), after which the device
# reboots into normal mode on the same port.
# Topology note: Debian 12's libirecovery 1.0.0 crashes (use after free in
# irecv_open_with_ecid) when the Apple device is the first one libusb lists;
# benchsim adds the SuperSpeed root hub after the scenario's devices, so the
# phone is never first here.
set -u
. "$IDB_TOP/tests/lib.sh"
bdir=$IDB_BUILD/tests/benchsim
has() { if grep -Fxq -- "$2" "$1"; then ok "$3"; else not_ok "$3"; sed 's/^/# /' "$1"; fi; }

command -v irecovery >/dev/null || skip_all "irecovery not installed"
cat >"$T/s" <<'S'
hub 1-2 ports 7
plug 1-2.3 recovery ecid 0x1a2b3c4d5e6f70 cpid 0x8010 bdid 0x08
S
"$bdir/benchsim" --speed 20 --log "$T/log" "$T/s" -- sh -c "
	irecovery -q >'$T/q' 2>&1; echo \$? >'$T/qrc'
	irecovery -n >'$T/n' 2>&1; echo \$? >'$T/nrc'
	# the device reboots: wait (bounded) for it to come back in normal mode
	for i in \$(seq 100); do
		grep -q '^plug 1-2.3 normal' '$T/log' && break; sleep 0.05
	done
	'$bdir/usblist' >'$T/list'"
rc=$?
[ "$rc" -eq 0 ] && ok "benchsim exit 0" || not_ok "benchsim exit $rc"
[ "$(cat "$T/qrc")" = 0 ] && ok "irecovery -q exit 0" || not_ok "irecovery -q exit $(cat "$T/qrc")"
has "$T/q" "ECID: 0x001a2b3c4d5e6f70" "irecovery -q ECID"
has "$T/q" "CPID: 0x8010" "irecovery -q CPID"
has "$T/q" "BDID: 0x08" "irecovery -q BDID"
has "$T/q" "MODE: Recovery" "irecovery -q MODE"
if grep -Eq '^NONC: [0-9a-f]{64}$' "$T/q"; then ok "nonce from string descriptor 1"; else not_ok "nonce"; cat "$T/q"; fi
[ "$(cat "$T/nrc")" = 0 ] && ok "irecovery -n exit 0" || not_ok "irecovery -n exit $(cat "$T/nrc")"
grep '^ctrl ' "$T/log" >"$T/ctrl"
printf 'ctrl 1-2.3 setenv auto-boot true\nctrl 1-2.3 saveenv\nctrl 1-2.3 reboot\n' >"$T/want"
if diff "$T/want" "$T/ctrl" >/dev/null; then ok "the three kick transfers are logged"; else not_ok "kick transfers"; cat "$T/log"; fi
has "$T/list" "1-2.3 05ac:12a8 class=00 parent=1-2" "after the kick the phone is back in normal mode on 1-2.3"
done_testing
