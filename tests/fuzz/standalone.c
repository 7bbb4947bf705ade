/*
 * standalone.c: run a harness without libFuzzer. Each file named on the
 * command line is read into a buffer of exactly its size (so the sanitizer
 * build still catches a read past the end) and given to
 * LLVMFuzzerTestOneInput once. A broken invariant aborts, as under libFuzzer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static uint8_t *
read_all(const char *path, size_t *lenp)
{
	FILE	*f;
	uint8_t	*buf = NULL, *n;
	size_t	 len = 0, cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((n = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = n;
		}
		if ((got = fread(buf + len, 1, cap - len, f)) == 0)
			break;
		len += got;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	/* exact size: the harness must not read past what it was given */
	if ((n = malloc(len ? len : 1)) == NULL) {
		free(buf);
		return NULL;
	}
	memcpy(n, buf, len);
	free(buf);
	*lenp = len;
	return n;
}

int
main(int argc, char **argv)
{
	uint8_t	*data;
	size_t	 len;
	int	 i, ran = 0;

	for (i = 1; i < argc; i++) {
		if ((data = read_all(argv[i], &len)) == NULL) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		ran++;
	}
	printf("%d inputs ran\n", ran);
	return 0;
}
