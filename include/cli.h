/* cli.h: the subcommands of idevicebench (each returns the exit status). */
#ifndef IDB_CLI_H
#define IDB_CLI_H

/* idevicebench explain [--json] [LOG|-] */
int explain_main(int argc, char **argv);

#endif
