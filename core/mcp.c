/* SPDX-License-Identifier: ISC */
/*
 * mcp.c: the Malicious Code Protector's entry points (SPEC section 5): the
 * pool of per-thread work slots, the capstone decode cache, the verdict
 * thresholds per sensitivity and the base64 view of an argument.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"
#include "mcp_int.h"

/* Concurrent scans; a further caller waits for a slot (scans take ms). */
#define MCP_SLOTS	16

/*
 * Decode cache: the summary of the instruction starting with two given bytes
 * when capstone's answer does not depend on the bytes after them (most
 * one-byte, immediate and register-form instructions), else MI_UNDET.
 * Filled a row (one first byte, both modes apart) at a time, the first time
 * a scan meets that byte, under mcp_fill_mtx; mcp_row says which rows are
 * done.  A process pays only for the bytes it sees, once: at most the 512
 * rows, what filling it whole at start-up cost.  Beyond that, a scan's
 * calls into capstone are bounded by the MI_UNDET offsets.
 */
static uint32_t		 mcp_cache[MCP_NMODES][65536];
static atomic_uchar	 mcp_row[MCP_NMODES][256];
static atomic_uint	 mcp_rows[MCP_NMODES];		/* rows filled */
static unsigned		 mcp_sibrows[MCP_NMODES];	/* SIB rows used */
static pthread_mutex_t	 mcp_fill_mtx = PTHREAD_MUTEX_INITIALIZER;

/*
 * Second level for the MI_UNDET entries whose second byte is a ModRM that
 * calls for a SIB byte (a quarter of them): the summary by the SIB's base
 * and whether it has an index, which is all of the SIB a summary reflects
 * (the scale and the index register change nothing summarised).  The entry
 * in mcp_cache carries MI_SIB and the row number in its low bits.
 */
#define MCP_SIBROWS	2048
#define MI_SIB		(1u << 29)
#define MCP_SIBCOL(b)	(((b) & 7u) | (((b) & 0x38u) == 0x20u) << 3)
static uint32_t		 mcp_sib[MCP_NMODES][MCP_SIBROWS][16];

/*
 * Third level for text: the other MI_UNDET entries of two printable bytes
 * (a prefix or REX before text, 16-bit addressing, text ModRM forms) by
 * the third byte when it too is printable, filled as the rest, so that
 * printable arguments (base64, alphanumeric code) need no capstone call
 * for them.  The entry in mcp_cache carries MI_SIB, MI_B3 and the row
 * number; an entry's third byte outside 0x20-0x7e gives MI_UNDET.
 */
#define MCP_B3ROWS	1024
#define MI_B3		(1u << 16)
static uint32_t		 mcp_b3[MCP_NMODES][MCP_B3ROWS][95];
static unsigned		 mcp_b3rows[MCP_NMODES];	/* text rows used */

/*
 * Third level for the two-byte opcodes: the MI_UNDET entries of 0f and a
 * second byte by the third byte, the ModRM of most of them (random bytes
 * meet 0f once in 128 offsets, in both modes).  A ModRM that calls for a
 * SIB byte is left to capstone.  The entry in mcp_cache carries MI_SIB,
 * MI_ESC and the second byte.
 */
#define MI_ESC		(1u << 17)
static uint32_t		 mcp_esc[MCP_NMODES][256][256];

/* Calls into capstone made by this thread's scans (tests bound them). */
static _Thread_local unsigned long mcp_ndecode;

static pthread_once_t	 mcp_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t	 mcp_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 mcp_cv = PTHREAD_COND_INITIALIZER;
static struct mcp_slot	*mcp_free;	/* free slots, under mcp_mtx */
static int		 mcp_ready;	/* set once by mcp_setup */

/*
 * Thresholds of one sensitivity; 0 turns a test off.  Random bytes (GSSAPI
 * and Kerberos tokens) reach longer sleds and chains by chance the longer
 * they are, so the figures grow by *_per_doubling of the input beyond 1 KB.
 */
struct mcp_limits {
	int	 sled;		/* bytes of a sled with binary bytes */
	int	 psled;		/* bytes of an all-printable sled */
	int	 chain;		/* instructions of a binary common chain */
	int	 syschain;	/* instructions of a chain ending in a syscall */
	int	 loop;		/* decoder loops: on or off */
	int	 alnum;		/* printable decoder: on or off */
};

static const struct mcp_limits mcp_limits[] = {
	[MCP_LOW] =	{ 32, 0, 40, 10, 0, 1 },
	[MCP_MEDIUM] =	{ 20, 0, 28, 7, 1, 1 },
	/* The lowest sled figures are the floors below which sleds are not
	 * measured at all. */
	[MCP_HIGH] =	{ MCP_SLED_FLOOR, MCP_PSLED_FLOOR, 22, 6, 1, 1 },
};

#define MCP_SLED_PER_DOUBLING	2
#define MCP_CHAIN_PER_DOUBLING	3
#define MCP_SYS_PER_DOUBLING	1


/* A slot with its capstone handles open, one per mode; NULL if not. */
struct mcp_slot *
mcp_slot_new(void)
{
	static const cs_mode	 modes[MCP_NMODES] = { CS_MODE_32, CS_MODE_64 };
	struct mcp_slot		*s;
	int			 m;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	for (m = 0; m < MCP_NMODES; m++) {
		if (cs_open(CS_ARCH_X86, modes[m], &s->cs[m]) != CS_ERR_OK) {
			mcp_slot_free(s);
			return NULL;
		}
		cs_option(s->cs[m], CS_OPT_DETAIL, CS_OPT_ON);
		if ((s->insn[m] = cs_malloc(s->cs[m])) == NULL) {
			mcp_slot_free(s);
			return NULL;
		}
	}
	return s;
}

/* Close what mcp_slot_new() opened, also when it stopped half-way. */
void
mcp_slot_free(struct mcp_slot *s)
{
	int	 m;

	for (m = 0; m < MCP_NMODES; m++) {
		if (s->insn[m] != NULL)
			cs_free(s->insn[m], 1);
		if (s->cs[m] != 0)
			cs_close(&s->cs[m]);
	}
	free(s);
}

/* Build the slot pool and fill the decode cache, once. */
static void
mcp_setup(void)
{
	struct mcp_slot	*s;
	int		 i;

	for (i = 0; i < MCP_SLOTS; i++) {
		if ((s = mcp_slot_new()) == NULL)
			return;
		s->next = mcp_free;
		mcp_free = s;
	}
	mcp_ready = 1;
}

/* Once per process: 0, or -1 when capstone cannot be used. */
int
mcp_init(void)
{
	pthread_once(&mcp_once, mcp_setup);
	return mcp_ready ? 0 : -1;
}

static void	mcp_slot_put(struct mcp_slot *);
static struct mcp_slot *mcp_slot_get(void);
static inline void mcp_need_row(struct mcp_slot *, int, unsigned);

/* Take a free slot, waiting for one if all are busy. */
static struct mcp_slot *
mcp_slot_get(void)
{
	struct mcp_slot	*s;

	if (mcp_init() == -1)
		return NULL;
	pthread_mutex_lock(&mcp_mtx);
	while (mcp_free == NULL)
		pthread_cond_wait(&mcp_cv, &mcp_mtx);
	s = mcp_free;
	mcp_free = s->next;
	pthread_mutex_unlock(&mcp_mtx);
	return s;
}

/* Give a slot back. */
static void
mcp_slot_put(struct mcp_slot *s)
{
	pthread_mutex_lock(&mcp_mtx);
	s->next = mcp_free;
	mcp_free = s;
	pthread_cond_signal(&mcp_cv);
	pthread_mutex_unlock(&mcp_mtx);
}

/* Sign-extended relative displacement size that ends the instruction. */
static unsigned
mcp_relsz(const cs_insn *in, int64_t imm)
{
	/* Capstone gives x86-32 targets modulo 2^32. */
	int64_t		 rel = (int32_t)(uint32_t)(imm - (int64_t)in->address -
			    in->size);
	static const unsigned sz[] = { 4, 2, 1 };
	unsigned	 k, b;
	int64_t		 v;

	for (k = 0; k < 3; k++) {
		if (sz[k] >= in->size)
			continue;
		v = 0;
		for (b = 0; b < sz[k]; b++)
			v |= (int64_t)in->bytes[in->size - sz[k] + b] << (8 * b);
		if (sz[k] < 8 && (v & ((int64_t)1 << (8 * sz[k] - 1))))
			v -= (int64_t)1 << (8 * sz[k]);
		if (v == rel)
			return sz[k];
	}
	return 0;
}

/* Whether the instruction is in a capstone group. */
static bool
mcp_group(const cs_insn *in, unsigned grp)
{
	uint8_t	 i;

	for (i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == grp)
			return true;
	return false;
}

/* Number 1-8 of a general register (any width, low eight only), or 0. */
static unsigned
mcp_regno(unsigned r)
{
	static const unsigned short regs[][4] = {
		{ X86_REG_EAX, X86_REG_RAX, X86_REG_AX, X86_REG_AL },
		{ X86_REG_ECX, X86_REG_RCX, X86_REG_CX, X86_REG_CL },
		{ X86_REG_EDX, X86_REG_RDX, X86_REG_DX, X86_REG_DL },
		{ X86_REG_EBX, X86_REG_RBX, X86_REG_BX, X86_REG_BL },
		{ X86_REG_ESP, X86_REG_RSP, X86_REG_SP, X86_REG_SPL },
		{ X86_REG_EBP, X86_REG_RBP, X86_REG_BP, X86_REG_BPL },
		{ X86_REG_ESI, X86_REG_RSI, X86_REG_SI, X86_REG_SIL },
		{ X86_REG_EDI, X86_REG_RDI, X86_REG_DI, X86_REG_DIL },
	};
	unsigned	 i, k;

	for (i = 0; i < 8; i++)
		for (k = 0; k < 4; k++)
			if (regs[i][k] == r)
				return i + 1;
	return 0;
}

/* Kind of an instruction from its id and first operand. */
static unsigned
mcp_kind(const cs_insn *in, const cs_x86 *x, unsigned *relsz)
{
	const cs_x86_op	*o = &x->operands[0];
	bool		 imm = x->op_count > 0 && o->type == X86_OP_IMM;

	*relsz = 0;
	switch (in->id) {
	case X86_INS_JMP:
	case X86_INS_CALL:
		if (!imm)
			return MCP_K_END;
		if ((*relsz = mcp_relsz(in, o->imm)) == 0)
			return MCP_K_END;
		return in->id == X86_INS_JMP ? MCP_K_JMP : MCP_K_CALL;
	case X86_INS_JAE: case X86_INS_JA: case X86_INS_JBE: case X86_INS_JB:
	case X86_INS_JCXZ: case X86_INS_JECXZ: case X86_INS_JRCXZ:
	case X86_INS_JE: case X86_INS_JGE: case X86_INS_JG: case X86_INS_JLE:
	case X86_INS_JL: case X86_INS_JNE: case X86_INS_JNO: case X86_INS_JNP:
	case X86_INS_JNS: case X86_INS_JO: case X86_INS_JP: case X86_INS_JS:
	case X86_INS_LOOP: case X86_INS_LOOPE: case X86_INS_LOOPNE:
		if (!imm || (*relsz = mcp_relsz(in, o->imm)) == 0)
			return MCP_K_END;
		return MCP_K_JCC;
	case X86_INS_RET:
		return MCP_K_END;
	case X86_INS_INT:
		if (imm && (o->imm == 0x80 || o->imm == 0x2e))
			return MCP_K_SYS;
		return MCP_K_STOP;
	case X86_INS_SYSCALL:
	case X86_INS_SYSENTER:
		return MCP_K_SYS;
	case X86_INS_HLT: case X86_INS_IN: case X86_INS_OUT:
	case X86_INS_INSB: case X86_INS_INSW: case X86_INS_INSD:
	case X86_INS_OUTSB: case X86_INS_OUTSW: case X86_INS_OUTSD:
	case X86_INS_CLI: case X86_INS_STI: case X86_INS_IRET:
	case X86_INS_IRETD: case X86_INS_IRETQ: case X86_INS_INT1:
	case X86_INS_INT3: case X86_INS_INTO: case X86_INS_UD2:
	case X86_INS_UD2B: case X86_INS_UD0: case X86_INS_SYSEXIT:
	case X86_INS_SYSRET: case X86_INS_LCALL: case X86_INS_LJMP:
	case X86_INS_RETF: case X86_INS_RETFQ: case X86_INS_BOUND:
	case X86_INS_CLTS:
		return MCP_K_STOP;
	}
	if (mcp_group(in, X86_GRP_PRIVILEGE))
		return MCP_K_STOP;
	return MCP_K_NORMAL;
}

/* Whether the id is in the working vocabulary of real shellcode. */
static bool
mcp_vocab(unsigned id)
{
	switch (id) {
	case X86_INS_MOV: case X86_INS_MOVZX: case X86_INS_MOVSX:
	case X86_INS_MOVSXD: case X86_INS_MOVABS: case X86_INS_LEA:
	case X86_INS_PUSH: case X86_INS_POP: case X86_INS_PUSHAL:
	case X86_INS_POPAL: case X86_INS_XOR: case X86_INS_ADD:
	case X86_INS_SUB: case X86_INS_AND: case X86_INS_OR: case X86_INS_NOT:
	case X86_INS_NEG: case X86_INS_INC: case X86_INS_DEC: case X86_INS_CMP:
	case X86_INS_TEST: case X86_INS_XCHG: case X86_INS_CDQ:
	case X86_INS_CWDE: case X86_INS_CDQE: case X86_INS_CQO:
	case X86_INS_SHL: case X86_INS_SHR: case X86_INS_SAR: case X86_INS_ROL:
	case X86_INS_ROR: case X86_INS_MUL: case X86_INS_IMUL: case X86_INS_DIV:
	case X86_INS_NOP: case X86_INS_CLD: case X86_INS_STOSB:
	case X86_INS_STOSD: case X86_INS_STOSQ: case X86_INS_LODSB:
	case X86_INS_LODSD: case X86_INS_LODSQ: case X86_INS_SCASB:
	case X86_INS_SCASD: case X86_INS_MOVSB: case X86_INS_MOVSD:
	case X86_INS_CALL: case X86_INS_JMP: case X86_INS_JE: case X86_INS_JNE:
	case X86_INS_JB: case X86_INS_JAE: case X86_INS_JL: case X86_INS_JGE:
	case X86_INS_JLE: case X86_INS_JG: case X86_INS_JBE: case X86_INS_JA:
	case X86_INS_JS: case X86_INS_JNS: case X86_INS_LOOP:
	case X86_INS_JECXZ: case X86_INS_JRCXZ: case X86_INS_INT:
	case X86_INS_SYSCALL: case X86_INS_SYSENTER: case X86_INS_RET:
	case X86_INS_FNSTENV:
		return true;
	}
	return false;
}

/* Whether the instruction moves its register operand by a small step, as
 * a decoder walks its buffer: inc, dec, add/sub of +-16, lea r, [r+-16]. */
static bool
mcp_small_step(const cs_insn *in, const cs_x86 *x)
{
	const cs_x86_op	*o = &x->operands[1];

	switch (in->id) {
	case X86_INS_INC:
	case X86_INS_DEC:
		return true;
	case X86_INS_ADD:
	case X86_INS_SUB:
		return x->op_count == 2 && o->type == X86_OP_IMM &&
		    o->imm >= -16 && o->imm <= 16;
	case X86_INS_LEA:
		return x->op_count == 2 && o->mem.index == X86_REG_INVALID &&
		    o->mem.disp >= -16 && o->mem.disp <= 16;
	}
	return false;
}

/* Flags from the operands: memory use, stack, FPU. */
static uint32_t
mcp_flags(const cs_insn *in, const cs_x86 *x, int mode, unsigned kind)
{
	const cs_x86_op	*o;
	uint32_t	 f = 0;
	bool		 mem = false, odd = false;
	int		 i;

	for (i = 0; i < x->op_count; i++) {
		o = &x->operands[i];
		if (o->type == X86_OP_REG && (o->access & CS_AC_WRITE) &&
		    (f & MI_MKWREG(0xf)) == 0)
			f |= MI_MKWREG(mcp_regno(o->reg));
		if (o->type == X86_OP_REG && ((o->reg >= X86_REG_CR0 &&
		    o->reg <= X86_REG_DR15) || o->reg == X86_REG_CS ||
		    o->reg == X86_REG_DS || o->reg == X86_REG_ES ||
		    o->reg == X86_REG_SS || o->reg == X86_REG_FS ||
		    o->reg == X86_REG_GS))
			odd = true;
		if (o->type != X86_OP_MEM)
			continue;
		mem = true;
		/* Position-independent code has no absolute or 32-bit
		 * displacements; data bytes decode to them all the time. */
		if ((o->mem.base == X86_REG_INVALID &&
		    o->mem.index == X86_REG_INVALID) ||
		    (x->modrm >> 6) == 2 || (o->mem.base == X86_REG_RIP &&
		    (in->id != X86_INS_LEA || o->mem.disp > 4096 ||
		    o->mem.disp < -4096)))
			odd = true;
		if ((o->access & CS_AC_WRITE) &&
		    o->mem.base != X86_REG_ESP && o->mem.base != X86_REG_RSP &&
		    o->mem.base != X86_REG_EBP && o->mem.base != X86_REG_RBP)
			f |= MI_WMEM;
		if ((f & MI_MKBASE(0xf)) == 0)
			f |= MI_MKBASE(mcp_regno(o->mem.base));
		if (i == 0 && (o->access & CS_AC_WRITE) &&
		    (o->access & CS_AC_READ) &&
		    o->mem.base != X86_REG_INVALID &&
		    o->mem.base != X86_REG_ESP && o->mem.base != X86_REG_RSP &&
		    o->mem.base != X86_REG_EBP && o->mem.base != X86_REG_RBP)
			f |= MI_MEMW;
	}
	if (x->prefix[1] != 0 && x->prefix[1] != X86_PREFIX_FS &&
	    x->prefix[1] != X86_PREFIX_GS)
		odd = true;
	if (x->prefix[3] != 0 || (x->prefix[0] != 0 && !(in->id ==
	    X86_INS_STOSB || in->id == X86_INS_STOSD || in->id ==
	    X86_INS_MOVSB || in->id == X86_INS_MOVSD || in->id ==
	    X86_INS_SCASB)))
		odd = true;
	/* "add [eax], al" is what runs of zero bytes decode to. */
	if (in->bytes[0] == 0x00 && mem)
		odd = true;
	if (mode == MCP_X86_64 && x->rex != 0 && in->bytes[0] != x->rex &&
	    x->prefix[2] == 0)
		odd = true;
	if (mcp_vocab(in->id) && !odd && kind != MCP_K_STOP)
		f |= MI_COMMON;
	if (!mem && !odd && x->prefix[0] == 0 && (kind == MCP_K_NORMAL ||
	    kind == MCP_K_JCC || kind == MCP_K_JMP) &&
	    !mcp_group(in, X86_GRP_FPU))
		f |= MI_SLED;
	if (in->id == X86_INS_POP && x->op_count == 1 &&
	    x->operands[0].type == X86_OP_REG && !odd)
		f |= MI_POP;
	if (in->id == X86_INS_PUSH)
		f |= MI_PUSH;
	if (x->op_count > 0 && x->operands[0].type == X86_OP_REG &&
	    mcp_small_step(in, x))
		f |= MI_STEP;
	if (x->opcode[0] >= 0xd8 && x->opcode[0] <= 0xdf)
		f |= MI_FPU;
	if (in->id == X86_INS_FNSTENV && x->op_count == 1 &&
	    (x->operands[0].mem.base == X86_REG_ESP ||
	    x->operands[0].mem.base == X86_REG_RSP))
		f |= MI_FNSTENV;
	/* Where the GetPC test looks: calls, fnstenv, and d9 /6 through a
	 * base (fnstenv by another name). */
	if (kind == MCP_K_CALL || (f & MI_FNSTENV) || ((f & MI_MKBASE(0xf)) &&
	    in->bytes[0] == 0xd9 && in->size > 1 &&
	    (in->bytes[1] & 0x38) == 0x30))
		f |= MI_GPC;
	return f;
}

/* Summarise the instruction at p by asking capstone. */
uint32_t
mcp_decode_live(struct mcp_slot *s, int mode, const unsigned char *p,
    size_t avail)
{
	const uint8_t	*code = p;
	size_t		 size = avail > 15 ? 15 : avail;
	uint64_t	 addr = 0;
	cs_insn		*in = s->insn[mode];
	unsigned	 kind, relsz;

	mcp_ndecode++;
	if (size == 0 || !cs_disasm_iter(s->cs[mode], &code, &size, &addr, in))
		return MI_MK(1, MCP_K_INVALID, 0);
	kind = mcp_kind(in, &in->detail->x86, &relsz);
	return MI_MK(in->size, kind, relsz) |
	    mcp_flags(in, &in->detail->x86, mode, kind);
}

/*
 * Trailing bytes the fill probes with: ModRM bytes of every mod, and the
 * immediates a summary tells apart: 0x80 and 0x2e (int: a system call),
 * 0x0a (aam, aad: no operand), small and large steps.
 */
static const unsigned char mcp_fills[] = { 0x00, 0xff, 0x25, 0x90, 0x41,
    0x80, 0x2e, 0x0a };

/* Whether a byte leads a VEX, EVEX or XOP form in some mode. */
static bool
mcp_is_lead(unsigned c)
{
	return c == 0xc4 || c == 0xc5 || c == 0x62 || c == 0x8f;
}

/*
 * Whether a VEX3 (c4), EVEX (62) or XOP (8f) form is invalid whatever
 * follows its second byte: the map field names no map, where capstone's
 * decoder gives up, and for 62 no other reading holds either (bound
 * takes memory and exists in x86-32 only; EVEX needs bits 3-2 clear).
 * Random bytes meet these forms often.  check_mcp compares every pair
 * the cache holds invalid with capstone for every third and fourth byte.
 */
static bool
mcp_lead_invalid(int mode, unsigned b0, unsigned b1)
{
	bool	 vex = mode == MCP_X86_64 || (b1 & 0xc0) == 0xc0;

	switch (b0) {
	case 0x8f:
		return (b1 & 0x38) != 0 && ((b1 & 0x1f) < 8 ||
		    (b1 & 0x1f) > 10);
	case 0xc4:
		return vex && ((b1 & 0x1f) == 0 || (b1 & 0x1f) > 3);
	case 0x62:
		return vex && ((b1 & 0x0c) != 0 || (b1 & 3) == 0);
	}
	return false;
}

/*
 * Decode the npre bytes at pre followed by each fill byte in turn: the
 * summary every probe gives, or MI_UNDET at the first that disagrees.  An
 * instruction no longer than those bytes is all there: one probe tells.
 */
static uint32_t
mcp_probe(struct mcp_slot *s, int mode, const unsigned char *pre,
    size_t npre, const unsigned char *fills, size_t nfills)
{
	unsigned char	 probe[16];
	uint32_t	 e = 0, v;
	size_t		 k;

	for (k = 0; k < nfills; k++) {
		memset(probe, fills[k], sizeof(probe));
		memcpy(probe, pre, npre);
		v = mcp_decode_live(s, mode, probe, sizeof(probe));
		if (k > 0 && v != e)
			return MI_UNDET;
		e = v;
		if (MI_KIND(e) != MCP_K_INVALID && MI_LEN(e) <= npre)
			break;
	}
	return e;
}

/*
 * Fill a cache entry by decoding its first bytes with varied continuations.
 * An instruction no longer than those bytes is all there: one probe tells.
 * A form that every probe finds invalid may be valid with some other byte
 * after it: behind a VEX, EVEX or XOP lead the opcode comes bytes later
 * (MI_UNDET: capstone is asked) unless the lead's map names no map
 * (mcp_lead_invalid()); behind 0f the ModRM or third opcode byte that
 * follows decides, and every value of it is tried.
 */
static uint32_t
mcp_cache_fill(struct mcp_slot *s, int mode, const unsigned char *pre,
    size_t npre)
{
	unsigned char	 probe[16];
	uint32_t	 e, v;
	size_t		 k;
	unsigned	 b;

	e = mcp_probe(s, mode, pre, npre, mcp_fills, sizeof(mcp_fills));
	if (e & MI_UNDET)
		return MI_FILLED | MI_UNDET;
	if (MI_KIND(e) != MCP_K_INVALID)
		return e | MI_FILLED;
	if (npre >= 2 && mcp_lead_invalid(mode, pre[0], pre[1]))
		return e | MI_FILLED;
	for (k = 0; k < npre; k++)
		if (mcp_is_lead(pre[k]))
			return MI_FILLED | MI_UNDET;
	if (pre[0] == 0x0f || (npre > 1 && pre[1] == 0x0f))
		for (k = 0; k < 2; k++)
			for (b = 0; b < 256; b++) {
				memset(probe, k == 0 ? 0x00 : 0xff,
				    sizeof(probe));
				memcpy(probe, pre, npre);
				probe[npre] = (unsigned char)b;
				v = mcp_decode_live(s, mode, probe,
				    sizeof(probe));
				if (MI_KIND(v) != MCP_K_INVALID)
					return MI_FILLED | MI_UNDET;
			}
	return e | MI_FILLED;
}

/*
 * Add, sub and lea summaries differ by MI_STEP alone, which the trailing
 * immediate or displacement decides (mcp_small_step()): such an entry
 * keeps the rest, MI_STEPV and how to read the value in the MI_RELSZ
 * field (MCP_SV_*).  By the opcode: 83 a sign-extended imm8; 80 and 82
 * an imm8 and 81, 05 and 2d an imm32, which capstone gives unsigned for
 * byte and 32-bit registers; for lea by the ModRM mod (1: disp8; 0 and 2:
 * disp32), signed.  Checked on every probe the fill makes, the value read
 * from the probe; MI_UNDET if any disagrees.
 */
#define MCP_SV_S8	1	/* signed imm8 or disp8 */
#define MCP_SV_U8	3	/* unsigned imm8 */
#define MCP_SV_S32	4	/* signed disp32 */
#define MCP_SV_U32	5	/* unsigned imm32 */

/* The value an MI_STEPV entry of how (MCP_SV_*) reads at the end of len
 * bytes at p. */
static inline long
mcp_stepv_val(const unsigned char *p, unsigned len, unsigned how)
{
	const unsigned char	*q;
	uint32_t		 u;

	if (how == MCP_SV_S8 || how == MCP_SV_U8) {
		q = p + len - 1;
		return how == MCP_SV_S8 ? (long)(int8_t)q[0] : (long)q[0];
	}
	q = p + len - 4;
	u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
	    (uint32_t)q[3] << 24;
	return how == MCP_SV_S32 ? (long)(int32_t)u : (long)u;
}

static uint32_t
mcp_cache_stepv(struct mcp_slot *s, int mode, const unsigned char *pre,
    size_t npre)
{
	static const unsigned char fill[] = { 0x00, 0xff, 0x25, 0x90, 0x41,
	    0x10, 0xf0, 0x11, 0xef, 0x80, 0x2e, 0x0a };
	unsigned char	 probe[16];
	unsigned	 how, b0 = pre[0], mod = pre[1] >> 6;
	uint32_t	 e = 0, v;
	long		 val;
	size_t		 k;

	if (b0 == 0x83)
		how = MCP_SV_S8;
	else if (b0 == 0x80 || b0 == 0x82)
		how = MCP_SV_U8;
	else if (b0 == 0x81 || b0 == 0x05 || b0 == 0x2d)
		how = MCP_SV_U32;
	else if (b0 == 0x8d && mod != 3)
		how = mod == 1 ? MCP_SV_S8 : MCP_SV_S32;
	else
		return MI_FILLED | MI_UNDET;
	for (k = 0; k < sizeof(fill); k++) {
		memset(probe, fill[k], sizeof(probe));
		memcpy(probe, pre, npre);
		v = mcp_decode_live(s, mode, probe, sizeof(probe));
		if (MI_KIND(v) == MCP_K_INVALID || MI_RELSZ(v) != 0 ||
		    MI_LEN(v) <= npre || MI_LEN(v) < (how == MCP_SV_S8 ||
		    how == MCP_SV_U8 ? 1u : 4u) + 1)
			return MI_FILLED | MI_UNDET;
		val = mcp_stepv_val(probe, MI_LEN(v), how);
		if (((v & MI_STEP) != 0) != (val >= -16 && val <= 16))
			return MI_FILLED | MI_UNDET;
		v &= ~MI_STEP;
		if (k > 0 && v != e)
			return MI_FILLED | MI_UNDET;
		e = v;
	}
	return e | MI_STEPV | MI_MK(0, 0, how) | MI_FILLED;
}

/* The summary of an MI_STEPV entry for the bytes at p. */
static inline uint32_t
mcp_stepv(const unsigned char *p, uint32_t e)
{
	long	 v = mcp_stepv_val(p, MI_LEN(e), MI_RELSZ(e));

	e &= ~(MI_STEPV | MI_MK(0, 0, 7));
	return v >= -16 && v <= 16 ? e | MI_STEP : e;
}

/* Whether the second byte is a ModRM calling for a SIB byte after it. */
static bool
mcp_sib_form(struct mcp_slot *s, int mode, unsigned b0, unsigned b1)
{
	unsigned char	 probe[16] = { (unsigned char)b0, (unsigned char)b1 };

	if ((b1 & 7) != 4 || (b1 >> 6) == 3 ||
	    MI_KIND(mcp_decode_live(s, mode, probe, sizeof(probe))) ==
	    MCP_K_INVALID)
		return false;
	return s->insn[mode]->detail->x86.encoding.modrm_offset == 1;
}

/*
 * Fill the third-level entry of 0f, b1 and the ModRM m by decoding them
 * with varied bytes after.  What follows a ModRM without SIB is a
 * displacement and an immediate, whose values no summary of these forms
 * reflects: three probes tell the length.  MI_UNDET, capstone asked, for
 * a SIB, for disagreeing probes and for invalid forms (a later byte may
 * make them valid).  The three-byte maps (0f 38, 0f 3a) and 3DNow! (0f 0f)
 * have no ModRM third and are not filled.
 */
static uint32_t
mcp_esc_fill(struct mcp_slot *s, int mode, unsigned b1, unsigned m)
{
	static const unsigned char fill[] = { 0x00, 0xff, 0x90 };
	const unsigned char pre[3] = { 0x0f, (unsigned char)b1,
	    (unsigned char)m };
	uint32_t	 e;

	if ((m >> 6) != 3 && (m & 7) == 4)
		return MI_FILLED | MI_UNDET;
	e = mcp_probe(s, mode, pre, sizeof(pre), fill, sizeof(fill));
	if ((e & MI_UNDET) || MI_KIND(e) == MCP_K_INVALID)
		return MI_FILLED | MI_UNDET;
	return e | MI_FILLED;
}

/* Fill the cache entry of two bytes, and its SIB row if it needs one. */
static void
mcp_cache_key(struct mcp_slot *s, int mode, unsigned b0, unsigned b1,
    unsigned *rows)
{
	unsigned char	 pre[3] = { (unsigned char)b0, (unsigned char)b1 };
	uint32_t	 e;
	unsigned	 c, r;

	e = mcp_cache_fill(s, mode, pre, 2);
	if (e & MI_UNDET)
		e = mcp_cache_stepv(s, mode, pre, 2);
	if ((e & MI_UNDET) && *rows < MCP_SIBROWS &&
	    mcp_sib_form(s, mode, b0, b1)) {
		for (c = 0; c < 16; c++) {
			pre[2] = (unsigned char)((c & 7) | (c & 8 ? 0x20 : 0));
			mcp_sib[mode][*rows][c] = mcp_cache_fill(s, mode, pre,
			    3);
			if (mcp_sib[mode][*rows][c] & MI_UNDET)
				mcp_sib[mode][*rows][c] = mcp_cache_stepv(s,
				    mode, pre, 3);
		}
		e |= MI_SIB | (*rows)++;
	} else if ((e & MI_UNDET) && mode == MCP_X86_32 &&
	    b0 - 0x20 < 95 && b1 - 0x20 < 95 &&
	    mcp_b3rows[mode] < MCP_B3ROWS) {
		r = mcp_b3rows[mode]++;
		for (c = 0; c < 95; c++) {
			pre[2] = (unsigned char)(0x20 + c);
			mcp_b3[mode][r][c] = mcp_cache_fill(s, mode, pre, 3);
			if (mcp_b3[mode][r][c] & MI_UNDET)
				mcp_b3[mode][r][c] = mcp_cache_stepv(s, mode,
				    pre, 3);
		}
		e |= MI_SIB | MI_B3 | r;
	} else if ((e & MI_UNDET) && b0 == 0x0f && b1 != 0x0f &&
	    b1 != 0x38 && b1 != 0x3a) {
		for (c = 0; c < 256; c++)
			mcp_esc[mode][b1][c] = mcp_esc_fill(s, mode, b1, c);
		e |= MI_SIB | MI_ESC | b1;
	}
	mcp_cache[mode][b0 << 8 | b1] = e;
}

/* The second-level entry an MI_SIB cache entry leads to for third byte b. */
static inline uint32_t
mcp_level2(int mode, uint32_t e, unsigned b)
{
	if (e & MI_ESC)
		return mcp_esc[mode][e & 0xffu][b];
	if (!(e & MI_B3))
		return mcp_sib[mode][e & 0xffffu][MCP_SIBCOL(b)];
	return b - 0x20 < 95 ? mcp_b3[mode][e & 0xffffu][b - 0x20] :
	    MI_FILLED | MI_UNDET;
}

/*
 * Fill the cache row of one first byte in one mode, once.  A one-byte
 * instruction is the same whatever follows it: its 256 entries take one
 * probe.  Filling is no scan's work: capstone's calls for it are not
 * counted in mcp_decodes().
 */
static void
mcp_cache_row(struct mcp_slot *s, int mode, unsigned b0)
{
	unsigned char	 pre[2] = { (unsigned char)b0, 0 };
	unsigned long	 nd = mcp_ndecode;
	unsigned	 b1;
	uint32_t	 e;

	pthread_mutex_lock(&mcp_fill_mtx);
	if (atomic_load_explicit(&mcp_row[mode][b0], memory_order_relaxed)) {
		pthread_mutex_unlock(&mcp_fill_mtx);
		return;
	}
	e = mcp_cache_fill(s, mode, pre, 1);
	if (MI_KIND(e) != MCP_K_INVALID && MI_LEN(e) == 1 &&
	    !(e & MI_UNDET))
		for (b1 = 0; b1 < 256; b1++)
			mcp_cache[mode][b0 << 8 | b1] = e;
	else
		for (b1 = 0; b1 < 256; b1++)
			mcp_cache_key(s, mode, b0, b1, &mcp_sibrows[mode]);
	atomic_store_explicit(&mcp_row[mode][b0], 1, memory_order_release);
	atomic_fetch_add_explicit(&mcp_rows[mode], 1, memory_order_release);
	pthread_mutex_unlock(&mcp_fill_mtx);
	mcp_ndecode = nd;
}

/* Make sure the cache row of first byte b0 is filled. */
static inline void
mcp_need_row(struct mcp_slot *s, int mode, unsigned b0)
{
	if (!atomic_load_explicit(&mcp_row[mode][b0], memory_order_acquire))
		mcp_cache_row(s, mode, b0);
}

/* Summary of the instruction at p, from the cache when it can answer. */
uint32_t
mcp_decode(struct mcp_slot *s, int mode, const unsigned char *p,
    size_t avail)
{
	uint32_t	 e;

	if (avail < 2)
		return mcp_decode_live(s, mode, p, avail);
	mcp_need_row(s, mode, p[0]);
	e = mcp_cache[mode][(unsigned)p[0] << 8 | p[1]];
	if ((e & MI_SIB) && avail >= 3)
		e = mcp_level2(mode, e, p[2]);
	if (e & MI_UNDET)
		return mcp_decode_live(s, mode, p, avail);
	if (MI_KIND(e) != MCP_K_INVALID && MI_LEN(e) > avail)
		return MI_MK(1, MCP_K_INVALID, 0);
	if (e & MI_STEPV)
		e = mcp_stepv(p, e);
	return e & ~MI_FILLED;
}

/* Whether a byte is a legacy prefix, or in x86-64 a REX prefix. */
static bool
mcp_is_prefix(int mode, unsigned c)
{
	switch (c) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	}
	return mode == MCP_X86_64 && (c & 0xf0) == 0x40;
}

/*
 * The summary of an instruction one prefix longer than the one summarised
 * in `in`, which capstone decodes alike behind that prefix: invalid past
 * 15 bytes; a GetPC candidate only as a call or an fnstenv; out of the
 * vocabulary and no sled where the prefix makes it odd (mcp_flags()).
 */
static uint32_t
mcp_behind_prefix(uint32_t in, bool odd)
{
	if (MI_KIND(in) == MCP_K_INVALID || MI_LEN(in) >= 15)
		return MI_MK(1, MCP_K_INVALID, 0);
	in = (in & ~0xfu) | (MI_LEN(in) + 1);
	if (MI_KIND(in) != MCP_K_CALL && !(in & MI_FNSTENV))
		in &= ~MI_GPC;
	if (odd)
		in &= ~(MI_COMMON | MI_SLED | MI_POP);
	return in;
}

/*
 * The summary of a segment-prefixed instruction from that of the
 * instruction after the prefix, which capstone decodes alike: one byte
 * longer, and out of the vocabulary (odd) unless the prefix is fs or gs,
 * the only ones shellcode uses; a GetPC candidate only as a call or an
 * fnstenv (the d9 /6 test reads the first byte).  MI_UNDET when capstone
 * must be asked:
 * another prefix follows (in x86-64 a REX too), ud0 (valid alone, not behind
 * a prefix), aam, aad and the VIA padlock group (capstone drops the prefix
 * there), the VEX, EVEX and XOP forms (valid behind a prefix when not
 * alone), or "add [mem], al" whose oddness rests on its first byte.
 */
static uint32_t
mcp_derive(int mode, const unsigned char *p, uint32_t in)
{
	unsigned	 c = p[1];

	if (c == 0x00 || c == 0xd4 || c == 0xd5 || c == 0xc4 || c == 0xc5 ||
	    c == 0x62 || c == 0x8f ||
	    (c == 0x0f && (p[2] == 0xff || p[2] == 0xa7)) ||
	    mcp_is_prefix(mode, c))
		return MI_UNDET;
	return mcp_behind_prefix(in, p[0] != 0x64 && p[0] != 0x65);
}

/*
 * One-byte opcodes of x86-64 as the REX derivation sees them: a ModRM
 * follows (M), its reg field is an opcode extension, not a register (G),
 * the operands are bytes (B: with any REX, registers 4-7 are spl-dil, not
 * ah-bh).
 */
#define MCP_OP_M	1
#define MCP_OP_G	2
#define MCP_OP_B	4
static const unsigned char mcp_op64[256] = {
#define MCP_ALU	MCP_OP_M | MCP_OP_B, MCP_OP_M, MCP_OP_M | MCP_OP_B, MCP_OP_M
	[0x00] = MCP_ALU, [0x08] = MCP_ALU, [0x10] = MCP_ALU, [0x18] = MCP_ALU,
	[0x20] = MCP_ALU, [0x28] = MCP_ALU, [0x30] = MCP_ALU, [0x38] = MCP_ALU,
#undef MCP_ALU
	[0x63] = MCP_OP_M,
	[0x69] = MCP_OP_M,
	[0x6b] = MCP_OP_M,
	[0x80] = MCP_OP_M | MCP_OP_G | MCP_OP_B,
	[0x81] = MCP_OP_M | MCP_OP_G,
	[0x83] = MCP_OP_M | MCP_OP_G,
	[0x84] = MCP_OP_M | MCP_OP_B,
	[0x85] = MCP_OP_M,
	[0x88] = MCP_OP_M | MCP_OP_B,
	[0x89] = MCP_OP_M,
	[0x8a] = MCP_OP_M | MCP_OP_B,
	[0x8b] = MCP_OP_M,
	[0x8d] = MCP_OP_M,
	[0xc0] = MCP_OP_M | MCP_OP_G | MCP_OP_B,
	[0xc1] = MCP_OP_M | MCP_OP_G,
	[0xc6] = MCP_OP_M | MCP_OP_G | MCP_OP_B,
	[0xc7] = MCP_OP_M | MCP_OP_G,
	[0xd0] = MCP_OP_M | MCP_OP_G | MCP_OP_B,
	[0xd1] = MCP_OP_M | MCP_OP_G,
	[0xd2] = MCP_OP_M | MCP_OP_G | MCP_OP_B,
	[0xd3] = MCP_OP_M | MCP_OP_G,
	[0xd8] = MCP_OP_M | MCP_OP_G, [0xd9] = MCP_OP_M | MCP_OP_G,
	[0xda] = MCP_OP_M | MCP_OP_G, [0xdb] = MCP_OP_M | MCP_OP_G,
	[0xdc] = MCP_OP_M | MCP_OP_G, [0xdd] = MCP_OP_M | MCP_OP_G,
	[0xde] = MCP_OP_M | MCP_OP_G, [0xdf] = MCP_OP_M | MCP_OP_G,
	[0xf6] = MCP_OP_M | MCP_OP_G | MCP_OP_B,
	[0xf7] = MCP_OP_M | MCP_OP_G,
	[0xfe] = MCP_OP_M | MCP_OP_G | MCP_OP_B,
	[0xff] = MCP_OP_M | MCP_OP_G,
};

/* Which operand a byte instruction with a ModRM and no opcode extension
 * writes (mcp_byte_dst()). */
enum {
	MCP_DST_UNKNOWN,		/* not told: capstone is asked */
	MCP_DST_NONE,			/* none: cmp, test */
	MCP_DST_REG,			/* the reg field's register */
	MCP_DST_RM,			/* the r/m operand */
};

/* The operand the byte forms of add, or, adc, sbb, and, sub, xor, cmp,
 * test and mov (reg field a register) write. */
static unsigned
mcp_byte_dst(unsigned c)
{
	if (c < 0x40 && (c & 5) == 0)
		return (c & 0x38) == 0x38 ? MCP_DST_NONE :
		    c & 2 ? MCP_DST_REG : MCP_DST_RM;
	if (c == 0x84)
		return MCP_DST_NONE;
	if (c == 0x88 || c == 0x8a)
		return c == 0x8a ? MCP_DST_REG : MCP_DST_RM;
	return MCP_DST_UNKNOWN;
}

/*
 * The x86-64 summary of a REX-prefixed instruction from that of the
 * instruction after the REX byte (in), which capstone decodes alike but
 * for the register numbers REX extends and, with REX.W, the operand size.
 * One byte longer; a GetPC candidate only as a call or an fnstenv (the
 * d9 /6 test reads the first byte).  Registers 8-15 have no number in a
 * summary: where REX.R (reg field) or REX.B (r/m, base, opcode register)
 * extends the register written or the memory base, that number goes.
 * Byte registers 4-7 are spl-dil behind a REX, ah-bh (no number)
 * without: the written one of the ALU, test and mov forms is told by the
 * opcode (mcp_byte_dst()).  MI_UNDET when capstone must be asked: another prefix, 0f escapes, VEX,
 * EVEX and XOP forms, "add [mem], al" (odd by its first byte), REX.W
 * where it changes a length or the mnemonic (mov imm64, string, sign
 * extension and stack instructions) or a step (add and sub of a register
 * and an imm32: sign-extended, where a 32-bit register's is not), a base
 * of esp or ebp that REX.B turns into r12 or r13 (memory writes count
 * then), REX.X on a SIB without index, byte registers 4-7 in other
 * forms, xchg, segment moves, and a written register that both extended fields could
 * name (a prefix behind the REX: mcp_derive_two()).  check_mcp compares
 * every REX, opcode and ModRM (and SIB class) with capstone.
 */
static uint32_t
mcp_derive_rex(const unsigned char *p, uint32_t in)
{
	unsigned	 r = p[0] & 0xfu, c = p[1], m = p[2], op = mcp_op64[c];
	unsigned	 mod = m >> 6, reg = (m >> 3) & 7, rm = m & 7;
	unsigned	 w = MI_WREG(in), b = MI_BASE(in), fr, fm, dst;
	bool		 byte;

	if (mcp_is_prefix(MCP_X86_64, c) || c == 0x0f || c == 0x00 ||
	    c == 0xc4 || c == 0xc5 || c == 0x62 || c == 0x8f ||
	    c == 0x8c || c == 0x8e || (c >= 0x86 && c <= 0x87) ||
	    (c >= 0x90 && c <= 0x9f) || (c >= 0xa4 && c <= 0xaf) ||
	    (c >= 0x6c && c <= 0x6f) || (c >= 0xc8 && c <= 0xcf))
		return MI_UNDET;
	if ((r & 8) && (c == 0x63 || (c >= 0xb8 && c <= 0xbf) ||
	    c == 0x05 || c == 0x2d || (c == 0x81 && (m >> 6) == 3) ||
	    (c >= 0x50 && c <= 0x5f) || c == 0xc2 || c == 0xc3 ||
	    c == 0xe8 || c == 0xe9 || c == 0xff))
		return MI_UNDET;
	in = mcp_behind_prefix(in, false);
	if (MI_KIND(in) == MCP_K_INVALID)
		return in;
	if (!(op & MCP_OP_M)) {
		/* Registers in the opcode: pop r, mov r, imm. */
		if (c >= 0xb0 && c <= 0xb7 && !(r & 1))
			return (in & ~MI_MKWREG(0xf)) |
			    MI_MKWREG((c & 7) + 1);
		if ((r & 1) && ((c >= 0x58 && c <= 0x5f) ||
		    (c >= 0xb0 && c <= 0xbf)))
			in &= ~MI_MKWREG(0xf);
		return in;
	}
	byte = (op & MCP_OP_B) && ((!(op & MCP_OP_G) && reg >= 4) ||
	    (mod == 3 && rm >= 4));
	if (byte && mcp_byte_dst(c) == MCP_DST_UNKNOWN)
		return MI_UNDET;
	if (mod != 3) {
		/* Memory: REX.B extends the base (none and rip stay). */
		if ((r & 1) && b != 0) {
			if (b == 5 || b == 6)
				return MI_UNDET;
			in &= ~MI_MKBASE(0xf);
		}
		if ((r & 2) && rm == 4 && ((p[3] >> 3) & 7) == 4)
			return MI_UNDET;
	}
	if (byte) {
		/* Registers 4-7 of bytes: ah-bh (no number) without a REX,
		 * spl-dil with one, r12b-r15b when extended (no number). */
		dst = mcp_byte_dst(c);
		if (dst == MCP_DST_REG)
			w = r & 4 ? 0 : reg + 1;
		else if (dst == MCP_DST_RM)
			w = mod != 3 || (r & 1) ? 0 : rm + 1;
		else
			w = 0;
		return (in & ~MI_MKWREG(0xf)) | MI_MKWREG(w);
	}
	/* x87 writes no numbered register but ax (fnstsw ax). */
	if (w == 0 || (c >= 0xd8 && c <= 0xdf))
		return in;
	fr = !(op & MCP_OP_G) && w == reg + 1;
	fm = mod == 3 && w == rm + 1;
	if (fr && fm && (r >> 2 & 1) != (r & 1))
		return MI_UNDET;
	if (fr || fm) {
		if ((fr && (r & 4)) || (fm && (r & 1)))
			in &= ~MI_MKWREG(0xf);
		return in;
	}
	return MI_UNDET;
}

/* Whether a one-byte opcode (either mode) takes a ModRM byte. */
static bool
mcp_has_modrm(unsigned c)
{
	if (c < 0x40)
		return (c & 7) < 4;
	return c == 0x62 || c == 0x63 || c == 0x69 || c == 0x6b ||
	    (c >= 0x80 && c <= 0x8f) || c == 0xc0 || c == 0xc1 ||
	    (c >= 0xc4 && c <= 0xc7) || (c >= 0xd0 && c <= 0xd3) ||
	    (c >= 0xd8 && c <= 0xdf) || c == 0xf6 || c == 0xf7 ||
	    c == 0xfe || c == 0xff;
}

/*
 * Whether capstone takes a lock prefix (f0) before the opcode c with ModRM
 * m: read-modify-write forms with a memory destination, as capstone lists
 * them (adc but not sbb with a register destination).  Anything else
 * behind f0 but another prefix or 0f it finds invalid.
 */
static bool
mcp_lockable(unsigned c, unsigned m)
{
	unsigned	 reg = (m >> 3) & 7;

	if ((m >> 6) == 3)
		return false;
	if (c < 0x38)
		return (c & 7) < 4 && c != 0x1a && c != 0x1b;
	if (c >= 0x80 && c <= 0x83)
		return reg != 7;
	if (c == 0x86 || c == 0x87)
		return true;
	if (c == 0xf6 || c == 0xf7)
		return reg == 2 || reg == 3;
	if (c == 0xfe || c == 0xff)
		return reg < 2;
	return false;
}

/*
 * The summary of an instruction behind an operand-size (66), address-size
 * (67), lock or repeat (f0, f2, f3) prefix from that of the instruction
 * after the prefix, which capstone decodes alike where the prefix changes
 * no length, target or mnemonic: one byte longer; out of the vocabulary
 * and no sled behind 67, f0, f2, f3 (odd, mcp_flags()); a GetPC candidate
 * only as a call or an fnstenv.  Behind f0 what capstone does not lock
 * (mcp_lockable()) is invalid.  MI_UNDET when capstone must be asked:
 * another prefix, 0f escapes, VEX, EVEX and XOP forms, "add [mem], al",
 * branches, string and stack instructions, and with 66 immediates and
 * sign extensions, with 67 memory operands in x86 (16-bit addressing;
 * x86-64's 32-bit addressing changes no length and no register number)
 * and offsets, with f2 and f3 pause.  check_mcp compares every prefix,
 * opcode and ModRM (and SIB class) with capstone in both modes.
 */
static uint32_t
mcp_derive_pfx(int mode, const unsigned char *p, uint32_t in)
{
	unsigned	 pf = p[0], c = p[1], m = p[2];

	if (pf == 0xf0 && c != 0x0f && !mcp_is_prefix(mode, c))
		return mcp_lockable(c, m) ? mcp_behind_prefix(in, true) :
		    MI_MK(1, MCP_K_INVALID, 0);
	if (mcp_is_prefix(mode, c) || c == 0x0f || c == 0x00 ||
	    c == 0xc4 || c == 0xc5 || c == 0x62 || c == 0x8f ||
	    c == 0xd4 || c == 0xd5 || c == 0xd6 || c == 0xd7 ||
	    (c >= 0x70 && c <= 0x7f) || (c >= 0xe0 && c <= 0xef) ||
	    (c >= 0xc2 && c <= 0xc3) || (c >= 0xc8 && c <= 0xcf) ||
	    (c >= 0x98 && c <= 0x9f) || (c >= 0xa0 && c <= 0xaf) ||
	    (c >= 0x6c && c <= 0x6f) || (c >= 0x50 && c <= 0x61) ||
	    (c >= 0x90 && c <= 0x97) || c == 0xff || c == 0x06 ||
	    c == 0x07 || c == 0x0e || c == 0x16 || c == 0x17 || c == 0x1e ||
	    c == 0x1f || c == 0x27 || c == 0x2f || c == 0x37 || c == 0x3f)
		return MI_UNDET;
	if (pf == 0xf0 || ((pf == 0xf2 || pf == 0xf3) && (c == 0x86 ||
	    c == 0x87)) || (pf == 0x66 && ((c & 0xc7) == 0x05 || c == 0x68 ||
	    c == 0x69 || c == 0x81 || c == 0xa9 || c == 0xf7 || (c >= 0xb8 && c <= 0xbf) ||
	    c == 0xc7 || c == 0x63)))
		return MI_UNDET;
	if (pf == 0x67 && mode == MCP_X86_32 && mcp_has_modrm(c) &&
	    (m >> 6) != 3)
		return MI_UNDET;
	return mcp_behind_prefix(in, pf == 0x67);
}

/*
 * A prefix followed by another prefix: pairs that capstone decodes as the
 * instruction after the first prefix, one byte longer (a GetPC candidate
 * only as a call or an fnstenv), found by comparing every pair with
 * capstone over every opcode and ModRM after it.  Segment prefixes
 * before a segment or address-size prefix, fs and gs before operand-size
 * and lock, the same prefix twice, repeat before address-size.  In
 * x86-64: a REX before operand-size, address-size or itself; unless a
 * prefix follows, a segment prefix or a REX before a REX, which then
 * stands behind a byte that is not its own (odd, mcp_flags()); a REX
 * before a segment, lock or repeat prefix unless a prefix, a VEX, EVEX
 * or XOP lead or, behind repeat, xchg follows.  MI_UNDET for any other
 * pair.
 * check_mcp compares every prefix, opcode and ModRM with capstone.
 */
static uint32_t
mcp_derive_two(int mode, const unsigned char *p, uint32_t in)
{
	unsigned	 a = p[0], b = p[1];
	bool		 sa, sb, odd = false;

	sa = a == 0x26 || a == 0x2e || a == 0x36 || a == 0x3e || a == 0x64 ||
	    a == 0x65;
	sb = b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 ||
	    b == 0x65;
	if ((sa && (sb || b == 0x67)) ||
	    ((a == 0x64 || a == 0x65) && (b == 0x66 || b == 0xf0)) ||
	    (a == b && (a == 0x66 || a == 0x67 || a == 0xf0)) ||
	    ((a == 0xf2 || a == 0xf3) && b == 0x67))
		;
	else if (mode == MCP_X86_64 && sa && (b & 0xf0) == 0x40 &&
	    !mcp_is_prefix(mode, p[2]))
		odd = true;
	else if (mode == MCP_X86_64 && (a & 0xf0) == 0x40 &&
	    (b == 0x66 || b == 0x67 || b == a))
		;
	else if (mode == MCP_X86_64 && (a & 0xf0) == 0x40 &&
	    (b & 0xf0) == 0x40 && !mcp_is_prefix(mode, p[2]))
		odd = true;
	else if (mode == MCP_X86_64 && (a & 0xf0) == 0x40 &&
	    !mcp_is_prefix(mode, p[2]) && !mcp_is_lead(p[2]) &&
	    !((b == 0xf2 || b == 0xf3) && (p[2] == 0x86 || p[2] == 0x87)))
		;
	else
		return MI_UNDET;
	return mcp_behind_prefix(in, odd);
}

/* The summary at p from the cache, deriving or asking capstone if need be;
 * s->inf after p is filled. */
static inline __attribute__((always_inline)) uint32_t
mcp_decode_at(struct mcp_slot *s, int mode, const unsigned char *p,
    size_t avail, const uint32_t *c, uint32_t next)
{
	uint32_t	 e;

	e = c[(unsigned)p[0] << 8 | p[1]];
	if (e & MI_SIB)
		e = mcp_level2(mode, e, p[2]);
	if ((e & MI_UNDET) && mcp_is_prefix(mode, p[1]))
		e = mcp_derive_two(mode, p, next);
	else if (e & MI_UNDET) {
		switch (p[0]) {
		case 0x26: case 0x2e: case 0x36: case 0x3e:
		case 0x64: case 0x65:
			e = mcp_derive(mode, p, next);
			break;
		case 0x40: case 0x41: case 0x42: case 0x43:
		case 0x44: case 0x45: case 0x46: case 0x47:
		case 0x48: case 0x49: case 0x4a: case 0x4b:
		case 0x4c: case 0x4d: case 0x4e: case 0x4f:
			if (mode == MCP_X86_64)
				e = mcp_derive_rex(p, next);
			break;
		case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
			e = mcp_derive_pfx(mode, p, next);
			break;
		}
	}
	if (e & MI_STEPV)
		e = mcp_stepv(p, e);
	return e & MI_UNDET ? mcp_decode_live(s, mode, p, avail) :
	    e & ~MI_FILLED;
}

/*
 * Summaries of the instructions at every offset of n bytes (at most
 * MCP_WIN, the size of s->inf: more are not looked at) into s->inf,
 * last offset first so that a prefixed instruction finds the summary of
 * what follows its prefix.  Once every cache row of the mode is filled,
 * which a long-running process soon sees, the rows are not checked.
 * Where the bytes begin with the last MCP_OV ones decoded before in this
 * mode (the overlap of consecutive windows), the summaries they gave are
 * taken over (MCP_OV_KEEP in mcp_int.h), and the last MCP_OV bytes are
 * kept for the next call.
 */
void
mcp_decode_all(struct mcp_slot *s, int mode, const unsigned char *p,
    size_t n)
{
	const uint32_t	*c = mcp_cache[mode];
	size_t		 i, lo = 0;

	if (n > MCP_WIN)
		n = MCP_WIN;
	if (s->ovok[mode] && n >= MCP_OV &&
	    memcmp(p, s->ovb[mode], MCP_OV) == 0)
		lo = MCP_OV_KEEP;
	for (i = n; i-- > 0 && i + 15 >= n;)
		s->inf[i] = mcp_decode(s, mode, p + i, n - i);
	i++;
	if (i < lo)
		lo = i;
	if (atomic_load_explicit(&mcp_rows[mode], memory_order_acquire) ==
	    256)
		while (i-- > lo)
			s->inf[i] = mcp_decode_at(s, mode, p + i, n - i, c,
			    s->inf[i + 1]);
	else
		while (i-- > lo) {
			mcp_need_row(s, mode, p[i]);
			s->inf[i] = mcp_decode_at(s, mode, p + i, n - i, c,
			    s->inf[i + 1]);
		}
	memcpy(s->inf, s->ovi[mode], lo * sizeof(s->inf[0]));
	s->ovok[mode] = n >= MCP_OV;
	if (n >= MCP_OV) {
		memcpy(s->ovb[mode], p + n - MCP_OV, MCP_OV);
		memcpy(s->ovi[mode], s->inf + n - MCP_OV,
		    sizeof(s->ovi[mode]));
	}
}

/* Calls into capstone made so far by this thread's scans. */
unsigned long
mcp_decodes(void)
{
	return mcp_ndecode;
}

/* Merge one window's findings into the running maxima. */
static void
mcp_merge(struct mcp_feat *a, const struct mcp_feat *b)
{
#define MCP_MAX(f)	do { if (b->f > a->f) a->f = b->f; } while (0)
	MCP_MAX(sled);
	MCP_MAX(psled);
	MCP_MAX(chain);
	MCP_MAX(syschain);
	MCP_MAX(loop);
	MCP_MAX(alnum);
	if (a->getpc == MCP_GETPC_NONE)
		a->getpc = b->getpc;
#undef MCP_MAX
}

/* Doublings of len beyond 1 KB. */
static int
mcp_doublings(size_t len)
{
	int	 d = 0;

	for (len >>= 10; len > 1; len >>= 1)
		d++;
	return d;
}

/* Apply the thresholds; write the reason of the strongest finding. */
static bool
mcp_judge(const struct mcp_feat *f, int mode, size_t len,
    enum mcp_sensitivity sens, const char *suffix, char *reason)
{
	const struct mcp_limits	*l = &mcp_limits[sens];
	const char		*arch = mode == MCP_X86_64 ? "x86-64 " : "";
	char			 buf[MCP_REASON_MAX];
	int			 d = mcp_doublings(len);

	if (f->getpc == MCP_GETPC_CALLPOP)
		snprintf(buf, sizeof(buf), "GetPC sequence call/pop");
	else if (f->getpc == MCP_GETPC_FNSTENV)
		snprintf(buf, sizeof(buf), "GetPC sequence fnstenv");
	else if (f->sled >= l->sled + d * MCP_SLED_PER_DOUBLING)
		snprintf(buf, sizeof(buf), "x86 NOP sled %d bytes", f->sled);
	else if (l->loop && f->loop > 0)
		snprintf(buf, sizeof(buf), "%sdecoder loop %d instructions",
		    arch, f->loop);
	else if (l->alnum && f->alnum > 0)
		snprintf(buf, sizeof(buf),
		    "%salphanumeric decoder %d instructions", arch, f->alnum);
	else if (f->syschain >= l->syschain + d * MCP_SYS_PER_DOUBLING)
		snprintf(buf, sizeof(buf), "%ssystem call chain %d instructions",
		    arch, f->syschain);
	else if (f->chain >= l->chain + d * MCP_CHAIN_PER_DOUBLING)
		snprintf(buf, sizeof(buf), "%sexecutable chain %d instructions",
		    arch, f->chain);
	else if (l->psled && f->psled >= l->psled + d * MCP_SLED_PER_DOUBLING)
		snprintf(buf, sizeof(buf), "x86 printable sled %d bytes",
		    f->psled);
	else
		return false;
	if (reason != NULL)
		snprintf(reason, MCP_REASON_MAX, "%s%s", buf, suffix);
	return true;
}

/*
 * Mark one window's text, then test it in both modes into the maxima.
 * With stop set, a GetPC sequence in the x86 reading ends the work: the
 * verdict and its reason are then settled (x86 is judged first, GetPC
 * before all else, and the first window's idiom names it), and the
 * return value says so.
 */
static bool
mcp_both(struct mcp_slot *s, const unsigned char *p, size_t n,
    struct mcp_feat all[MCP_NMODES], bool stop)
{
	struct mcp_feat	 one;
	int		 mode;

	mcp_text(s, p, n);
	for (mode = 0; mode < MCP_NMODES; mode++) {
		mcp_window(s, mode, p, n, &one);
		mcp_merge(&all[mode], &one);
		if (stop && all[MCP_X86_32].getpc != MCP_GETPC_NONE)
			return true;
	}
	return false;
}

/* Judge bytes window by window, in both modes. */
static bool
mcp_scan_slot(struct mcp_slot *s, const unsigned char *p, size_t len,
    enum mcp_sensitivity sens, const char *suffix, char *reason)
{
	struct mcp_feat	 all[MCP_NMODES];
	size_t		 off, n;
	int		 mode;

	memset(all, 0, sizeof(all));
	s->nopsled = mcp_limits[sens].psled == 0;
	for (off = 0; off == 0 || off + MCP_WIN - MCP_STEP < len;
	    off += MCP_STEP) {
		n = len - off > MCP_WIN ? MCP_WIN : len - off;
		if (mcp_both(s, p + off, n, all, true))
			break;
	}
	for (mode = 0; mode < MCP_NMODES; mode++)
		if (mcp_judge(&all[mode], mode, len, sens, suffix, reason))
			return true;
	return false;
}

/* The merged findings on raw bytes in one mode, for tests and tuning. */
int
mcp_measure(const void *buf, size_t len, int mode, struct mcp_feat *f)
{
	struct mcp_slot	*s;
	struct mcp_feat	 all[MCP_NMODES];
	size_t		 off, n;

	memset(all, 0, sizeof(all));
	if ((s = mcp_slot_get()) == NULL) {
		memset(f, 0, sizeof(*f));
		return -1;
	}
	s->nopsled = 0;
	for (off = 0; off == 0 || off + MCP_WIN - MCP_STEP < len;
	    off += MCP_STEP) {
		n = len - off > MCP_WIN ? MCP_WIN : len - off;
		(void)mcp_both(s, (const unsigned char *)buf + off, n, all,
		    false);
	}
	mcp_slot_put(s);
	*f = all[mode];
	return 0;
}

/* Judge raw bytes. */
bool
mcp_scan(const void *buf, size_t len, enum mcp_sensitivity sens,
    char reason[MCP_REASON_MAX])
{
	struct mcp_slot	*s;
	bool		 hit;

	if (sens > MCP_HIGH || (s = mcp_slot_get()) == NULL)
		return false;
	hit = mcp_scan_slot(s, buf, len, sens, "", reason);
	mcp_slot_put(s);
	return hit;
}

/* Value of each base64 alphabet octet, 64 for any other. */
static const unsigned char mcp_b64v[256] = {
#define MCP_B64_64x16	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, \
			64, 64, 64
	MCP_B64_64x16, MCP_B64_64x16,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64, 64, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
	64, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 64,
	64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
	MCP_B64_64x16, MCP_B64_64x16, MCP_B64_64x16, MCP_B64_64x16,
	MCP_B64_64x16, MCP_B64_64x16, MCP_B64_64x16, MCP_B64_64x16,
#undef MCP_B64_64x16
};

/* Whether p is strict base64: alphabet, length a multiple of 4, padding. */
static bool
mcp_is_b64(const unsigned char *p, size_t len)
{
	size_t		 i, pad = 0;

	if (len < 4 || len % 4 != 0)
		return false;
	if (p[len - 1] == '=')
		pad = p[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (mcp_b64v[p[i]] == 64)
			return false;
	return true;
}

/*
 * Decode len octets of base64 that mcp_is_b64() passed (or a stretch of
 * whole quanta of it): what b64_decode() gives for them, without its
 * checks.  The decoded length.
 */
static size_t
mcp_b64_decode(const unsigned char *in, size_t len, unsigned char *out)
{
	size_t		 i, o = 0, pad = 0;
	uint32_t	 w;

	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i + 4 <= len - (pad ? 4 : 0); i += 4) {
		w = (uint32_t)mcp_b64v[in[i]] << 18 |
		    (uint32_t)mcp_b64v[in[i + 1]] << 12 |
		    (uint32_t)mcp_b64v[in[i + 2]] << 6 | mcp_b64v[in[i + 3]];
		out[o++] = (unsigned char)(w >> 16);
		out[o++] = (unsigned char)(w >> 8);
		out[o++] = (unsigned char)w;
	}
	if (pad) {
		w = (uint32_t)mcp_b64v[in[i]] << 18 |
		    (uint32_t)mcp_b64v[in[i + 1]] << 12 |
		    (pad == 1 ? (uint32_t)mcp_b64v[in[i + 2]] << 6 : 0);
		out[o++] = (unsigned char)(w >> 16);
		if (pad == 1)
			out[o++] = (unsigned char)(w >> 8);
	}
	return o;
}

/* Judge the decoded bytes of valid base64, one decoded window at a time. */
static bool
mcp_scan_b64(struct mcp_slot *s, const unsigned char *p, size_t len,
    enum mcp_sensitivity sens, char *reason)
{
	struct mcp_feat	 all[MCP_NMODES];
	size_t		 off, total, clen;
	long		 n;
	int		 mode;

	total = len / 4 * 3 - (p[len - 1] == '=') - (p[len - 2] == '=');
	memset(all, 0, sizeof(all));
	s->nopsled = mcp_limits[sens].psled == 0;
	for (off = 0; off == 0 || off + MCP_WIN - MCP_STEP < total;
	    off += MCP_STEP) {
		clen = off + MCP_WIN >= total ? len - off / 3 * 4 :
		    MCP_WIN / 3 * 4;
		if (clen == 0 || clen / 4 * 3 > sizeof(s->dec))
			break;
		n = (long)mcp_b64_decode(p + off / 3 * 4, clen, s->dec);
		if (n <= 0)
			break;
		if (mcp_both(s, s->dec, (size_t)n, all, true))
			break;
	}
	for (mode = 0; mode < MCP_NMODES; mode++)
		if (mcp_judge(&all[mode], mode, total, sens, " in base64",
		    reason))
			return true;
	return false;
}

/* Judge an argument: its bytes and, when it is base64, the decoded ones. */
bool
mcp_scan_arg(const void *buf, size_t len, enum mcp_sensitivity sens,
    char reason[MCP_REASON_MAX])
{
	struct mcp_slot	*s;
	bool		 hit;

	if (sens > MCP_HIGH || (s = mcp_slot_get()) == NULL)
		return false;
	hit = mcp_scan_slot(s, buf, len, sens, "", reason);
	if (!hit && mcp_is_b64(buf, len))
		hit = mcp_scan_b64(s, buf, len, sens, reason);
	mcp_slot_put(s);
	return hit;
}

/*
 * Fill the whole decode cache now.  A daemon calls this at start-up so that
 * no client's first long argument pays the fill (about 150 ms of CPU).
 */
void
mcp_warm(void)
{
	struct mcp_slot	*s;
	unsigned	 b0;
	int		 mode;

	if ((s = mcp_slot_get()) == NULL)
		return;
	for (mode = 0; mode < MCP_NMODES; mode++)
		for (b0 = 0; b0 < 256; b0++)
			mcp_need_row(s, mode, b0);
	mcp_slot_put(s);
}
