/*
 * osutil.c: directory paths and the monotonic clock, once for every module
 * (the runner's log folders, the job's log file, the history's folder, the
 * IPSW cache, the console's DFU countdown).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "osutil.h"

/* mkdir -p with mode for every component created; existing ones are left alone. */
int
os_mkdirs(const char *path, mode_t mode)
{
	char	buf[PATH_MAX], *p, c;
	size_t	len;

	len = strlen(path);
	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

/* Create the directories above a file. */
int
os_mkdirs_parent(const char *file, mode_t mode)
{
	char		 buf[PATH_MAX];
	char		*slash;

	if (strlen(file) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, file);
	slash = strrchr(buf, '/');
	if (slash == NULL || slash == buf)
		return 0;
	*slash = '\0';
	return os_mkdirs(buf, mode);
}

/* Seconds on the monotonic clock. */
double
os_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
