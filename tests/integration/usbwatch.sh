#!/usr/bin/env bash
# usbwatch against an emulated bench (umockdev): hubs, phones, hotplug, polling,
# iBoot control transfers. The tester prints TAP itself.
set -u
t="$IDB_BUILD/tests/usbwatch/usbwatch_test"
if [ ! -x "$t" ]; then
	if ! pkg-config --exists umockdev-1.0 2>/dev/null; then
		echo "1..0 # SKIP umockdev is not installed"
		exit 77
	fi
	echo "1..1"
	echo "not ok 1 - $t was not built (make all)"
	exit 1
fi
exec "$t"
