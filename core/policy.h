/* SPDX-License-Identifier: ISC */
/*
 * policy.h: an immutable snapshot of the whole configuration (SPEC section 2),
 * shared by reference counting.  A reload builds a new snapshot and swaps it
 * in as the current one; sessions keep the snapshot they started with.
 */
#ifndef MW_POLICY_H
#define MW_POLICY_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "registry.h"

struct strlist {
	char		**v;		/* NUL-terminated strings */
	size_t		  n;		/* how many */
};

enum mcp_sensitivity {
	MCP_LOW,
	MCP_MEDIUM,
	MCP_HIGH,
};

enum pol_client_addr {
	POL_CA_NONE,			/* "none" */
	POL_CA_PROXY_V1,		/* "proxy-v1" */
	POL_CA_PROXY_V2,		/* "proxy-v2" */
	POL_CA_XCLIENT,			/* "xclient" */
};

enum pol_tls {
	POL_TLS_BLOCK,			/* "block" */
	POL_TLS_TERMINATE,		/* "terminate" */
	POL_TLS_PASSTHROUGH,		/* "passthrough" */
};

/* One protection's settings; keys it does not take keep their zero value. */
struct pol_prot {
	enum pol_action	 action;	/* off, detect, prevent */
	struct cidr_set	 exempt;	/* exempt_networks of this protection */
	long		 limit;		/* limit */
	long		 sasl_limit;	/* pop3.max_line_length sasl_limit */
	long		 preauth_limit;	/* pop3.max_commands preauth_limit */
	bool		 strict_crlf;	/* pop3.non_compliant */
	enum mcp_sensitivity sensitivity; /* *.malicious_code */
	struct cidr_set	 allow_networks; /* smtp.auth */
	struct strlist	 deny_mechanisms; /* smtp.auth, upper case */
	bool		 require_tls;	/* smtp.auth */
	struct strlist	 block_commands; /* smtp.unknown_command, upper case */
};

struct pol_log {
	bool		 syslog;	/* log to syslog */
	int		 syslog_facility; /* LOG_MAIL, ... */
	char		*json_file;	/* "" = off */
	long		 max_events_per_second; /* per protection */
};

struct pol_pop3 {
	struct strlist	 listen;	/* "host:port", "[v6]:port" */
	char		*backend;	/* "host:port" or "unix:/path" */
	enum pol_client_addr backend_client_address;
	enum pol_tls	 tls;		/* block, terminate, passthrough */
	struct strlist	 tls_listen;	/* implicit-TLS listeners */
	char		*tls_cert;	/* PEM file */
	char		*tls_key;	/* PEM file */
	bool		 disable_plaintext_auth; /* terminate mode */
	long		 max_connections; /* whole proxy */
	long		 max_connections_per_ip; /* per client address */
	long		 preauth_timeout; /* seconds */
	long		 session_timeout; /* seconds */
	long		 backend_timeout; /* seconds, connect + greeting */
	bool		 inspect_after_auth; /* parse the transaction phase */
};

struct pol_smtp {
	char		*socket;	/* libmilter connection spec */
	struct strlist	 local_domains;	/* lower case */
	struct cidr_set	 internal_networks; /* for external_mail */
	bool		 detect_header;	/* X-Mailwarden-Detect: */
};

struct policy {
	int		 refs;		/* references; atomic */
	char		*file;		/* where it was read from */
	struct cidr_set	 exempt;	/* global exempt_networks */
	long		 shutdown_timeout; /* seconds */
	char		*user;		/* "" = do not drop privileges */
	char		*group;		/* "" = the user's group */
	struct pol_log	 log;		/* log { } */
	struct pol_pop3	 pop3;		/* pop3 { } */
	struct pol_smtp	 smtp;		/* smtp { } */
	struct pol_prot	 prot[PROT_COUNT]; /* indexed by enum prot_id */
};

/*
 * Read and validate the file.  On error, print each problem as
 * "file:line: message" to errf (NULL: stderr) and return NULL.
 * The result holds one reference.
 */
struct policy	*pol_load(const char *path, void *errf);
/* A policy of pure defaults (what an empty file gives). */
struct policy	*pol_defaults(void);
struct policy	*pol_ref(struct policy *);
void		 pol_unref(struct policy *);

/*
 * The action of every protection for one client, computed once per session
 * so that the hot path is an array index: global and per-protection
 * exempt_networks give ACT_OFF.  client may be NULL (no address: nothing
 * is exempt).
 */
void		 pol_actions(const struct policy *, const struct sockaddr *client,
		    enum pol_action out[PROT_COUNT]);

/* The process-wide current snapshot (thread-safe).  get returns a new
 * reference; set takes over the caller's reference. */
struct policy	*pol_current(void);
void		 pol_set_current(struct policy *);

/*
 * Split "host:port", "[v6address]:port" or "*:port" (host "" = any
 * address) into host and port; 0, or -1 when malformed.
 */
int		 pol_hostport(const char *spec, char *host, size_t hostsz,
		    unsigned *port);

/* "low"/"medium"/"high"; -1 if none. */
int		 pol_sensitivity_parse(const char *);

#endif
