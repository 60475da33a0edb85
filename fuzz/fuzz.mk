# SPDX-License-Identifier: ISC
# fuzz/: libFuzzer targets, built with clang into build-fuzz/ by `make fuzz`
# (not part of `all`).  Run, for example:
#   build-fuzz/fuzz_mcp -max_total_time=60 -max_len=70000 -timeout=5 DIR
#   build-fuzz/fuzz_p3 -dict=fuzz/p3.dict -max_len=8192 -timeout=5 DIR
#   build-fuzz/fuzz_mlt -dict=fuzz/mlt.dict -max_len=8192 -timeout=5 DIR
#   build-fuzz/fuzz_conf -dict=fuzz/conf.dict -max_len=4096 -timeout=5 DIR

FUZZ_CC		?= clang
FUZZ_DIR	:= build-fuzz
FUZZ_FLAGS	:= -g -O1 -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=all -D_GNU_SOURCE -Icore \
		   $(CAPSTONE_CFLAGS)
FUZZ_MCP_SRCS	:= fuzz/fuzz_mcp.c $(wildcard core/mcp*.c) core/b64.c
FUZZ_P3_SRCS	:= fuzz/fuzz_p3.c pop3hook/p3_parse.c pop3hook/p3_sasl.c \
		   pop3hook/p3_state.c core/b64.c core/log.c
FUZZ_MLT_SRCS	:= fuzz/fuzz_mlt.c milter/mlt_policy.c milter/mlt_table.c \
		   core/log.c core/registry.c core/cidr.c core/conf.c \
		   core/conf_text.c core/policy.c
FUZZ_CONF_SRCS	:= fuzz/fuzz_conf.c core/conf.c core/policy.c core/cidr.c \
		   core/registry.c core/log.c core/conf_text.c

fuzz: $(FUZZ_DIR)/fuzz_mcp $(FUZZ_DIR)/fuzz_p3 $(FUZZ_DIR)/fuzz_mlt \
    $(FUZZ_DIR)/fuzz_conf

$(FUZZ_DIR)/fuzz_mcp: $(FUZZ_MCP_SRCS) core/mcp.h core/mcp_int.h core/b64.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_MCP_SRCS) $(CAPSTONE_LIBS) \
	    -pthread

$(FUZZ_DIR)/fuzz_p3: $(FUZZ_P3_SRCS) $(wildcard pop3hook/*.h) core/log.h \
    core/b64.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Ipop3hook -o $@ $(FUZZ_P3_SRCS) -pthread

$(FUZZ_DIR)/fuzz_mlt: $(FUZZ_MLT_SRCS) $(wildcard milter/*.h) \
    $(wildcard core/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CONFUSE_CFLAGS) -Imilter -o $@ \
	    $(FUZZ_MLT_SRCS) $(CONFUSE_LIBS) -pthread

$(FUZZ_DIR)/fuzz_conf: $(FUZZ_CONF_SRCS) $(wildcard core/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CONFUSE_CFLAGS) -o $@ $(FUZZ_CONF_SRCS) \
	    $(CONFUSE_LIBS) -pthread
