#!/usr/bin/env bash
# Hostile input (issue #8): phones whose USB serial strings carry terminal escapes, 255
# bytes of junk, numbers overflowing their types (tests/data/fault/hostile.py), under
# the real bench in JSON mode: nothing unescaped reaches stdout, nothing is misread,
# the bench goes on. Files the bench writes get 0600/0700 whatever the umask; a config
# file writable by others is refused when running as root.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
. "$IDB_TOP/tests/data/fault/faultlib.sh"
fault_ipsw
fault_conf
python3 "$F/hostile.py" "$T/hostile.scenario"

umask 022	# a careless umask: the bench must not rely on it
fault_start "$T/hostile.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh"
check "the valid phones with escapes in SRNM are recognised" \
	bash -c "$(declare -f wait_count ev_count _ev_filter); T='$T'; wait_count 15 1 event=device port=1-1.1 ecid=0xf0001 && wait_count 15 1 event=device port=1-1.6 ecid=0xf0006"
# every other hostile phone has shown up as a device event or an unreadable-serial error
sleep 1
check "the bench still answers commands" alive
check "every event is clean JSON: no control, C1 or bidi character anywhere" events_clean
check "junk serial: reported unreadable, shown escaped" ev_wait 5 event=error "text~1-1.2: unreadable device serial"
check "overflowing numbers: not read as a (wrapped) ECID" \
	[ "$(_ev_filter event=device port=1-1.3 | grep -vc '"ecid":null')" -eq 0 ]
check "escapes in place of the ECID: not read as an ECID" \
	[ "$(_ev_filter event=device port=1-1.4 | grep -vc '"ecid":null')" -eq 0 ]
check "negative numbers: not read as an ECID" \
	[ "$(_ev_filter event=device port=1-1.7 | grep -vc '"ecid":null')" -eq 0 ]
check "a UDID with escapes: shown escaped" \
	bash -c "! grep -F '\"port\":\"1-1.5\"' '$T/events.jsonl' | grep -q 'u001b\|u0007'"
for p in 2 3 4 7; do bench_send "update 1-1.$p"; done
check "no restore starts on a phone without a readable ECID" \
	wait_count 10 4 event=error "text~device not identified yet"
sleep 0.5
check "... none at all" [ "$(ev_count event=job)" -eq 0 ]
bench_send "update 1-1.1"
check "the phone with escapes in SRNM restores" ev_wait 15 event=job slot=1-1.1 state=done
check "its restore program got the parsed ECID, nothing of the serial" \
	bash -c "grep -qx 0xf0001 '$FAULT_OUT/argv-0xf0001' && ! grep -q pwned '$FAULT_OUT/argv-0xf0001'"
bench_stop
check "exits 0 on quit" [ "$BENCH_RC" -eq 0 ]
check "still clean after the restore" events_clean

# --- permissions of what the bench writes, umask 022 notwithstanding
perm() { stat -c %a "$1"; }
check "log directory is 0700" [ "$(perm "$T/logs")" = 700 ]
check "per-ECID log directory is 0700" [ "$(perm "$T/logs/00000000000F0001")" = 700 ]
check "work directory is 0700" [ "$(perm "$T/logs/work")" = 700 ]
check "restore log is 0600" bash -c "[ \"\$(stat -c %a '$T'/logs/00000000000F0001/*.log)\" = 600 ]"
check "bench log is 0600" [ "$(perm "$T/logs/idevicebench.log")" = 600 ]
check "lock file is 0600" [ "$(perm "$T/logs/bench.lock")" = 600 ]
check "history database is 0600" [ "$(perm "$T/history.db")" = 600 ]
check "its WAL and shared-memory files too (when present)" \
	bash -c "for f in '$T'/history.db-wal '$T'/history.db-shm; do [ ! -e \"\$f\" ] || [ \"\$(stat -c %a \"\$f\")\" = 600 ] || exit 1; done"
check "a database directory it creates is 0700" bash -c "
	'$IDEVICEBENCH' --json --log-dir '$T/logs2' --db '$T/newdir/h.db' -c '$T/bench.conf' </dev/null >/dev/null 2>&1 &
	p=\$!; for i in \$(seq 1 50); do [ -e '$T/newdir/h.db' ] && break; sleep 0.1; done; kill \$p; wait \$p
	[ \"\$(stat -c %a '$T/newdir')\" = 700 ] && [ \"\$(stat -c %a '$T/newdir/h.db')\" = 600 ]"

# --- a config file others may write is refused when running as root
if [ "$(id -u)" -eq 0 ]; then
	cp "$T/bench.conf" "$T/open.conf"
	chmod 0666 "$T/open.conf"
	"$IDEVICEBENCH" -n -c "$T/open.conf" >"$T/n.out" 2>&1
	rc=$?
	check "world-writable config: refused with status 2" [ $rc -eq 2 ]
	check "world-writable config: the message says why" grep -q "writable by others" "$T/n.out"
	chmod 0644 "$T/open.conf"
	check "the same file, not writable by others: accepted" "$IDEVICEBENCH" -n -c "$T/open.conf"
	chgrp 65534 "$T/open.conf" && chmod 0664 "$T/open.conf"
	"$IDEVICEBENCH" -n -c "$T/open.conf" >"$T/n.out" 2>&1
	rc=$?
	check "config writable by a group other than root's: refused with status 2" [ $rc -eq 2 ]
	chgrp 0 "$T/open.conf"
	check "group-writable by root's group: accepted" "$IDEVICEBENCH" -n -c "$T/open.conf"
else
	ok "config permissions # SKIP not root"
fi
done_testing
