/* array.c: growing an array by doubling, written once. */
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

void *
array_grow(void *base, size_t n, size_t *cap, size_t first, size_t size)
{
	size_t	 want;
	void	*p;

	if (n < *cap && base != NULL)
		return base;
	want = *cap > 0 ? *cap * 2 : first;
	if (want <= n || size == 0 || want > SIZE_MAX / size)
		return NULL;
	if ((p = realloc(base, want * size)) == NULL)
		return NULL;
	*cap = want;
	return p;
}
