/* cli.h: the subcommands of idevicebench (each returns the exit status). */
#ifndef IDB_CLI_H
#define IDB_CLI_H

/* idevicebench explain [--json] [--exit N] [--signal N] [LOG|-] */
int explain_main(int argc, char **argv);

/* idevicebench history [--db FILE] [ECID]: attempts, newest first */
int history_main(int argc, char **argv);
/* idevicebench ports [--db FILE]: per-port health */
int ports_main(int argc, char **argv);
/* idevicebench export [--db FILE] [--format csv|json] [--flagged]: repair tickets */
int export_main(int argc, char **argv);

/* idevicebench [-c FILE] firmware [--json] | fetch MODEL [VERSION|BUILD] | verify [PATH...]; argv[sub] is "firmware" */
int firmware_main(int argc, char **argv, int sub);

#endif
