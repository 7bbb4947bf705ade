#!/usr/bin/env bash
# The IPSW a job restores: none configured fails the job at once, ipsw class,
# with a clear error and no child started; an unreadable path likewise; an
# extracted IPSW directory is a valid IPSW: the restore runs and ends done,
# and the restore program is given the directory.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$IPSW"
cat >"$T/two.scenario" <<'SC'
speed 4
hub 1-1 ports 2
plug 1-1.1 recovery ecid 0x0000000000f10001 cpid 0x8010 bdid 0x08
plug 1-1.2 dfu ecid 0x0000000000f10002 cpid 0x8010 bdid 0x08
restore 0x0000000000f10001 ok 40
restore 0x0000000000f10002 ok 4
SC

# ---- no IPSW ----------------------------------------------------------------------
bench_start "$T/two.scenario"
wait_event 10 event=device port=1-1.2 >/dev/null
bench_send "update 1-1.1"
check "no IPSW: the job fails at once, class ipsw" \
	wait_event 10 event=job slot=1-1.1 action=update state=failed class=ipsw
check "no IPSW: a clear error says how to set one" \
	wait_event 5 event=error "text=~no IPSW configured (--ipsw or ipsw = in the config)"
check "no IPSW: no restore program was started" [ "$(count_events event=job slot=1-1.1 state=running)" -eq 0 ]
bench_send "erase 1-1.2"
check "no IPSW: erase fails the same way" wait_event 10 event=job slot=1-1.2 action=erase state=failed class=ipsw
bench_stop
check "no IPSW: the bench itself ran on and quit cleanly" [ "$BENCH_RC" -eq 0 ]
check "no IPSW: both failures are in the history, class ipsw" \
	[ "$(sqlite3 "$T/history.db" "select count(*) from attempts where class = 'ipsw'")" -eq 2 ]

# ---- an IPSW path that cannot be read -----------------------------------------------
mv "$T/events.jsonl" "$T/events-none.jsonl"
bench_start "$T/two.scenario" --ipsw "$T/no-such.ipsw"
wait_event 10 event=device port=1-1.1 >/dev/null
bench_send "update 1-1.1"
check "unreadable IPSW: the job fails at once, class ipsw" \
	wait_event 10 event=job slot=1-1.1 state=failed class=ipsw
check "unreadable IPSW: the error says so" wait_event 5 event=error "text=~the IPSW cannot be read"
bench_stop

# ---- an extracted IPSW directory -------------------------------------------------------
mv "$T/events.jsonl" "$T/events-bad.jsonl"
mkdir -p "$T/extracted"
python3 -m zipfile -e "$IPSW" "$T/extracted"
bench_start "$T/two.scenario" --ipsw "$T/extracted"
wait_event 10 event=device port=1-1.1 >/dev/null
bench_send "update 1-1.1"
check "extracted directory: the restore runs" wait_event 15 event=job slot=1-1.1 state=running
pid=$(python3 -c '
import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e.get("event")=="job" and e.get("slot")=="1-1.1" and e.get("pid"): print(e["pid"]); break
' "$T/events.jsonl")
argv=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | tail -1)
check "extracted directory: the restore program is given the directory" [ "$argv" = "$T/extracted" ]
check "extracted directory: the restore ends done" wait_event 30 event=job slot=1-1.1 state=done
bench_stop
check "extracted directory: no error event but usbmuxd's" \
	[ "$(count_events event=error)" -eq "$(count_events event=error "text=~usbmuxd")" ]

# ---- one IPSW, phones of other models (DESIGN.md "Firmware library": the [bench] ipsw
# serves every model it supports): an iPhone X next to an iPhone 7 with the iPhone 7's IPSW
mv "$T/events.jsonl" "$T/events-dir.jsonl"
python3 "$IDB_TOP/tests/data/mkipsw.py" "$T/iphone7.ipsw"
cat >"$T/mixed.scenario" <<'SC'
speed 4
hub 1-1 ports 3
plug 1-1.1 recovery ecid 0x0000000000f10001 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x0000000000f10003 cpid 0x8015 bdid 0x06
plug 1-1.3 recovery ecid 0x0000000000f10004 cpid 0x8ff0 bdid 0x3e
restore 0x0000000000f10001 ok 4
restore 0x0000000000f10003 ok 4
restore 0x0000000000f10004 ok 4
SC
bench_start "$T/mixed.scenario" --ipsw "$T/iphone7.ipsw"
wait_event 10 event=device port=1-1.3 >/dev/null
bench_send "update 1-1.2"
check "another model: the iPhone X's job fails at once, class ipsw" \
	wait_event 10 event=job slot=1-1.2 action=update state=failed class=ipsw
check "another model: the message names the model and the IPSW's" \
	bash -c "grep '\"slot\":\"1-1.2\"' '$T/events.jsonl' | grep '\"state\":\"failed\"' | grep -q 'no firmware for iPhone10,3 (CPID 0x8015 BDID 0x06).*iPhone9,1'"
check "another model: no restore program was started for it" [ "$(count_events event=job slot=1-1.2 state=running)" -eq 0 ]
bench_send "update 1-1.1"
check "another model: the iPhone 7 restores with the same IPSW" wait_event 30 event=job slot=1-1.1 state=done
bench_send "update 1-1.3"
check "a chip no model table knows: left to the restore program" wait_event 30 event=job slot=1-1.3 state=done
bench_stop
done_testing
