#!/usr/bin/env bash
# explain.sh: `idevicebench explain` over every restore corpus, text and --json,
# checked against the .expect files; plus exit statuses and hostile input.
set -u
. "$IDB_TOP/tests/lib.sh"
bin=$IDEVICEBENCH
data=$IDB_TOP/tests/data/restore
tmp=$T

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

	"$bin" explain "${args[@]}" "$log" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	got="$(textval outcome "$tmp/out") $(textval class "$tmp/out") $(textval code "$tmp/out" | cut -d' ' -f1) $(textval step "$tmp/out") $(textval percent "$tmp/out")"
	want="$want_outcome $want_class $want_code $want_step $want_pct"
	adv=$(textval advice "$tmp/out")
	if [ $rc -eq 0 ] && [ "$got" = "$want" ] && [ -n "$adv" ]; then
		ok "explain $name: $got"
	else
		notok "explain $name" "rc=$rc got [$got] want [$want]" "$(cat "$tmp/err")"
	fi

	"$bin" explain --json "${args[@]}" "$log" >"$tmp/json" 2>"$tmp/err"
	rc=$?
	got=$(jq -r '[.state, (.class // "none"), (if .code == null then "none" else (.code|tostring) end),
	    (.step // "none"), ((.percent + 0.5) | floor | tostring),
	    (if (.advice|length) > 0 and (.message|length) > 0 then "y" else "n" end),
	    (if .event == "job" and (.time|type) == "number" then "y" else "n" end)] | join(" ")' <"$tmp/json" 2>&1)
	want="$want_outcome $want_class $want_code $want_step $want_pct y y"
	lines=$(wc -l <"$tmp/json")
	if [ $rc -eq 0 ] && [ "$got" = "$want" ] && [ "$lines" -eq 1 ]; then
		ok "explain --json $name"
	else
		notok "explain --json $name" "rc=$rc lines=$lines got [$got] want [$want]"
	fi
done

# the bench's numbers are flagged as its own convention
"$bin" explain --exit 245 "$data/lost-asr-1.0.0.log" >"$tmp/out" 2>&1
if grep -q '4013-class' "$tmp/out" && grep -q "^note: .*convention" "$tmp/out" &&
    grep -q '^advice: *swap cable/port (a port on the computer, not a deep hub), then Recovery + Update' "$tmp/out"; then
	ok "4013 says bench convention and gives the first rung of the ladder"
else
	notok "4013 says bench convention and gives the first rung of the ladder" "$(cat "$tmp/out")"
fi

# stdin, and the text alone (no --exit) still classifies
if "$bin" explain - <"$data/status-53-master.log" >"$tmp/out" 2>&1 &&
    [ "$(textval class "$tmp/out")" = device-reported ] && [ "$(textval code "$tmp/out")" = 53 ] &&
    grep -qi '^advice:.*Face ID' "$tmp/out"; then
	ok "explain - reads stdin and names the part for 53"
else
	notok "explain - reads stdin and names the part for 53" "$(cat "$tmp/out")"
fi

"$bin" explain "$tmp/does-not-exist.log" >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && ok "unreadable file exits 1" || notok "unreadable file exits 1" "rc=$rc"

"$bin" explain --bogus "$data/success-1.0.0.log" >/dev/null 2>&1
rc1=$?
"$bin" explain --exit notanumber "$data/success-1.0.0.log" >/dev/null 2>&1
rc2=$?
"$bin" explain --exit 1 "$data/success-1.0.0.log" "$data/success-master.log" >/dev/null 2>&1
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
} >"$tmp/hostile.log"
"$bin" explain --exit 1 "$tmp/hostile.log" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/out" &&
    [ "$(textval code "$tmp/out" | cut -d" " -f1)" = "4013" ] && [ "$(wc -c <"$tmp/out")" -lt 8192 ]; then
	ok "hostile log: classified, output sanitized and bounded"
else
	notok "hostile log: classified, output sanitized and bounded" "rc=$rc" "$(head -c 2000 "$tmp/out" | cat -v)"
fi
"$bin" explain --json --exit 1 "$tmp/hostile.log" >"$tmp/json" 2>&1
if jq -e '.code == 4013 and (.decisive | test("[\u0000-\u001f]") | not)' "$tmp/json" >/dev/null 2>&1; then
	ok "hostile log: --json is valid and sanitized"
else
	notok "hostile log: --json is valid and sanitized" "$(head -c 2000 "$tmp/json" | cat -v)"
fi

# success says done with no class and no code in JSON
"$bin" explain --json --exit 0 "$data/success-master.log" >"$tmp/json" 2>&1
if jq -e '.state == "done" and .class == null and .code == null and .step == "upload_img"' "$tmp/json" >/dev/null; then
	ok "success in JSON: state done, class and code null"
else
	notok "success in JSON: state done, class and code null" "$(cat "$tmp/json")"
fi

# several logs, and a directory: one row per log and a summary by class and code
mkdir -p "$tmp/shop" "$tmp/shop/sub"
cp "$data/lost-asr-1.0.0.log" "$data/status-53-master.log" "$data/nodevice-master.log" "$tmp/shop/"
cp "$data/lost-component-master.log" "$tmp/shop/old run.txt"
cp "$data/success-master.log" "$tmp/shop/notes.md"          # not a log name: skipped
cp "$data/success-master.log" "$tmp/shop/sub/inner.log"     # not recursed into
printf 'ERROR: Unable to send data to ASR.\n' >"$tmp/shop/$(printf 'evil\033[2Jname.log')"
"$bin" explain "$tmp/shop" >"$tmp/out" 2>"$tmp/err"
rc=$?
rows=$(grep -c "^$tmp/shop/" "$tmp/out")
if [ $rc -eq 0 ] && [ "$rows" -eq 5 ] && grep -q '^5 logs$' "$tmp/out" &&
    grep -Eq '^  connection-lost 4013 +2$' "$tmp/out" && grep -Eq '^  device-reported 53 +1$' "$tmp/out" &&
    grep -Eq '^  no-device +1$' "$tmp/out" && grep -Eq '^  connection-lost 4005 +1$' "$tmp/out" &&
    ! grep -q 'notes.md\|inner.log' "$tmp/out" && ! LC_ALL=C grep -q $'\x1b' "$tmp/out"; then
	ok "explain DIR: one row per *.log/*.txt, a summary by class and code, names sanitized"
else
	notok "explain DIR: one row per *.log/*.txt, a summary by class and code, names sanitized" "rc=$rc rows=$rows" "$(cat -v "$tmp/out" "$tmp/err")"
fi

"$bin" explain --json "$data/status-53-master.log" "$tmp/shop" >"$tmp/json" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$tmp/json")" -eq 6 ] &&
    [ "$(jq -s '[.[] | select(.event == "job" and (.file|type) == "string")] | length' <"$tmp/json")" -eq 6 ] &&
    [ "$(jq -s '[.[] | select(.code == 53)] | length' <"$tmp/json")" -eq 2 ]; then
	ok "explain --json FILE DIR: one job object per log, each with its file"
else
	notok "explain --json FILE DIR: one job object per log, each with its file" "rc=$rc" "$(cat "$tmp/json" "$tmp/err")"
fi

"$bin" explain "$tmp/shop" "$tmp/missing.log" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q '^5 logs$' "$tmp/out" && grep -q 'missing.log' "$tmp/err"; then
	ok "an unreadable log among several: the others are still judged, exit 1"
else
	notok "an unreadable log among several: the others are still judged, exit 1" "rc=$rc" "$(cat "$tmp/out" "$tmp/err")"
fi

# one file keeps the single-log answer (no table)
"$bin" explain "$data/status-53-master.log" >"$tmp/out" 2>&1
if grep -q '^class: *device-reported' "$tmp/out" && ! grep -q '^LOG ' "$tmp/out"; then
	ok "one file: the single-log answer"
else
	notok "one file: the single-log answer" "$(cat "$tmp/out")"
fi

done_testing
