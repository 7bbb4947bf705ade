#!/usr/bin/env bash
# fuzz_regress: every fuzz harness, built without libFuzzer by mk/fuzz.mk
# ($IDB_BUILD/tests/fuzz/fuzz_NAME), run over its seed corpus
# (tests/fuzz/seeds/NAME) and every input a fuzzer once found
# (tests/fuzz/regress/NAME). A harness aborts on a broken invariant, and
# under the sanitizer build on any memory error, so each must get through
# all of its inputs. No clang needed.
set -u
top=${IDB_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${IDB_BUILD:-$top/build}
names=(text ibootstr command restore config models scenario store mirror)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "1..${#names[@]}"
t=0
for n in "${names[@]}"; do
	t=$((t + 1))
	bin="$build/tests/fuzz/fuzz_$n"
	seeds=() regress=()
	for set in seeds regress; do
		[ -d "$top/tests/fuzz/$set/$n" ] || continue
		while IFS= read -r -d '' f; do
			if [ "$set" = seeds ]; then seeds+=("$f"); else regress+=("$f"); fi
		done < <(find "$top/tests/fuzz/$set/$n" -type f -print0 | sort -z)
	done
	what="$n: ${#seeds[@]} seeds, ${#regress[@]} regression inputs"
	if [ ! -x "$bin" ]; then
		echo "not ok $t - $what: $bin not built"
		continue
	fi
	if [ ${#seeds[@]} -eq 0 ]; then
		echo "not ok $t - $what: no seed corpus"
		continue
	fi
	all=("${seeds[@]}" "${regress[@]}")
	if out=$("$bin" "${all[@]}" 2>&1) && [ "$out" = "${#all[@]} inputs ran" ]; then
		echo "ok $t - $what"
	else
		echo "not ok $t - $what"
		printf '%s\n' "$out" | tail -n 25 | sed 's/^/# /'
	fi
done
