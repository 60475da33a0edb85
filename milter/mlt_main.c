/* SPDX-License-Identifier: ISC */
/*
 * mlt_main.c: mailwarden-milter start-up: options, configuration, the -P
 * table, the libmilter socket, privilege drop, the SIGUSR1 reload thread,
 * and a shutdown that lets open sessions finish.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "daemon.h"
#include "evt.h"
#include "log.h"
#include "mcp.h"
#include "mlt_filter.h"
#include "mlt_table.h"

#define MLT_PROG	"mailwarden-milter"
/* Pending MTA connections the kernel may queue: a burst of SMTP sessions
 * opens as many milter connections at once. */
#define MLT_BACKLOG	4096
/* Seconds libmilter waits on a silent MTA: longer than Postfix's own
 * smtpd_timeout (300 s) and milter_content_timeout (300 s). */
#define MLT_TIMEOUT	900

static const char *mlt_conf;		/* -c, for reloads */

/* Raise the descriptor limit to the hard limit: the worker pool holds one
 * descriptor per concurrent SMTP session. */
static void
mlt_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("descriptor limit %llu",
		    (unsigned long long)rl.rlim_cur);
}

/* SIGUSR1: load the file again; a broken one is logged, the old kept.
 * Sessions keep the snapshot they started with. */
static void *
mlt_reload_cb(void *arg)
{
	sigset_t	*set = arg;
	struct policy	*pol;
	int		 sig;

	for (;;) {
		if (sigwait(set, &sig) != 0 || sig != SIGUSR1)
			continue;
		dmn_notify("RELOADING=1");
		if ((pol = pol_load(mlt_conf, NULL)) == NULL) {
			log_warnx("reload of %s failed: keeping the running "
			    "configuration", mlt_conf);
			dmn_notify("READY=1");
			continue;
		}
		evt_reconfigure(&pol->log);
		pol_set_current(pol);
		log_info("configuration %s reloaded (smtp.socket changes "
		    "need a restart)", mlt_conf);
		dmn_notify("READY=1");
	}
	return NULL;
}

/*
 * Block SIGUSR1 and libmilter's stop signals (SIGHUP, SIGTERM, SIGINT) in
 * every thread, then start the thread that waits for SIGUSR1.  Threads
 * inherit the mask, so the stop signals only reach libmilter's own signal
 * thread (smfi_main) and never kill the process from another thread.
 */
static void
mlt_start_reload_thread(void)
{
	static sigset_t	 set;
	sigset_t	 all;
	pthread_t	 t;
	int		 e;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	all = set;
	sigaddset(&all, SIGHUP);
	sigaddset(&all, SIGTERM);
	sigaddset(&all, SIGINT);
	if ((e = pthread_sigmask(SIG_BLOCK, &all, NULL)) != 0 ||
	    (e = pthread_create(&t, NULL, mlt_reload_cb, &set)) != 0) {
		errno = e;
		fatal("reload thread");
	}
	pthread_detach(t);
}

/*
 * After smfi_main() returned: give open sessions up to shutdown_timeout
 * seconds to end.  Debian's libmilter (worker pool) stops serving its
 * sessions once it stops, so waiting only helps while the count still
 * falls: a second without progress ends the wait, and the MTA applies
 * its milter_default_action to what is left.
 */
static void
mlt_drain(long timeout)
{
	struct timespec	 ts = { 0, 100 * 1000 * 1000 };
	long		 ticks = timeout * 10, last = -1, still = 0, n;

	while ((n = mlt_filter_sessions()) > 0 && ticks-- > 0) {
		if (n == last && ++still >= 10)
			break;
		if (n != last)
			still = 0;
		last = n;
		nanosleep(&ts, NULL);
	}
	if ((n = mlt_filter_sessions()) > 0)
		log_warnx("%ld sessions left open at exit: the MTA applies "
		    "milter_default_action to them", n);
}

/*
 * A UNIX socket is made srw-rw---- and given to user:group, so that the
 * MTA connects as a member of the group (Debian: adduser postfix
 * <group>) and the milter can remove it once it runs as user.
 */
static void
mlt_socket_owner(const struct policy *pol)
{
	const char	*path = pol->smtp.socket;
	struct passwd	*pw;
	struct group	*gr;
	uid_t		 uid = (uid_t)-1;
	gid_t		 gid = (gid_t)-1;

	if (strncmp(path, "unix:", 5) == 0)
		path += 5;
	else if (strncmp(path, "local:", 6) == 0)
		path += 6;
	else
		return;
	if (chmod(path, 0660) == -1)
		log_warn("chmod %s", path);
	if (geteuid() != 0 || pol->user[0] == '\0')
		return;
	if ((pw = getpwnam(pol->user)) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (pol->group[0] != '\0' && (gr = getgrnam(pol->group)) != NULL)
		gid = gr->gr_gid;
	if (chown(path, uid, gid) == -1)
		log_warn("chown %s", path);
}

/* Hand libmilter the socket, the callbacks and its limits. */
static void
mlt_setup_milter(const struct policy *pol)
{
	if (smfi_setconn(pol->smtp.socket) == MI_FAILURE)
		fatalx("smtp.socket '%s': not a milter socket",
		    pol->smtp.socket);
	if (mlt_filter_register() == -1)
		fatalx("smfi_register failed");
	if (smfi_setbacklog(MLT_BACKLOG) == MI_FAILURE)
		log_warnx("smfi_setbacklog(%d) failed", MLT_BACKLOG);
	smfi_settimeout(MLT_TIMEOUT);
	umask(007);
	if (smfi_opensocket(true) == MI_FAILURE)
		fatalx("cannot bind %s", pol->smtp.socket);
	mlt_socket_owner(pol);
}

/* Start-up, then libmilter runs the show until a stop signal. */
int
main(int argc, char **argv)
{
	struct dmn_opts	 opts;
	struct policy	*pol;
	long		 shutdown_timeout;
	int		 rc;

	dmn_parse_args(argc, argv, MLT_PROG, true, &opts);
	pol = dmn_load_config(&opts);
	mlt_conf = opts.conf;
	if (opts.print_table) {
		rc = mlt_table_write(stdout, pol, opts.conf);
		pol_unref(pol);
		return rc == 0 ? 0 : 1;
	}
	/* Start-up errors go to stderr as well, whatever -f says. */
	log_init(MLT_PROG, true, pol->log.syslog_facility);
	if (mcp_init() == -1)
		fatalx("the Malicious Code Protector cannot start");
	mcp_warm();
	mlt_raise_nofile();
	if (evt_init(&pol->log, MLT_PROG) == -1)
		fatalx("event log cannot start");
	mlt_setup_milter(pol);
	dmn_drop_privileges(pol);
	dmn_daemonize(opts.foreground);
	log_init(MLT_PROG, opts.foreground, pol->log.syslog_facility);
	shutdown_timeout = pol->shutdown_timeout;
	log_info("listening on %s", pol->smtp.socket);
	pol_set_current(pol);
	mlt_start_reload_thread();
	dmn_notify("READY=1");
	rc = smfi_main();
	dmn_notify("STOPPING=1");
	mlt_drain(shutdown_timeout);
	log_info("stopped");
	evt_shutdown();
	return rc == MI_SUCCESS ? 0 : 1;
}
