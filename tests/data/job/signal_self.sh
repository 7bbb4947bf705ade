#!/bin/sh
# Send ourselves signal $1; only if it is ignored or blocked do we get to exit 0.
kill -"$1" $$
sleep 0.2
echo survived
exit 0
