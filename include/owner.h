/*
 * owner.h: the one way from a libev watcher back to its owner. Every
 * watcher is embedded in the struct that owns it (as redis's ae and
 * libev's own documentation do); its callback gets the owner back with
 * OWNER_OF(w, struct job, kill_w). No w->data, no casts that need the
 * watcher to be the first member.
 */
#ifndef IDB_OWNER_H
#define IDB_OWNER_H

#include <stddef.h>

/* The struct of type that holds *ptr as its member (member may be an array element: io[1]). */
#define OWNER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
