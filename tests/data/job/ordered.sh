#!/bin/sh
# A child whose end test_job drives one step at a time.
# $1: FIFO the child waits on before it exits (status 7).
# $2: FIFO of a grandchild that holds stdout and stderr and lets go of
#     each on command ("o" then "e", in any order; "q" ends it).
# The child itself lets go of both pipes at once, so the exit status and
# each pipe's EOF happen only when the test says, in the order it chooses.
(
	while read -r c; do
		case $c in
		o) echo "last out"; exec 1>&- ;;
		e) echo "last err" >&2; exec 2>&- ;;
		q) exit 0 ;;
		esac
	done <"$2"
) &
echo "$!" >holder.pid
exec >/dev/null 2>&1
read -r c <"$1"
exit 7
