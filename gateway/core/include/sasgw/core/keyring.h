/*
 * sasgw/core/keyring.h - the in-memory view of the vault's storage accounts for the hot
 * paths (the proxy's validation, the issuer's mint): per account its name,
 * mode and backend, every ACTIVE key version as a ready sas_key_t, the key
 * that signs new tokens, and the stored access policies per container.
 *
 * Snapshots. A gw_keyring_t is an immutable snapshot built from the vault
 * (under the app's vault mutex) and reference-counted. Each worker thread
 * holds its own pointer to the current snapshot (a thread module): reading it
 * is a plain load, no lock and no atomic on the request path. When the vault
 * changes, a new snapshot is built off the loop threads and swapped on every
 * worker with gw_server_broadcast(); the old one is released after the last
 * thread dropped it, and freeing a snapshot wipes its key states.
 *
 * When a snapshot is rebuilt: on gw_keyring_live_poke() (the revocation
 * subscriber calls it for every `sasgw:events` message: {"type":"keys"} and
 * {"type":"policies"}, docs/redis.md), and every GW_KEYRING_CHECK_MS when the
 * vault's generation on disk changed (vault_reload_if_changed, through
 * gw_app_vault_lock), so a CLI change reaches the proxy even without Redis.
 * The work runs on the keyring's own thread; it never blocks a loop.
 *
 * Accounts and precedence. The accounts of a snapshot are the union of the
 * vault's accounts and the `accounts:` entries of conf/sasgw.yaml. Keys and
 * stored access policies come from the vault only. Mode and backend come from
 * conf/sasgw.yaml when the account has an entry there (the deployment file
 * decides where traffic goes), else from the vault (`account add --backend`).
 * An account listed only in the YAML has no key: every token for it is
 * refused (SAS_R_NO_KEY).
 *
 * Key families. For an account in mode resign, `keys`/`key_ptrs` (what
 * sas_verify and the mints use, and gw_keyring_signing_key) are its EDGE keys
 * (vault slots edge1/edge2); its storage keys (key1/key2) are kept apart in
 * `upstream_keys`, used only to authorize the proxy's upstream requests (Shared
 * Key, copy-source SAS), never to sign anything a client sees. upstream_keys[0]
 * signs upstream: the newest active key1 version, else the newest active key2
 * (so after `import-key key2` and `retire key1`, key2 signs). A resign account
 * whose vault entry has no edge key yet has no key: its tokens are refused
 * until an edge slot is regenerated. For the other modes, `keys` are the
 * storage keys and `upstream_keys` is empty. The proxy registers one path per account that has a
 * backend when the server starts; an account given a backend later needs a
 * restart to be routed (its keys and policies reload without one).
 *
 * Wiring (gw_app_create / gw_app_destroy, main thread):
 *
 *     app->keyring = gw_keyring_live_create(server, conf, &access, err, errlen);   // keyring_live.h, before gw_server_start()
 *     ...
 *     gw_keyring_live_destroy(app->keyring);      // after gw_server_destroy(), before the vault closes
 *
 * and app.h exposes it as gw_app_keyring(app). Mint path (a worker thread):
 *
 *     gw_keyring_t *kr = gw_keyring_thread_current(gw_app_keyring(app), gw_thread_of(req));
 *     gw_keyring_signing_t sk;
 *     if (gw_keyring_signing_key(kr, account, strlen(account), &sk) != 0) ... unknown account / no active key
 *     sas_mint(&m, sk.key, ...);   // sk.slot_name "key1"/"key2", sk.version
 *
 * The snapshot kr points to stays valid until the loop callback returns (the
 * swap runs on the same thread, between callbacks); to keep it longer (across
 * an async hop), gw_keyring_retain() it and gw_keyring_release() it after.
 */
#ifndef SASGW_GATEWAY_KEYRING_H
#define SASGW_GATEWAY_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "sasgw/core/config.h"
#include "sasgw/signer.h"

/* How often the keyring thread compares the vault's generation on disk with the snapshot's. */
#define GW_KEYRING_CHECK_MS 5000

typedef struct st_gw_keyring_t gw_keyring_t;

/* One active key version. */
typedef struct st_gw_keyring_key_t {
    int slot;         /* 1 (key1), 2 (key2), 3 (edge1) or 4 (edge2): vault.h VAULT_SLOT_... */
    uint32_t version; /* per slot, from 1 */
    int64_t created;  /* unix seconds (0 when the vault does not say) */
    sas_key_t key;
} gw_keyring_key_t;

/* One stored access policy (vault times converted; unset: SAS_TIME_NONE / permissions 0). */
typedef struct st_gw_keyring_policy_t {
    const char *container; /* NUL-terminated */
    const char *id;        /* NUL-terminated */
    sas_policy_t policy;
} gw_keyring_policy_t;

/* An account in a snapshot. Everything is owned by the snapshot. */
typedef struct st_gw_keyring_account_t {
    const char *name; /* NUL-terminated */
    size_t name_len;
    gw_account_mode_t mode;
    const char *backend; /* "" when none; "http://host:port[/path]" */
    /* backend parsed (backend.h); NULL when backend is "" or does not parse, backend_error then saying why */
    const gw_backend_t *upstream;
    const char *backend_error; /* "" or a phrase completing "the backend URL ..." */
    int in_vault;              /* 0: listed only in conf/sasgw.yaml (no keys) */
    size_t nkeys;              /* active key versions of the token family: key1 before key2 (resign: edge1 before edge2), newest first in a slot */
    const gw_keyring_key_t *keys;
    const sas_key_t *const *key_ptrs; /* nkeys pointers into keys, as sas_verify_ctx_t wants them */
    /* resign only (else "" / 0): the storage account's name at the backend and its active storage keys, signer first */
    const char *upstream_account; /* NUL-terminated; the YAML's upstream_account, else name */
    size_t upstream_account_len;
    size_t nupstream_keys; /* key1 before key2, newest first in a slot: upstream_keys[0] signs upstream */
    const gw_keyring_key_t *upstream_keys;
    size_t npolicies;                 /* sorted by (container, id) */
    const gw_keyring_policy_t *policies;
} gw_keyring_account_t;

/*
 * The key a mint signs with: the newest active key1 version, else the newest
 * active key2; for a resign account the newest active edge1, else edge2.
 */
typedef struct st_gw_keyring_signing_t {
    const sas_key_t *key;
    int slot;
    const char *slot_name; /* "key1", "key2", "edge1" or "edge2" */
    uint32_t version;
} gw_keyring_signing_t;

/* ---- snapshots ---- */

/*
 * Builds a snapshot from vault (the caller holds the vault mutex) and the
 * `accounts:` of conf (may be NULL). generation is recorded as-is. Returns a
 * snapshot with one reference, or NULL after writing why into err.
 */
struct vault;
gw_keyring_t *gw_keyring_build(struct vault *vault, const gw_config_t *conf, uint64_t generation, char *err, size_t errlen);
/* Builds an empty snapshot (no account), with one reference. */
gw_keyring_t *gw_keyring_empty(void);
/* Adds a reference (thread-safe). Returns kr. */
gw_keyring_t *gw_keyring_retain(gw_keyring_t *kr);
/* Drops a reference; the last one wipes the key states and frees the snapshot. NULL is allowed. */
void gw_keyring_release(gw_keyring_t *kr);

/* The vault generation the snapshot was built from. */
uint64_t gw_keyring_generation(const gw_keyring_t *kr);
size_t gw_keyring_num_accounts(const gw_keyring_t *kr);
/* Accounts sorted by name; index < gw_keyring_num_accounts(). */
const gw_keyring_account_t *gw_keyring_account_at(const gw_keyring_t *kr, size_t index);
/* The account called name (len bytes, not necessarily NUL-terminated), or NULL. Binary search, no allocation. */
const gw_keyring_account_t *gw_keyring_find(const gw_keyring_t *kr, const char *name, size_t len);
/*
 * The stored access policy id (id_len bytes) of container (container_len
 * bytes) of account. Returns 0 and fills *out, or -1 when there is none.
 * Binary search, no allocation: usable as the proxy's sas_policy_lookup_cb.
 */
int gw_keyring_find_policy(const gw_keyring_account_t *account, const char *container, size_t container_len, const char *id,
                           size_t id_len, sas_policy_t *out);
/*
 * The signing key of account (name, len bytes). Returns 0 and fills *out
 * (pointers into kr), or -1 when the account is unknown or has no active key.
 */
int gw_keyring_signing_key(const gw_keyring_t *kr, const char *name, size_t len, gw_keyring_signing_t *out);

#endif
