/* SPDX-License-Identifier: ISC */
/*
 * mcp_bench.c: the Malicious Code Protector's part of `make bench`: records
 * per second and MB/s on both corpora, the cost of a 64 KB SASL blob, and
 * the detection / false-positive table for low, medium and high.
 * Usage: mcp_bench BENIGN.tsv MALICIOUS.tsv
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "mcp.h"

/* One corpus in memory. */
struct corpus {
	unsigned char	**rec;		/* the arguments */
	size_t		 *len;		/* their lengths */
	size_t		  n;		/* how many */
	size_t		  bytes;	/* their total size */
};

/* Seconds of this thread's CPU time: the machine may be shared, and the
 * detector neither sleeps nor waits. */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Value of a hex digit. */
static int
hexval(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Load "kind<TAB>hex" lines. */
static int
load(const char *path, struct corpus *c)
{
	FILE	*f;
	char	*line = NULL, *h;
	size_t	 cap = 0, k, hl;
	ssize_t	 r;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	memset(c, 0, sizeof(*c));
	while ((r = getline(&line, &cap, f)) > 0) {
		if ((h = strchr(line, '\t')) == NULL)
			continue;
		h++;
		hl = strcspn(h, "\r\n") / 2;
		c->rec = realloc(c->rec, (c->n + 1) * sizeof(*c->rec));
		c->len = realloc(c->len, (c->n + 1) * sizeof(*c->len));
		if (c->rec == NULL || c->len == NULL ||
		    (c->rec[c->n] = malloc(hl + 1)) == NULL)
			return -1;
		for (k = 0; k < hl; k++)
			c->rec[c->n][k] = (unsigned char)(hexval(h[2 * k]) << 4 |
			    hexval(h[2 * k + 1]));
		c->len[c->n++] = hl;
		c->bytes += hl;
	}
	free(line);
	fclose(f);
	return 0;
}

/* Judge every record; flagged count, and the time taken in *secs. */
static size_t
run(const struct corpus *c, enum mcp_sensitivity s, double *secs)
{
	size_t	 i, hits = 0;
	double	 t0 = now();

	for (i = 0; i < c->n; i++)
		hits += mcp_scan_arg(c->rec[i], c->len[i], s, NULL);
	*secs = now() - t0;
	return hits;
}

/* Milliseconds per scan of one argument, the median of rounds. */
static double
per_arg_ms(const unsigned char *p, size_t len)
{
	double	 t[9], t0, x;
	int	 i, j;

	for (i = 0; i < 9; i++) {
		t0 = now();
		(void)mcp_scan_arg(p, len, MCP_MEDIUM, NULL);
		t[i] = (now() - t0) * 1e3;
	}
	for (i = 1; i < 9; i++)
		for (j = i; j > 0 && t[j] < t[j - 1]; j--)
			x = t[j], t[j] = t[j - 1], t[j - 1] = x;
	return t[4];
}

int
main(int argc, char *argv[])
{
	static const char	*names[] = { "low", "medium", "high" };
	struct corpus		 ben, mal;
	unsigned char		*raw, *b64;
	double			 tb, tm;
	size_t			 hb, hm, i;
	int			 s;

	if (argc != 3) {
		fprintf(stderr, "usage: mcp_bench BENIGN.tsv MALICIOUS.tsv\n");
		return 1;
	}
	if (mcp_init() == -1 || load(argv[1], &ben) == -1 ||
	    load(argv[2], &mal) == -1)
		return 1;
	printf("corpora: benign %zu records (%.1f MB), malicious %zu records "
	    "(%.2f MB)\n\n", ben.n, ben.bytes / 1e6, mal.n, mal.bytes / 1e6);
	printf("| sensitivity | detected (malicious) | flagged (benign) | "
	    "benign rec/s | benign MB/s | malicious rec/s | malicious MB/s |\n"
	    "|---|---|---|---|---|---|---|\n");
	for (s = MCP_LOW; s <= MCP_HIGH; s++) {
		hb = run(&ben, s, &tb);
		hm = run(&mal, s, &tm);
		printf("| %s | %zu/%zu (%.1f%%) | %zu/%zu (%.3f%%) | %.0f | "
		    "%.2f | %.0f | %.2f |\n", names[s], hm, mal.n,
		    100.0 * hm / mal.n, hb, ben.n, 100.0 * hb / ben.n,
		    ben.n / tb, ben.bytes / tb / 1e6, mal.n / tm,
		    mal.bytes / tm / 1e6);
	}
	/* The worst case the daemons see: a 64 KB SASL line of base64 of
	 * random bytes (judged raw and decoded), and 64 KB of raw random. */
	raw = malloc(49152);
	b64 = malloc(65537);
	srand(1);
	for (i = 0; i < 49152; i++)
		raw[i] = (unsigned char)rand();
	if (raw == NULL || b64 == NULL ||
	    b64_encode(raw, 49152, (char *)b64, 65537) != 65536)
		return 1;
	printf("\n(CPU time) 64 KB base64 SASL blob: %.2f ms per argument; "
	    "48 KB raw random: %.2f ms\n", per_arg_ms(b64, 65536),
	    per_arg_ms(raw, 49152));
	return 0;
}
