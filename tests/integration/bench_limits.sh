#!/usr/bin/env bash
# Limits under load: 24 restores queued at once on three root ports with max_jobs 10 and
# max_jobs_per_root 2: neither limit is ever exceeded, all 24 finish, queue order is kept.
# A queued job whose phone is unplugged before its turn is dropped, and the queue moves on.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
S="$IDB_TOP/tests/data/scenarios"
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$IPSW"

bench_start "$S/limits24.scenario" -c "$S/limits.conf" --ipsw "$IPSW"
for i in $(seq 1 100); do
	[ "$(count_events event=device mode=recovery)" -ge 24 ] && break
	sleep 0.2
done
check "24 phones arrived" [ "$(count_events event=device mode=recovery)" -ge 24 ]
for h in 1 2 3; do
	for p in 1 2 3 4 5 6 7 8; do
		bench_send "update 1-$h.$p"
	done
done
for i in $(seq 1 900); do
	[ "$(count_events event=job state=done)" -ge 24 ] && break
	sleep 0.2
done
check "all 24 restores done" [ "$(count_events event=job state=done)" -eq 24 ]
bench_stop

python3 - "$T/events.jsonl" >"$T/check.out" 2>&1 <<'PY'
import json, sys
HEAVY = {"detect", "prepare", "upload_fs"}
state = {}
max_run = max_root = 0
order = []
fails = []
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] != "job":
        continue
    s = e["slot"]
    if e["state"] == "running" and state.get(s, (None,))[0] != "running":
        order.append(s)
    state[s] = (e["state"], e.get("step"))
    running = [k for k, v in state.items() if v[0] == "running"]
    max_run = max(max_run, len(running))
    for root in ("1-1", "1-2", "1-3"):
        heavy = [k for k in running if k.startswith(root + ".") and state[k][1] in HEAVY]
        if len(heavy) > 2:
            fails.append("root %s had %d jobs in heavy steps: %s" % (root, len(heavy), heavy))
        max_root = max(max_root, len(heavy))
if max_run > 10:
    fails.append("max_jobs exceeded: %d running" % max_run)
if max_run < 6:
    fails.append("the limits were never approached (max %d running): the test proves nothing" % max_run)
# per root, start order follows queue order (ports were queued 1..8 on each root)
for root in ("1-1", "1-2", "1-3"):
    mine = [s for s in order if s.startswith(root + ".")]
    if mine != sorted(mine, key=lambda x: int(x.split(".")[1])):
        fails.append("root %s started out of order: %s" % (root, mine))
print("max running %d, max heavy per root %d" % (max_run, max_root))
print("\n".join(fails))
sys.exit(1 if fails else 0)
PY
rc=$?
diag "$T/check.out"
if [ $rc -eq 0 ]; then ok "never more than 10 running nor 2 per root in USB-heavy steps; order kept"; else not_ok "limits"; fi

# ---- a queued phone leaves before its turn ---------------------------------------------
mv "$T/events.jsonl" "$T/events-24.jsonl"
cat >"$T/one.conf" <<'CONF'
[bench]
max_jobs = 1
CONF
cat >"$T/three.scenario" <<'SC'
speed 3
hub 1-1 ports 4
plug 1-1.1 recovery ecid 0x0000000000b00001 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x0000000000b00002 cpid 0x8010 bdid 0x08
plug 1-1.3 recovery ecid 0x0000000000b00003 cpid 0x8010 bdid 0x08
restore 0x0000000000b00001 ok 12
restore 0x0000000000b00003 ok 4
SC
bench_start "$T/three.scenario" -c "$T/one.conf" --ipsw "$IPSW"
wait_event 10 event=device port=1-1.3 >/dev/null
bench_send "update 1-1.1"
bench_send "update 1-1.2"
bench_send "update 1-1.3"
check "max_jobs 1: the second phone waits, first in the queue" \
	wait_event 10 event=job slot=1-1.2 state=queued position=1
wait_event 10 event=job slot=1-1.1 state=running >/dev/null
sim_ctl "unplug 1-1.2" >/dev/null 2>&1
check "its phone unplugged: the queued job is dropped (cancelled), not run" \
	wait_event 10 event=job slot=1-1.2 state=cancelled "message=~left before its turn"
check "the first restore ends done" wait_event 60 event=job slot=1-1.1 state=done
check "the queue moves on to the third phone, which ends done" \
	wait_event 60 event=job slot=1-1.3 state=done
bench_stop
check "the dropped job never ran" [ "$(count_events event=job slot=1-1.2 state=running)" -eq 0 ]
check "history: the two restores are attempts, the dropped job is none (nothing ran)" \
	[ "$(sqlite3 "$T/history.db" "select group_concat((ecid - $((0xb00000))) || ':' || state, ' ') from (select * from attempts where ecid >= $((0xb00000)) order by ecid)")" = "1:done 3:done" ]
done_testing
