#!/usr/bin/env bash
# lib_cleanup.sh: a test that is killed (the runner's timeout, ^C, a closed
# terminal) still runs its at_exit hooks and removes its folder, exactly
# once, and fails. Each case runs a small test script that sources the real
# tests/lib.sh, starts a process of its own and waits to be killed.
. "$IDB_TOP/tests/lib.sh"
# job control: a background job keeps SIGINT (without it bash starts jobs with SIGINT ignored)
set -m

cat >"$T/child.sh" <<'EOF'
. "$IDB_TOP/tests/lib.sh"
echo "$T" >"$OUT/t"
sleep 300 &
SPID=$!
echo "$SPID" >"$OUT/spid"
at_exit "echo ran >>'$OUT/hooks'; sleep ${HOOK_SLEEP:-0}; kill $SPID"
ok "started"
case "${END:-wait}" in
done) done_testing ;;
exit) exit 3 ;;
esac
: >"$OUT/ready"
while :; do sleep 0.1; done
EOF

# child NAME [VAR=value...]: start the child script in the background (CHILD_PID), with its own OUT
child() {
	local name=$1
	shift
	OUT="$T/$name"
	mkdir -p "$OUT"
	env OUT="$OUT" "$@" bash "$T/child.sh" >"$OUT/log" 2>&1 &
	CHILD_PID=$!
}
ready() {
	local i
	for i in $(seq 1 50); do
		[ -e "$OUT/ready" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_child: its exit status in rc; a child that does not end in 10 s is killed (rc 137)
wait_child() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$CHILD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$CHILD_PID" 2>/dev/null; then
		kill -KILL "$CHILD_PID"
		[ -s "$OUT/spid" ] && kill "$(cat "$OUT/spid")" 2>/dev/null
	fi
	wait "$CHILD_PID"
	rc=$?
}
hooks_once() { [ "$(cat "$OUT/hooks" 2>/dev/null)" = ran ]; }
gone() { ! kill -0 "$(cat "$OUT/spid")" 2>/dev/null; }
folder_removed() { [ -s "$OUT/t" ] && [ ! -e "$(cat "$OUT/t")" ]; }
says_killed() { [ "$(grep -c "^# killed by SIG$1\$" "$OUT/log")" = 1 ]; }

for sig in TERM INT HUP; do
	child "$sig"
	check "SIG$sig: the test is waiting" ready
	kill -s "$sig" "$CHILD_PID"
	wait_child
	check "SIG$sig: it fails with the signal's status (got $rc)" test "$rc" -eq $((128 + $(kill -l "$sig")))
	check "SIG$sig: its at_exit hooks ran once" hooks_once
	check "SIG$sig: the process it started is gone" gone
	check "SIG$sig: its folder is removed" folder_removed
	check "SIG$sig: it says why it ended" says_killed "$sig"
done

# a second signal while the hooks run does not run them again, nor cut them short
child twice HOOK_SLEEP=1
ready
kill -TERM "$CHILD_PID"
sleep 0.5
kill -TERM "$CHILD_PID"
wait_child
check "two SIGTERMs: status 143 (got $rc)" test "$rc" -eq 143
check "two SIGTERMs: the hooks ran once" hooks_once
check "two SIGTERMs: the process it started is gone" gone
check "two SIGTERMs: the folder is removed" folder_removed
check "two SIGTERMs: one message" says_killed TERM

# the ends without a signal are as before: hooks once, the test's own status
child done END=done
wait_child
check "done_testing: status 0 (got $rc)" test "$rc" -eq 0
check "done_testing: the hooks ran once" hooks_once
check "done_testing: the folder is removed" folder_removed
child exit END=exit
wait_child
check "exit 3: status 3 (got $rc)" test "$rc" -eq 3
check "exit 3: the hooks ran once" hooks_once
check "exit 3: the process it started is gone" gone
done_testing
