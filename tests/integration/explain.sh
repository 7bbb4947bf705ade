#!/usr/bin/env bash
# explain.sh: `idevicebench explain` over every restore corpus, text and --json,
# checked against the .expect files; plus exit statuses and hostile input.
set -u
. "$IDB_TOP/tests/lib.sh"
bin=$IDEVICEBENCH
data=$IDB_TOP/tests/data/restore

# notok DESC [DIAGNOSTIC LINE...]: not ok, with the lines as TAP comments
notok() { not_ok "$1"; shift; for l in "$@"; do echo "#   $l"; done; }
field() { sed -n "s/^$1=//p" "$2"; }
textval() { sed -n "s/^$1: *//p" "$2" | head -1; }

logs=("$data"/*.log)

for log in "${logs[@]}"; do
	name=$(basename "$log" .log)
	exp=$data/$name.expect
	args=()
	x=$(field exit "$exp"); s=$(field signal "$exp")
	[ -n "$x" ] && args+=(--exit "$x")
	[ -n "$s" ] && args+=(--signal "$s")
	want_outcome=$(field outcome "$exp"); want_class=$(field class "$exp")
	want_code=$(field code "$exp"); want_step=$(field step "$exp")
	want_pct=$(field percent "$exp")

	"$bin" explain "${args[@]}" "$log" >"$T/out" 2>"$T/err"
	rc=$?
	got="$(textval outcome "$T/out") $(textval class "$T/out") $(textval code "$T/out" | cut -d' ' -f1) $(textval step "$T/out") $(textval percent "$T/out")"
	want="$want_outcome $want_class $want_code $want_step $want_pct"
	adv=$(textval advice "$T/out")
	if [ $rc -eq 0 ] && [ "$got" = "$want" ] && [ -n "$adv" ]; then
		ok "explain $name: $got"
	else
		notok "explain $name" "rc=$rc got [$got] want [$want]" "$(cat "$T/err")"
	fi

	"$bin" explain --json "${args[@]}" "$log" >"$T/json" 2>"$T/err"
	rc=$?
	got=$(jq -r '[.state, (.class // "none"), (if .code == null then "none" else (.code|tostring) end),
	    (.step // "none"), ((.percent + 0.5) | floor | tostring),
	    (if (.advice|length) > 0 and (.message|length) > 0 then "y" else "n" end),
	    (if .event == "job" and (.time|type) == "number" then "y" else "n" end)] | join(" ")' <"$T/json" 2>&1)
	want="$want_outcome $want_class $want_code $want_step $want_pct y y"
	lines=$(wc -l <"$T/json")
	if [ $rc -eq 0 ] && [ "$got" = "$want" ] && [ "$lines" -eq 1 ]; then
		ok "explain --json $name"
	else
		notok "explain --json $name" "rc=$rc lines=$lines got [$got] want [$want]"
	fi
done

# the bench's numbers are flagged as its own convention
"$bin" explain --exit 245 "$data/lost-asr-1.0.0.log" >"$T/out" 2>&1
if grep -q '4013-class' "$T/out" && grep -q "^note: .*convention" "$T/out" &&
    grep -q '^advice: *swap cable/port (a port on the computer, not a deep hub), then Recovery + Update' "$T/out"; then
	ok "4013 says bench convention and gives the first rung of the ladder"
else
	notok "4013 says bench convention and gives the first rung of the ladder" "$(cat "$T/out")"
fi

# stdin, and the text alone (no --exit) still classifies
if "$bin" explain - <"$data/status-53-master.log" >"$T/out" 2>&1 &&
    [ "$(textval class "$T/out")" = device-reported ] && [ "$(textval code "$T/out")" = 53 ] &&
    grep -qi '^advice:.*Face ID' "$T/out"; then
	ok "explain - reads stdin and names the part for 53"
else
	notok "explain - reads stdin and names the part for 53" "$(cat "$T/out")"
fi

"$bin" explain "$T/does-not-exist.log" >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && ok "unreadable file exits 1" || notok "unreadable file exits 1" "rc=$rc"

"$bin" explain --bogus "$data/success-1.0.0.log" >/dev/null 2>&1
rc1=$?
"$bin" explain --exit notanumber "$data/success-1.0.0.log" >/dev/null 2>&1
rc2=$?
"$bin" explain "$data/success-1.0.0.log" "$data/success-master.log" >/dev/null 2>&1
rc3=$?
if [ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 2 ]; then
	ok "usage errors exit 2"
else
	notok "usage errors exit 2" "rc=$rc1 $rc2 $rc3"
fi

# hostile log: escapes, NULs, a 1 MiB line; nothing hostile reaches the terminal
{
	printf 'progress: 2 0.420000\n'
	printf 'Found device in \033[2J\033]0;pwned\007Recovery mode\n'
	printf 'ERROR: \033[31mUnable to send data to ASR.\000 Sent 0 of 9 bytes.\233\n'
	head -c 1048576 /dev/zero | tr '\0' 'A'
	printf '\r\r\r\n'
} >"$T/hostile.log"
"$bin" explain --exit 1 "$T/hostile.log" >"$T/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/out" &&
    [ "$(textval code "$T/out" | cut -d" " -f1)" = "4013" ] && [ "$(wc -c <"$T/out")" -lt 8192 ]; then
	ok "hostile log: classified, output sanitized and bounded"
else
	notok "hostile log: classified, output sanitized and bounded" "rc=$rc" "$(head -c 2000 "$T/out" | cat -v)"
fi
"$bin" explain --json --exit 1 "$T/hostile.log" >"$T/json" 2>&1
if jq -e '.code == 4013 and (.decisive | test("[\u0000-\u001f]") | not)' "$T/json" >/dev/null 2>&1; then
	ok "hostile log: --json is valid and sanitized"
else
	notok "hostile log: --json is valid and sanitized" "$(head -c 2000 "$T/json" | cat -v)"
fi

# success says done with no class and no code in JSON
"$bin" explain --json --exit 0 "$data/success-master.log" >"$T/json" 2>&1
if jq -e '.state == "done" and .class == null and .code == null and .step == "upload_img"' "$T/json" >/dev/null; then
	ok "success in JSON: state done, class and code null"
else
	notok "success in JSON: state done, class and code null" "$(cat "$T/json")"
fi

done_testing
