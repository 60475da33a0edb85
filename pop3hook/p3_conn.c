/* SPDX-License-Identifier: ISC */
/*
 * p3_conn.c: listeners and worker threads.  Each worker has its own libev
 * loop and its own SO_REUSEPORT socket per listen address, so the kernel
 * spreads clients over the cores and no lock is taken on the data path;
 * the only shared state is the policy snapshot, the backend address and
 * the connection counts (p3_iptab.c).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "log.h"
#include "p3_conn.h"
#include "p3_iptab.h"
#include "p3_relay.h"

#define P3_BACKLOG	1024		/* listen() backlog */
#define P3_ACCEPT_PAUSE	0.1		/* seconds without accept() after EMFILE */
#define P3_ACCEPT_BURST	64		/* accept() calls per readiness */

static const char p3_msg_busy[] = "-ERR [SYS/TEMP] Too many connections\r\n";

static struct p3_worker	 p3_workers[P3_WORKERS_MAX]; /* the threads */
static unsigned		 p3_nworkers;	/* how many */
static pthread_mutex_t	 p3_be_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p3_backend p3_be;		/* backend address, under p3_be_lock */

/* A pooled buffer: the free list is threaded through the buffers. */
struct p3_freebuf {
	struct p3_freebuf *next;	/* next free buffer */
};

/* A buffer from the pool, or a new one. */
void *
p3_pool_get(struct p3_pool *p, size_t size)
{
	struct p3_freebuf *b;

	if (p->size == size && p->free != NULL) {
		b = p->free;
		p->free = b->next;
		p->nfree--;
		return b;
	}
	return malloc(size);
}

/* Keep the buffer for reuse, or free it (other size, or enough kept). */
void
p3_pool_put(struct p3_pool *p, void *buf, size_t size)
{
	struct p3_freebuf *b = buf;

	if (p->size != size) {
		while ((b = p->free) != NULL) {
			p->free = b->next;
			free(b);
		}
		p->nfree = 0;
		p->size = size;
		b = buf;
	}
	if (p->nfree >= (p->keep != 0 ? p->keep : P3_POOL_KEEP)) {
		free(buf);
		return;
	}
	b->next = p->free;
	p->free = b;
	p->nfree++;
}

/*
 * A session id: splitmix64 over a per-worker state seeded at start-up
 * from getrandom(), so a session costs no system call for it; ids are
 * distinct within a worker and unpredictable from outside.
 */
void
p3_session_id(struct p3_worker *wk, char out[P3_SID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t	 z;
	int		 i;

	z = (wk->sid_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	for (i = P3_SID_LEN - 1; i >= 0; i--) {
		out[i] = hex[z & 0xf];
		z >>= 4;
	}
	out[P3_SID_LEN] = '\0';
}

/* Split "host:port", "[v6]:port" or "*:port" (host "") for getaddrinfo:
 * the configuration's own syntax, checked by pol_hostport(). */
int
p3_split_hostport(const char *spec, char *host, size_t hostsz, char *port,
    size_t portsz)
{
	unsigned	 p;

	if (pol_hostport(spec, host, hostsz, &p) == -1)
		return -1;
	snprintf(port, portsz, "%u", p);
	return 0;
}

/* Resolve the backend (start-up and reload only: may block on DNS). */
int
p3_backend_resolve(const char *spec, struct p3_backend *be, char *err,
    size_t errsz)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&be->sa;
	struct addrinfo	 hints, *res;
	char		 host[256], port[32];
	int		 rc;

	memset(be, 0, sizeof(*be));
	if (strncmp(spec, "unix:", 5) == 0) {
		if (strlen(spec + 5) == 0 ||
		    strlen(spec + 5) >= sizeof(sun->sun_path)) {
			snprintf(err, errsz, "backend %s: bad path", spec);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, spec + 5);
		be->salen = sizeof(*sun);
		return 0;
	}
	if (p3_split_hostport(spec, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		snprintf(err, errsz, "backend %s: not host:port", spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errsz, "backend %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	memcpy(&be->sa, res->ai_addr, res->ai_addrlen);
	be->salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Install the backend address for new sessions. */
void
p3_backend_set(const struct p3_backend *be)
{
	pthread_mutex_lock(&p3_be_lock);
	p3_be = *be;
	pthread_mutex_unlock(&p3_be_lock);
}

/* Copy the backend address. */
void
p3_backend_get(struct p3_backend *be)
{
	pthread_mutex_lock(&p3_be_lock);
	*be = p3_be;
	pthread_mutex_unlock(&p3_be_lock);
}

/* One listening socket for spec; exits 1 when it cannot be bound. */
static int
p3_listen_one(const char *spec)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[32];
	int		 fd, rc, one = 1;

	if (p3_split_hostport(spec, host, sizeof(host), port,
	    sizeof(port)) == -1)
		fatalx("listen %s: not host:port", spec);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints,
	    &res)) != 0)
		fatalx("listen %s: %s", spec, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("listen %s: socket", spec);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		fatal("listen %s: SO_REUSEPORT", spec);
	if (res->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	/* Accepted clients inherit it: no setsockopt() per session. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		fatal("cannot bind %s", spec);
	if (listen(fd, P3_BACKLOG) == -1)
		fatal("listen %s", spec);
	freeaddrinfo(res);
	return fd;
}

/* Tell an over-limit client so, without waiting, and close. */
static void
p3_refuse(int fd)
{
	(void)send(fd, p3_msg_busy, sizeof(p3_msg_busy) - 1,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* Stop or restart every listener of a worker. */
static void
p3_listeners_active(struct p3_worker *wk, bool on)
{
	size_t	 i;

	for (i = 0; i < wk->nls; i++) {
		if (on)
			ev_io_start(wk->loop, &wk->ls[i].w);
		else
			ev_io_stop(wk->loop, &wk->ls[i].w);
	}
}

/* Out of descriptors: stop accepting for a moment instead of spinning. */
static void
p3_accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct p3_worker *wk = w->data;

	if (!wk->stopping)
		p3_listeners_active(wk, true);
}

/* One accepted client: count it, then start its session or refuse. */
static void
p3_accepted(struct p3_worker *wk, int fd, struct sockaddr_storage *ss,
    socklen_t sl)
{
	struct policy	*p = pol_current();
	uint8_t		 a16[16];
	bool		 ok;

	if (cidr_addr16((struct sockaddr *)ss, a16) == -1)
		memset(a16, 0, sizeof(a16));
	ok = p3_iptab_acquire(a16, p->pop3.max_connections,
	    p->pop3.max_connections_per_ip);
	pol_unref(p);
	if (!ok) {
		p3_refuse(fd);
		return;
	}
	p3_session_start(wk, fd, (struct sockaddr *)ss, sl, a16);
}

/* A listener is readable: accept what is waiting. */
static void
p3_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct p3_listener *l = w->data;
	struct p3_worker *wk = l->wk;
	struct sockaddr_storage ss;
	socklen_t	 sl;
	int		 fd, i;

	for (i = 0; i < P3_ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			p3_accepted(wk, fd, &ss, sl);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("accept (pausing %.1fs)", P3_ACCEPT_PAUSE);
			p3_listeners_active(wk, false);
			ev_timer_set(&wk->accept_pause, P3_ACCEPT_PAUSE, 0.);
			ev_timer_start(loop, &wk->accept_pause);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
}

/* The main thread asks to stop: close the listeners, end when idle. */
static void
p3_wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct p3_worker *wk = w->data;
	size_t		 i;

	if (wk->stopping)
		return;
	wk->stopping = true;
	ev_timer_stop(loop, &wk->accept_pause);
	for (i = 0; i < wk->nls; i++) {
		ev_io_stop(loop, &wk->ls[i].w);
		close(wk->ls[i].fd);
	}
	if (wk->sessions == 0)
		ev_break(loop, EVBREAK_ALL);
}

/* Bind every listen address once per worker. */
void
p3_listen_all(const struct policy *pol, unsigned n)
{
	const struct strlist *ls = &pol->pop3.listen;
	struct p3_worker *wk;
	unsigned	 i;
	size_t		 j;

	if (ls->n == 0)
		fatalx("pop3 listen: no address");
	p3_nworkers = n < 1 ? 1 : (n > P3_WORKERS_MAX ? P3_WORKERS_MAX : n);
	for (i = 0; i < p3_nworkers; i++) {
		wk = &p3_workers[i];
		wk->id = i;
		wk->nls = ls->n;
		if ((wk->ls = calloc(ls->n, sizeof(*wk->ls))) == NULL)
			fatal("listeners");
		for (j = 0; j < ls->n; j++) {
			wk->ls[j].fd = p3_listen_one(ls->v[j]);
			wk->ls[j].wk = wk;
		}
	}
}

/* A worker thread: run its loop until asked to stop and idle. */
static void *
p3_worker_main(void *arg)
{
	struct p3_worker *wk = arg;

	ev_run(wk->loop, 0);
	atomic_store(&wk->done, true);
	return NULL;
}

/* Start the workers with every signal blocked (the main thread takes them). */
void
p3_workers_start(void)
{
	struct p3_worker *wk;
	sigset_t	 all, old;
	unsigned	 i;
	size_t		 j;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < p3_nworkers; i++) {
		wk = &p3_workers[i];
		if ((wk->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) ==
		    NULL)
			fatalx("cannot create an event loop");
		ev_async_init(&wk->wake, p3_wake_cb);
		wk->wake.data = wk;
		ev_async_start(wk->loop, &wk->wake);
		ev_init(&wk->accept_pause, p3_accept_pause_cb);
		wk->bpool.keep = P3_POOL_KEEP_BULK;
		if (getrandom(&wk->sid_state, sizeof(wk->sid_state), 0) !=
		    sizeof(wk->sid_state))
			wk->sid_state = (uint64_t)ev_time() * 1000003u ^
			    (uint64_t)getpid() << 32 ^ i;
		wk->accept_pause.data = wk;
		for (j = 0; j < wk->nls; j++) {
			ev_io_init(&wk->ls[j].w, p3_accept_cb, wk->ls[j].fd,
			    EV_READ);
			wk->ls[j].w.data = &wk->ls[j];
			ev_io_start(wk->loop, &wk->ls[j].w);
		}
		if (pthread_create(&wk->tid, NULL, p3_worker_main, wk) != 0)
			fatalx("cannot start a worker thread");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Ask every worker to stop. */
void
p3_workers_stop(void)
{
	unsigned	 i;

	for (i = 0; i < p3_nworkers; i++)
		ev_async_send(p3_workers[i].loop, &p3_workers[i].wake);
}

/* Whether every worker has ended (then join them). */
bool
p3_workers_done(void)
{
	unsigned	 i;

	for (i = 0; i < p3_nworkers; i++)
		if (!atomic_load(&p3_workers[i].done))
			return false;
	for (i = 0; i < p3_nworkers; i++)
		pthread_join(p3_workers[i].tid, NULL);
	return true;
}

/* How many workers. */
unsigned
p3_workers_count(void)
{
	return p3_nworkers;
}
