#!/usr/bin/env bash
# usbwatch against an emulated bench (umockdev): hubs, phones, hotplug, polling,
# iBoot control transfers. The tester prints TAP itself.
set -u
. "$IDB_TOP/tests/lib.sh"
t="$IDB_BUILD/tests/usbwatch/usbwatch_test"
if [ ! -x "$t" ]; then
	pkg-config --exists umockdev-1.0 2>/dev/null || skip_all "umockdev is not installed"
	not_ok "$t was not built (make all)"
	done_testing
fi
# not exec: lib.sh's exit trap removes the temporary folder
"$t"
