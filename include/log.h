/*
 * log.h: the program's own log (not the restore logs). While curses owns the
 * terminal nothing may go to stderr, so messages go to a file; in JSON mode
 * and before start-up they also go to stderr.
 */
#ifndef IDB_LOG_H
#define IDB_LOG_H

#include <stdbool.h>

/* Open (append, 0600) the log file; NULL path = stderr only. */
int log_open(const char *path);
/* Whether messages are also copied to stderr (off while curses runs). */
void log_stderr(bool on);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_close(void);

#endif
