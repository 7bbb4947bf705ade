#!/bin/sh
# A line every 50 ms for about 0.8 s.
i=0
while [ $i -lt 16 ]; do
	echo "tick $i"
	sleep 0.05
	i=$((i + 1))
done
exit 0
