/* main.c: command-line entry point; dispatches subcommands. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: idevicebench [-c FILE] [--ipsw PATH] [--json] [--restore-cmd PROG] [--db FILE] [--log-dir DIR]\n"
	    "       idevicebench explain [--json] [LOG|-]\n"
	    "       idevicebench history [ECID]\n"
	    "       idevicebench ports\n"
	    "       idevicebench export [--format csv|json] [--flagged]\n"
	    "       idevicebench -n [-c FILE]\n"
	    "       idevicebench --version | --help\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("idevicebench %s\n", IDB_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "explain") == 0)
		return explain_main(argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
