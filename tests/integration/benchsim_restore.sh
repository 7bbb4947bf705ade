#!/usr/bin/env bash
# benchsim: the fake idevicerestore, run under the harness, prints 1.0.0's
# output shapes, exits with 1.0.0's codes and moves its device through the
# restore's modes (seen in the --log); `times 2` fails twice then succeeds;
# the control socket plugs devices at run time.
set -u
top=${IDB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IDB_BUILD:-$top/build}
bdir=$build/tests/benchsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
has() { if grep -Fxq -- "$2" "$1"; then ok "$3"; else nok "$3"; sed 's/^/# /' "$1"; fi; }
# The log lines about one port, in order, without the restore lines.
events() { grep -E "^(plug|unplug) $1( |\$)" "$tmp/log" | tr '\n' ';'; }

echo "1..29"
: >"$tmp/fw.ipsw"
cat >"$tmp/s" <<'S'
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
cat >"$tmp/run" <<R
#!/bin/sh
"\$IDEVICEBENCH_RESTORE_CMD" -i "\$1" -y -P -e -C "$tmp" "$tmp/fw.ipsw" >"$tmp/\$2.out" 2>"$tmp/\$2.err"
echo \$? >"$tmp/\$2.rc"
R
chmod +x "$tmp/run"
cat >"$tmp/main" <<M
#!/bin/sh
"\$IDEVICEBENCH_RESTORE_CMD" -v >"$tmp/version"
"$tmp/run" 0x1a2b3c4d5e6f70 ok &
"$tmp/run" 0x2222 disc &
"$tmp/run" 0x3333 tss &
"$tmp/run" 0x4444 status &
wait
for i in 1 2 3; do
	"$bdir/benchsim" --send "\$BENCHSIM_CTL" "plug 1-2.5 recovery ecid 0x5555 cpid 0x8010 bdid 0x08" >/dev/null
	"$tmp/run" 0x5555 times\$i
done
"$tmp/run" 0x7777 nodev
"$bdir/benchsim" --send "\$BENCHSIM_CTL" "plug 1-2.6 recovery ecid 0x6666" >"$tmp/send.out"
echo \$? >>"$tmp/send.out"
"$bdir/benchsim" --send "\$BENCHSIM_CTL" "plug 1-9.9 recovery ecid 0x6666" >>"$tmp/send.out"
echo \$? >>"$tmp/send.out"
"\$IDEVICEBENCH_RESTORE_CMD" -i 0x6666 -y -P "$tmp/fw.ipsw" >"$tmp/hang.out" 2>&1 &
pid=\$!
for i in \$(seq 200); do grep -q '^progress: 2 0.1' "$tmp/hang.out" && break; sleep 0.05; done
kill -TERM \$pid; wait \$pid; echo \$? >"$tmp/hang.rc"
sleep 0.3	# let the last mode switches land in the log
M
chmod +x "$tmp/main"
"$bdir/benchsim" --log "$tmp/log" "$tmp/s" -- "$tmp/main"
rc=$?
[ "$rc" -eq 0 ] && ok "benchsim exit 0" || nok "benchsim exit $rc"
has "$tmp/version" "idevicerestore 1.0.0" "-v prints the 1.0.0 version"

# ok
[ "$(cat "$tmp/ok.rc")" = 0 ] && ok "ok: exit 0" || nok "ok: exit $(cat "$tmp/ok.rc")"
has "$tmp/ok.out" "progress: 0 0.000000" "ok: first progress line"
has "$tmp/ok.out" "progress: 6 1.000000" "ok: ends with progress: 6 1.000000"
if grep -Eq '^progress: 2 0\.[0-9]{6}$' "$tmp/ok.out"; then ok "ok: upload_fs progress lines"; else nok "ok: upload_fs progress"; fi
if grep -q $'\r\\[=' "$tmp/ok.out"; then ok "ok: carriage-return bars"; else nok "ok: bars"; fi
has "$tmp/ok.out" "Status: Restore Finished" "ok: status line"
[ ! -s "$tmp/ok.err" ] && ok "ok: nothing on stderr" || nok "ok: stderr: $(cat "$tmp/ok.err")"
e=$(events 1-2.1)
[ "$e" = "plug 1-2.1 recovery 0x1a2b3c4d5e6f70;unplug 1-2.1;plug 1-2.1 recovery 0x1a2b3c4d5e6f70;unplug 1-2.1;plug 1-2.1 restore 0x1a2b3c4d5e6f70;unplug 1-2.1;plug 1-2.1 normal 0x1a2b3c4d5e6f70;" ] &&
	ok "ok: recovery -> recovery (iBEC) -> restore -> normal" || nok "ok: modes: $e"
has "$tmp/log" "restore 0x1a2b3c4d5e6f70 attempt 1 ok 20" "ok: attempt logged"

# disconnect
[ "$(cat "$tmp/disc.rc")" = 245 ] && ok "disconnect: exit 245" || nok "disconnect: exit $(cat "$tmp/disc.rc")"
has "$tmp/disc.out" "progress: 2 0.420000" "disconnect: last progress at 42%"
if grep -q '^ERROR: Unable to send data to ASR' "$tmp/disc.err"; then ok "disconnect: ASR error on stderr"; else nok "disconnect: stderr"; fi
e=$(events 1-2.2)
[ "$e" = "plug 1-2.2 dfu 0x2222;unplug 1-2.2;plug 1-2.2 recovery 0x2222;unplug 1-2.2;plug 1-2.2 restore 0x2222;unplug 1-2.2;" ] &&
	ok "disconnect: dfu -> recovery -> restore -> gone for good" || nok "disconnect: modes: $e"

# tss
[ "$(cat "$tmp/tss.rc")" = 255 ] && ok "tss: exit 255" || nok "tss: exit $(cat "$tmp/tss.rc")"
has "$tmp/tss.err" "ERROR: TSS request failed (status=94, message=This device isn't eligible for the requested build.)" "tss: status 94 text"
e=$(events 1-2.3)
[ "$e" = "plug 1-2.3 recovery 0x3333;" ] && ok "tss: the device never left recovery" || nok "tss: modes: $e"

# status 53
[ "$(cat "$tmp/status.rc")" = 203 ] && ok "status 53: exit 203 (256-53)" || nok "status: exit $(cat "$tmp/status.rc")"
if grep -A1 -x 'Got status message' "$tmp/status.out" | grep -qx 'Status: Failed to recover FDR data.'; then
	ok "status 53: status message text"; else nok "status 53 text"; fi
e=$(events 1-2.4)
case "$e" in *"plug 1-2.4 restore 0x4444;unplug 1-2.4;plug 1-2.4 recovery 0x4444;") ok "status: restore mode, then back to recovery" ;;
*) nok "status: modes: $e" ;; esac

# times 2
r="$(cat "$tmp/times1.rc") $(cat "$tmp/times2.rc") $(cat "$tmp/times3.rc")"
[ "$r" = "245 245 0" ] && ok "times 2: fails twice, then succeeds" || nok "times 2: exits $r"
has "$tmp/log" "restore 0x5555 attempt 2 fail upload_fs 42 disconnect times 2" "times 2: attempt 2 logged as a failure"
has "$tmp/log" "restore 0x5555 attempt 3 ok 20" "times 2: attempt 3 logged as ok"

# no device
[ "$(cat "$tmp/nodev.rc")" = 255 ] && grep -q 'Unable to discover device mode' "$tmp/nodev.err" &&
	ok "no device: 1.0.0's text, exit 255" || nok "no device: exit $(cat "$tmp/nodev.rc")"

# control socket
printf 'ok\n0\n' >"$tmp/want"
head -2 "$tmp/send.out" | diff - "$tmp/want" >/dev/null && ok "--send plug: ok, exit 0" || nok "--send: $(cat "$tmp/send.out")"
if sed -n 3p "$tmp/send.out" | grep -q '^err no hub at 1-9' && [ "$(sed -n 4p "$tmp/send.out")" = 1 ]; then
	ok "--send with a bad port: err line, exit 1"; else nok "--send bad port: $(cat "$tmp/send.out")"; fi

# hang: output stops, SIGTERM ends it
[ "$(cat "$tmp/hang.rc")" = 143 ] && ok "hang: killed by SIGTERM" || nok "hang: exit $(cat "$tmp/hang.rc")"
has "$tmp/hang.out" "progress: 2 0.100000" "hang: output stopped at 10% of upload_fs"
exit $fail
