# usbwatch: the umockdev tester for src/usbwatch.c (single process; links libusb,
# libev and libumockdev, NOT libirecovery, whose constructor would grab libusb first).
# Built only where umockdev's development files are installed; the integration
# test (tests/integration/usbwatch.sh) skips with 77 when umockdev is missing.
USBWATCH_UMOCKDEV := $(shell pkg-config --exists umockdev-1.0 2>/dev/null && echo yes)
ifeq ($(USBWATCH_UMOCKDEV),yes)
USBWATCH_TEST      := $(BUILD)/tests/usbwatch/usbwatch_test
USBWATCH_T_CFLAGS  := $(shell pkg-config --cflags umockdev-1.0 libusb-1.0)
USBWATCH_T_LIBS    := $(shell pkg-config --libs umockdev-1.0 libusb-1.0) -lev
TEST_BINS += $(USBWATCH_TEST)

$(USBWATCH_TEST): tests/usbwatch/usbwatch_test.c $(BUILD)/src/usbwatch.o $(BUILD)/src/core/array.o $(BUILD)/src/core/usbid.o include/usbwatch.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(USBWATCH_T_CFLAGS) -o $@ $< $(BUILD)/src/usbwatch.o $(BUILD)/src/core/array.o $(BUILD)/src/core/usbid.o \
		$(LDFLAGS) $(LDSAN) $(USBWATCH_T_LIBS)
endif
