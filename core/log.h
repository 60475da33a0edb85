/* SPDX-License-Identifier: ISC */
/*
 * log.h: the one small diagnostic log API (not the attack events: see evt.h).
 * Messages go to syslog and, in the foreground, to stderr.  errno-preserving.
 */
#ifndef MW_LOG_H
#define MW_LOG_H

#include <stdbool.h>

#define MW_PRINTF(a, b)	__attribute__((format(printf, a, b)))

/* Set the ident, whether to echo to stderr, and the syslog facility. */
void	log_init(const char *ident, bool foreground, int facility);
/* Raise or lower the level: 0 = info, 1 = debug. */
void	log_verbose(int level);

void	log_warn(const char *fmt, ...) MW_PRINTF(1, 2);	/* adds strerror */
void	log_warnx(const char *fmt, ...) MW_PRINTF(1, 2);
void	log_info(const char *fmt, ...) MW_PRINTF(1, 2);
void	log_debug(const char *fmt, ...) MW_PRINTF(1, 2);
void	fatal(const char *fmt, ...) MW_PRINTF(1, 2) __attribute__((noreturn));
void	fatalx(const char *fmt, ...) MW_PRINTF(1, 2) __attribute__((noreturn));

/* A broken invariant: log where, then abort. */
#define PANIC(what) \
	log_panic(__FILE__, __LINE__, (what))
void	log_panic(const char *file, int line, const char *what)
	    __attribute__((noreturn));

#endif
