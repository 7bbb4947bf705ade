# The console's preview program: the real ui*.c over tests/ui/fakebench.c.
# The fake bench stands in for src/bench.c and src/runner.c, so the modules come from an
# archive without bench.o and runner.o: only what ui*.o need is pulled in.
UI_PREVIEW   := $(BUILD)/tests/ui/uipreview
UI_LIB       := $(BUILD)/tests/ui/libidb-nobench.a
UI_LIB_OBJ   := $(filter-out $(BUILD)/src/bench.o $(BUILD)/src/runner.o,$(LIB_OBJ))

$(UI_LIB): $(UI_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $(UI_LIB_OBJ)

# -MMD: the fake bench is rebuilt when a header it shares (bench.h, slot.h) changes
$(BUILD)/tests/ui/%.o: tests/ui/%.c tests/ui/fakebench.h include/ui.h include/benchview.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -Itests/ui -MMD -MP -c -o $@ $<

$(UI_PREVIEW): $(BUILD)/tests/ui/uipreview.o $(BUILD)/tests/ui/fakebench.o $(UI_LIB)
	$(CC) $(LDFLAGS) $(LDSAN) -o $@ $(BUILD)/tests/ui/uipreview.o $(BUILD)/tests/ui/fakebench.o \
		$(UI_LIB) $(PKG_LIBS) -lm

TEST_BINS += $(UI_PREVIEW)

-include $(BUILD)/tests/ui/uipreview.d $(BUILD)/tests/ui/fakebench.d
