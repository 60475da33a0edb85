# SPDX-License-Identifier: ISC
# core/: libcore.a, the policy, configuration, events and detector library.

CORE_SRCS	:= core/log.c core/registry.c core/cidr.c core/conf.c \
		   core/conf_text.c core/policy.c core/evt.c core/b64.c \
		   core/daemon.c \
		   $(wildcard core/mcp*.c)
CORE_OBJS	:= $(CORE_SRCS:%.c=$(B)/%.o)

$(B)/core/conf.o: EXTRA_CFLAGS = $(CONFUSE_CFLAGS)
$(B)/core/daemon.o: EXTRA_CFLAGS = $(SYSTEMD_CFLAGS)
$(B)/core/mcp.o $(B)/core/mcp_%.o: EXTRA_CFLAGS = $(CAPSTONE_CFLAGS)

$(CORE_LIB): $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
