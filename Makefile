# idevicebench: hand-written Makefile.  `make`, `make check`, `make demo`, `make run`.
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DATADIR  ?= $(PREFIX)/share/idevicebench
LIBDIR   ?= $(PREFIX)/lib/idevicebench
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR  ?=
CC       ?= cc
BUILD    ?= build
VERSION  := 0.1.0

PKGS     := ncursesw libusb-1.0 libimobiledevice-1.0 libirecovery-1.0 libplist-2.0 sqlite3 inih jansson libpq libzip libcurl libcrypto
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wno-format-truncation
STD      := -std=gnu11
CPPFLAGS += -iquote include -DIDB_VERSION='"$(VERSION)"' -DIDB_DATADIR='"$(DATADIR)"' -DIDB_LIBDIR='"$(LIBDIR)"'
ifeq ($(SAN),1)
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
endif
CFLAGS   += $(OPT) $(WARN) $(STD)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lpthread

# Core: pure C, libc only (checked by `make check-layers`).
CORE_SRC := $(sort $(wildcard src/core/*.c))
APP_SRC  := $(sort $(wildcard src/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
# Everything but main.o, so adapter tests can link the real modules.
LIB_OBJ  := $(CORE_OBJ) $(filter-out $(BUILD)/src/main.o,$(APP_OBJ))

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)

BIN      := $(BUILD)/idevicebench
# Preloaded into Debian's idevicerestore 1.0.0 children (src/preload/irecvfix.c).
# Never sanitized: it runs inside programs that are not.
IRECVFIX := $(BUILD)/libidevicebench-irecvfix.so

.PHONY: all deps check check-asan check-run check-layers demo run install clean bench fuzz

all: $(BIN) $(IRECVFIX) tests-build

deps:
	@scripts/install-deps

$(BUILD)/src/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(BIN): $(CORE_OBJ) $(APP_OBJ)
	$(CC) $(LDFLAGS) $(LDSAN) -o $@ $^ $(PKG_LIBS)
	@ln -sf $(BUILD)/idevicebench idevicebench 2>/dev/null || true

$(IRECVFIX): src/preload/irecvfix.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $(STD) -shared -fPIC -o $@ $<

# Unit tests link every module except main; they may use any of them.
$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJ) tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDSAN) $(PKG_LIBS) -lcmocka

# test_job holds SIGCHLD blocked to choose when the loop hears of an exit: that needs a
# process of one thread, so it links only the job runner (with osutil) and the core (libirecovery's
# constructor starts a libusb thread that would take the signal).
$(BUILD)/tests/unit/test_job: tests/unit/test_job.c $(BUILD)/src/job.o $(BUILD)/src/osutil.o $(CORE_OBJ) tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/src/job.o $(BUILD)/src/osutil.o $(CORE_OBJ) $(LDFLAGS) $(LDSAN) \
		-lev -lpthread -lcmocka

# test_spawn_locks defines chdir() itself, as an LD_PRELOAD wrapper would: same link.
$(BUILD)/tests/unit/test_spawn_locks: tests/unit/test_spawn_locks.c $(BUILD)/src/job.o $(BUILD)/src/osutil.o \
    $(CORE_OBJ) tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/src/job.o $(BUILD)/src/osutil.o $(CORE_OBJ) \
		$(LDFLAGS) $(LDSAN) \
		-lev -lpthread -lcmocka

TEST_BINS := $(UNIT_BIN)
# Further test programs (benchsim, usbwatch tester, ...) come from mk/*.mk and append to TEST_BINS.
-include mk/*.mk

tests-build: $(TEST_BINS)

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory check-layers
	@tests/run $(BUILD)

check-run: all
	@tests/run $(BUILD)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all
	@ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		IDB_SANITIZED=1 tests/run build-asan

# The layers as a whitelist (scripts/check-layers): core files and core headers
# include only libc headers and core headers; curses.h only in ui*.c, libusb.h
# only in usbwatch.c; and function definitions in style(9) form (scripts/check-style).
# tests/integration/check_layers.sh shows both catch what they should.
check-layers:
	@scripts/check-layers
	@scripts/check-style

demo: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD)/demo
	@scripts/demo-firmware config/demo.scenario config/models.tsv build/demo/firmware
	tests/benchsim/benchsim --speed 1 config/demo.scenario -- $(BIN) -c config/demo-live.conf \
		--db $(BUILD)/demo/history.db --log-dir $(BUILD)/demo/logs

run: deps
	@$(MAKE) --no-print-directory $(BIN) $(IRECVFIX)
	$(BIN)

install: $(BIN) $(IRECVFIX)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(LIBDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/idevicebench
	install -m 0644 $(IRECVFIX) $(DESTDIR)$(LIBDIR)/libidevicebench-irecvfix.so
	install -m 0644 man/idevicebench.1 $(DESTDIR)$(MANDIR)/man1/idevicebench.1
	install -m 0644 man/idevicebench.conf.5 $(DESTDIR)$(MANDIR)/man5/idevicebench.conf.5
	install -m 0644 config/models.tsv $(DESTDIR)$(DATADIR)/models.tsv
	install -d $(DESTDIR)$(SYSTEMDDIR)
	sed 's|@BINDIR@|$(BINDIR)|g' contrib/idevicebench.service.in >$(DESTDIR)$(SYSTEMDDIR)/idevicebench.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/idevicebench.service

clean:
	rm -rf build build-asan idevicebench

-include $(CORE_OBJ:.o=.d) $(APP_OBJ:.o=.d)
