# SPDX-License-Identifier: ISC
# fuzz/: libFuzzer targets, built with clang into build-fuzz/ by `make fuzz`
# (not part of `all`).  Run: build-fuzz/fuzz_mcp -max_total_time=60
#   -max_len=70000 -timeout=5 fuzz-corpus/

FUZZ_CC		?= clang
FUZZ_DIR	:= build-fuzz
FUZZ_FLAGS	:= -g -O1 -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=all -D_GNU_SOURCE -Icore \
		   $(CAPSTONE_CFLAGS)
FUZZ_MCP_SRCS	:= fuzz/fuzz_mcp.c $(wildcard core/mcp*.c) core/b64.c

fuzz: $(FUZZ_DIR)/fuzz_mcp

$(FUZZ_DIR)/fuzz_mcp: $(FUZZ_MCP_SRCS) core/mcp.h core/mcp_int.h core/b64.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_MCP_SRCS) $(CAPSTONE_LIBS) \
	    -pthread
