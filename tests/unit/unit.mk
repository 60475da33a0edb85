# SPDX-License-Identifier: ISC
# tests/unit/: one Check program per tests/unit/check_<name>.c.  A module
# whose tests need more than libcore.a sets, in its own fragment,
#   CHECK_EXTRA_<name> := objects      CHECK_LIBS_<name> := -lfoo
# (e.g. CHECK_EXTRA_p3_parse := $(P3_LIB_OBJS)).

UNIT_SRCS	:= $(wildcard tests/unit/check_*.c)
UNIT_TESTS	:= $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: unit-build
unit-build: $(UNIT_TESTS)

$(B)/tests/unit/%.o: EXTRA_CFLAGS = $(CHECK_CFLAGS) $(CAPSTONE_CFLAGS)

.SECONDEXPANSION:
$(B)/tests/check_%: $(B)/tests/unit/check_%.o $$(CHECK_EXTRA_$$*) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(CHECK_LIBS) $(CHECK_LIBS_$*) $(SSL_LIBS) $(EV_LIBS)
