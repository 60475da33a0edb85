/* SPDX-License-Identifier: ISC */
/*
 * mlt_table.h: the Postfix smtpd_command_filter table of `-P`.
 */
#ifndef MW_MLT_TABLE_H
#define MW_MLT_TABLE_H

#include <stdio.h>

#include "policy.h"

/* Print the regexp: table for pol (read from conf) to f; 0 or -1. */
int	mlt_table_write(FILE *f, const struct policy *pol, const char *conf);

#endif
