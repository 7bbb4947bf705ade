#!/bin/sh
# After $1 seconds of silence (default none), a 10 MiB line, then binary
# garbage that is also kept in ./data.bin (in the workdir).
[ -n "${1:-}" ] && sleep "$1"
head -c 10485760 /dev/zero | tr '\0' x
echo
head -c 1000000 /dev/urandom >data.bin
cat data.bin
