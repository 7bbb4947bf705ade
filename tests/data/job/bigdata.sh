#!/bin/sh
# A 10 MiB line, then binary garbage that is also kept in ./data.bin (in the workdir).
head -c 10485760 /dev/zero | tr '\0' x
echo
head -c 1000000 /dev/urandom >data.bin
cat data.bin
