/* SPDX-License-Identifier: ISC */
/*
 * mlt_filter.h: the libmilter callbacks of mailwarden-milter.
 */
#ifndef MW_MLT_FILTER_H
#define MW_MLT_FILTER_H

#include <libmilter/mfapi.h>

#include "policy.h"

/* The actions (pf0) and protocol steps (pf1) asked of an MTA that offers
 * f0/f1 for policy pol. */
void	mlt_filter_flags(const struct policy *pol, unsigned long f0,
	    unsigned long f1, unsigned long *pf0, unsigned long *pf1);
/* Ask for the macros the protections read (inside xxfi_negotiate). */
void	mlt_filter_symlist(SMFICTX *ctx, unsigned long f0);
/* smfi_register() the callbacks; 0 or -1. */
int	mlt_filter_register(void);
/* Connections currently holding a context. */
long	mlt_filter_sessions(void);

#endif
