/*
 * osutil.h: the few operating-system chores several modules need, written
 * once: creating a directory path and reading the monotonic clock.
 */
#ifndef IDB_OSUTIL_H
#define IDB_OSUTIL_H

#include <sys/types.h>

/* mkdir -p: create path and its parents with mode; existing ones are left alone. 0 or -1 (errno). */
int	os_mkdirs(const char *path, mode_t mode);
/* Create the directories above a file (not the file's own name). 0 or -1 (errno). */
int	os_mkdirs_parent(const char *file, mode_t mode);
/* Seconds on the monotonic clock: for intervals, never for dates. */
double	os_mono(void);

#endif
