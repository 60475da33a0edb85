# SPDX-License-Identifier: ISC
# tools/: mailwarden-mcp, the Malicious Code Protector on the command line.

PROGS		+= bin/mailwarden-mcp

bin/mailwarden-mcp: $(B)/tools/mcp_cli.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)
