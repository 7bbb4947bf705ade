#!/bin/sh
# What the child sees: extra environment, working directory, fds, stdin.
echo "var=$IDB_JOB_TEST"
echo "home=$HOME"
echo "pwd=$(pwd)"
if [ -e /proc/$$/fd/57 ]; then echo "fd57=open"; else echo "fd57=closed"; fi
n=$(cat | wc -c)
echo "stdin=$n"
