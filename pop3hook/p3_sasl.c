/* SPDX-License-Identifier: ISC */
/*
 * p3_sasl.c: decoding and judging client SASL messages of POP3 AUTH.
 * nginx-tests PR #93 shows why CR and LF in decoded credentials matter: a
 * proxy or server that turns them into USER/PASS lines sends two commands.
 */
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "p3_sasl.h"

/* The mechanism named (any case). */
enum p3_mech
p3_mech_lookup(const char *name, size_t len)
{
	if (len == 5 && strncasecmp(name, "PLAIN", 5) == 0)
		return P3_MECH_PLAIN;
	if (len == 5 && strncasecmp(name, "LOGIN", 5) == 0)
		return P3_MECH_LOGIN;
	if (len == 8 && strncasecmp(name, "CRAM-MD5", 8) == 0)
		return P3_MECH_CRAM_MD5;
	return P3_MECH_OTHER;
}

/* Whether the octets hold CR, LF or NUL. */
static bool
p3_has_breaks(const unsigned char *p, size_t len)
{
	return memchr(p, '\r', len) != NULL || memchr(p, '\n', len) != NULL ||
	    memchr(p, '\0', len) != NULL;
}

/* PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd. */
static void
p3_sasl_plain(const unsigned char *d, size_t n, struct p3_sasl_res *r)
{
	const unsigned char	*n1, *n2;

	if (n == 0) {
		r->no_user = r->no_pass = true;
		return;
	}
	n1 = memchr(d, '\0', n);
	n2 = n1 != NULL ? memchr(n1 + 1, '\0', n - (size_t)(n1 + 1 - d)) : NULL;
	if (n2 == NULL || memchr(n2 + 1, '\0', n - (size_t)(n2 + 1 - d)) ||
	    memchr(d, '\r', n) != NULL || memchr(d, '\n', n) != NULL) {
		r->bad_bytes = true;
		if (n2 == NULL)
			return;
	}
	r->user = n1 + 1;
	r->userlen = (size_t)(n2 - n1 - 1);
	r->no_user = r->userlen == 0;
	r->no_pass = n2 + 1 == d + n;
}

/* CRAM-MD5 (RFC 2195): "user SP digest". */
static void
p3_sasl_cram(const unsigned char *d, size_t n, struct p3_sasl_res *r)
{
	const unsigned char	*sp = NULL;
	size_t			 i;

	for (i = n; i > 0; i--)
		if (d[i - 1] == ' ') {
			sp = d + i - 1;
			break;
		}
	if (p3_has_breaks(d, n) || sp == NULL || sp + 1 == d + n)
		r->bad_bytes = true;
	r->user = d;
	r->userlen = sp != NULL ? (size_t)(sp - d) : n;
	r->no_user = r->userlen == 0;
}

/* Judge one client SASL message. */
void
p3_sasl_judge(enum p3_mech mech, unsigned step, const char *b64, size_t len,
    unsigned char *dec, size_t decsz, struct p3_sasl_res *r)
{
	long	 n = 0;

	memset(r, 0, sizeof(*r));
	if (len == 1 && b64[0] == '*') {
		r->cancel = true;
		return;
	}
	if (len == 1 && b64[0] == '=')
		len = 0;		/* RFC 5034: "=" is an empty response */
	if (len > 0) {
		if (B64_DECODED_MAX(len) > decsz) {
			/* Too big to decode here: only the alphabet is checked
			 * by the caller's line-length rule; judge nothing. */
			return;
		}
		n = b64_decode(b64, len, dec, decsz);
		if (n < 0) {
			r->bad_b64 = true;
			return;
		}
	}
	switch (mech) {
	case P3_MECH_PLAIN:
		if (step == 0)
			p3_sasl_plain(dec, (size_t)n, r);
		break;
	case P3_MECH_LOGIN:
		if (step > 1)
			break;
		r->bad_bytes = p3_has_breaks(dec, (size_t)n);
		if (step == 0) {
			r->user = dec;
			r->userlen = (size_t)n;
			r->no_user = n == 0;
		} else
			r->no_pass = n == 0;
		break;
	case P3_MECH_CRAM_MD5:
		if (step == 0)
			p3_sasl_cram(dec, (size_t)n, r);
		break;
	case P3_MECH_OTHER:
		break;
	}
}
