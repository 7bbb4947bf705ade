#!/usr/bin/env bash
# benchsim: hubs behind hubs are visible to libusb with the right port paths,
# Apple devices carry their serial strings, timed unplug/plug events happen.
set -u
. "$IDB_TOP/tests/lib.sh"
bdir=$IDB_BUILD/tests/benchsim
has() { if grep -Fxq -- "$2" "$1"; then ok "$3"; else not_ok "$3"; sed 's/^/# /' "$1"; fi; }

cat >"$T/s" <<'S'
hub 1-1 ports 4
hub 1-2 ports 7
hub 1-2.4 ports 4
plug 1-2.4.2 dfu ecid 0x0000111122223333 cpid 0x8015 bdid 0x0a
plug 1-1.3 normal ecid 0x000115480aa2801c cpid 0x8140 bdid 0x0c
plug 1-1.4 normal ecid 0x99 cpid 0x8010 bdid 0x08
plug 1-2.7 recovery ecid 0x42 cpid 0x8010 bdid 0x08 serial "CPID:8010 \x1b[2J\"evil\""
S
"$bdir/benchsim" "$T/s" -- sh -c "
	'$bdir/usblist' -s >'$T/list'
	for p in 1-2.4.2 1-1.3 1-1.4 1-2.7; do
		printf '%s ' \$p; cat \$UMOCKDEV_DIR/sys/bus/usb/devices/\$p/serial
	done >'$T/serials'
	printf '%s\n' \"\$IDEVICEBENCH_RESTORE_CMD\" >'$T/env'
	printf '%s\n' \"\$LD_PRELOAD\" >>'$T/env'
	test -S \"\$BENCHSIM_CTL\" && echo ctl >>'$T/env'"
rc=$?
[ "$rc" -eq 0 ] && ok "benchsim ran the lister" || not_ok "benchsim exit $rc"
has "$T/list" 'usb1 1d6b:0002 class=09 parent=- product "xHCI Host Controller"' "root hub 1d6b:0002"
has "$T/list" 'usb2 1d6b:0003 class=09 parent=- product "xHCI Host Controller"' "SuperSpeed root hub 1d6b:0003"
has "$T/list" '1-2 05e3:0610 class=09 parent=usb1 product "USB2.1 Hub"' "hub 1-2 on the root hub"
has "$T/list" '1-2.4 05e3:0610 class=09 parent=1-2 product "USB2.1 Hub"' "hub 1-2.4 behind hub 1-2"
has "$T/list" '1-2.4.2 05ac:1227 class=00 parent=1-2.4 product "Apple Mobile Device (DFU Mode)"' \
	"DFU device at 1-2.4.2 (three levels deep)"
has "$T/list" '1-1.3 05ac:12a8 class=00 parent=1-1 product "iPhone"' "normal-mode iPhone 05ac:12a8"
has "$T/serials" '1-2.4.2 SDOM:01 CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0A ECID:0000111122223333 IBFL:3C SRTG:[iBoot-2696.0.0.1.33]' \
	"DFU serial string"
has "$T/serials" '1-1.3 00008140-000115480AA2801C' "new-style UDID for CPID >= 0x8020"
if grep -Eq '^1-1.4 [0-9a-f]{40}$' "$T/serials"; then ok "old-style 40-hex UDID"; else not_ok "old-style UDID"; fi
if grep -q $'^1-2.7 CPID:8010 \x1b\\[2J"evil"$' "$T/serials"; then ok "serial override with escapes"; else not_ok "serial override"; cat -v "$T/serials"; fi
if grep -q '/fakerestore$' "$T/env" && grep -q 'libumockdev-preload' "$T/env" && grep -qx ctl "$T/env"; then
	ok "environment: restore cmd, preload, control socket"
else not_ok "environment"; cat "$T/env"; fi

# Timed events, seen by a libusb hotplug client, scaled by --speed.
cat >"$T/s2" <<'S'
hub 1-2 ports 7
plug 1-2.3 recovery ecid 0x1a2b3c4d5e6f70 cpid 0x8010 bdid 0x08
at 2.0 unplug 1-2.3
at 4.0 plug 1-2.6 dfu ecid 0x42 cpid 0x8015 bdid 0x0a
S
"$bdir/benchsim" --speed 2 --log "$T/log" "$T/s2" -- "$bdir/usblist" -w 2 >"$T/ev"
printf 'watching\nleft 1-2.3\narrived 1-2.6 05ac:1227\n' >"$T/want"
if diff "$T/want" "$T/ev" >/dev/null; then ok "timed unplug then plug reach a hotplug client"; else not_ok "timed events"; cat "$T/ev"; fi
if grep -qx 'unplug 1-2.3' "$T/log" && grep -qx 'plug 1-2.6 dfu 0x42' "$T/log"; then ok "timed events logged"; else not_ok "timed events logged"; cat "$T/log"; fi
done_testing
