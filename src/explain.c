/*
 * explain.c: `idevicebench explain [--json] [--exit N] [--signal N] [LOG|DIR|-]...`.
 *
 * Classifies a saved idevicerestore log with the same parser and classifier
 * the bench uses for its children, and says what to try next. Without
 * --exit/--signal the outcome is judged from the text alone. The JSON form
 * uses jansson and the field names of DESIGN.md's job events.
 * Several logs, or a directory of them (a shop's old logs): one row per log
 * and a summary by class and code; with --json one object per log, each
 * with its "file".
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "errclass.h"
#include "restore_parse.h"
#include "text.h"

#define CONVENTION_NOTE \
	"9/4005/4013/4014 and 3194 are this bench's convention " \
	"(\"4013-class\"), not Apple's own error numbers"

static void
explain_usage(void)
{
	fprintf(stderr, "usage: idevicebench explain [--json] [--exit N] "
	    "[--signal N] [LOG|DIR|-] ...\n");
}

/* The first rung of the escalation ladder that fits this outcome. */
static const char *
explain_advice(const struct err_result *r, const struct rp_summary *p)
{
	switch (r->cls) {
	case EC_NONE:
		return "nothing to do: the restore finished";
	case EC_CONNECTION_LOST:
	case EC_STALLED:
		return "swap cable/port (a port on the computer, not a deep "
		    "hub), then Recovery + Update; if it fails at the same "
		    "point every time, it is hardware";
	case EC_SIGNING:
		if (p->have_tss && p->tss_status == -1)
			return "check the network path to the signing server "
			    "(gs.apple.com); not a device problem";
		return "check the IPSW is signed for this model; not a device "
		    "problem";
	case EC_DEVICE_REPORTED:
		switch (r->code) {
		case 6:
			return "hardware: storage (NAND) failure; one more "
			    "Recovery + Update at most, then NAND repair";
		case 53:
			return "hardware: Touch ID / Face ID sensor or its flex "
			    "(FDR data); repair it, restoring again will not "
			    "help";
		case 1015:
			return "hardware: baseband (modem) failed to update; "
			    "baseband repair";
		case 50:
		case 51:
			return "SEP firmware: check the IPSW matches this model "
			    "and is signed, then Recovery + Update";
		}
		return "retry with Recovery + Update; if the same status "
		    "repeats, DFU restore (erases everything)";
	case EC_NO_DEVICE:
		return "attach the phone with a cable straight into the "
		    "computer and put it into Recovery mode";
	case EC_USBMUXD:
		return "start usbmuxd and keep it running (usbmuxd -f -U "
		    "usbmux), then retry";
	case EC_IPSW:
		return "check the IPSW path and that the file is a complete, "
		    "readable IPSW for this model";
	case EC_UNSUPPORTED:
		return "this idevicerestore does not know the model: use a "
		    "newer idevicerestore (restore_cmd)";
	case EC_CRASHED:
		if (strstr(r->message, "irecv_open_with_ecid") != NULL)
			return "run it from idevicebench, which preloads "
			    "libidevicebench-irecvfix.so into 1.0.0 children "
			    "(by hand: LD_PRELOAD=<that file> idevicerestore ...), "
			    "or use a libirecovery with ce1d31f";
		return "retry; if the restore program keeps crashing, keep "
		    "the log and update idevicerestore";
	case EC_CANCELLED:
		return "none: cancelled by the technician";
	default:
		break;
	}
	return "read the log; retry as Recovery + Update";
}

static const char *
dialect_name(enum rp_dialect d)
{
	switch (d) {
	case DIALECT_1_0_0:
		return "1.0.0";
	case DIALECT_MASTER:
		return "master";
	default:
		break;
	}
	return "unknown";
}

static int
explain_num(const char *s, int lo, int hi, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int
explain_read(struct restore_parse *rp, const char *path)
{
	FILE	*f;
	char	 buf[65536];
	size_t	 n;
	int	 bad;

	if (path == NULL || strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "explain: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		rp_feed(rp, buf, n);
	bad = ferror(f);
	if (bad)
		fprintf(stderr, "explain: %s: read error\n",
		    f == stdin ? "stdin" : path);
	if (f != stdin)
		fclose(f);
	rp_finish(rp);
	return bad ? -1 : 0;
}

static void
explain_text(const struct err_result *r, const struct rp_summary *p)
{
	printf("outcome:  %s\n", r->ok ? "done" : "failed");
	printf("class:    %s\n", errclass_name(r->cls));
	if (r->code != ERR_NOCODE)
		printf("code:     %d%s\n", r->code,
		    (errclass_code_is_comm(r->code) || r->code == 3194) ?
		    " (bench convention)" : "");
	else
		printf("code:     none\n");
	printf("step:     %s\n", r->step == STEP_NONE ? "none" :
	    rp_step_name(r->step));
	printf("percent:  %.0f\n", r->percent);
	printf("message:  %s\n", r->message);
	if (r->decisive[0] != '\0')
		printf("decisive: %s\n", r->decisive);
	printf("advice:   %s\n", explain_advice(r, p));
	printf("dialect:  %s\n", dialect_name(p->dialect));
	if (p->product_type[0] != '\0')
		printf("device:   %s\n", p->product_type);
	if (r->code != ERR_NOCODE && (errclass_code_is_comm(r->code) ||
	    r->code == 3194))
		printf("note:     %s\n", CONVENTION_NOTE);
}

static int
explain_json(const struct err_result *r, const struct rp_summary *p,
    const char *file)
{
	json_t	*o;
	char	 name[512];
	int	 rc;

	o = json_object();
	if (o == NULL)
		return -1;
	if (file != NULL) {
		text_sanitize(name, sizeof name, file, strlen(file));
		json_object_set_new(o, "file", json_string(name));
	}
	/* the job event's shape (DESIGN.md), so one reader takes both */
	json_object_set_new(o, "event", json_string("job"));
	json_object_set_new(o, "time", json_real((double)time(NULL)));
	json_object_set_new(o, "state", json_string(r->ok ? "done" : "failed"));
	json_object_set_new(o, "class", r->ok ? json_null() :
	    json_string(errclass_name(r->cls)));
	json_object_set_new(o, "code", r->code == ERR_NOCODE ? json_null() :
	    json_integer(r->code));
	json_object_set_new(o, "step", r->step == STEP_NONE ? json_null() :
	    json_string(rp_step_name(r->step)));
	json_object_set_new(o, "percent", json_real((double)(long)
	    (r->percent * 10 + 0.5) / 10));
	json_object_set_new(o, "message", json_string(r->message));
	json_object_set_new(o, "advice", json_string(explain_advice(r, p)));
	json_object_set_new(o, "decisive", r->decisive[0] != '\0' ?
	    json_string(r->decisive) : json_null());
	json_object_set_new(o, "dialect", json_string(dialect_name(p->dialect)));
	json_object_set_new(o, "product_type", p->product_type[0] != '\0' ?
	    json_string(p->product_type) : json_null());
	if (r->code != ERR_NOCODE && (errclass_code_is_comm(r->code) ||
	    r->code == 3194))
		json_object_set_new(o, "note", json_string(CONVENTION_NOTE));
	rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
	return rc;
}

/* One log judged, for the table and its summary. */
struct explain_row {
	char			 file[256];
	struct err_result	 r;
};

/* Parse and classify one log (path NULL or "-": stdin). */
static int
explain_one(const char *path, const struct err_input *tmpl,
    struct err_result *r, struct restore_parse **rpp)
{
	struct restore_parse	*rp;
	struct err_input	 in;

	if ((rp = rp_new(NULL, NULL)) == NULL) {
		fprintf(stderr, "explain: out of memory\n");
		return -1;
	}
	if (explain_read(rp, path) == -1) {
		rp_free(rp);
		return -1;
	}
	in = *tmpl;
	in.parse = rp_summary(rp);
	errclass_decide(&in, r);
	*rpp = rp;
	return 0;
}

static int
explain_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* In a directory, the files a log is saved as: NAME.log, NAME.txt. */
static int
explain_is_log(const char *name)
{
	size_t	n = strlen(name);

	return n > 4 && (strcmp(name + n - 4, ".log") == 0 ||
	    strcmp(name + n - 4, ".txt") == 0);
}

/* The *.log and *.txt files of a directory, sorted by name. */
static int
explain_dir(const char *dir, char ***list, size_t *n, size_t *cap)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		*path, **nl;
	size_t		 first = *n, len;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "explain: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !explain_is_log(de->d_name))
			continue;
		len = strlen(dir) + strlen(de->d_name) + 2;
		if ((path = malloc(len)) == NULL)
			break;
		snprintf(path, len, "%s/%s", dir, de->d_name);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			if ((nl = realloc(*list, *cap * sizeof *nl)) == NULL) {
				free(path);
				break;
			}
			*list = nl;
		}
		(*list)[(*n)++] = path;
	}
	closedir(d);
	qsort(*list + first, *n - first, sizeof **list, explain_cmp);
	return 0;
}

static void
explain_summary(const struct explain_row *rows, size_t n)
{
	size_t	 i, j, count;
	char	 key[64], seen[64][64];
	size_t	 nseen = 0, done, counts[64], best;

	printf("\n%zu log%s\n", n, n == 1 ? "" : "s");
	/* by class and code, in order of first appearance */
	for (i = 0; i < n; i++) {
		if (rows[i].r.code != ERR_NOCODE)
			snprintf(key, sizeof key, "%s %d",
			    rows[i].r.ok ? "done" : errclass_name(rows[i].r.cls),
			    rows[i].r.code);
		else
			snprintf(key, sizeof key, "%s",
			    rows[i].r.ok ? "done" : errclass_name(rows[i].r.cls));
		for (done = 0, j = 0; j < nseen; j++)
			if (strcmp(seen[j], key) == 0)
				done = 1;
		if (done || nseen == sizeof seen / sizeof seen[0])
			continue;
		text_copy(seen[nseen++], key, sizeof seen[0]);
	}
	for (j = 0; j < nseen; j++) {
		counts[j] = 0;
		for (count = 0, i = 0; i < n; i++) {
			if (rows[i].r.code != ERR_NOCODE)
				snprintf(key, sizeof key, "%s %d", rows[i].r.ok ?
				    "done" : errclass_name(rows[i].r.cls),
				    rows[i].r.code);
			else
				snprintf(key, sizeof key, "%s", rows[i].r.ok ?
				    "done" : errclass_name(rows[i].r.cls));
			if (strcmp(key, seen[j]) == 0)
				count++;
		}
		counts[j] = count;
	}
	/* most frequent first; ties in order of first appearance */
	for (;;) {
		for (best = nseen, j = 0; j < nseen; j++)
			if (counts[j] > 0 && (best == nseen ||
			    counts[j] > counts[best]))
				best = j;
		if (best == nseen)
			break;
		printf("  %-28s %zu\n", seen[best], counts[best]);
		counts[best] = 0;
	}
}

/* idevicebench explain: classify idevicerestore logs. */
int
explain_main(int argc, char **argv)
{
	struct restore_parse	*rp;
	struct err_input	 in;
	struct err_result	 r;
	struct explain_row	*rows = NULL;
	struct stat		 st;
	const char		*val;
	char			**paths = NULL, **files = NULL, *dup;
	size_t			 npaths = 0, nfiles = 0, cap = 0, i, nrows = 0;
	int			 i_arg, json = 0, have_exit = 0, have_sig = 0, n;
	int			 exit_status = 0, sig = 0, nomore = 0, many = 0;
	int			 rc = 0, width;
	char			 code[16];

	if ((paths = calloc((size_t)argc + 1, sizeof *paths)) == NULL)
		return 1;
	for (i_arg = 1; i_arg < argc; i_arg++) {
		const char	*a = argv[i_arg];

		if (!nomore && strcmp(a, "--") == 0) {
			nomore = 1;
			continue;
		}
		if (!nomore && strcmp(a, "--json") == 0) {
			json = 1;
			continue;
		}
		if (!nomore && (strcmp(a, "--exit") == 0 ||
		    strcmp(a, "--signal") == 0 ||
		    strncmp(a, "--exit=", 7) == 0 ||
		    strncmp(a, "--signal=", 9) == 0)) {
			int	is_exit = (a[2] == 'e');

			if ((val = strchr(a, '=')) != NULL)
				val++;
			else if (i_arg + 1 < argc)
				val = argv[++i_arg];
			else {
				explain_usage();
				free(paths);
				return 2;
			}
			if (explain_num(val, is_exit ? 0 : 1,
			    is_exit ? 255 : 127, &n) == -1) {
				fprintf(stderr, "explain: bad %s value: %s\n",
				    is_exit ? "--exit" : "--signal", val);
				free(paths);
				return 2;
			}
			if (is_exit) {
				exit_status = n;
				have_exit = 1;
			} else {
				sig = n;
				have_sig = 1;
			}
			continue;
		}
		if (!nomore && a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "explain: unknown option: %s\n", a);
			explain_usage();
			free(paths);
			return 2;
		}
		paths[npaths++] = argv[i_arg];
	}
	if (have_exit && have_sig) {
		fprintf(stderr, "explain: --exit and --signal exclude each other\n");
		free(paths);
		return 2;
	}
	memset(&in, 0, sizeof in);
	in.exited = have_exit;
	in.exit_status = exit_status;
	in.signal = have_sig ? sig : 0;

	many = npaths > 1 || (npaths == 1 && strcmp(paths[0], "-") != 0 &&
	    stat(paths[0], &st) == 0 && S_ISDIR(st.st_mode));
	if (!many) {
		/* one log: the full answer, as before */
		if (explain_one(npaths ? paths[0] : NULL, &in, &r, &rp) == -1) {
			free(paths);
			return 1;
		}
		if (json) {
			if (explain_json(&r, rp_summary(rp), NULL) == -1)
				rc = 1;
		} else
			explain_text(&r, rp_summary(rp));
		rp_free(rp);
		free(paths);
		return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
	}
	if (have_exit || have_sig) {
		fprintf(stderr, "explain: --exit and --signal describe one log\n");
		free(paths);
		return 2;
	}

	/* several logs: directories give their files, in name order */
	for (i = 0; i < npaths; i++) {
		if (strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			if (explain_dir(paths[i], &files, &nfiles, &cap) == -1)
				rc = 1;
			continue;
		}
		if (nfiles == cap) {
			char	**nl;

			cap = cap ? cap * 2 : 64;
			if ((nl = realloc(files, cap * sizeof *nl)) == NULL)
				break;
			files = nl;
		}
		if ((dup = strdup(paths[i])) == NULL)
			break;
		files[nfiles++] = dup;
	}
	free(paths);
	if (nfiles > 0 && (rows = calloc(nfiles, sizeof *rows)) == NULL)
		rc = 1;
	for (i = 0, width = 3; i < nfiles; i++)
		if (strlen(files[i]) > (size_t)width)
			width = strlen(files[i]) > 60 ? 60 : (int)strlen(files[i]);
	if (!json && rows != NULL)
		printf("%-*s %-6s %-15s %-5s %-10s %4s  %s\n", width, "LOG",
		    "STATE", "CLASS", "CODE", "STEP", "PCT", "MESSAGE");
	for (i = 0; rows != NULL && i < nfiles; i++) {
		if (explain_one(files[i], &in, &r, &rp) == -1) {
			rc = 1;
			continue;
		}
		text_sanitize(rows[nrows].file, sizeof rows[nrows].file,
		    files[i], strlen(files[i]));
		rows[nrows].r = r;
		if (json) {
			if (explain_json(&r, rp_summary(rp), files[i]) == -1)
				rc = 1;
		} else {
			if (r.code == ERR_NOCODE)
				snprintf(code, sizeof code, "-");
			else
				snprintf(code, sizeof code, "%d", r.code);
			printf("%-*s %-6s %-15s %-5s %-10s %4.0f  %.60s\n",
			    width, rows[nrows].file, r.ok ? "done" : "failed",
			    r.ok ? "-" : errclass_name(r.cls), code,
			    r.step == STEP_NONE ? "-" : rp_step_name(r.step),
			    r.percent, r.message);
		}
		nrows++;
		rp_free(rp);
	}
	if (!json && rows != NULL)
		explain_summary(rows, nrows);
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(rows);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
