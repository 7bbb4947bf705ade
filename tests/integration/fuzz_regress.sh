#!/usr/bin/env bash
# fuzz_regress: every fuzz harness, built without libFuzzer by mk/fuzz.mk
# ($IDB_BUILD/tests/fuzz/fuzz_NAME), run over its seed corpus
# (tests/fuzz/seeds/NAME) and every input a fuzzer once found
# (tests/fuzz/regress/NAME). A harness aborts on a broken invariant, and
# under the sanitizer build on any memory error, so each must get through
# all of its inputs. No clang needed.
set -u
. "$IDB_TOP/tests/lib.sh"
names=(text ibootstr command restore config models scenario store mirror)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for n in "${names[@]}"; do
	bin="$IDB_BUILD/tests/fuzz/fuzz_$n"
	seeds=() regress=()
	for set in seeds regress; do
		[ -d "$IDB_TOP/tests/fuzz/$set/$n" ] || continue
		while IFS= read -r -d '' f; do
			if [ "$set" = seeds ]; then seeds+=("$f"); else regress+=("$f"); fi
		done < <(find "$IDB_TOP/tests/fuzz/$set/$n" -type f -print0 | sort -z)
	done
	what="$n: ${#seeds[@]} seeds, ${#regress[@]} regression inputs"
	if [ ! -x "$bin" ]; then
		not_ok "$what: $bin not built"
		continue
	fi
	if [ ${#seeds[@]} -eq 0 ]; then
		not_ok "$what: no seed corpus"
		continue
	fi
	all=("${seeds[@]}" "${regress[@]}")
	if out=$("$bin" "${all[@]}" 2>&1) && [ "$out" = "${#all[@]} inputs ran" ]; then
		ok "$what"
	else
		not_ok "$what"
		printf '%s\n' "$out" | tail -n 25 | sed 's/^/# /'
	fi
done
done_testing
