#!/usr/bin/env bash
# Auto policies (on_dfu = erase, on_recovery = update) start jobs as phones appear, but never for
# a phone that is ignored or flagged (both remembered by ECID across runs), and only once per visit;
# nor for a phone whose history says stop restoring (a device-reported hardware error).
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$IPSW"
cat >"$T/first.scenario" <<'SC'
hub 1-1 ports 4
plug 1-1.1 recovery ecid 0x0000000000d00001 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x0000000000d00002 cpid 0x8015 bdid 0x06
SC
cat >"$T/auto.scenario" <<'SC'
speed 4
hub 1-1 ports 5
plug 1-1.1 recovery ecid 0x0000000000d00001 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x0000000000d00002 cpid 0x8015 bdid 0x06
plug 1-1.3 recovery ecid 0x0000000000d00003 cpid 0x8010 bdid 0x0c
plug 1-1.4 dfu ecid 0x0000000000d00004 cpid 0x8015 bdid 0x0e
plug 1-1.5 recovery ecid 0x0000000000d00005 cpid 0x8010 bdid 0x08
restore 0x0000000000d00003 fail upload_fs 20 disconnect
restore 0x0000000000d00004 ok 4
restore 0x0000000000d00005 fail verify_fs 80 status 53
SC
cat >"$T/third.scenario" <<'SC'
speed 4
hub 1-1 ports 5
plug 1-1.4 dfu ecid 0x0000000000d00004 cpid 0x8015 bdid 0x0e
plug 1-1.5 recovery ecid 0x0000000000d00005 cpid 0x8010 bdid 0x08
restore 0x0000000000d00004 ok 4
SC
cat >"$T/auto.conf" <<'CONF'
[bench]
on_dfu = erase
on_recovery = update
reconnect_window = 5
CONF

# first visit, no policies: the technician ignores one phone and flags another
bench_start "$T/first.scenario" --ipsw "$IPSW"
wait_event 10 event=device port=1-1.2 >/dev/null
bench_send "ignore 1-1.1"
bench_send "flag 1-1.2 Face ID flex shorted"
check "flag event with the reason" wait_event 5 event=flag slot=1-1.2 "reason=Face ID flex shorted"
bench_send "kick 1-1.1"
check "an ignored phone is not touched (kick refused)" wait_event 5 event=error "text=~ignored"
bench_stop

# second visit with auto policies
bench_start "$T/auto.scenario" -c "$T/auto.conf" --ipsw "$IPSW"
check "DFU phone gets an erase by itself" wait_event 15 event=job slot=1-1.4 action=erase state=running
check "recovery phone gets an update by itself" wait_event 15 event=job slot=1-1.3 action=update state=running
check "the auto erase finishes" wait_event 30 event=job slot=1-1.4 state=done
check "the auto update fails (device lost)" wait_event 30 event=job slot=1-1.3 state=failed class=connection-lost
sim_ctl "plug 1-1.3 recovery ecid 0x0000000000d00003 cpid 0x8010 bdid 0x0c" >/dev/null 2>&1
wait_event 10 event=device port=1-1.3 mode=recovery >/dev/null
sleep 1.5
bench_stop
check "the failed phone coming back in recovery is not restarted automatically (once per visit)" \
	[ "$(count_events event=job slot=1-1.3 state=queued)" -eq 1 ]
check "the ignored phone never got a job" [ "$(count_events event=job slot=1-1.1)" -eq 0 ]
check "the flagged phone never got a job" [ "$(count_events event=job slot=1-1.2)" -eq 0 ]
check "the status-53 phone's auto update failed, device-reported" \
	[ "$(count_events event=job slot=1-1.5 state=failed class=device-reported code=53)" -eq 1 ]

# third visit: the history of the status-53 phone says stop restoring
mv "$T/events.jsonl" "$T/events-2.jsonl"
bench_start "$T/third.scenario" -c "$T/auto.conf" --ipsw "$IPSW"
check "the policy still restores a phone with a clean history" \
	wait_event 15 event=job slot=1-1.4 action=erase state=running
check "the status-53 phone gets hardware advice" wait_event 10 event=advice slot=1-1.5 rule=hardware-code
wait_event 30 event=job slot=1-1.4 state=done >/dev/null
bench_stop
check "... and no restore of its own: its history says stop" [ "$(count_events event=job slot=1-1.5)" -eq 0 ]
done_testing
