#!/usr/bin/env bash
# Downloads on the bench: the real idevicebench under benchsim with `download = yes` and an
# index served by Debian's nginx (rate-limited so a transfer takes seconds). A phone of a
# model the library lacks starts its download on arrival (prefetch); jobs queued meanwhile
# wait as queued/"waiting":"firmware" and start when it is verified; two phones of one
# model cause one download; a model with nothing signed fails at once with class ipsw.
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

W="$T/www"
mkdir -p "$W/fw"
mk_ipsw "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw" iPhone10,6 0x8015 0x0e 16.7.10 20H350 --os-bytes 4000000
mk_ipsw "$W/fw/iPhone9,1_15.8.3_19H386_Restore.ipsw" iPhone9,1 0x8010 0x08 15.8.3 19H386
# the library already holds a newer build for the iPhone X, which the index says is no longer signed
mkdir -p "$T/lib"
mk_ipsw "$T/lib/iPhone10,6_17.0_21A329_Restore.ipsw" iPhone10,6 0x8015 0x0e 17.0 21A329
cp "$T/lib/iPhone10,6_17.0_21A329_Restore.ipsw" "$W/fw/"
NGINX_RATE=1m nginx_start "$W" || { not_ok "nginx started"; done_testing; }
python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone10,6 0x8015 0x0e \
	fw/iPhone10,6_17.0_21A329_Restore.ipsw:17.0:21A329:0 \
	fw/iPhone10,6_16.7.10_20H350_Restore.ipsw:16.7.10:20H350:1
python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone9,1 0x8010 0x08 \
	fw/iPhone9,1_15.8.3_19H386_Restore.ipsw:15.8.3:19H386:0

cat >"$T/bench.conf" <<CONF
[bench]
stall_timeout = 20
[firmware]
dir = $T/lib
download = yes
index = http://127.0.0.1:$NGINX_PORT
CONF
cat >"$T/dl.scenario" <<'SCEN'
hub 1-1 ports 4
dialect 1.0.0
plug 1-1.1 recovery ecid 0xd10001 cpid 0x8015 bdid 0x0e
plug 1-1.2 dfu ecid 0xd10002 cpid 0x8015 bdid 0x0e
plug 1-1.3 recovery ecid 0xd10003 cpid 0x8010 bdid 0x08
plug 1-1.4 recovery ecid 0xd10004 cpid 0x8030 bdid 0x04
restore 0xd10001 ok 2
restore 0xd10002 ok 2
restore 0xd10003 ok 2
restore 0xd10004 ok 2
SCEN

bench_start "$T/dl.scenario" -c "$T/bench.conf"
wait_event 20 event=device port=1-1.4 >/dev/null || not_ok "devices arrived"
check "prefetch: the iPhone X download (of the signed 16.7.10, not the library's unsigned 17.0) starts on arrival, before any command" \
	wait_event 10 event=firmware model=iPhone10,6 state=downloading
bench_send "update 1-1.1"
bench_send "erase 1-1.2"
check "1-1.1 waits queued for its firmware" wait_event 5 event=job slot=1-1.1 state=queued waiting=firmware
check "1-1.2 waits queued for its firmware" wait_event 5 event=job slot=1-1.2 state=queued waiting=firmware
check "progress events carry percent, bytes and total" python3 - "$T/events.jsonl" <<'PY'
import json, sys, time
for _ in range(50):
    ev = [json.loads(l) for l in open(sys.argv[1]) if '"firmware"' in l]
    mid = [e for e in ev if e.get("event") == "firmware" and e["state"] == "downloading" and 0 < e["percent"] < 100]
    if mid:
        e = mid[-1]
        assert e["total"] > 4000000 and 0 < e["bytes"] < e["total"] and "rate" in e, e
        raise SystemExit(0)
    time.sleep(0.2)
raise SystemExit(1)
PY
check "the download is verified and ready" wait_event 30 event=firmware model=iPhone10,6 state=ready
check "1-1.1 then runs and succeeds with it" wait_event 30 event=job slot=1-1.1 state=done 'firmware=16.7.10 (20H350)'
check "1-1.2 (erase) too" wait_event 30 event=job slot=1-1.2 state=done 'firmware=16.7.10 (20H350)'
check "one download for two phones: nginx served the IPSW once" \
	[ "$(grep -c 'GET /fw/iPhone10,6_16.7.10_20H350_Restore.ipsw' "$T/nginx/access.log")" -eq 1 ]
check "the per-attempt log names the downloaded file and its SHA1" python3 - "$T/events.jsonl" "$T/lib" <<'PY'
import hashlib, json, sys
lib = sys.argv[2] + "/iPhone10,6_16.7.10_20H350_Restore.ipsw"
sha = hashlib.sha1(open(lib, "rb").read()).hexdigest()
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event") == "job" and e.get("slot") == "1-1.1" and e.get("log"):
        first = open(e["log"]).readline()
        assert ("ipsw %s sha1 %s" % (lib, sha)) in first, first
        raise SystemExit(0)
raise SystemExit(1)
PY
bench_send "update 1-1.3"
check "iPhone 7: nothing signed in the index -> fails at once, class ipsw" \
	wait_event 10 event=job slot=1-1.3 state=failed class=ipsw
check "...with a message naming the model" \
	wait_event 2 event=job slot=1-1.3 state=failed 'message=~no firmware for iPhone9,1'
bench_send "update 1-1.4"
check "iPhone 11: the index has no such device (404) -> fails, class ipsw" \
	wait_event 10 event=job slot=1-1.4 state=failed class=ipsw
check "no restore program ran for them" bash -c "! grep -q '\"slot\":\"1-1.[34]\".*\"state\":\"running\"' '$T/events.jsonl'"
bench_stop
check "the bench exits 0" [ "$BENCH_RC" -eq 0 ]
"$IDEVICEBENCH" export --db "$T/history.db" --format json >"$T/export.json"
check "export: each attempt's IPSW version, build and SHA1 from the history" \
	python3 - "$T/export.json" "$T/lib/iPhone10,6_16.7.10_20H350_Restore.ipsw" <<'PY'
import hashlib, json, sys
sha = hashlib.sha1(open(sys.argv[2], "rb").read()).hexdigest()
t = {x["ecid"]: x for x in json.load(open(sys.argv[1]))}
for ecid in ("0xd10001", "0xd10002"):
    fw = t[ecid]["firmware"]
    assert len(fw) == 1 and fw[0]["version"] == "16.7.10" and fw[0]["build"] == "20H350" \
        and fw[0]["sha1"] == sha, fw
assert t["0xd10003"]["firmware"] == [], t["0xd10003"]
PY
"$IDEVICEBENCH" export --db "$T/history.db" >"$T/export.csv"
check "export csv: firmware columns" python3 - "$T/export.csv" <<'PY'
import csv, sys
rows = {r["ecid"]: r for r in csv.DictReader(open(sys.argv[1]))}
r = rows["0xd10001"]
assert r["firmware_version"] == "16.7.10" and r["firmware_build"] == "20H350" and len(r["firmware_sha1"]) == 40, r
PY
done_testing
