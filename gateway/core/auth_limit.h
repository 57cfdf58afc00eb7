/*
 * auth_limit.h - failed authentications per client, counted in a fixed
 * window (sasgw.yaml `issuer.auth_failures`): past `limit` failures within
 * `window` seconds a client is refused (429) until its window ends, before
 * any credential is looked at.
 *
 * Clients are keys from gw_client_key() (an IPv4 address, an IPv6 /64); the
 * key 0 (an unknown client) is never limited.
 * Memory is fixed at creation: GW_AUTH_LIMIT_SLOTS slots of 16 bytes in
 * buckets of 8, a bucket chosen by a hash keyed with a random seed (so no one
 * can aim many keys at a victim's bucket). A new client takes a free slot of
 * its bucket, else one whose window has ended, else the one with the fewest
 * failures: a flood of many addresses evicts the least suspicious first.
 *
 * Every function is lock-free and callable from any worker thread at once:
 * slots are claimed and counted with compare-and-swap. Two threads claiming
 * a slot for the same new client at the same instant may give it two slots,
 * and a count racing an eviction may be lost: the limit is then reached a
 * failure or two later, never sooner.
 */
#ifndef SASGW_GATEWAY_AUTH_LIMIT_H
#define SASGW_GATEWAY_AUTH_LIMIT_H

#include <stdint.h>

#define GW_AUTH_LIMIT_SLOTS 65536

typedef struct st_gw_auth_limit_t gw_auth_limit_t;

/* A limiter allowing limit failures per window seconds (window >= 1). limit 0 never refuses. Free with gw_auth_limit_destroy(). */
gw_auth_limit_t *gw_auth_limit_create(unsigned limit, unsigned window);
void gw_auth_limit_destroy(gw_auth_limit_t *limit);

/*
 * Whether client may try to authenticate at now (seconds on a monotonic
 * clock, see gw_auth_limit_now()): 0 when it may, else the seconds until its
 * window ends (at least 1: the Retry-After).
 */
unsigned gw_auth_limit_check(gw_auth_limit_t *limit, uint64_t client, uint64_t now);
/* Counts a failed authentication of client at now (its first failure opens its window). */
void gw_auth_limit_failed(gw_auth_limit_t *limit, uint64_t client, uint64_t now);

/* Seconds on CLOCK_MONOTONIC (never 0). */
uint64_t gw_auth_limit_now(void);

#endif
