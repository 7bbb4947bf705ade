# ipsw: a tiny driver for src/ipsw.c (and ipsw_xml.c) and src/ipsw_prep.c used by tests/integration/ipsw_*.sh.
# Links only the module it drives (and text.o), so it builds even while other
# modules are being edited.
IPSWPREP := $(BUILD)/tests/ipsw/ipswprep
TEST_BINS += $(IPSWPREP)

$(IPSWPREP): tests/ipsw/ipswprep.c $(BUILD)/src/ipsw.o $(BUILD)/src/ipsw_xml.o $(BUILD)/src/ipsw_prep.o $(BUILD)/src/osutil.o $(BUILD)/src/core/text.o include/ipsw.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/src/ipsw.o $(BUILD)/src/ipsw_xml.o $(BUILD)/src/ipsw_prep.o $(BUILD)/src/osutil.o $(BUILD)/src/core/text.o \
		$(LDFLAGS) $(LDSAN) $(shell pkg-config --libs libzip libplist-2.0) -lev -lpthread
