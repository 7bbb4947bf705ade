/*
 * triage.c: advice for a failing device, port health and hardware findings.
 *
 * Every rule reads the same digest of a device's history (the attempts since
 * its last success) and may produce advice; the table gives each a priority
 * and the most serious or most specific rule that applies wins. The rules
 * follow knowledge/restore-errors.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errclass.h"
#include "restore_parse.h"
#include "slot.h"
#include "text.h"
#include "triage.h"

#define TRIAGE_RUN_MAX	64

/* What every rule looks at. */
struct tctx {
	const struct triage_attempt	*a;		/* newest first */
	size_t				 n;
	const char			*product_type;
	const struct triage_port	*port;		/* of the newest attempt, may be NULL */
	const struct hw_finding		*finding;	/* may be NULL */
	const struct triage_attempt	*newest;	/* newest attempt that is not cancelled/interrupted */
	/* attempts since the last success that count against the device, newest first */
	const struct triage_attempt	*fail[TRIAGE_RUN_MAX];
	size_t				 nfail;
};

struct triage_rule {
	const char	*name;
	int		(*fn)(const struct tctx *, struct triage_advice *);
	int		 priority;
};

static const struct hw_finding findings[] = {
	{ "iPhone9,1 iPhone9,2 iPhone9,3 iPhone9,4",
	  "CPU pseudo-soldering (A10 CPU-NAND link)", "CPU reballing", "$300-400" },
	{ "iPhone10,3 iPhone10,6",
	  "earpiece / Face ID flex cable shorting", "flex replacement", "$80-120" },
	{ "iPhone10,1 iPhone10,2 iPhone10,4 iPhone10,5",
	  "Tristar (USB controller) chip", "Tristar replacement", "$150-200" },
	{ "iPad7,11 iPad7,12",
	  "Tristar damage plus CPU (Tristar alone does not fix it)",
	  "Tristar + CPU reballing", "$350-450" },
};

/* Does the space-separated list contain exactly this word? */
static int
list_has(const char *list, const char *word)
{
	size_t	wl = strlen(word), l;

	if (wl == 0)
		return 0;
	while (*list != '\0') {
		while (*list == ' ')
			list++;
		l = strcspn(list, " ");
		if (l == wl && strncmp(list, word, wl) == 0)
			return 1;
		list += l;
	}
	return 0;
}

/* The model's known hardware finding, NULL if none. */
const struct hw_finding *
triage_finding(const char *product_type)
{
	size_t	i;

	if (product_type == NULL)
		return NULL;
	for (i = 0; i < sizeof(findings) / sizeof(findings[0]); i++) {
		if (list_has(findings[i].match, product_type))
			return &findings[i];
	}
	return NULL;
}

/* One line "finding -> repair (price)" for a flag hint. */
void
triage_hint(const char *product_type, char *buf, size_t len)
{
	const struct hw_finding	*f = triage_finding(product_type);

	if (len == 0)
		return;
	if (f == NULL) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%s -> %s (%s)", f->finding, f->repair, f->price);
}

/* Host-side failures, cancels and interrupts say nothing about the device. */
bool
triage_counts_against_device(int state, int cls)
{
	if (state != JOB_FAILED)
		return false;
	switch (cls) {
	case EC_CONNECTION_LOST:
	case EC_DEVICE_REPORTED:
	case EC_STALLED:
	case EC_UNKNOWN:
		return true;
	default:
		return false;
	}
}

static int
is_comm(const struct triage_attempt *t)
{
	return t->cls == EC_CONNECTION_LOST || errclass_code_is_comm(t->code);
}

static int
is_host_side(int cls)
{
	return cls == EC_SIGNING || cls == EC_NO_DEVICE || cls == EC_USBMUXD ||
	    cls == EC_IPSW || cls == EC_UNSUPPORTED || cls == EC_CRASHED;
}

/* "4013-class at upload_fs 42%", "device error 53 at verify_fs 80%", "stalled at ..." */
static void
fail_desc(const struct triage_attempt *t, char *buf, size_t len)
{
	char	what[48], where[48];

	if (t->cls == EC_DEVICE_REPORTED && t->code != ERR_NOCODE)
		snprintf(what, sizeof(what), "device error %d", t->code);
	else if (t->code != ERR_NOCODE)
		snprintf(what, sizeof(what), "%d-class", t->code);
	else
		snprintf(what, sizeof(what), "%s", errclass_name(t->cls));
	if (t->step >= 0 && t->step < STEP__COUNT)
		snprintf(where, sizeof(where), " at %s %.0f%%", rp_step_name(t->step),
		    t->percent);
	else
		where[0] = '\0';
	snprintf(buf, len, "%s%s", what, where);
}

/* " Known for this model: X -> Y (price)." or "" */
static void
finding_sentence(const struct tctx *c, char *buf, size_t len)
{
	if (c->finding == NULL) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, " Known for this model: %s -> %s (%s).", c->finding->finding,
	    c->finding->repair, c->finding->price);
}

static void
advise(struct triage_advice *out, bool hw, bool stop, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
advise(struct triage_advice *out, bool hw, bool stop, const char *fmt, ...)
{
	va_list	ap;

	out->hardware = hw;
	out->stop_restoring = stop;
	va_start(ap, fmt);
	vsnprintf(out->text, sizeof(out->text), fmt, ap);
	va_end(ap);
}

/* Device-reported 6, 53, 1015: the part is named by the device itself. */
static int
rule_hardware_code(const struct tctx *c, struct triage_advice *out)
{
	const struct triage_attempt	*t = NULL;
	const char			*part;
	char				 fs[160];
	size_t				 i;

	for (i = 0; i < c->nfail; i++) {
		if (c->fail[i]->cls == EC_DEVICE_REPORTED &&
		    errclass_code_is_hardware(c->fail[i]->code)) {
			t = c->fail[i];
			break;
		}
	}
	if (t == NULL)
		return 0;
	switch (t->code) {
	case 6:
		part = "NAND (storage)";
		break;
	case 53:
		part = "Touch ID / Face ID sensor or its flex (biometric pairing)";
		break;
	default:
		part = "baseband";
		break;
	}
	finding_sentence(c, fs, sizeof(fs));
	advise(out, true, true, "Device error %d: hardware, %s. Stop restoring and flag "
	    "for repair.%s", t->code, part, fs);
	return 1;
}

/* Three strikes: every further restore stresses a failing CPU or NAND. */
static int
rule_three_failures(const struct tctx *c, struct triage_advice *out)
{
	char	d[96], fs[160];

	if (c->nfail < TRIAGE_MAX_FAILURES)
		return 0;
	fail_desc(c->fail[0], d, sizeof(d));
	finding_sentence(c, fs, sizeof(fs));
	advise(out, true, true, "%zu failed attempts (last %s): stop restoring, more tries "
	    "stress failing hardware. Flag for hardware repair.%s", c->nfail, d, fs);
	return 1;
}

/* Same step, about the same percentage, twice: not a cable. */
static int
rule_same_point(const struct tctx *c, struct triage_advice *out)
{
	const struct triage_attempt	*t, *u;
	char				 d[96], fs[160];
	double				 diff;
	size_t				 i;

	if (c->nfail < 2)
		return 0;
	t = c->fail[0];
	if (t->step < 0)
		return 0;
	for (i = 1; i < c->nfail; i++) {
		u = c->fail[i];
		diff = t->percent - u->percent;
		if (diff < 0)
			diff = -diff;
		if (u->step == t->step && diff <= TRIAGE_SAME_POINT_PERCENT)
			break;
	}
	if (i == c->nfail)
		return 0;
	fail_desc(t, d, sizeof(d));
	finding_sentence(c, fs, sizeof(fs));
	advise(out, true, false, "Failed twice at the same point (%s): hardware, not the "
	    "cable or port.%s Flag for repair.", d, fs);
	return 1;
}

/* The device fails wherever it goes: the device, not the port. */
static int
rule_device_not_port(const struct tctx *c, struct triage_advice *out)
{
	const char	*ports[TRIAGE_RUN_MAX];
	size_t		 nports = 0, i, j;

	for (i = 0; i < c->nfail; i++) {
		for (j = 0; j < nports; j++) {
			if (strcmp(ports[j], c->fail[i]->port) == 0)
				break;
		}
		if (j == nports)
			ports[nports++] = c->fail[i]->port;
	}
	if (nports < 2)
		return 0;
	advise(out, true, false, "Failed on %zu different ports (%s, %s%s): the device, not "
	    "the port or cable.%s", nports, ports[0], ports[1], nports > 2 ? ", ..." : "",
	    nports == 2 ? " A third port would make it certain." : "");
	return 1;
}

/* 3194-class: the build is not signed for this model any more. */
static int
rule_signing(const struct tctx *c, struct triage_advice *out)
{
	const char	*pt = c->product_type;

	if (c->newest == NULL || c->newest->state != JOB_FAILED ||
	    c->newest->cls != EC_SIGNING)
		return 0;
	advise(out, false, false, "3194-class: signing refused. Not a device problem: check "
	    "the IPSW is still signed for %s (Apple stops signing old versions within "
	    "days) and that the signing server is reachable.",
	    pt != NULL && *pt != '\0' ? pt : "this model");
	return 1;
}

/* No device, usbmuxd, firmware file, unsupported, crashed: fix the computer. */
static int
rule_host_side(const struct tctx *c, struct triage_advice *out)
{
	const struct triage_attempt	*t = c->newest;
	const char			*pt = c->product_type;

	if (t == NULL || t->state != JOB_FAILED || !is_host_side(t->cls) ||
	    t->cls == EC_SIGNING)
		return 0;
	switch (t->cls) {
	case EC_NO_DEVICE:
		advise(out, false, false, "The restore program found no device: check the "
		    "phone is still connected and in recovery or DFU mode, then retry. Not "
		    "counted against the device.");
		break;
	case EC_USBMUXD:
		advise(out, false, false, "usbmuxd is not running on this computer: start it "
		    "(systemctl start usbmuxd), then retry. Not a device fault.");
		break;
	case EC_IPSW:
		advise(out, false, false, "The firmware file (IPSW) cannot be read: check the "
		    "configured path and the file, download it again if needed. Not a device "
		    "fault.");
		break;
	case EC_UNSUPPORTED:
		advise(out, false, false, "This idevicerestore does not support %s: update "
		    "idevicerestore and libirecovery. Not a device fault.",
		    pt != NULL && *pt != '\0' ? pt : "this model");
		break;
	default:
		advise(out, false, false, "The restore program crashed: check its log and "
		    "version, then retry. Not counted against the device.");
		break;
	}
	return 1;
}

/* The port is the common factor of other devices' failures: move the phone. */
static int
rule_suspect_port(const struct tctx *c, struct triage_advice *out)
{
	if (c->nfail == 0 || c->port == NULL || !c->port->suspect ||
	    strcmp(c->port->port, c->fail[0]->port) != 0)
		return 0;
	advise(out, false, false, "Port %s is suspect: %d other devices failed there and "
	    "then worked elsewhere. Move the phone to another port (straight on the "
	    "computer if possible) and retry.", c->port->port,
	    c->port->devices_failed_ok_elsewhere);
	return 1;
}

/* First lost connection: the cheapest steps of the ladder first. */
static int
rule_first_comm(const struct tctx *c, struct triage_advice *out)
{
	char	d[96];

	if (c->nfail != 1 || !is_comm(c->fail[0]))
		return 0;
	fail_desc(c->fail[0], d, sizeof(d));
	advise(out, false, false, "%s, first time: swap the cable (original) and use a port "
	    "straight on the computer, not a deep hub; then Recovery + Update (keeps the "
	    "data).", d);
	return 1;
}

/* Update failed: the next rung is a DFU erase-restore, which loses the data. */
static int
rule_update_failed(const struct tctx *c, struct triage_advice *out)
{
	char	d[96];

	if (c->nfail == 0 || c->fail[0]->action != ACT_UPDATE)
		return 0;
	fail_desc(c->fail[0], d, sizeof(d));
	advise(out, false, false, "Update failed (%s): next is a DFU erase-restore. It ERASES "
	    "everything: only once the data is backed up or given up.", d);
	return 1;
}

/* Erase failed but not yet three strikes: one more try elsewhere. */
static int
rule_erase_failed(const struct tctx *c, struct triage_advice *out)
{
	char	d[96];

	if (c->nfail == 0 || c->fail[0]->action != ACT_ERASE)
		return 0;
	fail_desc(c->fail[0], d, sizeof(d));
	advise(out, false, false, "Erase-restore failed (%s): try once more with another "
	    "cable on a port straight on the computer; %d failures mean hardware.", d,
	    TRIAGE_MAX_FAILURES);
	return 1;
}

static const struct triage_rule rules[] = {
	{ "hardware-code",		rule_hardware_code,	100 },
	{ "three-failures",		rule_three_failures,	90 },
	{ "same-failure-point",		rule_same_point,	80 },
	{ "device-not-port",		rule_device_not_port,	70 },
	{ "signing",			rule_signing,		60 },
	{ "host-side",			rule_host_side,		55 },
	{ "suspect-port",		rule_suspect_port,	50 },
	{ "first-connection-loss",	rule_first_comm,	40 },
	{ "update-failed",		rule_update_failed,	30 },
	{ "erase-failed",		rule_erase_failed,	20 },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

/* Names of the rules in table order. */
const char *const *
triage_rule_names(void)
{
	static const char	*names[NRULES + 1];
	size_t			 i;

	for (i = 0; i < NRULES; i++)
		names[i] = rules[i].name;
	names[NRULES] = NULL;
	return names;
}

/* Advice for a device; attempts newest first. */
int
triage_device(const struct triage_attempt *a, size_t n, const char *product_type,
    const struct triage_port *port_of_last_attempt, struct triage_advice *out)
{
	struct tctx		c;
	struct triage_advice	adv, best;
	int			best_prio = -1;
	size_t			i;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.n = n;
	c.product_type = product_type;
	c.port = port_of_last_attempt;
	c.finding = triage_finding(product_type);
	for (i = 0; i < n; i++) {
		if (a[i].state == JOB_DONE)
			break;		/* the run ends at the last success */
		if (a[i].state == JOB_CANCELLED || a[i].cls == TRIAGE_CLS_INTERRUPTED ||
		    a[i].state != JOB_FAILED)
			continue;
		if (c.newest == NULL)
			c.newest = &a[i];
		if (triage_counts_against_device(a[i].state, a[i].cls) &&
		    c.nfail < TRIAGE_RUN_MAX)
			c.fail[c.nfail++] = &a[i];
	}
	if (c.newest == NULL)
		return 0;

	memset(&best, 0, sizeof(best));
	for (i = 0; i < NRULES; i++) {
		if (rules[i].priority <= best_prio)
			continue;
		memset(&adv, 0, sizeof(adv));
		if (!rules[i].fn(&c, &adv))
			continue;
		text_copy(adv.rule, rules[i].name, sizeof(adv.rule));
		best = adv;
		best_prio = rules[i].priority;
	}
	if (best_prio < 0)
		return 0;
	*out = best;
	return 1;
}

/* Earliest failure of this device on this port, -1 if none. */
static long
first_failure(const struct triage_attempt *all, size_t n, uint64_t ecid, const char *port)
{
	long	t = -1;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (all[i].ecid != ecid || strcmp(all[i].port, port) != 0 ||
		    !triage_counts_against_device(all[i].state, all[i].cls))
			continue;
		if (t == -1 || all[i].started < t)
			t = all[i].started;
	}
	return t;
}

/* Is this port suspect, given every attempt on the bench (any order)? */
void
triage_port_assess(const char *port, const struct triage_attempt *all, size_t n,
    struct triage_port *out)
{
	const struct triage_attempt	*f, *g;
	size_t				 i, j;
	long				 since;
	int				 seen;

	memset(out, 0, sizeof(*out));
	text_copy(out->port, port, sizeof(out->port));
	for (i = 0; i < n; i++) {
		f = &all[i];
		if (strcmp(f->port, port) != 0)
			continue;
		if (f->state == JOB_DONE || f->state == JOB_FAILED)
			out->attempts++;
		if (!triage_counts_against_device(f->state, f->cls))
			continue;
		out->failures++;

		/* count each device once, at its first failure here in array order */
		seen = 0;
		for (j = 0; j < i && !seen; j++) {
			g = &all[j];
			seen = g->ecid == f->ecid && strcmp(g->port, port) == 0 &&
			    triage_counts_against_device(g->state, g->cls);
		}
		if (seen)
			continue;
		out->devices_failed++;

		/* it failed here, then worked on another port: the port is the odd one */
		since = first_failure(all, n, f->ecid, port);
		for (j = 0; j < n; j++) {
			g = &all[j];
			if (g->ecid == f->ecid && g->state == JOB_DONE &&
			    strcmp(g->port, port) != 0 && g->started >= since) {
				out->devices_failed_ok_elsewhere++;
				break;
			}
		}
	}
	out->suspect = out->devices_failed_ok_elsewhere >= TRIAGE_PORT_SUSPECT_DEVICES;
}

/* The device's advice, with the suspect-port override (console and report alike). */
int
triage_advise(const struct triage_attempt *mine, size_t nmine, const char *product_type,
    const struct triage_attempt *all, size_t nall, const struct triage_port *here,
    struct triage_advice *out)
{
	struct triage_port	last;

	memset(out, 0, sizeof(*out));
	memset(&last, 0, sizeof(last));
	if (nmine > 0) {
		triage_port_assess(mine[0].port, all, nall, &last);
		if (triage_device(mine, nmine, product_type, &last, out) != 1)
			memset(out, 0, sizeof(*out));
	}
	if (here == NULL)
		here = nmine > 0 ? &last : NULL;
	if (here != NULL && here->suspect && !out->hardware) {
		memset(out, 0, sizeof(*out));
		text_copy(out->rule, "suspect-port", sizeof(out->rule));
		snprintf(out->text, sizeof(out->text),
		    "port %s: %d different devices failed here and worked elsewhere; the port, "
		    "cable or hub is suspect: move the phone to another port", here->port,
		    here->devices_failed_ok_elsewhere);
	}
	return out->rule[0] != '\0';
}
