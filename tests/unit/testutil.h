/* testutil.h: what every cmocka unit test includes. */
#ifndef IDB_TESTUTIL_H
#define IDB_TESTUTIL_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Path of a file under the source tree (tests run from anywhere). */
static inline const char *
test_path(const char *rel)
{
	static char buf[4096];
	const char *top = getenv("IDB_TOP");
	snprintf(buf, sizeof(buf), "%s/%s", top ? top : ".", rel);
	return buf;
}
#endif
