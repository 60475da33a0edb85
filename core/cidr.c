/* SPDX-License-Identifier: ISC */
/*
 * cidr.c: network sets.  IPv4 networks are stored v4-mapped so that one
 * 16-octet masked compare answers for both families.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static const uint8_t cidr_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Fill mask with a prefix of bits ones. */
static void
cidr_make_mask(uint8_t mask[16], unsigned bits)
{
	unsigned	 i;

	for (i = 0; i < 16; i++) {
		if (bits >= 8) {
			mask[i] = 0xff;
			bits -= 8;
		} else {
			mask[i] = (uint8_t)(0xff << (8 - bits));
			bits = 0;
		}
	}
}

/* Parse "addr" or "addr/bits" for either family. */
int
cidr_parse(const char *text, struct cidr *out)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct in_addr	 a4;
	unsigned long	 bits;
	unsigned	 maxbits, i;
	bool		 v4;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		v4 = true;
		memcpy(out->net, cidr_v4mapped, 12);
		memcpy(out->net + 12, &a4, 4);
		maxbits = 32;
	} else if (strchr(buf, ':') != NULL &&
	    inet_pton(AF_INET6, buf, out->net) == 1) {
		v4 = false;
		maxbits = 128;
	} else
		return -1;
	bits = maxbits;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return -1;
		errno = 0;
		bits = strtoul(slash, &end, 10);
		if (errno != 0 || *end != '\0' || bits > maxbits ||
		    (slash[0] == '0' && slash[1] != '\0'))
			return -1;
	}
	cidr_make_mask(out->mask, (unsigned)bits + (v4 ? 96 : 0));
	for (i = 0; i < 16; i++)
		out->net[i] &= out->mask[i];
	return 0;
}

/* Append one network. */
int
cidr_set_add(struct cidr_set *set, const struct cidr *c)
{
	struct cidr	*v;

	v = reallocarray(set->v, set->n + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	v[set->n++] = *c;
	set->v = v;
	return 0;
}

/* Release a set's storage. */
void
cidr_set_free(struct cidr_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

/* A socket address as 16 octets, IPv4 v4-mapped. */
int
cidr_addr16(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		memcpy(out, cidr_v4mapped, 12);
		memcpy(out + 12, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		memcpy(out, &sin6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* Masked compare against each network; sets are short (operator lists). */
bool
cidr_set_contains16(const struct cidr_set *set, const uint8_t addr[16])
{
	size_t		 i;
	unsigned	 k;

	for (i = 0; i < set->n; i++) {
		const struct cidr *c = &set->v[i];
		uint8_t		 diff = 0;

		for (k = 0; k < 16; k++)
			diff |= (uint8_t)((addr[k] & c->mask[k]) ^ c->net[k]);
		if (diff == 0)
			return true;
	}
	return false;
}

/* Whether a socket address lies in the set. */
bool
cidr_set_contains(const struct cidr_set *set, const struct sockaddr *sa)
{
	uint8_t	 a[16];

	if (set->n == 0 || cidr_addr16(sa, a) == -1)
		return false;
	return cidr_set_contains16(set, a);
}
