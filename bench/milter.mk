# SPDX-License-Identifier: ISC
# bench/milter.mk: the null milters of bench/milter.sh.

NULL_MILTER	:= $(B)/bench/null_milter
PROGS		+= $(NULL_MILTER)

$(B)/bench/null_milter.o: CPPFLAGS += -Imilter

$(NULL_MILTER): $(B)/bench/null_milter.o $(B)/milter/mlt_filter.o \
    $(MLT_LIB_OBJS) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS) $(MILTER_LIBS)
