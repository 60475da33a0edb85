/* SPDX-License-Identifier: ISC */
/*
 * conf_text.h: the configuration file read whole, comments blanked, its
 * open strings, comments and sections reported with their lines.  Internal
 * to conf.c.
 */
#ifndef MW_CONF_TEXT_H
#define MW_CONF_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* A configuration file's text, ready for the parser. */
struct conf_text {
	char		*buf;		/* NUL-terminated; comments are spaces */
	size_t		 len;		/* octets before the NUL */
	int		 lines;		/* line of the last octet */
};

/* Read and scan path; -1 after printing one "file[:line]: message". */
int	conf_text_read(const char *, struct conf_text *, FILE *);
/* Free the text. */
void	conf_text_free(struct conf_text *);

#endif
