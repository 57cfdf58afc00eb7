/*
 * sasgw/revocation/subscriber.h - the read side of revocation (DESIGN §6, docs/redis.md): the
 * proxy's in-memory set of revoked token ids, kept in step with Redis.
 *
 * A dedicated thread talks to Redis with blocking hiredis (the loops never
 * wait on it): a subscriber connection SUBSCRIBEs `sasgw:revocations` and
 * `sasgw:events`, then a command connection loads `sasgw:revoked` (ZSCAN in
 * pages, members whose expiry is past skipped) into a revset builder that
 * replaces the set at once; messages add ids afterwards, so nothing published
 * between SUBSCRIBE and the load is lost. After any reconnect the set is
 * reloaded in full. Expired ids are trimmed every minute. The subscriber
 * connection is PINGed every second: the last answer is the "last known
 * good" time. When it is older than revocation.max_staleness the state is
 * stale: the proxy then refuses with 503 (unless revocation.fail_open) and
 * the readiness check "revocation" fails. Until the first load completes the
 * state is stale too (fail closed: no list, no trust).
 *
 * `sasgw:events` messages ({"type":"keys",...}, {"type":"policies",...})
 * poke the keyring (gw_keyring_live_poke), which re-reads the vault.
 *
 * Hot path: gw_revocation_set() + gw_revset_contains() with the thread's
 * reader slot, and gw_revocation_stale(): one relaxed load, no lock.
 */
#ifndef SASGW_GATEWAY_REVOCATION_H
#define SASGW_GATEWAY_REVOCATION_H

#include <stdint.h>

#include "sasgw/core/config.h"
#include "sasgw/core/keyring.h"
#include "sasgw/core/keyring_live.h"
#include "sasgw/core/metrics.h"
#include "sasgw/revocation/revset.h"

typedef struct st_gw_revocation_t gw_revocation_t;

#define GW_REVOCATION_PING_MS 1000     /* liveness probe on the subscriber connection */
#define GW_REVOCATION_TRIM_MS 60000    /* trim expired ids this often */
#define GW_REVOCATION_SCAN_COUNT 10000 /* ZSCAN page size */

/*
 * Creates the revocation state for conf->redis / conf->revocation and
 * registers its metrics (sasgw_revocation_set_size, _reloads_total,
 * _messages_total, _staleness_seconds, _connected) on metrics (may be NULL).
 * keyring (may be NULL) is poked on `sasgw:events`. Reads
 * conf->redis.password_file now. Nothing runs until gw_revocation_start().
 * Returns NULL after writing why into err.
 */
gw_revocation_t *gw_revocation_create(const gw_config_t *conf, gw_metrics_t *metrics, gw_keyring_live_t *keyring, char *err,
                                      size_t errlen);
/* Starts the Redis thread. Returns 0, or -1 with err set. */
int gw_revocation_start(gw_revocation_t *rv, char *err, size_t errlen);
/* Stops the thread (within about a quarter of a second) and frees everything. NULL is allowed. */
void gw_revocation_destroy(gw_revocation_t *rv);

/* The set readers probe. Valid until gw_revocation_destroy(). */
gw_revset_t *gw_revocation_set(gw_revocation_t *rv);
/* 1 when the last known good state is older than max_staleness (or there was never one), else 0. Relaxed load. */
int gw_revocation_stale(gw_revocation_t *rv);
/* Seconds since the last known good state (a large number when never). */
double gw_revocation_staleness(gw_revocation_t *rv);
/* How many full loads completed (1 after the first). */
uint64_t gw_revocation_num_reloads(gw_revocation_t *rv);
/* A gw_readiness_cb: ready when not stale. data is the gw_revocation_t. */
int gw_revocation_ready(void *data, char *why, size_t whylen);

#endif
