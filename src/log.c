/* log.c: timestamped lines to the bench log file, optionally to stderr. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "text.h"

static FILE *log_file;
static bool to_stderr = true;

int
log_open(const char *path)
{
	int fd;

	if (path == NULL)
		return 0;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	if ((log_file = fdopen(fd, "a")) == NULL) {
		close(fd);
		return -1;
	}
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

void
log_stderr(bool on)
{
	to_stderr = on;
}

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char raw[1024], line[1024], stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	text_sanitize(line, sizeof(line), raw, strlen(raw));
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	if (log_file)
		fprintf(log_file, "%s %s%s\n", stamp, level, line);
	if (to_stderr)
		fprintf(stderr, "idevicebench: %s%s\n", level, line);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void
log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}
