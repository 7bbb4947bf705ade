#!/usr/bin/env bash
# Fault injection (issue #8), the log directory: unwritable at start (a clean refusal),
# turned read-only while the bench runs, and a disk that fills up while a child's log is
# written. Restores still end in a true final state, the bench keeps running and says
# what is wrong, the history (kept elsewhere) is complete. Also: usbmuxd absent.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
. "$IDB_TOP/tests/data/fault/faultlib.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount small and read-only file systems"
mkdir -p "$T/probe" && mount -t tmpfs -o size=64k tmpfs "$T/probe" 2>/dev/null || skip_all "cannot mount tmpfs here"
umount "$T/probe"
chattr +i "$T/probe" 2>/dev/null || skip_all "no chattr +i on $T"
chattr -i "$T/probe"
fault_ipsw
fault_conf
mounts=()
tmpfs() { # tmpfs DIR SIZE
	mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" && mounts+=("$1")
}
unmount_all() {
	local m
	chattr -R -i "$T" 2>/dev/null
	for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
	return 0
}
at_exit unmount_all

cat >"$T/logs.scenario" <<'SC'
hub 1-1 ports 4
plug 1-1.1 recovery ecid 0x00000000000fd0a1 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x00000000000fd0a2 cpid 0x8010 bdid 0x08
plug 1-1.3 recovery ecid 0x00000000000fd0f4 cpid 0x8010 bdid 0x08
plug 1-1.4 normal ecid 0x000115480aa2801c cpid 0x8140 bdid 0x0c
SC

# --- unwritable at start: refused with a clear message and status 1, nothing half-started
# (root ignores permissions: an immutable directory is what root cannot write to)
mkdir -p "$T/ro" && chattr +i "$T/ro"
"$IDEVICEBENCH" --json --log-dir "$T/ro/logs" --db "$T/ro.db" -c "$T/bench.conf" </dev/null >"$T/ro.out" 2>"$T/ro.err"
rc=$?
check "unwritable log directory at start: exit status 1" [ $rc -eq 1 ]
check "unwritable log directory at start: the message names the directory" grep -q "$T/ro/logs" "$T/ro.err"
diag "$T/ro.err"

# --- unwritable while running, and usbmuxd absent
fault_start "$T/logs.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh"
wait_count 15 3 event=device mode=recovery
if pgrep -x usbmuxd >/dev/null; then
	ok "usbmuxd absent # SKIP usbmuxd is running on this machine"
else
	check "usbmuxd absent: the bench says so once" ev_wait 10 event=error "text~usbmuxd is not running"
	check "a normal-mode phone is seen" ev_wait 10 event=device port=1-1.4 mode=normal
	bench_send "recovery 1-1.4"
	check "usbmuxd absent: 'recovery' on a normal phone fails with the reason, on that slot" \
		ev_wait 10 event=error "text~1-1.4: recovery: device not reachable through usbmuxd (usbmuxd is not running)"
fi
bench_send "recovery 1-1.1"
check "'recovery' on a phone already in recovery is refused, saying why" \
	ev_wait 10 event=error "text~1-1.1: recovery needs a device in normal mode"
bench_send "update 1-1.1"
check "usbmuxd absent: a recovery-mode restore still succeeds" ev_wait 15 event=job slot=1-1.1 state=done
chattr -R +i "$T/logs"
bench_send "update 1-1.1"
check "log dir unwritable: a restore still ends done (its log cannot be written)" \
	wait_count 15 2 event=job slot=1-1.1 state=done
check "log dir unwritable: the bench says the log cannot be written" \
	ev_wait 10 event=error "text~log of 1-1.1" "text~Operation not permitted"
bench_send "update 1-1.2"
check "log dir unwritable: a first restore of another phone ends in a final state" ended 1-1.2 15
check "log dir unwritable: ... and it is done" ev_wait 1 event=job slot=1-1.2 state=done
check "log dir unwritable: the bench says where the restore ran instead" \
	ev_wait 5 event=error "text~1-1.2: cannot create" "text~the restore runs in"
check "log dir unwritable: the bench still answers commands" alive
chattr -R -i "$T/logs"
bench_send "update 1-1.2"
check "log dir writable again: logs are written again" wait_count 15 2 event=job slot=1-1.2 state=done
check "log dir writable again: the new log exists" bash -c "ls '$T'/logs/00000000000FD0A2/*.log >/dev/null 2>&1"

# --- disk full while a child's log is written (the phone's log directory is a 1 MiB
# file system, its restore program prints a 10 MiB line)
tmpfs "$T/logs/00000000000FD0F4" 1m
bench_send "update 1-1.3"
check "disk full: the restore still ends in a final state" ended 1-1.3 30
check "disk full: ... done, as the program exited 0" ev_wait 1 event=job slot=1-1.3 state=done
check "disk full: reported once as a log problem" ev_wait 5 event=error "text~log of 1-1.3" "text~No space left"
check "disk full: reported only once" [ "$(ev_count event=error "text~log of 1-1.3")" -eq 1 ]
check "disk full: the bench still answers commands" alive
rm -f "$T"/logs/00000000000FD0F4/*.log
bench_send "update 1-1.1"
check "disk freed: the next restore runs" wait_count 15 3 event=job slot=1-1.1 state=done
bench_stop
check "exits 0 on quit" [ "$BENCH_RC" -eq 0 ]
check "every event is clean JSON" events_clean
check "history complete: 6 attempts, all closed in a final state" history_complete "$T/history.db" 6
done_testing
