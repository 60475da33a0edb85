/* SPDX-License-Identifier: ISC */
/*
 * b64.h: strict base64 (RFC 4648 section 4) for SASL lines: no whitespace,
 * padding required, bounded output.
 */
#ifndef MW_B64_H
#define MW_B64_H

#include <stddef.h>

/* Decoded size of len base64 octets, at most. */
#define B64_DECODED_MAX(len)	(((len) / 4) * 3)

/* Decode into out (capacity outsz); decoded length, or -1 when the input is
 * not strict base64 or does not fit. */
long	b64_decode(const char *in, size_t len, unsigned char *out,
	    size_t outsz);
/* Encode into out (NUL-terminated); length, or -1 if it does not fit. */
long	b64_encode(const void *in, size_t len, char *out, size_t outsz);

#endif
