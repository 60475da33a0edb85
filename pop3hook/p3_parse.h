/* SPDX-License-Identifier: ISC */
/*
 * p3_parse.h: POP3 lexing without sockets: finding client lines in a buffer
 * (resumably, judging overlong lines at the limit), splitting a command into
 * keyword and arguments, classifying server status lines, and scanning
 * multi-line bodies for their terminating "." line across any read split.
 */
#ifndef MW_P3_PARSE_H
#define MW_P3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every command pop3hook knows (RFC 1939, 2449, 2595, 5034, 6856). */
enum p3_cmd {
	P3_CMD_UNKNOWN,
	P3_CMD_USER,
	P3_CMD_PASS,
	P3_CMD_APOP,
	P3_CMD_AUTH,
	P3_CMD_QUIT,
	P3_CMD_STAT,
	P3_CMD_LIST,
	P3_CMD_RETR,
	P3_CMD_DELE,
	P3_CMD_NOOP,
	P3_CMD_RSET,
	P3_CMD_TOP,
	P3_CMD_UIDL,
	P3_CMD_CAPA,
	P3_CMD_STLS,
	P3_CMD_UTF8,
	P3_CMD_LANG,
	P3_CMD_XCLIENT,			/* only pop3hook itself may send it */
	P3_CMD_SASL,			/* not a command: a SASL response line */
};

/* Protocol states a command may be used in (bit mask). */
#define P3_IN_AUTHORIZATION	0x01
#define P3_IN_TRANSACTION	0x02
#define P3_IN_ANY		(P3_IN_AUTHORIZATION | P3_IN_TRANSACTION)

/* Argument rules of a command. */
#define P3_A_NUMERIC		0x01	/* every argument is a number */
#define P3_A_REST		0x02	/* one argument: the rest of the line */
#define P3_A_MULTI		0x04	/* +OK answer is multi-line */
#define P3_A_MULTI_NOARG	0x08	/* multi-line when given no argument */

/* One row of the command table. */
struct p3_cmdinfo {
	const char	*keyword;	/* upper case */
	enum p3_cmd	 cmd;		/* its id */
	uint8_t		 states;	/* P3_IN_* where it is allowed */
	uint8_t		 minargs;	/* fewest arguments */
	uint8_t		 maxargs;	/* most arguments */
	uint8_t		 rules;		/* P3_A_* */
};

/* Where a client line ends, as p3_line_scan() reports it. */
enum p3_scan {
	P3_SCAN_MORE,			/* no end of line yet, under the limit */
	P3_SCAN_LINE,			/* a whole line */
	P3_SCAN_LONG,			/* limit octets and no end of line */
};

/* Resumable position of p3_line_scan() in the unjudged bytes. */
struct p3_lexer {
	size_t		 scanned;	/* octets already known to hold no LF */
};

#define P3_MAX_ARGS	4		/* arguments kept; more are counted */

/* Line-level findings (bit mask in struct p3_cmdline.flags). */
#define P3_L_CTRL	0x01		/* NUL, control byte or stray CR */
#define P3_L_8BIT	0x02		/* octets above 0x7f */
#define P3_L_BARE_LF	0x04		/* ended by LF without CR */
#define P3_L_EMPTY_ARG	0x08		/* two spaces in a row, or a trailing one */
#define P3_L_NUL	0x10		/* a NUL octet (also sets P3_L_CTRL) */
#define P3_L_LONG	0x20		/* cut at the limit, no end of line */

/* A client command line split into its parts (pointers into the line). */
struct p3_cmdline {
	const struct p3_cmdinfo *info;	/* table row, NULL if unknown */
	enum p3_cmd	 cmd;		/* P3_CMD_UNKNOWN if not in the table */
	const char	*kw;		/* keyword as sent */
	size_t		 kwlen;		/* its length */
	bool		 kw_ok;		/* 3-4 ASCII letters or digits */
	const char	*rest;		/* everything after "KW " */
	size_t		 restlen;	/* its length (0 if none) */
	bool		 blank;		/* arguments absent or only spaces */
	unsigned	 nargs;		/* arguments split at single spaces */
	const char	*arg[P3_MAX_ARGS]; /* the first arguments */
	size_t		 arglen[P3_MAX_ARGS]; /* their lengths */
	unsigned	 flags;		/* P3_L_* */
};

/* Server status line kinds. */
enum p3_status {
	P3_ST_OK,			/* "+OK" */
	P3_ST_ERR,			/* "-ERR" */
	P3_ST_CONT,			/* "+ " SASL continuation */
	P3_ST_BAD,			/* anything else */
};

/* Where a multi-line body scan stands (RFC 1939 section 3). */
enum p3_body_pos {
	P3_BODY_BOL,			/* at the start of a line */
	P3_BODY_MID,			/* inside a line */
	P3_BODY_DOT,			/* a line began with "." */
	P3_BODY_DOTCR,			/* a line began with ".\r" */
};

/* Resumable state of a multi-line body scan. */
struct p3_body {
	enum p3_body_pos pos;		/* position in the current line */
};

/*
 * Look for the end of the line that starts at buf (len octets buffered).
 * On P3_SCAN_LINE *linelen is the line with its LF; on P3_SCAN_LONG it is
 * limit.  limit counts the line with its CRLF (RFC 2449 section 4).
 */
enum p3_scan	p3_line_scan(struct p3_lexer *, const char *buf, size_t len,
		    size_t limit, size_t *linelen);
/* Forget the position: the next line starts. */
void		p3_lexer_reset(struct p3_lexer *);

/* Split a client line (with or without its terminator) into its parts. */
void		p3_parse_command(const char *line, size_t len, bool cut,
		    struct p3_cmdline *);
/* The table row of a keyword (any case); NULL if not a POP3 command. */
const struct p3_cmdinfo *p3_cmd_lookup(const char *kw, size_t len);
/* Why the command breaks RFC 1939/2449 argument rules, or NULL. */
const char	*p3_args_problem(const struct p3_cmdline *);
/* Whether the +OK answer to this command is multi-line. */
bool		p3_cmd_multiline(const struct p3_cmdline *);

/* Kind of a server line (without its terminator). */
enum p3_status	p3_status_kind(const char *line, size_t len);
/* Length of a line without its CRLF or LF. */
size_t		p3_chomp(const char *line, size_t len);

/* Start a body scan at the beginning of a line. */
void		p3_body_start(struct p3_body *);
/*
 * Scan body octets; returns how many belong to the body.  *done is set when
 * the terminating "." line (included in the count) has been seen.
 */
size_t		p3_body_scan(struct p3_body *, const char *buf, size_t len,
		    bool *done);

/* Whether the octets are all ASCII digits (and at least one). */
bool		p3_is_number(const char *s, size_t len);

#endif
