/*
 * jsonl.h: the headless front end. Writes the JSON-lines events of DESIGN.md
 * to stdout and reads commands, one per line, from stdin. EOF on stdin does
 * not stop running work.
 */
#ifndef IDB_JSONL_H
#define IDB_JSONL_H

struct ev_loop;
struct bench;
struct jsonl;

/* Start reading commands from in_fd and writing events to out_fd. */
struct jsonl *jsonl_new(struct ev_loop *, struct bench *, int in_fd, int out_fd);
void jsonl_free(struct jsonl *);
/* An error event outside the bench (start-up problems). */
void jsonl_error(struct jsonl *, const char *text);

#endif
