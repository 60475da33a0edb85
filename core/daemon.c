/* SPDX-License-Identifier: ISC */
/*
 * daemon.c: the plumbing both daemons share: the command line of SPEC
 * section 1, loading the configuration (-t), dropping privileges after
 * binding, detaching, and telling systemd how things stand.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "log.h"

/* Usage on stream f. */
static void
dmn_usage(FILE *f, const char *progname, bool allow_p)
{
	fprintf(f, "usage: %s [-fht%sV] [-c file]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -t       check the configuration and exit\n"
	    "  -f       stay in the foreground, log to stderr as well\n"
	    "%s"
	    "  -V       print the version and exit\n"
	    "  -h       this help\n",
	    progname, allow_p ? "P" : "", MW_DEFAULT_CONF,
	    allow_p ? "  -P       print the Postfix smtpd_command_filter "
	    "table and exit\n" : "");
}

/* Parse the daemons' options. */
void
dmn_parse_args(int argc, char **argv, const char *progname, bool allow_p,
    struct dmn_opts *out)
{
	int	 ch;

	memset(out, 0, sizeof(*out));
	out->conf = MW_DEFAULT_CONF;
	opterr = 0;
	while ((ch = getopt(argc, argv, allow_p ? ":c:tfVPh" : ":c:tfVh")) !=
	    -1) {
		switch (ch) {
		case 'c':
			out->conf = optarg;
			break;
		case 't':
			out->test = true;
			break;
		case 'f':
			out->foreground = true;
			break;
		case 'P':
			out->print_table = true;
			break;
		case 'V':
			printf("%s %s\n", progname, MW_VERSION);
			exit(0);
		case 'h':
			dmn_usage(stdout, progname, allow_p);
			exit(0);
		case ':':
			fprintf(stderr, "%s: option -%c needs an argument\n",
			    progname, optopt);
			dmn_usage(stderr, progname, allow_p);
			exit(1);
		default:
			fprintf(stderr, "%s: unknown option -%c\n", progname,
			    optopt);
			dmn_usage(stderr, progname, allow_p);
			exit(1);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", progname,
		    argv[optind]);
		dmn_usage(stderr, progname, allow_p);
		exit(1);
	}
}

/* Load the file; -t reports and exits. */
struct policy *
dmn_load_config(const struct dmn_opts *o)
{
	struct policy	*pol = pol_load(o->conf, stderr);

	if (o->test) {
		if (pol == NULL)
			exit(1);
		printf("configuration OK\n");
		exit(0);
	}
	if (pol == NULL)
		exit(1);
	return pol;
}

/* Become user/group when started as root with a user configured. */
void
dmn_drop_privileges(const struct policy *pol)
{
	struct passwd	*pw;
	struct group	*gr;
	gid_t		 gid;

	if (pol->user[0] == '\0' || geteuid() != 0)
		return;
	if ((pw = getpwnam(pol->user)) == NULL)
		fatalx("user '%s' does not exist: refusing to run as root",
		    pol->user);
	gid = pw->pw_gid;
	if (pol->group[0] != '\0') {
		if ((gr = getgrnam(pol->group)) == NULL)
			fatalx("group '%s' does not exist: refusing to run "
			    "as root", pol->group);
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot drop privileges to %s", pol->user);
	if (setuid(0) != -1)
		fatalx("privileges could not be dropped for good");
	log_info("running as %s", pol->user);
}

/* Fork into the background unless asked to stay. */
void
dmn_daemonize(bool foreground)
{
	int	 fd;

	if (foreground)
		return;
	if (daemon(0, 1) == -1)
		fatal("daemon");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* Tell systemd (Type=notify) where the daemon stands. */
void
dmn_notify(const char *state)
{
	if (getenv("NOTIFY_SOCKET") != NULL)
		sd_notify(0, state);
}
