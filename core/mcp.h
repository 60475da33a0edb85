/* SPDX-License-Identifier: ISC */
/*
 * mcp.h: the Malicious Code Protector (SPEC section 5): finds x86/x86-64
 * machine code in a command argument.  Thread-safe, no allocation per call
 * beyond what mcp_init() set up, cost linear in the input.
 */
#ifndef MW_MCP_H
#define MW_MCP_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define MCP_REASON_MAX	96

/* Once per process, before threads: 0 or -1 (capstone unusable). */
int	mcp_init(void);

/* Fill the decode cache up front (daemons, at start-up); optional. */
void	mcp_warm(void);

/*
 * Judge raw bytes.  Returns true when machine code is found, with a short
 * reason such as "x86 NOP sled 48 bytes" in reason (if not NULL).
 */
bool	mcp_scan(const void *buf, size_t len, enum mcp_sensitivity,
	    char reason[MCP_REASON_MAX]);

/*
 * Judge an argument as the daemons do: the bytes themselves and, when the
 * argument is valid base64, its decoded bytes as well.
 */
bool	mcp_scan_arg(const void *buf, size_t len, enum mcp_sensitivity,
	    char reason[MCP_REASON_MAX]);

#endif
