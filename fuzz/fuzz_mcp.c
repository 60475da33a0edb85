/* SPDX-License-Identifier: ISC */
/*
 * fuzz_mcp.c: libFuzzer target for the Malicious Code Protector: every
 * input is judged raw and as an argument at each sensitivity; the first
 * byte picks one, the rest is the argument.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			 reason[MCP_REASON_MAX];
	enum mcp_sensitivity	 s;

	if (mcp_init() == -1 || size == 0)
		return 0;
	s = (enum mcp_sensitivity)(data[0] % 3);
	if (mcp_scan_arg(data + 1, size - 1, s, reason))
		/* The reason is a terminated string that fits. */
		if (memchr(reason, '\0', sizeof(reason)) == NULL)
			__builtin_trap();
	(void)mcp_scan(data + 1, size - 1, s, NULL);
	return 0;
}
