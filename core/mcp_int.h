/* SPDX-License-Identifier: ISC */
/*
 * mcp_int.h: what the Malicious Code Protector's files share: the per-thread
 * work slot, the packed instruction summary and the findings of one window.
 */
#ifndef MW_MCP_INT_H
#define MW_MCP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <capstone/capstone.h>

/*
 * Input is judged in windows of MCP_WIN bytes that advance by MCP_STEP, so
 * the work arrays are fixed and the cost is linear in the input; the overlap
 * is longer than any sled or chain a threshold asks for.  Both are multiples
 * of 3 so that base64 windows start on a quantum.
 */
#define MCP_WIN		12288
#define MCP_STEP	10752
#define MCP_NONE	0xffff		/* no offset */

/*
 * Consecutive windows share MCP_OV bytes.  A summary reads at most 15
 * bytes, or is derived from the summary after it through a run of
 * prefixes that makes it invalid within 15 bytes: it rests on the 29
 * bytes from its offset.  Where a window begins with the bytes the
 * previous one ended with, the summaries of the first MCP_OV_KEEP of them
 * are taken over, not decoded again (mcp_decode_all()).
 */
#define MCP_OV		(MCP_WIN - MCP_STEP)
#define MCP_OV_KEEP	(MCP_OV - 30)
#define MCP_RH_BITS	12		/* repeat hash table: 4096 */

/* A common chain packed in 32 bits (mcp_slot's ch): length in the low 16
 * bits, binary instructions in the next 15, system-call end on top. */
#define MCP_CH_NP	(1u << 16)
#define MCP_CH_SYS	(1u << 31)

/*
 * Shortest sled (with binary bytes) and printable sled that any sensitivity
 * flags (mcp.c's mcp_limits): shorter ones are not measured.
 */
#define MCP_SLED_FLOOR	14
#define MCP_PSLED_FLOOR	96

enum mcp_mode {
	MCP_X86_32,
	MCP_X86_64,
	MCP_NMODES,
};

/* What an instruction does to the flow of execution. */
enum mcp_kind {
	MCP_K_INVALID,			/* does not decode, or is cut off */
	MCP_K_NORMAL,			/* falls through */
	MCP_K_STOP,			/* privileged, trapping, far transfer */
	MCP_K_END,			/* ret, indirect jmp/call: a plausible end */
	MCP_K_JMP,			/* relative unconditional jump */
	MCP_K_JCC,			/* relative conditional jump, loop, jecxz */
	MCP_K_CALL,			/* relative call */
	MCP_K_SYS,			/* int 0x80, int 0x2e, syscall, sysenter */
};

/*
 * One instruction summarised in 32 bits (the decode cache stores these):
 * length, kind, size of the trailing relative displacement, and flags.
 */
#define MI_LEN(x)	((unsigned)(x) & 0xfu)
#define MI_KIND(x)	(((unsigned)(x) >> 4) & 0x7u)
#define MI_RELSZ(x)	(((unsigned)(x) >> 7) & 0x7u)	/* 0, 1, 2 or 4 */
#define MI_MK(len, kind, relsz)	((uint32_t)(len) | (uint32_t)(kind) << 4 | \
				    (uint32_t)(relsz) << 7)
#define MI_COMMON	(1u << 10)	/* in the working vocabulary of shellcode */
#define MI_SLED		(1u << 11)	/* register-only, fit for a sled */
#define MI_POP		(1u << 12)	/* pop into a general register */
#define MI_FPU		(1u << 13)	/* x87: records the FPU instruction pointer */
#define MI_FNSTENV	(1u << 14)	/* fnstenv to the stack */
#define MI_MEMW		(1u << 15)	/* read-modify-write of memory via a base */
#define MI_PUSH		(1u << 16)	/* push */
#define MI_BASE(x)	(((unsigned)(x) >> 17) & 0xfu)	/* memory base + 1 */
#define MI_WREG(x)	(((unsigned)(x) >> 21) & 0xfu)	/* register written + 1 */
#define MI_MKBASE(r)	((uint32_t)(r) << 17)
#define MI_MKWREG(r)	((uint32_t)(r) << 21)
#define MI_STEP		(1u << 25)	/* moves a register by a small step */
#define MI_WMEM		(1u << 26)	/* writes memory, not through esp/ebp */
#define MI_GPC		(1u << 27)	/* call, fnstenv or d9 /6: GetPC test */
#define MI_STEPV	(1u << 28)	/* cache: MI_STEP by the trailing value
					 * of MI_RELSZ bytes (mcp.c) */
#define MI_UNDET	(1u << 30)	/* cache: depends on more than 2 bytes */
#define MI_FILLED	(1u << 31)	/* cache: entry computed */

/* A work slot: one per concurrent scan, taken from a pool. */
struct mcp_slot {
	csh		 cs[MCP_NMODES];	/* capstone, detail on */
	cs_insn		*insn[MCP_NMODES];	/* preallocated instruction */
	uint32_t	 inf[MCP_WIN];		/* summary per offset */
	uint16_t	 ex[MCP_WIN + 1];	/* sled exit offset per offset */
	uint16_t	 nx[MCP_WIN];		/* next on the path, or MCP_NONE */
	uint32_t	 ch[MCP_WIN + 1];	/* common chain: its length, the
						 * binary instructions in it
						 * (MCP_CH_NP) and whether it
						 * ends in a system call */
	uint16_t	 npre[MCP_WIN + 1];	/* non-text bytes before */
	uint16_t	 dq[MCP_WIN];		/* sled sliding-minimum deque */
	uint16_t	 pc[MCP_WIN + 1];	/* printable chain length */
	uint8_t		 su[MCP_WIN + 1];	/* push esp or a run of three
						 * inc/dec lies on that chain */
	uint8_t		 seen[MCP_WIN];		/* walked by the printable test */
	uint8_t		 ak[MCP_WIN];		/* what a clean walk from here
						 * came to (mcp_alnum) */
	uint8_t		 av[MCP_WIN];		/* in how many instructions */
	uint8_t		 asp[MCP_WIN];		/* its stack depth here */
	uint8_t		 amin[MCP_WIN];		/* least depth a pop met */
	uint8_t		 rep[MCP_WIN];		/* 4 bytes repeat ones just before */
	uint16_t	 rh[1 << MCP_RH_BITS];	/* latest offset + 32 of four
						 * bytes by hash (mcp_text) */
	uint16_t	 gc[MCP_WIN];		/* GetPC test offsets, descending */
	uint16_t	 lc[MCP_WIN];		/* backward branches to test */
	uint16_t	 rs[2 * (MCP_WIN / MCP_SLED_FLOOR + 1)]; /* runs of
						 * sled instructions [a, b) */
	unsigned	 ngc, nlc, nrs;		/* how many of each */
	int		 ascii;			/* window all printable ASCII */
	int		 nopsled;		/* printable sleds not judged:
						 * not measured in all text */
	unsigned char	 dec[MCP_WIN];		/* a decoded base64 window */
	unsigned char	 ovb[MCP_NMODES][MCP_OV]; /* last bytes of the window
						 * decoded before, per mode */
	uint32_t	 ovi[MCP_NMODES][MCP_OV_KEEP]; /* their summaries */
	int		 ovok[MCP_NMODES];	/* ovb and ovi hold them */
	struct mcp_slot	*next;			/* free list */
};

/* What one window shows, in one mode; the largest figure of each kind. */
struct mcp_feat {
	int	 sled;		/* bytes, sled with binary bytes */
	int	 psled;		/* bytes, all-printable sled */
	int	 chain;		/* instructions, mostly binary common chain */
	int	 syschain;	/* instructions, chain ending in a system call */
	int	 getpc;		/* 0, or which GetPC idiom (MCP_GETPC_*) */
	int	 loop;		/* instructions in a decoder loop body */
	int	 alnum;		/* instructions, printable decoder stub */
};

enum {
	MCP_GETPC_NONE,
	MCP_GETPC_CALLPOP,
	MCP_GETPC_FNSTENV,
};

struct mcp_slot *mcp_slot_new(void);
void		mcp_slot_free(struct mcp_slot *);
uint32_t	mcp_decode(struct mcp_slot *, int mode, const unsigned char *,
		    size_t avail);
void		mcp_decode_all(struct mcp_slot *, int mode,
		    const unsigned char *, size_t n);
uint32_t	mcp_decode_live(struct mcp_slot *, int mode,
		    const unsigned char *, size_t avail);
unsigned long	mcp_decodes(void);
unsigned long	mcp_work(void);
void		mcp_text(struct mcp_slot *, const unsigned char *, size_t n);
int		mcp_measure(const void *, size_t, int mode, struct mcp_feat *);
void		mcp_window(struct mcp_slot *, int mode, const unsigned char *,
		    size_t len, struct mcp_feat *);

#endif
