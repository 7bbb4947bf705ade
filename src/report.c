/*
 * report.c: the history, ports and export subcommands (jansson for JSON).
 *
 * They read the history store without changing it (no crash recovery, no
 * schema change), so they are safe to run while a bench is working on the
 * same database. Every string in the output came through the store, which
 * sanitized it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "errclass.h"
#include "restore_parse.h"
#include "slot.h"
#include "store.h"
#include "text.h"
#include "triage.h"

#define REPORT_MAX_ATTEMPTS	20000
#define REPORT_MAX_DEVICES	5000

struct report_opts {
	const char	*db;
	const char	*bench;		/* ports: one bench's ports, or "all" (default) */
	const char	*format;
	bool		 flagged;
	const char	*ecid_arg;
};

static void
report_usage(const char *cmd)
{
	if (strcmp(cmd, "history") == 0)
		fprintf(stderr, "usage: idevicebench history [--db FILE] [ECID]\n");
	else if (strcmp(cmd, "ports") == 0)
		fprintf(stderr, "usage: idevicebench ports [--db FILE|URL] [--bench NAME|all]\n");
	else
		fprintf(stderr, "usage: idevicebench export [--db FILE] [--format csv|json] "
		    "[--flagged]\n");
}

/* Value of "--opt VALUE" or "--opt=VALUE"; NULL if argv[*i] is not opt. */
static const char *
opt_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
	size_t	l = strlen(opt);

	if (strncmp(argv[*i], opt, l) != 0)
		return NULL;
	if (argv[*i][l] == '=')
		return argv[*i] + l + 1;
	if (argv[*i][l] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* Parse the options the three commands share; -1 on a usage error. */
static int
report_args(int argc, char **argv, bool want_ecid, bool want_export, struct report_opts *o)
{
	const char	*v;
	bool		 missing = false;
	int		 i;

	memset(o, 0, sizeof(*o));
	o->format = "csv";
	for (i = 1; i < argc; i++) {
		if ((v = opt_value(argc, argv, &i, "--db", &missing)) != NULL)
			o->db = v;
		else if (!want_ecid && !want_export &&
		    (v = opt_value(argc, argv, &i, "--bench", &missing)) != NULL)
			o->bench = v;
		else if (want_export &&
		    (v = opt_value(argc, argv, &i, "--format", &missing)) != NULL)
			o->format = v;
		else if (missing)
			return -1;
		else if (want_export && strcmp(argv[i], "--flagged") == 0)
			o->flagged = true;
		else if (strcmp(argv[i], "--") == 0 && want_ecid && i + 2 == argc &&
		    o->ecid_arg == NULL)
			o->ecid_arg = argv[++i];
		else if (argv[i][0] == '-')
			return -1;
		else if (want_ecid && o->ecid_arg == NULL)
			o->ecid_arg = argv[i];
		else
			return -1;
	}
	if (missing)
		return -1;
	if (strcmp(o->format, "csv") != 0 && strcmp(o->format, "json") != 0)
		return -1;
	return 0;
}

/* An ECID as "0x1a2b..." (as the bench prints it), bare hex, or all-decimal digits. */
static int
parse_ecid(const char *s, uint64_t *out)
{
	const char	*p = s;
	char		*end;
	int		 base = 16;
	bool		 digits = true;

	if (s == NULL || *s == '\0' || strlen(s) > 24)
		return -1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	else {
		for (end = (char *)s; *end != '\0'; end++)
			digits = digits && *end >= '0' && *end <= '9';
		if (digits)
			base = 10;
	}
	if (*p == '\0' || *p == '-' || *p == '+')
		return -1;
	errno = 0;
	*out = strtoull(p, &end, base);
	if (errno != 0 || *end != '\0' || *out == 0)
		return -1;
	return 0;
}

static struct store *
report_open(const struct report_opts *o, const char *cmd)
{
	char		 path[1024], err[512];
	const char	*db = o->db;
	struct store	*st;

	if (db == NULL && (db = store_default_path(path, sizeof(path))) == NULL) {
		fprintf(stderr, "idevicebench %s: no history database path (set --db or HOME)\n",
		    cmd);
		return NULL;
	}
	if ((st = store_open_readonly(db, err, sizeof(err))) == NULL)
		fprintf(stderr, "idevicebench %s: %s\n", cmd, err);
	return st;
}

static void
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	if (t <= 0 || localtime_r(&t, &tm) == NULL) {
		text_copy(buf, "-", len);
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *
dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static int
finish_output(const char *cmd)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "idevicebench %s: writing output: %s\n", cmd, strerror(errno));
		return 1;
	}
	return 0;
}

static const struct store_device *
find_device(const struct store_device *d, size_t n, uint64_t ecid)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {	/* store_devices() returns them sorted by ECID */
		mid = (lo + hi) / 2;
		if (d[mid].ecid == ecid)
			return &d[mid];
		if (d[mid].ecid < ecid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* idevicebench history [--db FILE] [ECID] */
int
history_main(int argc, char **argv)
{
	struct report_opts		 o;
	struct store			*st;
	struct store_attempt		*a = NULL;
	struct store_device		*d = NULL;
	const struct store_device	*dv;
	uint64_t			 ecid = 0;
	size_t				 n, nd, i;
	char				 when[32], code[16], step[16], ecids[24];
	int				 rc;

	if (report_args(argc, argv, true, false, &o) == -1 ||
	    (o.ecid_arg != NULL && parse_ecid(o.ecid_arg, &ecid) == -1)) {
		report_usage("history");
		return 2;
	}
	if ((st = report_open(&o, "history")) == NULL)
		return 1;
	a = calloc(REPORT_MAX_ATTEMPTS, sizeof(*a));
	d = calloc(REPORT_MAX_DEVICES, sizeof(*d));
	if (a == NULL || d == NULL) {
		fprintf(stderr, "idevicebench history: out of memory\n");
		rc = 1;
		goto out;
	}
	n = store_attempts_ex(st, ecid, a, REPORT_MAX_ATTEMPTS);
	nd = store_devices(st, d, REPORT_MAX_DEVICES);
	printf("%-19s  %-18s  %-12s  %-10s  %-6s  %-9s  %-15s  %5s  %-10s  %7s\n", "TIME",
	    "ECID", "MODEL", "PORT", "ACTION", "STATE", "CLASS", "CODE", "STEP", "PERCENT");
	for (i = 0; i < n; i++) {
		const struct bench_attempt *b = &a[i].a;

		fmt_time(b->started, when, sizeof(when));
		snprintf(ecids, sizeof(ecids), "0x%" PRIx64, a[i].ecid);
		if (b->code == ERR_NOCODE)
			text_copy(code, "-", sizeof(code));
		else
			snprintf(code, sizeof(code), "%d", b->code);
		text_copy(step, b->step >= 0 && b->step < STEP__COUNT ? rp_step_name(b->step) :
		    "-", sizeof(step));
		dv = find_device(d, nd, a[i].ecid);
		printf("%-19s  %-18s  %-12s  %-10s  %-6s  %-9s  %-15s  %5s  %-10s  %6.1f%%\n",
		    when, ecids, dash(dv != NULL ? dv->product_type : NULL), dash(b->port),
		    slot_action_name(b->action),
		    b->state == JOB_RUNNING ? "running" : slot_job_state_name(b->state),
		    dash(b->cls), code, step, b->percent);
	}
	if (n == 0)
		fprintf(stderr, "idevicebench history: no attempts%s\n", ecid != 0 ?
		    " for this device" : "");
	rc = finish_output("history");
out:
	free(a);
	free(d);
	store_close(st);
	return rc;
}

/* Distinct ports of the attempts, in display order. */
static size_t
distinct_ports(const struct triage_attempt *t, size_t n, char (*ports)[32], size_t max)
{
	size_t	np = 0, i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < np; j++) {
			if (strcmp(ports[j], t[i].port) == 0)
				break;
		}
		if (j == np && np < max)
			text_copy(ports[np++], t[i].port, sizeof(ports[0]));
	}
	/* insertion sort: a bench has tens of ports */
	for (i = 1; i < np; i++) {
		char	key[32];

		text_copy(key, ports[i], sizeof(key));
		for (j = i; j > 0 && slot_port_cmp(ports[j - 1], key) > 0; j--)
			memcpy(ports[j], ports[j - 1], sizeof(ports[0]));
		text_copy(ports[j], key, sizeof(ports[0]));
	}
	return np;
}

static int
distinct_devices_on(const struct triage_attempt *t, size_t n, const char *port)
{
	size_t	i, j;
	int	count = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(t[i].port, port) != 0)
			continue;
		for (j = 0; j < i; j++) {
			if (t[j].ecid == t[i].ecid && strcmp(t[j].port, port) == 0)
				break;
		}
		if (j == i)
			count++;
	}
	return count;
}

#define REPORT_MAX_BENCHES	64

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The benches the attempts belong to, sorted ("" for rows without one). */
static size_t
distinct_benches(const struct store_attempt *a, size_t n, char (*names)[64], size_t max)
{
	size_t	nb = 0, i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < nb; j++) {
			if (strcmp(names[j], a[i].bench) == 0)
				break;
		}
		if (j == nb && nb < max)
			text_copy(names[nb++], a[i].bench, sizeof(names[0]));
	}
	qsort(names, nb, sizeof(names[0]), cmp_name);
	return nb;
}

/*
 * idevicebench ports [--db FILE|URL] [--bench NAME|all]
 *
 * A port path names a different physical port on every bench, so the
 * statistics are always per bench: with one bench (or --bench NAME) the
 * table is that bench's; with several (a shared history, --bench all or no
 * --bench) each row starts with its bench's name. One read of the history;
 * the benches are told apart here.
 */
int
ports_main(int argc, char **argv)
{
	struct report_opts	 o;
	struct store		*st;
	struct store_attempt	*a = NULL;
	struct triage_attempt	*t = NULL;
	struct triage_port	 p;
	char			(*ports)[32] = NULL, (*benches)[64] = NULL;
	size_t			 na, n, np, nb, b, i, rows = 0;
	bool			 multi;
	int			 rc;

	if (report_args(argc, argv, false, false, &o) == -1) {
		report_usage("ports");
		return 2;
	}
	if ((st = report_open(&o, "ports")) == NULL)
		return 1;
	a = calloc(REPORT_MAX_ATTEMPTS, sizeof(*a));
	t = calloc(REPORT_MAX_ATTEMPTS, sizeof(*t));
	ports = calloc(1024, sizeof(*ports));
	benches = calloc(REPORT_MAX_BENCHES, sizeof(*benches));
	if (a == NULL || t == NULL || ports == NULL || benches == NULL) {
		fprintf(stderr, "idevicebench ports: out of memory\n");
		rc = 1;
		goto out;
	}
	if (o.bench != NULL && strcmp(o.bench, "all") != 0)
		store_set_scope(st, o.bench);
	na = store_attempts_ex(st, 0, a, REPORT_MAX_ATTEMPTS);
	nb = distinct_benches(a, na, benches, REPORT_MAX_BENCHES);
	multi = nb > 1;
	if (nb == REPORT_MAX_BENCHES)
		fprintf(stderr, "idevicebench ports: showing the first %d benches only\n",
		    REPORT_MAX_BENCHES);
	if (multi)
		printf("%-16s  ", "BENCH");
	printf("%-12s  %8s  %8s  %7s  %7s  %-7s  %s\n", "PORT", "ATTEMPTS", "FAILURES",
	    "DEVICES", "FAIL%", "VERDICT", "WHY");
	for (b = 0; b < nb; b++) {
		for (i = n = 0; i < na; i++) {
			if (strcmp(a[i].bench, benches[b]) == 0)
				store_triage_of(&a[i], &t[n++]);
		}
		np = distinct_ports(t, n, ports, 1024);
		for (i = 0; i < np; i++) {
			char	why[96] = "";

			triage_port_assess(ports[i], t, n, &p);
			if (p.suspect)
				snprintf(why, sizeof(why), "%d devices failed here, then worked elsewhere",
				    p.devices_failed_ok_elsewhere);
			if (multi)
				printf("%-16s  ", benches[b][0] != '\0' ? benches[b] : "-");
			printf("%-12s  %8d  %8d  %7d  %6.0f%%  %-7s  %s\n", dash(ports[i]), p.attempts,
			    p.failures, distinct_devices_on(t, n, ports[i]),
			    p.attempts > 0 ? 100.0 * p.failures / p.attempts : 0.0,
			    p.suspect ? "suspect" : "ok", why);
			rows++;
		}
	}
	if (rows == 0)
		fprintf(stderr, "idevicebench ports: no attempts yet\n");
	rc = finish_output("ports");
out:
	free(a);
	free(t);
	free(ports);
	free(benches);
	store_close(st);
	return rc;
}

/* One repair ticket, as CSV and JSON both see it. */
struct ticket {
	char	ecid[24];
	char	product_type[32];
	char	name[64];
	bool	flagged;
	char	reason[128];
	char	hint[200];
	int	attempts, failed, done;
	char	summary[160];
	char	last_error[160];
	char	advice_rule[32];
	char	advice[320];
	char	*logs[64];
	size_t	nlogs;
	const struct bench_attempt *fw[64];	/* attempts with a known IPSW, newest first */
	size_t	nfw;
};

/* "4013-class connection-lost at upload_fs 42% (2026-06-01 14:02:11)" */
static void
describe_error(const struct bench_attempt *b, char *buf, size_t len)
{
	char	when[32], code[24] = "", where[48] = "";

	fmt_time(b->started, when, sizeof(when));
	if (b->code != ERR_NOCODE)
		snprintf(code, sizeof(code), strcmp(b->cls, "device-reported") == 0 ?
		    "error %d " : "%d-class ", b->code);
	if (b->step >= 0 && b->step < STEP__COUNT)
		snprintf(where, sizeof(where), " at %s %.0f%%", rp_step_name(b->step),
		    b->percent);
	snprintf(buf, len, "%s%s%s (%s)", code, dash(b->cls), where, when);
}

static void
build_ticket(const struct store_device *d, const struct store_attempt *a, size_t na,
    const struct triage_attempt *all, size_t nall, struct ticket *k)
{
	struct triage_attempt	 mine[256];
	struct triage_advice	 adv;
	size_t			 i, nm = 0, j;

	memset(k, 0, sizeof(*k));
	snprintf(k->ecid, sizeof(k->ecid), "0x%" PRIx64, d->ecid);
	text_copy(k->product_type, d->product_type, sizeof(k->product_type));
	text_copy(k->name, d->name, sizeof(k->name));
	k->flagged = d->flagged;
	text_copy(k->reason, d->reason, sizeof(k->reason));
	if (d->hint[0] != '\0')
		text_copy(k->hint, d->hint, sizeof(k->hint));
	else
		triage_hint(d->product_type, k->hint, sizeof(k->hint));

	for (i = 0; i < na; i++) {	/* a[] is newest first, for this device */
		const struct bench_attempt *b = &a[i].a;

		k->attempts++;
		if (b->state == JOB_FAILED)
			k->failed++;
		else if (b->state == JOB_DONE)
			k->done++;
		if (b->state == JOB_FAILED && k->last_error[0] == '\0')
			describe_error(b, k->last_error, sizeof(k->last_error));
		if ((b->fw_version[0] != '\0' || b->fw_build[0] != '\0') && k->nfw < 64)
			k->fw[k->nfw++] = b;
		if (b->log_path[0] != '\0' && k->nlogs < 64) {
			for (j = 0; j < k->nlogs; j++) {
				if (strcmp(k->logs[j], b->log_path) == 0)
					break;
			}
			if (j == k->nlogs)
				k->logs[k->nlogs++] = (char *)b->log_path;
		}
	}
	snprintf(k->summary, sizeof(k->summary), "%d attempts: %d done, %d failed, %d other",
	    k->attempts, k->done, k->failed, k->attempts - k->done - k->failed);

	for (i = 0; i < nall && nm < 256; i++) {	/* newest first as well */
		if (all[i].ecid == d->ecid)
			mine[nm++] = all[i];
	}
	/* not on a port now: judged where it was last, as the console judges where it is */
	if (triage_advise(mine, nm, d->product_type, all, nall, NULL, &adv) == 1) {
		text_copy(k->advice_rule, adv.rule, sizeof(k->advice_rule));
		text_copy(k->advice, adv.text, sizeof(k->advice));
	}
}

/* RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes. */
static void
csv_field(FILE *f, const char *s, bool last)
{
	const char	*p;

	if (strpbrk(s, ",\"\r\n") != NULL) {
		fputc('"', f);
		for (p = s; *p != '\0'; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else
		fputs(s, f);
	fputs(last ? "\r\n" : ",", f);
}

static void
csv_int(FILE *f, int v)
{
	char	buf[16];

	snprintf(buf, sizeof(buf), "%d", v);
	csv_field(f, buf, false);
}

static void
export_csv_header(FILE *f)
{
	static const char *cols[] = { "ecid", "product_type", "name", "flagged", "reason",
	    "repair_hint", "attempts", "done", "failed", "summary", "last_error",
	    "advice_rule", "advice", "log_paths", "firmware_version", "firmware_build",
	    "firmware_sha1" };
	size_t	i, n = sizeof(cols) / sizeof(cols[0]);

	for (i = 0; i < n; i++)
		csv_field(f, cols[i], i == n - 1);
}

static void
export_csv_row(FILE *f, const struct ticket *k)
{
	char	logs[64 * 520];
	size_t	i, off = 0;

	logs[0] = '\0';
	for (i = 0; i < k->nlogs && off < sizeof(logs); i++)
		off += snprintf(logs + off, sizeof(logs) - off, "%s%s", i > 0 ? "\n" : "",
		    k->logs[i]);
	csv_field(f, k->ecid, false);
	csv_field(f, k->product_type, false);
	csv_field(f, k->name, false);
	csv_field(f, k->flagged ? "yes" : "no", false);
	csv_field(f, k->reason, false);
	csv_field(f, k->hint, false);
	csv_int(f, k->attempts);
	csv_int(f, k->done);
	csv_int(f, k->failed);
	csv_field(f, k->summary, false);
	csv_field(f, k->last_error, false);
	csv_field(f, k->advice_rule, false);
	csv_field(f, k->advice, false);
	csv_field(f, logs, false);
	/* the IPSW of the newest attempt that recorded one */
	csv_field(f, k->nfw ? k->fw[0]->fw_version : "", false);
	csv_field(f, k->nfw ? k->fw[0]->fw_build : "", false);
	csv_field(f, k->nfw ? k->fw[0]->fw_sha1 : "", true);
}

static json_t *
export_json_row(const struct ticket *k)
{
	json_t	*o, *logs;
	size_t	 i;

	if ((logs = json_array()) == NULL)
		return NULL;
	for (i = 0; i < k->nlogs; i++)
		json_array_append_new(logs, json_string(k->logs[i]));
	o = json_pack("{s:s, s:s, s:s, s:b, s:s?, s:s?, s:i, s:i, s:i, s:s, s:s?, s:s?, s:s?, "
	    "s:o}",
	    "ecid", k->ecid, "product_type", k->product_type, "name", k->name,
	    "flagged", k->flagged,
	    "reason", k->reason[0] != '\0' ? k->reason : NULL,
	    "repair_hint", k->hint[0] != '\0' ? k->hint : NULL,
	    "attempts", k->attempts, "done", k->done, "failed", k->failed,
	    "summary", k->summary,
	    "last_error", k->last_error[0] != '\0' ? k->last_error : NULL,
	    "advice_rule", k->advice_rule[0] != '\0' ? k->advice_rule : NULL,
	    "advice", k->advice[0] != '\0' ? k->advice : NULL,
	    "log_paths", logs);
	if (o != NULL) {
		json_t *fw = json_array();

		for (i = 0; fw != NULL && i < k->nfw; i++)
			json_array_append_new(fw, json_pack("{s:I, s:s, s:s, s:s?}",
			    "attempt", (json_int_t)k->fw[i]->id, "version", k->fw[i]->fw_version,
			    "build", k->fw[i]->fw_build,
			    "sha1", k->fw[i]->fw_sha1[0] ? k->fw[i]->fw_sha1 : NULL));
		if (fw != NULL)
			json_object_set_new(o, "firmware", fw);
	}
	return o;
}

/* idevicebench export [--db FILE] [--format csv|json] [--flagged] */
int
export_main(int argc, char **argv)
{
	struct report_opts	 o;
	struct store		*st;
	struct store_device	*d = NULL;
	struct store_attempt	*a = NULL, *mine = NULL;
	struct triage_attempt	*all = NULL;
	struct ticket		 k;
	json_t			*arr = NULL, *row;
	size_t			 nd, na, nall, i, lo, hi;
	bool			 json;
	int			 rc = 0;

	if (report_args(argc, argv, false, true, &o) == -1) {
		report_usage("export");
		return 2;
	}
	json = strcmp(o.format, "json") == 0;
	if ((st = report_open(&o, "export")) == NULL)
		return 1;
	d = calloc(REPORT_MAX_DEVICES, sizeof(*d));
	a = calloc(REPORT_MAX_ATTEMPTS, sizeof(*a));
	all = calloc(REPORT_MAX_ATTEMPTS, sizeof(*all));
	mine = calloc(REPORT_MAX_ATTEMPTS, sizeof(*mine));
	if (d == NULL || a == NULL || all == NULL || mine == NULL || (json && (arr = json_array()) == NULL)) {
		fprintf(stderr, "idevicebench export: out of memory\n");
		rc = 1;
		goto out;
	}
	nd = store_devices(st, d, REPORT_MAX_DEVICES);
	na = store_attempts_ex(st, 0, a, REPORT_MAX_ATTEMPTS);
	nall = store_triage_attempts(st, 0, all, REPORT_MAX_ATTEMPTS);
	if (!json)
		export_csv_header(stdout);
	for (i = 0; i < nd; i++) {
		if (o.flagged && !d[i].flagged)
			continue;
		/* this device's attempts, still newest first */
		for (lo = 0, hi = 0; lo < na; lo++) {
			if (a[lo].ecid == d[i].ecid)
				mine[hi++] = a[lo];
		}
		build_ticket(&d[i], mine, hi, all, nall, &k);
		if (json) {
			if ((row = export_json_row(&k)) != NULL)
				json_array_append_new(arr, row);
		} else
			export_csv_row(stdout, &k);
	}
	if (json && rc == 0) {
		if (json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0)
			rc = 1;
		else
			fputc('\n', stdout);
	}
	if (rc == 0)
		rc = finish_output("export");
out:
	json_decref(arr);
	free(d);
	free(a);
	free(all);
	free(mine);
	store_close(st);
	return rc;
}
