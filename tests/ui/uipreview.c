/*
 * uipreview.c: the console over a fake bench, to look at it and to drive
 * it from tests (tests/integration/ui_preview.sh).
 * usage: uipreview [-ai] [-n SLOTS] [-c CMDLOG] [-L LOGFILE] [-P DFUSCRIPT] | --keys
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "benchview.h"
#include "fakebench.h"
#include "keymap.h"
#include "ui.h"

static struct ui *ui;
static struct bench *bench;

/* Leave the loop once the technician quit; a prepare watcher runs after every callback of an iteration. */
static void
check_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)w;
	(void)revents;
	if (ui_quit_requested(ui) || fakebench_quit(bench))
		ev_break(loop, EVBREAK_ALL);
}

/* The bench tells the console what changed, as main.c wires it. */
static void
changed_cb(void *arg, int i)
{
	(void)arg;
	ui_dirty(ui, i);
}

static void
error_cb(void *arg, const char *text)
{
	(void)arg;
	ui_message(ui, "%s", text);
}

static int
print_keys(void)
{
	const struct keymap_entry *t;
	size_t n, i;

	t = keymap_table(&n);
	for (i = 0; i < n; i++)
		printf("%s\t%s\n", keymap_context_name(t[i].ctx), t[i].name);
	return 0;
}

int
main(int argc, char **argv)
{
	struct fakebench_opts o;
	struct ev_loop *loop = ev_default_loop(0);
	ev_prepare check;
	struct bench_observer obs;
	struct benchview view;
	char err[256];
	int ch;

	if (argc == 2 && strcmp(argv[1], "--keys") == 0)
		return print_keys();
	memset(&o, 0, sizeof(o));
	while ((ch = getopt(argc, argv, "ac:iL:n:P:")) != -1) {
		switch (ch) {
		case 'a':
			o.animate = true;
			break;
		case 'c':
			o.cmdlog = optarg;
			break;
		case 'i':
			o.idle = true;
			break;
		case 'L':
			o.logfile = optarg;
			break;
		case 'n':
			o.nslots = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			o.dfu_script = optarg;
			break;
		default:
			fprintf(stderr, "usage: uipreview [-ai] [-n SLOTS] [-c CMDLOG] [-L LOG] [-P DFUSCRIPT] | --keys\n");
			return 2;
		}
	}
	if ((bench = fakebench_new(loop, &o)) == NULL)
		return 1;
	benchview_local(&view, bench, NULL, NULL);
	if ((ui = ui_new(loop, &view, err, sizeof(err))) == NULL) {
		fprintf(stderr, "uipreview: %s\n", err);
		fakebench_free(bench);
		return 1;
	}
	memset(&obs, 0, sizeof(obs));
	obs.changed_cb = changed_cb;
	obs.error_cb = error_cb;
	bench_add_observer(bench, &obs);
	ev_prepare_init(&check, check_cb);
	ev_prepare_start(loop, &check);
	ev_run(loop, 0);
	ev_prepare_stop(loop, &check);
	ui_free(ui);
	fakebench_free(bench);
	printf("uipreview: bye\n");
	return 0;
}
