# SPDX-License-Identifier: ISC
# pop3hook/: mailwarden-pop3hook, the pre-auth POP3 proxy.  P3_LIB_OBJS are
# the parts without a main(), linked into the unit tests as well.

P3_LIB_SRCS	:= pop3hook/p3_parse.c pop3hook/p3_sasl.c pop3hook/p3_state.c \
		   pop3hook/p3_hdr.c pop3hook/p3_iptab.c pop3hook/p3_relay.c \
		   pop3hook/p3_conn.c
P3_LIB_OBJS	:= $(P3_LIB_SRCS:%.c=$(B)/%.o)

PROGS		+= bin/mailwarden-pop3hook

bin/mailwarden-pop3hook: $(B)/pop3hook/p3_main.o $(P3_LIB_OBJS) $(CORE_LIB) $(BIN_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(LINK_INPUTS) $(CORE_LIBS) $(EV_LIBS)

CHECK_EXTRA_p3_parse	:= $(P3_LIB_OBJS)
CHECK_EXTRA_p3_state	:= $(P3_LIB_OBJS)
CHECK_LIBS_p3_parse	:= $(EV_LIBS)
CHECK_LIBS_p3_state	:= $(EV_LIBS)

# The pop3hook unit tests include pop3hook's headers.
$(B)/tests/unit/check_p3_%.o: EXTRA_CFLAGS = $(CHECK_CFLAGS) $(CAPSTONE_CFLAGS) -Ipop3hook
