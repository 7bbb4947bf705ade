#!/usr/bin/env bash
# check_layers.sh: scripts/check-layers (make check-layers) passes on the tree
# and catches each kind of violation planted in a copy of it.
. "$IDB_TOP/tests/lib.sh"
CL="$IDB_TOP/scripts/check-layers"

check "the tree keeps its layers" "$CL" "$IDB_TOP"

# plant VIOLATION FILE LINE: a copy of src/ and include/ with LINE added after FILE's first line
plant() {
	rm -rf "$T/tree"
	mkdir -p "$T/tree"
	cp -r "$IDB_TOP/src" "$IDB_TOP/include" "$T/tree/"
	sed -i "1a $2" "$T/tree/$1"
	"$CL" "$T/tree" >"$T/out" 2>&1
	local rc=$?
	[ $rc -ne 0 ] && grep -q "$1" "$T/out"
}

check "a library header in a core file is caught (sqlite3.h)" plant src/core/triage.c '#include <sqlite3.h>'
check "libpq in a core file is caught" plant src/core/slot.c '#include <libpq-fe.h>'
check "pthread in a core file is caught" plant src/core/sched.c '#include <pthread.h>'
check "an adapter header in a core file is caught (store.h)" plant src/core/command.c '#include "store.h"'
check "an adapter header in a core header is caught (bench.h)" plant include/slot.h '#include "bench.h"'
check "a system header outside the list in a core header is caught" plant include/text.h '#include <unistd.h>'
check "curses.h outside ui*.c is caught" plant src/bench.c '#include <curses.h>'
check "libusb.h outside usbwatch.c is caught" plant src/runner.c '#include <libusb.h>'
check "sqlite3.h outside the store is caught" plant src/report.c '#include <sqlite3.h>'
check "libpq outside store_pg.c is caught" plant src/store_spool.c '#include <libpq-fe.h>'
check "libirecovery outside idev.c is caught" plant src/bench.c '#include <libirecovery.h>'
check "a core file may include libc and core headers" bash -c "
	rm -rf '$T/ok'; mkdir -p '$T/ok'; cp -r '$IDB_TOP/src' '$IDB_TOP/include' '$T/ok/'
	sed -i '1a #include <math.h>\n#include \"text.h\"' '$T/ok/src/core/sched.c'
	'$CL' '$T/ok'"
done_testing
