/* SPDX-License-Identifier: ISC */
/*
 * p3_hdr.h: what pop3hook tells the backend about the real client: the
 * HAProxy PROXY protocol header, version 1 (text) or 2 (binary), and the
 * XCLIENT command Dovecot's pop3-login accepts from trusted networks.
 */
#ifndef MW_P3_HDR_H
#define MW_P3_HDR_H

#include <sys/socket.h>
#include <stddef.h>

#define P3_HDR_MAX	128		/* longest header or XCLIENT line */

/* PROXY v1 line for a client src connected to the proxy at dst. */
int	p3_proxy_v1(const struct sockaddr *src, const struct sockaddr *dst,
	    char *buf, size_t sz);
/* PROXY v2 binary header (no TLVs). */
int	p3_proxy_v2(const struct sockaddr *src, const struct sockaddr *dst,
	    unsigned char *buf, size_t sz);
/* "XCLIENT ADDR=<ip> PORT=<port>\r\n". */
int	p3_xclient_line(const struct sockaddr *src, char *buf, size_t sz);

#endif
