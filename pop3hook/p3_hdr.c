/* SPDX-License-Identifier: ISC */
/*
 * p3_hdr.c: PROXY protocol headers (haproxy doc/proxy-protocol.txt) and
 * the XCLIENT line.  A v4-mapped IPv6 address (dual-stack listener) is
 * told as plain IPv4, as Dovecot's login_trusted_networks expects.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "p3_hdr.h"

/* An address as the header sees it: family, 4 or 16 octets, port. */
struct p3_hdr_addr {
	int		 family;	/* AF_INET, AF_INET6, or 0 */
	uint8_t		 a[16];		/* the address */
	uint16_t	 port;		/* host order */
};

/* Normalise a socket address; family 0 if not IP. */
static void
p3_hdr_addr(const struct sockaddr *sa, struct p3_hdr_addr *out)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->a, &s4->sin_addr, 4);
		out->port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		out->port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			out->family = AF_INET;
			memcpy(out->a, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = AF_INET6;
			memcpy(out->a, &s6->sin6_addr, 16);
		}
	}
}

/* PROXY v1: "PROXY TCP4 src dst sport dport\r\n" (at most 107 octets). */
int
p3_proxy_v1(const struct sockaddr *src, const struct sockaddr *dst,
    char *buf, size_t sz)
{
	struct p3_hdr_addr s, d;
	char		 sb[INET6_ADDRSTRLEN], db[INET6_ADDRSTRLEN];
	int		 n;

	p3_hdr_addr(src, &s);
	p3_hdr_addr(dst, &d);
	if (s.family == 0 || s.family != d.family)
		n = snprintf(buf, sz, "PROXY UNKNOWN\r\n");
	else {
		inet_ntop(s.family, s.a, sb, sizeof(sb));
		inet_ntop(d.family, d.a, db, sizeof(db));
		n = snprintf(buf, sz, "PROXY %s %s %s %u %u\r\n",
		    s.family == AF_INET ? "TCP4" : "TCP6", sb, db,
		    (unsigned)s.port, (unsigned)d.port);
	}
	return n < 0 || (size_t)n >= sz ? -1 : n;
}

/* PROXY v2: signature, PROXY command, TCP over IPv4/IPv6 (or LOCAL). */
int
p3_proxy_v2(const struct sockaddr *src, const struct sockaddr *dst,
    unsigned char *buf, size_t sz)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	    0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	struct p3_hdr_addr s, d;
	size_t		 alen, n;
	unsigned char	*p;

	p3_hdr_addr(src, &s);
	p3_hdr_addr(dst, &d);
	if (s.family == 0 || s.family != d.family)
		alen = 0;
	else
		alen = s.family == AF_INET ? 12 : 36;
	n = 16 + alen;
	if (sz < n)
		return -1;
	memcpy(buf, sig, 12);
	buf[12] = alen == 0 ? 0x20 : 0x21;	/* v2, LOCAL or PROXY */
	buf[13] = alen == 0 ? 0x00 : (s.family == AF_INET ? 0x11 : 0x21);
	buf[14] = (unsigned char)(alen >> 8);
	buf[15] = (unsigned char)alen;
	p = buf + 16;
	if (alen > 0) {
		size_t	 al = s.family == AF_INET ? 4 : 16;

		memcpy(p, s.a, al);
		memcpy(p + al, d.a, al);
		p += 2 * al;
		*p++ = (unsigned char)(s.port >> 8);
		*p++ = (unsigned char)s.port;
		*p++ = (unsigned char)(d.port >> 8);
		*p++ = (unsigned char)d.port;
	}
	return (int)n;
}

/* XCLIENT for Dovecot pop3-login (src/pop3-login/client.c). */
int
p3_xclient_line(const struct sockaddr *src, char *buf, size_t sz)
{
	struct p3_hdr_addr s;
	char		 sb[INET6_ADDRSTRLEN];
	int		 n;

	p3_hdr_addr(src, &s);
	if (s.family == 0)
		return -1;
	inet_ntop(s.family, s.a, sb, sizeof(sb));
	n = snprintf(buf, sz, "XCLIENT ADDR=%s PORT=%u\r\n", sb,
	    (unsigned)s.port);
	return n < 0 || (size_t)n >= sz ? -1 : n;
}
