#!/usr/bin/env bash
# The firmware library on a mixed bench: the real idevicebench under benchsim, phones of
# four models, a library of IPSWs for three of them (plus an older build, a pinned build,
# a truncated file and a hostile name). Each phone is restored with the IPSW built for its
# chip and board (the child's argv and the per-attempt log header say which); the phone
# with no firmware fails at once with class ipsw, naming its model, and runs nothing.
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

L="$T/library"
mkdir -p "$L"
mk_ipsw "$L/iPhone_7_15.8.3.ipsw" iPhone9,1 0x8010 0x08 15.8.3 19H386 --also-product iPhone9,3
mk_ipsw "$L/iPhone_7_15.8.2.ipsw" iPhone9,1 0x8010 0x08 15.8.2 19H384 --also-product iPhone9,3
# iPhone9,3 (0x8010/0x0c) shares the 15.8.x files' product list but not their chip/board
mk_ipsw "$L/iPhone9,3 15.8.2 (pinned).ipsw" iPhone9,3 0x8010 0x0c 15.8.2 19H384
mk_ipsw "$L/iPhone9,3_15.8.3.ipsw" iPhone9,3 0x8010 0x0c 15.8.3 19H386
mk_ipsw "$L/iPhone_8_16.7.10.ipsw" iPhone10,1 0x8015 0x02 16.7.10 20H350
mk_ipsw "$T/x.ipsw" iPhone10,6 0x8015 0x0e 16.7.10 20H350
mkdir "$L/iPhone_X_16.7.10_extracted"
(cd "$L/iPhone_X_16.7.10_extracted" && unzip -q "$T/x.ipsw")
head -c 3000 "$L/iPhone_8_16.7.10.ipsw" >"$L/truncated.ipsw"
cp "$L/iPhone_8_16.7.10.ipsw" "$L/evil
name.ipsw"

cat >"$T/bench.conf" <<CONF
[bench]
max_jobs = 8
stall_timeout = 20
[firmware]
dir = $L
[pin]
iPhone9,3 = 15.8.2
CONF
cat >"$T/mixed.scenario" <<'SCEN'
hub 1-1 ports 6
dialect 1.0.0
plug 1-1.1 recovery ecid 0xf10001 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0xf10002 cpid 0x8015 bdid 0x02
plug 1-1.3 dfu ecid 0xf10003 cpid 0x8015 bdid 0x0e
plug 1-1.4 recovery ecid 0xf10004 cpid 0x8030 bdid 0x04
plug 1-1.5 recovery ecid 0xf10005 cpid 0x8010 bdid 0x0c
restore 0xf10001 ok 2
restore 0xf10002 ok 8
restore 0xf10003 ok 2
restore 0xf10004 ok 2
restore 0xf10005 ok 2
SCEN

# the library as the command line sees it
"$IDEVICEBENCH" -c "$T/bench.conf" firmware --json >"$T/lib.jsonl" 2>"$T/lib.err"
check "firmware --json lists the 8 entries" [ "$(wc -l <"$T/lib.jsonl")" -eq 8 ]
check "the truncated file is unusable, with a reason" python3 - "$T/lib.jsonl" <<'PY'
import json, sys
e = {j["name"]: j for j in map(json.loads, open(sys.argv[1]))}
t = e["truncated.ipsw"]
assert t["usable"] is False and t["reason"], t
PY
check "the name with a newline is listed sanitized and unusable" python3 - "$T/lib.jsonl" <<'PY'
import json, sys
e = [j for j in map(json.loads, open(sys.argv[1])) if j["name"].startswith("evil")]
assert len(e) == 1 and "\n" not in e[0]["name"] and e[0]["usable"] is False, e
PY
check "the extracted folder is a usable build for 0x8015/0x0e" python3 - "$T/lib.jsonl" <<'PY'
import json, sys
e = {j["name"]: j for j in map(json.loads, open(sys.argv[1]))}
x = e["iPhone_X_16.7.10_extracted"]
assert x["usable"] and x["folder"] and {"cpid": "0x8015", "bdid": "0x0e"} in x["ids"], x
PY
"$IDEVICEBENCH" -c "$T/bench.conf" firmware >"$T/lib.txt"
check "the table shows versions and the unusable reason" \
	bash -c "grep -q '^15.8.3 *19H386' '$T/lib.txt' && grep -q 'truncated.ipsw: unusable' '$T/lib.txt'"
check "no control character reaches the table" bash -c "! grep -qP '[\x00-\x08\x0b-\x1f]' '$T/lib.txt'"

bench_start "$T/mixed.scenario" -c "$T/bench.conf"
wait_event 20 event=device port=1-1.5 >/dev/null || not_ok "devices arrived"
sleep 1.5	# the first scan of the library runs off the loop
for p in 1-1.1 1-1.2 1-1.3 1-1.4 1-1.5; do bench_send "update $p"; done
wait_event 20 event=job slot=1-1.2 state=running >/dev/null
sleep 1
pid=$(python3 -c '
import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e.get("event")=="job" and e.get("slot")=="1-1.2" and e.get("pid"): print(e["pid"]); break
' "$T/events.jsonl")
argv=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | tail -1)
check "the iPhone 8's child got its IPSW as the last argument" [ "$argv" = "$L/iPhone_8_16.7.10.ipsw" ]
check "iPhone 7 restored" wait_event 30 event=job slot=1-1.1 state=done 'firmware=15.8.3 (19H386)'
check "iPhone 8 restored" wait_event 30 event=job slot=1-1.2 state=done 'firmware=16.7.10 (20H350)'
check "iPhone X (DFU) restored" wait_event 30 event=job slot=1-1.3 state=done 'firmware=16.7.10 (20H350)'
check "iPhone9,3 restored with its pinned build" wait_event 30 event=job slot=1-1.5 state=done 'firmware=15.8.2 (19H384)'
check "iPhone 11 (no firmware) failed at once, class ipsw" \
	wait_event 10 event=job slot=1-1.4 state=failed class=ipsw
check "its message names the model, chip and board" python3 - "$T/events.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "job" and e.get("slot") == "1-1.4" and e.get("state") == "failed":
        assert "no firmware for iPhone12,1 (CPID 0x8030 BDID 0x04)" in e["message"], e
        break
else:
    raise SystemExit(1)
PY
check "no restore program ran for it" python3 - "$T/events.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "job" and e.get("slot") == "1-1.4":
        assert e["state"] in ("failed",) and not e.get("pid") and e["state"] != "running", e
PY
# which IPSW each child got: the first line of its per-attempt log
logof() {
	python3 - "$T/events.jsonl" "$1" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "job" and e.get("slot") == sys.argv[2] and e.get("log"):
        print(e["log"])
PY
}
hdr_has() { head -1 "$(logof "$1" | tail -1)" | grep -qF -- "$2"; }
check "1-1.1 ran with the newest iPhone 7 IPSW" hdr_has 1-1.1 "ipsw $L/iPhone_7_15.8.3.ipsw sha1"
check "1-1.2 ran with the iPhone 8 IPSW" hdr_has 1-1.2 "ipsw $L/iPhone_8_16.7.10.ipsw sha1"
check "1-1.3 ran with the extracted iPhone X folder" hdr_has 1-1.3 "ipsw $L/iPhone_X_16.7.10_extracted sha1"
check "1-1.5 ran with the pinned file (spaces in its name)" hdr_has 1-1.5 "ipsw $L/iPhone9,3 15.8.2 (pinned).ipsw sha1"

check "each library IPSW's filesystem was extracted once into the cache (1.0.0 children)" bash -c "
	[ \$(stat -c %s '$HOME/.cache/idevicebench/iPhone_8_16.7.10/038-00002-001.dmg') -gt 0 ] &&
	[ \$(stat -c %s '$HOME/.cache/idevicebench/iPhone_7_15.8.3/038-00002-001.dmg') -gt 0 ] &&
	[ ! -e '$HOME/.cache/idevicebench/iPhone_7_15.8.2' ]"

# a new file in the folder is picked up without a restart
mk_ipsw "$L/iPhone_11_17.0.ipsw" iPhone12,1 0x8030 0x04 17.0 21A329
sleep 3
bench_send "update 1-1.4"
check "after the rescan the iPhone 11 restores with the new file" \
	wait_event 30 event=job slot=1-1.4 state=done 'firmware=17.0 (21A329)'
bench_stop
check "the bench exits 0" [ "$BENCH_RC" -eq 0 ]

# an IPSW that lies about its models: its manifest names the iPhone 7's chip and board, the
# restore program refuses it. The job fails cleanly (class ipsw), the file is marked suspect
# and the next attempt gets the next best build.
mk_ipsw "$L/liar.ipsw" iPhone9,1 0x8010 0x08 99.0 99Z999
cat >"$T/restore-wrap" <<'SH'
#!/bin/sh
for last; do :; done
case "$last" in
*liar*)	echo "ERROR: Unable to find a matching build identity. Are you sure this firmware is suitable for the current device?"
	exit 255 ;;
esac
exec "$IDEVICEBENCH_RESTORE_CMD" "$@"
SH
chmod +x "$T/restore-wrap"
bench_start "$T/mixed.scenario" -c "$T/bench.conf" --restore-cmd "$T/restore-wrap"
wait_event 20 event=device port=1-1.1 >/dev/null
sleep 1.5
bench_send "update 1-1.1"
check "the lying IPSW is chosen first (newest) and the restore fails, class ipsw" \
	wait_event 20 event=job slot=1-1.1 state=failed class=ipsw 'firmware=99.0 (99Z999)'
sleep 2
bench_send "update 1-1.1"
check "the next attempt gets the newest honest build" \
	wait_event 30 event=job slot=1-1.1 state=done 'firmware=15.8.3 (19H386)'
bench_stop
"$IDEVICEBENCH" -c "$T/bench.conf" firmware --json >"$T/lib2.jsonl"
check "firmware lists the lying file as unusable, suspect" python3 - "$T/lib2.jsonl" <<'PY'
import json, sys
e = {j["name"]: j for j in map(json.loads, open(sys.argv[1]))}
assert e["liar.ipsw"]["usable"] is False and "suspect" in e["liar.ipsw"]["reason"], e["liar.ipsw"]
PY
done_testing
