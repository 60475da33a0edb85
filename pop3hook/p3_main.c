/* SPDX-License-Identifier: ISC */
/*
 * p3_main.c: mailwarden-pop3hook's start-up, signals and shutdown.  The
 * main thread only takes signals (reload, stop); the worker threads of
 * p3_conn.c carry the sessions.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "daemon.h"
#include "evt.h"
#include "log.h"
#include "mcp.h"
#include "policy.h"
#include "p3_conn.h"

#define P3_PROG		"mailwarden-pop3hook"
#define P3_STOP_POLL	0.05		/* seconds between checks at shutdown */

static struct dmn_opts	 p3_opts;	/* command line */
static ev_tstamp	 p3_deadline;	/* end of shutdown_timeout */
static bool		 p3_stopping;	/* SIGTERM/SIGINT seen */
static ev_timer		 p3_stop_timer;	/* polls the workers at shutdown */
static struct policy	*p3_bound;	/* the policy the listeners come from */

/* What this version cannot do yet; NULL if the policy is usable. */
static const char *
p3_unsupported(const struct policy *pol)
{
	/*
	 * tls = terminate needs the TLS transport between p3_relay.c's
	 * buffers and the client socket (p3_read_client/p3_flush_client are
	 * the seam); until then it is refused rather than run as block.
	 */
	if (pol->pop3.tls == POL_TLS_TERMINATE)
		return "tls = terminate is not supported yet";
	return NULL;
}

/* Log each line a failed configuration load printed. */
static void
p3_log_errors(char *text)
{
	char	*line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_warnx("reload: %s", line);
}

/* Whether two listen lists name the same addresses in the same order. */
static bool
p3_same_listen(const struct strlist *a, const struct strlist *b)
{
	size_t	 i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* SIGHUP/SIGUSR1: a new policy for new sessions; a broken file keeps the old. */
static void
p3_reload_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct policy	*cur = pol_current(), *np;
	struct p3_backend be;
	const char	*why;
	char		*errs = NULL, err[512];
	size_t		 errlen = 0;
	FILE		*f;

	dmn_notify("RELOADING=1");
	f = open_memstream(&errs, &errlen);
	np = pol_load(cur->file != NULL ? cur->file : p3_opts.conf, f);
	if (f != NULL)
		fclose(f);
	if (np == NULL) {
		if (errs != NULL)
			p3_log_errors(errs);
		log_warnx("reload failed: keeping the running configuration");
	} else if ((why = p3_unsupported(np)) != NULL) {
		log_warnx("reload: %s: keeping the running configuration", why);
		pol_unref(np);
	} else if (p3_backend_resolve(np->pop3.backend, &be, err,
	    sizeof(err)) == -1) {
		log_warnx("reload: %s: keeping the running configuration", err);
		pol_unref(np);
	} else {
		/* The sockets are bound once, before privileges are dropped. */
		if (!p3_same_listen(&p3_bound->pop3.listen, &np->pop3.listen))
			log_warnx("listen changed: restart to apply");
		p3_backend_set(&be);
		evt_reconfigure(&np->log);
		pol_set_current(np);
		log_info("configuration reloaded");
	}
	free(errs);
	pol_unref(cur);
	dmn_notify("READY=1");
}

/* At shutdown: end when every worker has, or at shutdown_timeout. */
static void
p3_stop_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (p3_workers_done()) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (ev_now(loop) >= p3_deadline) {
		log_info("shutdown_timeout reached: closing open sessions");
		ev_break(loop, EVBREAK_ALL);
	}
}

/* SIGTERM/SIGINT: stop accepting, let sessions end. */
static void
p3_stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct policy	*cur;

	if (p3_stopping)
		return;
	p3_stopping = true;
	dmn_notify("STOPPING=1");
	cur = pol_current();
	p3_deadline = ev_now(loop) + (ev_tstamp)cur->shutdown_timeout;
	pol_unref(cur);
	log_info("stopping: no new clients, waiting for open sessions");
	p3_workers_stop();
	ev_timer_init(&p3_stop_timer, p3_stop_poll_cb, P3_STOP_POLL,
	    P3_STOP_POLL);
	ev_timer_start(loop, &p3_stop_timer);
}

/*
 * Number of worker threads: one per CPU this process may run on, so a
 * proxy pinned to one CPU (taskset, systemd CPUAffinity=) runs one loop
 * instead of threads that only take turns on that CPU.
 */
static unsigned
p3_ncpus(void)
{
	cpu_set_t	 set;
	long		 n;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    (n = CPU_COUNT(&set)) > 0)
		return (unsigned)n;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)n;
}

int
main(int argc, char **argv)
{
	struct policy	*pol;
	struct p3_backend be;
	struct ev_loop	*loop;
	ev_signal	 sig_hup, sig_usr1, sig_term, sig_int;
	const char	*why;
	char		 err[512];

	dmn_parse_args(argc, argv, P3_PROG, false, &p3_opts);
	pol = dmn_load_config(&p3_opts);
	log_init(P3_PROG, p3_opts.foreground, pol->log.syslog_facility);
	if ((why = p3_unsupported(pol)) != NULL) {
		fprintf(stderr, "%s: %s\n", P3_PROG, why);
		exit(1);
	}
	if (p3_backend_resolve(pol->pop3.backend, &be, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "%s: %s\n", P3_PROG, err);
		exit(1);
	}
	p3_backend_set(&be);
	if (mcp_init() == -1)
		fatalx("the Malicious Code Protector cannot start");
	mcp_warm();
	signal(SIGPIPE, SIG_IGN);
	p3_listen_all(pol, p3_ncpus());
	p3_bound = pol_ref(pol);
	if (evt_init(&pol->log, P3_PROG) == -1)
		fatalx("cannot start the event log");
	dmn_drop_privileges(pol);
	dmn_daemonize(p3_opts.foreground);
	pol_set_current(pol);

	loop = ev_default_loop(EVFLAG_AUTO);
	ev_signal_init(&sig_hup, p3_reload_cb, SIGHUP);
	ev_signal_init(&sig_usr1, p3_reload_cb, SIGUSR1);
	ev_signal_init(&sig_term, p3_stop_cb, SIGTERM);
	ev_signal_init(&sig_int, p3_stop_cb, SIGINT);
	ev_signal_start(loop, &sig_hup);
	ev_signal_start(loop, &sig_usr1);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	p3_workers_start();
	log_info("listening with %u workers, backend %s", p3_workers_count(),
	    pol->pop3.backend);
	dmn_notify("READY=1");
	ev_run(loop, 0);
	pol_unref(p3_bound);
	evt_shutdown();
	log_info("stopped");
	return 0;
}
