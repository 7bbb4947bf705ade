#!/usr/bin/env bash
# explain_real.sh: `idevicebench explain --json` over the corpus of real logs
# users pasted into public issue trackers (tests/data/real, see PROVENANCE.md).
# Each NAME.expect asserts only what can be judged from the paste; a field
# that is absent is not asserted. The corpus is judged as a whole: every
# asserted field must be right for at least IDB_REAL_MIN percent (95) of the
# logs that assert it, and the whole answer for 95% of the logs. Per-log
# misses are printed as diagnostics, the per-field figures are what
# docs/RELIABILITY.md records.
set -u
top=${IDB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${IDEVICEBENCH:-$top/build/idevicebench}
data=$top/tests/data/real
min=${IDB_REAL_MIN:-95}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
field() { sed -n "s/^$1=//p" "$2" | head -1; }

fields="outcome class code step percent dialect"
declare -A tot hit
for f in $fields; do tot[$f]=0; hit[$f]=0; done
logs_total=0 logs_right=0 nocontrol=1 noprov="" ho_total=0 ho_right=0

echo "1..$((5 + $(echo $fields | wc -w)))"

for log in "$data"/*.log; do
	name=$(basename "$log" .log)
	exp=$data/$name.expect
	[ -f "$exp" ] || { noprov="$noprov $name(no .expect)"; continue; }
	grep -q "^## $name\$" "$data/PROVENANCE.md" 2>/dev/null || noprov="$noprov $name"
	logs_total=$((logs_total + 1))
	"$bin" explain --json "$log" >"$tmp/json" 2>"$tmp/err"
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/json"; then
		nocontrol=0
	fi
	got_outcome=$(jq -r '.state' <"$tmp/json")
	got_class=$(jq -r '.class // "none"' <"$tmp/json")
	got_code=$(jq -r 'if .code == null then "none" else (.code|tostring) end' <"$tmp/json")
	got_step=$(jq -r '.step // "none"' <"$tmp/json")
	got_percent=$(jq -r '(.percent + 0.5) | floor | tostring' <"$tmp/json")
	got_dialect=$(jq -r '.dialect' <"$tmp/json")
	right=1 miss=""
	for f in $fields; do
		want=$(field "$f" "$exp")
		[ -n "$want" ] || continue
		tot[$f]=$((tot[$f] + 1))
		eval "got=\$got_$f"
		if [ "$got" = "$want" ]; then
			hit[$f]=$((hit[$f] + 1))
		else
			right=0
			miss="$miss $f=$got(want $want)"
		fi
	done
	if grep -q '^holdout=yes' "$exp"; then
		ho_total=$((ho_total + 1))
		[ $right -eq 1 ] && ho_right=$((ho_right + 1))
	fi
	if [ $right -eq 1 ]; then
		logs_right=$((logs_right + 1))
	else
		echo "# miss $name:$miss"
	fi
done

[ "$logs_total" -ge 40 ] && ok "corpus has $logs_total real logs (40 or more)" ||
    notok "corpus has 40 or more real logs" "found $logs_total"
[ -z "$noprov" ] && ok "every log has an .expect and a PROVENANCE.md entry" ||
    notok "every log has an .expect and a PROVENANCE.md entry" "missing:$noprov"
[ $nocontrol -eq 1 ] && ok "no control character in any answer" ||
    notok "no control character in any answer"
classes=$(cat "$data"/*.expect | sed -n 's/^class=//p' | sort -u | tr '\n' ' ')
[ "$(echo $classes | wc -w)" -ge 8 ] && ok "corpus spans classes: $classes" ||
    notok "corpus spans 8 or more classes" "$classes"
for f in $fields; do
	t=${tot[$f]} h=${hit[$f]}
	if [ "$t" -eq 0 ]; then
		notok "field $f: asserted by no log"
		continue
	fi
	pct=$((h * 1000 / t))
	msg="field $f: $h/$t right ($((pct / 10)).$((pct % 10))%)"
	[ $((h * 100)) -ge $((min * t)) ] && ok "$msg" || notok "$msg"
done
pct=$((logs_right * 1000 / (logs_total > 0 ? logs_total : 1)))
msg="whole answer: $logs_right/$logs_total logs right ($((pct / 10)).$((pct % 10))%)"
[ $((logs_right * 100)) -ge $((min * logs_total)) ] && ok "$msg" || notok "$msg"
echo "# held out (labelled before the parser saw them): $ho_right/$ho_total whole answers right"

[ $bad -eq 0 ]
