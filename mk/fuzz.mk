# fuzz: libFuzzer harnesses for every parser of outside input (tests/fuzz/).
#
# `make fuzz` builds each harness with clang and libFuzzer + ASan + UBSan
# into $(BUILD)/fuzz/ and runs it FUZZ_SECONDS (default 60) from its seeds
# (tests/fuzz/seeds/<name>, tests/fuzz/regress/<name>), FUZZ_JOBS at a time
# (default 1), then prints executions, coverage and findings per harness.
# `make all` builds the same harnesses with $(CC) and a plain main()
# (tests/fuzz/standalone.c) into $(BUILD)/tests/fuzz/, for
# tests/integration/fuzz_regress.sh: no clang needed at test time.
FUZZ_NAMES    := text ibootstr command restore config models scenario store mirror
FUZZ_SECONDS  ?= 60
FUZZ_JOBS     ?= 1
FUZZ_CLANG    ?= clang
FUZZ_SANFLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   := -g -O1 -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Werror -Itests/fuzz
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_SA_DIR   := $(BUILD)/tests/fuzz
FUZZ_HDR      := tests/fuzz/fuzz.h

# The sources each harness needs (libFuzzer build) ...
FUZZ_SRC_text     := src/core/text.c
FUZZ_SRC_ibootstr := src/core/ibootstr.c src/core/text.c
FUZZ_SRC_command  := src/core/command.c src/core/text.c
FUZZ_SRC_restore  := src/core/restore_parse.c src/core/errclass.c src/core/text.c
FUZZ_SRC_config   := src/config.c src/fwconfig.c src/core/command.c src/core/text.c
FUZZ_SRC_models   := src/core/models.c src/core/text.c
FUZZ_SRC_scenario := tests/benchsim/scenario.c
FUZZ_SRC_store    := src/store.c src/store_schema.c src/store_mem.c src/store_write.c src/store_read.c \
	src/store_spool.c src/osutil.c src/core/array.c src/core/errclass.c src/core/restore_parse.c \
	src/core/triage.c src/core/text.c
FUZZ_SRC_mirror  := src/mirror.c src/osutil.c src/core/slot.c src/core/usbid.c src/core/ibootstr.c src/core/command.c \
	src/core/errclass.c src/core/restore_parse.c src/core/text.c
# ... and the libraries.
FUZZ_LIBS_restore := -lm
FUZZ_LIBS_config  := $(shell pkg-config --libs inih 2>/dev/null || echo -linih)
FUZZ_LIBS_store   := $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3) -lm
FUZZ_LIBS_mirror  := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson) -lm
FUZZ_INC_scenario := -Itests/benchsim

# Standalone (gcc) builds: the object of the module itself, not a clang one.
FUZZ_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(filter src/%,$(FUZZ_SRC_$(1)))) \
	$(patsubst tests/benchsim/%.c,$(FUZZ_SA_DIR)/%.o,$(filter tests/benchsim/%,$(FUZZ_SRC_$(1))))

FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_SA_BINS := $(FUZZ_NAMES:%=$(FUZZ_SA_DIR)/fuzz_%)

TEST_BINS += $(FUZZ_SA_BINS)

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) \
		tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_NAMES)

define FUZZ_RULES
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_HDR) $(wildcard include/*.h)
	@mkdir -p $$(dir $$@)
	$(FUZZ_CLANG) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_INC_$(1)) $(FUZZ_SANFLAGS) -o $$@ \
		tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_LIBS_$(1))

$(FUZZ_SA_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/standalone.c $(FUZZ_HDR) \
    $(call FUZZ_OBJ,$(1))
	@mkdir -p $$(dir $$@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DFUZZ_STANDALONE -Itests/fuzz $(FUZZ_INC_$(1)) -o $$@ \
		tests/fuzz/fuzz_$(1).c tests/fuzz/standalone.c $(call FUZZ_OBJ,$(1)) \
		$(LDFLAGS) $(LDSAN) $(FUZZ_LIBS_$(1))
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_RULES,$(n))))

# The scenario parser is benchsim's; compiled here on its own (libc only).
$(FUZZ_SA_DIR)/scenario.o: tests/benchsim/scenario.c tests/benchsim/scenario.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/benchsim -c -o $@ $<
