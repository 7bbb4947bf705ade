#!/usr/bin/env bash
# attach_serve.sh: `idevicebench serve` under benchsim and JSON-lines clients
# on its control socket (`attach --json` and raw sockets): the snapshot on
# connect, a client killed mid-restore, a later client that sees the running
# job and its end, permissions, a slow client dropped without harm to the
# others, overlong lines, attach/detach cycles without leaks, a live socket
# never stolen, a stale one replaced, and `quit`.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
CLIENT="$IDB_TOP/tests/benchclient.py"
SOCK_PATH=$T/run/bench.sock
LOG=$T/logs/idevicebench.log

cat >"$T/a.conf" <<EOF2
[bench]
ipsw = $T/test.ipsw
[slots]
A1 = 1-1.1
A2 = 1-1.2
A3 = 1-1.3
EOF2
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$T/test.ipsw"
sed 's/^\[bench\]$/[bench]\ngroup = users/' "$T/a.conf" >"$T/g.conf"

serve() {
	"$BENCHSIM" --log "$T/sim$1.log" --ctl "$T/ctl$1.sock" tests/data/scenarios/attach.scenario -- \
		"$IDEVICEBENCH" serve -c "$T/${3:-a}.conf" --log-dir "$T/logs$2" --db "$T/history$2.db" --socket "$SOCK_PATH" \
		>"$T/serve$1.out" 2>"$T/serve$1.err" &
}
wait_sock() {
	local i
	for i in $(seq 1 100); do
		python3 "$CLIENT" "$SOCK_PATH" probe >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# attach_json NAME: a JSON client (the real `attach --json`) reading commands from $T/NAME.fifo
attach_json() {
	rm -f "$T/$1.fifo"
	mkfifo "$T/$1.fifo"
	"$IDEVICEBENCH" attach --json --socket "$SOCK_PATH" <"$T/$1.fifo" >"$T/$1.jsonl" 2>"$T/$1.err" &
	eval "${1}_PID=$!"
	eval "exec {${1}_FD}>\"$T/$1.fifo\""
}
ev() { python3 "$JSONWAIT" "$T/$1.jsonl" "${@:2}"; }

cd "$IDB_TOP"
serve 1 ""
SIM_PID=$!
at_exit 'kill -TERM $SIM_PID; pkill -KILL -f "[i]devicebench serve -c $T/"'
check "serve listens on the socket" wait_sock
SERVE_PID=$(child_of "$SIM_PID" idevicebench)
check "the serve process is found" test -n "$SERVE_PID"
check "the socket is mode 0600 (no group configured)" test "$(stat -c %a "$SOCK_PATH")" = 600
check "its directory was made 0700" test "$(stat -c %a "$T/run")" = 700

# a first client starts a restore and is killed in the middle of it
attach_json one
check "the first client gets the snapshot: the bench first" ev one 5 event=bench clients=1
check "then the slots" ev one 5 event=slot slot=A1 port=1-1.1
check "and the devices" ev one 5 event=device slot=A1 mode=recovery ecid=0xe0000001
echo "update A1" >&"$one_FD"
echo "update A2" >&"$one_FD"
check "its restore runs" ev one 10 event=job slot=A1 state=running
check "its second restore runs" ev one 10 event=job slot=A2 state=running
kill -KILL "$one_PID"
wait "$one_PID" 2>/dev/null

# a second client, later: sees the running job at once, then its end
attach_json two
check "a new client sees the running job within a second" ev two 1 event=job slot=A1 state=running
check "and the other one" ev two 1 event=job slot=A2 state=running
check "the snapshot says how many clients are attached" ev two 1 event=bench clients=1
check "then the end of the first client's restore" ev two 20 event=job slot=A1 state=done
check "the killed client did not stop the restore" test "$(python3 "$JSONWAIT" --count "$T/two.jsonl" event=job slot=A1 state=cancelled)" = 0

# a third client: counts go round, commands from any client act for all
attach_json three
check "the others learn of the third client" ev two 5 event=bench clients=2
echo "flag A3 cracked screen" >&"$three_FD"
check "a flag set by one client reaches another" ev two 5 event=flag slot=A3 "reason=cracked screen"
echo "frobnicate A1" >&"$three_FD"
check "a bad command gets an error event in that client" ev three 5 event=error "text=~frobnicate"
check "and not in the others" test "$(python3 "$JSONWAIT" --count "$T/two.jsonl" event=error "text=~frobnicate")" = 0

# overlong lines: an error event, the line is discarded, the connection lives on
python3 "$CLIENT" "$SOCK_PATH" longline 100000 >"$T/long.out" 2>&1
check "an overlong line gets an error event" grep -q "command line too long" "$T/long.out"
check "and the next line is read as a command" grep -q "bogus" "$T/long.out"

# a client that never reads, flooding commands: dropped, the others keep getting events
python3 "$CLIENT" "$SOCK_PATH" flood 60 >"$T/flood.out" 2>&1 &
FLOOD=$!
echo "unflag A3" >&"$three_FD"
echo "flag A3 second flag" >&"$three_FD"
check "the others keep getting events while it floods" ev two 10 event=flag slot=A3 "reason=second flag"
wait "$FLOOD"
check "the client that never reads is dropped" grep -q dropped "$T/flood.out"
check "the log says why" grep -q "not reading: its buffer is full" "$LOG"
echo "flag A1 after the flood" >&"$three_FD"
check "the others still get events after the drop" ev two 5 event=flag slot=A1 "reason=after the flood"
check "the bench still runs" kill -0 "$SERVE_PID"

# permissions: a user who is not root, not the bench's user and not in its group
chmod 711 "$T"
chmod 755 "$T/run"
# a python another user may run (not one under root's home), and the client where it can read it
SYSPY=/usr/bin/python3
mkdir -p "$T/pub"
cp "$CLIENT" "$T/pub/client.py"
chmod 755 "$T/pub"
chmod 644 "$T/pub/client.py"
setpriv --reuid=65534 --regid=65534 --clear-groups $SYSPY "$T/pub/client.py" "$SOCK_PATH" probe >"$T/perm.out" 2>&1
check "another user cannot connect (socket mode 0600)" grep -q EACCES "$T/perm.out"
if setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override --ambient-caps=+dac_override \
	true 2>/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override --ambient-caps=+dac_override \
		$SYSPY "$T/pub/client.py" "$SOCK_PATH" probe >"$T/perm2.out" 2>&1
	check "past the file mode, SO_PEERCRED refuses it" grep -q "permission denied" "$T/perm2.out"
	check "and the log records the refusal" grep -q "refused pid .* uid 65534" "$LOG"
else
	ok "# SKIP no ambient capabilities here"
	ok "# SKIP no ambient capabilities here"
fi
chmod 700 "$T"

# 50 attach/detach cycles: no fd or memory growth in the bench
fds() { ls "/proc/$SERVE_PID/fd" | wc -l; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
python3 "$CLIENT" "$SOCK_PATH" cycles 5 >/dev/null
sleep 0.5
FD0=$(fds)
RSS0=$(rss)
check "50 attach/detach cycles" python3 "$CLIENT" "$SOCK_PATH" cycles 50
sleep 0.5
FD1=$(fds)
RSS1=$(rss)
echo "# fds $FD0 -> $FD1, rss ${RSS0}k -> ${RSS1}k"
check "no fd is left behind" test "$FD1" -le "$FD0"
if ldd "$IDEVICEBENCH" 2>/dev/null | grep -q libasan; then
	ok "# SKIP memory growth: AddressSanitizer's quarantine keeps freed memory"
else
	check "memory does not grow (under 512 KiB)" test $((RSS1 - RSS0)) -lt 512
fi

# a live socket is never stolen, even by a bench with its own lock
serve 2 2
SECOND=$!
for i in $(seq 1 100); do kill -0 "$SECOND" 2>/dev/null || break; sleep 0.1; done
wait "$SECOND"
check "a second bench on the same socket exits with 1" test $? = 1
check "saying another bench listens" grep -q "another bench is listening" "$T/serve2.err"
check "the first bench still answers" wait_sock

# quit from a client stops the bench; clients see the end
echo quit >&"$three_FD"
for i in $(seq 1 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
check "quit from a client stops the bench" bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check "its running restore was cancelled" ev two 5 event=job slot=A2 state=cancelled
check "the attached clients end" bash -c "for i in \$(seq 1 50); do kill -0 $two_PID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
check "the socket file is removed" test ! -e "$SOCK_PATH"
"$IDEVICEBENCH" attach --json --socket "$SOCK_PATH" </dev/null >"$T/none.out" 2>&1
check "attach with no bench running exits with 1" test $? = 1
check "saying no bench is running" grep -q "no bench is running" "$T/none.out"

# a stale socket (a bench that was killed) is replaced
serve 3 ""
SIM3=$!
wait_sock
P3=$(child_of "$SIM3" idevicebench)
kill -KILL "$P3"
sleep 0.5
check "a killed bench leaves its socket behind" test -S "$SOCK_PATH"
wait "$SIM3" 2>/dev/null
serve 4 "" g
SIM4=$!
check "a new bench replaces the stale socket" wait_sock
P4=$(child_of "$SIM4" idevicebench)

# [bench] group: its members may attach, others may not
check "with a group the socket is mode 0660" test "$(stat -c %a "$SOCK_PATH")" = 660
check "and belongs to the group" test "$(stat -c %G "$SOCK_PATH")" = users
check "its directory is the group's too, mode 0750" test "$(stat -c %a:%G "$T/run")" = 750:users
chmod 711 "$T"
setpriv --reuid=65534 --regid=65534 --groups=100 $SYSPY "$T/pub/client.py" "$SOCK_PATH" probe >"$T/perm3.out" 2>&1
check "a member of the group attaches" grep -q '"event":"bench"' "$T/perm3.out"
setpriv --reuid=65534 --regid=65534 --clear-groups $SYSPY "$T/pub/client.py" "$SOCK_PATH" probe >"$T/perm4.out" 2>&1
check "a user outside it cannot" grep -q EACCES "$T/perm4.out"
chmod 700 "$T"
kill -TERM "$P4"
for i in $(seq 1 100); do kill -0 "$P4" 2>/dev/null || break; sleep 0.1; done
check "serve stops on SIGTERM" bash -c "! kill -0 $P4 2>/dev/null"
check "serve logged to stderr (not a terminal)" grep -q "listening on $SOCK_PATH" "$T/serve4.err"
done_testing
