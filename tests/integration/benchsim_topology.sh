#!/usr/bin/env bash
# benchsim: hubs behind hubs are visible to libusb with the right port paths,
# Apple devices carry their serial strings, timed unplug/plug events happen.
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

echo "1..14"
cat >"$tmp/s" <<'S'
hub 1-1 ports 4
hub 1-2 ports 7
hub 1-2.4 ports 4
plug 1-2.4.2 dfu ecid 0x0000111122223333 cpid 0x8015 bdid 0x0a
plug 1-1.3 normal ecid 0x000115480aa2801c cpid 0x8140 bdid 0x0c
plug 1-1.4 normal ecid 0x99 cpid 0x8010 bdid 0x08
plug 1-2.7 recovery ecid 0x42 cpid 0x8010 bdid 0x08 serial "CPID:8010 \x1b[2J\"evil\""
S
"$bdir/benchsim" "$tmp/s" -- sh -c "
	'$bdir/usblist' -s >'$tmp/list'
	for p in 1-2.4.2 1-1.3 1-1.4 1-2.7; do
		printf '%s ' \$p; cat \$UMOCKDEV_DIR/sys/bus/usb/devices/\$p/serial
	done >'$tmp/serials'
	printf '%s\n' \"\$IDEVICEBENCH_RESTORE_CMD\" >'$tmp/env'
	printf '%s\n' \"\$LD_PRELOAD\" >>'$tmp/env'
	test -S \"\$BENCHSIM_CTL\" && echo ctl >>'$tmp/env'"
rc=$?
[ "$rc" -eq 0 ] && ok "benchsim ran the lister" || nok "benchsim exit $rc"
has "$tmp/list" 'usb1 1d6b:0002 class=09 parent=- product "xHCI Host Controller"' "root hub 1d6b:0002"
has "$tmp/list" 'usb2 1d6b:0003 class=09 parent=- product "xHCI Host Controller"' "SuperSpeed root hub 1d6b:0003"
has "$tmp/list" '1-2 05e3:0610 class=09 parent=usb1 product "USB2.1 Hub"' "hub 1-2 on the root hub"
has "$tmp/list" '1-2.4 05e3:0610 class=09 parent=1-2 product "USB2.1 Hub"' "hub 1-2.4 behind hub 1-2"
has "$tmp/list" '1-2.4.2 05ac:1227 class=00 parent=1-2.4 product "Apple Mobile Device (DFU Mode)"' \
	"DFU device at 1-2.4.2 (three levels deep)"
has "$tmp/list" '1-1.3 05ac:12a8 class=00 parent=1-1 product "iPhone"' "normal-mode iPhone 05ac:12a8"
has "$tmp/serials" '1-2.4.2 SDOM:01 CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0A ECID:0000111122223333 IBFL:3C SRTG:[iBoot-2696.0.0.1.33]' \
	"DFU serial string"
has "$tmp/serials" '1-1.3 00008140-000115480AA2801C' "new-style UDID for CPID >= 0x8020"
if grep -Eq '^1-1.4 [0-9a-f]{40}$' "$tmp/serials"; then ok "old-style 40-hex UDID"; else nok "old-style UDID"; fi
if grep -q $'^1-2.7 CPID:8010 \x1b\\[2J"evil"$' "$tmp/serials"; then ok "serial override with escapes"; else nok "serial override"; cat -v "$tmp/serials"; fi
if grep -q '/fakerestore$' "$tmp/env" && grep -q 'libumockdev-preload' "$tmp/env" && grep -qx ctl "$tmp/env"; then
	ok "environment: restore cmd, preload, control socket"
else nok "environment"; cat "$tmp/env"; fi

# Timed events, seen by a libusb hotplug client, scaled by --speed.
cat >"$tmp/s2" <<'S'
hub 1-2 ports 7
plug 1-2.3 recovery ecid 0x1a2b3c4d5e6f70 cpid 0x8010 bdid 0x08
at 2.0 unplug 1-2.3
at 4.0 plug 1-2.6 dfu ecid 0x42 cpid 0x8015 bdid 0x0a
S
"$bdir/benchsim" --speed 2 --log "$tmp/log" "$tmp/s2" -- "$bdir/usblist" -w 2 >"$tmp/ev"
printf 'watching\nleft 1-2.3\narrived 1-2.6 05ac:1227\n' >"$tmp/want"
if diff "$tmp/want" "$tmp/ev" >/dev/null; then ok "timed unplug then plug reach a hotplug client"; else nok "timed events"; cat "$tmp/ev"; fi
if grep -qx 'unplug 1-2.3' "$tmp/log" && grep -qx 'plug 1-2.6 dfu 0x42' "$tmp/log"; then ok "timed events logged"; else nok "timed events logged"; cat "$tmp/log"; fi
exit $fail
