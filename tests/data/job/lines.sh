#!/bin/sh
# Numbered lines on stdout and stderr, then exit with status $1.
i=0
while [ $i -lt 2000 ]; do
	echo "out $i"
	echo "err $i" >&2
	i=$((i + 1))
done
exit "${1:-0}"
