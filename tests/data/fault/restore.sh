#!/bin/sh
# A hostile stand-in for idevicerestore (fault tests, tests/integration/fault_*.sh).
# It gets the real arguments (-i 0xECID -y -P [-e] [-C DIR] IPSW) and misbehaves
# according to the last two hex digits of the ECID:
#   f1 dies on SIGSEGV before printing anything
#   f2 ignores SIGTERM and keeps printing: only SIGKILL ends it
#   f3 exits at once but leaves a grandchild holding stdout open for 300 s
#   f4 prints one 10 MiB line, then exits 0
#   f5 prints binary garbage and terminal escape sequences, then exits 1
#   f6 prints a little and runs until killed (for vanish/hub/signal tests)
#   anything else: a short, clean run that exits 0
# $FAULT_OUT/next-ECID, when it exists, names the behaviour (f1..f6) of the next run
# only (it is removed), so one phone can misbehave once and then restore cleanly.
# Every run writes its argv, one argument a line, to $FAULT_OUT/argv-ECID
# (when FAULT_OUT is set), its pid to $FAULT_OUT/pid-ECID and the
# GLIBC_TUNABLES it was given to $FAULT_OUT/tunables-ECID.
case "${1:-}" in
-v) echo "idevicerestore 1.0.0"; exit 0 ;;
esac
ecid=
prev=
for a in "$@"; do
	[ "$prev" = "-i" ] && ecid=$a
	prev=$a
done
if [ -n "${FAULT_OUT:-}" ]; then
	: >"$FAULT_OUT/argv-$ecid"
	for a in "$@"; do printf '%s\n' "$a" >>"$FAULT_OUT/argv-$ecid"; done
	# whole or not at all: a cancel between open and write left an empty pid file
	echo $$ >"$FAULT_OUT/.pid-$ecid.$$" && mv -f "$FAULT_OUT/.pid-$ecid.$$" "$FAULT_OUT/pid-$ecid"
	printf '%s\n' "${GLIBC_TUNABLES:-}" >"$FAULT_OUT/tunables-$ecid"
fi
behave=$ecid
if [ -n "${FAULT_OUT:-}" ] && [ -f "$FAULT_OUT/next-$ecid" ]; then
	behave=$(cat "$FAULT_OUT/next-$ecid")
	rm -f "$FAULT_OUT/next-$ecid"
fi
case "$behave" in
*f1)
	kill -SEGV $$
	exit 99 ;;
*f2)
	trap '' TERM
	echo "Found device in Recovery mode"
	while :; do echo "Waiting for device..."; sleep 0.2; done ;;
*f3)
	echo "Found device in Recovery mode"
	(sleep 300) &
	[ -n "${FAULT_OUT:-}" ] && echo $! >"$FAULT_OUT/grandchild-$ecid"
	exit 1 ;;
*f4)
	echo "Found device in Recovery mode"
	head -c 10485760 /dev/zero | tr '\0' 'x'
	echo
	exit 0 ;;
*f5)
	echo "Found device in Recovery mode"
	head -c 262144 /dev/urandom
	printf '\033]2;PWNED\007\033[2J\033[31mERROR: \033[H\233\342\200\256evil\r\n'
	printf 'ERROR: Unable to send data \033]0;PWNED\007 to ASR\n' >&2
	exit 1 ;;
*f6)
	echo "Found device in Recovery mode"
	echo "Sending iBEC (12345 bytes)..."
	while :; do sleep 0.2; echo "Waiting for device..."; done ;;
*)
	echo "Found device in Recovery mode"
	echo "Sending iBEC (12345 bytes)..."
	sleep 0.5
	echo "DONE"
	exit 0 ;;
esac
