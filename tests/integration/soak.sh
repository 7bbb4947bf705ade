#!/usr/bin/env bash
# Chaos soak in CI (issue 14): three fixed seeds of tests/soak against the real
# binary under benchsim, each a bench of 20-40 phones with every outcome, yanks,
# moves, cancels, second updates and SIGHUPs; every invariant must hold. First,
# the checker is shown to catch a broken bench (tests/soak/stuckbench.py).
# More seeds: make soak SEEDS=N.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
command -v sqlite3 >/dev/null || python3 -c 'import sqlite3' || skip_all "no sqlite3 module"
SOAK="$IDB_TOP/tests/soak"
export TMPDIR="$T"

# the checker fails a bench that loses a job, leaves a row open, leaks fds and logs "lost track"
d="$T/broken"
mkdir -p "$d"
python3 "$SOAK/gen.py" --rounds 1 7 "$d"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$d/fw.ipsw"
SOAK_GRACE=1 python3 "$SOAK/soak.py" "$SOAK/stuckbench.py" "$d" >"$d/out" 2>&1
rc=$?
check "checker: a broken bench fails the soak" [ "$rc" -eq 1 ]
check "checker: the job left running is named, with its slot's history" \
	grep -q 'job (ran) never reached a final state' "$d/out"
check "checker: the open attempt row is found" grep -q 'attempt row(s) left open after quit' "$d/out"
check "checker: the growing fd count is found" grep -q 'open fds grew' "$d/out"
check "checker: a 'lost track' line in idevicebench.log is a failure" grep -q 'idevicebench.log: lost track' "$d/out"
[ "$_tap_fail" -eq 0 ] || diag "$d/out"

# the same seed makes the same bench
a="$T/gen-a" b="$T/gen-b"
mkdir -p "$a" "$b"
python3 "$SOAK/gen.py" 3 "$a" && python3 "$SOAK/gen.py" 3 "$b"
check "generator: deterministic per seed" \
	bash -c "cmp -s '$a/soak.scenario' '$b/soak.scenario' && cmp -s '$a/script.txt' '$b/script.txt' && cmp -s '$a/soak.conf' '$b/soak.conf'"
python3 "$SOAK/gen.py" 4 "$b"
check "generator: another seed, another bench" bash -c "! cmp -s '$a/script.txt' '$b/script.txt'"
check "generator: 20-40 phones on 3 or more hubs over 2 or more buses" python3 - "$a/soak.scenario" <<'PY'
import sys
hubs = [l.split()[1] for l in open(sys.argv[1]) if l.startswith("hub ")]
plugs = [l for l in open(sys.argv[1]) if l.startswith("plug ")]
sys.exit(not (20 <= len(plugs) <= 40 and len(hubs) >= 3 and len({h.split("-")[0] for h in hubs}) >= 2))
PY

# three seeds, three rounds each, against the real bench
# (a sanitizer build's RSS is its allocator's quarantine: only the fds are compared)
[ -n "${IDB_SANITIZED:-}" ] && export SOAK_RSS=0
for seed in 101 102 103; do
	"$SOAK/run.sh" -b "$IDB_BUILD" -r 3 "$seed" >"$T/seed-$seed.out" 2>&1
	rc=$?
	check "soak seed $seed: every invariant holds ($(sed -n 's/^seed [0-9]*: //p' "$T/seed-$seed.out" | cut -c1-150))" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || diag "$T/seed-$seed.out"
done
done_testing
