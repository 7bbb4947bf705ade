#!/usr/bin/env bash
# console_hostile.sh: strings from devices and from restore children are
# stripped of control characters before drawing. The REAL console under
# benchsim shows a phone whose USB serial carries escape sequences, and runs a
# restore program whose output carries them too; nothing unescaped may reach
# the tmux pane (capture-pane -e shows what the terminal received as attributes;
# a title change, a screen fill or a cursor jump would show on the pane).
. "$IDB_TOP/tests/lib.sh"
command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

tmux_init console-hostile
# the pane received no escape sequence but colours and attributes (SGR, ESC [ ... m)
only_sgr() {
	! scr_e | sed 's/\x1b\[[0-9;:]*m//g' | grep -q $'[\x1b\x07\x9b]'
}
# none of the hostile sequences acted on the pane
untouched() {
	local title
	title=$(TM display-message -p -t c '#{pane_title}')
	[ "$title" != pwned ] || { echo "# pane title changed to '$title'"; return 1; }
	# DECALN (ESC # 8) fills the whole screen with E
	! scr | grep -qE '^E{20,}' || { echo "# the screen was filled by DECALN"; return 1; }
	# ESC [12;1H would have put these words at the start of a line
	! scr | grep -qE '^(ZAPPED|OUTPUT-JUMP)' || { echo "# a cursor move took effect"; return 1; }
	# the 8-bit CSI (0x9b) as raw bytes
	! scr | grep -qa $'\x9b' || { echo "# a raw C1 control reached the pane"; return 1; }
}

# a restore program whose output carries escape sequences, then fails
cat >"$T/evil-restore" <<'EOF'
#!/bin/sh
if [ "$1" = "-v" ]; then echo "idevicerestore 1.0.0"; exit 0; fi
printf 'Found device in Recovery mode\n'
printf 'progress: 0 0.100000\n'
printf 'Identified device as \033]0;pwned\007n71ap, iPhone9,1 \033[2J\033[12;1HOUTPUT-JUMP\n'
printf 'ERROR: Unable to send \033]2;pwned\007iBEC\033[31m EVILTAIL\033#8 \302\233H\n'
exit 255
EOF
chmod +x "$T/evil-restore"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$T/test.ipsw"
cat >"$T/hostile.conf" <<EOF
[bench]
ipsw = $T/test.ipsw
restore_cmd = $T/evil-restore
EOF

TM new-session -d -s c -x 120 -y 30 \
	"cd '$IDB_TOP' && '$BENCHSIM' --log '$T/sim.log' --ctl '$T/ctl.sock' tests/data/scenarios/console_hostile.scenario -- \
	'$IDEVICEBENCH' -c '$T/hostile.conf' --log-dir '$T/logs' --db '$T/history.db' 2>'$T/bench.err'; sleep 600"
tcheck "the console shows both phones" wait_scr 20 "REC .*iPhone 7 +REC"
TM send-keys -t c Enter
tcheck "the detail pane shows its serial, made harmless" wait_scr 5 "pwned"
tcheck "the serial's escapes are drawn as text, not obeyed" untouched
tcheck "each control of the serial shows as a '?'" \
	wait_scr 2 "USB serial: CPID:8010 \\?\\]0;pwned\\? \\?\\[2J\\?\\[12;1HZAPPED\\?#8\\?+31mRED"
tcheck "only colour attributes reached the pane (grid + detail)" only_sgr

TM send-keys -t c Right u
tcheck "the restore with hostile output fails" wait_scr 20 " 1 failed"
tcheck "the child's escapes are not obeyed (grid)" untouched
tcheck "only colour attributes reached the pane (failure)" only_sgr
TM send-keys -t c l
tcheck "the log pager shows the child's output" wait_scr 5 "OUTPUT-JUMP"
tcheck "the child's escapes are not obeyed (log pager)" untouched
tcheck "only colour attributes reached the pane (log pager)" only_sgr
tcheck "the child's text is there, with the controls replaced" wait_scr 2 "pwned.?n71ap"
done_testing
