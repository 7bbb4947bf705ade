/* array.h: the one grow-by-doubling of the arrays every module keeps (core). */
#ifndef IDB_ARRAY_H
#define IDB_ARRAY_H

#include <stddef.h>

/*
 * Room for one more element in an array of n used elements of size bytes
 * with *cap allocated: base itself while there is room, else base
 * reallocated to twice *cap (first when empty) and *cap updated. NULL when
 * out of memory, with base and *cap untouched (still valid).
 */
void *array_grow(void *base, size_t n, size_t *cap, size_t first, size_t size);

#endif
