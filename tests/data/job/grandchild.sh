#!/bin/sh
# Exit at once, leaving a grandchild that holds stdout for $1 seconds, then
# (if it is still alive) writes a last line.
(sleep "$1"; echo grand) &
echo "$!" >grandchild.pid
echo parent
exit 0
