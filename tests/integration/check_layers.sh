#!/usr/bin/env bash
# check_layers.sh: scripts/check-layers (make check-layers) passes on the tree
# and catches each kind of violation planted in a copy of it; so does
# scripts/check-style (function definitions in style(9) form).
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

check "every function definition is in style(9) form" "$IDB_TOP/scripts/check-style"
printf 'static int\nok_one(void)\n{\n\treturn 0;\n}\n\nstatic int bad_one(void)\n{\n\treturn 1;\n}\n' >"$T/style.c"
check "a one-line definition is caught, and only that one" \
	bash -c "! '$IDB_TOP/scripts/check-style' '$T/style.c' >'$T/style.out' && grep -q 'bad_one' '$T/style.out' && ! grep -q 'ok_one' '$T/style.out'"
done_testing
