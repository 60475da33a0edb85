/* SPDX-License-Identifier: ISC */
/*
 * daemon.h: what both daemons share around their protocol code: option
 * parsing (-c -t -f -V -P -h), loading the configuration, privilege drop,
 * detaching, and signals turned into flags the event loop polls.
 */
#ifndef MW_DAEMON_H
#define MW_DAEMON_H

#include <signal.h>
#include <stdbool.h>

#include "policy.h"

#define MW_VERSION		"0.1.0"
#define MW_DEFAULT_CONF		"/etc/mailwarden/mailwarden.conf"

struct dmn_opts {
	const char	*conf;		/* -c */
	bool		 test;		/* -t */
	bool		 foreground;	/* -f */
	bool		 print_table;	/* -P (milter only) */
};

/*
 * Parse argv.  -V and -h print and exit 0; a bad command line prints usage
 * and exits 1.  allow_p: whether -P is accepted.
 */
void	dmn_parse_args(int argc, char **argv, const char *progname,
	    bool allow_p, struct dmn_opts *out);

/*
 * Load the configuration named by the options.  With -t: print
 * "configuration OK" or the errors and exit 0 or 1.  Otherwise a bad file
 * prints its errors and exits 1.
 */
struct policy *dmn_load_config(const struct dmn_opts *);

/* Started as root with user set: drop to user/group; exits 1 (one line on
 * stderr) when they cannot be resolved.  No-op otherwise. */
void	dmn_drop_privileges(const struct policy *);

/* Detach unless foreground (fork, setsid, stdio to /dev/null). */
void	dmn_daemonize(bool foreground);

/* sd_notify(3) if NOTIFY_SOCKET is set, else nothing.  e.g. "READY=1". */
void	dmn_notify(const char *state);

#endif
