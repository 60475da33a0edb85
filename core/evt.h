/* SPDX-License-Identifier: ISC */
/*
 * evt.h: attack events (SPEC section 4): one JSON object per line in
 * log.json_file and one key=value line in syslog.  The caller never waits on
 * a disk or on syslogd: lines are queued to a bounded ring and written by a
 * writer thread (evt.c explains).
 */
#ifndef MW_EVT_H
#define MW_EVT_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "registry.h"

#define EVT_DETAIL_MAX	200		/* characters of detail kept */
#define EVT_USER_MAX	256		/* octets of user name kept */

/* Who an event is about: filled once per session. */
struct evt_session {
	enum reg_service service;	/* pop3 or smtp */
	char		 client[64];	/* numeric address, "" if unknown */
	unsigned	 client_port;	/* 0 if unknown */
	char		 session[17];	/* 16 hex digits */
	char		 user[EVT_USER_MAX]; /* login name once known */
	size_t		 user_len;	/* 0: "user":null */
};

/* Start the writer; ident is the program name.  0 or -1. */
int	evt_init(const struct pol_log *, const char *ident);
/* Apply a reloaded log { } section (new file, new rate). */
void	evt_reconfigure(const struct pol_log *);
/* Write everything queued and stop the writer. */
void	evt_shutdown(void);

/* Fill a session: new random id, address and port from sa (may be NULL). */
void	evt_session_init(struct evt_session *, enum reg_service,
	    const struct sockaddr *sa);
/* Remember the login name (peer bytes: escaped when written). */
void	evt_session_user(struct evt_session *, const char *user, size_t len);

/*
 * Report one detection.  verb fills the %s of an attack_name that has one
 * (smtp.unknown_command), else NULL.  detail is peer bytes, any content;
 * it is escaped and cut to EVT_DETAIL_MAX characters.  Never blocks long,
 * never fails visibly: a full queue or a broken log is counted and reported.
 */
void	evt_attack(const struct evt_session *, enum prot_id, enum pol_action,
	    const char *verb, const void *detail, size_t detail_len);

/*
 * Formatting, exposed for tests: write the event's JSON line (with '\n')
 * or syslog line (without) into buf; return its length or -1 if too small.
 * ts_ms is milliseconds since the epoch.
 */
/* Longest event line: holds the worst case of peer bytes (every field
 * escaped at its longest), pinned by check_evt's test_worst_case_fits. */
#define EVT_LINE_MAX	4096
int	evt_format_json(char *buf, size_t sz, long long ts_ms,
	    const struct evt_session *, enum prot_id, enum pol_action,
	    const char *verb, const void *detail, size_t detail_len);
int	evt_format_syslog(char *buf, size_t sz, const struct evt_session *,
	    enum prot_id, enum pol_action, const char *verb,
	    const void *detail, size_t detail_len);
/* JSON string body of peer bytes (no quotes), at most maxchars characters
 * of input; returns the length written or -1 if sz is too small. */
int	evt_json_escape(char *buf, size_t sz, const void *in, size_t len,
	    size_t maxchars);

/* Rate limiter, exposed for tests: whether an event of protection p at
 * second now may be written; excess is counted for the summary. */
struct evt_rate {
	long long	 second;	/* the second being counted */
	long		 count;		/* events in that second */
	long		 suppressed;	/* not written since the last summary */
};
bool	evt_rate_allow(struct evt_rate *, long long now_sec, long max);

#endif
