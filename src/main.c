/* main.c: command line, start-up checks, the loop, signals, exit status. */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "bench.h"
#include "benchview.h"
#include "cli.h"
#include "config.h"
#include "jsonl.h"
#include "log.h"
#include "owner.h"
#include "remote.h"
#include "server.h"
#include "text.h"
#include "ui.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: idevicebench [-c FILE] [--ipsw PATH] [--json] [--restore-cmd PROG] [--db FILE] [--log-dir DIR]\n"
	    "                    [--socket PATH]\n"
	    "       idevicebench serve [-c FILE] [--db FILE] [--log-dir DIR] [--socket PATH]\n"
	    "       idevicebench attach [--json] [--socket PATH]\n"
	    "       idevicebench explain [--json] [--exit N] [--signal N] [LOG|-]\n"
	    "       idevicebench history [ECID]\n"
	    "       idevicebench ports\n"
	    "       idevicebench export [--format csv|json] [--flagged]\n"
	    "       idevicebench firmware [--json] | fetch MODEL [VERSION|BUILD] | verify [PATH...]\n"
	    "       idevicebench -n [-c FILE]\n"
	    "       idevicebench --version | --help\n");
}

struct app {
	struct ev_loop *loop;
	struct bench *bench;
	struct ui *ui;
	struct jsonl *jsonl;
	struct server *server;
	struct benchview view;
	ev_signal sigint, sigterm, sighup;
	ev_prepare tidy;
	int signals;
	bool serve;
	bool ui_leaving;		/* q in the console while others use the bench */
	bool screenless;		/* the in-process console is gone: serve until idle and alone */
};

/* Consoles on this bench: the one in this process, if any, and the attached ones. */
static int
consoles_cb(void *arg)
{
	struct app *a = arg;

	return (a->ui ? 1 : 0) + server_clients(a->server);
}

/*
 * Without its own screen, an in-process bench keeps running while a console
 * is attached or a restore runs, and ends when neither is left.
 */
static void
clients_cb(void *arg, int n)
{
	struct app *a = arg;

	if (a->screenless)
		bench_set_headless(a->bench, n == 0);
}

static void
lose_screen(struct app *a, const char *why)
{
	int n = server_clients(a->server);

	log_info("%s: supervising %s without a screen here (%d console%s attached)", why,
	    bench_busy(a->bench) ? "running restores" : "nothing", n, n == 1 ? "" : "s");
	bench_remove_observer(a->bench, a);
	ui_free(a->ui);
	a->ui = NULL;
	a->screenless = true;
	if (a->server)
		server_set_local(a->server, 0);
	bench_set_headless(a->bench, n == 0);
}

static void
leave_cb(void *arg)
{
	struct app *a = arg;

	/* the console is inside its own callback: let it go on the next loop pass */
	a->ui_leaving = true;
}

static void
tidy_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct app *a = OWNER_OF(w, struct app, tidy);

	(void)loop;
	(void)revents;
	if (!a->ui_leaving || a->ui == NULL)
		return;
	a->ui_leaving = false;
	lose_screen(a, "console left (q)");
	fprintf(stderr, "idevicebench: this console left; the bench (pid %ld) keeps running for the "
	    "other consoles and ends when the last one leaves and no restore runs\n", (long)getpid());
}

static void
ui_changed_cb(void *arg, int i)
{
	struct app *a = arg;

	if (a->ui)
		ui_dirty(a->ui, i);
}

static void
ui_error_cb(void *arg, const char *text)
{
	struct app *a = arg;

	log_warn("%s", text);
	if (a->ui)
		ui_message(a->ui, "%s", text);
}

static void
log_error_cb(void *arg, const char *text)
{
	(void)arg;
	log_info("%s", text);
}

static void
sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct app *a = w->signum == SIGINT ? OWNER_OF(w, struct app, sigint) :
	    w->signum == SIGTERM ? OWNER_OF(w, struct app, sigterm) : OWNER_OF(w, struct app, sighup);

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP) {
		/*
		 * The terminal is gone (an SSH connection dropped): this console ends,
		 * the bench keeps supervising and listening; a new console attaches.
		 */
		if (a->ui)
			lose_screen(a, "terminal lost (SIGHUP)");
		else if (!a->jsonl && !a->serve && !a->screenless)
			bench_set_headless(a->bench, true);
		return;
	}
	/*
	 * The first signal cancels the restores and exits once they have
	 * ended (at most their kill grace); a second one does not wait: the
	 * bench exits now and every restore's group is killed on the way out.
	 */
	if (++a->signals >= 2) {
		log_warn("signal %d again: exiting now", w->signum);
		bench_shutdown(a->bench, true);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("signal %d: cancelling running restores and exiting", w->signum);
	bench_shutdown(a->bench, true);
}

/* Split off the global options; returns the index of the first non-option. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ipsw", required_argument, NULL, 'I' },
		{ "json", no_argument, NULL, 'j' },
		{ "restore-cmd", required_argument, NULL, 'R' },
		{ "db", required_argument, NULL, 'D' },
		{ "log-dir", required_argument, NULL, 'L' },
		{ "socket", required_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct config *cfg;
	struct bench_options opt = { NULL, NULL, NULL, NULL };
	const char *conf_path = NULL, *sock_opt = NULL;
	bool json = false, check_only = false, serve = false, attach = false;
	char sock[256] = "", serr[512];
	char err[512], logpath[1100];
	struct app app;
	int ch, rc = 0;

	/* subcommands come first; global options may precede them */
	for (int i = 1; i < argc; i++) {
		const char *sub = argv[i];
		int (*fn)(int, char **) = NULL;

		if (strcmp(sub, "firmware") == 0)
			return firmware_main(argc, argv, i);
		if (strcmp(sub, "explain") == 0)
			fn = explain_main;
		else if (strcmp(sub, "history") == 0)
			fn = history_main;
		else if (strcmp(sub, "ports") == 0)
			fn = ports_main;
		else if (strcmp(sub, "export") == 0)
			fn = export_main;
		if (fn) {
			/* pass --db (and the rest) through to the subcommand */
			char **nargv = calloc((size_t)argc + 3, sizeof(*nargv));
			int n = 0;

			if (nargv == NULL)
				return 1;
			bool have_db = false;
			const char *conf = NULL;
			struct config *rc_cfg = NULL;

			nargv[n++] = argv[i];
			for (int k = 1; k < i; k++) {
				if (strcmp(argv[k], "--db") == 0 && k + 1 < i) {
					nargv[n++] = argv[k];
					nargv[n++] = argv[k + 1];
					have_db = true;
				}
				if (strcmp(argv[k], "-c") == 0 && k + 1 < i)
					conf = argv[k + 1];
			}
			for (int k = i + 1; k < argc; k++) {
				nargv[n++] = argv[k];
				if (strncmp(argv[k], "--db", 4) == 0)
					have_db = true;
			}
			/* the history named in the configuration ([history] url) unless --db says otherwise */
			if (!have_db && fn != explain_main && (rc_cfg = malloc(sizeof(*rc_cfg))) != NULL) {
				char cerr[512];

				config_defaults(rc_cfg);
				if (config_load(rc_cfg, conf, cerr, sizeof(cerr)) != 0) {
					fprintf(stderr, "idevicebench: %s\n", cerr);
					free(rc_cfg);
					free(nargv);
					return 2;
				}
				nargv[n++] = "--db";
				nargv[n++] = rc_cfg->db;
			}
			optind = 1;
			rc = fn(n, nargv);
			free(nargv);
			free(rc_cfg);
			return rc;
		}
		if (sub[0] != '-')
			break;
		if ((strcmp(sub, "-c") == 0 || strcmp(sub, "--ipsw") == 0 || strcmp(sub, "--db") == 0 ||
		    strcmp(sub, "--restore-cmd") == 0 || strcmp(sub, "--log-dir") == 0 ||
		    strcmp(sub, "--socket") == 0))
			i++;
	}

	while ((ch = getopt_long(argc, argv, "c:nhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'I':
			opt.ipsw = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'R':
			opt.restore_cmd = optarg;
			break;
		case 'D':
			opt.db = optarg;
			break;
		case 'L':
			opt.log_dir = optarg;
			break;
		case 'S':
			sock_opt = optarg;
			break;
		case 'V':
			printf("idevicebench %s\n", IDB_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc && strcmp(argv[optind], "serve") == 0 && !json) {
		serve = true;
		optind++;
	} else if (optind < argc && strcmp(argv[optind], "attach") == 0) {
		attach = true;
		optind++;
	}
	if (optind < argc) {
		fprintf(stderr, "idevicebench: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	if ((cfg = malloc(sizeof(*cfg))) == NULL)
		return 1;
	config_defaults(cfg);
	if (config_load(cfg, conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "idevicebench: %s\n", err);
		free(cfg);
		return 2;
	}
	if (check_only) {
		printf("configuration OK: %s (%zu slots, max_jobs %d, max_jobs_per_root %d)\n",
		    cfg->path[0] ? cfg->path : "defaults, no file", cfg->nslots, cfg->max_jobs,
		    cfg->max_jobs_per_root);
		free(cfg);
		return 0;
	}
	if (server_socket_path(sock_opt, sock, sizeof(sock), serr, sizeof(serr)) != 0) {
		if (serve || attach) {
			fprintf(stderr, "idevicebench: %s\n", serr);
			free(cfg);
			return 2;
		}
		sock[0] = '\0';	/* a bench of its own, not listening */
	}
	if (attach && json) {
		int none, fd = remote_dial(sock, &none, serr, sizeof(serr));

		free(cfg);
		if (fd < 0) {
			fprintf(stderr, "idevicebench: %s\n", none ? "no bench is running" : serr);
			return 1;
		}
		signal(SIGPIPE, SIG_IGN);
		return remote_relay(fd);
	}
	if (!json && !serve && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "idevicebench: the console needs a terminal; use --json for headless mode\n");
		free(cfg);
		return 2;
	}

	if (!json && !serve && sock[0]) {
		/* a console: attach to the bench that runs, or become one */
		int none, fd = remote_dial(sock, &none, serr, sizeof(serr));

		if (fd >= 0) {
			free(cfg);
			return attach_console(fd);
		}
		if (attach || !none) {
			fprintf(stderr, "idevicebench: %s\n", attach && none ? "no bench is running" : serr);
			free(cfg);
			return 1;
		}
	}

	signal(SIGPIPE, SIG_IGN);
	memset(&app, 0, sizeof(app));
	app.serve = serve;
	app.loop = ev_default_loop(EVFLAG_AUTO);
	app.bench = bench_new(app.loop, cfg, &opt, err, sizeof(err));
	if (app.bench == NULL) {
		fprintf(stderr, "idevicebench: %s\n", err);
		free(cfg);
		return 1;
	}
	snprintf(logpath, sizeof(logpath), "%s/idevicebench.log",
	    opt.log_dir ? opt.log_dir : cfg->log_dir);
	log_open(logpath);
	if (serve)
		log_stderr(!isatty(STDERR_FILENO));	/* journald reads stderr; a terminal has the log file */
	log_info("idevicebench %s starting (%s mode, config %s)", IDB_VERSION,
	    serve ? "serve" : json ? "json" : "console", cfg->path[0] ? cfg->path : "defaults");

	if (serve) {
		struct bench_observer lo = { .error_cb = log_error_cb, .arg = NULL };

		bench_add_observer(app.bench, &lo);
	} else if (json) {
		struct bench_observer lo = { .error_cb = log_error_cb, .arg = NULL };

		app.jsonl = jsonl_new(app.loop, app.bench, STDIN_FILENO, STDOUT_FILENO);
		bench_add_observer(app.bench, &lo);
	} else {
		struct bench_observer uo = { .changed_cb = ui_changed_cb, .error_cb = ui_error_cb, .arg = &app };

		log_stderr(false);
		benchview_local(&app.view, app.bench, consoles_cb, &app);
		if ((app.ui = ui_new(app.loop, &app.view, err, sizeof(err))) == NULL) {
			log_stderr(true);
			fprintf(stderr, "idevicebench: %s\n", err);
			server_free(app.server);
			bench_free(app.bench);
			free(cfg);
			return 1;
		}
		bench_add_observer(app.bench, &uo);
		ui_set_leave_cb(app.ui, leave_cb, &app);
	}
	/* after the front end: with a console, nothing more goes to the terminal */
	if (sock[0]) {
		app.server = server_new(app.loop, app.bench, sock, cfg->group,
		    opt.log_dir ? opt.log_dir : cfg->log_dir, opt.db ? opt.db : cfg->db, serr, sizeof(serr));
		if (app.server == NULL && serve) {
			log_stderr(true);
			log_warn("control socket: %s", serr);
			jsonl_free(app.jsonl);
			bench_free(app.bench);
			log_close();
			free(cfg);
			return 1;
		}
		if (app.server == NULL)
			log_warn("control socket: %s: no console can attach to this bench", serr);
		else
			server_set_clients_cb(app.server, clients_cb, &app);
		if (app.server && app.ui)
			server_set_local(app.server, 1);
	}
	ev_prepare_init(&app.tidy, tidy_cb);
	ev_prepare_start(app.loop, &app.tidy);
	ev_unref(app.loop);
	ev_signal_init(&app.sigint, sig_cb, SIGINT);
	ev_signal_init(&app.sigterm, sig_cb, SIGTERM);
	ev_signal_init(&app.sighup, sig_cb, SIGHUP);
	ev_signal_start(app.loop, &app.sigint);
	ev_signal_start(app.loop, &app.sigterm);
	ev_signal_start(app.loop, &app.sighup);
	ev_unref(app.loop);
	ev_unref(app.loop);
	ev_unref(app.loop);

	if (bench_start(app.bench, err, sizeof(err)) != 0) {
		if (app.ui) {
			bench_remove_observer(app.bench, &app);
			ui_free(app.ui);
			app.ui = NULL;
		}
		log_stderr(true);
		log_warn("cannot watch USB: %s", err);
		rc = 1;
	} else {
		ev_run(app.loop, 0);
	}

	if (app.ui) {
		ui_free(app.ui);
		app.ui = NULL;
	}
	log_stderr(true);
	log_info("exiting");
	ev_ref(app.loop);
	ev_ref(app.loop);
	ev_ref(app.loop);
	ev_signal_stop(app.loop, &app.sigint);
	ev_signal_stop(app.loop, &app.sigterm);
	ev_signal_stop(app.loop, &app.sighup);
	ev_ref(app.loop);
	ev_prepare_stop(app.loop, &app.tidy);
	server_free(app.server);
	jsonl_free(app.jsonl);
	bench_free(app.bench);
	log_close();
	free(cfg);
	return rc;
}
