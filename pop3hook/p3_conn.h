/* SPDX-License-Identifier: ISC */
/*
 * p3_conn.h: pop3hook's sockets outside a session: one libev loop per
 * worker thread, each with its own SO_REUSEPORT listeners, accepting
 * clients under max_connections and max_connections_per_ip; the backend's
 * address; buffer pools; the graceful stop.
 */
#ifndef MW_P3_CONN_H
#define MW_P3_CONN_H

#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "policy.h"

#define P3_WORKERS_MAX	64		/* threads at most */
#define P3_POOL_KEEP	64		/* free buffers kept per pool */
#define P3_POOL_KEEP_BULK 4		/* free bulk buffers kept */
#define P3_SID_LEN	16		/* hex digits of a session id */

/* Free buffers of one size, per worker (no lock: one thread uses it). */
struct p3_pool {
	size_t		 size;		/* octets per buffer */
	void		*free;		/* singly linked free buffers */
	unsigned	 nfree;		/* how many */
	unsigned	 keep;		/* most kept; 0 means P3_POOL_KEEP */
};

struct p3_worker;

/* One listening socket of one worker. */
struct p3_listener {
	ev_io		 w;		/* readable: a client waits */
	int		 fd;		/* the socket */
	struct p3_worker *wk;		/* owner */
};

/* One thread with its own event loop. */
struct p3_worker {
	pthread_t	 tid;		/* the thread */
	struct ev_loop	*loop;		/* its loop */
	unsigned	 id;		/* 0 .. n-1 */
	ev_async	 wake;		/* the main thread asks to stop */
	ev_timer	 accept_pause;	/* accept() paused after EMFILE */
	struct p3_listener *ls;		/* its listeners */
	size_t		 nls;		/* how many */
	unsigned long	 sessions;	/* open sessions */
	bool		 stopping;	/* no more accepting */
	atomic_bool	 done;		/* the loop has ended */
	struct p3_pool	 cpool;		/* client input buffers */
	struct p3_pool	 spool;		/* server input buffers */
	struct p3_pool	 bpool;		/* server input buffers of bodies */
	unsigned	 nbulk;		/* bulk buffers sessions hold */
	bool		 bulk_short;	/* ran out of them (logged once) */
	struct p3_pool	 sesspool;	/* session structs */
	uint64_t	 sid_state;	/* session id generator (splitmix64) */
};

/* Where the backend is. */
struct p3_backend {
	struct sockaddr_storage sa;	/* its address */
	socklen_t	 salen;		/* address length */
};

/* Resolve "host:port" or "unix:/path"; 0 or -1 with a message in err. */
int	p3_backend_resolve(const char *spec, struct p3_backend *,
	    char *err, size_t errsz);
/* Install the backend address new sessions connect to. */
void	p3_backend_set(const struct p3_backend *);
/* Copy the current backend address. */
void	p3_backend_get(struct p3_backend *);

/* Parse "host:port" or "[v6]:port" into host and port strings. */
int	p3_split_hostport(const char *spec, char *host, size_t hostsz,
	    char *port, size_t portsz);

/* Bind every listen address for n workers; exits 1 with a message on
 * failure (before privileges are dropped). */
void	p3_listen_all(const struct policy *, unsigned n);
/* Start the n worker threads (signals blocked in them). */
void	p3_workers_start(void);
/* Ask every worker to stop accepting and end when its sessions end. */
void	p3_workers_stop(void);
/* Whether every worker has ended. */
bool	p3_workers_done(void);
/* How many workers. */
unsigned p3_workers_count(void);

/* A buffer of size octets from the pool (malloc when the pool is empty). */
void	*p3_pool_get(struct p3_pool *, size_t size);
/* Give a buffer back. */
void	p3_pool_put(struct p3_pool *, void *, size_t size);

/* A new session id: P3_SID_LEN hex digits and a NUL. */
void	p3_session_id(struct p3_worker *, char out[P3_SID_LEN + 1]);

#endif
