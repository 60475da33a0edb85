/* SPDX-License-Identifier: ISC */
/*
 * mlt_policy.c: the SMTP protections of SPEC section 3 as pure decisions.
 * Each mlt_judge_*() walks the protections in the SPEC's order; each one
 * that fires is recorded, and the first that fires with prevent decides the
 * reply and ends the judging.
 */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "cidr.h"
#include "mlt_policy.h"

/* Start a session for one client. */
void
mlt_session_init(struct mlt_session *s, const struct policy *pol,
    const struct sockaddr *client, mlt_scan_fn *scan)
{
	memset(s, 0, sizeof(*s));
	s->pol = pol;
	s->scan = scan;
	pol_actions(pol, client, s->act);
	s->has_addr = cidr_addr16(client, s->addr) == 0;
}

/* A transaction ended: authentication is learnt again at the next MAIL. */
void
mlt_session_reset_tx(struct mlt_session *s)
{
	s->authenticated = false;
}

/* Empty verdict. */
static void
mlt_verdict_init(struct mlt_verdict *v)
{
	v->reply = MLT_R_CONTINUE;
	v->by = PROT_COUNT;
	v->verb[0] = '\0';
	v->reason[0] = '\0';
	v->nhits = 0;
}

/*
 * Record that protection p fired on detail.  Returns true when it blocks,
 * which ends the judging.  max_bad_commands, auth_overflow and
 * malicious_code close the session (421); the others refuse (550).
 */
static bool
mlt_fire(struct mlt_session *s, struct mlt_verdict *v, enum prot_id p,
    bool has_verb, const void *detail, size_t len)
{
	struct mlt_hit	*h;

	if (s->act[p] == ACT_OFF)
		return false;
	h = &v->hit[v->nhits++];
	h->prot = p;
	h->action = s->act[p];
	h->has_verb = has_verb;
	if (p == PROT_SMTP_MALICIOUS_CODE && v->reason[0] != '\0') {
		/* As pop3hook logs it: the command word the caller gives as
		 * detail and the detector's reason; the code bytes say
		 * nothing useful. */
		int		 wl = (int)(len > MLT_VERB_MAX ? MLT_VERB_MAX : len);
		int		 n = snprintf(h->detail, sizeof(h->detail),
		    "%.*s: %s", wl, (const char *)detail, v->reason);

		len = n < 0 ? 0 : (size_t)n;
		if (len >= sizeof(h->detail))
			len = sizeof(h->detail) - 1;
	} else {
		if (len > sizeof(h->detail))
			len = sizeof(h->detail);
		memcpy(h->detail, detail, len);
	}
	h->detail_len = len;
	s->fired |= 1u << p;
	if (h->action != ACT_PREVENT)
		return false;
	v->by = p;
	v->reply = p == PROT_SMTP_MAX_BAD_COMMANDS ||
	    p == PROT_SMTP_AUTH_OVERFLOW || p == PROT_SMTP_MALICIOUS_CODE ?
	    MLT_R_CLOSE : MLT_R_REJECT;
	return true;
}

/* Append "a b c" of argv after head into buf; the argument length (argv
 * joined by spaces, however long and however many) is returned in arglen:
 * a line of many short parameters is as long as one of a few long ones. */
static size_t
mlt_cmd_text(char *buf, size_t sz, const char *head, char *const *argv,
    size_t *arglen)
{
	size_t	 n = 0, len = 0, k, i;

	for (k = 0; head[k] != '\0' && n + 1 < sz; k++)
		buf[n++] = head[k];
	for (i = 0; argv != NULL && argv[i] != NULL; i++) {
		size_t	 al = strlen(argv[i]);

		len += al + (i > 0);
		if (i > 0 && n + 1 < sz)
			buf[n++] = ' ';
		k = al < sz - 1 - n ? al : sz - 1 - n;
		memcpy(buf + n, argv[i], k);
		n += k;
	}
	buf[n] = '\0';
	*arglen = len;
	return n;
}

/* Malicious Code Protector over each argument, every one of them: code
 * after the first few parameters is code all the same. */
static bool
mlt_scan_args(struct mlt_session *s, struct mlt_verdict *v,
    char *const *argv)
{
	enum mcp_sensitivity sens =
	    s->pol->prot[PROT_SMTP_MALICIOUS_CODE].sensitivity;
	size_t		 i;

	if (s->act[PROT_SMTP_MALICIOUS_CODE] == ACT_OFF || s->scan == NULL)
		return false;
	for (i = 0; argv[i] != NULL; i++)
		if (s->scan(argv[i], strlen(argv[i]), sens, v->reason))
			return true;
	return false;
}

/* HELO/EHLO: max_line_length, malicious_code. */
void
mlt_judge_helo(struct mlt_session *s, const char *name,
    struct mlt_verdict *v)
{
	char		 text[MLT_DETAIL_MAX];
	char *const	 argv[2] = { (char *)(name != NULL ? name : ""), NULL };
	size_t		 arglen, n;

	mlt_verdict_init(v);
	n = mlt_cmd_text(text, sizeof(text), "HELO ", argv, &arglen);
	if (arglen > (size_t)s->pol->prot[PROT_SMTP_MAX_LINE_LENGTH].limit &&
	    mlt_fire(s, v, PROT_SMTP_MAX_LINE_LENGTH, false, text, n))
		return;
	if (mlt_scan_args(s, v, argv))
		mlt_fire(s, v, PROT_SMTP_MALICIOUS_CODE, false, "HELO", 4);
}

/* An identity the MTA vouches for, judged for CVE-2007-4440-style abuse:
 * longer than any real login, or holding control bytes. */
static int
mlt_identity_bad(const char *id, char *detail, size_t sz)
{
	size_t	 len, i;

	if (id == NULL)
		return 0;
	len = strlen(id);
	if (len > MLT_IDENTITY_MAX)
		return snprintf(detail, sz, "authenticated identity of %zu "
		    "octets", len);
	for (i = 0; i < len; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
			return snprintf(detail, sz, "authenticated identity "
			    "with control bytes");
	return 0;
}

/* Whether mech is in the policy's deny_mechanisms (case-insensitive). */
static bool
mlt_mech_denied(const struct pol_prot *pp, const char *mech)
{
	size_t	 i;

	for (i = 0; i < pp->deny_mechanisms.n; i++)
		if (strcasecmp(pp->deny_mechanisms.v[i], mech) == 0)
			return true;
	return false;
}

/* smtp.auth: the login the MTA accepted, against the policy. */
static int
mlt_auth_rule(const struct mlt_session *s, const struct mlt_mail_macros *m,
    char *detail, size_t sz)
{
	const struct pol_prot *pp = &s->pol->prot[PROT_SMTP_AUTH];

	if (pp->allow_networks.n > 0 && (!s->has_addr ||
	    !cidr_set_contains16(&pp->allow_networks, s->addr)))
		return snprintf(detail, sz, "AUTH %.32s from outside "
		    "allow_networks", m->auth_type);
	if (mlt_mech_denied(pp, m->auth_type))
		return snprintf(detail, sz, "AUTH %.32s: mechanism denied",
		    m->auth_type);
	if (pp->require_tls && (m->tls_version == NULL ||
	    m->tls_version[0] == '\0'))
		return snprintf(detail, sz, "AUTH %.32s without TLS",
		    m->auth_type);
	return 0;
}

/* MAIL FROM: max_line_length, auth_overflow, auth, malicious_code. */
void
mlt_judge_mail(struct mlt_session *s, char *const *argv,
    const struct mlt_mail_macros *m, struct mlt_verdict *v)
{
	char	 text[MLT_DETAIL_MAX], d[MLT_DETAIL_MAX];
	size_t	 arglen, n;
	int	 dn;

	mlt_verdict_init(v);
	s->authenticated = m->auth_type != NULL && m->auth_type[0] != '\0';
	n = mlt_cmd_text(text, sizeof(text), "MAIL FROM:", argv, &arglen);
	if (arglen > (size_t)s->pol->prot[PROT_SMTP_MAX_LINE_LENGTH].limit &&
	    mlt_fire(s, v, PROT_SMTP_MAX_LINE_LENGTH, false, text, n))
		return;
	if (s->authenticated) {
		dn = mlt_identity_bad(m->auth_authen, d, sizeof(d));
		if (dn == 0)
			dn = mlt_identity_bad(m->auth_author, d, sizeof(d));
		if (dn > 0 && mlt_fire(s, v, PROT_SMTP_AUTH_OVERFLOW, false, d,
		    (size_t)dn))
			return;
		dn = mlt_auth_rule(s, m, d, sizeof(d));
		if (dn > 0 && mlt_fire(s, v, PROT_SMTP_AUTH, false, d,
		    (size_t)dn))
			return;
	}
	if (mlt_scan_args(s, v, argv))
		mlt_fire(s, v, PROT_SMTP_MALICIOUS_CODE, false, "MAIL", 4);
}

/* Whether the recipient's domain is one of local_domains (no domain:
 * local, as the MTA delivers "<postmaster>" itself). */
static bool
mlt_rcpt_local(const struct pol_smtp *ps, const char *rcpt)
{
	const char	*at = strrchr(rcpt, '@'), *end;
	size_t		 len, i;

	if (at == NULL)
		return true;
	at++;
	end = at + strlen(at);
	if (end > at && end[-1] == '>')
		end--;
	if (end > at && end[-1] == '.')
		end--;
	len = (size_t)(end - at);
	for (i = 0; i < ps->local_domains.n; i++)
		if (strlen(ps->local_domains.v[i]) == len &&
		    strncasecmp(ps->local_domains.v[i], at, len) == 0)
			return true;
	return false;
}

/* RCPT TO: max_line_length, malicious_code, external_mail. */
void
mlt_judge_rcpt(struct mlt_session *s, char *const *argv,
    struct mlt_verdict *v)
{
	const struct pol_smtp *ps = &s->pol->smtp;
	char		 text[MLT_DETAIL_MAX];
	size_t		 arglen, n;

	mlt_verdict_init(v);
	n = mlt_cmd_text(text, sizeof(text), "RCPT TO:", argv, &arglen);
	if (arglen > (size_t)s->pol->prot[PROT_SMTP_MAX_LINE_LENGTH].limit &&
	    mlt_fire(s, v, PROT_SMTP_MAX_LINE_LENGTH, false, text, n))
		return;
	if (mlt_scan_args(s, v, argv) &&
	    mlt_fire(s, v, PROT_SMTP_MALICIOUS_CODE, false, "RCPT", 4))
		return;
	if (argv[0] != NULL && !s->authenticated && s->has_addr &&
	    cidr_set_contains16(&ps->internal_networks, s->addr) &&
	    !mlt_rcpt_local(ps, argv[0]))
		mlt_fire(s, v, PROT_SMTP_EXTERNAL_MAIL, false, text, n);
}

/* Parse X-MAILWARDEN-<WHAT>-<VERB>. */
int
mlt_marker_parse(const char *cmd, size_t len, char *verb, size_t verbsz)
{
	static const struct {
		const char	*what;	/* <WHAT> */
		enum prot_id	 prot;	/* protection it stands for */
	} marks[] = {
		{ MLT_MARK_BLOCK, PROT_SMTP_UNKNOWN_COMMAND },
		{ MLT_MARK_LONG, PROT_SMTP_AUTH_OVERFLOW },
		{ MLT_MARK_CRAMIR, PROT_SMTP_AUTH_OVERFLOW },
	};
	const size_t	 pl = sizeof(MLT_MARK_PREFIX) - 1;
	size_t		 i, wl, k;

	if (len <= pl || strncasecmp(cmd, MLT_MARK_PREFIX, pl) != 0)
		return -1;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		wl = strlen(marks[i].what);
		if (len > pl + wl + 1 &&
		    strncasecmp(cmd + pl, marks[i].what, wl) == 0 &&
		    cmd[pl + wl] == '-')
			break;
	}
	if (i == sizeof(marks) / sizeof(marks[0]))
		return -1;
	cmd += pl + wl + 1;
	len -= pl + wl + 1;
	for (k = 0; k < len && k + 1 < verbsz; k++)
		verb[k] = (char)toupper((unsigned char)cmd[k]);
	verb[k] = '\0';
	return (int)marks[i].prot;
}

/*
 * Whether an unknown command's first word has the shape of an SMTP verb
 * (RFC 5321 keywords; none longer than 8 octets is in use): 1 to 12
 * letters and hyphens, starting with a letter; longer in the marker
 * namespace (a client's own X-MAILWARDEN-... word).
 */
static bool
mlt_verb_shaped(const char *w, size_t len)
{
	size_t	 i, pl = sizeof(MLT_MARK_PREFIX) - 1;

	if (len == 0 || !isalpha((unsigned char)w[0]))
		return false;
	if (len > MLT_VERB_SHAPED_MAX && (len <= pl ||
	    strncasecmp(w, MLT_MARK_PREFIX, pl) != 0))
		return false;
	for (i = 1; i < len; i++)
		if (!isalpha((unsigned char)w[i]) && w[i] != '-')
			return false;
	return true;
}

/* An unknown command: unknown_command or auth_overflow (markers),
 * malicious_code, max_bad_commands. */
void
mlt_judge_unknown(struct mlt_session *s, const char *cmd,
    struct mlt_verdict *v)
{
	char		 other[REG_UNKNOWN_DETAIL_MAX];
	const char	*shown;
	size_t		 len, wl, k, slen;
	long		 limit;
	int		 mark, n;

	mlt_verdict_init(v);
	if (cmd == NULL)
		cmd = "";
	len = strlen(cmd);
	/* Sendmail passes the whole line, Postfix the first word. */
	for (wl = 0; wl < len && cmd[wl] != ' ' && cmd[wl] != '\t'; wl++)
		continue;
	s->bad_commands++;
	shown = cmd, slen = len;
	mark = mlt_marker_parse(cmd, wl, v->verb, sizeof(v->verb));
	if (mark < 0 && (wl == 0 || mlt_verb_shaped(cmd, wl))) {
		for (k = 0; k < wl && k < MLT_VERB_MAX; k++)
			v->verb[k] = (char)toupper((unsigned char)cmd[k]);
		v->verb[k] = '\0';
		slen = wl;	/* arguments, Sendmail's, may be anything */
	} else if (mark < 0) {
		/*
		 * Not a verb: SASL data sent out of turn, a password typed
		 * at the wrong prompt.  Neither VERB nor detail shows it.
		 */
		v->verb[0] = '?', v->verb[1] = '\0';
		n = snprintf(other, sizeof(other), REG_UNKNOWN_DETAIL, len);
		shown = other, slen = n > 0 ? (size_t)n : 0;
	}
	if (mark == PROT_SMTP_AUTH_OVERFLOW) {
		if (mlt_fire(s, v, PROT_SMTP_AUTH_OVERFLOW, false, cmd, len))
			return;
	} else if (mlt_fire(s, v, PROT_SMTP_UNKNOWN_COMMAND, true, shown,
	    slen))
		return;
	if (mark < 0 && s->act[PROT_SMTP_MALICIOUS_CODE] != ACT_OFF &&
	    s->scan != NULL && s->scan(cmd, len,
	    s->pol->prot[PROT_SMTP_MALICIOUS_CODE].sensitivity, v->reason) &&
	    mlt_fire(s, v, PROT_SMTP_MALICIOUS_CODE, false, shown, slen))
		return;
	limit = s->pol->prot[PROT_SMTP_MAX_BAD_COMMANDS].limit;
	if (limit >= 0 && s->bad_commands > (unsigned long)limit)
		mlt_fire(s, v, PROT_SMTP_MAX_BAD_COMMANDS, false, shown, slen);
}

/* The strongest action among the protections that look at a stage. */
enum pol_action
mlt_stage_need(const struct policy *pol, enum mlt_stage st)
{
	static const enum prot_id helo[] = { PROT_SMTP_MAX_LINE_LENGTH,
	    PROT_SMTP_MALICIOUS_CODE };
	static const enum prot_id mail[] = { PROT_SMTP_MAX_LINE_LENGTH,
	    PROT_SMTP_AUTH_OVERFLOW, PROT_SMTP_AUTH, PROT_SMTP_MALICIOUS_CODE };
	static const enum prot_id rcpt[] = { PROT_SMTP_MAX_LINE_LENGTH,
	    PROT_SMTP_MALICIOUS_CODE, PROT_SMTP_EXTERNAL_MAIL };
	static const enum prot_id unkn[] = { PROT_SMTP_UNKNOWN_COMMAND,
	    PROT_SMTP_AUTH_OVERFLOW, PROT_SMTP_MALICIOUS_CODE,
	    PROT_SMTP_MAX_BAD_COMMANDS };
	const enum prot_id *l;
	enum pol_action	 best = ACT_OFF;
	size_t		 n, i;

	switch (st) {
	case MLT_ST_HELO:
		l = helo, n = sizeof(helo) / sizeof(helo[0]);
		break;
	case MLT_ST_MAIL:
		l = mail, n = sizeof(mail) / sizeof(mail[0]);
		/* external_mail learns at MAIL whether the client logged in. */
		if (pol->prot[PROT_SMTP_EXTERNAL_MAIL].action != ACT_OFF)
			best = ACT_DETECT;
		break;
	case MLT_ST_RCPT:
		l = rcpt, n = sizeof(rcpt) / sizeof(rcpt[0]);
		break;
	default:
		l = unkn, n = sizeof(unkn) / sizeof(unkn[0]);
		break;
	}
	for (i = 0; i < n; i++)
		if (pol->prot[l[i]].action > best)
			best = pol->prot[l[i]].action;
	return best;
}

/* "smtp.unknown_command, smtp.external_mail": what fired this session;
 * names that do not fit in sz are left out whole. */
size_t
mlt_detect_header(const struct mlt_session *s, char *buf, size_t sz)
{
	size_t	 n = 0;
	int	 p, w;

	buf[0] = '\0';
	for (p = 0; p < PROT_COUNT; p++) {
		if ((s->fired & (1u << p)) == 0)
			continue;
		w = snprintf(buf + n, sz - n, "%s%s", n > 0 ? ", " : "",
		    reg_get(p)->fullname);
		if (w < 0 || (size_t)w >= sz - n) {
			buf[n] = '\0';	/* whole names only: drop the cut one */
			break;
		}
		n += (size_t)w;
	}
	return n;
}

/* A reply text for smfi_setreply: '%' doubled, CR/LF dropped. */
void
mlt_reply_text(char *buf, size_t sz, const char *text)
{
	size_t	 n = 0;

	for (; *text != '\0' && n + 2 < sz; text++) {
		if (*text == '\r' || *text == '\n')
			continue;
		if (*text == '%')
			buf[n++] = '%';
		buf[n++] = *text;
	}
	buf[n] = '\0';
}
