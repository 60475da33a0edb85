/* SPDX-License-Identifier: ISC */
/*
 * b64.c: strict base64 (RFC 4648 section 4) as SASL uses it (RFC 4954,
 * RFC 5034): no line breaks, no whitespace, padding required.
 */
#include <stdint.h>

#include "b64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of one base64 character, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode strict base64; -1 if malformed or if it does not fit in out. */
long
b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz)
{
	size_t	 i, o = 0;
	int	 v[4], k, pad;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == len && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(c)) < 0)
				return -1;
		}
		if (o + 3 - pad > outsz)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
	}
	return (long)o;
}

/* Encode with padding; the output is NUL-terminated. */
long
b64_encode(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char	*p = in;
	size_t			 i, o = 0;
	uint32_t		 w;

	if ((len + 2) / 3 * 4 + 1 > outsz)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_alphabet[w >> 18];
		out[o++] = b64_alphabet[(w >> 12) & 63];
		out[o++] = b64_alphabet[(w >> 6) & 63];
		out[o++] = b64_alphabet[w & 63];
	}
	if (i < len) {
		w = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			w |= (uint32_t)p[i + 1] << 8;
		out[o++] = b64_alphabet[w >> 18];
		out[o++] = b64_alphabet[(w >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(w >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (long)o;
}
