/* SPDX-License-Identifier: ISC */
/*
 * check_mcp.c: the Malicious Code Protector: one case per technique (sled,
 * GetPC, decoder loop, system call chain, executable chain, printable
 * decoder, base64), benign look-alikes, threads, and both corpora.
 */
#include <check.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "mcp.h"
#include "mcp_int.h"

/*
 * Calls into capstone allowed per input byte: the decode cache answers for
 * the rest.  A scan that decoded every offset of both modes would make
 * over 2 per byte (both modes, overlapping windows); a scan of random
 * bytes makes about 0.020 today: the VEX, EVEX and XOP forms whose map
 * exists, whose summary rests on bytes beyond the cache's key, are asked
 * for, and prefixed forms no derivation covers (those whose map field
 * names no map are held invalid; a prefix behind another, most prefixed
 * forms and the add and sub steps of byte and 32-bit registers are
 * summarised without capstone; printable text in x86-32 and the 0f
 * escapes have a third level; the overlap of windows is decoded once).
 */
#define CHECK_DECODES_PER_KB	36

/* Where this program lives: the corpora are in mcp/ next to it. */
static char	 check_dir[4096] = ".";

/*
 * Under valgrind capstone runs some 50 times slower, and the comparisons
 * of cached summaries against it over every byte pair would take hours.
 * tests/run-all sets MW_UNDER_VALGRIND=1 there; the innermost byte loop
 * of each such comparison then takes one value in sample_step(), from an
 * offset that moves with the outer byte, so every value of each byte is
 * still met, in about a sixteenth of the pairs.  Outside valgrind the step
 * is 1 and every pair is compared.
 */
#define VG_SAMPLE	16
static int	 under_valgrind;

/* The step of an inner loop over n values: 1, or under valgrind the least
 * divisor of n from VG_SAMPLE up (each outer index meets n / step). */
static unsigned
sample_step(unsigned n)
{
	unsigned	 d;

	if (!under_valgrind)
		return 1;
	for (d = VG_SAMPLE; n % d != 0; d++)
		;
	return d;
}

/* One argument and the reason it must get (NULL: clean). */
struct mcp_case {
	const char	*name;		/* what it is */
	const char	*hex;		/* its bytes, hex; or NULL: text */
	const char	*text;		/* its bytes as a string */
	int		 repeat;	/* text repeated this many times */
	const char	*want;		/* reason prefix at medium, or NULL */
};

static const struct mcp_case mcp_cases[] = {
	{ "nop sled", "90909090909090909090909090909090909090909090909090"
	  "9090909090909090909090909090909090909090909090cc", NULL, 0,
	  "x86 NOP sled 48 bytes" },
	{ "polymorphic sled", "414243469091929396979899f5f8f9fc27373f2f"
	  "4a4b4e4f909192934041424346474849fccc", NULL, 0,
	  "x86 NOP sled 34 bytes" },
	{ "call/pop", "e8000000005d83c50a31c9b1" "20807500aa45e2f9", NULL, 0,
	  "GetPC sequence call/pop" },
	{ "jmp/call/pop", "eb0e5b4b31c9b11e80340baae2faeb05e8edffffff"
	  "c09ab4c3c3d8c2c5c1", NULL, 0, "GetPC sequence call/pop" },
	{ "fnstenv", "d9eed97424f45b81731378563412" "83ebfce2f4", NULL, 0,
	  "GetPC sequence fnstenv" },
	{ "decoder loop", "31c9b1208036aa46e2fa", NULL, 0,
	  "decoder loop 3 instructions" },
	{ "execve int 0x80", "6a0b58995268" "2f2f7368682f62696e89e331c9cd80",
	  NULL, 0, "system call chain 9 instructions" },
	{ "x86-64 execve syscall", "4831f65648bf2f62696e2f2f736857545f6a3b"
	  "58990f05", NULL, 0, "system call chain" },
	{ "PEB walk", "31c9648b41308b400c8b7014ad96ad8b481031db8b593c01cb8b5b"
	  "7801cb8b732001ce31d242ad01c881384765745075f4817804726f634175eb"
	  "8178086464726575e28b731c01ce8b149601ca89d689cf31db53", NULL, 0,
	  "executable chain" },
	{ "alpha_upper", NULL, "PYIIIIIIIIIIQZVTX30VX4AP0A3HH0A00ABAABTAAQ2AB2B"
	  "B0BBXP8ACJJISZTK1HMIQBSVCX6MU3K9M7CXVOSC3XS0BHVOBBE9RNLIJC62ZH5X5PS"
	  "0C0FOE22I2NFOSCRHEP0WQCK9KQ8MK0AA", 1, "alphanumeric decoder" },
	{ "alpha_mixed", NULL, "PYIIIIIIIIIIIIIIII7QZjAXP0A0AkAAQ2AB2BB0BBABXP8"
	  "ABuJIFQkyHwhah0vk0QaxtoDorSCX1xDobB59rNlIXcHMOpAA", 1,
	  "alphanumeric decoder" },
	{ "base64 sled", NULL, "kJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQ"
	  "kJCQkJCQkJCQkJDM", 1, "x86 NOP sled 44 bytes in base64" },
	{ "password", NULL, "password123", 1, NULL },
	{ "strong password", NULL, "k#8Q!z]w^2P{x~7@Lm0(uV;", 1, NULL },
	{ "cyrillic", NULL, "Пароль_Зимний2024", 1, NULL },
	{ "cjk", NULL, "密码是长城万里长", 1, NULL },
	{ "thai", NULL, "รหัสผ่านของฉันยาวมาก", 1, NULL },
	{ "passphrase", NULL, "correct horse battery staple", 1, NULL },
	{ "upper-case run", NULL, "A", 400, NULL },
	{ "upper-case word run", NULL, "TIGER", 80, NULL },
	{ "sasl plain", NULL, "AHVzZXJAZXhhbXBsZS5jb20AczNjcjN0IVBhc3M=", 1,
	  NULL },
	{ "hex token", NULL, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c"
	  "d15d6c15b0f00a08", 1, NULL },
	{ "random gss token", "5a03ebac982ddff7317b6f68cbf9025fa60542044dfd5932"
	  "f7f549a3749df3ab56d1e76aa17ef85fa4ee284d2378a657f056d8f039a405", NULL,
	  0, NULL },
	{ "empty", "", NULL, 0, NULL },
};

/* Decode hex into out; the length. */
static size_t
unhex(const char *h, unsigned char *out)
{
	size_t	 n = 0;
	unsigned v;

	for (; h[0] && h[1]; h += 2) {
		sscanf(h, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

/* The bytes of a case. */
static size_t
case_bytes(const struct mcp_case *c, unsigned char *out)
{
	size_t	 n = 0, l;
	int	 i;

	if (c->hex != NULL)
		return unhex(c->hex, out);
	l = strlen(c->text);
	for (i = 0; i < c->repeat; i++, n += l)
		memcpy(out + n, c->text, l);
	return n;
}

START_TEST(test_technique)
{
	const struct mcp_case	*c = &mcp_cases[_i];
	unsigned char		 buf[4096];
	char			 reason[MCP_REASON_MAX] = "";
	size_t			 n = case_bytes(c, buf);
	bool			 hit;

	ck_assert_int_eq(mcp_init(), 0);
	hit = mcp_scan_arg(buf, n, MCP_MEDIUM, reason);
	if (c->want == NULL)
		ck_assert_msg(!hit, "%s: flagged: %s", c->name, reason);
	else {
		ck_assert_msg(hit, "%s: not flagged", c->name);
		ck_assert_msg(strncmp(reason, c->want, strlen(c->want)) == 0,
		    "%s: reason \"%s\", want \"%s\"", c->name, reason, c->want);
	}
}
END_TEST

/* What low flags, medium flags; what medium flags, high flags. */
START_TEST(test_sensitivity_order)
{
	const struct mcp_case	*c = &mcp_cases[_i];
	unsigned char		 buf[4096];
	size_t			 n = case_bytes(c, buf);
	bool			 lo, me, hi;

	lo = mcp_scan_arg(buf, n, MCP_LOW, NULL);
	me = mcp_scan_arg(buf, n, MCP_MEDIUM, NULL);
	hi = mcp_scan_arg(buf, n, MCP_HIGH, NULL);
	ck_assert_msg(!lo || me, "%s: low flags, medium does not", c->name);
	ck_assert_msg(!me || hi, "%s: medium flags, high does not", c->name);
}
END_TEST

/* High sensitivity trades: a long upper-case run is a printable sled. */
START_TEST(test_high_printable_sled)
{
	unsigned char	 buf[400];
	char		 reason[MCP_REASON_MAX];

	memset(buf, 'A', sizeof(buf));
	ck_assert(!mcp_scan_arg(buf, sizeof(buf), MCP_MEDIUM, reason));
	ck_assert(mcp_scan_arg(buf, sizeof(buf), MCP_HIGH, reason));
	ck_assert_str_eq(reason, "x86 printable sled 400 bytes");
}
END_TEST

/* A sled far into a large argument is found: windows overlap. */
START_TEST(test_large_argument)
{
	size_t		 n = 256 * 1024, i;
	unsigned char	*buf = malloc(n);
	char		 reason[MCP_REASON_MAX];

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < n; i++)
		buf[i] = "abcdefghijk"[i % 11];
	ck_assert(!mcp_scan(buf, n, MCP_MEDIUM, reason));
	/* Straddle the end of the first window: the next one holds it. */
	memset(buf + MCP_WIN - 32, 0x90, 64);
	buf[MCP_WIN + 32] = 0xcc;
	ck_assert(mcp_scan(buf, n, MCP_MEDIUM, reason));
	ck_assert_str_eq(reason, "x86 NOP sled 64 bytes");
	free(buf);
}
END_TEST

/* Pseudo-random bytes (a GSSAPI token or a compressed blob), seeded. */
static void
random_bytes(unsigned char *p, size_t n, uint32_t seed)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/*
 * The work of a scan is bounded per byte, whatever the machine's load:
 * count capstone's decodes for 64 KB of random bytes, raw and as a base64
 * SASL blob, and for 1 MB (linear: the same bound per byte).
 */
START_TEST(test_decode_bound)
{
	static const size_t	 sizes[] = { 65536, 1024 * 1024 };
	unsigned char		*raw, *b64;
	unsigned long		 d0, used;
	size_t			 k, n;
	long			 blen;

	raw = malloc(1024 * 1024);
	b64 = malloc(65537);
	ck_assert(raw != NULL && b64 != NULL);
	for (k = 0; k < 2; k++) {
		n = sizes[k];
		random_bytes(raw, n, (uint32_t)(k + 1));
		d0 = mcp_decodes();
		/* Verdicts aside: 1 MB of random bytes holds, by chance, a
		 * short loop or a call/pop that medium flags. */
		(void)mcp_scan_arg(raw, n, MCP_MEDIUM, NULL);
		used = mcp_decodes() - d0;
		ck_assert_msg(used * 1024 <= n * CHECK_DECODES_PER_KB,
		    "%zu random bytes took %lu decodes", n, used);
		ck_assert_msg(used > 0, "the counter does not count");
	}
	random_bytes(raw, 49152, 7);
	blen = b64_encode(raw, 49152, (char *)b64, 65537);
	ck_assert_int_eq(blen, 65536);
	d0 = mcp_decodes();
	ck_assert(!mcp_scan_arg(b64, (size_t)blen, MCP_MEDIUM, NULL));
	used = mcp_decodes() - d0;
	ck_assert_msg(used * 1024 <= (unsigned long)blen *
	    CHECK_DECODES_PER_KB, "64 KB base64 blob took %lu decodes", used);
	free(raw);
	free(b64);
}
END_TEST

/*
 * The whole work of a scan (offsets tested in both modes, instructions
 * walked by the loop and printable-decoder tests) per input byte, whatever
 * the machine's load: two modes over overlapping windows make about 2.3
 * for binary bytes; printable text adds the printable-decoder walks,
 * which stop where no push esp or run of inc/dec lies ahead (about 2.5
 * in all for random printable text, 3.3 for a base64 blob).  A
 * run of short backward branches ("75 80" over and over) is the worst
 * case: each one walks its 128-byte body, a bounded number per byte.
 */
struct work_case {
	const char	*name;		/* what the argument is */
	size_t		 len;		/* its length */
	int		 kind;		/* 0 random, 1 base64, 2 printable,
					 * 3 "75 80" branches, 4 Alpha2 text */
	unsigned long	 max;		/* work units per byte allowed */
};

static const struct work_case work_cases[] = {
	{ "random 64 KB", 65536, 0, 3 },
	{ "random 1 MB", 1024 * 1024, 0, 3 },
	{ "base64 blob 64 KB", 65536, 1, 5 },
	{ "printable 64 KB", 65536, 2, 4 },
	{ "printable 1 MB", 1024 * 1024, 2, 4 },
	{ "backward branches 64 KB", 65536, 3, 80 },
	{ "backward branches 1 MB", 1024 * 1024, 3, 80 },
	{ "Alpha2 text 1 MB", 1024 * 1024, 4, 6 },
};

START_TEST(test_work_bound)
{
	static const char	 alpha[] = "PYIIIIIIIIIIQZVTX30VX4AP0A3HH0A00AB"
				    "AABTAAQ2AB2BB0BBXP8ACJJI";
	const struct work_case	*c = &work_cases[_i];
	unsigned char		*buf;
	unsigned long		 w0, used;
	size_t			 i, n = c->len;

	buf = malloc(2 * n + 1);
	ck_assert_ptr_nonnull(buf);
	random_bytes(buf, n, (uint32_t)(_i + 11));
	if (c->kind == 1) {
		/* Base64 of random bytes, as a SASL blob. */
		memcpy(buf + n, buf, n / 4 * 3);
		ck_assert_int_eq(b64_encode(buf + n, n / 4 * 3, (char *)buf,
		    n + 1), (long)n);
	}
	for (i = 0; i < n; i++)
		if (c->kind == 2)
			buf[i] = (unsigned char)(0x20 + buf[i] % 95);
		else if (c->kind == 3)
			buf[i] = i % 2 == 0 ? 0x75 : 0x80;
		else if (c->kind == 4)
			buf[i] = (unsigned char)alpha[i % (sizeof(alpha) - 1)];
	w0 = mcp_work();
	(void)mcp_scan_arg(buf, n, MCP_MEDIUM, NULL);
	used = mcp_work() - w0;
	ck_assert_msg(used > 0, "%s: the counter does not count", c->name);
	ck_assert_msg(used <= n * c->max, "%s: %lu work units for %zu bytes",
	    c->name, used, n);
	free(buf);
}
END_TEST

/*
 * A segment-prefixed instruction is summarised from the instruction after
 * the prefix, without capstone: the summary must be the one the decode
 * cache or else capstone gives for the prefixed bytes (mcp_decode()).
 * Random bytes, one in three a segment prefix, in both modes.
 */
START_TEST(test_prefix_summaries)
{
	static const unsigned char pfx[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64,
	    0x65 };
	struct mcp_slot		*s = mcp_slot_new();
	unsigned char		 p[4096];
	size_t			 i, n = sizeof(p), checked = 0;
	uint32_t		 live;
	int			 m, r;

	ck_assert_ptr_nonnull(s);
	for (r = 0; r < 64; r++) {
		random_bytes(p, n, (uint32_t)(r + 100));
		for (i = 0; i < n; i += 3)
			p[i] = pfx[p[i] % sizeof(pfx)];
		for (m = 0; m < MCP_NMODES; m++) {
			mcp_decode_all(s, m, p, n);
			for (i = 0; i + 3 < n; i += 3, checked++) {
				live = mcp_decode(s, m, p + i, n - i);
				ck_assert_msg(s->inf[i] == live, "mode %d at "
				    "%02x %02x %02x %02x: %08x, not %08x",
				    m, p[i], p[i + 1], p[i + 2], p[i + 3],
				    s->inf[i], live);
			}
		}
	}
	ck_assert_uint_gt(checked, 100000);
	mcp_slot_free(s);
}
END_TEST

/*
 * Consecutive windows: the second begins with the MCP_OV bytes the first
 * ended with and takes over the summaries of its first MCP_OV_KEEP
 * offsets.  Every summary of the second window must be what capstone or
 * the cache gives at that offset; a marked summary shows the take-over
 * happened exactly there, and a window that differs in its first bytes
 * takes nothing over.
 */
START_TEST(test_window_overlap)
{
	struct mcp_slot		*s = mcp_slot_new();
	unsigned char		*p = malloc(MCP_STEP + MCP_WIN), *w;
	size_t			 i;
	uint32_t		 live;
	int			 m;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(p);
	random_bytes(p, MCP_STEP + MCP_WIN, 77);
	w = p + MCP_STEP;
	for (m = 0; m < MCP_NMODES; m++) {
		mcp_decode_all(s, m, p, MCP_WIN);
		mcp_decode_all(s, m, w, MCP_WIN);
		for (i = 0; i < MCP_WIN; i++) {
			live = mcp_decode(s, m, w + i, MCP_WIN - i);
			ck_assert_msg(s->inf[i] == live, "mode %d offset %zu: "
			    "%08x, not %08x", m, i, s->inf[i], live);
		}
		/* Marked: the first MCP_OV_KEEP come from the kept ones. */
		mcp_decode_all(s, m, p, MCP_WIN);
		s->ovi[m][0] = s->ovi[m][MCP_OV_KEEP - 1] = 0xdeadbeef;
		mcp_decode_all(s, m, w, MCP_WIN);
		ck_assert_uint_eq(s->inf[0], 0xdeadbeef);
		ck_assert_uint_eq(s->inf[MCP_OV_KEEP - 1], 0xdeadbeef);
		ck_assert_uint_eq(s->inf[MCP_OV_KEEP],
		    mcp_decode(s, m, w + MCP_OV_KEEP, MCP_WIN - MCP_OV_KEEP));
		/* Different first bytes: nothing taken over. */
		mcp_decode_all(s, m, p, MCP_WIN);
		s->ovi[m][0] = 0xdeadbeef;
		w[MCP_OV - 1] ^= 0x55;
		mcp_decode_all(s, m, w, MCP_WIN);
		ck_assert_uint_eq(s->inf[0], mcp_decode(s, m, w, MCP_WIN));
		w[MCP_OV - 1] ^= 0x55;
	}
	free(p);
	mcp_slot_free(s);
}
END_TEST

/*
 * Prefixed instructions summarised from the instruction after the prefix:
 * REX in x86-64, 66, 67, f0, f2, f3 and the segment prefixes in both
 * modes, and a prefix behind another.  The summary must be the one the
 * decode cache or else capstone gives for the prefixed bytes
 * (mcp_decode()).  Every opcode and ModRM byte behind one prefix in one
 * mode (the loop index), with random bytes after them; where a SIB follows,
 * each class of SIB the cache tells apart.
 */
static const struct {
	int		 mode;		/* MCP_X86_32 or MCP_X86_64 */
	unsigned char	 pfx;		/* the prefix byte */
} derived_cases[] = {
	{ MCP_X86_64, 0x40 }, { MCP_X86_64, 0x41 }, { MCP_X86_64, 0x42 },
	{ MCP_X86_64, 0x43 }, { MCP_X86_64, 0x44 }, { MCP_X86_64, 0x45 },
	{ MCP_X86_64, 0x46 }, { MCP_X86_64, 0x47 }, { MCP_X86_64, 0x48 },
	{ MCP_X86_64, 0x49 }, { MCP_X86_64, 0x4a }, { MCP_X86_64, 0x4b },
	{ MCP_X86_64, 0x4c }, { MCP_X86_64, 0x4d }, { MCP_X86_64, 0x4e },
	{ MCP_X86_64, 0x4f },
	{ MCP_X86_32, 0x66 }, { MCP_X86_32, 0x67 }, { MCP_X86_32, 0xf0 },
	{ MCP_X86_32, 0xf2 }, { MCP_X86_32, 0xf3 },
	{ MCP_X86_64, 0x66 }, { MCP_X86_64, 0x67 }, { MCP_X86_64, 0xf0 },
	{ MCP_X86_64, 0xf2 }, { MCP_X86_64, 0xf3 },
	{ MCP_X86_32, 0x26 }, { MCP_X86_32, 0x2e }, { MCP_X86_32, 0x36 },
	{ MCP_X86_32, 0x3e }, { MCP_X86_32, 0x64 }, { MCP_X86_32, 0x65 },
	{ MCP_X86_64, 0x26 }, { MCP_X86_64, 0x2e }, { MCP_X86_64, 0x36 },
	{ MCP_X86_64, 0x3e }, { MCP_X86_64, 0x64 }, { MCP_X86_64, 0x65 },
};

START_TEST(test_derived_summaries)
{
	struct mcp_slot		*s = mcp_slot_new();
	int			 md = derived_cases[_i].mode;
	unsigned char		 p[17];
	unsigned		 c, m, k, nsib, st = sample_step(256);
	size_t			 checked = 0;
	uint32_t		 live;

	ck_assert_ptr_nonnull(s);
	for (c = 0; c < 256; c++)
		for (m = c % st; m < 256; m += st) {
			nsib = (m >> 6) != 3 && (m & 7) == 4 ? 16 : 1;
			for (k = 0; k < nsib; k++, checked++) {
				random_bytes(p, sizeof(p),
				    (uint32_t)(_i << 20 | c << 12 | m << 4 | k));
				p[0] = derived_cases[_i].pfx;
				p[1] = (unsigned char)c;
				p[2] = (unsigned char)m;
				if (nsib > 1)
					p[3] = (unsigned char)((p[3] & 0xc0) |
					    (k & 7) | (k & 8 ? 0x20 : 0x18));
				mcp_decode_all(s, md, p, sizeof(p));
				live = mcp_decode(s, md, p, sizeof(p));
				ck_assert_msg(s->inf[0] == live, "mode %d at "
				    "%02x %02x %02x %02x %02x: %08x, not %08x",
				    md, p[0], p[1], p[2], p[3], p[4],
				    s->inf[0], live);
			}
		}
	ck_assert_uint_gt(checked, 65536 / st);
	mcp_slot_free(s);
}
END_TEST

/*
 * Add, sub and lea summarised from the cache with their step decided by
 * the trailing immediate or displacement (MI_STEPV): every ModRM (and SIB
 * class) of 80, 81, 83 and 8d in both modes (the loop index), with every
 * sign-extended byte value after the ModRM or SIB, must give what capstone
 * gives, through the decode pass and through mcp_decode().
 */
START_TEST(test_step_summaries)
{
	static const unsigned char ops[] = { 0x80, 0x81, 0x83, 0x8d };
	struct mcp_slot		*s = mcp_slot_new();
	int			 md = _i / 4;
	unsigned char		 p[17];
	unsigned		 m, k, nsib, v, at, st = sample_step(256);
	size_t			 checked = 0;
	uint32_t		 live;

	ck_assert_ptr_nonnull(s);
	for (m = 0; m < 256; m++) {
		nsib = (m >> 6) != 3 && (m & 7) == 4 ? 16 : 1;
		for (k = 0; k < nsib; k++)
			for (v = (m + k) % st; v < 256; v += st, checked++) {
				random_bytes(p, sizeof(p),
				    (uint32_t)(_i << 20 | m << 12 | k << 8 | v));
				p[0] = ops[_i % 4];
				p[1] = (unsigned char)m;
				at = 2;
				if (nsib > 1)
					p[at++] = (unsigned char)((p[2] & 0xc0) |
					    (k & 7) | (k & 8 ? 0x20 : 0x18));
				p[at] = (unsigned char)v;
				memset(p + at + 1, v & 0x80 ? 0xff : 0x00, 3);
				mcp_decode_all(s, md, p, sizeof(p));
				live = mcp_decode_live(s, md, p, sizeof(p));
				ck_assert_msg(s->inf[0] == live &&
				    mcp_decode(s, md, p, sizeof(p)) == live,
				    "mode %d at %02x %02x %02x %02x: %08x, "
				    "not %08x", md, p[0], p[1], p[2], p[3],
				    s->inf[0], live);
			}
	}
	ck_assert_uint_gt(checked, 65536 / st);
	mcp_slot_free(s);
}
END_TEST

/*
 * The decode cache's fill probes each form with a few trailing bytes: the
 * summary it keeps must be capstone's for every byte that follows.  The
 * forms whose meaning rests on a later byte: 0f escapes, prefixes (REX in
 * x86-64), the VEX, EVEX and XOP leads, int (0x80 and 0x2e are system
 * calls), aam and aad (0x0a has no operand).  Every second and third byte
 * behind each such first byte (the loop index), with trailing bytes of
 * 00, ff and pseudo-random ones (six sets behind 0f, whose third level
 * keys the ModRM), through mcp_decode() and the decode pass against
 * capstone itself.
 */
static const struct {
	int		 mode;		/* MCP_X86_32 or MCP_X86_64 */
	unsigned char	 b0;		/* the first byte */
} fill_cases[] = {
	{ MCP_X86_32, 0x0f }, { MCP_X86_32, 0x26 }, { MCP_X86_32, 0x2e },
	{ MCP_X86_32, 0x36 }, { MCP_X86_32, 0x3e }, { MCP_X86_32, 0x64 },
	{ MCP_X86_32, 0x65 }, { MCP_X86_32, 0x66 }, { MCP_X86_32, 0x67 },
	{ MCP_X86_32, 0xf0 }, { MCP_X86_32, 0xf2 }, { MCP_X86_32, 0xf3 },
	{ MCP_X86_32, 0x62 }, { MCP_X86_32, 0x8f }, { MCP_X86_32, 0xc4 },
	{ MCP_X86_32, 0xc5 }, { MCP_X86_32, 0xcd }, { MCP_X86_32, 0xd4 },
	{ MCP_X86_32, 0xd5 },
	{ MCP_X86_64, 0x0f }, { MCP_X86_64, 0x26 }, { MCP_X86_64, 0x2e },
	{ MCP_X86_64, 0x36 }, { MCP_X86_64, 0x3e }, { MCP_X86_64, 0x64 },
	{ MCP_X86_64, 0x65 }, { MCP_X86_64, 0x66 }, { MCP_X86_64, 0x67 },
	{ MCP_X86_64, 0xf0 }, { MCP_X86_64, 0xf2 }, { MCP_X86_64, 0xf3 },
	{ MCP_X86_64, 0x62 }, { MCP_X86_64, 0x8f }, { MCP_X86_64, 0xc4 },
	{ MCP_X86_64, 0xc5 }, { MCP_X86_64, 0xcd },
	{ MCP_X86_64, 0x40 }, { MCP_X86_64, 0x41 }, { MCP_X86_64, 0x42 },
	{ MCP_X86_64, 0x43 }, { MCP_X86_64, 0x44 }, { MCP_X86_64, 0x45 },
	{ MCP_X86_64, 0x46 }, { MCP_X86_64, 0x47 }, { MCP_X86_64, 0x48 },
	{ MCP_X86_64, 0x49 }, { MCP_X86_64, 0x4a }, { MCP_X86_64, 0x4b },
	{ MCP_X86_64, 0x4c }, { MCP_X86_64, 0x4d }, { MCP_X86_64, 0x4e },
	{ MCP_X86_64, 0x4f },
};

START_TEST(test_fill_summaries)
{
	struct mcp_slot		*s = mcp_slot_new();
	int			 md = fill_cases[_i].mode;
	unsigned char		 p[16];
	unsigned		 b1, b2, t;
	/* The 0f escapes' third level (the ModRM) is filled from three
	 * probes: more trailing bytes for them. */
	unsigned		 ntail = fill_cases[_i].b0 == 0x0f ? 8 : 3;
	unsigned		 st = sample_step(256);
	size_t			 checked = 0;
	uint32_t		 live;

	ck_assert_ptr_nonnull(s);
	for (b1 = 0; b1 < 256; b1++)
		for (b2 = b1 % st; b2 < 256; b2 += st)
			for (t = 0; t < ntail; t++, checked++) {
				if (t < 2)
					memset(p, t == 0 ? 0x00 : 0xff, sizeof(p));
				else
					random_bytes(p, sizeof(p), (uint32_t)(_i <<
					    20 | t << 16 | b1 << 8 | b2));
				p[0] = fill_cases[_i].b0;
				p[1] = (unsigned char)b1;
				p[2] = (unsigned char)b2;
				live = mcp_decode_live(s, md, p, sizeof(p));
				ck_assert_msg(mcp_decode(s, md, p, sizeof(p)) ==
				    live, "mode %d at %02x %02x %02x %02x %02x: "
				    "cache %08x, not %08x", md, p[0], p[1], p[2],
				    p[3], p[4], mcp_decode(s, md, p, sizeof(p)),
				    live);
				mcp_decode_all(s, md, p, sizeof(p));
				ck_assert_msg(s->inf[0] == live, "mode %d at "
				    "%02x %02x %02x %02x %02x: pass %08x, not "
				    "%08x", md, p[0], p[1], p[2], p[3], p[4],
				    s->inf[0], live);
			}
	ck_assert_uint_eq(checked, ntail * 65536 / st);
	mcp_slot_free(s);
}
END_TEST

/*
 * VEX3, EVEX and XOP forms the cache holds invalid without asking
 * capstone (a map field that names no map): for each mode and lead (the
 * loop index), every second byte whose pair the cache answers as invalid,
 * checked against capstone for every third and fourth byte (the rest 00),
 * and for every fifth and sixth byte behind third and fourth bytes of 00,
 * ff and pseudo-random ones.
 */
START_TEST(test_lead_summaries)
{
	static const unsigned char leads[] = { 0x62, 0x8f, 0xc4 };
	struct mcp_slot		*s = mcp_slot_new();
	int			 md = _i / 3;
	unsigned char		 p[16];
	unsigned		 b1, b2, b3, t, k, keys = 0;
	unsigned		 st = sample_step(256);
	unsigned long		 d0;
	uint32_t		 live, e;

	ck_assert_ptr_nonnull(s);
	for (b1 = 0; b1 < 256; b1++) {
		memset(p, 0, sizeof(p));
		p[0] = leads[_i % 3];
		p[1] = (unsigned char)b1;
		d0 = mcp_decodes();
		e = mcp_decode(s, md, p, sizeof(p));
		if (mcp_decodes() != d0 || MI_KIND(e) != MCP_K_INVALID)
			continue;
		keys++;
		for (b2 = 0; b2 < 256; b2++)
			for (b3 = b2 % st; b3 < 256; b3 += st) {
				p[2] = (unsigned char)b2;
				p[3] = (unsigned char)b3;
				live = mcp_decode_live(s, md, p, sizeof(p));
				ck_assert_msg(live == e, "mode %d at %02x %02x "
				    "%02x %02x: cache %08x, not %08x", md, p[0],
				    p[1], p[2], p[3], e, live);
			}
		for (t = 0; t < 3; t++)
			for (k = 4; k < 6; k++)
				for (b2 = (b1 + t + k) % st; b2 < 256;
				    b2 += st) {
					if (t < 2)
						memset(p + 2, t == 0 ? 0x00 :
						    0xff, sizeof(p) - 2);
					else
						random_bytes(p + 2, sizeof(p) -
						    2, b1 << 8 | b2);
					p[k] = (unsigned char)b2;
					live = mcp_decode_live(s, md, p,
					    sizeof(p));
					ck_assert_msg(live == e, "mode %d at %02x "
					    "%02x %02x %02x %02x %02x: cache "
					    "%08x, not %08x", md, p[0], p[1],
					    p[2], p[3], p[4], p[5], e, live);
					mcp_decode_all(s, md, p, sizeof(p));
					ck_assert_uint_eq(s->inf[0], e);
				}
	}
	/* The forms random bytes meet most are the ones answered. */
	ck_assert_uint_ge(keys, md == MCP_X86_64 ? 190 : 40);
	mcp_slot_free(s);
}
END_TEST

/*
 * The third level for text: every printable first, second and third byte
 * in x86-32 (the loop index is the first byte), with trailing bytes of
 * 00, ff and pseudo-random ones, through mcp_decode() and the decode pass
 * against capstone itself.
 */
START_TEST(test_text_summaries)
{
	struct mcp_slot		*s = mcp_slot_new();
	int			 md = MCP_X86_32;
	unsigned char		 p[16];
	unsigned		 b1, b2, t, st = sample_step(95);
	size_t			 checked = 0;
	uint32_t		 live;

	ck_assert_ptr_nonnull(s);
	for (b1 = 0x20; b1 < 0x7f; b1++)
		for (b2 = 0x20 + b1 % st; b2 < 0x7f; b2 += st)
			for (t = 0; t < 3; t++, checked++) {
				if (t < 2)
					memset(p, t == 0 ? 0x00 : 0xff, sizeof(p));
				else
					random_bytes(p, sizeof(p), (uint32_t)(_i <<
					    20 | t << 16 | b1 << 8 | b2));
				p[0] = (unsigned char)(0x20 + _i);
				p[1] = (unsigned char)b1;
				p[2] = (unsigned char)b2;
				live = mcp_decode_live(s, md, p, sizeof(p));
				ck_assert_msg(mcp_decode(s, md, p, sizeof(p)) ==
				    live, "at %02x %02x %02x %02x %02x: cache "
				    "%08x, not %08x", p[0], p[1], p[2], p[3],
				    p[4], mcp_decode(s, md, p, sizeof(p)), live);
				mcp_decode_all(s, md, p, sizeof(p));
				ck_assert_msg(s->inf[0] == live, "at %02x %02x "
				    "%02x %02x %02x: pass %08x, not %08x", p[0],
				    p[1], p[2], p[3], p[4], s->inf[0], live);
			}
	ck_assert_uint_eq(checked, 3 * 95 * 95 / st);
	mcp_slot_free(s);
}
END_TEST

/*
 * The text map as its definition reads: a byte at a time, a UTF-8
 * sequence taken whole when all its continuation bytes are there, and
 * every earlier distance compared for repeats.
 */
static void
text_ref(const unsigned char *p, size_t n, uint16_t *npre, uint8_t *rep,
    int *ascii)
{
	size_t		 i = 0, k, len, d;
	unsigned	 c;

	*ascii = 1;
	npre[0] = 0;
	while (i < n) {
		c = p[i];
		if (c >= 0x20 && c <= 0x7e) {
			npre[i + 1] = npre[i];
			i++;
			continue;
		}
		*ascii = 0;
		len = c < 0xc2 || c > 0xf4 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		for (k = 1; k < len; k++)
			if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
				len = 0;
		if (len == 0) {
			npre[i + 1] = (uint16_t)(npre[i] + 1);
			i++;
			continue;
		}
		for (k = 0; k < len; k++)
			npre[i + k + 1] = npre[i];
		i += len;
	}
	for (i = 0; i < n; i++) {
		rep[i] = 0;
		for (d = 1; d <= 24 && d <= i && i + 4 <= n; d++)
			if (memcmp(p + i, p + i - d, 4) == 0)
				rep[i] = 1;
	}
}

/*
 * mcp_text() (eight printable bytes at a time, UTF-8 without branches,
 * repeats through a hash of four bytes) against text_ref(), on windows
 * of every length class mixing printable runs, whole and cut UTF-8
 * sequences, stray continuation bytes, random bytes and repeats at
 * distances around the limit; many four-byte values share a hash slot.
 */
START_TEST(test_text_map)
{
	static const size_t	 lens[] = { 1, 3, 7, 8, 11, 12, 13, 19, 20, 64,
	    1000, 4097, MCP_WIN - 5, MCP_WIN };
	struct mcp_slot		*s = calloc(1, sizeof(*s));
	static uint16_t		 npre[MCP_WIN + 1];
	static uint8_t		 rep[MCP_WIN];
	static unsigned char	 p[MCP_WIN];
	unsigned long		 r = 0x9e3779b97f4a7c15ul * (unsigned long)(_i + 1);
	size_t			 n, i, k, t;
	int			 ascii, round;
	unsigned		 x;

	ck_assert_ptr_nonnull(s);
	for (round = 0; round < 40; round++) {
		n = lens[(size_t)round % (sizeof(lens) / sizeof(lens[0]))];
		for (i = 0; i < n;) {
			r = r * 6364136223846793005ul + 1442695040888963407ul;
			x = (unsigned)(r >> 33);
			t = 1 + (x >> 8) % 24;
			for (k = 0; k < t && i < n; k++, i++) {
				r = r * 6364136223846793005ul + 1;
				switch (x % (_i % 2 ? 6 : 8)) {
				case 0: case 6: case 7:
					p[i] = (unsigned char)(0x20 +
					    (r >> 40) % 95);
					break;
				case 1:		/* a lead, then continuations */
					p[i] = (unsigned char)(k == 0 ?
					    0xc0 + (r >> 40) % 64 :
					    0x80 + (r >> 40) % 64);
					break;
				case 2:
					p[i] = (unsigned char)(r >> 40);
					break;
				case 3:		/* repeat at distance 1-30 */
					p[i] = i >= 30 ? p[i - 1 -
					    (x >> 16) % 30] : 0x41;
					break;
				case 4:		/* few values: equal words */
					p[i] = (unsigned char)("\x90\xc3"
					    "\x80\xe2"[(r >> 40) % 4]);
					break;
				default:	/* bytes near the edges */
					p[i] = (unsigned char)("\x1f\x20"
					    "\x7e\x7f\xc1\xc2\xf4\xf5"
					    "\xbf\x80"[(r >> 40) % 10]);
					break;
				}
			}
		}
		mcp_text(s, p, n);
		text_ref(p, n, npre, rep, &ascii);
		ck_assert_int_eq(s->ascii, ascii);
		for (i = 0; i < n; i++) {
			ck_assert_msg(s->npre[i + 1] == npre[i + 1],
			    "round %d length %zu: npre[%zu] %u, not %u", round,
			    n, i + 1, s->npre[i + 1], npre[i + 1]);
			ck_assert_msg(s->rep[i] == rep[i],
			    "round %d length %zu: rep[%zu] %u, not %u", round,
			    n, i, s->rep[i], rep[i]);
		}
	}
	free(s);
}
END_TEST

/* Many threads at once get the answers one thread gets. */
static void *
scan_thread(void *arg)
{
	unsigned char	 buf[4096];
	char		 reason[MCP_REASON_MAX];
	size_t		 k, n;
	long		 bad = 0;
	int		 r;

	(void)arg;
	for (r = 0; r < 20; r++)
		for (k = 0; k < sizeof(mcp_cases) / sizeof(mcp_cases[0]); k++) {
			n = case_bytes(&mcp_cases[k], buf);
			if (mcp_scan_arg(buf, n, MCP_MEDIUM, reason) !=
			    (mcp_cases[k].want != NULL))
				bad++;
		}
	return (void *)bad;
}

START_TEST(test_threads)
{
	pthread_t	 t[24];
	void		*ret;
	int		 i;

	for (i = 0; i < 24; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, scan_thread, NULL),
		    0);
	for (i = 0; i < 24; i++) {
		pthread_join(t[i], &ret);
		ck_assert_int_eq((long)ret, 0);
	}
}
END_TEST

/* Judge every record of a corpus at medium; the number flagged. */
static size_t
corpus_run(const char *name, size_t *total, char *first, size_t firstsz)
{
	char		 path[8192], *line = NULL, *h, reason[MCP_REASON_MAX];
	unsigned char	*buf = NULL;
	size_t		 cap = 0, bufcap = 0, n, hits = 0;
	ssize_t		 r;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/mcp/%s", check_dir, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: cannot open (make mcp-corpus)", path);
	*total = 0;
	while ((r = getline(&line, &cap, f)) > 0) {
		if ((h = strchr(line, '\t')) == NULL)
			continue;
		*h++ = '\0';
		n = strcspn(h, "\n");
		h[n] = '\0';
		if (n / 2 + 1 > bufcap) {
			bufcap = n / 2 + 1;
			buf = realloc(buf, bufcap);
			ck_assert_ptr_nonnull(buf);
		}
		n = unhex(h, buf);
		(*total)++;
		if (mcp_scan_arg(buf, n, MCP_MEDIUM, reason)) {
			if (hits++ == 0)
				snprintf(first, firstsz, "%s: %s", line, reason);
		} else if (strcmp(name, "malicious.tsv") == 0)
			fprintf(stderr, "check_mcp: missed %s\n", line);
	}
	free(line);
	free(buf);
	fclose(f);
	return hits;
}

/* The bar: at medium, >= 95% of the malicious corpus, no benign. */
START_TEST(test_corpora)
{
	char	 first[256] = "";
	size_t	 total, hits;

	hits = corpus_run("benign.tsv", &total, first, sizeof(first));
	ck_assert_msg(total >= 20000, "benign corpus too small: %zu", total);
	ck_assert_msg(hits == 0, "%zu of %zu benign records flagged, first %s",
	    hits, total, first);
	hits = corpus_run("malicious.tsv", &total, first, sizeof(first));
	ck_assert_msg(total >= 300, "malicious corpus too small: %zu", total);
	ck_assert_msg(hits * 100 >= total * 95, "detected %zu of %zu", hits,
	    total);
}
END_TEST

static Suite *
mcp_suite(void)
{
	Suite	*s = suite_create("mcp");
	TCase	*tc = tcase_create("techniques");
	TCase	*tcc = tcase_create("corpora");
	int	 n = (int)(sizeof(mcp_cases) / sizeof(mcp_cases[0]));

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_technique, 0, n);
	tcase_add_loop_test(tc, test_sensitivity_order, 0, n);
	tcase_add_test(tc, test_high_printable_sled);
	tcase_add_test(tc, test_large_argument);
	tcase_add_test(tc, test_threads);
	tcase_add_loop_test(tc, test_text_map, 0, 16);
	tcase_add_loop_test(tc, test_text_summaries, 0, 95);
	tcase_add_loop_test(tc, test_lead_summaries, 0, 6);
	tcase_add_test(tc, test_decode_bound);
	tcase_add_test(tc, test_prefix_summaries);
	tcase_add_test(tc, test_window_overlap);
	tcase_add_loop_test(tc, test_step_summaries, 0, 8);
	tcase_add_loop_test(tc, test_derived_summaries, 0,
	    (int)(sizeof(derived_cases) / sizeof(derived_cases[0])));
	tcase_add_loop_test(tc, test_fill_summaries, 0,
	    (int)(sizeof(fill_cases) / sizeof(fill_cases[0])));
	tcase_add_loop_test(tc, test_work_bound, 0,
	    (int)(sizeof(work_cases) / sizeof(work_cases[0])));
	suite_add_tcase(s, tc);
	tcase_set_timeout(tcc, 600);
	tcase_add_test(tcc, test_corpora);
	suite_add_tcase(s, tcc);
	return s;
}

int
main(int argc, char *argv[])
{
	SRunner	*sr;
	int	 failed;
	char	 self[4096];

	(void)argc;
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(check_dir, sizeof(check_dir), "%s", dirname(self));
	under_valgrind = getenv("MW_UNDER_VALGRIND") != NULL &&
	    strcmp(getenv("MW_UNDER_VALGRIND"), "1") == 0;
	if (mcp_init() == -1) {
		fprintf(stderr, "check_mcp: capstone unusable\n");
		return 1;
	}
	sr = srunner_create(mcp_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
