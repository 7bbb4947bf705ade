#!/usr/bin/env bash
# The firmware library in the REAL console (tmux): the header names the library and a running
# download (with percent, rate and time left), a phone waiting for its firmware says so in its
# cell, and the detail pane names the IPSW a job restores with.
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
command -v tmux >/dev/null || skip_all "tmux not installed"

W="$T/www"
L="$T/lib"
mkdir -p "$W/fw" "$L"
mk_ipsw "$L/iPhone_7.ipsw" iPhone9,1 0x8010 0x08 15.8.3 19H386
mk_ipsw "$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw" iPhone10,6 0x8015 0x0e 16.7.10 20H350 --os-bytes 6000000
NGINX_RATE=200k nginx_start "$W" || { not_ok "nginx started"; done_testing; }
python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone10,6 0x8015 0x0e \
	fw/iPhone10,6_16.7.10_20H350_Restore.ipsw:16.7.10:20H350:1
cat >"$T/bench.conf" <<CONF
[slots]
A1 = 1-1.1
A2 = 1-1.2
[firmware]
dir = $L
download = yes
index = http://127.0.0.1:$NGINX_PORT
CONF
cat >"$T/c.scenario" <<'SCEN'
hub 1-1 ports 2
dialect 1.0.0
plug 1-1.1 recovery ecid 0xc10001 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0xc10002 cpid 0x8015 bdid 0x0e
restore 0xc10001 ok 30
restore 0xc10002 ok 30
SCEN
tmux_init fwcon
TM new-session -d -s c -x 120 -y 30 \
	"'$BENCHSIM' --log '$T/sim.log' --ctl '$T/ctl.sock' '$T/c.scenario' -- \
	'$IDEVICEBENCH' -c '$T/bench.conf' --log-dir '$T/logs' --db '$T/h.db' 2>'$T/bench.err'; \
	echo idevicebench-exit=\$?; sleep 600"
tcheck "the header names the library" wait_scr 20 "IPSW library: 1 build "
tcheck "the header shows the download with percent, rate and time left" \
	wait_scr 20 "fetching iPhone10,6 16.7.10 [0-9]+% [0-9.]+ MB/s [0-9]+:[0-9]{2} left"
TM send-keys -t c Right
TM send-keys -t c u
tcheck "A2 waits for its firmware" wait_scr 10 "queued: firmware"
TM send-keys -t c Left
TM send-keys -t c u
tcheck "A1 (iPhone 7, in the library) runs at once" wait_scr 10 "(detect|prepare|upload_fs) "
TM send-keys -t c Enter
tcheck "the detail pane names its firmware" wait_scr 10 "Firmware: 15.8.3 \(19H386\)"
tcheck "A2 runs once the download is verified, and both restores end" wait_scr 90 "update done .*update done"
tcheck "the download line is gone from the header" bash -c "! tmux -L '$SOCK' -f /dev/null capture-pane -p -t c | grep -q fetching"
done_testing
