#!/usr/bin/env bash
# Restore jobs end to end: the real idevicebench under benchsim (--json) with the fake
# idevicerestore, every outcome, both output dialects; cancel leaves no process behind.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
S="$IDB_TOP/tests/data/scenarios"
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$IPSW"

run_dialect() {
	local dialect=$1 scen="$T/jobs-$1.scenario"
	{ echo "dialect $dialect"; cat "$S/jobs12.scenario"; } >"$scen"
	bench_start "$scen" -c "$S/jobs.conf" --ipsw "$IPSW"
	wait_event 20 event=device port=1-2.6 >/dev/null || { not_ok "$dialect: devices arrived"; return; }
	for p in 1-1.1 1-1.2 1-1.3 1-1.4 1-1.5 1-1.6 1-2.1 1-2.2 1-2.3 1-2.4 1-2.5 1-2.6; do
		bench_send "update $p"
	done
	check "$dialect: the long restore runs" wait_event 20 event=job slot=1-2.2 state=running
	sleep 1
	pid=$(python3 -c '
import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e.get("event")=="job" and e.get("slot")=="1-2.2" and e.get("pid"): print(e["pid"]); break
' "$T/events.jsonl")
	# the live child's command line and environment, as the bench made them
	local argv tun pre
	argv=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
	tun=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^GLIBC_TUNABLES=//p')
	pre=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^LD_PRELOAD=//p')
	check "$dialect: the child runs as <restore_cmd> -i 0xECID -y -P ... IPSW" \
		bash -c "[[ '$argv' == *fakerestore' -i 0xa10008 -y -P '*'$IPSW ' ]]"
	if [ "$dialect" = master ]; then
		check "master: the child gets --logfile=- (its log on the pipe, not in a file)" \
			bash -c "[[ '$argv' == *' --logfile=- '* ]]"
		check "master: no tcache workaround for it" [ -z "$tun" ]
		check "master: no libirecovery workaround preloaded" bash -c "[[ '$pre' != *irecvfix* ]]"
	else
		check "1.0.0: no --logfile (1.0.0 has none)" bash -c "[[ '$argv' != *--logfile* ]]"
		check "1.0.0: the child runs without glibc's tcache" [ "$tun" = glibc.malloc.tcache_count=0 ]
		check "1.0.0: the libirecovery fix is preloaded, after what was preloaded already" \
			bash -c "[[ '$pre' == *libumockdev-preload*:*/libidevicebench-irecvfix.so ]]"
	fi
	bench_send "cancel 1-2.2"
	check "$dialect: cancel ends the job cancelled" wait_event 20 event=job slot=1-2.2 state=cancelled
	check "$dialect: no process of the cancelled job's group is left" \
		bash -c "[ -n '$pid' ] && ! kill -0 -- -$pid 2>/dev/null && ! pgrep -f '[f]akerestore.*0xa10008.*$T/' >/dev/null"
	check "$dialect: a success ends done" wait_event 30 event=job slot=1-1.1 state=done
	check "$dialect: device lost mid-upload is 4013 connection-lost at upload_fs" \
		wait_event 30 event=job slot=1-1.2 state=failed class=connection-lost code=4013 step=upload_fs
	check "$dialect: refused signing is 3194 signing at prepare" \
		wait_event 30 event=job slot=1-1.3 state=failed class=signing code=3194 step=prepare
	check "$dialect: status 53 is device-reported 53 at verify_fs" \
		wait_event 30 event=job slot=1-1.4 state=failed class=device-reported code=53 step=verify_fs
	check "$dialect: a hang is killed by the stall timeout" \
		wait_event 40 event=job slot=1-1.5 state=failed class=stalled code=null step=flash_fw
	check "$dialect: a crash is classified crashed" \
		wait_event 30 event=job slot=1-1.6 state=failed class=crashed
	check "$dialect: baseband 1015 at flash_bb" \
		wait_event 30 event=job slot=1-2.3 state=failed class=device-reported code=1015 step=flash_bb
	check "$dialect: disk failure 6" \
		wait_event 30 event=job slot=1-2.4 state=failed class=device-reported code=6
	check "$dialect: lost while sending boot components is 4005" \
		wait_event 30 event=job slot=1-2.5 state=failed class=connection-lost code=4005 step=prepare
	check "$dialect: second success" wait_event 30 event=job slot=1-2.6 state=done
	# fails twice, then succeeds: retry by hand as a technician would
	# (the phone vanished for good: the technician plugs it in again each time)
	retry_1_2_1() {
		local n=$1 i
		for i in $(seq 1 150); do
			[ "$(count_events event=job slot=1-2.1 state=failed)" -ge "$n" ] && break
			sleep 0.2
		done
		for i in $(seq 1 50); do
			sim_ctl "plug 1-2.1 recovery ecid 0x0000000000a10007 cpid 0x8015 bdid 0x04" >/dev/null 2>&1 && break
			sleep 0.2
		done
		for i in $(seq 1 50); do
			[ "$(count_events event=device slot=1-2.1 mode=recovery)" -ge $((n + 1)) ] && break
			sleep 0.2
		done
		bench_send "update 1-2.1"
	}
	retry_1_2_1 1
	retry_1_2_1 2
	check "$dialect: fail twice then succeed" wait_event 40 event=job slot=1-2.1 state=done
	check "$dialect: first 4013 -> swap cable/port advice" wait_event 5 event=advice slot=1-2.1 rule=first-connection-loss
	check "$dialect: same failure point twice -> hardware advice" wait_event 5 event=advice slot=1-2.1 rule=same-failure-point
	check "$dialect: hardware code -> advice naming the part" wait_event 5 event=advice slot=1-1.4 rule=hardware-code "text=~53"
	check "$dialect: signing -> not a device problem" wait_event 5 event=advice slot=1-1.3 rule=signing
	# logs: complete child output per ECID
	log=$(python3 -c '
import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e.get("event")=="job" and e.get("slot")=="1-1.3" and e.get("log"): print(e["log"])
' "$T/events.jsonl" | tail -1)
	check "$dialect: the failed attempt's log holds the restore output" \
		bash -c "[ -f '$log' ] && grep -q 'TSS' '$log' && [ \"\$(stat -c %a '$log')\" = 600 ]"
	check "$dialect: the log is filed under the ECID" bash -c "case '$log' in */0000000000A10003/*) true;; *) false;; esac"
	bench_stop
	check "$dialect: exits 0" [ "$BENCH_RC" -eq 0 ]
	check "$dialect: no fake restore process left" bash -c "! pgrep -f '[f]akerestore.*0xa100.*$T/' >/dev/null"
	check "$dialect: history has every attempt closed" \
		bash -c "[ \"\$(sqlite3 '$T/history.db' \"select count(*) from attempts where ended is null or ended = 0\")\" = 0 ] && [ \"\$(sqlite3 '$T/history.db' 'select count(*) from attempts')\" -ge 14 ]"
	mv "$T/events.jsonl" "$T/events-$dialect.jsonl"
	mv "$T/history.db" "$T/history-$dialect.db"
	rm -f "$T/history.db-wal" "$T/history.db-shm"
}

run_dialect 1.0.0
run_dialect master
done_testing
