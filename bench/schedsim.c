/*
 * schedsim.c: admission policies on a simulated bench (performance issue #7,
 * item 6).
 *
 * A discrete-event simulation of a bench of 4 root ports x 8 phones. Each
 * restore is: prepare (boot components, TSS, mode switches: little USB use),
 * an upload of the filesystem that shares its root port's USB2 bandwidth
 * fairly with the other uploads on that root, steps on the device (verify,
 * flash), and a short tail. An upload whose share stays below a threshold
 * for longer than a timeout fails (the 4013 of an overloaded bus); that
 * phone goes back to recovery and is queued again. In a shift, the operator
 * replaces every restored phone with a new one.
 *
 * The idevicebench policy is the real src/core/sched.c, asked exactly as
 * bench.c asks it: at every event, with every queued and running job and
 * its current step. The model's numbers are options so that its assumptions
 * can be questioned from the command line instead of in the code.
 *
 * usage: schedsim [-h HOURS] [-n SEEDS] [-s SEED] [-o random|port]
 *                 [-b ROOT_MBPS] [-f FS_MB] [-t THRESH_MBPS] [-T TIMEOUT_S]
 *                 [-J TIMEOUT_JITTER_S]
 *                 [-j MAX_JOBS] [-r MAX_PER_ROOT] [-x]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "restore_parse.h"
#include "sched.h"

#define MAXPHONES	256
#define EPS		1e-9

struct model {
	int	 roots, per_root;
	double	 root_mbps;	/* effective USB2 bandwidth per root port, MB/s */
	double	 dev_mbps;	/* what one upload can use alone */
	double	 fs_mb;		/* filesystem image */
	double	 prep_s, prep_var;	/* prepare: mean, +- uniform */
	double	 dev_s, dev_var;	/* verify + flash on the device */
	double	 tail_s, tail_var;
	double	 thresh_mbps;	/* below this share an upload starts to time out */
	double	 timeout_s, timeout_var;	/* ... and fails after this long (+- uniform, per upload) */
	double	 recover_s;	/* a failed phone is back in recovery, queued again */
	double	 swap_s, swap_var;	/* operator replaces a restored phone */
	double	 hours;		/* shift length */
	int	 random_order;	/* initial queue order: random, or port by port */
};

enum policy_kind {
	POL_ALL,		/* start everything at once */
	POL_FIFO,		/* a fixed number at a time, first come first served */
	POL_SCHED		/* sched_pick() */
};

struct policy {
	enum policy_kind kind;
	int		 max_jobs, max_per_root;
};

enum phase {
	PH_WAIT,		/* not queued yet: being swapped in, or recovering */
	PH_QUEUED,
	PH_PREPARE,
	PH_UPLOAD,
	PH_DEVICE,
	PH_TAIL,
	PH_GONE			/* batch mode: restored and taken off */
};

struct phone {
	int		 root;
	enum phase	 ph;
	double		 t_end;		/* end of a timed phase */
	double		 remain;	/* MB still to upload */
	double		 rate;		/* current share, MB/s */
	double		 low_since;	/* share below threshold since; < 0 if not */
	double		 timeout;	/* this upload's patience below the threshold */
	unsigned long	 seq;
	double		 prep_s, dev_s, tail_s;
};

struct result {
	int	 done;		/* restores finished (in the shift, or all of the batch) */
	int	 fails;		/* overload failures (4013) */
	double	 makespan;	/* batch: when the last phone was done */
	double	 busy_jobs;	/* time-averaged running jobs */
	double	 uploads_peak;	/* most concurrent uploads on one root */
};

static uint64_t	rng_state;

static double
rng_unit(void)
{
	uint64_t	x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return (x >> 11) * (1.0 / 9007199254740992.0);
}

static double
vary(double mean, double var)
{
	return mean + (2 * rng_unit() - 1) * var;
}

/* A new phone on a port: its own timings (models and storage differ). */
static void
phone_new(const struct model *m, struct phone *p, int root, double ready)
{
	memset(p, 0, sizeof *p);
	p->root = root;
	p->ph = PH_WAIT;
	p->t_end = ready;
	p->low_since = -1;
	p->prep_s = vary(m->prep_s, m->prep_var);
	p->dev_s = vary(m->dev_s, m->dev_var);
	p->tail_s = vary(m->tail_s, m->tail_var);
}

static int
phase_step(enum phase ph)
{
	switch (ph) {
	case PH_PREPARE:
		return STEP_PREPARE;
	case PH_UPLOAD:
		return STEP_UPLOAD_FS;
	case PH_DEVICE:
		return STEP_VERIFY_FS;
	case PH_TAIL:
		return STEP_FUD;
	default:
		return STEP_NONE;
	}
}

static int
running(enum phase ph)
{
	return ph >= PH_PREPARE && ph <= PH_TAIL;
}

/* Which queued phones start now; returns how many were put in out[]. */
static size_t
admit(const struct policy *pol, struct phone *ph, int n, size_t *out)
{
	struct sched_job	 jobs[MAXPHONES];
	struct sched_limits	 lim;
	size_t			 nj = 0, k, npick = 0;
	int			 i, nrun = 0, idx[MAXPHONES];
	unsigned long		 best;
	int			 bi;

	for (i = 0; i < n; i++)
		nrun += running(ph[i].ph);

	switch (pol->kind) {
	case POL_ALL:
	case POL_FIFO:
		/* oldest queued first while there is room */
		for (;;) {
			if (pol->kind == POL_FIFO && nrun >= pol->max_jobs)
				break;
			bi = -1;
			best = 0;
			for (i = 0; i < n; i++) {
				if (ph[i].ph != PH_QUEUED)
					continue;
				for (k = 0; k < npick; k++)
					if (out[k] == (size_t)i)
						break;
				if (k < npick)
					continue;
				if (bi < 0 || ph[i].seq < best) {
					bi = i;
					best = ph[i].seq;
				}
			}
			if (bi < 0)
				break;
			out[npick++] = (size_t)bi;
			nrun++;
		}
		return npick;
	case POL_SCHED:
		for (i = 0; i < n; i++) {
			if (ph[i].ph != PH_QUEUED && !running(ph[i].ph))
				continue;
			jobs[nj].id = i;
			jobs[nj].state = ph[i].ph == PH_QUEUED ?
			    SCHED_QUEUED : SCHED_RUNNING;
			jobs[nj].root = ph[i].root;
			jobs[nj].step = phase_step(ph[i].ph);
			jobs[nj].seq = ph[i].seq;
			idx[nj] = i;
			nj++;
		}
		lim.max_jobs = pol->max_jobs;
		lim.max_per_root = pol->max_per_root;
		npick = sched_pick(jobs, nj, &lim, out, MAXPHONES);
		for (k = 0; k < npick; k++)
			out[k] = (size_t)idx[out[k]];
		return npick;
	}
	return 0;
}

/*
 * One run. batch: the first roots*per_root phones only, until all are done;
 * otherwise a shift of m->hours with restored phones replaced.
 */
static void
sim_run(const struct model *m, const struct policy *pol, int batch,
    uint64_t seed, struct result *res)
{
	struct phone	 ph[MAXPHONES];
	size_t		 pick[MAXPHONES], k;
	int		 n = m->roots * m->per_root, i, j, order[MAXPHONES];
	int		 ups[64], left = n;
	unsigned long	 seq = 1;
	double		 t = 0, end, next, dt, share;

	memset(res, 0, sizeof *res);
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	if (rng_state == 0)
		rng_state = 1;
	end = batch ? 48 * 3600.0 : m->hours * 3600;

	for (i = 0; i < n; i++) {
		phone_new(m, &ph[i], i / m->per_root, 0);
		order[i] = i;
	}
	/* initial queue: the order the operator started the phones in */
	if (m->random_order) {
		for (i = n - 1; i > 0; i--) {
			j = (int)(rng_unit() * (i + 1));
			k = (size_t)order[i];
			order[i] = order[j];
			order[j] = (int)k;
		}
	}
	for (i = 0; i < n; i++) {
		ph[order[i]].ph = PH_QUEUED;
		ph[order[i]].seq = seq++;
	}

	for (;;) {
		/* transitions due now */
		for (i = 0; i < n; i++) {
			struct phone	*p = &ph[i];

			switch (p->ph) {
			case PH_WAIT:
				if (p->t_end <= t + EPS) {
					p->ph = PH_QUEUED;
					p->seq = seq++;
				}
				break;
			case PH_PREPARE:
				if (p->t_end <= t + EPS) {
					p->ph = PH_UPLOAD;
					p->remain = m->fs_mb;
					p->low_since = -1;
					/* USB timeouts do not all expire at once */
					p->timeout = vary(m->timeout_s, m->timeout_var);
				}
				break;
			case PH_UPLOAD:
				if (p->remain <= 1e-6) {
					p->ph = PH_DEVICE;
					p->t_end = t + p->dev_s;
				} else if (p->low_since >= 0 &&
				    t + EPS >= p->low_since + p->timeout) {
					res->fails++;
					p->ph = PH_WAIT;
					p->t_end = t + m->recover_s;
				}
				break;
			case PH_DEVICE:
				if (p->t_end <= t + EPS) {
					p->ph = PH_TAIL;
					p->t_end = t + p->tail_s;
				}
				break;
			case PH_TAIL:
				if (p->t_end <= t + EPS) {
					res->done++;
					if (batch) {
						p->ph = PH_GONE;
						res->makespan = t;
						left--;
					} else
						phone_new(m, p, p->root, t +
						    vary(m->swap_s, m->swap_var));
				}
				break;
			default:
				break;
			}
		}
		if (left == 0 || t >= end - EPS)
			break;

		k = admit(pol, ph, n, pick);
		while (k-- > 0) {
			ph[pick[k]].ph = PH_PREPARE;
			ph[pick[k]].t_end = t + ph[pick[k]].prep_s;
		}

		/* fair shares of each root's bandwidth */
		memset(ups, 0, sizeof ups);
		for (i = 0; i < n; i++)
			if (ph[i].ph == PH_UPLOAD)
				ups[ph[i].root]++;
		for (i = 0; i < m->roots; i++)
			if (ups[i] > res->uploads_peak)
				res->uploads_peak = ups[i];
		next = end;
		for (i = 0; i < n; i++) {
			struct phone	*p = &ph[i];

			if (p->ph == PH_UPLOAD) {
				share = m->root_mbps / ups[p->root];
				p->rate = share < m->dev_mbps ? share : m->dev_mbps;
				if (p->rate < m->thresh_mbps) {
					if (p->low_since < 0)
						p->low_since = t;
					if (p->low_since + p->timeout < next)
						next = p->low_since + p->timeout;
				} else
					p->low_since = -1;
				if (t + p->remain / p->rate < next)
					next = t + p->remain / p->rate;
			} else if (p->ph != PH_QUEUED && p->ph != PH_GONE) {
				if (p->t_end < next)
					next = p->t_end;
			}
		}
		if (next < t)
			next = t;
		dt = next - t;
		for (i = 0; i < n; i++) {
			if (ph[i].ph == PH_UPLOAD)
				ph[i].remain -= ph[i].rate * dt;
			if (running(ph[i].ph))
				res->busy_jobs += dt;
		}
		t = next;
	}
	if (t > 0)
		res->busy_jobs /= t;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Medians over seeds of one policy. */
struct summary {
	double	 per_hour, fails, makespan, batch_fails, busy, peak;
	double	 per_hour_v[64];	/* per seed, for ratios */
};

static void
summarise(const struct model *m, const struct policy *pol, int nseeds,
    uint64_t seed0, struct summary *s)
{
	struct result	 r;
	double		 a[64], b[64], c[64], d[64], e[64], f[64];
	int		 i;

	for (i = 0; i < nseeds; i++) {
		sim_run(m, pol, 0, seed0 + (uint64_t)i, &r);
		a[i] = r.done / m->hours;
		s->per_hour_v[i] = a[i];
		b[i] = r.fails;
		e[i] = r.busy_jobs;
		f[i] = r.uploads_peak;
		sim_run(m, pol, 1, seed0 + (uint64_t)i, &r);
		c[i] = r.done == m->roots * m->per_root ? r.makespan / 60 : INFINITY;
		d[i] = r.fails;
	}
	s->per_hour = median(a, nseeds);
	s->fails = median(b, nseeds);
	s->makespan = median(c, nseeds);
	s->batch_fails = median(d, nseeds);
	s->busy = median(e, nseeds);
	s->peak = median(f, nseeds);
}

static void
policy_name(const struct policy *pol, char *buf, size_t len)
{
	switch (pol->kind) {
	case POL_ALL:
		snprintf(buf, len, "all at once");
		break;
	case POL_FIFO:
		snprintf(buf, len, "fixed %d at a time (FIFO)", pol->max_jobs);
		break;
	case POL_SCHED:
		snprintf(buf, len, "idevicebench sched_pick(max_jobs %d, "
		    "max_per_root %d)", pol->max_jobs, pol->max_per_root);
		break;
	}
}

static void
print_makespan(double v)
{
	if (isinf(v))
		printf(" not done in 48 h |");
	else
		printf(" %.0f min |", v);
}

static void
print_ratio(double v)
{
	if (isinf(v))
		printf("unbounded (the other restored nothing)");
	else
		printf("%.2fx", v);
}

static void
usage(void)
{
	fprintf(stderr, "usage: schedsim [-h HOURS] [-n SEEDS] [-s SEED] "
	    "[-o random|port] [-b ROOT_MBPS] [-f FS_MB] [-t THRESH_MBPS] "
	    "[-T TIMEOUT_S] [-J TIMEOUT_JITTER_S] [-j MAX_JOBS] [-r MAX_PER_ROOT] [-x]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct model	 m = {
		.roots = 4, .per_root = 8,
		.root_mbps = 35, .dev_mbps = 35, .fs_mb = 5500,
		.prep_s = 60, .prep_var = 15,
		.dev_s = 480, .dev_var = 60,
		.tail_s = 20, .tail_var = 10,
		.thresh_mbps = 12, .timeout_s = 60, .timeout_var = 15,
		.recover_s = 45,
		.swap_s = 60, .swap_var = 30,
		.hours = 8, .random_order = 1,
	};
	struct policy	 pols[3], pol;
	struct summary	 s[3], g;
	double		 ratio_all[64], ratio_fifo[64];
	char		 name[128];
	int		 ch, nseeds = 9, jobs = 10, per_root = 2, table = 1, i, a, b;
	uint64_t	 seed0 = 1;
	static const int tj[] = { 6, 8, 10, 12, 14, 16, 20, 24, 32 };
	static const int tr[] = { 1, 2, 3, 4 };

	while ((ch = getopt(argc, argv, "h:n:s:o:b:f:t:T:J:j:r:x")) != -1) {
		switch (ch) {
		case 'h':
			m.hours = atof(optarg);
			break;
		case 'n':
			nseeds = atoi(optarg);
			break;
		case 's':
			seed0 = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			if (strcmp(optarg, "random") == 0)
				m.random_order = 1;
			else if (strcmp(optarg, "port") == 0)
				m.random_order = 0;
			else
				usage();
			break;
		case 'b':
			m.root_mbps = m.dev_mbps = atof(optarg);
			break;
		case 'f':
			m.fs_mb = atof(optarg);
			break;
		case 't':
			m.thresh_mbps = atof(optarg);
			break;
		case 'T':
			m.timeout_s = atof(optarg);
			break;
		case 'J':
			m.timeout_var = atof(optarg);
			break;
		case 'j':
			jobs = atoi(optarg);
			break;
		case 'r':
			per_root = atoi(optarg);
			break;
		case 'x':
			table = 0;
			break;
		default:
			usage();
		}
	}
	if (nseeds < 1 || nseeds > 64 || m.hours <= 0 || m.root_mbps <= 0 ||
	    m.fs_mb <= 0 || m.timeout_var < 0 || m.timeout_var > m.timeout_s ||
	    jobs < 1 || per_root < 1 ||
	    m.roots * m.per_root > MAXPHONES || m.roots > 64)
		usage();

	printf("Model: %d root ports x %d phones, %.0f MB/s per root shared "
	    "fairly, %.0f MB filesystem, prepare %.0f+-%.0f s, device steps "
	    "%.0f+-%.0f s, tail %.0f+-%.0f s; an upload below %.0f MB/s for "
	    "%.0f+-%.0f s fails (4013) and is queued again after %.0f s; restored "
	    "phones are replaced after %.0f+-%.0f s; %.1f h shift; %s queue "
	    "order; medians of %d seeds.\n\n",
	    m.roots, m.per_root, m.root_mbps, m.fs_mb, m.prep_s, m.prep_var,
	    m.dev_s, m.dev_var, m.tail_s, m.tail_var, m.thresh_mbps,
	    m.timeout_s, m.timeout_var, m.recover_s, m.swap_s, m.swap_var, m.hours,
	    m.random_order ? "random" : "port-by-port", nseeds);

	pols[0] = (struct policy){ POL_ALL, m.roots * m.per_root, 0 };
	pols[1] = (struct policy){ POL_FIFO, jobs, 0 };
	pols[2] = (struct policy){ POL_SCHED, jobs, per_root };
	printf("| policy | restores/h (shift) | 4013 failures (shift) | "
	    "mean running jobs | peak uploads on a root | 32 phones done in | "
	    "4013 failures (32 phones) |\n|---|---|---|---|---|---|---|\n");
	for (i = 0; i < 3; i++) {
		summarise(&m, &pols[i], nseeds, seed0, &s[i]);
		policy_name(&pols[i], name, sizeof name);
		printf("| %s | %.1f | %.0f | %.1f | %.0f |", name, s[i].per_hour,
		    s[i].fails, s[i].busy, s[i].peak);
		print_makespan(s[i].makespan);
		printf(" %.0f |\n", s[i].batch_fails);
	}
	for (i = 0; i < nseeds; i++) {
		ratio_all[i] = s[0].per_hour_v[i] > 0 ?
		    s[2].per_hour_v[i] / s[0].per_hour_v[i] : INFINITY;
		ratio_fifo[i] = s[1].per_hour_v[i] > 0 ?
		    s[2].per_hour_v[i] / s[1].per_hour_v[i] : INFINITY;
	}
	printf("\nRatios of restores per hour (medians of per-seed ratios): "
	    "idevicebench / all at once: ");
	print_ratio(median(ratio_all, nseeds));
	printf("; idevicebench / fixed %d: ", jobs);
	print_ratio(median(ratio_fifo, nseeds));
	printf(".\n");

	if (!table)
		return 0;
	printf("\nRestores/h over the shift (4013 failures in the shift), medians "
	    "of %d seeds, by max_jobs: a fixed FIFO of that size, and "
	    "sched_pick with each max_per_root:\n\n| max_jobs | FIFO |", nseeds);
	for (b = 0; b < (int)(sizeof tr / sizeof tr[0]); b++)
		printf(" per root %d |", tr[b]);
	printf("\n|---|---|");
	for (b = 0; b < (int)(sizeof tr / sizeof tr[0]); b++)
		printf("---|");
	printf("\n");
	for (a = 0; a < (int)(sizeof tj / sizeof tj[0]); a++) {
		pol = (struct policy){ POL_FIFO, tj[a], 0 };
		summarise(&m, &pol, nseeds, seed0, &g);
		printf("| %d | %.1f (%.0f) |", tj[a], g.per_hour, g.fails);
		for (b = 0; b < (int)(sizeof tr / sizeof tr[0]); b++) {
			pol = (struct policy){ POL_SCHED, tj[a], tr[b] };
			summarise(&m, &pol, nseeds, seed0, &g);
			printf(" %.1f (%.0f) |", g.per_hour, g.fails);
		}
		printf("\n");
	}
	return 0;
}
