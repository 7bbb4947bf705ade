#!/usr/bin/env bash
# explain.sh: `idevicebench explain` over every restore corpus, text and --json,
# checked against the .expect files; plus exit statuses and hostile input.
set -u
top=${IDB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${IDEVICEBENCH:-$top/build/idevicebench}
data=$top/tests/data/restore
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
field() { sed -n "s/^$1=//p" "$2"; }
textval() { sed -n "s/^$1: *//p" "$2" | head -1; }

logs=("$data"/*.log)
echo "1..$(( ${#logs[@]} * 2 + 7 ))"

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

[ $bad -eq 0 ]
