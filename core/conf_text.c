/* SPDX-License-Identifier: ISC */
/*
 * conf_text.c: the configuration file's text as libconfuse is given it.
 * Comments are blanked before parsing: libconfuse 3.3 (Debian 12) counts
 * each comment as three lines, so every later error named the wrong line,
 * and refuses a comment inside a list ("unexpected token").  The scan also
 * names the line of what the parser would only see as an early end: a
 * string, comment or section left open, or a NUL byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_text.h"

#define CONF_TEXT_MAX		(1024 * 1024)	/* longest file read */
#define CONF_DEPTH_MAX		64	/* section lines remembered */

/* Where the scan is: outside, or inside one of these. */
enum conf_text_in {
	CONF_IN_TEXT,			/* keys, values, braces */
	CONF_IN_DQ,			/* "..." */
	CONF_IN_SQ,			/* '...' */
	CONF_IN_LINE_COMMENT,		/* # or // to the end of the line */
	CONF_IN_BLOCK_COMMENT,		/* slash-star to star-slash */
	CONF_IN_ENV			/* ${NAME}, libconfuse's substitution */
};

/* The scan of one buffer. */
struct conf_scan {
	char		*p;		/* next octet */
	char		*end;		/* past the last */
	int		 line;		/* line of *p */
	enum conf_text_in in;		/* what p is inside */
	int		 open_line;	/* where that string or comment began */
	int		 depth;		/* sections open */
	int		 sect_line[CONF_DEPTH_MAX]; /* where each began */
};

/* Outside strings and comments: note what *s->p begins. */
static void
conf_text_outside(struct conf_scan *s)
{
	char	c = s->p[0], next = s->p + 1 < s->end ? s->p[1] : '\0';

	s->open_line = s->line;
	if (c == '"')
		s->in = CONF_IN_DQ;
	else if (c == '\'')
		s->in = CONF_IN_SQ;
	else if (c == '#' || (c == '/' && next == '/'))
		s->in = CONF_IN_LINE_COMMENT;
	else if (c == '/' && next == '*') {
		s->in = CONF_IN_BLOCK_COMMENT;
		*s->p++ = ' ';		/* the star cannot also close it */
	} else if (c == '$' && next == '{')
		s->in = CONF_IN_ENV;
	else if (c == '{') {
		if (s->depth < CONF_DEPTH_MAX)
			s->sect_line[s->depth] = s->line;
		s->depth++;
	} else if (c == '}' && s->depth > 0)
		s->depth--;
	if (s->in == CONF_IN_LINE_COMMENT || s->in == CONF_IN_BLOCK_COMMENT)
		*s->p = ' ';
}

/* One step of the scan; comments become spaces, line ends stay. */
static void
conf_text_step(struct conf_scan *s)
{
	char	c = *s->p;

	switch (s->in) {
	case CONF_IN_TEXT:
		conf_text_outside(s);
		break;
	case CONF_IN_DQ:
	case CONF_IN_SQ:
		/* A backslash takes the next octet, line end included. */
		if (c == '\\' && s->p + 1 < s->end)
			s->p++;
		else if (c == (s->in == CONF_IN_DQ ? '"' : '\''))
			s->in = CONF_IN_TEXT;
		break;
	case CONF_IN_LINE_COMMENT:
		if (c == '\n')
			s->in = CONF_IN_TEXT;
		else
			*s->p = ' ';
		break;
	case CONF_IN_BLOCK_COMMENT:
		if (c == '*' && s->p + 1 < s->end && s->p[1] == '/') {
			*s->p++ = ' ';
			s->in = CONF_IN_TEXT;
		}
		if (*s->p != '\n')
			*s->p = ' ';
		break;
	case CONF_IN_ENV:
		if (c == '}')
			s->in = CONF_IN_TEXT;
		break;
	}
	if (*s->p == '\n')
		s->line++;
	s->p++;
}

/* Read path whole into t->buf, NUL-terminated; -1 after a message. */
static int
conf_text_load(const char *path, struct conf_text *t, FILE *errf)
{
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(errf, "%s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	if ((t->buf = malloc(CONF_TEXT_MAX + 1)) == NULL) {
		fprintf(errf, "%s: out of memory\n", path);
		fclose(f);
		return -1;
	}
	n = fread(t->buf, 1, CONF_TEXT_MAX + 1, f);
	if (ferror(f)) {
		fprintf(errf, "%s: cannot read: %s\n", path, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (n > CONF_TEXT_MAX) {
		fprintf(errf, "%s: too large (over %d octets)\n", path,
		    CONF_TEXT_MAX);
		return -1;
	}
	t->buf[n] = '\0';
	t->len = n;
	return 0;
}

/* Read and scan the file; -1 after one "file[:line]: message". */
int
conf_text_read(const char *path, struct conf_text *t, FILE *errf)
{
	struct conf_scan s;
	char		*nul;

	memset(t, 0, sizeof(*t));
	if (conf_text_load(path, t, errf) == -1) {
		conf_text_free(t);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.p = t->buf;
	s.end = t->buf + t->len;
	s.line = 1;
	if ((nul = memchr(t->buf, '\0', t->len)) != NULL)
		s.end = nul;
	while (s.p < s.end)
		conf_text_step(&s);
	t->lines = s.line;
	if (nul != NULL)
		fprintf(errf, "%s:%d: NUL octet in the file\n", path, s.line);
	else if (s.in == CONF_IN_DQ || s.in == CONF_IN_SQ)
		fprintf(errf, "%s:%d: string not closed: missing '%c'\n", path,
		    s.open_line, s.in == CONF_IN_DQ ? '"' : '\'');
	else if (s.in == CONF_IN_BLOCK_COMMENT)
		fprintf(errf, "%s:%d: comment not closed: missing '*/'\n", path,
		    s.open_line);
	else if (s.in == CONF_IN_ENV)
		fprintf(errf, "%s:%d: '${' not closed: missing '}'\n", path,
		    s.open_line);
	else if (s.depth > 0)
		fprintf(errf, "%s:%d: section not closed: missing '}'\n", path,
		    s.sect_line[s.depth > CONF_DEPTH_MAX ? CONF_DEPTH_MAX - 1 :
		    s.depth - 1]);
	else
		return 0;
	conf_text_free(t);
	return -1;
}

/* Free what conf_text_read kept. */
void
conf_text_free(struct conf_text *t)
{
	free(t->buf);
	t->buf = NULL;
}
