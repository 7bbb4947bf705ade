/*
 * ui_pager.c: the full-screen pager: a restore's log (read from the log
 * file, the last LOG_MAX_BYTES, followed while it grows) and the help text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "array.h"
#include "text.h"
#include "ui_int.h"

void
ui_draw_pager(struct ui *u)
{
	struct pager *p = &u->pg;
	int rows = LINES - 3, y;
	size_t k;

	ui_putf(u, 0, 0, COLS, A_REVERSE | A_BOLD, true, " %s", p->title);
	for (y = 0; y < rows; y++) {
		k = p->top + (size_t)y;
		ui_put(u, 1 + y, 0, COLS, A_NORMAL, true, k < p->n ? p->lines[k] : "");
	}
	if (p->n == 0)
		ui_put(u, 1, 0, COLS, A_DIM, true, "(empty)");
}

void
ui_pager_clear(struct pager *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->lines[i]);
	free(p->lines);
	p->lines = NULL;
	p->n = p->cap = p->top = 0;
}

static int
pager_add(struct pager *p, const char *s, size_t len)
{
	char **nl, *line;

	if ((nl = array_grow(p->lines, p->n, &p->cap, 64, sizeof(*nl))) == NULL)
		return -1;
	p->lines = nl;
	line = malloc(len + 1);
	if (line == NULL)
		return -1;
	text_sanitize(line, len + 1, s, len);
	p->lines[p->n++] = line;
	return 0;
}

void
ui_pager_text(struct pager *p, const char *text)
{
	const char *nl;

	while (*text != '\0') {
		nl = strchr(text, '\n');
		if (nl == NULL)
			nl = text + strlen(text);
		pager_add(p, text, (size_t)(nl - text));
		text = *nl ? nl + 1 : nl;
	}
}

/*
 * Read a log file into the pager. Lines are split at '\n'; of a line
 * rewritten with '\r' (progress bars) only what a terminal would end up
 * showing is kept. Everything is sanitized: a child's escape sequences
 * show as '?'.
 */
int
ui_pager_load(struct pager *p, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	ssize_t r;
	size_t got = 0, want, start, i, ls, le, seg;
	off_t from = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "cannot read %.200s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (sb.st_size > LOG_MAX_BYTES)
		from = sb.st_size - LOG_MAX_BYTES;
	want = (size_t)(sb.st_size - from);
	if ((buf = malloc(want + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (got < want && (r = pread(fd, buf + got, want - got, from + (off_t)got)) > 0)
		got += (size_t)r;
	close(fd);
	ui_pager_clear(p);
	start = 0;
	if (from > 0) {
		/* skip the partial first line */
		while (start < got && buf[start] != '\n')
			start++;
		if (start < got)
			start++;
		pager_add(p, "[... earlier output not shown ...]", 34);
	}
	for (ls = start; ls < got; ls = le + 1) {
		for (le = ls; le < got && buf[le] != '\n'; le++)
			;
		i = le;
		if (i > ls && buf[i - 1] == '\r')
			i--;
		seg = ls;
		for (size_t k = ls; k < i; k++)
			if (buf[k] == '\r' && k + 1 < i)
				seg = k + 1;
		if (pager_add(p, buf + seg, i - seg) != 0)
			break;
	}
	free(buf);
	p->size = sb.st_size;
	text_copy(p->path, path, sizeof(p->path));
	return 0;
}

size_t
ui_pager_rows(void)
{
	return LINES > 3 ? (size_t)(LINES - 3) : 1;
}

size_t
ui_pager_max_top(const struct pager *p)
{
	return p->n > ui_pager_rows() ? p->n - ui_pager_rows() : 0;
}

/* The log grew: read it again, following the end when the view was there. */
void
ui_pager_follow(struct ui *u)
{
	struct pager *p = &u->pg;
	struct stat sb;
	char err[256], path[512];
	bool at_end;
	size_t top;

	if (u->ov != OV_PAGER || !p->is_log || stat(p->path, &sb) != 0 || sb.st_size == p->size)
		return;
	at_end = p->top >= ui_pager_max_top(p);
	top = p->top;
	text_copy(path, p->path, sizeof(path));
	if (ui_pager_load(p, path, err, sizeof(err)) != 0)
		return;
	p->top = at_end ? ui_pager_max_top(p) : top < p->n ? top : 0;
}
