/* SPDX-License-Identifier: ISC */
/*
 * cidr.h: sets of IPv4 and IPv6 networks.  Every address is held as IPv6, an
 * IPv4 one as v4-mapped (::ffff:a.b.c.d), so 10.0.0.0/8 matches both a plain
 * IPv4 client and one that arrives on a dual-stack socket.
 */
#ifndef MW_CIDR_H
#define MW_CIDR_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	uint8_t		 net[16];	/* network, already masked */
	uint8_t		 mask[16];	/* prefix mask */
};

struct cidr_set {
	struct cidr	*v;		/* networks */
	size_t		 n;		/* how many */
};

/* Parse "a.b.c.d[/n]" or "v6[/n]"; 0 on success, -1 on a bad network. */
int	cidr_parse(const char *text, struct cidr *out);
/* Append a parsed network; -1 (errno ENOMEM) on failure. */
int	cidr_set_add(struct cidr_set *, const struct cidr *);
void	cidr_set_free(struct cidr_set *);
/* Address as 16 octets (v4-mapped for AF_INET); -1 for other families. */
int	cidr_addr16(const struct sockaddr *, uint8_t out[16]);
/* Whether the 16-octet address lies in one of the set's networks. */
bool	cidr_set_contains16(const struct cidr_set *, const uint8_t addr[16]);
/* Whether the socket address lies in the set; false for non-IP families. */
bool	cidr_set_contains(const struct cidr_set *, const struct sockaddr *);

#endif
