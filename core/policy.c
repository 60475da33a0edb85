/* SPDX-License-Identifier: ISC */
/*
 * policy.c: policy snapshots: loading, reference counting, the per-client
 * action table and the process-wide current snapshot.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "policy.h"

static pthread_mutex_t	 pol_lock = PTHREAD_MUTEX_INITIALIZER;
static struct policy	*pol_cur;	/* the current snapshot */

/* Read a file into a new snapshot.  One parse at a time: the parser's
 * error sink is process-wide. */
struct policy *
pol_load(const char *path, void *errf)
{
	static pthread_mutex_t	 load_lock = PTHREAD_MUTEX_INITIALIZER;
	struct policy		*pol;

	pthread_mutex_lock(&load_lock);
	pol = conf_read(path, errf);
	pthread_mutex_unlock(&load_lock);
	return pol;
}

/* A snapshot of pure defaults. */
struct policy *
pol_defaults(void)
{
	struct policy	*pol = calloc(1, sizeof(*pol));

	if (pol != NULL && conf_defaults(pol) == -1) {
		pol_unref(pol);
		return NULL;
	}
	return pol;
}

/* Take one more reference. */
struct policy *
pol_ref(struct policy *pol)
{
	__atomic_add_fetch(&pol->refs, 1, __ATOMIC_RELAXED);
	return pol;
}

/* Free a string list. */
static void
pol_strlist_free(struct strlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Drop a reference; the last one frees the snapshot. */
void
pol_unref(struct policy *pol)
{
	int	 i;

	if (pol == NULL ||
	    __atomic_sub_fetch(&pol->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < PROT_COUNT; i++) {
		cidr_set_free(&pol->prot[i].exempt);
		cidr_set_free(&pol->prot[i].allow_networks);
		pol_strlist_free(&pol->prot[i].deny_mechanisms);
		pol_strlist_free(&pol->prot[i].block_commands);
	}
	cidr_set_free(&pol->exempt);
	cidr_set_free(&pol->smtp.internal_networks);
	pol_strlist_free(&pol->smtp.local_domains);
	pol_strlist_free(&pol->pop3.listen);
	pol_strlist_free(&pol->pop3.tls_listen);
	free(pol->file);
	free(pol->user);
	free(pol->group);
	free(pol->log.json_file);
	free(pol->pop3.backend);
	free(pol->pop3.tls_cert);
	free(pol->pop3.tls_key);
	free(pol->smtp.socket);
	free(pol);
}

/* Every protection's action for one client, exempt networks applied. */
void
pol_actions(const struct policy *pol, const struct sockaddr *client,
    enum pol_action out[PROT_COUNT])
{
	uint8_t	 a[16];
	bool	 have = cidr_addr16(client, a) == 0;
	int	 i;

	if (have && cidr_set_contains16(&pol->exempt, a)) {
		for (i = 0; i < PROT_COUNT; i++)
			out[i] = ACT_OFF;
		return;
	}
	for (i = 0; i < PROT_COUNT; i++) {
		out[i] = pol->prot[i].action;
		if (have && pol->prot[i].exempt.n > 0 &&
		    cidr_set_contains16(&pol->prot[i].exempt, a))
			out[i] = ACT_OFF;
	}
}

/* A new reference to the current snapshot (NULL before the first set). */
struct policy *
pol_current(void)
{
	struct policy	*pol;

	pthread_mutex_lock(&pol_lock);
	pol = pol_cur != NULL ? pol_ref(pol_cur) : NULL;
	pthread_mutex_unlock(&pol_lock);
	return pol;
}

/* Install a new current snapshot, taking over the caller's reference. */
void
pol_set_current(struct policy *pol)
{
	struct policy	*old;

	pthread_mutex_lock(&pol_lock);
	old = pol_cur;
	pol_cur = pol;
	pthread_mutex_unlock(&pol_lock);
	pol_unref(old);
}

/* Split host:port forms; host "" means any address. */
int
pol_hostport(const char *spec, char *host, size_t hostsz, unsigned *port)
{
	const char	*colon, *h = spec, *p;
	size_t		 hlen;
	unsigned long	 v = 0;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		h = spec + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
		if (memchr(h, ':', hlen) == NULL)
			return -1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL ||
		    memchr(spec, ':', (size_t)(colon - spec)) != NULL)
			return -1;
		hlen = (size_t)(colon - spec);
		for (p = spec; p < colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' &&
			    *p != '-' && *p != '_' && !(*p == '*' && hlen == 1))
				return -1;
	}
	if (hlen == 0 || hlen >= hostsz)
		return -1;
	for (p = colon + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) || v > 65535)
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (p == colon + 1 || v == 0 || v > 65535)
		return -1;
	if (hlen == 1 && h[0] == '*')
		hlen = 0;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned)v;
	return 0;
}

/* Sensitivity by name. */
int
pol_sensitivity_parse(const char *s)
{
	if (strcmp(s, "low") == 0)
		return MCP_LOW;
	if (strcmp(s, "medium") == 0)
		return MCP_MEDIUM;
	if (strcmp(s, "high") == 0)
		return MCP_HIGH;
	return -1;
}
