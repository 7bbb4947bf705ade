#!/usr/bin/env bash
# Chaos soak: tests/soak/run.sh [-b BUILD] [-r ROUNDS] SEED...
# Each seed: gen.py makes a bench (20-40 phones, several hubs and buses) and a
# timed script of commands and plug moves; soak.py runs the real idevicebench
# --json under benchsim, plays it and checks the invariants (see soak.py).
# Prints one line per seed and the totals; exits 1 when any seed failed.
# A failed seed's directory is kept (its path is printed); KEEP_TMP=1 keeps all.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=build
ROUNDS=4
while getopts b:r: o; do
	case $o in
	b) BUILD=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	*) echo "usage: $0 [-b BUILD] [-r ROUNDS] SEED..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-b BUILD] [-r ROUNDS] SEED..." >&2; exit 2; }
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
BIN=$BUILD/idevicebench
[ -x "$BIN" ] || { echo "soak: $BIN not built (make all)" >&2; exit 2; }
[ -x "$TOP/tests/benchsim/benchsim" ] || { echo "soak: benchsim not built (make all)" >&2; exit 2; }
export LC_ALL=C.UTF-8

bad=0
summaries=()
sumdir=$(mktemp -d "${TMPDIR:-/tmp}/idb-soak-sum.XXXXXX")
trap 'rm -rf "$sumdir"' EXIT
for seed in "$@"; do
	d=$(mktemp -d "${TMPDIR:-/tmp}/idb-soak-$seed.XXXXXX")
	python3 "$TOP/tests/soak/gen.py" --rounds "$ROUNDS" "$seed" "$d" &&
		python3 "$TOP/tests/data/mkipsw.py" --any-board "$d/fw.ipsw" || { echo "seed $seed: generator failed"; bad=1; continue; }
	python3 "$TOP/tests/soak/soak.py" "$BIN" "$d" >"$d/soak.out" 2>&1
	rc=$?
	s=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("jobs %d ran %d finals %s max-gap %.1fs (bound %.0fs) longest %.1fs drain %.1fs fds %s rss %s KiB lost-track %d run %.0fs" % (
    s["jobs"], s["ran"], ",".join("%s=%d" % kv for kv in sorted(s["finals"].items())),
    s["max_gap"], s["bound"], s["max_job_secs"], s["drain_secs"],
    "/".join(str(x) for x in s["fds"]), "/".join(str(x) for x in s["rss_kb"]), s["lost_track"], s["run_secs"]))
' "$d/summary.json" 2>/dev/null) || s="no summary"
	cp "$d/summary.json" "$sumdir/$seed.json" 2>/dev/null && summaries+=("$sumdir/$seed.json")
	if [ $rc -eq 0 ]; then
		echo "seed $seed: ok: $s"
		[ -n "${KEEP_TMP:-}" ] || rm -rf "$d"
	else
		bad=1
		echo "seed $seed: FAILED: $s"
		sed 's/^/    /' "$d/soak.out"
		echo "    state kept in $d; again: tests/soak/run.sh -r $ROUNDS $seed"
	fi
done
python3 - "${summaries[@]}" <<'EOF'
import json, sys
tot = {"jobs": 0, "ran": 0, "finals": {}, "classes": {}, "gap": 0.0, "longest": 0.0, "lost": 0, "after": {}}
n = 0
for p in sys.argv[1:]:
    try:
        s = json.load(open(p))
    except (OSError, ValueError):
        continue
    n += 1
    tot["jobs"] += s["jobs"]
    tot["ran"] += s["ran"]
    for k, v in s["finals"].items():
        tot["finals"][k] = tot["finals"].get(k, 0) + v
    for k, v in s["failed_classes"].items():
        tot["classes"][k] = tot["classes"].get(k, 0) + v
    tot["gap"] = max(tot["gap"], s["max_gap"])
    tot["longest"] = max(tot["longest"], s["max_job_secs"])
    tot["lost"] += s["lost_track"]
    for k, v in s.get("final_after", {}).items():
        tot["after"][k] = max(tot["after"].get(k, 0.0), v)
print("total: %d seeds, %d jobs (%d ran), finals %s; failed by class %s; max gap to the next event %.1fs, longest job %.1fs, lost-track lines %d" % (
    n, tot["jobs"], tot["ran"], ",".join("%s=%d" % kv for kv in sorted(tot["finals"].items())),
    ",".join("%s=%d" % kv for kv in sorted(tot["classes"].items())), tot["gap"], tot["longest"], tot["lost"]))
print("slowest end after the job's previous event, by outcome: %s" % ", ".join(
    "%s %.1fs" % kv for kv in sorted(tot["after"].items())))
EOF
exit $bad
