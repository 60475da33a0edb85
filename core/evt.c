/* SPDX-License-Identifier: ISC */
/*
 * evt.c: attack events, SPEC section 4.
 *
 * How logging never stalls the data path: evt_attack() formats the JSON and
 * syslog lines on the caller's stack, then takes a mutex only long enough
 * to copy them into a fixed ring of EVT_QUEUE slots and signal a writer
 * thread.  Only the writer touches the disk (write(2) on an O_APPEND file)
 * and syslogd (whose socket can block when it is slow).  When the ring is
 * full the event is counted as lost, never waited for; the writer reports
 * losses and a missing or unwritable file once, and carries on.  Flooding is
 * capped before the ring: beyond log.max_events_per_second per protection,
 * events are only counted, and the writer emits one "suppressed" summary per
 * protection and second.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "evt.h"
#include "log.h"

#define EVT_QUEUE	256		/* ring slots */
#define EVT_SYSLOG_MAX	EVT_LINE_MAX	/* octets of one syslog line */
/* Escaped size of n peer octets: 6 per octet in JSON (\u00XX), 4 in
 * syslog (\xNN), and room for quotes and the NUL. */
#define EVT_JSON_ESC(n)	((n) * 6 + 8)
#define EVT_KV_ESC(n)	((n) * 4 + 8)

struct evt_slot {
	char		 json[EVT_LINE_MAX];	/* with '\n' */
	size_t		 json_len;		/* octets in json */
	char		 sys[EVT_SYSLOG_MAX];	/* without '\n' */
};

static struct {
	pthread_mutex_t	 lock;		/* guards everything below */
	pthread_cond_t	 wake;		/* writer: work or shutdown */
	pthread_t	 writer;	/* the writer thread */
	pid_t		 writer_pid;	/* process the writer runs in */
	bool		 inited;	/* evt_init done */
	bool		 stopping;	/* evt_shutdown called */
	struct evt_slot	 ring[EVT_QUEUE]; /* queued events */
	unsigned	 head;		/* next slot to write out */
	unsigned	 count;		/* queued slots */
	unsigned long	 lost;		/* dropped: ring full */
	struct evt_rate	 rate[PROT_COUNT]; /* per protection */
	long		 max_rate;	/* max_events_per_second */
	bool		 use_syslog;	/* log.syslog */
	int		 fd;		/* json_file, -1 if never opened */
	bool		 json_on;	/* fd is the current json_file */
	char		 path[4096];	/* json_file */
	bool		 warned;	/* file trouble reported */
} evt = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.fd = -1,
	.max_rate = 100,
};

/* Milliseconds since the epoch. */
static long long
evt_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of a valid UTF-8 sequence at p (RFC 3629), 0 if invalid. */
static size_t
evt_utf8_len(const unsigned char *p, size_t n)
{
	size_t	 len, i;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * JSON string body (RFC 8259 section 7) of peer bytes: quote, backslash and
 * control bytes escaped, valid UTF-8 kept, each invalid byte replaced by
 * U+FFFD.  At most maxchars characters of input are taken, whole: a
 * sequence or an escape is never cut in half.
 */
int
evt_json_escape(char *buf, size_t sz, const void *in, size_t len,
    size_t maxchars)
{
	const unsigned char	*p = in;
	size_t			 i = 0, o = 0, chars = 0, n;
	char			 esc[8];
	const char		*add;

	while (i < len && chars < maxchars) {
		unsigned char c = p[i];

		n = 1;
		add = esc;
		if (c == '"')
			add = "\\\"";
		else if (c == '\\')
			add = "\\\\";
		else if (c == '\n')
			add = "\\n";
		else if (c == '\r')
			add = "\\r";
		else if (c == '\t')
			add = "\\t";
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		else if (c < 0x80) {
			esc[0] = (char)c;
			esc[1] = '\0';
		} else if ((n = evt_utf8_len(p + i, len - i)) == 0) {
			n = 1;
			add = "\\ufffd";
		} else {
			memcpy(esc, p + i, n);
			esc[n] = '\0';
		}
		if (o + strlen(add) >= sz)
			return -1;
		memcpy(buf + o, add, strlen(add));
		o += strlen(add);
		i += n;
		chars++;
	}
	buf[o] = '\0';
	return (int)o;
}

/*
 * syslog value: printable ASCII kept, '"' and '\' backslash-escaped, any
 * other byte as \xNN, so one event is one line and grep/fail2ban can trust
 * what they read.
 */
static int
evt_kv_escape(char *buf, size_t sz, const void *in, size_t len,
    size_t maxchars)
{
	const unsigned char	*p = in;
	size_t			 i, o = 0;

	for (i = 0; i < len && i < maxchars; i++) {
		if (o + 5 >= sz)
			return -1;
		if (p[i] == '"' || p[i] == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)p[i];
		} else if (p[i] < 0x20 || p[i] >= 0x7f)
			o += (size_t)snprintf(buf + o, sz - o, "\\x%02x", p[i]);
		else
			buf[o++] = (char)p[i];
	}
	buf[o] = '\0';
	return (int)o;
}

/* attack_name with the VERB filled in where the registry has a %s. */
static void
evt_attack_name(char *buf, size_t sz, const struct reg_prot *rp,
    const char *verb)
{
	const char	*pct = strstr(rp->attack_name, "%s");

	if (pct == NULL) {
		snprintf(buf, sz, "%s", rp->attack_name);
		return;
	}
	snprintf(buf, sz, "%.*s%.64s%s", (int)(pct - rp->attack_name),
	    rp->attack_name, verb != NULL ? verb : "", pct + 2);
}

/* The JSON line of one event. */
int
evt_format_json(char *buf, size_t sz, long long ts_ms,
    const struct evt_session *s, enum prot_id id, enum pol_action act,
    const char *verb, const void *detail, size_t detail_len)
{
	const struct reg_prot	*rp = reg_get(id);
	char			 name[256], ename[EVT_JSON_ESC(256)];
	char			 user[EVT_JSON_ESC(EVT_USER_MAX)];
	char			 det[EVT_JSON_ESC(EVT_DETAIL_MAX)], ts[32], client[160];
	char			 port[16];
	struct tm		 tm;
	time_t			 t = (time_t)(ts_ms / 1000);
	int			 n;

	gmtime_r(&t, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03dZ",
	    (int)(ts_ms % 1000));
	evt_attack_name(name, sizeof(name), rp, verb);
	if (evt_json_escape(ename, sizeof(ename), name, strlen(name),
	    sizeof(name)) < 0 ||
	    evt_json_escape(det, sizeof(det), detail != NULL ? detail : "",
	    detail != NULL ? detail_len : 0, EVT_DETAIL_MAX) < 0)
		return -1;
	if (s->user_len == 0)
		strcpy(user, "null");
	else {
		user[0] = '"';
		n = evt_json_escape(user + 1, sizeof(user) - 2, s->user,
		    s->user_len, EVT_USER_MAX);
		if (n < 0)
			return -1;
		strcpy(user + 1 + n, "\"");
	}
	if (s->client[0] == '\0') {
		strcpy(client, "null");
		strcpy(port, "null");
	} else {
		snprintf(client, sizeof(client), "\"%s\"", s->client);
		snprintf(port, sizeof(port), "%u", s->client_port);
	}
	n = snprintf(buf, sz, "{\"ts\":\"%s\",\"event\":\"attack\","
	    "\"service\":\"%s\",\"protection\":\"%s\",\"action\":\"%s\","
	    "\"attack_name\":\"%s\",\"attack_info\":\"%s\",\"client\":%s,"
	    "\"client_port\":%s,\"session\":\"%s\",\"user\":%s,"
	    "\"detail\":\"%s\"}\n", ts, reg_service_name(rp->service),
	    rp->fullname, reg_action_name(act), ename, rp->attack_info,
	    client, port, s->session, user, det);
	return n < 0 || (size_t)n >= sz ? -1 : n;
}

/* The syslog line of one event: the same fields as key=value pairs. */
int
evt_format_syslog(char *buf, size_t sz, const struct evt_session *s,
    enum prot_id id, enum pol_action act, const char *verb,
    const void *detail, size_t detail_len)
{
	const struct reg_prot	*rp = reg_get(id);
	char			 raw[256], name[EVT_KV_ESC(256)];
	char			 user[EVT_KV_ESC(EVT_USER_MAX)];
	char			 det[EVT_KV_ESC(EVT_DETAIL_MAX)];
	int			 n;

	/* The VERB is peer bytes too: escaped like every other value. */
	evt_attack_name(raw, sizeof(raw), rp, verb);
	if (evt_kv_escape(name, sizeof(name), raw, strlen(raw),
	    sizeof(raw)) < 0)
		return -1;
	if (s->user_len == 0)
		strcpy(user, "-");
	else {
		user[0] = '"';
		n = evt_kv_escape(user + 1, sizeof(user) - 2, s->user,
		    s->user_len, EVT_USER_MAX);
		if (n < 0)
			return -1;
		strcpy(user + 1 + n, "\"");
	}
	if (evt_kv_escape(det, sizeof(det), detail != NULL ? detail : "",
	    detail != NULL ? detail_len : 0, EVT_DETAIL_MAX) < 0)
		return -1;
	n = snprintf(buf, sz, "attack service=%s protection=%s action=%s "
	    "attack_name=\"%s\" attack_info=\"%s\" client=%s client_port=%u "
	    "session=%s user=%s detail=\"%s\"", reg_service_name(rp->service),
	    rp->fullname, reg_action_name(act), name, rp->attack_info,
	    s->client[0] != '\0' ? s->client : "-", s->client_port,
	    s->session, user, det);
	return n < 0 || (size_t)n >= sz ? -1 : n;
}

/* Count one event in its second; false once the second's quota is used.
 * suppressed accumulates until the writer reports and clears it. */
bool
evt_rate_allow(struct evt_rate *r, long long now_sec, long max)
{
	if (r->second != now_sec) {
		r->second = now_sec;
		r->count = 0;
	}
	if (r->count >= max) {
		r->suppressed++;
		return false;
	}
	r->count++;
	return true;
}

/*
 * Open (or reopen, for log rotation) the JSON file; trouble is reported
 * once per path.  The writer may be writing to the descriptor outside the
 * lock, so it is never closed or reused here: a new file is dup3()ed onto
 * the same number, and a log switched off keeps it open, unused.
 */
static void
evt_open_file(void)
{
	int	 fd;

	evt.json_on = false;
	if (evt.path[0] == '\0')
		return;
	fd = open(evt.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NONBLOCK, 0640);
	if (fd == -1) {
		if (!evt.warned)
			log_warn("cannot open event log %s", evt.path);
		evt.warned = true;
		return;
	}
	if (evt.fd == -1)
		evt.fd = fd;
	else {
		if (dup3(fd, evt.fd, O_CLOEXEC) == -1) {
			log_warn("cannot reopen event log %s", evt.path);
			close(fd);
			return;
		}
		close(fd);
	}
	evt.json_on = true;
}

/* Write one line to the JSON file; a failure is reported once. */
static void
evt_write_json(int fd, const char *line, size_t len)
{
	ssize_t	 n;

	if (fd == -1)
		return;
	do
		n = write(fd, line, len);
	while (n == -1 && errno == EINTR);
	if ((n == -1 || (size_t)n != len) && !evt.warned) {
		log_warn("cannot write event log %s", evt.path);
		evt.warned = true;
	}
}

/* Queue summaries for protections whose events were suppressed. */
static void
evt_summaries_locked(char out[][EVT_LINE_MAX], char sys[][EVT_SYSLOG_MAX],
    int *n)
{
	long long	 now = evt_now_ms();
	char		 ts[32];
	struct tm	 tm;
	time_t		 t = (time_t)(now / 1000);
	int		 i, k;

	gmtime_r(&t, &tm);
	k = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + k, sizeof(ts) - (size_t)k, ".%03dZ", (int)(now % 1000));
	*n = 0;
	for (i = 0; i < PROT_COUNT; i++) {
		const struct reg_prot *rp = reg_get((enum prot_id)i);
		long	 c = evt.rate[i].suppressed;

		if (c == 0)
			continue;
		evt.rate[i].suppressed = 0;
		snprintf(out[*n], EVT_LINE_MAX, "{\"ts\":\"%s\",\"event\":"
		    "\"suppressed\",\"service\":\"%s\",\"protection\":\"%s\","
		    "\"count\":%ld}\n", ts, reg_service_name(rp->service),
		    rp->fullname, c);
		snprintf(sys[*n], EVT_SYSLOG_MAX, "suppressed service=%s "
		    "protection=%s count=%ld", reg_service_name(rp->service),
		    rp->fullname, c);
		(*n)++;
	}
}

/* The writer: drains the ring, once a second writes the summaries. */
static void *
evt_writer_cb(void *arg)
{
	static char		 sum[PROT_COUNT][EVT_LINE_MAX];
	static char		 sumsys[PROT_COUNT][EVT_SYSLOG_MAX];
	const struct evt_slot	*slot;
	struct timespec		 until;
	unsigned long		 lost;
	time_t			 now, summarised = 0;
	int			 nsum, i, fd;
	bool			 sys;

	(void)arg;
	pthread_mutex_lock(&evt.lock);
	for (;;) {
		while (evt.count == 0 && !evt.stopping) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			if (pthread_cond_timedwait(&evt.wake, &evt.lock,
			    &until) == ETIMEDOUT)
				break;
		}
		/* Summaries once a second, not once an event. */
		nsum = 0;
		if ((now = time(NULL)) != summarised || evt.stopping) {
			evt_summaries_locked(sum, sumsys, &nsum);
			summarised = now;
		}
		lost = evt.lost;
		evt.lost = 0;
		fd = evt.json_on ? evt.fd : -1;
		sys = evt.use_syslog;
		/*
		 * The slot at the head stays counted while it is written out,
		 * so producers, who append behind it, never overwrite it: it
		 * is read in place, not copied under the lock.
		 */
		slot = evt.count > 0 ? &evt.ring[evt.head] : NULL;
		if (evt.stopping && slot == NULL && nsum == 0)
			break;
		pthread_mutex_unlock(&evt.lock);

		/* Slow work, outside the lock. */
		if (slot != NULL) {
			evt_write_json(fd, slot->json, slot->json_len);
			if (sys)
				syslog(LOG_WARNING, "%s", slot->sys);
		}
		for (i = 0; i < nsum; i++) {
			evt_write_json(fd, sum[i], strlen(sum[i]));
			if (sys)
				syslog(LOG_WARNING, "%s", sumsys[i]);
		}
		if (lost > 0)
			log_warnx("event queue full: %lu events lost", lost);
		pthread_mutex_lock(&evt.lock);
		if (slot != NULL) {
			evt.head = (evt.head + 1) % EVT_QUEUE;
			evt.count--;
		}
	}
	pthread_mutex_unlock(&evt.lock);
	return NULL;
}

/* Start the writer in this process if it does not run here yet (the
 * daemons may fork after evt_init; threads do not survive fork). */
static void
evt_start_writer_locked(void)
{
	pid_t	 pid = getpid();

	if (evt.writer_pid == pid || evt.stopping)
		return;
	if (pthread_create(&evt.writer, NULL, evt_writer_cb, NULL) == 0)
		evt.writer_pid = pid;
}

/* Remember the log settings; open the file now (before privileges go). */
int
evt_init(const struct pol_log *cfg, const char *ident)
{
	(void)ident;	/* syslog ident is log_init()'s */
	pthread_mutex_lock(&evt.lock);
	evt.inited = true;
	evt.use_syslog = cfg->syslog;
	evt.max_rate = cfg->max_events_per_second;
	snprintf(evt.path, sizeof(evt.path), "%s", cfg->json_file);
	evt.warned = false;
	evt_open_file();
	pthread_mutex_unlock(&evt.lock);
	return 0;
}

/* New settings after a reload; the file is reopened (log rotation). */
void
evt_reconfigure(const struct pol_log *cfg)
{
	evt_init(cfg, NULL);
}

/* Flush the ring and stop the writer. */
void
evt_shutdown(void)
{
	bool	 join;

	pthread_mutex_lock(&evt.lock);
	join = evt.writer_pid == getpid();
	evt.stopping = true;
	pthread_cond_signal(&evt.wake);
	pthread_mutex_unlock(&evt.lock);
	if (join)
		pthread_join(evt.writer, NULL);
	pthread_mutex_lock(&evt.lock);
	if (evt.fd != -1)
		close(evt.fd);
	evt.fd = -1;
	evt.json_on = false;
	evt.writer_pid = 0;
	evt.stopping = false;
	pthread_mutex_unlock(&evt.lock);
}

/* A new session: random id, numeric address and port. */
void
evt_session_init(struct evt_session *s, enum reg_service svc,
    const struct sockaddr *sa)
{
	unsigned char	 rnd[8];
	int		 i;

	memset(s, 0, sizeof(*s));
	s->service = svc;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		long long now = evt_now_ms();

		memcpy(rnd, &now, sizeof(rnd));
	}
	for (i = 0; i < 8; i++)
		snprintf(s->session + 2 * i, 3, "%02x", rnd[i]);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, s->client,
		    sizeof(s->client));
		s->client_port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		/* A v4-mapped address is shown as the IPv4 one. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12],
			    s->client, sizeof(s->client));
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, s->client,
			    sizeof(s->client));
		s->client_port = ntohs(sin6->sin6_port);
	}
}

/* Remember the login name (cut to EVT_USER_MAX octets). */
void
evt_session_user(struct evt_session *s, const char *user, size_t len)
{
	if (len > sizeof(s->user))
		len = sizeof(s->user);
	memcpy(s->user, user, len);
	s->user_len = len;
}

/* Report a detection: format here, queue for the writer. */
void
evt_attack(const struct evt_session *s, enum prot_id id, enum pol_action act,
    const char *verb, const void *detail, size_t detail_len)
{
	struct evt_slot	*slot;
	char		 json[EVT_LINE_MAX], sys[EVT_SYSLOG_MAX];
	long long	 now = evt_now_ms();
	int		 jn;

	if (act == ACT_OFF || id >= PROT_COUNT)
		return;
	jn = evt_format_json(json, sizeof(json), now, s, id, act, verb,
	    detail, detail_len);
	if (jn < 0 || evt_format_syslog(sys, sizeof(sys), s, id, act, verb,
	    detail, detail_len) < 0)
		PANIC("event line does not fit");
	pthread_mutex_lock(&evt.lock);
	if (!evt.inited) {
		pthread_mutex_unlock(&evt.lock);
		return;
	}
	evt_start_writer_locked();
	if (!evt_rate_allow(&evt.rate[id], now / 1000, evt.max_rate)) {
		pthread_mutex_unlock(&evt.lock);
		return;
	}
	if (evt.count == EVT_QUEUE) {
		evt.lost++;
		pthread_mutex_unlock(&evt.lock);
		return;
	}
	slot = &evt.ring[(evt.head + evt.count) % EVT_QUEUE];
	memcpy(slot->json, json, (size_t)jn);
	slot->json_len = (size_t)jn;
	memcpy(slot->sys, sys, strlen(sys) + 1);
	evt.count++;
	pthread_cond_signal(&evt.wake);
	pthread_mutex_unlock(&evt.lock);
}
