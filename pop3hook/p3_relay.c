/* SPDX-License-Identifier: ISC */
/*
 * p3_relay.c: one proxied session.  Two sockets, two fixed buffers (taken
 * from the worker's pool only while they hold bytes, so an idle client
 * costs little more than this struct), one timer.  Every read is judged
 * by p3_state before a byte moves on; a side is not read while the other
 * side's buffer is full (back-pressure, as nginx does).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evt.h"
#include "log.h"
#include "mcp.h"
#include "p3_hdr.h"
#include "p3_iptab.h"
#include "p3_relay.h"
#include "p3_state.h"

#define P3_FLUSH_TIMEOUT 5.0		/* seconds to deliver a last -ERR */
#define P3_LOWAT	(P3_SIN_BULK / 2) /* backend wake-up size in bodies */
#define P3_LOWAT_WAIT	0.02		/* seconds before a raised one is dropped */

static const char p3_msg_unavail[] = "-ERR [SYS/TEMP] Service unavailable\r\n";
static const char p3_msg_idle[] = "-ERR Disconnected for inactivity\r\n";

/*
 * One client and its backend connection.  Kept small: an idle client costs
 * this struct and libev's slots for two descriptors, nothing else (the
 * event identity is built only when an event is written).
 */
struct p3_session {
	struct p3_worker *wk;		/* owning worker */
	struct policy	*pol;		/* policy snapshot, referenced */
	ev_io		 cio;		/* client socket watcher */
	ev_io		 bio;		/* backend socket watcher */
	ev_timer	 timer;		/* the one timer of every wait */
	ev_tstamp	 last;		/* last successful read or write */
	struct p3_conf	 conf;		/* policy as this client sees it */
	struct p3_state	 st;		/* protocol state */
	union {
		struct sockaddr	 sa;	/* client address */
		struct sockaddr_in in;	/* IPv4 */
		struct sockaddr_in6 in6; /* IPv6 */
	} client;
	char		*user;		/* login name for events, or NULL */
	char		*cin;		/* client -> backend bytes, or NULL */
	char		*sin;		/* backend -> client bytes, or NULL */
	int		 cfd;		/* client socket */
	int		 bfd;		/* backend socket, -1 once closed */
	uint32_t	 ccap;		/* size of cin */
	uint32_t	 clen;		/* octets in cin */
	uint32_t	 cjudged;	/* octets judged (may be sent) */
	uint32_t	 csent;		/* octets sent to the backend */
	uint32_t	 scap;		/* size of sin */
	uint32_t	 slen;		/* octets in sin */
	uint32_t	 sdone;		/* octets processed (may be sent) */
	uint32_t	 ssent;		/* octets sent to the client */
	uint16_t	 userlen;	/* octets in user */
	int8_t		 block;		/* prot id of a pending block, or -1 */
	uint8_t		 timed_phase;	/* enum p3_phase the timer was set for */
	char		 sid[P3_SID_LEN + 1]; /* session id of events and logs */
	bool		 connecting;	/* backend connect() in progress */
	bool		 c_eof;		/* client sent FIN */
	bool		 b_eof;		/* backend sent FIN or failed */
	bool		 b_shut;	/* FIN sent to the backend */
	bool		 finishing;	/* last bytes to the client, then close */
	bool		 dead;		/* close at the end of this callback */
	bool		 b_failed;	/* backend unusable before login */
	bool		 lowat;		/* backend SO_RCVLOWAT raised */
	bool		 lowat_stalled;	/* it stalled once: not again */
	bool		 bulk_denied;	/* the worker's bulk buffers ran out */
	bool		 s_full;	/* the last backend read filled sin */
};

static void	p3_client_cb(struct ev_loop *, ev_io *, int);
static void	p3_backend_cb(struct ev_loop *, ev_io *, int);
static void	p3_timer_cb(struct ev_loop *, ev_timer *, int);
static void	p3_update(struct p3_session *);

/* Hook: an event, about this session as the events module names it. */
static void
p3_report_hook(void *arg, enum prot_id id, enum pol_action a,
    const char *detail, size_t len)
{
	struct p3_session *s = arg;
	struct evt_session e;

	evt_session_init(&e, REG_SVC_POP3, &s->client.sa);
	memcpy(e.session, s->sid, sizeof(s->sid));
	if (s->user != NULL)
		evt_session_user(&e, s->user, s->userlen);
	evt_attack(&e, id, a, NULL, detail, len);
}

/* Hook: the login name, kept (cut to EVT_USER_MAX) for later events. */
static void
p3_user_hook(void *arg, const char *user, size_t len)
{
	struct p3_session *s = arg;
	char		*u;

	if (len > EVT_USER_MAX)
		len = EVT_USER_MAX;
	if ((u = malloc(len > 0 ? len : 1)) == NULL) {
		log_warn("%s: login name", s->sid);
		return;			/* events say "user":null */
	}
	memcpy(u, user, len);
	free(s->user);
	s->user = u;
	s->userlen = (uint16_t)len;
}

/* Hook: send XCLIENT now (right after the greeting, nothing else queued). */
static void
p3_xclient_hook(void *arg)
{
	struct p3_session *s = arg;
	char		 line[P3_HDR_MAX];
	int		 n;

	if (s->b_shut || s->bfd < 0)
		return;			/* the client is gone already */
	n = p3_xclient_line(&s->client.sa, line, sizeof(line));
	if (n < 0 || send(s->bfd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		log_warnx("%s: cannot send XCLIENT to the backend",
		    s->sid);
		s->b_failed = true;
	}
}

static const struct p3_hooks p3_relay_hooks = {
	.report = p3_report_hook,
	.user = p3_user_hook,
	.xclient = p3_xclient_hook,
	.scan = mcp_scan_arg,
};

/* Watch fd for exactly the events wanted. */
static void
p3_io_want(struct ev_loop *loop, ev_io *w, int events)
{
	if (w->fd < 0 || (ev_is_active(w) && (w->events & (EV_READ |
	    EV_WRITE)) == events))
		return;
	ev_io_stop(loop, w);
	if (events == 0)
		return;
	ev_io_set(w, w->fd, events);
	ev_io_start(loop, w);
}

/* Seconds the current wait may last. */
static ev_tstamp
p3_timeout(const struct p3_session *s)
{
	const struct pol_pop3 *p = &s->pol->pop3;

	if (s->finishing)
		return P3_FLUSH_TIMEOUT;
	switch (s->st.phase) {
	case P3_PH_GREETING:
		return (ev_tstamp)p->backend_timeout;
	case P3_PH_AUTHORIZATION:
		return (ev_tstamp)p->preauth_timeout;
	default:
		return (ev_tstamp)p->session_timeout;
	}
}

/* Arm the timer for the current wait, counted from the last activity. */
static void
p3_timer_rearm(struct p3_session *s)
{
	ev_tstamp	 after;

	after = s->last + p3_timeout(s) - ev_now(s->wk->loop);
	if (s->lowat && after > P3_LOWAT_WAIT)
		after = P3_LOWAT_WAIT;
	s->timer.repeat = after > 0.001 ? after : 0.001;
	ev_timer_again(s->wk->loop, &s->timer);
	s->timed_phase = s->st.phase;
}

/*
 * Take a buffer for the backend's bytes: a large one while a multi-line
 * body or a raw relay runs (fewer, larger reads and writes), else a small
 * one; both come back to the worker's pools as soon as they are empty.
 * A worker lends at most P3_BULK_MAX large ones at a time; past that,
 * bodies go through small ones (slower, never unbounded).
 */
static int
p3_sin_get(struct p3_session *s, bool bulk)
{
	struct p3_pool	*pool;
	uint32_t	 size;

	s->bulk_denied = bulk && s->wk->nbulk >= P3_BULK_MAX;
	if (s->bulk_denied) {
		if (!s->wk->bulk_short)
			log_info("worker %u: %d body buffers in use; more "
			    "bodies go through small ones", s->wk->id,
			    P3_BULK_MAX);
		s->wk->bulk_short = true;
		bulk = false;
	}
	pool = bulk ? &s->wk->bpool : &s->wk->spool;
	size = bulk ? P3_SIN_BULK : P3_SIN_SIZE;
	if ((s->sin = p3_pool_get(pool, size)) == NULL)
		return -1;
	s->scap = size;
	if (bulk)
		s->wk->nbulk++;
	return 0;
}

/* Give the backend buffer back to its pool. */
static void
p3_sin_put(struct p3_session *s)
{
	if (s->scap == P3_SIN_BULK) {
		p3_pool_put(&s->wk->bpool, s->sin, P3_SIN_BULK);
		if (--s->wk->nbulk == 0)
			s->wk->bulk_short = false;
	} else
		p3_pool_put(&s->wk->spool, s->sin, P3_SIN_SIZE);
	s->sin = NULL;
	s->scap = 0;
}

/*
 * End the session: close the backend now, send the client what is
 * processed and msg (NULL: nothing more), then close the client.
 */
static void
p3_finish(struct p3_session *s, const char *msg, size_t len)
{
	if (s->finishing)
		return;
	s->finishing = true;
	if (s->bfd >= 0) {
		ev_io_stop(s->wk->loop, &s->bio);
		close(s->bfd);
		s->bfd = -1;
		s->bio.fd = -1;
	}
	if (msg != NULL) {
		if (s->sin == NULL && p3_sin_get(s, false) == -1) {
			s->dead = true;
			return;
		}
		s->slen = s->sdone;	/* what was not processed is dropped */
		if (len > s->scap - s->slen)
			PANIC("p3 reserve too small");
		memcpy(s->sin + s->slen, msg, len);
		s->slen += (uint32_t)len;
		s->sdone = s->slen;
	}
	s->last = ev_now(s->wk->loop);
	p3_timer_rearm(s);
}

/* Prevent: exactly one "-ERR <attack_info>" and close (SPEC section 3). */
static void
p3_finish_block(struct p3_session *s, int prot)
{
	char	 msg[P3_RESERVE];
	int	 n;

	n = snprintf(msg, sizeof(msg), "-ERR %s\r\n",
	    reg_get((enum prot_id)prot)->attack_info);
	if (n < 0 || (size_t)n >= sizeof(msg))
		PANIC("p3 block message too long");
	p3_finish(s, msg, (size_t)n);
}

/* Free the session. */
static void
p3_close(struct p3_session *s)
{
	struct p3_worker *wk = s->wk;
	uint8_t		 a16[16];

	ev_io_stop(wk->loop, &s->cio);
	ev_io_stop(wk->loop, &s->bio);
	ev_timer_stop(wk->loop, &s->timer);
	close(s->cfd);
	if (s->bfd >= 0)
		close(s->bfd);
	if (s->cin != NULL)
		p3_pool_put(&wk->cpool, s->cin, s->ccap);
	if (s->sin != NULL)
		p3_sin_put(s);
	if (cidr_addr16(&s->client.sa, a16) == -1)
		memset(a16, 0, sizeof(a16));
	p3_iptab_release(a16);
	pol_unref(s->pol);
	free(s->user);
	p3_pool_put(&wk->sesspool, s, sizeof(*s));
	if (--wk->sessions == 0 && wk->stopping)
		ev_break(wk->loop, EVBREAK_ALL);
}

/*
 * The backend connection is up (PROXY modes only wait for it): send the
 * PROXY header first, alone.
 */
static void
p3_backend_connected(struct p3_session *s)
{
	unsigned char	 hdr[P3_HDR_MAX];
	union {
		struct sockaddr	 sa;
		struct sockaddr_storage ss;
	} local;
	socklen_t	 sl;
	int		 err = 0, n = 0;

	s->connecting = false;
	sl = sizeof(err);
	if (getsockopt(s->bfd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 ||
	    err != 0) {
		errno = err;
		log_warn("%s: backend connect", s->sid);
		s->b_failed = true;
		return;
	}
	sl = sizeof(local);
	if (getsockname(s->cfd, &local.sa, &sl) == -1)
		local.sa.sa_family = AF_UNSPEC;
	if (s->conf.client_address == POL_CA_PROXY_V1)
		n = p3_proxy_v1(&s->client.sa, &local.sa, (char *)hdr,
		    sizeof(hdr));
	else
		n = p3_proxy_v2(&s->client.sa, &local.sa, hdr, sizeof(hdr));
	if (n > 0 && send(s->bfd, hdr, (size_t)n, MSG_NOSIGNAL) != n) {
		log_warn("%s: PROXY header to the backend", s->sid);
		s->b_failed = true;
	}
}

/*
 * Start the non-blocking connect to the backend.  Without a PROXY header
 * nothing is sent before the greeting, so the session waits for that
 * greeting alone: a failed connect shows as the read's error.
 */
static int
p3_backend_connect(struct p3_session *s)
{
	struct p3_backend be;
	int		 one = 1;

	p3_backend_get(&be);
	s->bfd = socket(be.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->bfd == -1) {
		log_warn("backend socket");
		return -1;
	}
	if (be.sa.ss_family != AF_UNIX)
		(void)setsockopt(s->bfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(s->bfd, (struct sockaddr *)&be.sa, be.salen) == -1 &&
	    errno != EINPROGRESS) {
		log_warn("%s: backend connect", s->sid);
		return -1;
	}
	s->connecting = s->conf.client_address == POL_CA_PROXY_V1 ||
	    s->conf.client_address == POL_CA_PROXY_V2;
	return 0;
}

/* Read what the client sent into cin. */
static void
p3_read_client(struct p3_session *s)
{
	ssize_t	 n;

	if (s->cin == NULL) {
		if ((s->cin = p3_pool_get(&s->wk->cpool, s->ccap)) == NULL) {
			s->dead = true;
			return;
		}
	}
	if (s->clen >= s->ccap)
		return;
	n = recv(s->cfd, s->cin + s->clen, s->ccap - s->clen, 0);
	if (n > 0) {
		s->clen += (uint32_t)n;
		s->last = ev_now(s->wk->loop);
	} else if (n == 0)
		s->c_eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		s->dead = true;		/* reset: nothing to deliver */
}

/* Read what the backend sent into sin, keeping the reserve free. */
static void
p3_read_backend(struct p3_session *s)
{
	ssize_t	 n;
	size_t	 room;

	/* A large buffer for a body announced large, or once a small one
	 * came back full: short answers never hold one. */
	if (s->sin == NULL && p3_sin_get(s, (s->st.srv_mode == P3_SRV_BODY ||
	    s->st.phase == P3_PH_RAW) && (s->s_full ||
	    s->st.body_left > P3_SIN_SIZE)) == -1) {
		s->dead = true;
		return;
	}
	if (s->slen >= s->scap - P3_RESERVE)
		return;
	room = s->scap - P3_RESERVE - s->slen;
	n = recv(s->bfd, s->sin + s->slen, room, 0);
	if (n > 0) {
		s->s_full = (size_t)n == room;
		s->slen += (uint32_t)n;
		s->last = ev_now(s->wk->loop);
	} else if (n == 0)
		s->b_eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		if (s->st.phase == P3_PH_GREETING)
			log_warn("%s: backend connect", s->sid);
		s->b_eof = true;
	}
}

/* Send processed backend bytes to the client. */
static void
p3_flush_client(struct p3_session *s)
{
	ssize_t	 n;

	if (s->sin == NULL || s->ssent >= s->sdone)
		return;
	n = send(s->cfd, s->sin + s->ssent, s->sdone - s->ssent,
	    MSG_NOSIGNAL);
	if (n > 0) {
		s->ssent += (uint32_t)n;
		s->last = ev_now(s->wk->loop);
	} else if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		s->dead = true;
}

/* Send judged client bytes to the backend. */
static void
p3_flush_backend(struct p3_session *s)
{
	ssize_t	 n;

	if (s->cin == NULL || s->csent >= s->cjudged || s->bfd < 0 ||
	    s->connecting || s->b_eof)
		return;
	n = send(s->bfd, s->cin + s->csent, s->cjudged - s->csent,
	    MSG_NOSIGNAL);
	if (n > 0) {
		s->csent += (uint32_t)n;
		s->last = ev_now(s->wk->loop);
	} else if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		s->b_eof = true;
}

/* Judge what arrived on both sides; start a block or the end. */
static void
p3_process(struct p3_session *s)
{
	size_t	 len, done;

	if (s->b_failed) {
		p3_finish(s, p3_msg_unavail, sizeof(p3_msg_unavail) - 1);
		return;
	}
	if (s->sin != NULL && s->sdone < s->slen) {
		len = s->slen;
		done = s->sdone;
		if (p3_server_input(&s->st, s->sin, &len, &done) ==
		    P3_V_BLOCK) {
			s->slen = (uint32_t)len;
			s->sdone = (uint32_t)done;
			p3_finish_block(s, s->st.block_prot);
			return;
		}
		s->slen = (uint32_t)len;
		s->sdone = (uint32_t)done;
		if (s->b_failed) {	/* the XCLIENT hook failed */
			p3_finish(s, p3_msg_unavail,
			    sizeof(p3_msg_unavail) - 1);
			return;
		}
	}
	if (s->block < 0 && s->cin != NULL && s->cjudged < s->clen) {
		done = s->cjudged;
		if (p3_client_input(&s->st, s->cin, s->clen, &done) ==
		    P3_V_BLOCK)
			s->block = s->st.block_prot;
		s->cjudged = (uint32_t)done;
	}
	if (s->block >= 0 && (!p3_awaiting_server(&s->st) || s->b_eof))
		p3_finish_block(s, s->block);
}

/* Handle the ends of the connections once buffers are flushed. */
static void
p3_check_eof(struct p3_session *s)
{
	/*
	 * The server closes after answering QUIT (RFC 1939 section 6): once
	 * the answer is out, close both sides now rather than wait for the
	 * two FINs.
	 */
	if (s->st.quit_answered && s->sdone == s->slen &&
	    (s->sin == NULL || s->ssent == s->slen)) {
		s->dead = true;
		return;
	}
	if (s->b_eof && !s->finishing) {
		if (s->st.phase == P3_PH_GREETING)
			p3_finish(s, p3_msg_unavail,
			    sizeof(p3_msg_unavail) - 1);
		else
			p3_finish(s, NULL, 0);
	}
	if (s->c_eof && !s->finishing && s->csent == s->cjudged &&
	    (s->cjudged == s->clen || !p3_client_paused(&s->st))) {
		/*
		 * The client is done: with no answer due, nothing more can
		 * reach it, so the session (and its slot) ends now; else the
		 * backend gets FIN and its last answers are relayed.
		 */
		if (!p3_awaiting_server(&s->st) &&
		    s->st.phase != P3_PH_RAW &&
		    (s->sin == NULL || s->ssent == s->slen)) {
			s->dead = true;
			return;
		}
		if (!s->b_shut && !s->connecting && s->bfd >= 0) {
			shutdown(s->bfd, SHUT_WR);
			s->b_shut = true;
		}
	}
	if (s->finishing && (s->sin == NULL || s->ssent == s->sdone))
		s->dead = true;
}

/* Move unsent bytes to the front, or give an empty buffer back. */
static void
p3_tidy(struct p3_session *s)
{
	if (s->cin != NULL && s->csent == s->clen) {
		p3_pool_put(&s->wk->cpool, s->cin, s->ccap);
		s->cin = NULL;
		s->clen = s->cjudged = s->csent = 0;
	} else if (s->cin != NULL && s->csent > 0 &&
	    s->ccap - s->clen < s->ccap / 4) {
		memmove(s->cin, s->cin + s->csent, s->clen - s->csent);
		s->clen -= s->csent;
		s->cjudged -= s->csent;
		s->csent = 0;
	}
	if (s->sin != NULL && s->ssent == s->slen) {
		p3_sin_put(s);
		s->slen = s->sdone = s->ssent = 0;
	} else if (s->sin != NULL && s->ssent > 0 &&
	    s->scap - s->slen < s->scap / 4) {
		memmove(s->sin, s->sin + s->ssent, s->slen - s->ssent);
		s->slen -= s->ssent;
		s->sdone -= s->ssent;
		s->ssent = 0;
	}
}

/* Watch each socket for what the buffers allow. */
static void
p3_watch(struct p3_session *s)
{
	int	 cev = 0, bev = 0;

	if (!s->finishing) {
		if (!s->c_eof && s->block < 0 && s->clen < s->ccap)
			cev |= EV_READ;
		if (!s->connecting && !s->b_eof &&
		    (s->sin == NULL || s->slen < s->scap - P3_RESERVE))
			bev |= EV_READ;
		if (s->connecting || (s->csent < s->cjudged && !s->b_eof))
			bev |= EV_WRITE;
	}
	if (s->ssent < s->sdone)
		cev |= EV_WRITE;
	p3_io_want(s->wk->loop, &s->cio, cev);
	if (s->bfd >= 0)
		p3_io_want(s->wk->loop, &s->bio, bev);
}

/*
 * While a long RETR body flows, wake up for the backend only when
 * P3_LOWAT octets wait: Dovecot and pop3hook often share a CPU, and a
 * wake-up per write of the server costs more than the relaying.  Raised
 * only while the size the server announced says that many octets are
 * still to come; a server that announced more than it sends is caught by
 * the timer after P3_LOWAT_WAIT.
 */
static void
p3_lowat(struct p3_session *s)
{
	bool	 want;
	int	 v;

	want = !s->finishing && !s->lowat_stalled && !s->bulk_denied &&
	    s->bfd >= 0 && !s->b_eof && s->st.srv_mode == P3_SRV_BODY &&
	    s->st.body_left >= P3_LOWAT;
	if (want == s->lowat)
		return;
	v = want ? P3_LOWAT : 1;
	if (s->bfd >= 0 && setsockopt(s->bfd, SOL_SOCKET, SO_RCVLOWAT, &v,
	    sizeof(v)) == -1 && want)
		return;
	s->lowat = want;
	p3_timer_rearm(s);
}

/* After any event: judge, send, close or wait. */
static void
p3_update(struct p3_session *s)
{
	if (!s->dead && !s->finishing)
		p3_process(s);
	if (!s->dead) {
		p3_flush_backend(s);
		p3_flush_client(s);
	}
	if (!s->dead)
		p3_check_eof(s);
	if (s->dead) {
		p3_close(s);
		return;
	}
	p3_tidy(s);
	p3_lowat(s);
	if (s->timed_phase != s->st.phase && !s->finishing)
		p3_timer_rearm(s);
	p3_watch(s);
}

/* The client socket is ready. */
static void
p3_client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct p3_session *s = w->data;

	if (revents & EV_READ)
		p3_read_client(s);
	if ((revents & EV_WRITE) && !s->dead)
		p3_flush_client(s);
	p3_update(s);
}

/* The backend socket is ready. */
static void
p3_backend_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct p3_session *s = w->data;

	if (s->connecting && (revents & (EV_WRITE | EV_READ)))
		p3_backend_connected(s);
	else {
		if (revents & EV_READ)
			p3_read_backend(s);
		if (revents & EV_WRITE)
			p3_flush_backend(s);
	}
	p3_update(s);
}

/* The timer: re-arm if there was activity since, else end the wait. */
static void
p3_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct p3_session *s = w->data;

	if (s->lowat && ev_now(loop) - s->last >= P3_LOWAT_WAIT) {
		s->lowat_stalled = true;
		p3_update(s);
		return;
	}
	if (s->last + p3_timeout(s) > ev_now(loop) + 0.0005) {
		p3_timer_rearm(s);
		return;
	}
	if (s->finishing)
		s->dead = true;
	else if (s->st.phase == P3_PH_GREETING) {
		log_warnx("%s: backend timeout", s->sid);
		p3_finish(s, p3_msg_unavail, sizeof(p3_msg_unavail) - 1);
	} else if (s->st.srv_mode == P3_SRV_STATUS)
		p3_finish(s, p3_msg_idle, sizeof(p3_msg_idle) - 1);
	else
		p3_finish(s, NULL, 0);
	p3_update(s);
}

/* Size of the client buffer: the longest line the policy lets through. */
static uint32_t
p3_cin_size(const struct p3_conf *c)
{
	long	 n = c->line_limit > c->sasl_limit ? c->line_limit :
	    c->sasl_limit;

	if (n < 1024)
		n = 1024;
	return (uint32_t)((n + 64 + 1023) & ~1023L);
}

/* Take over an accepted client (TCP_NODELAY comes from the listener). */
void
p3_session_start(struct p3_worker *wk, int fd, const struct sockaddr *sa,
    socklen_t salen, const unsigned char addr16[16])
{
	struct p3_session *s;
	enum pol_action	 actions[PROT_COUNT];

	if ((s = p3_pool_get(&wk->sesspool, sizeof(*s))) == NULL) {
		log_warn("session");
		close(fd);
		p3_iptab_release(addr16);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->wk = wk;
	s->cfd = fd;
	s->bfd = -1;
	s->block = -1;
	memcpy(&s->client, sa, salen < sizeof(s->client) ? salen :
	    sizeof(s->client));
	p3_session_id(wk, s->sid);
	s->pol = pol_current();
	pol_actions(s->pol, sa, actions);
	p3_conf_init(&s->conf, s->pol, actions);
	p3_state_init(&s->st, &s->conf, &p3_relay_hooks, s);
	s->ccap = p3_cin_size(&s->conf);
	wk->sessions++;
	ev_io_init(&s->cio, p3_client_cb, fd, EV_READ);
	s->cio.data = s;
	ev_init(&s->timer, p3_timer_cb);
	s->timer.data = s;
	s->last = ev_now(wk->loop);
	p3_timer_rearm(s);
	if (p3_backend_connect(s) == -1)
		s->b_failed = true;
	ev_io_init(&s->bio, p3_backend_cb, s->bfd, EV_WRITE);
	s->bio.data = s;
	p3_update(s);
}
