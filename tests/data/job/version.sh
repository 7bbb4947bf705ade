#!/bin/sh
# Stands in for `idevicerestore -v`.
if [ "$1" = "-v" ]; then
	printf 'fakerestore 1.0.0\033[2J\nsecond line\n'
	exit 0
fi
exit 1
