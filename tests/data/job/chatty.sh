#!/bin/sh
# A line every 50 ms, $1 lines (default 16: about 0.8 s).
n=${1:-16}
i=0
while [ $i -lt "$n" ]; do
	echo "tick $i"
	sleep 0.05
	i=$((i + 1))
done
exit 0
