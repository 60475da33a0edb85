/* SPDX-License-Identifier: ISC */
/*
 * p3_state.c: the POP3 state machine.  Client lines are judged in the
 * SPEC section 3 order (max_line_length, max_commands, starttls,
 * empty_username, empty_password, malicious_code, non_compliant); server
 * status lines by non_compliant, then max_bad_commands.  Every command is
 * queued until its status line arrives, so pipelined answers and
 * multi-line bodies stay matched to their commands.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "p3_state.h"

#define DETAIL_MAX	256		/* detail built here; evt cuts to 200 */

/* One line being judged, with what the judges found. */
struct p3_judge {
	struct p3_state	*st;		/* the session */
	const char	*line;		/* the line as received */
	size_t		 len;		/* its length (with terminator) */
	char		 detail[DETAIL_MAX]; /* the line without secrets */
	size_t		 dlen;		/* its length */
	size_t		 kwlen;		/* detail prefix naming the command */
	bool		 blocked;	/* a prevent fired */
};

/* Fill the session's view of the policy. */
void
p3_conf_init(struct p3_conf *c, const struct policy *p,
    const enum pol_action actions[PROT_COUNT])
{
	int	 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < P3_NPROT; i++)
		c->act[i] = (uint8_t)actions[i];
	c->sensitivity = p->prot[PROT_P3_MALICIOUS_CODE].sensitivity;
	c->tls = p->pop3.tls;
	c->client_address = p->pop3.backend_client_address;
	c->strict_crlf = p->prot[PROT_P3_NON_COMPLIANT].strict_crlf;
	c->inspect_after_auth = p->pop3.inspect_after_auth;
	c->line_limit = p->prot[PROT_P3_MAX_LINE_LENGTH].limit;
	c->sasl_limit = p->prot[PROT_P3_MAX_LINE_LENGTH].sasl_limit;
	c->max_commands = p->prot[PROT_P3_MAX_COMMANDS].limit;
	c->preauth_commands = p->prot[PROT_P3_MAX_COMMANDS].preauth_limit;
	c->max_bad = p->prot[PROT_P3_MAX_BAD_COMMANDS].limit;
}

/* Start a session: the greeting is due. */
void
p3_state_init(struct p3_state *st, const struct p3_conf *conf,
    const struct p3_hooks *hooks, void *arg)
{
	memset(st, 0, sizeof(*st));
	st->conf = conf;
	st->hooks = hooks;
	st->arg = arg;
	st->phase = P3_PH_GREETING;
	st->srv_mode = P3_SRV_STATUS;
	st->srv_resume = P3_SRV_STATUS;
	st->block_prot = -1;
}

/* Change phase; the one place that does. */
static void
p3_set_phase(struct p3_state *st, enum p3_phase ph)
{
	st->phase = ph;
}

/*
 * A protection fired: log it unless off, and block on prevent.  Returns
 * true when judging must stop.
 */
static bool
p3_fire(struct p3_state *st, enum prot_id id, const char *detail, size_t len)
{
	enum pol_action	 a = (enum pol_action)st->conf->act[id];

	if (a == ACT_OFF)
		return false;
	st->hooks->report(st->arg, id, a, detail, len);
	if (a == ACT_PREVENT) {
		st->block_prot = (int)id;
		return true;
	}
	return false;
}

/* Fire for the line being judged. */
static bool
p3_jfire(struct p3_judge *j, enum prot_id id)
{
	if (j->blocked)
		return true;
	j->blocked = p3_fire(j->st, id, j->detail, j->dlen);
	return j->blocked;
}

/* Append to the detail, bounded. */
static void
p3_dappend(struct p3_judge *j, const char *s, size_t n)
{
	if (n > sizeof(j->detail) - 1 - j->dlen)
		n = sizeof(j->detail) - 1 - j->dlen;
	memcpy(j->detail + j->dlen, s, n);
	j->dlen += n;
	j->detail[j->dlen] = '\0';
}

/* The command line as logged: passwords, digests and SASL data removed. */
static void
p3_cmd_detail(struct p3_judge *j, const struct p3_cmdline *cl)
{
	size_t	 body = cl->flags & P3_L_LONG ? j->len : p3_chomp(j->line, j->len);
	char	 d[REG_UNKNOWN_DETAIL_MAX];
	int	 n;

	j->dlen = 0;
	switch (cl->cmd) {
	case P3_CMD_UNKNOWN:
		/*
		 * Not a POP3 command, so anything: SASL data sent out of
		 * turn, an IMAP client's "a1 LOGIN user password".  Only a
		 * keyword of POP3's shape is logged, without its arguments.
		 */
		if (cl->kw_ok)
			p3_dappend(j, cl->kw, cl->kwlen);
		else {
			n = snprintf(d, sizeof(d), REG_UNKNOWN_DETAIL, body);
			p3_dappend(j, d, n > 0 ? (size_t)n : 0);
		}
		j->kwlen = j->dlen;
		return;
	case P3_CMD_PASS:
		p3_dappend(j, cl->kw, cl->kwlen);
		break;
	case P3_CMD_APOP:
	case P3_CMD_AUTH:
		p3_dappend(j, cl->kw, cl->kwlen);
		if (cl->nargs > 0) {
			p3_dappend(j, " ", 1);
			p3_dappend(j, cl->arg[0], cl->arglen[0]);
		}
		break;
	default:
		p3_dappend(j, j->line, body);
		break;
	}
	j->kwlen = cl->kwlen;
	if (cl->cmd == P3_CMD_AUTH)
		j->kwlen = j->dlen;
}

/* Run the Malicious Code Protector on one argument. */
static bool
p3_scan_arg(struct p3_judge *j, const char *arg, size_t len)
{
	const struct p3_conf *c = j->st->conf;
	char		 reason[MCP_REASON_MAX], d[DETAIL_MAX];
	int		 n;

	if (j->blocked || len == 0 ||
	    c->act[PROT_P3_MALICIOUS_CODE] == ACT_OFF)
		return j->blocked;
	reason[0] = '\0';
	if (!j->st->hooks->scan(arg, len, c->sensitivity, reason))
		return false;
	/* The command and the reason: the code itself says nothing useful. */
	n = snprintf(d, sizeof(d), "%.*s: %.*s", (int)j->kwlen, j->detail,
	    (int)strnlen(reason, sizeof(reason)), reason);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(d))
		n = sizeof(d) - 1;
	j->blocked = p3_fire(j->st, PROT_P3_MALICIOUS_CODE, d, (size_t)n);
	return j->blocked;
}

/* Append a command to the queue of commands in flight. */
static void
p3_push(struct p3_state *st, enum p3_cmd cmd, bool multi, bool login,
    bool ours)
{
	struct p3_expect *e;

	if (st->qlen >= P3_QMAX)
		PANIC("p3 queue overflow");
	e = &st->q[(st->qhead + st->qlen) % P3_QMAX];
	e->cmd = (uint8_t)cmd;
	e->multi = multi;
	e->login = login;
	e->ours = ours;
	st->qlen++;
	if (login)
		st->logins_pending++;
}

/* Remove the first command in flight. */
static struct p3_expect
p3_pop(struct p3_state *st)
{
	struct p3_expect e = st->q[st->qhead];

	st->qhead = (uint8_t)((st->qhead + 1) % P3_QMAX);
	st->qlen--;
	if (e.login)
		st->logins_pending--;
	return e;
}

/* Whether client bytes must wait for an answer first. */
bool
p3_client_paused(const struct p3_state *st)
{
	return st->phase == P3_PH_GREETING || st->block_prot >= 0 ||
	    st->stls_pending || st->utf8_pending ||
	    (st->sasl && !st->sasl_client_turn) ||
	    (!st->conf->inspect_after_auth && st->logins_pending > 0) ||
	    st->qlen >= P3_QMAX;
}

/* Whether answers are still due from the backend. */
bool
p3_awaiting_server(const struct p3_state *st)
{
	return st->qlen > 0 || st->srv_mode != P3_SRV_STATUS;
}

/* Judge SASL data (initial response or continuation) of the exchange. */
static void
p3_judge_sasl_data(struct p3_judge *j, const char *b64, size_t len,
    bool *bad)
{
	struct p3_state	*st = j->st;
	unsigned char	 dec[P3_SASL_DECODED_MAX];
	struct p3_sasl_res r;

	p3_sasl_judge(st->mech, st->sasl_step, b64, len, dec, sizeof(dec), &r);
	if (r.cancel)
		return;
	/* The login name is known before any event about this message. */
	if (r.user != NULL && !r.no_user && !r.bad_bytes)
		st->hooks->user(st->arg, (const char *)r.user, r.userlen);
	if (r.no_user && p3_jfire(j, PROT_P3_EMPTY_USERNAME))
		return;
	if (r.no_pass && p3_jfire(j, PROT_P3_EMPTY_PASSWORD))
		return;
	if (p3_scan_arg(j, b64, len))
		return;
	if (r.bad_b64 || r.bad_bytes)
		*bad = true;
}

/* Judge one SASL continuation line (RFC 5034 section 4). */
static enum p3_verdict
p3_judge_sasl_line(struct p3_state *st, const char *line, size_t len,
    bool cut)
{
	struct p3_judge	 j = { .st = st, .line = line, .len = len };
	struct p3_cmdline cl;
	size_t		 body = cut ? len : p3_chomp(line, len);
	bool		 bad = false;

	p3_parse_command(line, len, cut, &cl);
	p3_dappend(&j, "AUTH ", 5);
	p3_dappend(&j, st->mech_name, strlen(st->mech_name));
	p3_dappend(&j, " response", 9);
	j.kwlen = j.dlen;
	if (cut && p3_jfire(&j, PROT_P3_MAX_LINE_LENGTH))
		return P3_V_BLOCK;
	if (!cut)
		p3_judge_sasl_data(&j, line, body, &bad);
	if (j.blocked)
		return P3_V_BLOCK;
	if ((cl.flags & (P3_L_CTRL | P3_L_8BIT)) ||
	    ((cl.flags & P3_L_BARE_LF) && st->conf->strict_crlf))
		bad = true;
	if (bad && p3_jfire(&j, PROT_P3_NON_COMPLIANT))
		return P3_V_BLOCK;
	if (st->sasl_step < UINT8_MAX)	/* saturate: LOGIN's step 0 stays once */
		st->sasl_step++;
	st->sasl_client_turn = false;
	return P3_V_OK;
}

/* The command's problem at line level (RFC 1939 section 3), or NULL. */
static const char *
p3_line_problem(const struct p3_state *st, const struct p3_cmdline *cl)
{
	unsigned	 states;

	if (cl->flags & P3_L_CTRL)
		return "control octet";
	if ((cl->flags & P3_L_8BIT) && !st->utf8)
		return "8-bit octet without UTF8";
	if ((cl->flags & P3_L_BARE_LF) && st->conf->strict_crlf)
		return "bare LF";
	if (!cl->kw_ok || cl->info == NULL)
		return "unknown command";
	states = st->phase == P3_PH_TRANSACTION ? P3_IN_TRANSACTION :
	    P3_IN_AUTHORIZATION;
	if (st->logins_pending > 0)
		states |= P3_IN_TRANSACTION;
	if (!(cl->info->states & states))
		return "command not allowed in this state";
	if (cl->flags & P3_L_LONG)
		return NULL;		/* arguments cut: max_line_length judged */
	return p3_args_problem(cl);
}

/* Judge the credentials of USER, PASS, APOP and AUTH with initial response. */
static bool
p3_judge_credentials(struct p3_judge *j, const struct p3_cmdline *cl,
    bool *bad)
{
	if ((cl->cmd == P3_CMD_USER || cl->cmd == P3_CMD_APOP) && cl->blank &&
	    p3_jfire(j, PROT_P3_EMPTY_USERNAME))
		return true;
	if (((cl->cmd == P3_CMD_PASS && cl->blank) ||
	    (cl->cmd == P3_CMD_APOP && !cl->blank && cl->nargs < 2)) &&
	    p3_jfire(j, PROT_P3_EMPTY_PASSWORD))
		return true;
	if (cl->cmd == P3_CMD_AUTH && cl->nargs == 2) {
		if (j->st->mech == P3_MECH_CRAM_MD5)
			*bad = true;	/* RFC 2195: server speaks first */
		p3_judge_sasl_data(j, cl->arg[1], cl->arglen[1], bad);
	}
	return j->blocked;
}

/* Run the Malicious Code Protector on every argument of a command. */
static bool
p3_scan_command(struct p3_judge *j, const struct p3_cmdline *cl)
{
	unsigned	 i;

	if (cl->cmd == P3_CMD_PASS || cl->info == NULL)
		return cl->restlen > 0 && p3_scan_arg(j, cl->rest, cl->restlen);
	for (i = 0; i < cl->nargs && i < P3_MAX_ARGS; i++) {
		if (cl->cmd == P3_CMD_AUTH && i == 1)
			continue;	/* judged with the SASL data */
		if (p3_scan_arg(j, cl->arg[i], cl->arglen[i]))
			return true;
	}
	return false;
}

/* Start the state an accepted command leads to. */
static void
p3_command_sent(struct p3_state *st, const struct p3_cmdline *cl)
{
	bool	 login = cl->cmd == P3_CMD_PASS || cl->cmd == P3_CMD_APOP ||
	    (cl->cmd == P3_CMD_AUTH && cl->nargs > 0);

	p3_push(st, cl->cmd, p3_cmd_multiline(cl), login, false);
	if (cl->cmd == P3_CMD_USER && !cl->blank)
		st->hooks->user(st->arg, cl->rest, cl->restlen);
	else if (cl->cmd == P3_CMD_APOP && cl->nargs > 0)
		st->hooks->user(st->arg, cl->arg[0], cl->arglen[0]);
	else if (cl->cmd == P3_CMD_STLS)
		st->stls_pending = true;
	else if (cl->cmd == P3_CMD_UTF8)
		st->utf8_pending = true;
	if (cl->cmd == P3_CMD_AUTH && cl->nargs > 0) {
		st->sasl = true;
		st->sasl_client_turn = false;
	}
}

/* Judge one command line. */
static enum p3_verdict
p3_judge_command(struct p3_state *st, const char *line, size_t len,
    bool cut)
{
	struct p3_judge	 j = { .st = st, .line = line, .len = len };
	const struct p3_conf *c = st->conf;
	struct p3_cmdline cl;
	bool		 bad = false;
	size_t		 n;

	p3_parse_command(line, len, cut, &cl);
	p3_cmd_detail(&j, &cl);
	if (cl.cmd == P3_CMD_AUTH && cl.nargs > 0) {
		st->mech = p3_mech_lookup(cl.arg[0], cl.arglen[0]);
		n = cl.arglen[0] < P3_MECH_NAME_MAX ? cl.arglen[0] :
		    P3_MECH_NAME_MAX;
		memcpy(st->mech_name, cl.arg[0], n);
		st->mech_name[n] = '\0';
		st->sasl_step = 0;
	}
	if (cut && p3_jfire(&j, PROT_P3_MAX_LINE_LENGTH))
		return P3_V_BLOCK;
	st->commands++;
	if ((st->commands > (unsigned long)c->max_commands ||
	    (st->phase != P3_PH_TRANSACTION &&
	    st->commands > (unsigned long)c->preauth_commands)) &&
	    p3_jfire(&j, PROT_P3_MAX_COMMANDS))
		return P3_V_BLOCK;
	if (cl.cmd == P3_CMD_STLS && c->tls == POL_TLS_BLOCK &&
	    p3_jfire(&j, PROT_P3_STARTTLS))
		return P3_V_BLOCK;
	if (p3_judge_credentials(&j, &cl, &bad))
		return P3_V_BLOCK;
	if (p3_scan_command(&j, &cl))
		return P3_V_BLOCK;
	if ((bad || p3_line_problem(st, &cl) != NULL) &&
	    p3_jfire(&j, PROT_P3_NON_COMPLIANT))
		return P3_V_BLOCK;
	if (cl.cmd == P3_CMD_XCLIENT) {
		/*
		 * Whatever the action: the backend trusts pop3hook's XCLIENT,
		 * so a client's own would set any address it likes.  The
		 * session is closed, so the event says prevent even where
		 * non_compliant is detect or off.
		 */
		if (c->act[PROT_P3_NON_COMPLIANT] != ACT_PREVENT)
			st->hooks->report(st->arg, PROT_P3_NON_COMPLIANT,
			    ACT_PREVENT, j.detail, j.dlen);
		st->block_prot = PROT_P3_NON_COMPLIANT;
		return P3_V_BLOCK;
	}
	if (cl.cmd == P3_CMD_AUTH && cl.nargs == 2)
		st->sasl_step = 1;
	p3_command_sent(st, &cl);
	return P3_V_OK;
}

/* Judge the client's bytes, line by line, until a pause or the end. */
enum p3_verdict
p3_client_input(struct p3_state *st, const char *buf, size_t len,
    size_t *judged)
{
	enum p3_scan	 r;
	enum p3_verdict	 v;
	const char	*nl;
	size_t		 ll, limit;
	bool		 sasl;

	while (*judged < len) {
		if (st->phase == P3_PH_RAW) {
			*judged = len;
			break;
		}
		if (st->client_skip) {
			nl = memchr(buf + *judged, '\n', len - *judged);
			*judged = nl != NULL ? (size_t)(nl - buf) + 1 : len;
			st->client_skip = nl == NULL;
			continue;
		}
		if (p3_client_paused(st))
			break;
		sasl = st->sasl && st->sasl_client_turn;
		limit = (size_t)(sasl ? st->conf->sasl_limit :
		    st->conf->line_limit);
		r = p3_line_scan(&st->clex, buf + *judged, len - *judged,
		    limit, &ll);
		if (r == P3_SCAN_MORE)
			break;
		if (sasl)
			v = p3_judge_sasl_line(st, buf + *judged, ll,
			    r == P3_SCAN_LONG);
		else
			v = p3_judge_command(st, buf + *judged, ll,
			    r == P3_SCAN_LONG);
		if (v == P3_V_BLOCK)
			return v;
		*judged += ll;
		if (r == P3_SCAN_LONG)
			st->client_skip = true;
	}
	return P3_V_OK;
}

/* Cut n octets at off out of buf (length *len). */
static void
p3_cut(char *buf, size_t *len, size_t off, size_t n)
{
	memmove(buf + off, buf + off + n, *len - off - n);
	*len -= n;
}

/* The greeting: hide [XCLIENT] and send XCLIENT when the backend allows. */
static enum p3_verdict
p3_greeting(struct p3_state *st, char *buf, size_t *len, size_t *done,
    size_t ll)
{
	char		*line = buf + *done;
	size_t		 body = p3_chomp(line, ll);
	enum p3_status	 k = p3_status_kind(line, body);
	bool		 xclient = false;

	if (k != P3_ST_OK && k != P3_ST_ERR &&
	    p3_fire(st, PROT_P3_NON_COMPLIANT, line, body))
		return P3_V_BLOCK;
	if (k == P3_ST_OK && body >= 13 &&
	    memcmp(line + 3, " [XCLIENT]", 10) == 0 &&
	    (body == 13 || line[13] == ' ')) {
		xclient = true;
		p3_cut(buf, len, *done + (body > 13 && line[13] == ' ' ? 4 : 3),
		    10);
		ll -= 10;
	}
	*done += ll;
	p3_set_phase(st, P3_PH_AUTHORIZATION);
	if (xclient && st->conf->client_address == POL_CA_XCLIENT) {
		st->hooks->xclient(st->arg);
		p3_push(st, P3_CMD_XCLIENT, false, false, true);
		st->xclient_sent = true;
	}
	return P3_V_OK;
}

/*
 * The size in "+OK <n> octets" (RFC 1939 section 7, RETR), 0 if none: a
 * hint for the relay, never trusted for framing.
 */
static uint64_t
p3_octets(const char *line, size_t len)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 4; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (n > UINT64_MAX / 16)
			return 0;
		n = n * 10 + (uint64_t)(line[i] - '0');
	}
	return i < len && line[i] != ' ' ? 0 : n;
}

/* What a status line does to the session once it is let through. */
static void
p3_answered(struct p3_state *st, const struct p3_expect *e, enum p3_status k)
{
	st->body_left = 0;
	if (k == P3_ST_OK && e->multi) {
		st->srv_mode = e->cmd == P3_CMD_CAPA ? P3_SRV_CAPA :
		    P3_SRV_BODY;
		p3_body_start(&st->body);
	}
	if (e->cmd == P3_CMD_AUTH && e->login)
		st->sasl = st->sasl_client_turn = false;
	if (e->cmd == P3_CMD_STLS)
		st->stls_pending = false;
	if (e->cmd == P3_CMD_UTF8)
		st->utf8_pending = false;
	if (e->cmd == P3_CMD_QUIT)
		st->quit_answered = true;	/* RFC 1939 section 6 */
	if (k != P3_ST_OK)
		return;
	if (e->login) {
		p3_set_phase(st, st->conf->inspect_after_auth ?
		    P3_PH_TRANSACTION : P3_PH_RAW);
	} else if (e->cmd == P3_CMD_UTF8)
		st->utf8 = true;
	else if (e->cmd == P3_CMD_STLS) {
		/* The session goes encrypted past inspection. */
		if (st->conf->tls == POL_TLS_PASSTHROUGH &&
		    st->conf->act[PROT_P3_STARTTLS] != ACT_OFF)
			st->hooks->report(st->arg, PROT_P3_STARTTLS,
			    ACT_DETECT, "STLS", 4);
		p3_set_phase(st, P3_PH_RAW);
	}
}

/* Judge one server status line at *done (ll octets). */
static enum p3_verdict
p3_status_line(struct p3_state *st, char *buf, size_t *len, size_t *done,
    size_t ll)
{
	char		*line = buf + *done;
	size_t		 body = p3_chomp(line, ll);
	enum p3_status	 k = p3_status_kind(line, body);
	struct p3_expect e;

	if (st->phase == P3_PH_GREETING)
		return p3_greeting(st, buf, len, done, ll);
	if (st->qlen == 0 || (k == P3_ST_CONT && !st->sasl) ||
	    (k == P3_ST_CONT && st->q[st->qhead].cmd != P3_CMD_AUTH)) {
		/* Unsolicited: only a closing +OK/-ERR is expected. */
		if ((k != P3_ST_OK && k != P3_ST_ERR) &&
		    p3_fire(st, PROT_P3_NON_COMPLIANT, line, body))
			return P3_V_BLOCK;
		*done += ll;
		return P3_V_OK;
	}
	if (st->q[st->qhead].ours) {
		p3_pop(st);		/* our XCLIENT's answer: swallowed */
		p3_cut(buf, len, *done, ll);
		return P3_V_OK;
	}
	if (k == P3_ST_CONT) {
		st->sasl_client_turn = true;
		*done += ll;
		return P3_V_OK;
	}
	if (k == P3_ST_BAD && p3_fire(st, PROT_P3_NON_COMPLIANT, line, body))
		return P3_V_BLOCK;
	if (k == P3_ST_ERR && ++st->bad > (unsigned long)st->conf->max_bad &&
	    p3_fire(st, PROT_P3_MAX_BAD_COMMANDS, line, body))
		return P3_V_BLOCK;
	e = p3_pop(st);
	*done += ll;
	p3_answered(st, &e, k);
	if (e.cmd == P3_CMD_RETR && k == P3_ST_OK)
		st->body_left = p3_octets(line, body);
	return P3_V_OK;
}

/* One CAPA body line: drop STLS (block mode) and XCLIENT (always). */
static void
p3_capa_line(struct p3_state *st, char *buf, size_t *len, size_t *done,
    size_t ll)
{
	const char	*line = buf + *done;
	size_t		 body = p3_chomp(line, ll), kw;

	if (body == 1 && line[0] == '.') {
		st->srv_mode = P3_SRV_STATUS;
		*done += ll;
		return;
	}
	for (kw = 0; kw < body && line[kw] != ' '; kw++)
		;
	if ((kw == 7 && strncasecmp(line, "XCLIENT", 7) == 0) ||
	    (kw == 4 && strncasecmp(line, "STLS", 4) == 0 &&
	    st->conf->tls == POL_TLS_BLOCK))
		p3_cut(buf, len, *done, ll);
	else
		*done += ll;
}

/* Process the backend's bytes. */
enum p3_verdict
p3_server_input(struct p3_state *st, char *buf, size_t *len, size_t *done)
{
	const char	*nl;
	size_t		 n, ll;
	bool		 fin;

	while (*done < *len) {
		if (st->phase == P3_PH_RAW) {
			*done = *len;
			break;
		}
		if (st->srv_mode == P3_SRV_BODY) {
			n = p3_body_scan(&st->body, buf + *done, *len - *done,
			    &fin);
			*done += n;
			st->body_left -= n < st->body_left ? n : st->body_left;
			if (fin)
				st->srv_mode = P3_SRV_STATUS;
			continue;
		}
		nl = memchr(buf + *done, '\n', *len - *done);
		if (st->srv_mode == P3_SRV_SKIP) {
			*done = nl != NULL ? (size_t)(nl - buf) + 1 : *len;
			if (nl != NULL)
				st->srv_mode = st->srv_resume;
			continue;
		}
		if (nl == NULL && *len - *done < P3_SRV_LINE_MAX)
			break;
		/* Overlong however the bytes were split: with or without
		 * its LF in this read. */
		if (nl == NULL ||
		    (size_t)(nl - (buf + *done)) >= P3_SRV_LINE_MAX) {
			if (p3_fire(st, PROT_P3_NON_COMPLIANT, buf + *done, 64))
				return P3_V_BLOCK;
			/* An overlong CAPA line is skipped inside the CAPA
			 * body: the lines after it are capabilities still. */
			st->srv_resume = st->srv_mode;
			st->srv_mode = P3_SRV_SKIP;
			continue;
		}
		ll = (size_t)(nl - (buf + *done)) + 1;
		if (st->srv_mode == P3_SRV_CAPA)
			p3_capa_line(st, buf, len, done, ll);
		else if (p3_status_line(st, buf, len, done, ll) == P3_V_BLOCK)
			return P3_V_BLOCK;
	}
	return P3_V_OK;
}
