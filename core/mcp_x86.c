/* SPDX-License-Identifier: ISC */
/*
 * mcp_x86.c: the Malicious Code Protector's tests on one window of bytes:
 * STRIDE-style sleds, the longest executable chain (APE/MEL), GetPC idioms,
 * decoder loops and printable (alphanumeric) decoder stubs.
 */
#include <stdlib.h>
#include <string.h>

#include "mcp_int.h"

/* Offsets tested and instructions walked by this thread's scans. */
static _Thread_local unsigned long mcp_nwork;

/* Longest walk of the GetPC, loop and printable tests, in instructions. */
#define MCP_WALK_MAX	128
/* Periods up to this many bytes count as repetition, not code. */
#define MCP_REP_DIST	24
/* Printable decoder: pointer uses within this many instructions of the
 * pointer's set-up, how many, and how many odd instructions among them. */
#define MCP_ALNUM_SPAN	32
#define MCP_ALNUM_OPS	4
#define MCP_ALNUM_ODD	3
/* A decoder loop body at most this many bytes long. */
#define MCP_LOOP_SPAN	128

/* Hash of four bytes into mcp_slot's rh, and what its offsets are kept
 * plus (more than MCP_REP_DIST). */
#define MCP_RH_HASH(a)	((uint32_t)((a) * 0x9e3779b1u) >> (32 - MCP_RH_BITS))
#define MCP_RH_OFF	32

/* Whether all eight bytes of x are printable ASCII (0x20-0x7e): no high
 * bit, each at least 0x20 (adding 0x60 sets the high bit) and below 0x7f
 * (adding 1 does not); no carry crosses bytes when no high bit is set. */
static inline int
mcp_print8(uint64_t x)
{
	const uint64_t	 h = 0x8080808080808080ull;

	return ((x | (x + 0x0101010101010101ull)) & h) == 0 &&
	    ((x + 0x6060606060606060ull) & h) == h;
}

/*
 * Mark text: printable ASCII and whole UTF-8 sequences (names and passwords
 * in any script).  Fills npre, the count of non-text bytes before each
 * offset, rep, whether the four bytes at an offset repeat ones at most
 * MCP_REP_DIST before (padding and runs, not code), and ascii, whether all
 * bytes are printable ASCII.  Both modes share it.  Printable ASCII goes
 * eight bytes at a time.
 */
void
mcp_text(struct mcp_slot *s, const unsigned char *p, size_t n)
{
	/* UTF-8 sequence length by first byte (0: none), and the mask of
	 * the continuation bytes' top bits it asks for, by length. */
	static const unsigned char u8len[256] = {
		[0xc2] = 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
		2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
		[0xe0] = 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
		[0xf0] = 4, 4, 4, 4, 4,
	};
	static const uint32_t u8mask[5] = { 0, 0, 0xc0, 0xc0c0, 0xc0c0c0 };
	static const uint32_t u8want[5] = { 1, 1, 0x80, 0x8080, 0x808080 };
	size_t		 i = 0, k, j;
	uint64_t	 x;
	uint32_t	 a, b, h, w;
	unsigned	 c, len, cover = 0, ok, text, cnt = 0, ascii = 1;

	if (n > MCP_WIN)
		n = MCP_WIN;
	s->npre[0] = 0;
	/*
	 * Text is local: a byte is printable, or lies in a whole sequence
	 * whose first byte begins cover (a first byte is no continuation, so
	 * no sequence hides another).  Eight printable bytes at a time;
	 * else byte by byte without branches, reading the three bytes after.
	 */
	for (; i + 12 <= n; i += 8) {
		memcpy(&x, p + i, 8);
		if (mcp_print8(x)) {
			for (k = 1; k <= 8; k++)
				s->npre[i + k] = (uint16_t)cnt;
			cover = 0;
			continue;
		}
		ascii = 0;
		for (k = i; k < i + 8; k++) {
			c = p[k];
			len = u8len[c];
			w = (uint32_t)p[k + 1] | (uint32_t)p[k + 2] << 8 |
			    (uint32_t)p[k + 3] << 16;
			/* No lead (len 0) wants a bit no mask keeps. */
			ok = (w & u8mask[len]) == u8want[len];
			cover = (len & (0 - ok)) |
			    ((cover - (cover != 0)) & (ok - 1));
			text = (c - 0x20u < 0x5fu) | (cover != 0);
			cnt += text ^ 1;
			s->npre[k + 1] = (uint16_t)cnt;
		}
	}
	for (; i < n; i++) {
		c = p[i];
		len = u8len[c];
		for (k = 1; k < len; k++)
			if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
				len = 0;
		cover = len != 0 ? len : cover - (cover != 0);
		text = (c - 0x20u < 0x5fu) | (cover != 0);
		ascii &= c - 0x20u < 0x5fu;
		cnt += text ^ 1;
		s->npre[i + 1] = (uint16_t)cnt;
	}
	s->ascii = (int)ascii;
	/*
	 * Repeats: the latest offset whose four bytes hash alike answers;
	 * an equal four bytes within reach lie no earlier than it.  When it
	 * is near but holds other bytes (a collision), every distance is
	 * compared.  Offsets are kept plus MCP_RH_OFF, so that an empty slot
	 * (0) is never near.
	 */
	memset(s->rh, 0, sizeof(s->rh));
	for (i = 0; i + 4 <= n; i++) {
		memcpy(&a, p + i, 4);
		h = MCP_RH_HASH(a);
		j = s->rh[h];
		s->rh[h] = (uint16_t)(i + MCP_RH_OFF);
		s->rep[i] = 0;
		if (i + MCP_RH_OFF - j > MCP_REP_DIST)
			continue;
		memcpy(&b, p + j - MCP_RH_OFF, 4);
		if (a == b) {
			s->rep[i] = 1;
			continue;
		}
		for (k = 1; k <= MCP_REP_DIST && k <= i; k++) {
			memcpy(&b, p + i - k, 4);
			if (a == b) {
				s->rep[i] = 1;
				break;
			}
		}
	}
	for (; i < n; i++)
		s->rep[i] = 0;
}

/* Target offset of the relative branch at i (may lie outside the window). */
static inline __attribute__((always_inline)) long
mcp_target(const unsigned char *p, size_t i, uint32_t e)
{
	const unsigned char	*q = p + i + MI_LEN(e) - MI_RELSZ(e);
	long			 rel = 0;

	switch (MI_RELSZ(e)) {
	case 1:
		rel = (int8_t)q[0];
		break;
	case 2:
		rel = (int16_t)(q[0] | q[1] << 8);
		break;
	case 4:
		rel = (int32_t)((uint32_t)q[0] | (uint32_t)q[1] << 8 |
		    (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24);
		break;
	}
	return (long)(i + MI_LEN(e)) + rel;
}

/*
 * mcp_target() without branches on the displacement's size, which random
 * bytes make unpredictable: the four bytes that end the instruction, their
 * top MI_RELSZ bytes sign-extended (none when 0).  Only the first offsets
 * of a window, with fewer than four bytes before the end of the
 * instruction, take mcp_target().
 */
static inline __attribute__((always_inline)) long
mcp_target_nb(const unsigned char *p, size_t i, uint32_t e)
{
	unsigned	 rs = MI_RELSZ(e), len = MI_LEN(e);
	const unsigned char *q;
	uint32_t	 u;
	long		 rel;

	if (i + len < 4)
		return mcp_target(p, i, e);
	/* Little-endian whatever the host: one load on x86. */
	q = p + i + len - 4;
	u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
	    (uint32_t)q[3] << 24;
	rel = (long)((int64_t)(int32_t)u >> (32 - 8 * rs));
	return (long)(i + len) + (rel & -(long)(rs != 0));
}

/*
 * One backward pass over the window: sled exits, printable chains (when
 * the printable-decoder test will run), common chains (APE) unless the
 * window is all text, and the offsets the GetPC and loop tests look at,
 * collected so that those tests need not walk the window again.
 */
static inline __attribute__((always_inline)) void
mcp_chains(struct mcp_slot *s, const unsigned char *p, size_t n,
    struct mcp_feat *f, int want_pc, int want_cc, int want_cand, int want_sled,
    size_t floor)
{
	size_t		 i, q, run = 0, stop, back, bad, valid;
	uint32_t	 e, ch;
	long		 t;
	unsigned	 k, len, bin, cc, np, rep, pq, ng = 0, nl = 0, nr = 0;
	unsigned	 c, c1 = 0x100, c2 = 0x100, su, rel, jc;
	size_t		 qt;
	int		 chain = f->chain, syschain = f->syschain;

	/*
	 * Masks rather than branches where random bytes make the outcome a
	 * coin toss (the flags, the kinds, the text map); no successor is
	 * offset n, whose entries read as the end of every chain.
	 */
	s->ex[n] = (uint16_t)n;
	s->ch[n] = 0;
	s->pc[n] = 0;
	s->su[n] = 0;
	for (i = n; i-- > 0;) {
		e = s->inf[i];
		k = MI_KIND(e);
		len = MI_LEN(e);
		/* Normal instructions and conditional branches fall through;
		 * only branches have a relative displacement (MI_RELSZ). */
		q = (0x22u >> k) & 1 ? i + len : n;
		back = 0;
		if (!want_cand) {
			/* Printable ASCII (no candidates wanted): its jcc
			 * (70-7e) make a branch on MI_RELSZ a coin toss;
			 * masks instead. */
			rel = MI_RELSZ(e) != 0;
			t = mcp_target_nb(p, i, e);
			jc = (k == MCP_K_JMP) | (k == MCP_K_CALL);
			qt = t > (long)i && t < (long)n ? (size_t)t : n;
			q = rel & jc ? qt : q;
			back = rel & (k != MCP_K_CALL) & (t <= (long)i);
		} else if (MI_RELSZ(e) != 0) {
			t = mcp_target(p, i, e);
			if (k == MCP_K_JMP || k == MCP_K_CALL)
				q = t > (long)i && t < (long)n ? (size_t)t : n;
			back = k != MCP_K_CALL && t <= (long)i;
			/* What the loop test starts from. */
			if (!(e & MI_GPC) && k != MCP_K_CALL &&
			    (e & MI_COMMON) && t >= 0 && t < (long)i &&
			    (long)i - t <= MCP_LOOP_SPAN)
				s->lc[nl++] = (uint16_t)i;
		}
		s->nx[i] = q == n ? MCP_NONE : (uint16_t)q;
		/* Sleds: where execution from i stops being sled. */
		if (want_sled) {
			stop = (((e >> 11) & 1) ^ 1) | back;
			/* A sled lies within a run of offsets that are sled
			 * instructions: keep the runs long enough to matter. */
			if ((run & (0 - stop)) >= floor) {
				s->rs[nr++] = (uint16_t)(i + 1);
				s->rs[nr++] = (uint16_t)(i + 1 + run);
			}
			s->ex[i] = (uint16_t)((i & (0 - stop)) |
			    (s->ex[q] & (stop - 1)));
			run = (run + 1) & (stop - 1);
		}
		/* What the GetPC test starts from. */
		if (want_cand && (e & MI_GPC))
			s->gc[ng++] = (uint16_t)i;
		bin = s->npre[i + len] != s->npre[i];
		/* Printable chains: valid instructions of printable bytes. */
		if (want_pc) {
			bad = ((0x05u >> k) & 1) | bin;
			pq = s->pc[q];
			pq = pq < MCP_WIN - 1 ? pq : 0;
			s->pc[i] = (uint16_t)((1 + pq) & (bad - 1));
			/* What can set a pointer up (mcp_alnum()): push esp,
			 * or three equal inc/dec bytes (c1, c2 follow c). */
			c = p[i];
			su = ((c == 0x54) & (len == 1)) |
			    ((c - 0x40u < 0x10u) & (c == c1) & (c == c2));
			s->su[i] = (uint8_t)((su | s->su[q]) & (bad ^ 1));
			c2 = c1;
			c1 = c;
		}
		if (!want_cc)
			continue;
		/* Common chains (APE): the vocabulary of real code.
		 * Repeats and stores through unset registers are what data
		 * decodes to; they continue a chain but do not lengthen it. */
		rep = s->rep[i];
		valid = ((e >> 10) & 1) & (((0x05u >> k) & 1) ^ 1);
		ch = ((rep ^ 1) & ((e >> 26) ^ 1) & 1) +
		    ((bin & (rep ^ 1)) << 16) + s->ch[q] +
		    ((uint32_t)(k == MCP_K_SYS) << 31);
		ch &= (uint32_t)(0 - valid);
		s->ch[i] = ch;
		cc = ch & 0xffffu;
		np = (ch >> 16) & 0x7fffu;
		if (np * 2 >= cc && (int)cc > chain)
			chain = (int)cc;
		/* A system call is binary (cd 80, 0f 05): the chain before it
		 * may be printable (push "//sh", push "/bin"). */
		if ((ch & MCP_CH_SYS) && np >= 2 && (int)cc > syschain)
			syschain = (int)cc;
	}
	f->chain = chain;
	f->syschain = syschain;
	if (want_sled && run >= floor) {
		s->rs[nr++] = 0;
		s->rs[nr++] = (uint16_t)run;
	}
	s->ngc = ng;
	s->nlc = nl;
	s->nrs = nr;
}

/*
 * STRIDE: a sled is a stretch [a, b) from every offset of which execution
 * runs through b.  Two pointers and a sliding minimum of the exits: linear.
 * A sled lies within a run of sled instructions; only the runs that
 * mcp_chains() kept, long enough for some sensitivity to flag, are walked.
 */
static void
mcp_sleds(struct mcp_slot *s, struct mcp_feat *f)
{
	size_t		 a, b, end, head, tail;
	unsigned	 len, bin, r;

	for (r = 0; r < s->nrs; r += 2) {
		end = s->rs[r + 1];
		head = tail = 0;
		for (a = b = s->rs[r]; a < end; a++) {
			if (b < a)
				b = a;
			while (b < end &&
			    (head == tail || s->ex[s->dq[head]] >= b + 1) &&
			    s->ex[b] >= b + 1) {
				while (tail > head &&
				    s->ex[s->dq[tail - 1]] >= s->ex[b])
					tail--;
				s->dq[tail++] = (uint16_t)b;
				b++;
			}
			len = (unsigned)(b - a);
			bin = s->npre[b] - s->npre[a];
			if (bin * 2 >= len && (int)len > f->sled)
				f->sled = (int)len;
			if (bin == 0 && (int)len > f->psled)
				f->psled = (int)len;
			if (head < tail && s->dq[head] == a)
				head++;
			if (head == tail)
				tail = head = 0;
		}
	}
}

/* Whether a pop into a register comes within max instructions from i. */
static int
mcp_pops_soon(const struct mcp_slot *s, size_t n, long i, int max)
{
	uint32_t	 e;

	for (; max > 0 && i >= 0 && (size_t)i < n; max--) {
		e = s->inf[i];
		if (e & MI_POP)
			return 1;
		if (MI_KIND(e) != MCP_K_NORMAL || (e & MI_PUSH))
			return 0;
		i += MI_LEN(e);
	}
	return 0;
}

/* Whether falling through from j lands on i within max instructions. */
static int
mcp_reaches(const struct mcp_slot *s, size_t j, size_t i, int max)
{
	for (; max > 0 && j < i; max--) {
		if (MI_KIND(s->inf[j]) != MCP_K_NORMAL)
			return 0;
		j += MI_LEN(s->inf[j]);
	}
	return j == i;
}

/* Whether "mov r32, esp" (89 e0+r or 8b c4+8r) is in [a, b). */
static int
mcp_esp_copy(const unsigned char *p, size_t a, size_t b)
{
	for (; a + 1 < b; a++)
		if ((p[a] == 0x89 && (p[a + 1] & 0xf8) == 0xe0) ||
		    (p[a] == 0x8b && (p[a + 1] & 0xc7) == 0xc4))
			return 1;
	return 0;
}

/*
 * GetPC: self-locating code reads its own address: a call whose target pops
 * the return address (call/pop, jmp-short/call-back/pop, call $+4), or an
 * x87 instruction followed by fnstenv and a pop of the saved FPU IP.
 */
static void
mcp_getpc(struct mcp_slot *s, const unsigned char *p, size_t n,
    struct mcp_feat *f)
{
	size_t		 i, j, lo;
	uint32_t	 e;
	long		 t;
	unsigned	 c;

	for (c = s->ngc; c-- > 0 && f->getpc == MCP_GETPC_NONE;) {
		i = s->gc[c];
		e = s->inf[i];
		if (MI_KIND(e) == MCP_K_CALL) {
			t = mcp_target(p, i, e);
			if (t >= 0 && t < (long)n && labs(t - (long)i) <= 1024 &&
			    t != (long)i && mcp_pops_soon(s, n, t, 3))
				f->getpc = MCP_GETPC_CALLPOP;
			continue;
		}
		if (!(e & MI_FNSTENV) && !(MI_BASE(e) && p[i] == 0xd9 &&
		    i + 1 < n && (p[i + 1] & 0x38) == 0x30))
			continue;
		/* fnstenv [esp-0xc] leaves the FPU IP on top of the stack by
		 * itself; any other target needs the pop that fetches it. */
		if (!(i + 4 <= n && memcmp(p + i, "\xd9\x74\x24\xf4", 4) == 0) &&
		    !mcp_pops_soon(s, n, (long)(i + MI_LEN(e)), 4))
			continue;
		lo = i > 32 ? i - 32 : 0;
		if (!(e & MI_FNSTENV) && !mcp_esp_copy(p, lo, i))
			continue;
		for (j = lo; j < i; j++)
			if ((s->inf[j] & MI_FPU) && !(s->inf[j] & MI_FNSTENV) &&
			    mcp_reaches(s, j, i, 8)) {
				f->getpc = MCP_GETPC_FNSTENV;
				break;
			}
	}
}

/* Whether the loop body [t, i) moves a register it patches memory through
 * (xor [ebx+ecx], key; inc ebx), or loads, changes and stores a string. */
static int
mcp_loop_moves(struct mcp_slot *s, const unsigned char *p, size_t t,
    size_t i)
{
	unsigned	 bases = 0, wrote = 0, b, w, lods = 0, stos = 0;
	size_t		 q;
	uint32_t	 e;

	for (q = t; q < i; q += MI_LEN(e)) {
		e = s->inf[q];
		b = MI_BASE(e);
		w = MI_WREG(e);
		if ((e & MI_MEMW) && b != 0)
			bases |= 1u << b;
		if (w != 0 && (e & MI_STEP))
			wrote |= 1u << w;
		lods |= p[q] == 0xac || p[q] == 0xad;
		stos |= p[q] == 0xaa || p[q] == 0xab;
	}
	return (bases & wrote) != 0 || (lods && stos && i - t > 2);
}

/* Decoder loops: a short backward branch whose body runs straight back to
 * it, writes memory through a register and moves that register. */
static void
mcp_loops(struct mcp_slot *s, const unsigned char *p, size_t n,
    struct mcp_feat *f)
{
	size_t		 i, q;
	uint32_t	 e, eq;
	long		 t;
	int		 cnt, memw;
	unsigned	 c;

	(void)n;
	for (c = 0; c < s->nlc; c++) {
		i = s->lc[c];
		e = s->inf[i];
		t = mcp_target(p, i, e);
		cnt = memw = 0;
		for (q = (size_t)t; q < i && cnt < MCP_WALK_MAX; cnt++) {
			eq = s->inf[q];
			if ((MI_KIND(eq) != MCP_K_NORMAL &&
			    MI_KIND(eq) != MCP_K_JCC) || !(eq & MI_COMMON))
				break;
			memw |= (eq & MI_MEMW) != 0;
			q += MI_LEN(eq);
		}
		mcp_nwork += (unsigned long)cnt;
		if (q != i || !memw || !mcp_loop_moves(s, p, (size_t)t, i))
			continue;
		if (cnt + 1 > f->loop)
			f->loop = cnt + 1;
	}
}

/* State of the printable-decoder walk along one chain. */
struct mcp_alw {
	unsigned	 ptr;		/* registers (bit 1-8) that point into us */
	unsigned	 stack[8];	/* register pushed, 0 for anything else */
	unsigned	 sp;		/* pushes on it, modulo 8 */
	unsigned	 nz;		/* entries of stack that are not 0 */
	unsigned	 runb, runn;	/* last inc/dec byte and its repeat count */
	int		 start;		/* instruction that set the first pointer */
	int		 ops, writes, odd; /* since start */
};

/* Account one instruction of a printable chain; 1 when the stretch since a
 * pointer was set up shows a decoder. */
static int
mcp_alnum_step(struct mcp_alw *w, const unsigned char *p, size_t q,
    uint32_t e, int cnt, int rep)
{
	unsigned	 b = MI_BASE(e), wr = MI_WREG(e), c = p[q], r;

	if (b != 0 && (w->ptr & (1u << b)) && b != 5 && b != 6 && !rep) {
		w->ops++;
		w->writes += (e & MI_MEMW) != 0;
	} else if (wr != 0 && !(c >= 0x40 && c <= 0x4f) && b == 0)
		w->ptr &= ~(1u << wr);
	if (!(e & MI_COMMON))
		w->odd++;
	if (c >= 0x40 && c <= 0x4f && MI_LEN(e) == 1) {
		/* A run of inc/dec on one register adjusts a pointer. */
		w->runn = c == w->runb ? w->runn + 1 : 1;
		w->runb = c;
		if (w->runn >= 3)
			w->ptr |= 1u << ((c & 7) + 1);
	} else
		w->runn = 0;
	if (c >= 0x50 && c <= 0x57 && MI_LEN(e) == 1) {
		/* push esp, or push of a pointer: what is popped points. */
		r = (c & 7) + 1;
		r = (r == 5 || (w->ptr & (1u << r))) ? r : 0;
		w->nz += (r != 0) - (w->stack[w->sp % 8] != 0);
		w->stack[w->sp++ % 8] = r;
	} else if (e & MI_PUSH) {
		w->nz -= w->stack[w->sp % 8] != 0;
		w->stack[w->sp++ % 8] = 0;
	} else if (c >= 0x58 && c <= 0x5f && MI_LEN(e) == 1) {
		r = (c & 7) + 1;
		if (w->sp > 0 && w->stack[--w->sp % 8] != 0)
			w->ptr |= 1u << r;
		else
			w->ptr &= ~(1u << r);
	}
	if (w->ptr != 0 && w->start < 0) {
		w->start = cnt;
		w->ops = w->writes = w->odd = 0;
	}
	if (w->start >= 0 && cnt - w->start >= MCP_ALNUM_SPAN) {
		if (w->ops >= MCP_ALNUM_OPS && w->writes >= 1 &&
		    w->odd <= MCP_ALNUM_ODD)
			return 1;
		w->start = w->ptr != 0 ? cnt : -1;
		w->ops = w->writes = w->odd = 0;
	}
	return 0;
}

/*
 * Printable decoders (Alpha2, alpha_upper, their x86-64 kin) can use
 * neither GetPC nor backward jumps: they make a register point into the
 * argument (push/pop of a pointer, push esp, a run of inc/dec adjusting it)
 * and then patch memory through it again and again.  Walk each printable
 * chain once and look for that.
 *
 * Walks from different offsets merge.  Where a walk arrives in a clean
 * state (no pointer, no decoder stretch under way, no inc/dec run, nothing
 * but zeros on its stack ring) it behaves from there as any other walk
 * that arrived there clean, up to where its stack depth, which only shifts
 * the ring, reaches bottom: what came of the walk that recorded the offset
 * (a decoder so many instructions on, the chain's end, or nothing within
 * so many) answers for the later one.  Exact, and it spares re-walking the
 * merged paths.
 */
/* What came of a walk from a clean arrival (mcp_slot's ak). */
enum {
	MCP_AL_NONE,			/* no record */
	MCP_AL_TRIG,			/* a decoder av instructions on */
	MCP_AL_END,			/* the chain ends with no decoder */
	MCP_AL_CAP,			/* no decoder within av instructions */
};
#define MCP_AL_NOPOP	255		/* no pop ahead */

/* Whether the walk state is clean: see mcp_alnum(). */
static int
mcp_alw_clean(const struct mcp_alw *w)
{
	return (w->ptr | w->runn | w->nz) == 0 && w->start < 0;
}

static void
mcp_alnum(struct mcp_slot *s, const unsigned char *p, size_t n,
    struct mcp_feat *f)
{
	struct mcp_alw	 w;
	uint16_t	 wq[MCP_WALK_MAX];	/* offset of each step */
	uint8_t		 wsp[MCP_WALK_MAX];	/* stack depth on arrival */
	uint8_t		 wpop[MCP_WALK_MAX];	/* depth a pop meets, or none */
	uint8_t		 wcl[MCP_WALK_MAX];	/* arrived clean */
	size_t		 i, q;
	uint32_t	 e;
	int		 cnt, end, at, tail, k, sa, ma, sb, clean;
	unsigned	 c;
	uint64_t	 x;

	/* Offsets not to start from: walked, or too short a chain; found
	 * eight at a time. */
	for (i = 0; i < n; i++)
		s->seen[i] = s->pc[i] < 16;
	memset(s->ak, MCP_AL_NONE, n);
	for (i = 0; i < n; i++) {
		while (i + 8 <= n) {
			memcpy(&x, s->seen + i, 8);
			x = ~x & 0x0101010101010101ull;
			if (x != 0) {
				i += (size_t)__builtin_ctzll(x) / 8;
				break;
			}
			i += 8;
		}
		if (i >= n)
			break;
		if (s->seen[i])
			continue;
		memset(&w, 0, sizeof(w));
		w.start = -1;
		end = MCP_AL_CAP;
		at = 0;
		tail = MCP_AL_NOPOP;
		for (q = i, cnt = 0; cnt < MCP_WALK_MAX;) {
			e = s->inf[q];
			if (s->pc[q] == 0) {
				end = MCP_AL_END;
				break;
			}
			clean = mcp_alw_clean(&w);
			/* Clean, a walk sets no pointer up but through push
			 * esp or a run of three inc/dec: none ahead (su), it
			 * finds no decoder from here, whatever its depth. */
			if (clean && !s->su[q]) {
				end = MCP_AL_END;
				break;
			}
			if (clean && (k = s->ak[q]) != MCP_AL_NONE) {
				sa = s->asp[q];
				ma = s->amin[q];
				sb = (int)w.sp;
				if ((sa == sb || ma == MCP_AL_NOPOP ||
				    (ma > 0 && sb + ma - sa > 0)) &&
				    (k != MCP_AL_CAP ||
				    cnt + s->av[q] >= MCP_WALK_MAX)) {
					end = k;
					at = cnt + s->av[q];
					tail = ma == MCP_AL_NOPOP ? ma :
					    sb + ma - sa;
					break;
				}
			}
			wq[cnt] = (uint16_t)q;
			wsp[cnt] = (uint8_t)w.sp;
			wcl[cnt] = (uint8_t)clean;
			c = p[q];
			wpop[cnt] = c >= 0x58 && c <= 0x5f && MI_LEN(e) == 1 &&
			    !(e & MI_PUSH) ? (uint8_t)w.sp : MCP_AL_NOPOP;
			s->seen[q] = 1;
			if (mcp_alnum_step(&w, p, q, e, cnt, s->rep[q])) {
				end = MCP_AL_TRIG;
				at = cnt++;
				break;
			}
			cnt++;
			if (s->nx[q] == MCP_NONE) {
				end = MCP_AL_END;
				break;
			}
			q = s->nx[q];
		}
		if (end == MCP_AL_TRIG && at < MCP_WALK_MAX && at + 1 > f->alnum)
			f->alnum = at + 1;
		mcp_nwork += (unsigned long)cnt + 1;
		/* Record what came of it at each clean arrival. */
		while (cnt-- > 0) {
			if (wpop[cnt] < tail)
				tail = wpop[cnt];
			if (!wcl[cnt] || s->ak[wq[cnt]] != MCP_AL_NONE)
				continue;
			s->ak[wq[cnt]] = (uint8_t)end;
			s->av[wq[cnt]] = (uint8_t)(end == MCP_AL_TRIG ?
			    at - cnt : end == MCP_AL_CAP ? MCP_WALK_MAX - cnt : 0);
			s->asp[wq[cnt]] = wsp[cnt];
			s->amin[wq[cnt]] = (uint8_t)tail;
		}
	}
}

/*
 * Every test on one window of n bytes, in one mode; mcp_text() has marked
 * the same bytes.
 */
void
mcp_window(struct mcp_slot *s, int mode, const unsigned char *p, size_t n,
    struct mcp_feat *f)
{
	int	 alnum;

	memset(f, 0, sizeof(*f));
	if (n == 0)
		return;
	if (n > MCP_WIN)
		n = MCP_WIN;
	/* All text: sleds, chains, GetPC and loops need binary bytes, and
	 * printable decoders are judged in their x86 reading. */
	if (mode == MCP_X86_64 && s->npre[n] == 0)
		return;
	alnum = s->npre[n] * 4 < n;
	mcp_nwork += n;
	mcp_decode_all(s, mode, p, n);
	/*
	 * All text holds no sled with binary bytes (only printable sleds,
	 * longer, count) and no chain of them.  Printable ASCII (base64 text)
	 * holds no call, no fnstenv and no backward branch: GetPC and decoder
	 * loops need binary bytes.  Sleds in all text are printable sleds,
	 * not measured when the sensitivity does not judge them (nopsled).
	 * One pass of each shape, for speed.
	 */
	if (s->npre[n] != 0 && alnum)
		mcp_chains(s, p, n, f, 1, 1, 1, 1, MCP_SLED_FLOOR);
	else if (s->npre[n] != 0)
		mcp_chains(s, p, n, f, 0, 1, 1, 1, MCP_SLED_FLOOR);
	else if (!s->ascii)
		mcp_chains(s, p, n, f, 1, 0, 1, !s->nopsled, MCP_PSLED_FLOOR);
	else if (!s->nopsled)
		mcp_chains(s, p, n, f, 1, 0, 0, 1, MCP_PSLED_FLOOR);
	else
		mcp_chains(s, p, n, f, 1, 0, 0, 0, MCP_PSLED_FLOOR);
	mcp_sleds(s, f);
	if (s->npre[n] != 0 || !s->ascii) {
		mcp_getpc(s, p, n, f);
		mcp_loops(s, p, n, f);
	}
	if (alnum)
		mcp_alnum(s, p, n, f);
}

/* Offsets tested and instructions walked so far by this thread's scans:
 * what tests bound to show the work is linear. */
unsigned long
mcp_work(void)
{
	return mcp_nwork;
}
