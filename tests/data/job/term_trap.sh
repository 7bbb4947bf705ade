#!/bin/sh
# Wait for SIGTERM and say so.
trap 'echo got-term; exit 7' TERM
echo ready
while :; do sleep 0.05; done
