/* SPDX-License-Identifier: ISC */
/*
 * mcp_bench.c: the Malicious Code Protector's part of `make bench`: records
 * per second and MB/s on both corpora, the CPU cost of one 64 KB argument
 * (a base64 SASL blob, raw random bytes) against capstone decoding every
 * offset once in the same run, and the detection / false-positive table for
 * low, medium and high; the start-up cost and that of the first argument,
 * which fills the decode cache.
 * Usage: mcp_bench BENIGN.tsv MALICIOUS.tsv
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "mcp.h"
#include "mcp_int.h"

/* Rounds of the per-argument cost, each on fresh random bytes. */
#define ROUNDS	9

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

/* Fill p with random bytes. */
static void
fill_random(unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(random() >> 7);
}

/* Sort a few doubles. */
static void
sort(double *t, int n)
{
	double	 x;
	int	 i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && t[j] < t[j - 1]; j--)
			x = t[j], t[j] = t[j - 1], t[j - 1] = x;
}

/*
 * CPU milliseconds of mcp_scan_arg() on a 64 KB argument, median and least
 * of ROUNDS fresh ones (b64: base64 of 48 KB of random bytes, as a SASL
 * blob; else 64 KB of random bytes), and capstone decodes per input byte.
 */
static void
per_arg(int b64, double *median, double *least, double *decodes)
{
	static unsigned char	 raw[65536], text[65537];
	unsigned long		 d0, d = 0;
	double			 t[ROUNDS], t0;
	int			 i;

	for (i = 0; i < ROUNDS; i++) {
		fill_random(raw, sizeof(raw));
		if (b64 && b64_encode(raw, 49152, (char *)text,
		    sizeof(text)) != 65536)
			exit(1);
		d0 = mcp_decodes();
		t0 = now();
		(void)mcp_scan_arg(b64 ? text : raw, 65536, MCP_MEDIUM, NULL);
		t[i] = (now() - t0) * 1e3;
		d += mcp_decodes() - d0;
	}
	sort(t, ROUNDS);
	*median = t[ROUNDS / 2];
	*least = t[0];
	*decodes = (double)d / ROUNDS / 65536;
}

/* Baseline: CPU milliseconds for capstone (details on) to decode every
 * offset of 64 KB of random bytes once, in x86-32: what asking capstone
 * about each offset costs, before the second mode. */
static double
every_offset_ms(void)
{
	static unsigned char	 raw[65536];
	const uint8_t		*code;
	cs_insn			*in;
	uint64_t		 addr;
	size_t			 i, size;
	double			 t0, t;
	csh			 cs;

	fill_random(raw, sizeof(raw));
	if (cs_open(CS_ARCH_X86, CS_MODE_32, &cs) != CS_ERR_OK)
		exit(1);
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	if ((in = cs_malloc(cs)) == NULL)
		exit(1);
	t0 = now();
	for (i = 0; i < sizeof(raw); i++) {
		code = raw + i;
		size = sizeof(raw) - i > 15 ? 15 : sizeof(raw) - i;
		addr = 0;
		(void)cs_disasm_iter(cs, &code, &size, &addr, in);
	}
	t = (now() - t0) * 1e3;
	cs_free(in, 1);
	cs_close(&cs);
	return t;
}

int
main(int argc, char *argv[])
{
	static const char	*names[] = { "low", "medium", "high" };
	struct corpus		 ben, mal;
	double			 tb, tm, t0, init_ms, cold_ms, base;
	double			 med[2], least[2], dec[2];
	size_t			 hb, hm;
	int			 s, i;

	if (argc != 3) {
		fprintf(stderr, "usage: mcp_bench BENIGN.tsv MALICIOUS.tsv\n");
		return 1;
	}
	t0 = now();
	if (mcp_init() == -1)
		return 1;
	init_ms = (now() - t0) * 1e3;
	/* The decode cache fills as bytes are first met: the first 64 KB
	 * of random bytes meets them all. */
	{
		static unsigned char	 cold[65536];

		srandom(2);
		fill_random(cold, sizeof(cold));
		t0 = now();
		(void)mcp_scan_arg(cold, sizeof(cold), MCP_MEDIUM, NULL);
		cold_ms = (now() - t0) * 1e3;
	}
	if (load(argv[1], &ben) == -1 || load(argv[2], &mal) == -1)
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
	srandom(1);
	base = every_offset_ms();
	per_arg(1, &med[0], &least[0], &dec[0]);
	per_arg(0, &med[1], &least[1], &dec[1]);
	printf("\nCPU time per 64 KB argument at medium, median and least of "
	    "%d fresh ones;\nbaseline: capstone decoding each offset once, "
	    "x86-32 only: %.2f ms\n\n| argument | CPU ms | least ms | "
	    "/ baseline | capstone decodes per byte |\n"
	    "|---|---|---|---|---|\n", ROUNDS, base);
	for (i = 0; i < 2; i++)
		printf("| %s | %.2f | %.2f | %.2f | %.3f |\n", i == 0 ?
		    "base64 SASL blob (48 KB random)" : "raw random bytes",
		    med[i], least[i], med[i] / base, dec[i]);
	printf("\nstart-up (mcp_init): %.1f ms CPU; first 64 KB random "
	    "argument, filling the decode cache: %.0f ms CPU\n", init_ms,
	    cold_ms);
	return 0;
}
