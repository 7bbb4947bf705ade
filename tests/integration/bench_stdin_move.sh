#!/usr/bin/env bash
# --json mode: EOF on stdin stops the commands, never the work (a restore
# started before it runs to its end, and the bench goes on watching the
# ports); a phone moved to another port arrives there with its history
# (advice from its earlier failure) and its flag.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$IPSW"

# ---- EOF on stdin with a restore running ------------------------------------------
cat >"$T/eof.scenario" <<'SC'
speed 4
hub 1-1 ports 4
plug 1-1.1 recovery ecid 0x0000000000e00001 cpid 0x8010 bdid 0x08
restore 0x0000000000e00001 ok 8
SC
bench_start "$T/eof.scenario" --ipsw "$IPSW"
wait_event 10 event=device port=1-1.1 mode=recovery >/dev/null
bench_send "update 1-1.1"
check "the restore runs" wait_event 15 event=job slot=1-1.1 state=running
exec 9>&-	# EOF on the bench's stdin
check "after EOF on stdin the restore still ends done" wait_event 30 event=job slot=1-1.1 state=done
sleep 0.5
check "and the bench is still running (watching the ports)" kill -0 "$BENCH_PID"
sim_ctl "plug 1-1.3 recovery ecid 0x0000000000e00003 cpid 0x8010 bdid 0x08" >/dev/null 2>&1
check "it still reports a phone plugged after EOF" wait_event 10 event=device port=1-1.3 ecid=0xe00003
kill -TERM "$BENCH_PID"
wait "$BENCH_PID"
check "SIGTERM ends it, status 0" [ $? -eq 0 ]
check "no error event but usbmuxd's" [ "$(count_events event=error)" -eq "$(count_events event=error "text=~usbmuxd")" ]

# ---- a phone moved to another port -------------------------------------------------
mv "$T/events.jsonl" "$T/events-eof.jsonl"
cat >"$T/move.scenario" <<'SC'
speed 4
hub 1-1 ports 4
plug 1-1.1 recovery ecid 0x0000000000e00011 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x0000000000e00012 cpid 0x8015 bdid 0x06
restore 0x0000000000e00011 fail upload_fs 30 disconnect
SC
bench_start "$T/move.scenario" --ipsw "$IPSW"
wait_event 10 event=device port=1-1.2 >/dev/null
bench_send "flag 1-1.2 charging port corroded"
wait_event 5 event=flag slot=1-1.2 >/dev/null
bench_send "update 1-1.1"
check "the update of 1-1.1 fails, connection lost" \
	wait_event 40 event=job slot=1-1.1 state=failed class=connection-lost
check "advice for its first connection loss, on 1-1.1" \
	wait_event 10 event=advice slot=1-1.1 rule=first-connection-loss
# the technician follows the advice: another port; and moves the flagged phone too
sim_ctl "unplug 1-1.1" >/dev/null 2>&1
sim_ctl "unplug 1-1.2" >/dev/null 2>&1
wait_event 10 event=gone port=1-1.2 >/dev/null
sim_ctl "plug 1-1.3 recovery ecid 0x0000000000e00011 cpid 0x8010 bdid 0x08" >/dev/null 2>&1
sim_ctl "plug 1-1.4 recovery ecid 0x0000000000e00012 cpid 0x8015 bdid 0x06" >/dev/null 2>&1
check "the moved phone is recognised on 1-1.3 by its ECID" \
	wait_event 10 event=device port=1-1.3 ecid=0xe00011 product_type=iPhone9,1
check "its history came with it: the advice is shown on 1-1.3" \
	wait_event 10 event=advice slot=1-1.3 rule=first-connection-loss
check "the flagged phone is recognised on 1-1.4" wait_event 10 event=device port=1-1.4 ecid=0xe00012
bench_send "unflag 1-1.3"
check "the other phone was never flagged (unflag 1-1.3 is refused)" \
	wait_event 5 event=error "text=~1-1.3: not flagged"
bench_send "unflag 1-1.4"
sleep 1
bench_stop
check "the flag came with the phone to 1-1.4 (unflag 1-1.4 is not refused)" \
	[ "$(count_events event=error "text=~1-1.4: not flagged")" -eq 0 ]
check "the flagged phone never got a job" [ "$(count_events event=job ecid=0xe00012)" -eq 0 ]
done_testing
