/* SPDX-License-Identifier: ISC */
/*
 * p3_iptab.c: connection counting shared by the worker threads.  The table
 * holds one slot per client address with open connections, so it never
 * holds more than max_connections entries; it is open-addressed with
 * linear probing and grows (doubling) only up to that bound.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "p3_iptab.h"

/* One address with open connections. */
struct p3_ipslot {
	uint8_t		 addr[16];	/* client address */
	uint32_t	 count;		/* open connections; 0 = free slot */
};

static pthread_mutex_t	 p3_ip_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p3_ipslot	*p3_ip_slots;	/* the table */
static size_t		 p3_ip_cap;	/* slots, a power of two */
static size_t		 p3_ip_used;	/* slots in use */
static long		 p3_ip_total;	/* connections counted */

/* FNV-1a of the address. */
static size_t
p3_ip_hash(const uint8_t a[16])
{
	uint32_t	 h = 2166136261u;
	int		 i;

	for (i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h;
}

/* The slot of addr, or the free slot where it would go. */
static struct p3_ipslot *
p3_ip_find(struct p3_ipslot *slots, size_t cap, const uint8_t a[16])
{
	size_t	 i = p3_ip_hash(a) & (cap - 1);

	while (slots[i].count != 0 && memcmp(slots[i].addr, a, 16) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Double the table (keeping it at most half full); false on no memory. */
static bool
p3_ip_grow(void)
{
	size_t		 ncap = p3_ip_cap ? p3_ip_cap * 2 : 64, i;
	struct p3_ipslot *n, *s;

	if ((n = calloc(ncap, sizeof(*n))) == NULL)
		return false;
	for (i = 0; i < p3_ip_cap; i++)
		if (p3_ip_slots[i].count != 0) {
			s = p3_ip_find(n, ncap, p3_ip_slots[i].addr);
			*s = p3_ip_slots[i];
		}
	free(p3_ip_slots);
	p3_ip_slots = n;
	p3_ip_cap = ncap;
	return true;
}

/* Count a connection unless over a limit. */
bool
p3_iptab_acquire(const uint8_t addr[16], long max, long per_ip)
{
	struct p3_ipslot *s;
	bool		 ok = false;

	pthread_mutex_lock(&p3_ip_lock);
	if (p3_ip_total >= max)
		goto out;
	if ((p3_ip_used + 1) * 2 > p3_ip_cap && !p3_ip_grow())
		goto out;
	s = p3_ip_find(p3_ip_slots, p3_ip_cap, addr);
	if (s->count >= (uint32_t)(per_ip > 0 ? per_ip : 0))
		goto out;
	if (s->count == 0) {
		memcpy(s->addr, addr, 16);
		p3_ip_used++;
	}
	s->count++;
	p3_ip_total++;
	ok = true;
out:
	pthread_mutex_unlock(&p3_ip_lock);
	return ok;
}

/* Remove slot i, moving later entries of its probe chain back. */
static void
p3_ip_delete(size_t i)
{
	size_t	 j = i, k;

	p3_ip_slots[i].count = 0;
	for (;;) {
		j = (j + 1) & (p3_ip_cap - 1);
		if (p3_ip_slots[j].count == 0)
			return;
		k = p3_ip_hash(p3_ip_slots[j].addr) & (p3_ip_cap - 1);
		/* Move j into the hole at i unless k lies cyclically in (i, j]. */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		p3_ip_slots[i] = p3_ip_slots[j];
		p3_ip_slots[j].count = 0;
		i = j;
	}
}

/* Forget one connection from addr. */
void
p3_iptab_release(const uint8_t addr[16])
{
	struct p3_ipslot *s;

	pthread_mutex_lock(&p3_ip_lock);
	if (p3_ip_cap > 0) {
		s = p3_ip_find(p3_ip_slots, p3_ip_cap, addr);
		if (s->count > 0) {
			p3_ip_total--;
			if (--s->count == 0) {
				s->count = 1;	/* still there while deleting */
				p3_ip_delete((size_t)(s - p3_ip_slots));
				p3_ip_used--;
			}
		}
	}
	pthread_mutex_unlock(&p3_ip_lock);
}

/* Connections counted now. */
long
p3_iptab_total(void)
{
	long	 n;

	pthread_mutex_lock(&p3_ip_lock);
	n = p3_ip_total;
	pthread_mutex_unlock(&p3_ip_lock);
	return n;
}

/* Distinct addresses counted now. */
size_t
p3_iptab_addresses(void)
{
	size_t	 n;

	pthread_mutex_lock(&p3_ip_lock);
	n = p3_ip_used;
	pthread_mutex_unlock(&p3_ip_lock);
	return n;
}
