#!/bin/sh
# No output at all for $1 seconds.
sleep "$1"
exit 0
