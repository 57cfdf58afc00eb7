/*
 * revset.h - the proxy's in-memory set of revoked token ids (DESIGN §6).
 *
 * One set is shared by every worker thread. Lookups never lock and never
 * allocate: a reader loads the current table with an atomic acquire and
 * probes it. A single writer (the thread that talks to Redis; callers
 * serialise writers themselves) adds ids in place, and replaces the whole
 * table when it grows, trims expired ids, or reloads after a reconnect.
 * Replaced tables are freed only once no reader can still be inside them
 * (epoch-based reclamation: each reader thread registers once and marks its
 * critical section with two atomic stores).
 *
 * Ids are the 16 bytes behind a token_id (DESIGN §3); each carries the
 * token's expiry (unix seconds) so expired entries can be dropped.
 */
#ifndef SASGW_GATEWAY_REVSET_H
#define SASGW_GATEWAY_REVSET_H

#include <stddef.h>
#include <stdint.h>

#define GW_REVSET_ID_LEN 16
#define GW_REVSET_MAX_READERS 256

typedef struct gw_revset gw_revset_t;
typedef struct gw_revset_builder gw_revset_builder_t;

/* Creates an empty set. */
gw_revset_t *gw_revset_create(void);
/* Frees the set and every table it still holds. No reader or writer may use it any more. */
void gw_revset_destroy(gw_revset_t *set);

/*
 * Registers the calling reader thread; returns its reader slot (pass it to
 * gw_revset_contains), or -1 when GW_REVSET_MAX_READERS are registered.
 */
int gw_revset_register_reader(gw_revset_t *set);
/* Returns 1 when id is in the set, 0 otherwise. Lock-free, wait-free, no allocation. */
int gw_revset_contains(gw_revset_t *set, int reader, const uint8_t id[GW_REVSET_ID_LEN]);

/*
 * Writer side: one writer at a time.
 * gw_revset_add inserts id (or raises its expiry if present); it grows the
 * table when three quarters full. gw_revset_trim drops ids whose expiry is
 * before now and returns how many it dropped. Both free retired tables that
 * no reader can reach any more.
 */
void gw_revset_add(gw_revset_t *set, const uint8_t id[GW_REVSET_ID_LEN], int64_t expiry);
size_t gw_revset_trim(gw_revset_t *set, int64_t now);
/*
 * Takes id out of the set (an admin removed its revocation): the table is
 * rebuilt without it and swapped in, so readers never see a hole in a probe
 * chain. Returns 1 when id was there, 0 otherwise (nothing changes).
 * An expiry of INT64_MAX (an unknown end) is never trimmed: only this removes it.
 */
int gw_revset_remove(gw_revset_t *set, const uint8_t id[GW_REVSET_ID_LEN]);
/* Number of ids in the set. */
size_t gw_revset_size(gw_revset_t *set);
/* Bytes held by the current table and by retired tables not yet freed. */
size_t gw_revset_memory(gw_revset_t *set);

/*
 * Full reload: fill a builder off to the side, then swap it in atomically, so
 * readers see either the old set or the new one, never a half-loaded one.
 * gw_revset_swap consumes the builder.
 */
gw_revset_builder_t *gw_revset_builder_create(size_t expected);
void gw_revset_builder_add(gw_revset_builder_t *b, const uint8_t id[GW_REVSET_ID_LEN], int64_t expiry);
void gw_revset_builder_destroy(gw_revset_builder_t *b);
void gw_revset_swap(gw_revset_t *set, gw_revset_builder_t *b);

#endif
