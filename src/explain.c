/* explain.c: placeholder until the restore-output parser lands. */
#include <stdio.h>
#include "cli.h"

int explain_main(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "explain: not built yet\n");
	return 1;
}
