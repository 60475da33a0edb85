# SPDX-License-Identifier: ISC
# milter/: mailwarden-milter.  mlt_policy.c and mlt_table.c are pure (no
# libmilter) and are linked into the unit tests as well.

MLT_LIB_OBJS	:= $(B)/milter/mlt_policy.o $(B)/milter/mlt_table.o
MLT_OBJS	:= $(MLT_LIB_OBJS) $(B)/milter/mlt_filter.o \
		   $(B)/milter/mlt_main.o

PROGS		+= bin/mailwarden-milter

bin/mailwarden-milter: $(MLT_OBJS) $(CORE_LIB) $(BIN_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(LINK_INPUTS) $(CORE_LIBS) $(MILTER_LIBS)

CHECK_EXTRA_mlt_policy := $(MLT_LIB_OBJS)
CHECK_EXTRA_mlt_table := $(MLT_LIB_OBJS)
$(B)/tests/unit/check_mlt_%.o: CPPFLAGS += -Imilter
