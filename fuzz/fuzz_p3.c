/* SPDX-License-Identifier: ISC */
/*
 * fuzz_p3.c: libFuzzer target for pop3hook's parser and state machine.
 * The first bytes choose the policy, the rest is a hostile client and a
 * hostile backend interleaved in chunks split anywhere; the driver keeps
 * the relay's fixed buffers and order, and traps on a broken promise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "p3_relay.h"
#include "p3_state.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FZ_KNOBS	8		/* policy octets at the front */
#define FZ_SIN_CAP	(P3_SIN_SIZE - P3_RESERVE) /* backend bytes held */
#define FZ_CIN_MAX	(65536 + 64 + 1024) /* largest client buffer */
#define FZ_DETAIL_MAX	256		/* p3_state.c DETAIL_MAX */
#define FZ_HEAD		8		/* octets of a line start kept */

/* Stop the run: a promise of the state machine is broken. */
#define FZ_CHECK(c)	do { if (!(c)) fz_fail(#c, __LINE__); } while (0)

/* The simulated relay around one session. */
struct fz_sim {
	struct p3_conf	 conf;		/* policy chosen by the knobs */
	struct p3_state	 st;		/* under test */
	char		 cin[FZ_CIN_MAX]; /* client -> backend buffer */
	size_t		 ccap;		/* its size, as p3_relay.c sizes it */
	size_t		 clen;		/* octets in cin */
	char		 sin[FZ_SIN_CAP]; /* backend -> client buffer */
	size_t		 slen;		/* octets in sin */
	size_t		 reason_len;	/* length of the fake detector's reason */
	bool		 in_client;	/* judging client bytes now */
	unsigned	 prevents;	/* prevent events in this call */
	int		 block;		/* protection of a client block, or -1 */
	bool		 over;		/* the session has ended */
	bool		 check_lines;	/* forwarded lines are checked */
	char		 head[FZ_HEAD];	/* start of the forwarded line */
	size_t		 linelen;	/* octets of it forwarded so far */
	bool		 linenul;	/* it holds a NUL */
};

static struct fz_sim	 sim;

/* Report the broken promise and stop. */
static void
fz_fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_p3: invariant broken at line %d: %s\n", line,
	    what);
	__builtin_trap();
}

/* Hook: an event; its detail is read in full and judged. */
static void
fz_report(void *arg, enum prot_id id, enum pol_action a, const char *d,
    size_t len)
{
	struct fz_sim	*s = arg;
	volatile char	 sink = 0;
	size_t		 i;

	FZ_CHECK((unsigned)id < P3_NPROT);
	FZ_CHECK(a == ACT_DETECT || a == ACT_PREVENT);
	/* The action is the policy's, but for passthrough's STLS (detect)
	 * and a client XCLIENT, which always closes and says prevent. */
	FZ_CHECK(a == s->conf.act[id] || (id == PROT_P3_STARTTLS &&
	    a == ACT_DETECT && s->conf.act[id] != ACT_OFF) ||
	    (id == PROT_P3_NON_COMPLIANT && a == ACT_PREVENT && s->in_client &&
	    len >= 7 && strncasecmp(d, "XCLIENT", 7) == 0));
	/* Client details are built in a fixed buffer; server lines are
	 * passed as they are, at most one status line (evt cuts both). */
	FZ_CHECK(len <= (s->in_client ? FZ_DETAIL_MAX : P3_SRV_LINE_MAX));
	for (i = 0; i < len; i++)
		sink ^= d[i];
	(void)sink;
	/* Passwords are never logged: "PASS <secret>" stays "PASS". */
	if (s->in_client && len > 4 && strncasecmp(d, "PASS", 4) == 0)
		FZ_CHECK(d[4] != ' ');
	if (a == ACT_PREVENT)
		s->prevents++;
}

/* Hook: the login name; read in full. */
static void
fz_user(void *arg, const char *u, size_t len)
{
	volatile char	 sink = 0;
	size_t		 i;

	for (i = 0; i < len; i++)
		sink ^= u[i];
	(void)sink;
}

/* Hook: XCLIENT goes to the backend now: once, before any command. */
static void
fz_xclient(void *arg)
{
	struct fz_sim	*s = arg;

	FZ_CHECK(s->st.qlen == 0 && !s->st.xclient_sent);
}

/* Stand-in detector: four NOPs are code; the reason's length varies. */
static bool
fz_scan(const void *buf, size_t len, enum mcp_sensitivity sens,
    char reason[MCP_REASON_MAX])
{
	if (memmem(buf, len, "\x90\x90\x90\x90", 4) == NULL)
		return false;
	memset(reason, 'r', sim.reason_len);
	reason[sim.reason_len] = '\0';
	return true;
}

static const struct p3_hooks fz_hooks = {
	fz_report, fz_user, fz_xclient, fz_scan,
};

/* A limit from one octet: mostly small, sometimes the largest. */
static long
fz_limit(uint8_t k, long min, long max)
{
	if (k == 0xff)
		return max;
	if (k >= 0xf0)
		return min + (long)(k - 0xf0) * 4096 % (max - min + 1);
	return min + k % 64;
}

/* The policy from the knob octets; all zero is the SPEC's defaults. */
static void
fz_conf(struct p3_conf *c, const uint8_t *k)
{
	int	 i;
	long	 n;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < P3_NPROT; i++)
		c->act[i] = (uint8_t)((2 + ((k[i / 4] >> (2 * (i % 4))) & 3)) % 3);
	c->inspect_after_auth = (k[2] & 0x01) == 0;
	c->tls = k[2] & 0x02 ? POL_TLS_PASSTHROUGH : POL_TLS_BLOCK;
	c->strict_crlf = (k[2] & 0x04) != 0;
	c->client_address = k[2] & 0x08 ? POL_CA_XCLIENT : POL_CA_NONE;
	c->sensitivity = (enum mcp_sensitivity)((k[2] >> 4) % 3);
	c->line_limit = k[3] < 0x80 ? 255 : fz_limit(k[3], 16, 65536);
	c->sasl_limit = k[4] < 0x80 ? 4096 : fz_limit(k[4], 16, 65536);
	c->max_commands = k[5] < 0x80 ? 10000 : fz_limit(k[5], 1, 1000000000);
	c->preauth_commands = k[6] < 0x80 ? 30 : fz_limit(k[6], 1, 1000000000);
	c->max_bad = k[7] < 0x80 ? 10 : fz_limit(k[7], 0, 1000000);
	n = c->line_limit > c->sasl_limit ? c->line_limit : c->sasl_limit;
	if (n < 1024)
		n = 1024;
	sim.ccap = (size_t)((n + 64 + 1023) & ~1023L);
	sim.reason_len = (size_t)(k[7] % MCP_REASON_MAX);
}

/* The state machine's own bookkeeping stays in range. */
static void
fz_check_state(const struct p3_state *st)
{
	FZ_CHECK(st->qlen <= P3_QMAX);
	FZ_CHECK(st->qhead < P3_QMAX);
	FZ_CHECK(st->logins_pending <= st->qlen);
	FZ_CHECK(st->phase <= P3_PH_RAW);
	FZ_CHECK(st->srv_mode <= P3_SRV_SKIP);
	FZ_CHECK(st->srv_resume == P3_SRV_STATUS ||
	    st->srv_resume == P3_SRV_CAPA);
	FZ_CHECK(st->block_prot >= -1 && st->block_prot < P3_NPROT);
	FZ_CHECK(memchr(st->mech_name, '\0', sizeof(st->mech_name)) != NULL);
}

/*
 * Bytes the backend gets.  With non_compliant and max_line_length at
 * prevent, every line pop3hook reads (before the raw phase) is bounded,
 * holds no NUL and is never the client's own XCLIENT.
 */
static void
fz_forward(struct fz_sim *s, const char *p, size_t n)
{
	size_t	 i, max = (size_t)(s->conf.line_limit > s->conf.sasl_limit ?
	    s->conf.line_limit : s->conf.sasl_limit);

	for (i = 0; i < n; i++) {
		if (s->linelen < FZ_HEAD)
			s->head[s->linelen] = p[i];
		s->linelen++;
		if (p[i] == '\0')
			s->linenul = true;
		if (!s->check_lines) {
			if (p[i] == '\n')
				s->linelen = 0;
			continue;
		}
		FZ_CHECK(s->linelen <= max);
		FZ_CHECK(!s->linenul);
		if (p[i] != '\n')
			continue;
		FZ_CHECK(s->linelen < 8 ||
		    strncasecmp(s->head, "XCLIENT", 7) != 0 ||
		    (s->head[7] != ' ' && s->head[7] != '\r' &&
		    s->head[7] != '\n'));
		s->linelen = 0;
		s->linenul = false;
	}
}

/* Judge and forward client bytes, as p3_process() does. */
static void
fz_client(struct fz_sim *s)
{
	struct p3_state	*st = &s->st;
	enum p3_verdict	 v;
	size_t		 judged = 0, ll;
	bool		 raw = st->phase == P3_PH_RAW;
	const char	*nl;

	if (s->block >= 0 || s->clen == 0)
		return;
	s->check_lines = s->check_lines && !raw;
	s->in_client = true;
	s->prevents = 0;
	v = p3_client_input(st, s->cin, s->clen, &judged);
	s->in_client = false;
	FZ_CHECK(judged <= s->clen);
	fz_check_state(st);
	if (v == P3_V_BLOCK) {
		FZ_CHECK(st->block_prot >= 0);
		FZ_CHECK(s->prevents > 0 ||
		    st->block_prot == PROT_P3_NON_COMPLIANT);
		s->block = st->block_prot;
	} else {
		/* What fired with prevent never goes on. */
		FZ_CHECK(s->prevents == 0);
		/* Judging stops only for an answer or an unfinished line. */
		if (judged < s->clen && !p3_client_paused(st) &&
		    !st->client_skip) {
			ll = (size_t)(st->sasl && st->sasl_client_turn ?
			    st->conf->sasl_limit : st->conf->line_limit);
			FZ_CHECK(s->clen - judged < ll);
			nl = memchr(s->cin + judged, '\n', s->clen - judged);
			FZ_CHECK(nl == NULL);
		}
	}
	fz_forward(s, s->cin, judged);
	memmove(s->cin, s->cin + judged, s->clen - judged);
	s->clen -= judged;
	/* A full buffer with nothing to wait for would stall the relay. */
	FZ_CHECK(s->clen < s->ccap || s->block >= 0 || p3_client_paused(st));
}

/* Process and deliver backend bytes, as p3_process() does. */
static void
fz_server(struct fz_sim *s)
{
	struct p3_state	*st = &s->st;
	enum p3_verdict	 v;
	size_t		 len = s->slen, done = 0;

	if (s->slen == 0)
		return;
	s->prevents = 0;
	v = p3_server_input(st, s->sin, &len, &done);
	FZ_CHECK(len <= s->slen);
	FZ_CHECK(done <= len);
	fz_check_state(st);
	if (v == P3_V_BLOCK) {
		FZ_CHECK(st->block_prot >= 0 && s->prevents > 0);
		s->over = true;
		return;
	}
	FZ_CHECK(s->prevents == 0);
	memmove(s->sin, s->sin + done, len - done);
	s->slen = len - done;
	/* A full buffer must always be judged: the relay reads no more. */
	FZ_CHECK(s->slen < sizeof(s->sin));
	if (st->quit_answered && s->slen == 0)
		s->over = true;
	/* After a client block the session ends once nothing is due. */
	if (s->block >= 0 && !p3_awaiting_server(st))
		s->over = true;
}

/* Append one chunk to a side's buffer, as much as fits. */
static void
fz_chunk(struct fz_sim *s, bool client, const uint8_t *p, size_t n)
{
	char	*buf = client ? s->cin : s->sin;
	size_t	*len = client ? &s->clen : &s->slen;
	size_t	 cap = client ? s->ccap : sizeof(s->sin);

	if (client && s->block >= 0)
		return;			/* the relay reads no more */
	if (n > cap - *len)
		n = cap - *len;
	memcpy(buf + *len, p, n);
	*len += n;
	fz_server(s);
	if (!s->over)
		fz_client(s);
}

/*
 * Input: FZ_KNOBS policy octets, then chunks: one octet h (bit 7: from
 * the backend; bit 6: a second length octet follows; bits 0-5: length),
 * then the chunk's octets.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_sim	*s = &sim;
	size_t		 i, n;
	uint8_t		 h;

	if (size < FZ_KNOBS)
		return 0;
	s->clen = s->slen = s->linelen = 0;
	s->block = -1;
	s->over = false;
	s->linenul = false;
	fz_conf(&s->conf, data);
	s->check_lines = s->conf.act[PROT_P3_NON_COMPLIANT] == ACT_PREVENT &&
	    s->conf.act[PROT_P3_MAX_LINE_LENGTH] == ACT_PREVENT;
	p3_state_init(&s->st, &s->conf, &fz_hooks, s);
	for (i = FZ_KNOBS; i < size && !s->over; i += n) {
		h = data[i++];
		n = h & 0x3f;
		if ((h & 0x40) && i < size)
			n = n << 8 | data[i++];
		if (n > size - i)
			n = size - i;
		fz_chunk(s, (h & 0x80) == 0, data + i, n);
	}
	return 0;
}
