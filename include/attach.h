/*
 * attach.h: a console (or a JSON-lines client) attached to a bench that runs
 * in another process, through its control socket.
 */
#ifndef IDB_ATTACH_H
#define IDB_ATTACH_H

/*
 * Run a full-screen console on the bench connected at fd until the
 * technician leaves (q), the terminal goes away or the bench stops.
 * Returns the exit status.
 */
int attach_console(int fd);

#endif
