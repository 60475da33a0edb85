/* SPDX-License-Identifier: ISC */
/*
 * p3_sasl.h: judging the client's SASL data in POP3 AUTH (RFC 5034): the
 * initial response and the continuation lines of PLAIN (RFC 4616), LOGIN
 * and CRAM-MD5 (RFC 2195) are decoded to find empty credentials and bytes
 * that could split one command into two at the backend.  Pure functions.
 */
#ifndef MW_P3_SASL_H
#define MW_P3_SASL_H

#include <stdbool.h>
#include <stddef.h>

/* Mechanisms pop3hook decodes; the others are relayed unread. */
enum p3_mech {
	P3_MECH_OTHER,
	P3_MECH_PLAIN,
	P3_MECH_LOGIN,
	P3_MECH_CRAM_MD5,
};

/* Decoded SASL data is judged up to this size (RFC 4954: 12288 base64). */
#define P3_SASL_DECODED_MAX	9216

/* What one client SASL message holds. */
struct p3_sasl_res {
	bool		 cancel;	/* "*": the client gave up */
	bool		 bad_b64;	/* not strict base64 */
	bool		 bad_bytes;	/* CR, LF, NUL or a missing part */
	bool		 no_user;	/* authentication identity empty */
	bool		 no_pass;	/* password empty */
	const unsigned char *user;	/* authentication identity, or NULL */
	size_t		 userlen;	/* its length */
};

/* The mechanism named (any case). */
enum p3_mech	p3_mech_lookup(const char *name, size_t len);
/*
 * Judge one client message of mechanism mech: step 0 is the first client
 * data (initial response or first continuation).  b64 is the line without
 * terminator; dec (decsz octets) receives the decoded data.
 */
void		p3_sasl_judge(enum p3_mech, unsigned step, const char *b64,
		    size_t len, unsigned char *dec, size_t decsz,
		    struct p3_sasl_res *);

#endif
