/* SPDX-License-Identifier: ISC */
/*
 * mlt_filter.h: the libmilter callbacks of mailwarden-milter.
 */
#ifndef MW_MLT_FILTER_H
#define MW_MLT_FILTER_H

/* smfi_register() the callbacks; 0 or -1. */
int	mlt_filter_register(void);
/* Connections currently holding a context. */
long	mlt_filter_sessions(void);

#endif
