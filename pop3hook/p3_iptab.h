/* SPDX-License-Identifier: ISC */
/*
 * p3_iptab.h: the connection counts that every worker thread shares: the
 * whole proxy's (max_connections) and each client address's
 * (max_connections_per_ip), the latter in a bounded, locked hash table.
 */
#ifndef MW_P3_IPTAB_H
#define MW_P3_IPTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Count one more connection from addr (16 octets, v4-mapped for IPv4)
 * unless that makes more than max in all or more than per_ip from addr.
 * Returns true when counted.
 */
bool	p3_iptab_acquire(const uint8_t addr[16], long max, long per_ip);
/* Forget one connection from addr. */
void	p3_iptab_release(const uint8_t addr[16]);
/* Connections counted now (for tests and logs). */
long	p3_iptab_total(void);
/* Distinct addresses counted now. */
size_t	p3_iptab_addresses(void);

#endif
