/* SPDX-License-Identifier: ISC */
/*
 * fuzz_conf.c: libFuzzer target for the configuration reader.  Any file
 * either gives a policy or is refused with messages that each name the
 * file and a line of it ("file:N: message", 1 <= N <= the file's lines);
 * never a crash, a leak or a silent refusal.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FZ_ERR_MAX	(64 * 1024)	/* error text kept per run */

static char	 fz_path[] = "/tmp/fuzz_conf.XXXXXX";
static int	 fz_fd = -1;		/* the file conf_read parses */

/* Stop the run: a promise of the reader is broken. */
static void
fz_fail(const char *what, const char *errs, size_t len)
{
	fprintf(stderr, "fuzz_conf: %s\n--- messages ---\n%.*s---\n", what,
	    (int)len, errs);
	abort();
}

/* Does line start with "path:N: " for a line N of the file (1..lines)? */
static int
fz_line_ok(const char *line, size_t len, unsigned long lines)
{
	size_t		 plen = strlen(fz_path), i;
	unsigned long	 n = 0;

	if (len < plen + 4 || memcmp(line, fz_path, plen) != 0 ||
	    line[plen] != ':' || !isdigit((unsigned char)line[plen + 1]))
		return 0;
	for (i = plen + 1; i < len && isdigit((unsigned char)line[i]); i++)
		n = n * 10 + (unsigned long)(line[i] - '0');
	return n >= 1 && n <= lines && i + 1 < len && line[i] == ':' &&
	    line[i + 1] == ' ';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 errs[FZ_ERR_MAX];
	struct policy	*pol;
	FILE		*errf;
	unsigned long	 lines = 1;
	size_t		 i, len, start;

	if (fz_fd == -1 && (fz_fd = mkstemp(fz_path)) == -1)
		abort();
	if (ftruncate(fz_fd, 0) == -1 ||
	    (size > 0 && pwrite(fz_fd, data, size, 0) != (ssize_t)size))
		abort();
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	memset(errs, 0, sizeof(errs));
	if ((errf = fmemopen(errs, sizeof(errs) - 1, "w")) == NULL)
		abort();
	pol = pol_load(fz_path, errf);
	fclose(errf);
	len = strlen(errs);
	if (pol != NULL) {
		if (len != 0)
			fz_fail("a policy and messages", errs, len);
		pol_unref(pol);
		return 0;
	}
	if (len == 0)
		fz_fail("refused without a message", errs, len);
	for (start = 0; start < len; start = i + 1) {
		for (i = start; i < len && errs[i] != '\n'; i++)
			;
		if (!fz_line_ok(errs + start, i - start, lines))
			fz_fail("a message without file and line", errs, len);
	}
	return 0;
}
