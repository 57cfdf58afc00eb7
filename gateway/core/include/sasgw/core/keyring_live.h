/*
 * sasgw/core/keyring_live.h - the live keyring of a server: a thread that
 * rebuilds the keyring's snapshots (keyring.h) from the vault when its
 * generation moves or when poked, and swaps the new one onto every worker.
 * It reaches the vault through an accessor, not through the app, so app.c
 * depends on it and not the other way round.
 */
#ifndef SASGW_CORE_KEYRING_LIVE_H
#define SASGW_CORE_KEYRING_LIVE_H

#include <stdint.h>

#include "sasgw/core/config.h"
#include "sasgw/core/keyring.h"

typedef struct st_gw_keyring_live_t gw_keyring_live_t;
struct st_gw_server_t;
struct st_gw_thread_t;
struct vault;

/* ---- the live keyring of a server ---- */

/*
 * How the live keyring reaches the vault: lock(data) returns the open vault
 * and holds it (no other thread uses it) until unlock(data). The app passes its
 * vault mutex here (gw_app_vault_lock); the keyring knows nothing else of it.
 */
typedef struct st_gw_keyring_vault_access_t {
    struct vault *(*lock)(void *data);
    void (*unlock)(void *data);
    void *data;
} gw_keyring_vault_access_t;

/*
 * Builds the first snapshot from the vault (through *access, copied; conf is
 * borrowed and must outlive the keyring), registers the per-thread snapshot
 * pointer as a thread module of server, and starts the keyring thread
 * (GW_KEYRING_CHECK_MS checks, pokes). Main thread, before gw_server_start().
 * Returns NULL after writing why into err.
 */
gw_keyring_live_t *gw_keyring_live_create(struct st_gw_server_t *server, const gw_config_t *conf,
                                          const gw_keyring_vault_access_t *access, char *err, size_t errlen);
/* Stops the keyring thread and releases the last snapshot. After gw_server_wait() returned. NULL is allowed. */
void gw_keyring_live_destroy(gw_keyring_live_t *live);
/*
 * The snapshot of the worker thread (a plain load; valid until the current
 * loop callback returns). Loop thread of `thread` only.
 */
gw_keyring_t *gw_keyring_thread_current(gw_keyring_live_t *live, struct st_gw_thread_t *thread);
/* The newest snapshot, retained for the caller (release it). Any thread; takes a mutex. */
gw_keyring_t *gw_keyring_live_acquire(gw_keyring_live_t *live);
/*
 * Asks the keyring thread to re-read the vault and publish a new snapshot now
 * (a `sasgw:events` message, an admin write). Any thread; never blocks.
 * account may be NULL (reason for the log only).
 */
void gw_keyring_live_poke(gw_keyring_live_t *live, const char *account);
/* How many snapshots were published so far (the first counts); for tests and metrics. */
uint64_t gw_keyring_live_num_reloads(gw_keyring_live_t *live);

#endif
