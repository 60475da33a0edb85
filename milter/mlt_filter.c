/* SPDX-License-Identifier: ISC */
/*
 * mlt_filter.c: the libmilter callbacks.  They turn what the MTA hands over
 * into calls on mlt_policy.c and its verdicts into events and replies.  The
 * only state shared between connections is the current policy snapshot,
 * taken by reference when a connection starts.
 */
#include <sys/socket.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "log.h"
#include "mcp.h"
#include "mlt_filter.h"
#include "mlt_policy.h"

/* Macros the MTA is asked for at MAIL FROM (SPEC section 3). */
#define MLT_MAIL_MACROS	"{auth_type} {auth_authen} {auth_author} {tls_version}"
/* Stages whose macros we never read get one cheap macro, not the
 * MTA's default list. */
#define MLT_NO_MACROS	"j"

/* Per-connection context, held with smfi_setpriv. */
struct mlt_ctx {
	struct policy	*pol;		/* snapshot reference for the session */
	unsigned long	 pflags;	/* negotiated SMFIP_* steps */
	bool		 started;	/* connect ran: sess and evt are set */
	struct mlt_session sess;	/* what the policy code knows */
	struct evt_session evt;		/* who the events are about */
};

static atomic_long mlt_sessions;	/* contexts alive (shutdown waits) */

/* The context of ctx, created (with the current snapshot) if needed. */
static struct mlt_ctx *
mlt_ctx_get(SMFICTX *ctx)
{
	struct mlt_ctx	*c = smfi_getpriv(ctx);

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("session context");
		return NULL;
	}
	if ((c->pol = pol_current()) == NULL)
		PANIC("no current policy");
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		pol_unref(c->pol);
		free(c);
		return NULL;
	}
	atomic_fetch_add(&mlt_sessions, 1);
	return c;
}

/* Number of connections alive. */
long
mlt_filter_sessions(void)
{
	return atomic_load(&mlt_sessions);
}

/* The steps bit for a stage: skip it, take it without a reply, or take
 * it with a reply, as the policy needs. */
static unsigned long
mlt_stage_flags(const struct policy *pol, enum mlt_stage st,
    unsigned long no, unsigned long nr)
{
	switch (mlt_stage_need(pol, st)) {
	case ACT_OFF:
		return no;
	case ACT_DETECT:
		return nr;
	default:
		return 0;
	}
}

/*
 * Ask the MTA only for what the policy needs: never headers or body; skip
 * a stage no protection looks at; no reply awaited for a stage where
 * nothing can block.  f0/f1: what the MTA offers.
 *
 * DATA is taken, without a reply, not skipped: libmilter's state table
 * has no way from an unknown command to the end of a message, only to
 * DATA (and on from there over the skipped headers), so after a command
 * the MTA did not know inside a transaction it would ignore the end of
 * the message, never answer, and leave the MTA waiting out
 * milter_content_timeout.
 */
void
mlt_filter_flags(const struct policy *pol, unsigned long f0,
    unsigned long f1, unsigned long *pf0, unsigned long *pf1)
{
	unsigned long	 want;

	want = SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_DATA |
	    SMFIP_NR_CONN;
	want |= mlt_stage_flags(pol, MLT_ST_HELO, SMFIP_NOHELO, SMFIP_NR_HELO);
	want |= mlt_stage_flags(pol, MLT_ST_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL);
	want |= mlt_stage_flags(pol, MLT_ST_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT);
	want |= mlt_stage_flags(pol, MLT_ST_UNKNOWN, SMFIP_NOUNKNOWN,
	    SMFIP_NR_UNKN);
	*pf1 = want & f1;
	*pf0 = f0 & SMFIF_SETSYMLIST;
	if (pol->smtp.detect_header)
		*pf0 |= f0 & SMFIF_ADDHDRS;
}

/* Ask for the macros the protections read (inside xxfi_negotiate), so
 * that no milter_*_macros in main.cf is needed. */
void
mlt_filter_symlist(SMFICTX *ctx, unsigned long f0)
{
	if ((f0 & SMFIF_SETSYMLIST) == 0)
		return;
	smfi_setsymlist(ctx, SMFIM_CONNECT, MLT_NO_MACROS);
	smfi_setsymlist(ctx, SMFIM_HELO, MLT_NO_MACROS);
	smfi_setsymlist(ctx, SMFIM_ENVFROM, MLT_MAIL_MACROS);
	smfi_setsymlist(ctx, SMFIM_ENVRCPT, MLT_NO_MACROS);
	smfi_setsymlist(ctx, SMFIM_EOM, MLT_NO_MACROS);
}

/* Negotiation: the policy snapshot of the session decides the flags. */
static sfsistat
mlt_negotiate_cb(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct mlt_ctx	*c = mlt_ctx_get(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	mlt_filter_flags(c->pol, f0, f1, pf0, pf1);
	c->pflags = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	mlt_filter_symlist(ctx, f0);
	return SMFIS_CONTINUE;
}

/* The answer for a stage where nothing was refused. */
static sfsistat
mlt_pass(const struct mlt_ctx *c, unsigned long nr)
{
	return (c->pflags & nr) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* Log what fired, then give the verdict's reply (SPEC "Prevent in the
 * milter": 550 5.7.1, or 421 4.7.0 and the MTA hangs up). */
static sfsistat
mlt_respond(SMFICTX *ctx, struct mlt_ctx *c, const struct mlt_verdict *v,
    unsigned long nr)
{
	char	 text[256];
	size_t	 i;

	for (i = 0; i < v->nhits; i++) {
		const struct mlt_hit *h = &v->hit[i];

		evt_attack(&c->evt, h->prot, h->action,
		    h->has_verb ? v->verb : NULL, h->detail, h->detail_len);
		if (h->prot == PROT_SMTP_MALICIOUS_CODE && v->reason[0] != '\0')
			log_info("session %s: %s: %s", c->evt.session,
			    reg_get(h->prot)->fullname, v->reason);
	}
	if (v->reply == MLT_R_CONTINUE || (c->pflags & nr) != 0)
		return mlt_pass(c, nr);
	mlt_reply_text(text, sizeof(text), reg_get(v->by)->attack_info);
	if (v->reply == MLT_R_CLOSE) {
		smfi_setreply(ctx, "421", "4.7.0", text);
		return SMFIS_TEMPFAIL;
	}
	smfi_setreply(ctx, "550", "5.7.1", text);
	return SMFIS_REJECT;
}

/* CONNECT: the session's actions for this client. */
static sfsistat
mlt_connect_cb(SMFICTX *ctx, char *hostname, struct sockaddr *hostaddr)
{
	struct mlt_ctx	*c = mlt_ctx_get(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	mlt_session_init(&c->sess, c->pol, hostaddr, mcp_scan_arg);
	evt_session_init(&c->evt, REG_SVC_SMTP, hostaddr);
	c->started = true;
	return mlt_pass(c, SMFIP_NR_CONN);
}

/* The context, if connect ran; else NULL (the MTA skipped it). */
static struct mlt_ctx *
mlt_ctx_started(SMFICTX *ctx)
{
	struct mlt_ctx	*c = smfi_getpriv(ctx);

	if (c == NULL || !c->started) {
		c = mlt_ctx_get(ctx);
		if (c == NULL)
			return NULL;
		mlt_session_init(&c->sess, c->pol, NULL, mcp_scan_arg);
		evt_session_init(&c->evt, REG_SVC_SMTP, NULL);
		c->started = true;
	}
	return c;
}

/* HELO/EHLO. */
static sfsistat
mlt_helo_cb(SMFICTX *ctx, char *name)
{
	struct mlt_ctx		*c = mlt_ctx_started(ctx);
	struct mlt_verdict	 v;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	mlt_judge_helo(&c->sess, name, &v);
	return mlt_respond(ctx, c, &v, SMFIP_NR_HELO);
}

/* MAIL FROM, with the SASL and TLS macros. */
static sfsistat
mlt_envfrom_cb(SMFICTX *ctx, char **argv)
{
	struct mlt_ctx		*c = mlt_ctx_started(ctx);
	struct mlt_mail_macros	 m;
	struct mlt_verdict	 v;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	m.auth_type = smfi_getsymval(ctx, "{auth_type}");
	m.auth_authen = smfi_getsymval(ctx, "{auth_authen}");
	m.auth_author = smfi_getsymval(ctx, "{auth_author}");
	m.tls_version = smfi_getsymval(ctx, "{tls_version}");
	if (m.auth_type != NULL && m.auth_type[0] != '\0' &&
	    m.auth_authen != NULL)
		evt_session_user(&c->evt, m.auth_authen,
		    strlen(m.auth_authen));
	mlt_judge_mail(&c->sess, argv, &m, &v);
	return mlt_respond(ctx, c, &v, SMFIP_NR_MAIL);
}

/* RCPT TO. */
static sfsistat
mlt_envrcpt_cb(SMFICTX *ctx, char **argv)
{
	struct mlt_ctx		*c = mlt_ctx_started(ctx);
	struct mlt_verdict	 v;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	mlt_judge_rcpt(&c->sess, argv, &v);
	return mlt_respond(ctx, c, &v, SMFIP_NR_RCPT);
}

/* A command the MTA does not know, or a marker of the -P table. */
static sfsistat
mlt_unknown_cb(SMFICTX *ctx, const char *cmd)
{
	struct mlt_ctx		*c = mlt_ctx_started(ctx);
	struct mlt_verdict	 v;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	mlt_judge_unknown(&c->sess, cmd, &v);
	return mlt_respond(ctx, c, &v, SMFIP_NR_UNKN);
}

/* End of message: the detect header, then a new transaction. */
static sfsistat
mlt_eom_cb(SMFICTX *ctx)
{
	struct mlt_ctx	*c = smfi_getpriv(ctx);
	char		 hdr[512];

	if (c == NULL || !c->started)
		return SMFIS_CONTINUE;
	if (c->pol->smtp.detect_header &&
	    mlt_detect_header(&c->sess, hdr, sizeof(hdr)) > 0 &&
	    smfi_addheader(ctx, "X-Mailwarden-Detect", hdr) != MI_SUCCESS)
		log_warnx("session %s: cannot add X-Mailwarden-Detect",
		    c->evt.session);
	mlt_session_reset_tx(&c->sess);
	return SMFIS_CONTINUE;
}

/* Transaction aborted (RSET, or the MTA gave up on the message). */
static sfsistat
mlt_abort_cb(SMFICTX *ctx)
{
	struct mlt_ctx	*c = smfi_getpriv(ctx);

	if (c != NULL && c->started)
		mlt_session_reset_tx(&c->sess);
	return SMFIS_CONTINUE;
}

/* Connection gone: free the context, whatever ran before (or not). */
static sfsistat
mlt_close_cb(SMFICTX *ctx)
{
	struct mlt_ctx	*c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	pol_unref(c->pol);
	free(c);
	atomic_fetch_sub(&mlt_sessions, 1);
	return SMFIS_CONTINUE;
}

/* The registration: only the callbacks the protections use. */
int
mlt_filter_register(void)
{
	static struct smfiDesc desc = {
		.xxfi_name = "mailwarden-milter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_SETSYMLIST,
		.xxfi_connect = mlt_connect_cb,
		.xxfi_helo = mlt_helo_cb,
		.xxfi_envfrom = mlt_envfrom_cb,
		.xxfi_envrcpt = mlt_envrcpt_cb,
		.xxfi_eom = mlt_eom_cb,
		.xxfi_abort = mlt_abort_cb,
		.xxfi_close = mlt_close_cb,
		.xxfi_unknown = mlt_unknown_cb,
		.xxfi_negotiate = mlt_negotiate_cb,
	};

	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
