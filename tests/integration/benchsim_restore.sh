#!/usr/bin/env bash
# benchsim: the fake idevicerestore, run under the harness, prints 1.0.0's
# output shapes, exits with 1.0.0's codes and moves its device through the
# restore's modes (seen in the --log); `times 2` fails twice then succeeds;
# the control socket plugs devices at run time.
set -u
. "$IDB_TOP/tests/lib.sh"
bdir=$IDB_BUILD/tests/benchsim
has() { if grep -Fxq -- "$2" "$1"; then ok "$3"; else not_ok "$3"; sed 's/^/# /' "$1"; fi; }
# The log lines about one port, in order, without the restore lines.
events() { grep -E "^(plug|unplug) $1( |\$)" "$T/log" | tr '\n' ';'; }

: >"$T/fw.ipsw"
cat >"$T/s" <<'S'
hub 1-2 ports 7
plug 1-2.1 recovery ecid 0x1a2b3c4d5e6f70 cpid 0x8010 bdid 0x08
plug 1-2.2 dfu ecid 0x2222 cpid 0x8015 bdid 0x0a
plug 1-2.3 recovery ecid 0x3333 cpid 0x8010 bdid 0x08
plug 1-2.4 recovery ecid 0x4444 cpid 0x8010 bdid 0x08
plug 1-2.5 recovery ecid 0x5555 cpid 0x8010 bdid 0x08
restore 0x1a2b3c4d5e6f70 ok 20
restore 0x2222 fail upload_fs 42 disconnect
restore 0x3333 fail prepare 0 tss
restore 0x4444 fail verify_fs 80 status 53
restore 0x5555 fail upload_fs 42 disconnect times 2
restore 0x6666 hang upload_fs 10
speed 40
S
# run ECID NAME: one fake restore, output and status kept under NAME
cat >"$T/run" <<R
#!/bin/sh
"\$IDEVICEBENCH_RESTORE_CMD" -i "\$1" -y -P -e -C "$T" "$T/fw.ipsw" >"$T/\$2.out" 2>"$T/\$2.err"
echo \$? >"$T/\$2.rc"
R
chmod +x "$T/run"
cat >"$T/main" <<M
#!/bin/sh
"\$IDEVICEBENCH_RESTORE_CMD" -v >"$T/version"
"$T/run" 0x1a2b3c4d5e6f70 ok &
"$T/run" 0x2222 disc &
"$T/run" 0x3333 tss &
"$T/run" 0x4444 status &
wait
for i in 1 2 3; do
	"$bdir/benchsim" --send "\$BENCHSIM_CTL" "plug 1-2.5 recovery ecid 0x5555 cpid 0x8010 bdid 0x08" >/dev/null
	"$T/run" 0x5555 times\$i
done
"$T/run" 0x7777 nodev
"$bdir/benchsim" --send "\$BENCHSIM_CTL" "plug 1-2.6 recovery ecid 0x6666" >"$T/send.out"
echo \$? >>"$T/send.out"
"$bdir/benchsim" --send "\$BENCHSIM_CTL" "plug 1-9.9 recovery ecid 0x6666" >>"$T/send.out"
echo \$? >>"$T/send.out"
"\$IDEVICEBENCH_RESTORE_CMD" -i 0x6666 -y -P "$T/fw.ipsw" >"$T/hang.out" 2>&1 &
pid=\$!
for i in \$(seq 200); do grep -q '^progress: 2 0.1' "$T/hang.out" && break; sleep 0.05; done
kill -TERM \$pid; wait \$pid; echo \$? >"$T/hang.rc"
sleep 0.3	# let the last mode switches land in the log
M
chmod +x "$T/main"
"$bdir/benchsim" --log "$T/log" "$T/s" -- "$T/main"
rc=$?
[ "$rc" -eq 0 ] && ok "benchsim exit 0" || not_ok "benchsim exit $rc"
has "$T/version" "idevicerestore 1.0.0" "-v prints the 1.0.0 version"

# ok
[ "$(cat "$T/ok.rc")" = 0 ] && ok "ok: exit 0" || not_ok "ok: exit $(cat "$T/ok.rc")"
has "$T/ok.out" "progress: 0 0.000000" "ok: first progress line"
has "$T/ok.out" "progress: 6 1.000000" "ok: ends with progress: 6 1.000000"
if grep -Eq '^progress: 2 0\.[0-9]{6}$' "$T/ok.out"; then ok "ok: upload_fs progress lines"; else not_ok "ok: upload_fs progress"; fi
if grep -q $'\r\\[=' "$T/ok.out"; then ok "ok: carriage-return bars"; else not_ok "ok: bars"; fi
has "$T/ok.out" "Status: Restore Finished" "ok: status line"
[ ! -s "$T/ok.err" ] && ok "ok: nothing on stderr" || not_ok "ok: stderr: $(cat "$T/ok.err")"
e=$(events 1-2.1)
[ "$e" = "plug 1-2.1 recovery 0x1a2b3c4d5e6f70;unplug 1-2.1;plug 1-2.1 recovery 0x1a2b3c4d5e6f70;unplug 1-2.1;plug 1-2.1 restore 0x1a2b3c4d5e6f70;unplug 1-2.1;plug 1-2.1 normal 0x1a2b3c4d5e6f70;" ] &&
	ok "ok: recovery -> recovery (iBEC) -> restore -> normal" || not_ok "ok: modes: $e"
has "$T/log" "restore 0x1a2b3c4d5e6f70 attempt 1 ok 20" "ok: attempt logged"

# disconnect
[ "$(cat "$T/disc.rc")" = 245 ] && ok "disconnect: exit 245" || not_ok "disconnect: exit $(cat "$T/disc.rc")"
has "$T/disc.out" "progress: 2 0.420000" "disconnect: last progress at 42%"
if grep -q '^ERROR: Unable to send data to ASR' "$T/disc.err"; then ok "disconnect: ASR error on stderr"; else not_ok "disconnect: stderr"; fi
e=$(events 1-2.2)
[ "$e" = "plug 1-2.2 dfu 0x2222;unplug 1-2.2;plug 1-2.2 recovery 0x2222;unplug 1-2.2;plug 1-2.2 restore 0x2222;unplug 1-2.2;" ] &&
	ok "disconnect: dfu -> recovery -> restore -> gone for good" || not_ok "disconnect: modes: $e"

# tss
[ "$(cat "$T/tss.rc")" = 255 ] && ok "tss: exit 255" || not_ok "tss: exit $(cat "$T/tss.rc")"
has "$T/tss.err" "ERROR: TSS request failed (status=94, message=This device isn't eligible for the requested build.)" "tss: status 94 text"
e=$(events 1-2.3)
[ "$e" = "plug 1-2.3 recovery 0x3333;" ] && ok "tss: the device never left recovery" || not_ok "tss: modes: $e"

# status 53
[ "$(cat "$T/status.rc")" = 203 ] && ok "status 53: exit 203 (256-53)" || not_ok "status: exit $(cat "$T/status.rc")"
if grep -A1 -x 'Got status message' "$T/status.out" | grep -qx 'Status: Failed to recover FDR data.'; then
	ok "status 53: status message text"; else not_ok "status 53 text"; fi
e=$(events 1-2.4)
case "$e" in *"plug 1-2.4 restore 0x4444;unplug 1-2.4;plug 1-2.4 recovery 0x4444;") ok "status: restore mode, then back to recovery" ;;
*) not_ok "status: modes: $e" ;; esac

# times 2
r="$(cat "$T/times1.rc") $(cat "$T/times2.rc") $(cat "$T/times3.rc")"
[ "$r" = "245 245 0" ] && ok "times 2: fails twice, then succeeds" || not_ok "times 2: exits $r"
has "$T/log" "restore 0x5555 attempt 2 fail upload_fs 42 disconnect times 2" "times 2: attempt 2 logged as a failure"
has "$T/log" "restore 0x5555 attempt 3 ok 20" "times 2: attempt 3 logged as ok"

# no device
[ "$(cat "$T/nodev.rc")" = 255 ] && grep -q 'Unable to discover device mode' "$T/nodev.err" &&
	ok "no device: 1.0.0's text, exit 255" || not_ok "no device: exit $(cat "$T/nodev.rc")"

# control socket
printf 'ok\n0\n' >"$T/want"
head -2 "$T/send.out" | diff - "$T/want" >/dev/null && ok "--send plug: ok, exit 0" || not_ok "--send: $(cat "$T/send.out")"
if sed -n 3p "$T/send.out" | grep -q '^err no hub at 1-9' && [ "$(sed -n 4p "$T/send.out")" = 1 ]; then
	ok "--send with a bad port: err line, exit 1"; else not_ok "--send bad port: $(cat "$T/send.out")"; fi

# hang: output stops, SIGTERM ends it
[ "$(cat "$T/hang.rc")" = 143 ] && ok "hang: killed by SIGTERM" || not_ok "hang: exit $(cat "$T/hang.rc")"
has "$T/hang.out" "progress: 2 0.100000" "hang: output stopped at 10% of upload_fs"
done_testing
