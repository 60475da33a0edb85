/* SPDX-License-Identifier: ISC */
/*
 * fuzz_mlt.c: libFuzzer target for the milter's decisions: the first
 * bytes choose the policy and the client, the rest is a run of HELO, MAIL,
 * RCPT and unknown commands with any arguments and macros; every verdict is
 * checked against what the SPEC's order says must fire.  One operation
 * prints the -P table and compiles each of its patterns.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mlt_policy.h"
#include "mlt_table.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FZ_KNOBS	6		/* policy octets at the front */
#define FZ_ARGS		80		/* more than MLT_ARGS_MAX */
#define FZ_STR_MAX	4096		/* longest string taken */
#define FZ_SLED		"\x90\x90\x90\x90"

/* Stop the run: a promise of the decisions is broken. */
#define FZ_CHECK(c)	do { if (!(c)) fz_fail(#c, __LINE__); } while (0)

/* The input being read. */
struct fz_in {
	const uint8_t	*p;		/* next octet */
	const uint8_t	*end;		/* past the last */
};

static struct policy	 fz_base;	/* pure defaults, read once */
static struct policy	 fz_pol;	/* this run's policy */
static struct cidr	 fz_nets[2];	/* 10.0.0.0/8, 2001:db8::/32 */
static char		*fz_mechs[] = { "CRAM-MD5", "LOGIN" };
static char		*fz_domains[] = { "example.org", "xn--bcher-kva.de" };
static char		 fz_verbs[4][65]; /* block_commands of this run */
static char		*fz_verbv[4];	/* pointers to them */
static size_t		 fz_reason_len;	/* fake detector's reason length */

/* Report the broken promise and stop. */
static void
fz_fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_mlt: invariant broken at line %d: %s\n", line,
	    what);
	__builtin_trap();
}

/* Stand-in detector: four NOPs are code; the reason's length varies. */
static bool
fz_scan(const void *buf, size_t len, enum mcp_sensitivity sens,
    char reason[MCP_REASON_MAX])
{
	if (memmem(buf, len, FZ_SLED, 4) == NULL)
		return false;
	memset(reason, 'r', fz_reason_len);
	reason[fz_reason_len] = '\0';
	return true;
}

/* One octet, or 0 at the end. */
static uint8_t
fz_byte(struct fz_in *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

/* A C string of the input (one or two length octets), cut at a NUL. */
static char *
fz_str(struct fz_in *in)
{
	size_t	 n = fz_byte(in);
	char	*s;

	if (n & 0x80)
		n = ((n & 0x7f) << 8 | fz_byte(in)) % FZ_STR_MAX;
	if (n > (size_t)(in->end - in->p))
		n = (size_t)(in->end - in->p);
	if ((s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	return s;
}

/* The policy and the client from the knob octets. */
static void
fz_policy(const uint8_t *k, struct sockaddr_in6 *sa)
{
	struct pol_prot	*p;
	int		 i;

	fz_pol = fz_base;
	for (i = PROT_SMTP_MAX_LINE_LENGTH; i < PROT_COUNT; i++) {
		p = &fz_pol.prot[i];
		p->action = (enum pol_action)((2 + ((k[(i - 8) / 4] >>
		    (2 * ((i - 8) % 4))) & 3)) % 3);
		p->exempt.n = 0;
	}
	p = &fz_pol.prot[PROT_SMTP_AUTH];
	p->allow_networks.v = fz_nets;
	p->allow_networks.n = k[2] & 0x01;
	p->deny_mechanisms.v = fz_mechs;
	p->deny_mechanisms.n = k[2] & 0x02 ? 2 : 0;
	p->require_tls = (k[2] & 0x04) != 0;
	fz_pol.smtp.internal_networks.v = fz_nets;
	fz_pol.smtp.internal_networks.n = k[2] & 0x08 ? 2 : 0;
	fz_pol.smtp.local_domains.v = fz_domains;
	fz_pol.smtp.local_domains.n = k[2] & 0x10 ? 2 : 0;
	fz_pol.exempt.v = fz_nets;
	fz_pol.exempt.n = (k[2] & 0xe0) == 0xe0;
	fz_pol.prot[PROT_SMTP_MAX_LINE_LENGTH].limit = k[3] < 0x80 ? 1000 :
	    1 + (k[3] & 0x7f) * 8;
	fz_pol.prot[PROT_SMTP_MAX_BAD_COMMANDS].limit = k[4] < 0x80 ? 10 :
	    k[4] & 0x0f;
	fz_pol.prot[PROT_SMTP_AUTH_OVERFLOW].limit = k[4] < 0x80 ? 512 :
	    16 + (k[4] >> 4) * 100000;
	fz_pol.prot[PROT_SMTP_MALICIOUS_CODE].sensitivity =
	    (enum mcp_sensitivity)(k[5] % 3);
	fz_pol.prot[PROT_SMTP_UNKNOWN_COMMAND].block_commands.v = fz_verbv;
	fz_pol.prot[PROT_SMTP_UNKNOWN_COMMAND].block_commands.n = 0;
	fz_reason_len = (size_t)(k[5] % MCP_REASON_MAX);
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	switch ((k[2] >> 5) & 3) {
	case 0:
		sa->sin6_family = AF_UNSPEC;	/* no address */
		break;
	case 1:
		inet_pton(AF_INET6, "::ffff:10.1.2.3", &sa->sin6_addr);
		break;
	case 2:
		inet_pton(AF_INET6, "2001:db8::1", &sa->sin6_addr);
		break;
	default:
		inet_pton(AF_INET6, "::ffff:192.0.2.1", &sa->sin6_addr);
		break;
	}
}

/* What every verdict promises; returns whether protection p fired. */
static bool
fz_check_verdict(const struct mlt_session *s, const struct mlt_verdict *v,
    enum prot_id p)
{
	const struct mlt_hit *h;
	bool		 fired = false;
	size_t		 i;

	FZ_CHECK(v->nhits <= PROT_COUNT);
	FZ_CHECK(memchr(v->verb, '\0', sizeof(v->verb)) != NULL);
	FZ_CHECK(memchr(v->reason, '\0', sizeof(v->reason)) != NULL);
	for (i = 0; i < v->nhits; i++) {
		h = &v->hit[i];
		FZ_CHECK(h->prot >= PROT_SMTP_MAX_LINE_LENGTH &&
		    h->prot < PROT_COUNT);
		FZ_CHECK(h->action != ACT_OFF && h->action == s->act[h->prot]);
		FZ_CHECK(h->detail_len <= sizeof(h->detail));
		/* Judging ends at the first prevent. */
		FZ_CHECK(h->action != ACT_PREVENT || i == v->nhits - 1);
		if (h->prot == p)
			fired = true;
	}
	if (v->reply == MLT_R_CONTINUE)
		FZ_CHECK(v->nhits == 0 ||
		    v->hit[v->nhits - 1].action != ACT_PREVENT);
	else
		FZ_CHECK(v->nhits > 0 && v->by == v->hit[v->nhits - 1].prot &&
		    v->hit[v->nhits - 1].action == ACT_PREVENT);
	return fired;
}

/* Whether judging went on past the protections before p. */
static bool
fz_reached(const struct mlt_verdict *v, enum prot_id p)
{
	return v->reply == MLT_R_CONTINUE || v->by >= p;
}

/*
 * The judging order of SPEC section 3 for HELO, MAIL and RCPT: the line
 * is too long iff its arguments are, and code in any argument is found.
 */
static void
fz_check_args(const struct mlt_session *s, const struct mlt_verdict *v,
    char *const *argv)
{
	size_t	 len = 0, i;
	bool	 sled = false;

	for (i = 0; argv[i] != NULL; i++) {
		len += strlen(argv[i]) + (i > 0);
		if (memmem(argv[i], strlen(argv[i]), FZ_SLED, 4) != NULL)
			sled = true;
	}
	if (s->act[PROT_SMTP_MAX_LINE_LENGTH] != ACT_OFF)
		FZ_CHECK(fz_check_verdict(s, v, PROT_SMTP_MAX_LINE_LENGTH) ==
		    (len > (size_t)s->pol->prot[PROT_SMTP_MAX_LINE_LENGTH].
		    limit));
	if (s->act[PROT_SMTP_MALICIOUS_CODE] != ACT_OFF &&
	    fz_reached(v, PROT_SMTP_MALICIOUS_CODE))
		FZ_CHECK(fz_check_verdict(s, v, PROT_SMTP_MALICIOUS_CODE) ==
		    sled);
}

/* Print the -P table for this run's block_commands; every pattern must
 * compile, and a blocked verb must meet its rule. */
static void
fz_table(struct fz_in *in)
{
	struct pol_prot	*p = &fz_pol.prot[PROT_SMTP_UNKNOWN_COMMAND];
	char		*buf = NULL, *line, *end, *slash, cmd[80];
	size_t		 len = 0, i, n;
	FILE		*f;
	regex_t		 rx;
	uint8_t		 c;

	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_.";

	p->block_commands.n = fz_byte(in) % 5;
	for (i = 0; i < p->block_commands.n; i++) {
		n = 1 + fz_byte(in) % 64;
		for (c = 0; c < n; c++)
			fz_verbs[i][c] = alpha[fz_byte(in) % (sizeof(alpha) - 1)];
		fz_verbs[i][n] = '\0';
		fz_verbv[i] = fz_verbs[i];
	}
	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	FZ_CHECK(mlt_table_write(f, &fz_pol, "/etc/mailwarden.conf") == 0);
	fclose(f);
	for (line = buf; line < buf + len; line = end + 1) {
		if ((end = memchr(line, '\n', (size_t)(buf + len - line))) ==
		    NULL)
			end = buf + len;
		*end = '\0';
		if (strncmp(line, "if ", 3) == 0)
			line += 3;
		if (line[0] != '/' || (slash = strrchr(line, '/')) == line)
			continue;
		*slash = '\0';
		FZ_CHECK(regcomp(&rx, line + 1, REG_EXTENDED | REG_ICASE |
		    REG_NOSUB) == 0);
		for (i = 0; i < p->block_commands.n; i++) {
			if (strstr(slash + 1, MLT_MARK_PREFIX MLT_MARK_BLOCK
			    "-") == NULL || strcmp(slash + 1 + 1 +
			    strlen(MLT_MARK_PREFIX MLT_MARK_BLOCK "-"),
			    fz_verbs[i]) != 0)
				continue;
			snprintf(cmd, sizeof(cmd), " %s x", fz_verbs[i]);
			FZ_CHECK(regexec(&rx, cmd, 0, NULL, 0) == 0);
		}
		regfree(&rx);
	}
	free(buf);
	p->block_commands.n = 0;
}

/* Texts built from a verdict fit any buffer they are given. */
static void
fz_texts(const struct mlt_session *s, const struct mlt_verdict *v,
    uint8_t k)
{
	char	 buf[600], src[MLT_DETAIL_MAX + 1];
	size_t	 sz = 1 + k % sizeof(buf), n, i;

	n = mlt_detect_header(s, buf, sz);
	FZ_CHECK(n < sz && strlen(buf) == n);
	if (v->nhits == 0)
		return;
	memcpy(src, v->hit[0].detail, v->hit[0].detail_len);
	src[v->hit[0].detail_len] = '\0';
	mlt_reply_text(buf, sz, src);
	n = strlen(buf);
	FZ_CHECK(n < sz);
	FZ_CHECK(strpbrk(buf, "\r\n") == NULL);
	for (i = 0; i < n; i++)
		if (buf[i] == '%')
			FZ_CHECK(buf[++i] == '%');
}

/* One MAIL FROM with its macros. */
static void
fz_mail(struct mlt_session *s, struct fz_in *in, uint8_t op)
{
	char			*argv[FZ_ARGS + 1], *mac[4];
	struct mlt_mail_macros	 m;
	struct mlt_verdict	 v;
	size_t			 argc = fz_byte(in) % (FZ_ARGS + 1), i;

	for (i = 0; i < argc; i++)
		argv[i] = fz_str(in);
	argv[argc] = NULL;
	for (i = 0; i < 4; i++)
		mac[i] = op & (0x10 << i) ? fz_str(in) : NULL;
	m.auth_type = mac[0];
	m.auth_authen = mac[1];
	m.auth_author = mac[2];
	m.tls_version = mac[3];
	mlt_judge_mail(s, argv, &m, &v);
	fz_check_args(s, &v, argv);
	FZ_CHECK(s->authenticated == (mac[0] != NULL && mac[0][0] != '\0'));
	fz_texts(s, &v, fz_byte(in));
	for (i = 0; i < argc; i++)
		free(argv[i]);
	for (i = 0; i < 4; i++)
		free(mac[i]);
}

/* One RCPT TO or HELO. */
static void
fz_rcpt_helo(struct mlt_session *s, struct fz_in *in, bool rcpt)
{
	char			*argv[FZ_ARGS + 1];
	struct mlt_verdict	 v;
	size_t			 argc = rcpt ? fz_byte(in) % (FZ_ARGS + 1) : 1;
	size_t			 i;

	for (i = 0; i < argc; i++)
		argv[i] = fz_str(in);
	argv[argc] = NULL;
	if (rcpt)
		mlt_judge_rcpt(s, argv, &v);
	else
		mlt_judge_helo(s, argv[0], &v);
	fz_check_args(s, &v, argv);
	fz_texts(s, &v, fz_byte(in));
	for (i = 0; i < argc; i++)
		free(argv[i]);
}

/* One unknown command, a marker verb now and then. */
static void
fz_unknown(struct mlt_session *s, struct fz_in *in, uint8_t op)
{
	static const char *const marks[] = { "", "X-MAILWARDEN-BLOCK-",
	    "x-mailwarden-long-", "X-MAILWARDEN-CRAMIR-" };
	struct mlt_verdict	 v;
	char			*arg = fz_str(in), *cmd, verb[80];
	unsigned long		 before = s->bad_commands;
	size_t			 len;
	int			 mark;

	len = strlen(marks[(op >> 4) & 3]) + strlen(arg);
	if ((cmd = malloc(len + 1)) == NULL)
		abort();
	snprintf(cmd, len + 1, "%s%s", marks[(op >> 4) & 3], arg);
	mlt_judge_unknown(s, cmd, &v);
	FZ_CHECK(s->bad_commands == before + 1);
	(void)fz_check_verdict(s, &v, PROT_COUNT);
	FZ_CHECK(strlen(v.verb) <= MLT_VERB_MAX);
	mark = mlt_marker_parse(cmd, len, verb, 1 + fz_byte(in) %
	    sizeof(verb));
	FZ_CHECK(mark == -1 || mark == PROT_SMTP_UNKNOWN_COMMAND ||
	    mark == PROT_SMTP_AUTH_OVERFLOW);
	fz_texts(s, &v, fz_byte(in));
	free(cmd);
	free(arg);
}

/*
 * Input: FZ_KNOBS policy octets, then operations: one octet (low 3 bits:
 * HELO, MAIL, RCPT, unknown, end of transaction, table; the high bits
 * select macros and markers) and its strings, each one or two length
 * octets and its bytes.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool		 ready;
	static struct policy	*def;	/* kept for the process's life */
	struct sockaddr_in6	 sa;
	struct mlt_session	 s;
	struct fz_in		 in = { data + FZ_KNOBS, data + size };
	uint8_t			 op;
	int			 st;

	if (!ready) {
		if ((def = pol_defaults()) == NULL ||
		    cidr_parse("10.0.0.0/8", &fz_nets[0]) == -1 ||
		    cidr_parse("2001:db8::/32", &fz_nets[1]) == -1)
			abort();
		fz_base = *def;
		ready = true;
	}
	if (size < FZ_KNOBS)
		return 0;
	fz_policy(data, &sa);
	mlt_session_init(&s, &fz_pol, (struct sockaddr *)&sa, fz_scan);
	for (st = MLT_ST_HELO; st <= MLT_ST_UNKNOWN; st++)
		FZ_CHECK(mlt_stage_need(&fz_pol, (enum mlt_stage)st) <=
		    ACT_PREVENT);
	while (in.p < in.end) {
		op = fz_byte(&in);
		switch (op & 7) {
		case 0:
			fz_rcpt_helo(&s, &in, false);
			break;
		case 1:
			fz_mail(&s, &in, op);
			break;
		case 2:
			fz_rcpt_helo(&s, &in, true);
			break;
		case 3:
			fz_unknown(&s, &in, op);
			break;
		case 4:
			mlt_session_reset_tx(&s);
			FZ_CHECK(!s.authenticated);
			break;
		case 5:
			fz_table(&in);
			break;
		default:
			break;
		}
	}
	return 0;
}
