/* SPDX-License-Identifier: ISC */
/*
 * p3_relay.h: one proxied POP3 session: the client socket, the backend
 * socket, their fixed buffers and the one timer, driven by libev and
 * judged by p3_state.
 */
#ifndef MW_P3_RELAY_H
#define MW_P3_RELAY_H

#include <sys/socket.h>

#include "p3_conn.h"

#define P3_SIN_SIZE	16384		/* backend -> client buffer: status lines */
#define P3_SIN_BULK	524288		/* the same while a body is relayed */
#define P3_BULK_MAX	32		/* bulk buffers in use per worker */
#define P3_RESERVE	128		/* kept free for pop3hook's own -ERR */

/* Take over an accepted client socket (already counted in p3_iptab). */
void	p3_session_start(struct p3_worker *, int fd,
	    const struct sockaddr *sa, socklen_t salen,
	    const unsigned char addr16[16]);

#endif
