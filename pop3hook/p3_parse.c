/* SPDX-License-Identifier: ISC */
/*
 * p3_parse.c: the POP3 lexer.  Pure functions over bytes: nothing here
 * knows sockets, policy or logging, so every split of every line can be
 * tested without a network.
 */
#include <string.h>
#include <strings.h>

#include "p3_parse.h"

#define IN_A	P3_IN_AUTHORIZATION
#define IN_T	P3_IN_TRANSACTION

/*
 * The command table: RFC 1939 section 4-7, RFC 2449 (CAPA), RFC 2595
 * (STLS), RFC 5034 (AUTH), RFC 6856 (UTF8, LANG).  NOOP is allowed before
 * login as well: Dovecot answers it there and clients use it as keep-alive.
 */
static const struct p3_cmdinfo p3_cmds[] = {
	{ "USER", P3_CMD_USER, IN_A, 1, 1, 0 },
	{ "PASS", P3_CMD_PASS, IN_A, 1, 1, P3_A_REST },
	{ "APOP", P3_CMD_APOP, IN_A, 2, 2, 0 },
	{ "AUTH", P3_CMD_AUTH, IN_A, 0, 2, P3_A_MULTI_NOARG },
	{ "QUIT", P3_CMD_QUIT, P3_IN_ANY, 0, 0, 0 },
	{ "STAT", P3_CMD_STAT, IN_T, 0, 0, 0 },
	{ "LIST", P3_CMD_LIST, IN_T, 0, 1, P3_A_NUMERIC | P3_A_MULTI_NOARG },
	{ "RETR", P3_CMD_RETR, IN_T, 1, 1, P3_A_NUMERIC | P3_A_MULTI },
	{ "DELE", P3_CMD_DELE, IN_T, 1, 1, P3_A_NUMERIC },
	{ "NOOP", P3_CMD_NOOP, P3_IN_ANY, 0, 0, 0 },
	{ "RSET", P3_CMD_RSET, IN_T, 0, 0, 0 },
	{ "TOP", P3_CMD_TOP, IN_T, 2, 2, P3_A_NUMERIC | P3_A_MULTI },
	{ "UIDL", P3_CMD_UIDL, IN_T, 0, 1, P3_A_NUMERIC | P3_A_MULTI_NOARG },
	{ "CAPA", P3_CMD_CAPA, P3_IN_ANY, 0, 0, P3_A_MULTI },
	{ "STLS", P3_CMD_STLS, IN_A, 0, 0, 0 },
	{ "UTF8", P3_CMD_UTF8, P3_IN_ANY, 0, 0, 0 },
	{ "LANG", P3_CMD_LANG, P3_IN_ANY, 0, 1, P3_A_MULTI_NOARG },
};

/* Forget the scan position. */
void
p3_lexer_reset(struct p3_lexer *lx)
{
	lx->scanned = 0;
}

/* Find the end of the line at buf, judging it overlong at limit octets. */
enum p3_scan
p3_line_scan(struct p3_lexer *lx, const char *buf, size_t len, size_t limit,
    size_t *linelen)
{
	size_t		 end = len < limit ? len : limit;
	const char	*nl;

	if (lx->scanned < end) {
		nl = memchr(buf + lx->scanned, '\n', end - lx->scanned);
		if (nl != NULL) {
			*linelen = (size_t)(nl - buf) + 1;
			lx->scanned = 0;
			return P3_SCAN_LINE;
		}
		lx->scanned = end;
	}
	if (len >= limit) {
		*linelen = limit;
		lx->scanned = 0;
		return P3_SCAN_LONG;
	}
	return P3_SCAN_MORE;
}

/* Length of a line without its CRLF or LF. */
size_t
p3_chomp(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n') {
		len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
	}
	return len;
}

/* The table row of a keyword, any case. */
const struct p3_cmdinfo *
p3_cmd_lookup(const char *kw, size_t len)
{
	char	 up[4];
	size_t	 i;

	if (len < 3 || len > 4)
		return NULL;
	for (i = 0; i < len; i++)
		up[i] = (kw[i] >= 'a' && kw[i] <= 'z') ? kw[i] - 32 : kw[i];
	for (i = 0; i < sizeof(p3_cmds) / sizeof(p3_cmds[0]); i++)
		if (strlen(p3_cmds[i].keyword) == len &&
		    memcmp(p3_cmds[i].keyword, up, len) == 0)
			return &p3_cmds[i];
	return NULL;
}

/* Whether the octets are ASCII letters and digits only (UTF8 has one). */
static bool
p3_is_alnum(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* Whether the octets are all ASCII digits, and at least one. */
bool
p3_is_number(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Mark control and 8-bit octets of the line body. */
static unsigned
p3_line_flags(const char *s, size_t len)
{
	unsigned	 f = 0;
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			continue;
		if (c == 0)
			f |= P3_L_NUL | P3_L_CTRL;
		else if (c < 0x20 || c == 0x7f)
			f |= P3_L_CTRL;
		else
			f |= P3_L_8BIT;
	}
	return f;
}

/* Split the arguments at single spaces (RFC 1939 section 3). */
static void
p3_split_args(struct p3_cmdline *cl)
{
	const char	*p = cl->rest, *end = cl->rest + cl->restlen, *sp;

	if (cl->restlen == 0) {
		cl->flags |= P3_L_EMPTY_ARG;	/* "KW " */
		return;
	}
	while (p <= end) {
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL)
			sp = end;
		if (sp == p)
			cl->flags |= P3_L_EMPTY_ARG;
		else {
			if (cl->nargs < P3_MAX_ARGS) {
				cl->arg[cl->nargs] = p;
				cl->arglen[cl->nargs] = (size_t)(sp - p);
			}
			cl->nargs++;
		}
		p = sp + 1;
	}
}

/* Split a client line into keyword, arguments and findings. */
void
p3_parse_command(const char *line, size_t len, bool cut,
    struct p3_cmdline *cl)
{
	const char	*sp;
	size_t		 body = len, i;

	memset(cl, 0, sizeof(*cl));
	if (cut)
		cl->flags |= P3_L_LONG;
	else {
		body = p3_chomp(line, len);
		if (len > 0 && line[len - 1] == '\n' &&
		    (len < 2 || line[len - 2] != '\r'))
			cl->flags |= P3_L_BARE_LF;
	}
	cl->flags |= p3_line_flags(line, body);
	sp = memchr(line, ' ', body);
	cl->kw = line;
	cl->kwlen = sp != NULL ? (size_t)(sp - line) : body;
	cl->kw_ok = cl->kwlen >= 3 && cl->kwlen <= 4 &&
	    p3_is_alnum(line, cl->kwlen);
	cl->info = cl->kw_ok ? p3_cmd_lookup(line, cl->kwlen) : NULL;
	cl->cmd = cl->info != NULL ? cl->info->cmd : P3_CMD_UNKNOWN;
	if (cl->cmd == P3_CMD_UNKNOWN && cl->kwlen == 7 &&
	    strncasecmp(line, "XCLIENT", 7) == 0)
		cl->cmd = P3_CMD_XCLIENT;
	cl->blank = true;
	if (sp == NULL)
		return;
	cl->rest = sp + 1;
	cl->restlen = body - cl->kwlen - 1;
	for (i = 0; i < cl->restlen; i++)
		if (cl->rest[i] != ' ')
			cl->blank = false;
	p3_split_args(cl);
}

/* Whether s is len hexadecimal digits. */
static bool
p3_is_hex(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* Whether a SASL mechanism name is well formed (RFC 4422 section 3.1). */
static bool
p3_is_mech(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
		    || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* Why the arguments break the command's rules, or NULL. */
const char *
p3_args_problem(const struct p3_cmdline *cl)
{
	const struct p3_cmdinfo *ci = cl->info;
	unsigned	 i;

	if (ci == NULL)
		return "unknown command";
	if (ci->rules & P3_A_REST)
		return cl->blank ? "missing argument" : NULL;
	if (cl->flags & P3_L_EMPTY_ARG)
		return "empty argument";
	if (cl->nargs < ci->minargs || cl->nargs > ci->maxargs)
		return "wrong argument count";
	if (ci->rules & P3_A_NUMERIC)
		for (i = 0; i < cl->nargs; i++)
			if (!p3_is_number(cl->arg[i], cl->arglen[i]))
				return "non-numeric argument";
	if (cl->cmd == P3_CMD_APOP &&
	    (cl->arglen[1] != 32 || !p3_is_hex(cl->arg[1], 32)))
		return "bad APOP digest";
	if (cl->cmd == P3_CMD_AUTH && cl->nargs > 0 &&
	    !p3_is_mech(cl->arg[0], cl->arglen[0]))
		return "bad SASL mechanism name";
	return NULL;
}

/* Whether the +OK answer to the command is multi-line. */
bool
p3_cmd_multiline(const struct p3_cmdline *cl)
{
	if (cl->info == NULL)
		return false;
	if (cl->info->rules & P3_A_MULTI)
		return true;
	return (cl->info->rules & P3_A_MULTI_NOARG) && cl->nargs == 0 &&
	    !(cl->flags & P3_L_EMPTY_ARG);
}

/* Kind of a server line (RFC 1939 section 3, RFC 5034 section 4). */
enum p3_status
p3_status_kind(const char *line, size_t len)
{
	if (len >= 3 && memcmp(line, "+OK", 3) == 0 &&
	    (len == 3 || line[3] == ' '))
		return P3_ST_OK;
	if (len >= 4 && memcmp(line, "-ERR", 4) == 0 &&
	    (len == 4 || line[4] == ' '))
		return P3_ST_ERR;
	if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' '))
		return P3_ST_CONT;
	return P3_ST_BAD;
}

/* Start a body scan at the beginning of a line. */
void
p3_body_start(struct p3_body *b)
{
	b->pos = P3_BODY_BOL;
}

/*
 * Scan multi-line body octets for the terminating "." line.  A line that
 * starts with "." and has more octets is dot-stuffed body, not the end.
 * Only the octets after a "\n." are looked at one by one.
 */
size_t
p3_body_scan(struct p3_body *b, const char *buf, size_t len, bool *done)
{
	const char	*dot;
	size_t		 i = 0;

	*done = false;
	while (i < len) {
		switch (b->pos) {
		case P3_BODY_BOL:
			if (buf[i] == '.') {
				b->pos = P3_BODY_DOT;
				i++;
			} else
				b->pos = P3_BODY_MID;
			break;
		case P3_BODY_MID:
			/*
			 * Only a line that starts with "." can end the body,
			 * so memchr() looks for dots alone (none at all in
			 * base64 parts) and a dot after LF is the one to see.
			 * buf[i] here is never at the start of a line.
			 */
			dot = memchr(buf + i, '.', len - i);
			if (dot == NULL) {
				b->pos = buf[len - 1] == '\n' ? P3_BODY_BOL :
				    P3_BODY_MID;
				return len;
			}
			if (dot > buf + i && dot[-1] == '\n')
				b->pos = P3_BODY_DOT;
			i = (size_t)(dot - buf) + 1;
			break;
		case P3_BODY_DOT:
			if (buf[i] == '\r') {
				b->pos = P3_BODY_DOTCR;
				i++;
			} else if (buf[i] == '\n') {
				*done = true;
				return i + 1;
			} else
				b->pos = P3_BODY_MID;
			break;
		case P3_BODY_DOTCR:
			if (buf[i] == '\n') {
				*done = true;
				return i + 1;
			}
			b->pos = P3_BODY_MID;
			break;
		}
	}
	return len;
}
