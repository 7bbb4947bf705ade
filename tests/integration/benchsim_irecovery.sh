#!/usr/bin/env bash
# benchsim: the real irecovery talks to an emulated recovery device: string
# descriptors (-q) and iBoot commands (-n, "kick"), after which the device
# reboots into normal mode on the same port.
# Topology note: Debian 12's libirecovery 1.0.0 crashes (use after free in
# irecv_open_with_ecid) when the Apple device is the first one libusb lists;
# benchsim adds the SuperSpeed root hub after the scenario's devices, so the
# phone is never first here.
set -u
top=${IDB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IDB_BUILD:-$top/build}
bdir=$build/tests/benchsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
has() { if grep -Fxq -- "$2" "$1"; then ok "$3"; else nok "$3"; sed 's/^/# /' "$1"; fi; }

if ! command -v irecovery >/dev/null; then
	echo "1..0 # SKIP irecovery not installed"
	exit 77
fi
echo "1..10"
cat >"$tmp/s" <<'S'
hub 1-2 ports 7
plug 1-2.3 recovery ecid 0x1a2b3c4d5e6f70 cpid 0x8010 bdid 0x08
S
"$bdir/benchsim" --speed 20 --log "$tmp/log" "$tmp/s" -- sh -c "
	irecovery -q >'$tmp/q' 2>&1; echo \$? >'$tmp/qrc'
	irecovery -n >'$tmp/n' 2>&1; echo \$? >'$tmp/nrc'
	# the device reboots: wait (bounded) for it to come back in normal mode
	for i in \$(seq 100); do
		grep -q '^plug 1-2.3 normal' '$tmp/log' && break; sleep 0.05
	done
	'$bdir/usblist' >'$tmp/list'"
rc=$?
[ "$rc" -eq 0 ] && ok "benchsim exit 0" || nok "benchsim exit $rc"
[ "$(cat "$tmp/qrc")" = 0 ] && ok "irecovery -q exit 0" || nok "irecovery -q exit $(cat "$tmp/qrc")"
has "$tmp/q" "ECID: 0x001a2b3c4d5e6f70" "irecovery -q ECID"
has "$tmp/q" "CPID: 0x8010" "irecovery -q CPID"
has "$tmp/q" "BDID: 0x08" "irecovery -q BDID"
has "$tmp/q" "MODE: Recovery" "irecovery -q MODE"
if grep -Eq '^NONC: [0-9a-f]{64}$' "$tmp/q"; then ok "nonce from string descriptor 1"; else nok "nonce"; cat "$tmp/q"; fi
[ "$(cat "$tmp/nrc")" = 0 ] && ok "irecovery -n exit 0" || nok "irecovery -n exit $(cat "$tmp/nrc")"
grep '^ctrl ' "$tmp/log" >"$tmp/ctrl"
printf 'ctrl 1-2.3 setenv auto-boot true\nctrl 1-2.3 saveenv\nctrl 1-2.3 reboot\n' >"$tmp/want"
if diff "$tmp/want" "$tmp/ctrl" >/dev/null; then ok "the three kick transfers are logged"; else nok "kick transfers"; cat "$tmp/log"; fi
has "$tmp/list" "1-2.3 05ac:12a8 class=00 parent=1-2" "after the kick the phone is back in normal mode on 1-2.3"
exit $fail
