/*
 * ui_draw.c: what every panel draws with: clipped, sanitised text, the
 * colour of a slot by its state, the one-line texts of a slot (state,
 * marks, model), times, box characters and progress bars.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "text.h"
#include "ui_int.h"

/* What a cell's colour says. */
enum cat
ui_slot_cat(const struct slot *s)
{
	if (s->ignored)
		return CAT_IGNORED;
	if (s->flagged)
		return CAT_FLAGGED;
	switch (s->job.state) {
	case JOB_RUNNING:
	case JOB_QUEUED:
		return CAT_RUNNING;
	case JOB_FAILED:
		return CAT_FAILED;
	case JOB_DONE:
		return CAT_DONE;
	default:
		break;
	}
	if (s->dfu != DFU_OFF)
		return CAT_RUNNING;
	return s->present ? CAT_IDLE : CAT_EMPTY;
}

attr_t
ui_cat_attr(const struct ui *u, enum cat c)
{
	if (u->colour)
		return COLOR_PAIR(c) | (c == CAT_FAILED || c == CAT_SEL ? A_BOLD : 0);
	switch (c) {
	case CAT_FAILED:
	case CAT_FLAGGED:
	case CAT_SEL:
		return A_BOLD;
	case CAT_EMPTY:
	case CAT_IGNORED:
		return A_DIM;
	default:
		return A_NORMAL;
	}
}

/*
 * Put at most width columns of s at y,x; pad with spaces to width when pad.
 * Returns the columns used. Outside a UTF-8 locale non-ASCII bytes show as '?'.
 */
int
ui_put(struct ui *u, int y, int x, int width, attr_t attr, bool pad, const char *s)
{
	mbstate_t st;
	wchar_t wc;
	size_t k, len = strlen(s);
	int used = 0, w;
	char one[2] = "?";

	if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + width > COLS)
		width = COLS - x;
	wattrset(stdscr, attr);
	wmove(stdscr, y, x);
	memset(&st, 0, sizeof(st));
	while (len > 0 && used < width) {
		if (!u->utf8 || (unsigned char)*s < 0x80) {
			one[0] = ((unsigned char)*s < 0x80 && (unsigned char)*s >= 0x20) ? *s : '?';
			waddnstr(stdscr, one, 1);
			used++;
			s++;
			len--;
			continue;
		}
		k = mbrtowc(&wc, s, len, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			waddnstr(stdscr, "?", 1);
			used++;
			s++;
			len--;
			continue;
		}
		w = wcwidth(wc);
		if (w < 0)
			w = 1;
		if (used + w > width)
			break;
		waddnstr(stdscr, s, (int)k);
		used += w;
		s += k;
		len -= k;
	}
	for (; pad && used < width; used++)
		waddch(stdscr, ' ');
	wattrset(stdscr, A_NORMAL);
	return used;
}

int
ui_putf(struct ui *u, int y, int x, int width, attr_t attr, bool pad, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ui_put(u, y, x, width, attr, pad, buf);
}

void
ui_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL)
		text_copy(buf, "-", len);
	else
		strftime(buf, len, "%H:%M", &tm);
}

void
ui_fmt_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL)
		text_copy(buf, "-", len);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* Ordinal for queue positions: "2nd". */
static const char *
ordinal(int n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	switch (n % 10) {
	case 1: return "st";
	case 2: return "nd";
	case 3: return "rd";
	default: return "th";
	}
}

const char *
ui_model_name(const struct slot *s)
{
	if (s->dev.name[0] != '\0')
		return s->dev.name;
	if (s->dev.product_type[0] != '\0')
		return s->dev.product_type;
	return s->present ? "unknown device" : "";
}

/* The family whose buttons the DFU screen shows, and whether it was a guess. */
enum button_family
ui_slot_buttons(const struct slot *s, bool *fallback)
{
	const struct model *m = models_find_device(s->dev.product_type, s->dev.cpid, s->dev.bdid);
	enum button_family f = BUTTONS_UNKNOWN;

	if (m != NULL)
		f = m->buttons;
	if (f == BUTTONS_UNKNOWN && s->dev.product_type[0] != '\0')
		f = models_buttons_guess(s->dev.product_type);
	*fallback = f == BUTTONS_UNKNOWN;
	return *fallback ? BUTTONS_8 : f;
}

/* The state line of a cell or table row. */
void
ui_slot_state_text(const struct slot *s, char *buf, size_t len)
{
	char e[48], t[16];

	switch (s->dfu) {
	case DFU_TO_RECOVERY:
		snprintf(buf, len, "DFU: to recovery...");
		return;
	case DFU_STEPS:
		snprintf(buf, len, "DFU: buttons...");
		return;
	case DFU_WAIT:
		snprintf(buf, len, "DFU: waiting");
		return;
	case DFU_DONE:
		if (s->job.state != JOB_RUNNING && s->job.state != JOB_QUEUED) {
			snprintf(buf, len, "DFU detected");
			return;
		}
		break;
	case DFU_TOO_LONG:
		snprintf(buf, len, "DFU: too long, again");
		return;
	default:
		break;
	}
	switch (s->job.state) {
	case JOB_RUNNING:
		snprintf(buf, len, "%s %s", slot_action_name(s->job.action),
		    s->job.step >= 0 ? rp_step_name(s->job.step) : "starting");
		return;
	case JOB_QUEUED:
		if (s->job.waiting_fw)
			snprintf(buf, len, "queued: firmware");
		else
			snprintf(buf, len, "queued (%d%s)", s->job.queue_pos, ordinal(s->job.queue_pos));
		return;
	case JOB_DONE:
		ui_fmt_time(s->job.ended, t, sizeof(t));
		snprintf(buf, len, "%s done %s", slot_action_name(s->job.action), t);
		return;
	case JOB_FAILED:
		errclass_short(&s->job.result, e, sizeof(e));
		if (s->job.result.step >= 0)
			snprintf(buf, len, "%s %s %.0f%%", e, rp_step_name(s->job.result.step),
			    s->job.result.percent);
		else
			snprintf(buf, len, "%s", e);
		return;
	case JOB_CANCELLED:
		snprintf(buf, len, "cancelled");
		return;
	default:
		break;
	}
	if (s->flagged)
		snprintf(buf, len, "%s", s->flag_reason[0] ? s->flag_reason : "flagged");
	else if (s->action_msg[0] != '\0')
		snprintf(buf, len, "%s", s->action_msg);
	else if (s->ignored)
		snprintf(buf, len, "ignored");
	else
		snprintf(buf, len, "%s", s->present ? "ready" : "");
}

void
ui_slot_marks_text(const struct ui *u, const struct slot *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s",
	    s->flagged ? " HW" : "", s->ignored ? " IGN" : "",
	    s->port_suspect ? " port?" : "", s->advice[0] ? " advice" : "",
	    (s->marked || ui_mark_has(u, s->port)) ? " *" : "");
}

void
ui_progress_bar(struct ui *u, char *buf, size_t len, int width, double pct)
{
	static const char *parts[] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" };
	double cells = width * (pct < 0 ? 0 : pct > 100 ? 100 : pct) / 100.0;
	int full = (int)cells, i, eighth = (int)((cells - full) * 8);
	size_t off = 0;

	buf[0] = '\0';
	for (i = 0; i < width && off + 4 < len; i++) {
		const char *c;

		if (i < full)
			c = u->utf8 ? "█" : "#";
		else if (i == full && eighth > 0)
			c = u->utf8 ? parts[eighth] : (eighth >= 4 ? "#" : ".");
		else
			c = u->utf8 ? " " : ".";
		off += (size_t)snprintf(buf + off, len - off, "%s", c);
	}
}

/* Word-wrap text into lines of at most width bytes; returns lines added. */
size_t
ui_wrap(const char *text, int width, char out[][256], size_t max)
{
	size_t n = 0, len, cut;

	if (width < 10)
		width = 10;
	if (width > 255)
		width = 255;
	while (*text != '\0' && n < max) {
		len = strlen(text);
		cut = len <= (size_t)width ? len : (size_t)width;
		if (cut < len) {
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = (size_t)width;
		}
		snprintf(out[n++], 256, "%.*s", (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
	return n;
}
