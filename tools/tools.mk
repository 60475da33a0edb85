# SPDX-License-Identifier: ISC
# tools/: mailwarden-mcp, the Malicious Code Protector on the command line.

PROGS		+= bin/mailwarden-mcp

bin/mailwarden-mcp: $(B)/tools/mcp_cli.o $(CORE_LIB) $(BIN_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(LINK_INPUTS) $(CORE_LIBS)

# The corpora of the detector's tests and benchmark, generated (same bytes
# every run) from tests/mcp/shellcode.tsv and a fixed seed.
MCP_CORPUS	:= $(B)/tests/mcp/benign.tsv $(B)/tests/mcp/malicious.tsv

$(MCP_CORPUS) &: tests/mcp/gen_corpus.py tests/mcp/shellcode.tsv
	python3 tests/mcp/gen_corpus.py $(B)/tests/mcp

.PHONY: mcp-corpus
mcp-corpus: $(MCP_CORPUS)

# bench/mcp.sh runs it (make bench).
$(B)/bench/mcp_bench: $(B)/bench/mcp_bench.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# The corpus test reads the corpora next to it.
$(B)/tests/check_mcp: | $(MCP_CORPUS)
