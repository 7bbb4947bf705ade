#!/usr/bin/env bash
# Run libFuzzer harnesses and summarise them (used by `make fuzz`).
# usage: FUZZ_SECONDS=60 FUZZ_JOBS=1 tests/fuzz/run.sh FUZZ_DIR NAME...
# Each NAME runs FUZZ_DIR/fuzz_NAME with a working corpus in
# FUZZ_DIR/corpus/NAME, seeded from tests/fuzz/seeds/NAME and
# tests/fuzz/regress/NAME (never written to); crashing inputs land in
# FUZZ_DIR/artifacts/NAME/, the log in FUZZ_DIR/logs/NAME.log.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1; shift
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
mkdir -p "$dir/logs"

run_one() {
	local n=$1 corpus="$dir/corpus/$1" art="$dir/artifacts/$1/" dict=()
	mkdir -p "$corpus" "$art" "$top/tests/fuzz/seeds/$n" "$top/tests/fuzz/regress/$n"
	[ -f "$top/tests/fuzz/dict/$n.dict" ] && dict=(-dict="$top/tests/fuzz/dict/$n.dict")
	"$dir/fuzz_$n" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=1024 -artifact_prefix="$art" "${dict[@]}" \
		"$corpus" "$top/tests/fuzz/seeds/$n" "$top/tests/fuzz/regress/$n" \
		>"$dir/logs/$n.log" 2>&1
	echo $? >"$dir/logs/$n.rc"
}

running=0
for n in "$@"; do
	run_one "$n" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

bad=0
printf '%-10s %12s %8s %8s %8s %s\n' harness execs cov ft corpus result
for n in "$@"; do
	log="$dir/logs/$n.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	rc=$(cat "$dir/logs/$n.rc" 2>/dev/null || echo 1)
	if [ "$rc" -eq 0 ]; then
		res=ok
	else
		res="FINDING (see $log, $dir/artifacts/$n/)"
		bad=1
	fi
	printf '%-10s %12s %8s %8s %8s %s\n' "$n" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
		"${corp:-?}" "$res"
done
exit $bad
