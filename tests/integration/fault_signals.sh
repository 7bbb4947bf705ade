#!/usr/bin/env bash
# Fault injection (issue #8), the process: SIGTERM, SIGINT and SIGHUP with restores
# running, a second instance started on the same bench, 1000 commands a second on stdin
# in JSON mode. Every job ends in a true final state, nothing is left running, the
# history is complete.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
. "$IDB_TOP/tests/data/fault/faultlib.sh"
fault_ipsw
fault_conf

cat >"$T/sig.scenario" <<'SC'
hub 1-1 ports 4
plug 1-1.1 recovery ecid 0x00000000000ff1f6 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x00000000000ff2f2 cpid 0x8010 bdid 0x08
plug 1-1.3 recovery ecid 0x00000000000ff3f6 cpid 0x8010 bdid 0x08
SC

# the bench's exit status once it is gone (benchsim passes it through)
bench_wait_exit() {
	local i
	for i in $(seq 1 200); do
		kill -0 "$BENCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$BENCH_PID"
	BENCH_RC=$?
	exec 9>&-
}

no_restore_left() {
	local f
	for f in "$FAULT_OUT"/pid-*; do
		[ -e "$f" ] || continue
		gone_pid "$f" || return 1
	done
}

run=0
for sig in TERM INT; do
	run=$((run + 1))
	rm -f "$FAULT_OUT"/pid-*
	fault_start "$T/sig.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh" \
		--db "$T/h-$sig.db"
	wait_count 15 3 event=device mode=recovery
	for p in 1 2 3; do bench_send "update 1-1.$p"; done
	wait_count 15 3 event=job state=running
	pid=$(bench_child_pid)
	kill -"$sig" "$pid"
	bench_wait_exit
	check "SIG$sig with 3 restores running: the bench exits 0" [ "$BENCH_RC" -eq 0 ]
	check "SIG$sig: every job ends cancelled (one of them ignores SIGTERM)" \
		[ "$(ev_count event=job state=cancelled)" -eq 3 ]
	check "SIG$sig: no restore program is left" no_restore_left
	check "SIG$sig: history complete: 3 attempts, all closed" history_complete "$T/h-$sig.db" 3
	mv "$T/events.jsonl" "$T/events-$sig.jsonl"
done

# --- a second signal does not wait (issue 14): the first cancels and waits for the
# restores (here one ignores SIGTERM and the kill grace is 30 s); the second exits now,
# killing every restore's group and closing its attempt.
rm -f "$FAULT_OUT"/pid-*
sed 's/^kill_grace = .*/kill_grace = 30/' "$T/bench.conf" >"$T/slow.conf"
fault_start "$T/sig.scenario" -c "$T/slow.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh" --db "$T/h-twice.db"
wait_count 15 3 event=device mode=recovery
bench_send "update 1-1.2"
wait_count 15 1 event=job state=running
pid=$(bench_child_pid)
kill -TERM "$pid"
sleep 1
check "one SIGTERM: the bench waits for the restore that ignores it" kill -0 "$pid"
kill -TERM "$pid"
t0=$(date +%s)
bench_wait_exit
t1=$(date +%s)
check "a second SIGTERM: the bench exits at once ($((t1 - t0)) s), not after the 30 s grace" [ $((t1 - t0)) -le 5 ]
check "a second SIGTERM: no restore program is left" no_restore_left
check "a second SIGTERM: the attempt is closed, not left open" history_complete "$T/h-twice.db" 1
mv "$T/events.jsonl" "$T/events-twice.jsonl"

# --- SIGHUP (the terminal went away; here in JSON mode): the bench goes on supervising
rm -f "$FAULT_OUT"/pid-*
echo f6 >"$FAULT_OUT/next-0xff2f2"
fault_start "$T/sig.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh" --db "$T/h.db"
wait_count 15 3 event=device mode=recovery
bench_send "update 1-1.1"
bench_send "update 1-1.2"
wait_count 15 2 event=job state=running
pid=$(bench_child_pid)
kill -HUP "$pid"
sleep 0.5
check "SIGHUP: the bench keeps running" kill -0 "$pid"
check "SIGHUP: and keeps answering commands" alive
check "SIGHUP: the restores keep running" bash -c "kill -0 \$(cat '$FAULT_OUT/pid-0xff1f6') && kill -0 \$(cat '$FAULT_OUT/pid-0xff2f2')"

# --- a second instance on the same bench (same log directory) is refused; the first goes on
"$IDEVICEBENCH" --json --log-dir "$T/logs" --db "$T/h2.db" -c "$T/bench.conf" </dev/null >"$T/second.out" 2>"$T/second.err"
rc=$?
diag "$T/second.err"
check "second instance: exit status 1" [ $rc -eq 1 ]
check "second instance: names the running one's pid" grep -q "another idevicebench (pid $pid)" "$T/second.err"
check "second instance: wrote no event" [ ! -s "$T/second.out" ]
check "second instance: created no database" [ ! -e "$T/h2.db" ]
check "second instance: the first still answers commands" alive
check "second instance: the first's restores still run" kill -0 "$(cat "$FAULT_OUT/pid-0xff1f6")"

# --- 1000 commands in one burst on stdin
python3 - >"$T/burst.txt" <<'PY'
for i in range(250):
    print("update 1-1.3")
    print("cancel 1-1.3")
    print("frobnicate %d" % i)
    print("update nosuch%d" % i)
PY
cat "$T/burst.txt" >&9
check "burst: 250 unknown verbs, 250 error events" wait_count 30 250 event=error "text~frobnicate"
check "burst: 250 unknown slots, 250 error events" wait_count 30 250 event=error "text~nosuch"
check "burst: the bench still answers commands" alive
check "burst: the slot's last job ends in a final state" ended 1-1.3 20
bench_send "cancel 1-1.1"
bench_send "cancel 1-1.2"
check "burst: the running restores end when cancelled" \
	bash -c "$(declare -f ended _ev_filter); T='$T'; ended 1-1.1 15 && ended 1-1.2 15"
bench_stop
check "exits 0 on quit" [ "$BENCH_RC" -eq 0 ]
check "every event is clean JSON" events_clean
n=$(grep '"state":"running"' "$T/events.jsonl" | grep -o '"pid":[0-9]*' | sort -u | wc -l)  # one per attempt (a step change repeats "running")
check "history complete: $n attempts, all closed" history_complete "$T/h.db" "$n"
check "no restore program is left" no_restore_left
done_testing
