/* SPDX-License-Identifier: ISC */
/*
 * log.c: diagnostics for operators (start-up, reload, I/O trouble), to
 * syslog and, in the foreground, to stderr.  Attack events are evt.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char	*log_ident = "mailwarden";	/* program name */
static bool		 log_stderr = true;	/* echo to stderr */
static bool		 log_syslog;		/* openlog() done */
static int		 log_level;		/* 1: debug too */

/* Open syslog with the program's name; echo to stderr when foreground. */
void
log_init(const char *ident, bool foreground, int facility)
{
	log_ident = ident;
	log_stderr = foreground;
	openlog(ident, LOG_PID | LOG_NDELAY, facility);
	log_syslog = true;
}

/* 0: info and above; 1: debug as well. */
void
log_verbose(int level)
{
	log_level = level;
}

/* Emit one message at priority pri, with strerror(err) if err != 0. */
static void
log_vmsg(int pri, int err, const char *fmt, va_list ap)
{
	char	 msg[1024];
	int	 saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err != 0) {
		size_t	 n = strlen(msg);

		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	}
	if (log_stderr || !log_syslog) {
		fprintf(stderr, "%s: %s\n", log_ident, msg);
		fflush(stderr);
	}
	if (log_syslog)
		syslog(pri, "%s", msg);
	errno = saved;
}

/* Warning with the current errno's text. */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, err, fmt, ap);
	va_end(ap);
}

/* Warning without errno. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

/* Informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

/* Debug message, shown only with log_verbose(1). */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/* Start-up failure with errno: log and exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Start-up failure: log and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* A broken invariant. */
void
log_panic(const char *file, int line, const char *what)
{
	log_warnx("panic: %s at %s:%d", what, file, line);
	abort();
}
