#!/bin/sh
# stdout hits EOF long before the exit status arrives.
echo first
exec 1>&-
sleep 0.3
echo late >&2
exit 4
