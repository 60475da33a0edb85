/* SPDX-License-Identifier: ISC */
/*
 * conf.h: reading the configuration file into a struct policy.  Internal to
 * the core: callers use pol_load().  conf.c is the only file that sees
 * libconfuse.
 */
#ifndef MW_CONF_H
#define MW_CONF_H

#include <stdio.h>

#include "policy.h"

/* Parse path into a new policy (refs = 1); NULL after printing each error
 * as "file:line: message" to errf. */
struct policy	*conf_read(const char *path, FILE *errf);
/* Fill pol with the defaults of SPEC section 2; -1 on allocation failure. */
int		 conf_defaults(struct policy *pol);

#endif
