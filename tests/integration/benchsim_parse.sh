#!/usr/bin/env bash
# benchsim: scenario errors name the file and line and exit 2.
set -u
. "$IDB_TOP/tests/lib.sh"
bsim=$IDB_BUILD/tests/benchsim/benchsim

# scen_error NAME EXPECTED-MESSAGE-REGEX SCENARIO-TEXT: benchsim refuses it with exit 2
scen_error() {
	local name=$1 want=$2 rc
	printf '%b' "$3" >"$T/s"
	"$bsim" "$T/s" -- true >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -Eq "$want" "$T/err"; then
		ok "$name"
	else
		not_ok "$name (rc=$rc: $(cat "$T/err"))"
	fi
}

scen_error "unknown directive, line 3" "s:3: unknown directive 'hubb'" \
	'# comment\nhub 1-2 ports 4\nhubb 1-3 ports 4\n'
scen_error "bad port path" "s:1: bad port path '1-x'" 'hub 1-x ports 4\n'
scen_error "hub port count" "s:1: hub port count must be 1..15" 'hub 1-2 ports 0\n'
scen_error "plug without ecid" "s:2: plug needs an ecid" \
	'hub 1-2 ports 4\nplug 1-2.1 dfu cpid 0x8010\n'
scen_error "unknown mode" "s:2: unknown mode 'sleepy'" \
	'hub 1-2 ports 4\nplug 1-2.1 sleepy ecid 1\n'
scen_error "port beyond the hub" "s:2: hub 1-2 has only 4 ports" \
	'hub 1-2 ports 4\nplug 1-2.5 dfu ecid 1\n'
scen_error "no hub behind the port" "s:1: no hub at 1-3" 'plug 1-3.1 dfu ecid 1\n'
scen_error "port used twice" "s:3: port 1-2.1 is already in use" \
	'hub 1-2 ports 4\nplug 1-2.1 dfu ecid 1\nplug 1-2.1 dfu ecid 2\n'
scen_error "unterminated serial" "s:2: unterminated string" \
	'hub 1-2 ports 4\nplug 1-2.1 recovery ecid 1 serial "abc\n'
scen_error "unknown restore step" "s:1: unknown step 'upload'" \
	'restore 0x42 fail upload 42 disconnect\n'
scen_error "fail without a reason" "s:1: restore fail needs" \
	'restore 0x42 fail upload_fs 42\n'
scen_error "bad dialect" "s:1: unknown dialect '2.0'" 'dialect 2.0\n'

# A valid file with every directive runs the command and passes its status.
printf '%s\n' 'hub 1-2 ports 7   # trailing comment' \
	'plug 1-2.3 recovery ecid 0x1a2b3c4d5e6f70 cpid 0x8010 bdid 0x0c' \
	'plug 1-2.4 dfu ecid 0x0000111122223333 cpid 0x8015 bdid 0x0a' \
	'plug 1-2.5 normal ecid 0x000115480aa2801c cpid 0x8140 bdid 0x0c' \
	'plug 1-2.7 recovery ecid 0x42 cpid 0x8010 bdid 0x08 serial "CPID:8010 \x1b[2J\\n\"x\""' \
	'at 5.0 unplug 1-2.4' 'at 6.5 plug 1-2.6 dfu ecid 0x77 cpid 0x8010 bdid 0x08' \
	'restore 0x1a2b3c4d5e6f70 ok 20' 'restore 0x0000111122223333 fail upload_fs 42 disconnect' \
	'restore 0x43 fail prepare 0 tss' 'restore 0x44 fail verify_fs 80 status 53' \
	'restore 0x45 hang flash_fw 10' 'restore 0x46 crash upload_fs 5' \
	'restore 0x47 fail upload_fs 42 disconnect times 2' 'port 1-2.6 flaky' \
	'dialect master' 'speed 10' >"$T/good"
"$bsim" "$T/good" -- sh -c 'exit 7' 2>"$T/err"
rc=$?
[ "$rc" -eq 7 ] && ok "valid scenario runs the command, exit status passed (7)" ||
	not_ok "valid scenario: rc=$rc $(cat "$T/err")"
done_testing
