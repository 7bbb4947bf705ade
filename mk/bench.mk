# Benchmarks (performance issue #7): bench/parsebench (restore_parse
# throughput), bench/schedsim (admission policies on a simulated bench) and
# bench/wsbench.py (whole system under benchsim: console overhead against
# tmux, key latency, 256-slot scale; python3 and tmux, nothing to build) and
# bench/fwbench.sh (firmware downloads against curl, scan; needs nginx).
# Both link only the core objects (libc only). They are built with `make all`
# so they never rot, but only `make bench` runs them: no timing in make check.
# bench/run-bench runs every section and prints the figures as Markdown;
# `bench/run-bench -w` also rewrites the generated blocks of docs/PERFORMANCE.md.
BENCH_DIR  := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/parsebench $(BENCH_DIR)/schedsim

TEST_BINS += $(BENCH_BINS)
.SECONDARY: $(BENCH_BINS:%=%.o)

$(BENCH_DIR)/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BENCH_BINS): %: %.o $(CORE_OBJ)
	$(CC) $(LDFLAGS) $(LDSAN) -o $@ $^ -lm

# -w: the figures also go into docs/PERFORMANCE.md (BENCH_ARGS= to only print;
# BENCH_ARGS="-w parse" for one section).
BENCH_ARGS ?= -w
# console and scale (bench/wsbench.py) run the binary under benchsim.
bench: $(BENCH_BINS) $(BIN) $(BUILD)/tests/benchsim/benchsim $(BUILD)/tests/benchsim/fakerestore
	IDB_BUILD=$(BUILD) bench/run-bench $(BENCH_ARGS)

-include $(BENCH_DIR)/parsebench.d $(BENCH_DIR)/schedsim.d
