/* SPDX-License-Identifier: ISC */
/*
 * null_relay: the POP3 benchmark's floor, a TCP relay that copies bytes
 * both ways and does nothing else (no parsing, no policy, no logging, no
 * timers).  One thread on one epoll loop, edge-triggered, a fixed buffer
 * per direction: what a second loopback TCP hop costs at the least, the
 * baseline any proxy in front of Dovecot pays before it reads a command.
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NR_EVENTS	256		/* epoll events per wait */

struct nr_pair;

/* One side of a relayed connection; epoll's data points here. */
struct nr_end {
	int		 fd;		/* the socket, -1 once closed */
	struct nr_pair	*pair;		/* the connection it belongs to */
	int		 hup;		/* its peer's FIN has been seen queued */
};

/* Bytes read from one end, not yet written to the other. */
struct nr_dir {
	char		*buf;		/* nr_bufsize octets */
	size_t		 off;		/* first octet not yet written */
	size_t		 len;		/* octets held */
	int		 eof;		/* the reading end sent FIN */
	int		 shut;		/* FIN passed on to the writing end */
};

/* A client and its backend connection. */
struct nr_pair {
	struct nr_end	 client;	/* accepted */
	struct nr_end	 server;	/* connected to the backend */
	struct nr_dir	 up;		/* client -> server */
	struct nr_dir	 down;		/* server -> client */
	struct nr_pair	*dead;		/* next closed pair, to be freed */
};

static int			 nr_ep;		/* the epoll instance */
static size_t			 nr_bufsize = 64 * 1024; /* per direction */
static struct sockaddr_in	 nr_backend;	/* where clients go */
static struct nr_pair		*nr_dead;	/* closed, not yet freed */

/* Parse "a.b.c.d:port" into sin; -1 if it is not that. */
static int
nr_addr(const char *s, struct sockaddr_in *sin)
{
	char		 host[64];
	const char	*colon = strrchr(s, ':');
	long		 port;
	char		*end;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/*
 * Close both ends; the pair is freed after the current batch of events,
 * which may still hold its other end.
 */
static void
nr_close(struct nr_pair *p)
{
	close(p->client.fd);
	if (p->server.fd != -1)
		close(p->server.fd);
	p->client.fd = p->server.fd = -1;	/* closed: see nr_event */
	p->dead = nr_dead;
	nr_dead = p;
}

/* Free the pairs closed during the last batch. */
static void
nr_reap(void)
{
	struct nr_pair	*p;

	while ((p = nr_dead) != NULL) {
		nr_dead = p->dead;
		free(p->up.buf);
		free(p->down.buf);
		free(p);
	}
}

/*
 * Move what can move from end src to end dst through d: write what is
 * held, read more when it is all written.  A short read means the socket
 * is drained (edge-triggered: new data brings a new event), unless a FIN
 * was already queued behind the data: then read on to the end of file.
 * Returns -1 on an error that ends the pair.
 */
static int
nr_pump(struct nr_dir *d, struct nr_end *src, int dst)
{
	ssize_t	 n;
	int	 drained = 0;

	for (;;) {
		if (d->len > 0) {
			n = send(dst, d->buf + d->off, d->len, MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			d->off += (size_t)n;
			d->len -= (size_t)n;
			if (d->len > 0)
				return 0;
		}
		if (d->eof) {
			if (!d->shut && shutdown(dst, SHUT_WR) == 0)
				d->shut = 1;
			return 0;
		}
		if (drained)
			return 0;
		n = recv(src->fd, d->buf, nr_bufsize, 0);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		d->eof = n == 0;
		d->off = 0;
		d->len = (size_t)n;
		drained = (size_t)n < nr_bufsize && !src->hup;
	}
}

/* An event on either end: pump both directions, close when both ended. */
static void
nr_event(struct nr_end *e, uint32_t events)
{
	struct nr_pair	*p = e->pair;

	if (p->client.fd == -1)		/* closed earlier in this batch */
		return;
	if (events & EPOLLERR) {
		nr_close(p);
		return;
	}
	if (events & (EPOLLRDHUP | EPOLLHUP))
		e->hup = 1;
	if (nr_pump(&p->up, &p->client, p->server.fd) == -1 ||
	    nr_pump(&p->down, &p->server, p->client.fd) == -1 ||
	    (p->up.shut && p->down.shut)) {
		nr_close(p);
		return;
	}
}

/* Register fd, edge-triggered for reading and writing. */
static int
nr_watch(struct nr_end *e)
{
	struct epoll_event ev;

	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = e;
	return epoll_ctl(nr_ep, EPOLL_CTL_ADD, e->fd, &ev);
}

/* Accept every waiting client and connect each to the backend. */
static void
nr_accept(int lfd)
{
	struct nr_pair	*p;
	int		 fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) != -1) {
		if ((p = calloc(1, sizeof(*p))) == NULL ||
		    (p->up.buf = malloc(nr_bufsize)) == NULL ||
		    (p->down.buf = malloc(nr_bufsize)) == NULL) {
			if (p != NULL) {
				free(p->up.buf);
				free(p);
			}
			close(fd);
			continue;
		}
		p->client.fd = fd;
		p->client.pair = p;
		p->server.pair = p;
		p->server.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (p->server.fd == -1 ||
		    setsockopt(p->server.fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) == -1 ||
		    (connect(p->server.fd, (struct sockaddr *)&nr_backend,
		    sizeof(nr_backend)) == -1 && errno != EINPROGRESS) ||
		    nr_watch(&p->client) == -1 || nr_watch(&p->server) == -1) {
			nr_close(p);
			continue;
		}
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[NR_EVENTS], ev;
	struct sockaddr_in	 lsin;
	struct rlimit		 rl;
	int			 lfd, one = 1, i, n, c;

	while ((c = getopt(argc, argv, "s:")) != -1) {
		if (c != 's' || (nr_bufsize = strtoul(optarg, NULL, 10)) < 512)
			goto usage;
	}
	if (argc - optind != 2 || nr_addr(argv[optind], &lsin) == -1 ||
	    nr_addr(argv[optind + 1], &nr_backend) == -1)
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((nr_ep = epoll_create1(0)) == -1 ||
	    (lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&lsin, sizeof(lsin)) == -1 ||
	    listen(lfd, 4096) == -1) {
		perror("null_relay");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(nr_ep, EPOLL_CTL_ADD, lfd, &ev) == -1) {
		perror("null_relay: epoll_ctl");
		return 1;
	}
	for (;;) {
		if ((n = epoll_wait(nr_ep, evs, NR_EVENTS, -1)) == -1) {
			if (errno == EINTR)
				continue;
			perror("null_relay: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				nr_accept(lfd);
			else
				nr_event(evs[i].data.ptr, evs[i].events);
		}
		nr_reap();
	}
usage:
	fprintf(stderr, "usage: null_relay [-s bufsize] listen-addr:port "
	    "backend-addr:port\n");
	return 1;
}
