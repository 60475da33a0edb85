/* SPDX-License-Identifier: ISC */
/*
 * mlt_policy.h: the milter's protocol decisions as pure functions: what the
 * MTA handed over (HELO name, MAIL/RCPT arguments, macros, an unknown
 * command) in, the protections that fired and the reply out.  No libmilter
 * here, so every rule is unit-tested without a socket.
 */
#ifndef MW_MLT_POLICY_H
#define MW_MLT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evt.h"
#include "mcp.h"
#include "policy.h"
#include "registry.h"

/* Marker verbs of the -P table: X-MAILWARDEN-<WHAT>-<VERB>. */
#define MLT_MARK_PREFIX		"X-MAILWARDEN-"
#define MLT_MARK_BLOCK		"BLOCK"		/* block_commands */
#define MLT_MARK_LONG		"LONG"		/* AUTH line over the limit */
#define MLT_MARK_CRAMIR		"CRAMIR"	/* CRAM-MD5 initial response */

#define MLT_VERB_MAX		64	/* octets of a verb kept */
#define MLT_VERB_SHAPED_MAX	12	/* longest word logged as a verb */
#define MLT_IDENTITY_MAX	255	/* longest authenticated identity */
#define MLT_DETAIL_MAX		(EVT_DETAIL_MAX + 1) /* detail kept per hit */

/* What the MTA is told. */
enum mlt_reply {
	MLT_R_CONTINUE,			/* nothing to say: go on */
	MLT_R_REJECT,			/* 550 5.7.1 <attack_info> */
	MLT_R_CLOSE,			/* 421 4.7.0 <attack_info>, hang up */
};

/* Signature of the Malicious Code Protector (mcp_scan_arg). */
typedef bool mlt_scan_fn(const void *, size_t, enum mcp_sensitivity,
    char reason[MCP_REASON_MAX]);

/* What one connection has shown so far; no libmilter type inside. */
struct mlt_session {
	const struct policy *pol;	/* snapshot taken at connect */
	enum pol_action	 act[PROT_COUNT]; /* per-client actions */
	uint8_t		 addr[16];	/* client address, v4-mapped */
	bool		 has_addr;	/* addr is valid */
	bool		 authenticated;	/* {auth_type} seen at this MAIL */
	unsigned long	 bad_commands;	/* unknown or blocked commands */
	unsigned	 fired;		/* bit per protection fired */
	mlt_scan_fn	*scan;		/* detector (tests substitute one) */
};

/* One protection that fired. */
struct mlt_hit {
	enum prot_id	 prot;		/* which protection */
	enum pol_action	 action;	/* detect or prevent */
	bool		 has_verb;	/* attack_name takes verb */
	char		 detail[MLT_DETAIL_MAX]; /* what triggered it */
	size_t		 detail_len;	/* octets of detail */
};

/* The outcome of judging one event. */
struct mlt_verdict {
	enum mlt_reply	 reply;		/* what the MTA is told */
	enum prot_id	 by;		/* the blocking protection */
	char		 verb[MLT_VERB_MAX + 1]; /* VERB of unknown_command */
	char		 reason[MCP_REASON_MAX]; /* detector's reason, if any */
	size_t		 nhits;		/* entries in hit[] */
	struct mlt_hit	 hit[PROT_COUNT]; /* in judging order */
};

/* The macros of MAIL FROM that matter (NULL when the MTA sent none). */
struct mlt_mail_macros {
	const char	*auth_type;	/* {auth_type}: SASL mechanism */
	const char	*auth_authen;	/* {auth_authen}: SASL login name */
	const char	*auth_author;	/* {auth_author}: SASL sender */
	const char	*tls_version;	/* {tls_version}: set when encrypted */
};

/* Start a session: actions for the client (exempt networks applied);
 * scan is the detector (mcp_scan_arg). */
void	mlt_session_init(struct mlt_session *, const struct policy *,
	    const struct sockaddr *client, mlt_scan_fn *scan);
/* A transaction ended (RSET, abort, end of message). */
void	mlt_session_reset_tx(struct mlt_session *);

/* HELO/EHLO name. */
void	mlt_judge_helo(struct mlt_session *, const char *name,
	    struct mlt_verdict *);
/* MAIL FROM: argv as libmilter gives it (address, then parameters). */
void	mlt_judge_mail(struct mlt_session *, char *const *argv,
	    const struct mlt_mail_macros *, struct mlt_verdict *);
/* RCPT TO: argv as libmilter gives it. */
void	mlt_judge_rcpt(struct mlt_session *, char *const *argv,
	    struct mlt_verdict *);
/* A command the MTA does not know (Postfix: its first word only). */
void	mlt_judge_unknown(struct mlt_session *, const char *cmd,
	    struct mlt_verdict *);

/* Whether some protection of the stage could ever block / look at all:
 * used at negotiation to choose the protocol steps and no-reply flags. */
enum mlt_stage {
	MLT_ST_HELO,
	MLT_ST_MAIL,
	MLT_ST_RCPT,
	MLT_ST_UNKNOWN,
};
enum pol_action	mlt_stage_need(const struct policy *, enum mlt_stage);

/*
 * Parse a marker verb (case-insensitive).  Returns the protection it
 * stands for (unknown_command or auth_overflow) and the VERB it carries
 * in verb, or -1 when cmd is not a marker.
 */
int	mlt_marker_parse(const char *cmd, size_t len, char *verb,
	    size_t verbsz);

/* The value of the X-Mailwarden-Detect: header ("" when nothing fired). */
size_t	mlt_detect_header(const struct mlt_session *, char *buf, size_t sz);

/* Copy text into an smfi_setreply() message, doubling '%'. */
void	mlt_reply_text(char *buf, size_t sz, const char *text);

#endif
