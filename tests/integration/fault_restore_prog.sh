#!/usr/bin/env bash
# Fault injection (issue #8): a restore program that is missing, not executable, crashes
# at start, ignores SIGTERM, leaves a grandchild holding its pipe, prints a 10 MiB line or
# binary garbage with escape sequences. Each time: the bench keeps running, every job ends
# in a true final state, no process is left behind and the history is complete.
# Also: the restore program gets exactly the parsed arguments, never through a shell.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
. "$IDB_TOP/tests/data/fault/faultlib.sh"
fault_ipsw
fault_conf

cat >"$T/one.scenario" <<'SC'
hub 1-1 ports 2
plug 1-1.1 recovery ecid 0x00000000000fa0a1 cpid 0x8010 bdid 0x08
SC

# --- missing and not executable: the bench says so at start, a restore fails, the bench goes on
for what in missing notexec; do
	case $what in
	missing) prog="$T/no/such/idevicerestore" ;;
	notexec) prog="$F/notexec.sh" ;;
	esac
	fault_start "$T/one.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$prog"
	check "$what: the start-up warns that the restore program cannot run" \
		ev_wait 15 event=error "text~not found or not runnable"
	ev_wait 15 event=device port=1-1.1 >/dev/null
	bench_send "update 1-1.1"
	check "$what: the restore fails at once" ended 1-1.1 15
	check "$what: the job is failed, not left running" \
		ev_wait 1 event=job slot=1-1.1 state=failed
	check "$what: an error event names the program" ev_wait 5 event=error "text~cannot run"
	check "$what: the bench still answers commands" alive
	bench_stop
	check "$what: exits 0 on quit" [ "$BENCH_RC" -eq 0 ]
	check "$what: history has the attempt, closed as failed" \
		bash -c "[ \"\$(sqlite3 '$T/history.db' \"select state from attempts\")\" = failed ]"
	rm -f "$T/history.db" "$T/history.db-wal" "$T/history.db-shm"
done

# --- one bench, six misbehaving restore programs at once (restore.sh picks by ECID)
cat >"$T/six.scenario" <<'SC'
hub 1-1 ports 7
plug 1-1.1 recovery ecid 0x00000000000fa0f1 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x00000000000fa0f2 cpid 0x8010 bdid 0x08
plug 1-1.3 recovery ecid 0x00000000000fa0f3 cpid 0x8010 bdid 0x08
plug 1-1.4 recovery ecid 0x00000000000fa0f4 cpid 0x8015 bdid 0x06
plug 1-1.5 recovery ecid 0x00000000000fa0f5 cpid 0x8010 bdid 0x08
plug 1-1.6 recovery ecid 0x00000000000fa0a0 cpid 0x8010 bdid 0x08
SC
# an IPSW path a shell would act on: spaces, $(...), a semicolon, quotes
WEIRD="$T/we ird \$(touch owned1); touch owned2 '\"\`touch owned3\`&& touch owned4.ipsw"
no_owned() { ! find "$T" "$PWD" -maxdepth 6 -name 'owned[0-9]' 2>/dev/null | grep -q .; }
cp "$IPSW" "$WEIRD"
fault_start "$T/six.scenario" -c "$T/bench.conf" --ipsw "$WEIRD" --restore-cmd "$F/restore.sh"
wait_count 15 6 event=device mode=recovery
for p in 1 2 3 4 5 6; do bench_send "update 1-1.$p"; done
check "TERM-ignoring program runs" ev_wait 15 event=job slot=1-1.2 state=running
sleep 0.5
bench_send "cancel 1-1.2"
check "crash at start: failed, class crashed" ev_wait 15 event=job slot=1-1.1 state=failed class=crashed
check "SIGTERM ignored: cancel still ends the job (SIGKILL follows)" \
	ev_wait 15 event=job slot=1-1.2 state=cancelled class=cancelled
check "SIGTERM ignored: nothing of its process group is left" gone_pid "$FAULT_OUT/pid-0xfa0f2"
check "grandchild holding the pipe: the job ends anyway" ended 1-1.3 15
check "grandchild holding the pipe: job failed (exit 1)" ev_wait 1 event=job slot=1-1.3 state=failed
check "grandchild holding the pipe: the grandchild is killed" gone_pid "$FAULT_OUT/grandchild-0xfa0f3"
check "10 MiB line: the job ends" ended 1-1.4 30
check "10 MiB line: the whole output is in the log" \
	bash -c "f=\$(ls '$T'/logs/00000000000FA0F4/*.log) && [ \$(stat -c %s \"\$f\") -ge 10485760 ]"
check "garbage and escapes: the job ends failed" ev_wait 15 event=job slot=1-1.5 state=failed
check "a clean run next to them all succeeds" ev_wait 15 event=job slot=1-1.6 state=done
check "the bench still answers commands" alive
check "the restore program got exactly the parsed arguments, the odd IPSW path as one" \
	bash -c "printf '%s\n' '$F/restore.sh' -i 0xfa0a0 -y -P -C '$T/home/.cache/idevicebench' \"\$1\" | tail -n +2 | diff - '$FAULT_OUT/argv-0xfa0a0'" _ "$WEIRD"
check "no shell ever ran the arguments" no_owned
check "a 1.0.0 child runs without glibc's tcache (libirecovery's use-after-free stays harmless)" \
	grep -qx 'glibc.malloc.tcache_count=0' "$FAULT_OUT/tunables-0xfa0a0"
bench_send "erase 1-1.6"
check "erase: the clean phone is erased, done" wait_count 15 2 event=job slot=1-1.6 state=done
check "erase: the restore program got -e, before the cache and the IPSW" \
	bash -c "printf '%s\n' -i 0xfa0a0 -y -P -e -C '$T/home/.cache/idevicebench' \"\$1\" | diff - '$FAULT_OUT/argv-0xfa0a0'" _ "$WEIRD"
# a command line with shell syntax is refused by the parser and runs nothing
bench_send "update 1-1.6; touch owned5"
check "shell syntax in a slot name is refused (error event)" ev_wait 10 event=error "text~bad slot name"
bench_send "flag 1-1.6 \$(touch owned6) \`touch owned7\`"
check "a flag reason with shell syntax is kept as plain text" \
	ev_wait 10 event=flag slot=1-1.6 "reason=\$(touch owned6) \`touch owned7\`"
alive
check "shell syntax in commands ran nothing" no_owned
bench_stop
check "exits 0 on quit" [ "$BENCH_RC" -eq 0 ]
check "every event is clean JSON: no control character reached stdout" events_clean
check "failure messages carry no raw escape (garbage job)" \
	bash -c "! grep -q 'PWNED.*\\\\u001b\|\\\\u001b' '$T/events.jsonl'"
check "history complete: seven attempts, all closed in a final state" history_complete "$T/history.db" 7
check "history: crash, cancel and clean run recorded as such" \
	bash -c "[ \"\$(sqlite3 '$T/history.db' \"select group_concat(state || ':' || coalesce(class,''), ' ') from (select * from attempts order by ecid)\")\" = 'done: done: failed:crashed cancelled:cancelled failed:unknown done: failed:unknown' ]"
check "no restore program left running" bash -c "for f in '$FAULT_OUT'/pid-*; do ! kill -0 \$(cat \$f) 2>/dev/null || exit 1; done"
done_testing
