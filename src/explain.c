/*
 * explain.c: `idevicebench explain [--json] [--exit N] [--signal N] [LOG|-]`.
 *
 * Classifies a saved idevicerestore log with the same parser and classifier
 * the bench uses for its children, and says what to try next. Without
 * --exit/--signal the outcome is judged from the text alone. The JSON form
 * uses jansson and the field names of DESIGN.md's job events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "errclass.h"
#include "restore_parse.h"

#define CONVENTION_NOTE \
	"9/4005/4013/4014 and 3194 are this bench's convention " \
	"(\"4013-class\"), not Apple's own error numbers"

static void
explain_usage(void)
{
	fprintf(stderr, "usage: idevicebench explain [--json] [--exit N] "
	    "[--signal N] [LOG|-]\n");
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
explain_json(const struct err_result *r, const struct rp_summary *p)
{
	json_t	*o;
	int	 rc;

	o = json_object();
	if (o == NULL)
		return -1;
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

/* idevicebench explain: classify an idevicerestore log. */
int
explain_main(int argc, char **argv)
{
	struct restore_parse	*rp;
	struct err_input	 in;
	struct err_result	 r;
	const char		*path = NULL, *val;
	int			 i, json = 0, have_exit = 0, have_sig = 0, n;
	int			 exit_status = 0, sig = 0, nomore = 0;

	for (i = 1; i < argc; i++) {
		const char	*a = argv[i];

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
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				explain_usage();
				return 2;
			}
			if (explain_num(val, is_exit ? 0 : 1,
			    is_exit ? 255 : 127, &n) == -1) {
				fprintf(stderr, "explain: bad %s value: %s\n",
				    is_exit ? "--exit" : "--signal", val);
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
			return 2;
		}
		if (path != NULL) {
			explain_usage();
			return 2;
		}
		path = a;
	}
	if (have_exit && have_sig) {
		fprintf(stderr, "explain: --exit and --signal exclude each other\n");
		return 2;
	}

	if ((rp = rp_new(NULL, NULL)) == NULL) {
		fprintf(stderr, "explain: out of memory\n");
		return 1;
	}
	if (explain_read(rp, path) == -1) {
		rp_free(rp);
		return 1;
	}
	memset(&in, 0, sizeof in);
	in.parse = rp_summary(rp);
	in.exited = have_exit;
	in.exit_status = exit_status;
	in.signal = have_sig ? sig : 0;
	errclass_decide(&in, &r);

	if (json) {
		if (explain_json(&r, in.parse) == -1) {
			rp_free(rp);
			return 1;
		}
	} else
		explain_text(&r, in.parse);
	rp_free(rp);
	return fflush(stdout) == 0 ? 0 : 1;
}
