#!/usr/bin/env bash
# Limits under load: 24 restores queued at once on three root ports with max_jobs 10 and
# max_jobs_per_root 2: neither limit is ever exceeded, all 24 finish, queue order is kept.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
S="$IDB_TOP/tests/data/scenarios"
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" "$IPSW"

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
done_testing
