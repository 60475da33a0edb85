/* SPDX-License-Identifier: ISC */
/*
 * p3_state.h: the POP3 session state machine of pop3hook for both
 * directions, as pure functions over buffers: it judges each client line
 * by the eight POP3 protections in the SPEC's order, matches every server
 * status line to its command (pipelining, RFC 2449), finds the end of
 * multi-line responses, and rewrites the greeting and CAPA in place.
 * Sockets and timers live in p3_relay.c.
 */
#ifndef MW_P3_STATE_H
#define MW_P3_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcp.h"
#include "policy.h"
#include "registry.h"
#include "p3_parse.h"
#include "p3_sasl.h"

#define P3_NPROT	(PROT_P3_MAX_BAD_COMMANDS + 1)	/* POP3 protections */
#define P3_QMAX		32		/* commands in flight (pipelining) */
#define P3_SRV_LINE_MAX	8192		/* longest server status line */
#define P3_MECH_NAME_MAX 20		/* RFC 4422 section 3.1 */

/* Protocol phase (RFC 1939 section 3). */
enum p3_phase {
	P3_PH_GREETING,			/* waiting for the backend's greeting */
	P3_PH_AUTHORIZATION,		/* before login */
	P3_PH_TRANSACTION,		/* logged in */
	P3_PH_RAW,			/* relayed unread: TLS or not inspected */
};

/* What a server line is being read as. */
enum p3_srv_mode {
	P3_SRV_STATUS,			/* a status line is due */
	P3_SRV_BODY,			/* a multi-line body, relayed as is */
	P3_SRV_CAPA,			/* a CAPA body, filtered line by line */
	P3_SRV_SKIP,			/* the rest of an overlong line */
};

/* The verdict of feeding bytes. */
enum p3_verdict {
	P3_V_OK,			/* go on */
	P3_V_BLOCK,			/* prevent: see block_prot */
};

/* One command in flight, waiting for its status line. */
struct p3_expect {
	uint8_t		 cmd;		/* enum p3_cmd */
	uint8_t		 multi;		/* its +OK answer is multi-line */
	uint8_t		 login;		/* PASS, APOP or AUTH <mech> */
	uint8_t		 ours;		/* sent by pop3hook (XCLIENT): swallowed */
};

/* The policy as one session sees it. */
struct p3_conf {
	uint8_t		 act[P3_NPROT];	/* enum pol_action per protection */
	enum mcp_sensitivity sensitivity; /* malicious_code */
	enum pol_tls	 tls;		/* block, terminate, passthrough */
	enum pol_client_addr client_address; /* none, proxy-v1/v2, xclient */
	bool		 strict_crlf;	/* non_compliant: bare LF is a fault */
	bool		 inspect_after_auth; /* keep judging after login */
	long		 line_limit;	/* max_line_length limit */
	long		 sasl_limit;	/* max_line_length sasl_limit */
	long		 max_commands;	/* max_commands limit */
	long		 preauth_commands; /* max_commands preauth_limit */
	long		 max_bad;	/* max_bad_commands limit */
};

/* What the state machine asks of its owner. */
struct p3_hooks {
	/* An event: protection, action and a detail without secrets. */
	void	(*report)(void *, enum prot_id, enum pol_action,
		    const char *, size_t);
	/* The login name is now known. */
	void	(*user)(void *, const char *, size_t);
	/* Send "XCLIENT ADDR=... PORT=..." to the backend now. */
	void	(*xclient)(void *);
	/* The Malicious Code Protector (mcp_scan_arg). */
	bool	(*scan)(const void *, size_t, enum mcp_sensitivity,
		    char [MCP_REASON_MAX]);
};

/* The session's protocol state. */
struct p3_state {
	const struct p3_conf *conf;	/* this session's policy */
	const struct p3_hooks *hooks;	/* callbacks */
	void		*arg;		/* their first argument */
	enum p3_phase	 phase;		/* protocol phase */
	enum p3_srv_mode srv_mode;	/* how server bytes are read */
	enum p3_srv_mode srv_resume;	/* mode after an overlong line */
	struct p3_lexer	 clex;		/* client line scan position */
	struct p3_body	 body;		/* multi-line body scan */
	uint64_t	 body_left;	/* body octets a RETR announced, not seen */
	bool		 client_skip;	/* passing the rest of an overlong line */
	bool		 utf8;		/* UTF8 accepted (RFC 6856) */
	bool		 stls_pending;	/* STLS sent, answer due */
	bool		 utf8_pending;	/* UTF8 sent, answer due */
	bool		 sasl;		/* inside an AUTH exchange */
	bool		 sasl_client_turn; /* a "+ " came: a response is due */
	bool		 xclient_sent;	/* XCLIENT injected after greeting */
	bool		 quit_answered;	/* QUIT answered: the session is over */
	uint8_t		 sasl_step;	/* client messages so far */
	enum p3_mech	 mech;		/* mechanism of the exchange */
	char		 mech_name[P3_MECH_NAME_MAX + 1]; /* as sent, for logs */
	unsigned long	 commands;	/* commands judged */
	unsigned long	 bad;		/* -ERR answers */
	int		 block_prot;	/* enum prot_id that blocked, or -1 */
	uint8_t		 qhead;		/* first command in flight */
	uint8_t		 qlen;		/* commands in flight */
	unsigned	 logins_pending; /* PASS/APOP/AUTH in flight */
	struct p3_expect q[P3_QMAX];	/* commands in flight, in order */
};

/* Fill conf from a policy and the actions for one client. */
void		p3_conf_init(struct p3_conf *, const struct policy *,
		    const enum pol_action actions[PROT_COUNT]);
/* Start a session, waiting for the greeting. */
void		p3_state_init(struct p3_state *, const struct p3_conf *,
		    const struct p3_hooks *, void *arg);

/*
 * Judge the client's bytes buf[*judged, len).  Lines that pass stay in
 * place and *judged moves past them: the owner sends buf[0, *judged) to
 * the backend.  Judging pauses (returns P3_V_OK, *judged unmoved) while an
 * answer is due first: the greeting, STLS, a SASL challenge, a full queue.
 */
enum p3_verdict	p3_client_input(struct p3_state *, const char *buf,
		    size_t len, size_t *judged);
/*
 * Process the backend's bytes buf[*done, *len): *done moves past what may
 * go to the client; lines pop3hook removes (CAPA STLS/XCLIENT, the
 * XCLIENT answer, the [XCLIENT] code) are cut out in place, so *len shrinks.
 * On P3_V_BLOCK the offending line starts at *done.
 */
enum p3_verdict	p3_server_input(struct p3_state *, char *buf, size_t *len,
		    size_t *done);
/* Whether client bytes may be judged now. */
bool		p3_client_paused(const struct p3_state *);
/* Whether answers are still due from the backend. */
bool		p3_awaiting_server(const struct p3_state *);

#endif
