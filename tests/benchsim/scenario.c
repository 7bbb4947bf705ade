/* scenario.c: parse the bench simulator's scenario directives (libc only). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define MAXTOK	32
#define TOKLEN	SC_SERIALLEN

struct toks {
	int	 n;
	char	 v[MAXTOK][TOKLEN];
};

static const char *mode_names[] = {
	"recovery", "dfu", "normal", "restore", "wtf", "portdfu"
};

static const char *step_names[SC_NSTEPS] = {
	"detect", "prepare", "upload_fs", "verify_fs", "flash_fw", "flash_bb",
	"fud", "upload_img"
};

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return (-1);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* A quoted token with C escapes; *pp points after the opening quote. */
static int
quoted(const char **pp, char *out, char *err, size_t errlen)
{
	const char	*p = *pp;
	size_t		 n = 0;
	int		 c, h1, h2;

	for (;;) {
		c = (unsigned char)*p++;
		if (c == '\0')
			return (fail(err, errlen, "unterminated string"));
		if (c == '"')
			break;
		if (c == '\\') {
			switch (c = (unsigned char)*p++) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'e': c = 0x1b; break;
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case '\\': case '"': case '\'': break;
			case 'x':
				if ((h1 = hexval(p[0])) < 0)
					return (fail(err, errlen,
					    "bad \\x escape"));
				if ((h2 = hexval(p[1])) >= 0) {
					c = h1 * 16 + h2;
					p += 2;
				} else {
					c = h1;
					p++;
				}
				if (c == 0)
					return (fail(err, errlen,
					    "\\x00 is not allowed in a string"));
				break;
			default:
				return (fail(err, errlen, "unknown escape \\%c",
				    c ? c : '0'));
			}
		}
		if (n + 1 >= TOKLEN)
			return (fail(err, errlen, "string too long (max %d)",
			    TOKLEN - 1));
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*pp = p;
	return (0);
}

static int
tokenize(const char *line, struct toks *t, char *err, size_t errlen)
{
	const char	*p = line;
	size_t		 n;

	t->n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0' || *p == '#')
			return (0);
		if (t->n == MAXTOK)
			return (fail(err, errlen, "too many words"));
		if (*p == '"') {
			p++;
			if (quoted(&p, t->v[t->n], err, errlen) != 0)
				return (-1);
			t->n++;
			continue;
		}
		n = 0;
		while (*p != '\0' && !isspace((unsigned char)*p)) {
			if (n + 1 >= TOKLEN)
				return (fail(err, errlen, "word too long"));
			t->v[t->n][n++] = *p++;
		}
		t->v[t->n][n] = '\0';
		t->n++;
	}
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (*s == '\0' || *s == '-' || *s == '+')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return (-1);
	*out = v;
	return (0);
}

static int
parse_double(const char *s, double min, double max, double *out)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || errno != 0 || *end != '\0' || !(v >= min) ||
	    !(v <= max))
		return (-1);
	*out = v;
	return (0);
}

int
scenario_port_split(const char *port, int *bus, int *ports)
{
	const char	*p = port;
	char		*end;
	long		 v;
	int		 depth = 0;

	if (!isdigit((unsigned char)*p))
		return (-1);
	v = strtol(p, &end, 10);
	if (v < 1 || v > 127 || *end != '-')
		return (-1);
	*bus = (int)v;
	p = end + 1;
	for (;;) {
		if (!isdigit((unsigned char)*p) || depth == SC_MAXDEPTH)
			return (-1);
		v = strtol(p, &end, 10);
		if (v < 1 || v > 31)
			return (-1);
		ports[depth++] = (int)v;
		if (*end == '\0')
			return (depth);
		if (*end != '.')
			return (-1);
		p = end + 1;
	}
}

const char *
scenario_mode_name(enum sc_mode mode)
{
	return (mode_names[mode]);
}

int
scenario_mode_from_name(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(name, mode_names[i]) == 0)
			return ((int)i);
	return (-1);
}

const char *
scenario_step_name(int step)
{
	if (step < 0 || step >= SC_NSTEPS)
		return ("?");
	return (step_names[step]);
}

int
scenario_step_from_name(const char *name)
{
	int	 i;

	for (i = 0; i < SC_NSTEPS; i++)
		if (strcmp(name, step_names[i]) == 0)
			return (i);
	return (-1);
}

void
scenario_restore_format(const struct sc_restore *r, char *buf, size_t len)
{
	const char	*res[] = { "ok", "fail", "hang", "crash" };
	char		 how[32] = "";
	char		 times[32] = "";

	if (r->result == SC_RES_OK) {
		snprintf(buf, len, "ok %g", r->secs);
		return;
	}
	switch (r->how) {
	case SC_HOW_DISCONNECT:
		snprintf(how, sizeof(how), " disconnect");
		break;
	case SC_HOW_TSS:
		snprintf(how, sizeof(how), " tss");
		break;
	case SC_HOW_STATUS:
		snprintf(how, sizeof(how), " status %d", r->status);
		break;
	case SC_HOW_NONE:
		break;
	}
	if (r->times > 0)
		snprintf(times, sizeof(times), " times %d", r->times);
	snprintf(buf, len, "%s %s %g%s%s", res[r->result],
	    scenario_step_name(r->step), r->pct, how, times);
}

static int
check_port(const char *s, char *out, char *err, size_t errlen)
{
	int	 bus, ports[SC_MAXDEPTH];

	if (strlen(s) >= SC_PORTLEN || scenario_port_split(s, &bus, ports) < 0)
		return (fail(err, errlen, "bad port path '%s' (want e.g. 1-2.3)",
		    s));
	strcpy(out, s);
	return (0);
}

static int
parse_plug(struct toks *t, int i, struct sc_cmd *cmd, char *err, size_t errlen)
{
	uint64_t	 v;
	int		 m, have_ecid = 0;

	if (t->n - i < 2)
		return (fail(err, errlen,
		    "usage: plug PORT MODE ecid X [cpid X] [bdid X] [serial \"...\"]"));
	if (check_port(t->v[i], cmd->port, err, errlen) != 0)
		return (-1);
	if ((m = scenario_mode_from_name(t->v[i + 1])) < 0)
		return (fail(err, errlen, "unknown mode '%s' (recovery, dfu, "
		    "normal, restore, wtf, portdfu)", t->v[i + 1]));
	cmd->mode = m;
	cmd->cpid = 0x8010;
	cmd->bdid = 0x08;
	for (i += 2; i < t->n; i += 2) {
		if (i + 1 >= t->n)
			return (fail(err, errlen, "'%s' needs a value",
			    t->v[i]));
		if (strcmp(t->v[i], "serial") == 0) {
			strcpy(cmd->serial, t->v[i + 1]);
			cmd->has_serial = 1;
			continue;
		}
		if (strcmp(t->v[i], "ecid") == 0) {
			if (parse_u64(t->v[i + 1], UINT64_MAX, &v) != 0)
				return (fail(err, errlen, "bad ecid '%s'",
				    t->v[i + 1]));
			cmd->ecid = v;
			have_ecid = 1;
		} else if (strcmp(t->v[i], "cpid") == 0) {
			if (parse_u64(t->v[i + 1], 0xffff, &v) != 0)
				return (fail(err, errlen, "bad cpid '%s'",
				    t->v[i + 1]));
			cmd->cpid = (uint32_t)v;
		} else if (strcmp(t->v[i], "bdid") == 0) {
			if (parse_u64(t->v[i + 1], 0xff, &v) != 0)
				return (fail(err, errlen, "bad bdid '%s'",
				    t->v[i + 1]));
			cmd->bdid = (uint32_t)v;
		} else
			return (fail(err, errlen, "unknown plug keyword '%s'",
			    t->v[i]));
	}
	if (!have_ecid)
		return (fail(err, errlen, "plug needs an ecid"));
	return (0);
}

static int
parse_restore(struct toks *t, int i, struct sc_cmd *cmd, char *err,
    size_t errlen)
{
	struct sc_restore	*r = &cmd->restore;
	uint64_t		 v;
	const char		*what;

	if (t->n - i < 2)
		return (fail(err, errlen, "usage: restore ECID ok SECS | fail "
		    "STEP PCT disconnect|tss|status N [times N] | hang|crash "
		    "STEP PCT"));
	if (parse_u64(t->v[i], UINT64_MAX, &v) != 0)
		return (fail(err, errlen, "bad ecid '%s'", t->v[i]));
	cmd->ecid = v;
	what = t->v[i + 1];
	i += 2;
	memset(r, 0, sizeof(*r));
	r->secs = 20;
	if (strcmp(what, "ok") == 0) {
		r->result = SC_RES_OK;
		if (i < t->n && parse_double(t->v[i++], 0, 86400, &r->secs))
			return (fail(err, errlen, "bad duration '%s'",
			    t->v[i - 1]));
		goto done;
	}
	if (strcmp(what, "fail") == 0)
		r->result = SC_RES_FAIL;
	else if (strcmp(what, "hang") == 0)
		r->result = SC_RES_HANG;
	else if (strcmp(what, "crash") == 0)
		r->result = SC_RES_CRASH;
	else
		return (fail(err, errlen, "unknown restore outcome '%s' (ok, "
		    "fail, hang, crash)", what));
	if (t->n - i < 2)
		return (fail(err, errlen, "restore %s needs STEP PCT", what));
	if ((r->step = scenario_step_from_name(t->v[i])) < 0)
		return (fail(err, errlen, "unknown step '%s'", t->v[i]));
	if (parse_double(t->v[i + 1], 0, 100, &r->pct) != 0)
		return (fail(err, errlen, "bad percentage '%s'", t->v[i + 1]));
	i += 2;
	if (r->result == SC_RES_FAIL) {
		if (i >= t->n)
			return (fail(err, errlen, "restore fail needs "
			    "disconnect, tss or status N"));
		if (strcmp(t->v[i], "disconnect") == 0)
			r->how = SC_HOW_DISCONNECT;
		else if (strcmp(t->v[i], "tss") == 0)
			r->how = SC_HOW_TSS;
		else if (strcmp(t->v[i], "status") == 0) {
			r->how = SC_HOW_STATUS;
			if (++i >= t->n || parse_u64(t->v[i], 65535, &v) != 0)
				return (fail(err, errlen, "status needs a "
				    "number"));
			r->status = (int)v;
		} else
			return (fail(err, errlen, "unknown failure '%s' "
			    "(disconnect, tss, status N)", t->v[i]));
		i++;
	}
	if (i < t->n && strcmp(t->v[i], "times") == 0) {
		if (++i >= t->n || parse_u64(t->v[i], 1000, &v) != 0 || v == 0)
			return (fail(err, errlen, "times needs a count"));
		r->times = (int)v;
		i++;
	}
done:
	if (i < t->n)
		return (fail(err, errlen, "unexpected '%s'", t->v[i]));
	return (0);
}

int
scenario_parse_line(const char *line, struct sc_cmd *cmd, char *err,
    size_t errlen)
{
	struct toks	 t;
	uint64_t	 v;
	const char	*w;
	int		 i = 0;

	memset(cmd, 0, sizeof(*cmd));
	cmd->at = -1;
	if (tokenize(line, &t, err, errlen) != 0)
		return (-1);
	if (t.n == 0)
		return (0);
	if (strcmp(t.v[0], "at") == 0) {
		if (t.n < 3 || parse_double(t.v[1], 0, 1e7, &cmd->at) != 0)
			return (fail(err, errlen, "usage: at SECONDS DIRECTIVE"));
		i = 2;
	}
	w = t.v[i++];
	if (strcmp(w, "hub") == 0) {
		cmd->kind = SC_HUB;
		if (t.n - i != 3 || strcmp(t.v[i + 1], "ports") != 0)
			return (fail(err, errlen, "usage: hub PORT ports N"));
		if (check_port(t.v[i], cmd->port, err, errlen) != 0)
			return (-1);
		if (parse_u64(t.v[i + 2], 15, &v) != 0 || v == 0)
			return (fail(err, errlen, "hub port count must be "
			    "1..15"));
		cmd->nports = (int)v;
		return (1);
	}
	if (strcmp(w, "plug") == 0) {
		cmd->kind = SC_PLUG;
		return (parse_plug(&t, i, cmd, err, errlen) == 0 ? 1 : -1);
	}
	if (strcmp(w, "unplug") == 0) {
		cmd->kind = SC_UNPLUG;
		if (t.n - i != 1)
			return (fail(err, errlen, "usage: unplug PORT"));
		return (check_port(t.v[i], cmd->port, err, errlen) == 0 ? 1 :
		    -1);
	}
	if (cmd->at >= 0)
		return (fail(err, errlen, "only plug, unplug and hub can be "
		    "timed with 'at'"));
	if (strcmp(w, "restore") == 0) {
		cmd->kind = SC_RESTORE;
		return (parse_restore(&t, i, cmd, err, errlen) == 0 ? 1 : -1);
	}
	if (strcmp(w, "port") == 0) {
		cmd->kind = SC_FLAKY;
		if (t.n - i != 2 || strcmp(t.v[i + 1], "flaky") != 0)
			return (fail(err, errlen, "usage: port PORT flaky"));
		return (check_port(t.v[i], cmd->port, err, errlen) == 0 ? 1 :
		    -1);
	}
	if (strcmp(w, "dialect") == 0) {
		cmd->kind = SC_DIALECT;
		if (t.n - i != 1)
			return (fail(err, errlen, "usage: dialect 1.0.0|master"));
		if (strcmp(t.v[i], "1.0.0") == 0)
			cmd->master = 0;
		else if (strcmp(t.v[i], "master") == 0)
			cmd->master = 1;
		else
			return (fail(err, errlen, "unknown dialect '%s' (1.0.0, "
			    "master)", t.v[i]));
		return (1);
	}
	if (strcmp(w, "speed") == 0) {
		cmd->kind = SC_SPEED;
		if (t.n - i != 1 || parse_double(t.v[i], 0.001, 10000,
		    &cmd->speed) != 0)
			return (fail(err, errlen, "usage: speed N (N > 0)"));
		return (1);
	}
	return (fail(err, errlen, "unknown directive '%s'", w));
}
