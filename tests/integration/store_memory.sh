#!/usr/bin/env bash
# Memory over a long session: one bench process runs several hundred jobs and
# its anonymous memory (RssAnon) must not grow with them. The store used to
# keep every attempt of the session and, at every job end, allocate 4096 + all
# of them history rows for the port verdicts (the chaos soak's finding 2):
# about 4.4 KiB more per job, with a step of several MB once glibc moved those
# blocks to its heap. Measured from the bench's /proc after a warm-up.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
[ -z "${IDB_SANITIZED:-}" ] || skip_all "RSS under a sanitizer is its quarantine"
ROUNDS=${STORE_MEMORY_ROUNDS:-40}
WARM=4
TOL_KB=${STORE_MEMORY_TOL_KB:-1536}	# growth allowed after the warm-up, in KiB
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" "$IPSW"
cat >"$T/bench.conf" <<'CONF'
[bench]
max_jobs = 12
max_jobs_per_root = 12
stall_timeout = 10
reconnect_window = 2
CONF
ports=""
{
	echo "speed 10"
	echo "hub 1-1 ports 6"
	echo "hub 1-2 ports 6"
	for h in 1 2; do
		for p in 1 2 3 4 5 6; do
			e=$(printf '0x0000000000d1%02x%02x' $h $p)
			echo "plug 1-$h.$p recovery ecid $e cpid 0x8010 bdid 0x08"
			echo "restore $e fail prepare 0 tss"
			ports="$ports 1-$h.$p"
		done
	done
} >"$T/mem.scenario"

bench_start "$T/mem.scenario" -c "$T/bench.conf" --ipsw "$IPSW"
wait_event 20 event=device port=1-2.6 >/dev/null || { not_ok "the phones arrived"; done_testing; exit; }
bpid=""
for i in $(seq 1 50); do
	bpid=$(cat /proc/"$BENCH_PID"/task/*/children 2>/dev/null | awk '{print $1; exit}')
	[ -n "$bpid" ] && break
	sleep 0.1
done
rss_anon() { awk '/^RssAnon:/ {print $2}' /proc/"$bpid"/status 2>/dev/null; }

# one round: every phone gets an update, and every job ends (signing refused)
ended=0
round() {
	local i
	for p in $ports; do
		bench_send "update $p"
	done
	ended=$((ended + 12))
	for i in $(seq 1 300); do
		[ "$(count_events event=job state=failed class=signing)" -ge "$ended" ] && return 0
		sleep 0.2
	done
	return 1
}
ok_rounds=1
for r in $(seq 1 "$ROUNDS"); do
	round || { ok_rounds=0; echo "# round $r: not every job ended"; break; }
	[ "$r" -eq "$WARM" ] && warm=$(rss_anon)
done
last=$(rss_anon)
check "$((ROUNDS * 12)) jobs ran and ended in one process" [ "$ok_rounds" = 1 ]
echo "# RssAnon: ${warm:-?} KiB after $((WARM * 12)) jobs, ${last:-?} KiB after $ended jobs"
grew_little() { [ -n "${warm:-}" ] && [ -n "${last:-}" ] && [ $((last - warm)) -le "$TOL_KB" ]; }
check "RssAnon grows by at most $TOL_KB KiB over $((ended - WARM * 12)) more jobs" grew_little
check "every job is in the history, each row closed" \
	[ "$(sqlite3 "$T/history.db" "SELECT count(*) FROM attempts WHERE ended IS NOT NULL")" -eq "$ended" ]
bench_stop
check "the bench exits 0" [ "$BENCH_RC" = 0 ]
done_testing
