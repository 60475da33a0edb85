/* SPDX-License-Identifier: ISC */
/*
 * p3load: the POP3 load generator of the benchmark.  Clients on one epoll
 * loop run full sessions, fetch a large message over and over, or hold
 * connections open after the greeting; the result is one key=value line.
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define P3LOAD_LINE_MAX		512	/* longest status line accepted */
#define P3LOAD_READ_SIZE	(256 * 1024)	/* shared read buffer */
#define P3LOAD_MAX_SAMPLES	(8 * 1024 * 1024)	/* latency samples kept */
#define P3LOAD_MAX_CLIENTS	100000	/* -c upper bound */
#define P3LOAD_CONNECT_BURST	128	/* idle mode: greetings awaited at once */

/* What the clients do. */
enum p3load_mode {
	P3LOAD_SESSIONS,		/* full sessions, one after another */
	P3LOAD_RETR,			/* log in once, RETR 1 in a loop */
	P3LOAD_IDLE			/* connect, read the greeting, wait */
};

/* The reply a client waits for. */
enum p3load_step {
	P3LOAD_ST_FREE,			/* no connection */
	P3LOAD_ST_GREETING,		/* connect sent, greeting due */
	P3LOAD_ST_CAPA,			/* CAPA sent */
	P3LOAD_ST_USER,			/* USER sent */
	P3LOAD_ST_PASS,			/* PASS sent */
	P3LOAD_ST_STAT,			/* STAT sent */
	P3LOAD_ST_LIST,			/* LIST sent */
	P3LOAD_ST_RETR,			/* RETR 1 sent */
	P3LOAD_ST_QUIT,			/* QUIT sent */
	P3LOAD_ST_IDLE			/* greeted, holding the connection */
};

/* The reply awaited, named for messages (indexed by enum p3load_step). */
static const char *const p3load_step_names[] = {
	"no connection", "greeting", "CAPA", "USER", "PASS", "STAT", "LIST",
	"RETR", "QUIT", "idle"
};

/* Where the multi-line scanner stands (RFC 1939 section 3 terminator). */
enum p3load_ml {
	P3LOAD_ML_BOL,			/* at the start of a line */
	P3LOAD_ML_MID,			/* inside a line */
	P3LOAD_ML_DOT,			/* "." at the start of a line */
	P3LOAD_ML_DOTCR			/* ".\r" at the start of a line */
};

/* One simulated POP3 client. */
struct p3load_client {
	int		 fd;		/* socket, -1 when free */
	int		 index;		/* position in the client table */
	enum p3load_step step;		/* reply awaited */
	int		 multiline;	/* 1 while reading a multi-line body */
	enum p3load_ml	 ml;		/* multi-line scanner state */
	char		 line[P3LOAD_LINE_MAX]; /* status line so far */
	size_t		 linelen;	/* octets in line */
	double		 started;	/* session start (monotonic seconds) */
	double		 deadline;	/* give up on the session after this */
	unsigned long long body;	/* octets of the current body */
	unsigned long long want;	/* octets RETR announced */
};

/* Command line and run-wide counters. */
struct p3load_run {
	enum p3load_mode mode;		/* -m */
	struct sockaddr_in addr;	/* -H, -p */
	int		 nclients;	/* -c */
	double		 duration;	/* -d: measured seconds */
	double		 warmup;	/* -w: seconds before measuring */
	double		 timeout;	/* -t: per-session limit */
	const char	*user;		/* -u: user name or prefix */
	int		 nusers;	/* -U: users prefix0..prefixN-1 */
	const char	*password;	/* -P */
	int		 epfd;		/* the epoll instance */
	struct p3load_client *clients;	/* the client table */
	double		 t_measure;	/* measuring starts */
	double		 t_end;		/* measuring ends */
	unsigned long long sessions;	/* sessions done while measuring */
	unsigned long long errors;	/* failures while measuring */
	unsigned long long all_errors;	/* failures, warm-up included */
	unsigned long long bytes;	/* octets read while measuring */
	unsigned long long retrs;	/* complete RETRs while measuring */
	double		*lat;		/* session latencies (seconds) */
	size_t		 nlat;		/* samples in lat */
	size_t		 lat_cap;	/* room in lat */
	int		 greeted;	/* idle mode: clients greeted */
	int		 pending;	/* idle mode: greetings awaited */
	int		 next_idle;	/* idle mode: next client to connect */
	char		 first_error[160]; /* reason of the first failure */
	pid_t		 pgid;		/* -g: process group whose CPU to count */
	long long	 cpu0;		/* its CPU ticks when measuring starts */
	long long	 cpu1;		/* and when it ends */
	int		 cpu_state;	/* 0 none yet, 1 started, 2 ended */
};

static volatile sig_atomic_t p3load_stop;

static void	usage(void) __attribute__((noreturn));
static double	p3load_now(void);
static void	p3load_fail(struct p3load_run *, struct p3load_client *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
static int	p3load_send(struct p3load_run *, struct p3load_client *,
		    enum p3load_step, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

/* Print the usage and exit 1. */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: p3load [-m sessions|retr|idle] [-H host] [-p port] "
	    "[-c clients]\n"
	    "              [-d seconds] [-w warmup] [-t timeout] "
	    "[-u user] [-U nusers] [-P password]\n"
	    "              [-g pgid]\n");
	exit(1);
}

/* Monotonic time in seconds. */
static double
p3load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* SIGINT/SIGTERM: stop at the next loop turn. */
static void
p3load_signal_cb(int sig)
{
	(void)sig;
	p3load_stop = 1;
}

/*
 * CPU time, in clock ticks, of every process in process group pgid: user
 * and system time of each, and of its children already reaped (a
 * per-client process that ended counts through its parent).  -1 when
 * /proc cannot be read or no process is in the group.
 */
static long long
p3load_group_cpu(pid_t pgid)
{
	DIR *d;
	struct dirent *de;
	char path[300], buf[1024], *p;
	long long sum = 0, ut, st, cut, cst;
	ssize_t n;
	int fd, pg, found = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* After the command name: state ppid pgrp ... utime stime
		 * cutime cstime (fields 3, 4, 5, 14-17 of proc(5)). */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %*d %d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %lld %lld %lld %lld", &pg, &ut, &st, &cut, &cst) != 5)
			continue;
		if (pg == pgid) {
			sum += ut + st + cut + cst;
			found = 1;
		}
	}
	closedir(d);
	return found ? sum : -1;
}

/* Whether the run is in its measuring window. */
static int
p3load_measuring(const struct p3load_run *r, double t)
{
	return t >= r->t_measure && t < r->t_end;
}

/* Close a client's connection and mark it free. */
static void
p3load_close(struct p3load_run *r, struct p3load_client *c)
{
	if (c->fd >= 0) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->step = P3LOAD_ST_FREE;
	c->multiline = 0;
	c->linelen = 0;
}

/* Count a failed session, remember the first reason, close it. */
static void
p3load_fail(struct p3load_run *r, struct p3load_client *c,
    const char *fmt, ...)
{
	va_list ap;

	if (r->all_errors++ == 0) {
		va_start(ap, fmt);
		vsnprintf(r->first_error, sizeof(r->first_error), fmt, ap);
		va_end(ap);
	}
	if (p3load_measuring(r, p3load_now()))
		r->errors++;
	if (c->step == P3LOAD_ST_GREETING && r->mode == P3LOAD_IDLE)
		r->pending--;
	if (c->step == P3LOAD_ST_IDLE)
		r->greeted--;	/* the server dropped an idle client */
	p3load_close(r, c);
}

/* The user name client c logs in as. */
static void
p3load_user(const struct p3load_run *r, const struct p3load_client *c,
    char *buf, size_t len)
{
	if (r->nusers > 0)
		snprintf(buf, len, "%s%d", r->user, c->index % r->nusers);
	else
		snprintf(buf, len, "%s", r->user);
}

/* Send one command line; commands are short, so a short write fails. */
static int
p3load_send(struct p3load_run *r, struct p3load_client *c,
    enum p3load_step next, const char *fmt, ...)
{
	char	buf[256];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
		p3load_fail(r, c, "command too long");
		return -1;
	}
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (send(c->fd, buf, n, MSG_NOSIGNAL) != n) {
		p3load_fail(r, c, "send: %s", strerror(errno));
		return -1;
	}
	c->step = next;
	/* A retr client lives for the whole run: time each command. */
	if (r->mode == P3LOAD_RETR)
		c->deadline = p3load_now() + r->timeout;
	return 0;
}

/* Open a new connection for client c (non-blocking connect). */
static void
p3load_connect(struct p3load_run *r, struct p3load_client *c)
{
	struct epoll_event ev;
	int fd, one = 1;

	c->step = P3LOAD_ST_GREETING;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		p3load_fail(r, c, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->multiline = 0;
	c->linelen = 0;
	c->started = p3load_now();
	c->deadline = c->started + r->timeout;
	if (connect(fd, (struct sockaddr *)&r->addr, sizeof(r->addr)) == -1 &&
	    errno != EINPROGRESS) {
		p3load_fail(r, c, "connect: %s", strerror(errno));
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		p3load_fail(r, c, "epoll_ctl: %s", strerror(errno));
}

/* Record a finished session and its latency. */
static void
p3load_session_done(struct p3load_run *r, struct p3load_client *c)
{
	double t = p3load_now();
	double *n;

	p3load_close(r, c);
	if (!p3load_measuring(r, t))
		return;
	r->sessions++;
	if (r->nlat == r->lat_cap && r->lat_cap < P3LOAD_MAX_SAMPLES) {
		r->lat_cap = r->lat_cap ? r->lat_cap * 2 : 65536;
		if ((n = realloc(r->lat, r->lat_cap * sizeof(*n))) == NULL) {
			perror("p3load: realloc");
			exit(1);
		}
		r->lat = n;
	}
	if (r->nlat < r->lat_cap)
		r->lat[r->nlat++] = t - c->started;
}

/* A multi-line body has ended: move the session on. */
static void
p3load_body_done(struct p3load_run *r, struct p3load_client *c)
{
	c->multiline = 0;
	switch (c->step) {
	case P3LOAD_ST_CAPA: {
		char user[128];

		p3load_user(r, c, user, sizeof(user));
		p3load_send(r, c, P3LOAD_ST_USER, "USER %s", user);
		break;
	}
	case P3LOAD_ST_LIST:
		p3load_send(r, c, P3LOAD_ST_RETR, "RETR 1");
		break;
	case P3LOAD_ST_RETR:
		if (c->body < c->want) {
			p3load_fail(r, c, "RETR body %llu octets, announced %llu",
			    c->body, c->want);
			break;
		}
		if (p3load_measuring(r, p3load_now()))
			r->retrs++;
		if (r->mode == P3LOAD_RETR)
			p3load_send(r, c, P3LOAD_ST_RETR, "RETR 1");
		else
			p3load_send(r, c, P3LOAD_ST_QUIT, "QUIT");
		break;
	default:
		p3load_fail(r, c, "multi-line reply to %s",
		    p3load_step_names[c->step]);
	}
}

/* Start reading a multi-line body after a +OK status line. */
static void
p3load_begin_body(struct p3load_client *c)
{
	c->multiline = 1;
	c->ml = P3LOAD_ML_BOL;
	c->body = 0;
}

/* React to one complete status line of client c. */
static void
p3load_status(struct p3load_run *r, struct p3load_client *c)
{
	char user[128];

	c->line[c->linelen] = '\0';
	if (strncmp(c->line, "+OK", 3) != 0) {
		p3load_fail(r, c, "%s: %.100s",
		    p3load_step_names[c->step], c->line);
		return;
	}
	switch (c->step) {
	case P3LOAD_ST_GREETING:
		if (r->mode == P3LOAD_IDLE) {
			c->step = P3LOAD_ST_IDLE;
			r->greeted++;
			r->pending--;
		} else if (r->mode == P3LOAD_SESSIONS) {
			p3load_send(r, c, P3LOAD_ST_CAPA, "CAPA");
		} else {
			p3load_user(r, c, user, sizeof(user));
			p3load_send(r, c, P3LOAD_ST_USER, "USER %s", user);
		}
		break;
	case P3LOAD_ST_CAPA:
	case P3LOAD_ST_LIST:
		p3load_begin_body(c);
		break;
	case P3LOAD_ST_RETR:
		c->want = strtoull(c->line + 3, NULL, 10);
		p3load_begin_body(c);
		break;
	case P3LOAD_ST_USER:
		p3load_send(r, c, P3LOAD_ST_PASS, "PASS %s", r->password);
		break;
	case P3LOAD_ST_PASS:
		if (r->mode == P3LOAD_RETR)
			p3load_send(r, c, P3LOAD_ST_RETR, "RETR 1");
		else
			p3load_send(r, c, P3LOAD_ST_STAT, "STAT");
		break;
	case P3LOAD_ST_STAT:
		p3load_send(r, c, P3LOAD_ST_LIST, "LIST");
		break;
	case P3LOAD_ST_QUIT:
		p3load_session_done(r, c);
		break;
	default:
		p3load_fail(r, c, "unexpected line after %s",
		    p3load_step_names[c->step]);
	}
}

/*
 * Scan body octets for the terminating ".\r\n" line; return how many
 * octets of p belong to the body, terminator included, or -1 while the
 * body goes on past len.
 */
static ssize_t
p3load_scan_body(struct p3load_client *c, const char *p, size_t len)
{
	const char *s = p, *end = p + len, *nl;

	while (s < end) {
		switch (c->ml) {
		case P3LOAD_ML_BOL:
			c->ml = *s == '.' ? P3LOAD_ML_DOT : P3LOAD_ML_MID;
			if (*s == '.')
				s++;
			break;
		case P3LOAD_ML_MID:
			if ((nl = memchr(s, '\n', end - s)) == NULL) {
				s = end;
				break;
			}
			s = nl + 1;
			c->ml = P3LOAD_ML_BOL;
			break;
		case P3LOAD_ML_DOT:
			if (*s == '\r') {
				c->ml = P3LOAD_ML_DOTCR;
				s++;
			} else if (*s == '\n') {
				return s + 1 - p;
			} else {
				c->ml = P3LOAD_ML_MID;
			}
			break;
		case P3LOAD_ML_DOTCR:
			if (*s == '\n')
				return s + 1 - p;
			c->ml = P3LOAD_ML_MID;
			break;
		}
	}
	return -1;
}

/* Feed what client c read: status lines and bodies, in order. */
static void
p3load_feed(struct p3load_run *r, struct p3load_client *c, const char *p,
    size_t len)
{
	const char *nl;
	ssize_t n;
	size_t take;

	while (len > 0 && c->fd >= 0) {
		if (c->multiline) {
			n = p3load_scan_body(c, p, len);
			take = n < 0 ? len : (size_t)n;
			c->body += take;
			p += take;
			len -= take;
			if (n >= 0) {
				c->body = c->body >= 3 ? c->body - 3 : 0;
				p3load_body_done(r, c);
			}
			continue;
		}
		nl = memchr(p, '\n', len);
		take = nl ? (size_t)(nl - p) + 1 : len;
		if (c->linelen + take >= sizeof(c->line)) {
			p3load_fail(r, c, "status line too long");
			return;
		}
		memcpy(c->line + c->linelen, p, take);
		c->linelen += take;
		p += take;
		len -= take;
		if (nl == NULL)
			return;
		while (c->linelen > 0 && (c->line[c->linelen - 1] == '\n' ||
		    c->line[c->linelen - 1] == '\r'))
			c->linelen--;
		p3load_status(r, c);
		c->linelen = 0;
		if (c->step == P3LOAD_ST_IDLE && len > 0) {
			p3load_fail(r, c, "data after the greeting");
			return;
		}
	}
}

/* Read everything client c has pending. */
static void
p3load_read(struct p3load_run *r, struct p3load_client *c, char *buf)
{
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, P3LOAD_READ_SIZE, 0);
		if (n > 0) {
			if (p3load_measuring(r, p3load_now()))
				r->bytes += n;
			p3load_feed(r, c, buf, n);
			if (c->fd < 0 || n < P3LOAD_READ_SIZE)
				return;
			continue;
		}
		if (n == 0) {
			p3load_fail(r, c, "connection closed awaiting %s",
			    p3load_step_names[c->step]);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			p3load_fail(r, c, "recv: %s", strerror(errno));
		return;
	}
}

/* Time out stuck clients; in sessions and retr mode, reconnect them. */
static void
p3load_tend(struct p3load_run *r, double t)
{
	struct p3load_client *c;
	int i;

	for (i = 0; i < r->nclients; i++) {
		c = &r->clients[i];
		if (c->fd >= 0 && t > c->deadline && c->step != P3LOAD_ST_IDLE)
			p3load_fail(r, c, "timeout awaiting %s",
			    p3load_step_names[c->step]);
		if (r->mode != P3LOAD_IDLE && c->fd < 0 && t < r->t_end)
			p3load_connect(r, c);
	}
}

/* Idle mode: connect more clients, a burst at a time. */
static void
p3load_idle_connect(struct p3load_run *r)
{
	while (r->next_idle < r->nclients &&
	    r->pending < P3LOAD_CONNECT_BURST) {
		r->pending++;
		p3load_connect(r, &r->clients[r->next_idle++]);
	}
}

/* Sort helper for the latency samples. */
static int
p3load_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of the sorted samples, in milliseconds. */
static double
p3load_quantile(const struct p3load_run *r, double q)
{
	size_t i;

	if (r->nlat == 0)
		return 0;
	i = (size_t)(q * (r->nlat - 1) + 0.5);
	return r->lat[i] * 1000;
}

/* Print the result line of the run. */
static void
p3load_report(struct p3load_run *r, double seconds)
{
	if (r->mode == P3LOAD_SESSIONS) {
		if (r->nlat > 0)
			qsort(r->lat, r->nlat, sizeof(*r->lat), p3load_cmp);
		printf("mode=sessions clients=%d seconds=%.2f sessions=%llu "
		    "errors=%llu rate=%.1f p50_ms=%.2f p99_ms=%.2f",
		    r->nclients, seconds, r->sessions, r->errors,
		    r->sessions / seconds, p3load_quantile(r, 0.50),
		    p3load_quantile(r, 0.99));
	} else if (r->mode == P3LOAD_RETR) {
		printf("mode=retr clients=%d seconds=%.2f retrs=%llu "
		    "errors=%llu bytes=%llu mbytes_per_s=%.1f",
		    r->nclients, seconds, r->retrs, r->errors, r->bytes,
		    r->bytes / seconds / 1e6);
	} else {
		printf("mode=idle clients=%d connected=%d errors=%llu",
		    r->nclients, r->greeted, r->all_errors);
	}
	/* The process group's CPU over the measured window (-g). */
	if (r->cpu_state == 2 && r->cpu0 >= 0 && r->cpu1 >= 0 &&
	    r->cpu1 >= r->cpu0)
		printf(" cpu_ms=%.0f",
		    (r->cpu1 - r->cpu0) * 1000.0 / sysconf(_SC_CLK_TCK));
	printf("\n");
	if (r->all_errors > 0)
		fprintf(stderr, "p3load: %llu failures, first: %s\n",
		    r->all_errors, r->first_error);
	fflush(stdout);
}

/* Run the event loop until the run is over. */
static void
p3load_loop(struct p3load_run *r)
{
	struct epoll_event evs[256];
	char *buf;
	double t, tick = 0;
	int i, n, announced = 0;

	if ((buf = malloc(P3LOAD_READ_SIZE)) == NULL) {
		perror("p3load: malloc");
		exit(1);
	}
	for (;;) {
		t = p3load_now();
		if (r->pgid > 0 && r->cpu_state == 0 && t >= r->t_measure &&
		    r->mode != P3LOAD_IDLE) {
			r->cpu0 = p3load_group_cpu(r->pgid);
			r->cpu_state = 1;
		}
		if (p3load_stop || (r->mode != P3LOAD_IDLE && t >= r->t_end) ||
		    (r->mode == P3LOAD_IDLE && announced && t >= r->t_end)) {
			if (r->cpu_state == 1 && !p3load_stop) {
				r->cpu1 = p3load_group_cpu(r->pgid);
				r->cpu_state = 2;
			}
			break;
		}
		if (r->mode == P3LOAD_IDLE) {
			p3load_idle_connect(r);
			if (!announced && r->pending == 0 &&
			    r->next_idle == r->nclients) {
				printf("ready connected=%d errors=%llu\n",
				    r->greeted, r->all_errors);
				fflush(stdout);
				announced = 1;
				r->t_end = t + r->duration;
			}
		}
		if (t - tick >= 0.05) {
			p3load_tend(r, t);
			tick = t;
		}
		n = epoll_wait(r->epfd, evs, 256, 20);
		for (i = 0; i < n; i++) {
			struct p3load_client *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLIN)
				p3load_read(r, c, buf);
			if (c->fd >= 0 && (evs[i].events &
			    (EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
				p3load_read(r, c, buf);
			if (c->fd >= 0 && (evs[i].events &
			    (EPOLLERR | EPOLLHUP)))
				p3load_fail(r, c, "connection error awaiting %s",
				    p3load_step_names[c->step]);
			if (r->mode != P3LOAD_IDLE && c->fd < 0 &&
			    p3load_now() < r->t_end)
				p3load_connect(r, c);
		}
	}
	free(buf);
}

/* Parse a number option or exit through usage(). */
static double
p3load_number(const char *s, double lo, double hi)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

/* Parse the command line into r. */
static void
p3load_options(struct p3load_run *r, int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int ch, port = 110;

	r->mode = P3LOAD_SESSIONS;
	r->nclients = 1;
	r->duration = 5;
	r->warmup = 1;
	r->timeout = 30;
	r->user = "u";
	r->nusers = 0;
	r->password = "pw";
	while ((ch = getopt(argc, argv, "c:d:g:H:m:p:P:t:u:U:w:")) != -1) {
		switch (ch) {
		case 'c':
			r->nclients = p3load_number(optarg, 1,
			    P3LOAD_MAX_CLIENTS);
			break;
		case 'd':
			r->duration = p3load_number(optarg, 0.1, 86400);
			break;
		case 'g':
			r->pgid = p3load_number(optarg, 1, INT_MAX);
			break;
		case 'H':
			host = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "sessions") == 0)
				r->mode = P3LOAD_SESSIONS;
			else if (strcmp(optarg, "retr") == 0)
				r->mode = P3LOAD_RETR;
			else if (strcmp(optarg, "idle") == 0)
				r->mode = P3LOAD_IDLE;
			else
				usage();
			break;
		case 'p':
			port = p3load_number(optarg, 1, 65535);
			break;
		case 'P':
			r->password = optarg;
			break;
		case 't':
			r->timeout = p3load_number(optarg, 0.1, 3600);
			break;
		case 'u':
			r->user = optarg;
			break;
		case 'U':
			r->nusers = p3load_number(optarg, 0, 1000000);
			break;
		case 'w':
			r->warmup = p3load_number(optarg, 0, 3600);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || strlen(r->user) > 100 ||
	    strlen(r->password) > 200)
		usage();
	r->addr.sin_family = AF_INET;
	r->addr.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &r->addr.sin_addr) != 1) {
		fprintf(stderr, "p3load: bad IPv4 address %s\n", host);
		exit(1);
	}
}

/* Raise the descriptor limit to what the clients need. */
static void
p3load_rlimit(int nclients)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < (rlim_t)nclients + 64) {
		rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < (rlim_t)nclients + 64) {
			fprintf(stderr, "p3load: descriptor limit %lu is too "
			    "low for %d clients\n",
			    (unsigned long)rl.rlim_cur, nclients);
			exit(1);
		}
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct p3load_run r;
	struct sigaction sa;
	double t0;
	int i;

	memset(&r, 0, sizeof(r));
	p3load_options(&r, argc, argv);
	p3load_rlimit(r.nclients);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = p3load_signal_cb;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (r.clients = calloc(r.nclients, sizeof(*r.clients))) == NULL) {
		perror("p3load");
		return 1;
	}
	for (i = 0; i < r.nclients; i++) {
		r.clients[i].fd = -1;
		r.clients[i].index = i;
	}
	t0 = p3load_now();
	r.t_measure = t0 + r.warmup;
	r.t_end = r.t_measure + r.duration;
	p3load_loop(&r);
	p3load_report(&r, p3load_now() < r.t_end && r.mode != P3LOAD_IDLE ?
	    p3load_now() - r.t_measure : r.duration);
	for (i = 0; i < r.nclients; i++)
		p3load_close(&r, &r.clients[i]);
	close(r.epfd);
	free(r.clients);
	free(r.lat);
	if (r.mode == P3LOAD_IDLE)
		return r.greeted == r.nclients ? 0 : 1;
	return r.sessions + r.retrs > 0 && r.errors == 0 ? 0 : 1;
}
