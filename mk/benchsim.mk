# benchsim: the emulated USB bench (tests/benchsim), its fake idevicerestore
# and a tiny libusb lister. Built into $(BUILD)/tests/benchsim/; the stable
# path tests/benchsim/benchsim is a symlink to build/tests/benchsim/benchsim.
BSIM_DIR   := $(BUILD)/tests/benchsim
BSIM_PKGS  := umockdev-1.0 glib-2.0 gobject-2.0
BSIM_CFLAGS = $(shell pkg-config --cflags $(BSIM_PKGS)) -Itests/benchsim
BSIM_LIBS   = $(shell pkg-config --libs $(BSIM_PKGS)) -lpthread
BSIM_TEXT  := $(BUILD)/src/core/text.o
BSIM_MODELS := $(BUILD)/src/core/models.o

TEST_BINS += $(BSIM_DIR)/benchsim $(BSIM_DIR)/fakerestore $(BSIM_DIR)/usblist
ifeq ($(BUILD),build)
TEST_BINS += tests/benchsim/benchsim
.PHONY: tests/benchsim/benchsim
else
# Another build (build-asan) links the stable path only when nothing is there.
TEST_BINS += bsim-link
.PHONY: bsim-link
bsim-link: $(BSIM_DIR)/benchsim $(BSIM_DIR)/fakerestore
	@[ -e tests/benchsim/benchsim ] || ln -sfn ../../$(BSIM_DIR)/benchsim tests/benchsim/benchsim
endif

$(BSIM_DIR)/%.o: tests/benchsim/%.c tests/benchsim/scenario.h tests/benchsim/emudev.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(BSIM_CFLAGS) -DBENCHSIM_TOP='"$(CURDIR)"' -c -o $@ $<

$(BSIM_DIR)/benchsim: $(BSIM_DIR)/benchsim.o $(BSIM_DIR)/emudev.o $(BSIM_DIR)/scenario.o $(BSIM_TEXT)
	$(CC) $(LDFLAGS) $(LDSAN) -o $@ $^ $(BSIM_LIBS)

$(BSIM_DIR)/fakerestore: $(BSIM_DIR)/fakerestore.o $(BSIM_DIR)/scenario.o $(BSIM_MODELS) $(BSIM_TEXT)
	$(CC) $(LDFLAGS) $(LDSAN) -o $@ $^

$(BSIM_DIR)/usblist: $(BSIM_DIR)/usblist.o $(BSIM_TEXT)
	$(CC) $(LDFLAGS) $(LDSAN) -o $@ $^ $(shell pkg-config --libs libusb-1.0)

$(BSIM_DIR)/usblist.o: BSIM_CFLAGS += $(shell pkg-config --cflags libusb-1.0)

# The path DESIGN.md promises (make demo, the lead's tests): always the
# default build's binary; tests use $(IDB_BUILD)/tests/benchsim/benchsim.
tests/benchsim/benchsim: $(BSIM_DIR)/benchsim $(BSIM_DIR)/fakerestore
	@ln -sfn ../../build/tests/benchsim/benchsim $@
