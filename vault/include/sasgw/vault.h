/*
 * sasgw/vault.h - the embedded, encrypted vault of sasgw (DESIGN.md §7): storage
 * account keys (two slots, versioned), secrets (versioned, soft-deleted),
 * stored access policies, and the tamper-evident audit trail beside it.
 *
 * The file. One file (default var/vault.db) holds everything, sealed with
 * AES-256-GCM under a random 256-bit data key; the data key is wrapped
 * (AES-256-GCM) by a key-encryption key that is either the master key
 * (SASGW_MASTER_KEY, or a key file of mode 0600) or scrypt(passphrase, salt).
 * The header (magic, format, KDF parameters, vault id, generation, nonce,
 * length) is authenticated as AAD. Wrong key, truncation or any flipped byte
 * refuses the open and nothing of the payload is used. Writes are atomic and
 * durable: a temp file beside the vault, fsync, rename, fsync the directory;
 * the previous generation is kept as "<vault>.prev"; an exclusive flock on
 * "<vault>.lock" serialises read-modify-write across processes.
 *
 * Ownership. Every function that returns memory names the function that frees
 * it; the free functions wipe key and secret bytes (OPENSSL_cleanse) before
 * releasing them. A vault_t may be shared by threads: each call takes the
 * handle's mutex.
 *
 * Errors. Functions that can fail return a vault_err_t: VAULT_OK (0) on
 * success, else a negative VAULT_E... code saying what kind of failure it was,
 * with one human sentence in err (errlen bytes, may be 0) saying which. Callers
 * decide by the code, never by the words of the sentence. Lookups return 1
 * (found) / 0 (not found) / a negative code (error) where noted.
 *
 * Audit. Every mutation and every read of secret or key bytes through this API
 * appends a record to the audit log BEFORE the change is committed; if the
 * record cannot be written the operation is refused. The `who` argument names
 * the caller in that record (NULL means the principal "cli").
 */
#ifndef SASGW_VAULT_H
#define SASGW_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "sasgw/signer.h"

/* ---------------------------------------------------------------- errors */

/*
 * Every way a vault call fails: XX(code, value, lower_snake name, meaning).
 * The values are stable; VAULT_EINVAL is -1.
 */
#define VAULT_ERR_MAP(XX)                                                                                                          \
    XX(EINVAL, -1, "invalid_argument", "an argument or a stored value is not valid")                                               \
    XX(ENOTFOUND, -2, "not_found", "no such account, key version, secret, secret version or policy")                               \
    XX(EEXISTS, -3, "already_exists", "an account of that name or that key is already stored")                                     \
    XX(ERETIRED, -4, "already_retired", "the key version is already retired")                                                      \
    XX(EDELETED, -5, "deleted", "the secret is soft-deleted")                                                                      \
    XX(ENOTDELETED, -6, "not_deleted", "the secret is not soft-deleted")                                                           \
    XX(EPURGEPROTECTED, -7, "purge_protected", "purge protection is on")                                                           \
    XX(EDISABLED, -8, "disabled", "the secret version is disabled")                                                                \
    XX(EEXPIRED, -9, "expired", "the secret version has expired")                                                                  \
    XX(ENOTYETVALID, -10, "not_yet_valid", "the secret version is not valid yet")                                                  \
    XX(ELIMIT, -11, "limit_reached", "a limit on the number of items is reached")                                                  \
    XX(ENOVAULT, -12, "no_vault", "there is no vault file at the path")                                                            \
    XX(EBADKEY, -13, "bad_key", "the master key or passphrase does not open the file")                                             \
    XX(EFORMAT, -14, "not_a_vault", "the file is not a sasgw vault or backup of a supported format")                               \
    XX(ECORRUPT, -15, "corrupt", "a file failed its integrity check or is malformed")                                              \
    XX(EFOREIGN, -16, "foreign_vault", "the backup or file belongs to another vault")                                              \
    XX(EIO, -17, "io_error", "a file could not be read, written, synced or locked")                                                \
    XX(ECRYPTO, -18, "crypto_failure", "a cryptographic primitive failed")                                                         \
    XX(EAUDIT, -19, "audit_unavailable", "the audit record cannot be written, so the operation is refused")                        \
    XX(EBROKEN, -20, "handle_broken", "the handle failed to roll back an earlier write and must be reopened")

typedef enum {
    VAULT_OK = 0,
#define VAULT__ERR_ENUM(code, value, name, text) VAULT_##code = (value),
    VAULT_ERR_MAP(VAULT__ERR_ENUM)
#undef VAULT__ERR_ENUM
} vault_err_t;

/* The stable lower_snake name of a code ("ok", "not_found", ...); "unknown" for a value not in VAULT_ERR_MAP. */
const char *vault_err_name(vault_err_t e);
/* What a code means in general, one phrase (the sentence in err says what happened). */
const char *vault_strerror(vault_err_t e);

/* ---------------------------------------------------------------- limits */

#define VAULT_KEY_MAX 64                    /* bytes of an account key (Azure keys are 64) */
#define VAULT_KEY_MIN 16                    /* shortest key accepted by add/import */
#define VAULT_MASTER_KEY_LEN 32             /* bytes of the master key */
#define VAULT_SECRET_MAX 25600              /* bytes of a secret value (25 KB, Azure's limit) */
#define VAULT_NAME_MAX 127                  /* characters of a secret name */
#define VAULT_POLICY_ID_MAX 64              /* characters of a stored access policy id */
#define VAULT_RETENTION_MIN 7               /* days a soft-deleted secret is kept, at least */
#define VAULT_RETENTION_MAX 90              /* ... and at most (also the default) */
#define VAULT_VERSION_ID_LEN 32             /* hex characters of a secret version id */
#define VAULT_PERMISSIONS SAS_PERM_ORDER_SERVICE /* a stored access policy's letters (signer.h), in canonical order */

/* ---------------------------------------------------------------- key sources */

typedef enum {
    VAULT_KS_NONE = 0,
    VAULT_KS_MASTER_KEY, /* 32 raw bytes */
    VAULT_KS_PASSPHRASE, /* scrypt(passphrase, salt from the header) */
} vault_ks_kind_t;

/* How to unseal a vault. Holds secret bytes: always vault_keysource_wipe() it. */
typedef struct {
    vault_ks_kind_t kind;
    uint8_t master[VAULT_MASTER_KEY_LEN];
    char *passphrase; /* NUL-terminated, owned */
    size_t passphrase_len;
} vault_keysource_t;

/*
 * Fills ks from, in this order: master_key_file (when not NULL), passphrase_file
 * (when not NULL), the environment variable SASGW_MASTER_KEY (base64 of exactly
 * 32 bytes), SASGW_PASSPHRASE. Passing both files is an error.
 *
 * A master key file must be a regular file owned by the caller with no group
 * or other permission bits (0600 or 0400); it holds either the base64 of 32
 * bytes (surrounding whitespace ignored) or exactly 32 raw bytes. A passphrase
 * file has the same permission rule; its content minus one trailing newline is
 * the passphrase (at least 8 characters). Returns 0, or -1 with err set (ks is
 * then wiped).
 */
vault_err_t vault_keysource_resolve(vault_keysource_t *ks, const char *master_key_file, const char *passphrase_file, char *err,
                                    size_t errlen);
/* Sets ks to the given 32-byte master key. */
void vault_keysource_set_master(vault_keysource_t *ks, const uint8_t key[VAULT_MASTER_KEY_LEN]);
/* Sets ks to a copy of the passphrase (len bytes). */
void vault_keysource_set_passphrase(vault_keysource_t *ks, const char *pass, size_t len);
/* Wipes the key bytes, frees the passphrase, leaves ks as VAULT_KS_NONE. */
void vault_keysource_wipe(vault_keysource_t *ks);

/* ---------------------------------------------------------------- the handle */

typedef struct vault vault_t;

/* Who asks, for the audit record. Every field may be NULL. */
typedef struct {
    const char *principal; /* NULL: "cli" */
    const char *client;    /* client address */
    const char *request_id;
} vault_actor_t;

/* Returns "var/vault.db" unless SASGW_VAULT is set. Not owned by the caller. */
const char *vault_default_path(void);

/*
 * Creates a new, empty vault at path sealed by ks, and its audit log
 * (audit_path, or "audit.log" in the vault's directory when NULL). Refuses
 * when a file already exists at path. The directory is created (0700) when
 * missing, one level only.
 */
vault_err_t vault_create(const char *path, const vault_keysource_t *ks, const char *audit_path, char *err, size_t errlen);

/*
 * Opens and decrypts the vault at path. audit_path as for vault_create.
 * Returns the handle (close with vault_close) or NULL with err set and, when
 * code is not NULL, *code the reason (VAULT_ENOVAULT when no file is there,
 * VAULT_EBADKEY, VAULT_ECORRUPT, ...; VAULT_OK on success). The key source is
 * not kept: only the unwrapped data key stays in memory.
 */
vault_t *vault_open(const char *path, const vault_keysource_t *ks, const char *audit_path, vault_err_t *code, char *err,
                    size_t errlen);

/* Wipes every key and secret of the handle and frees it. NULL is allowed. */
void vault_close(vault_t *v);

/*
 * Re-reads the vault when the file on disk is no longer the generation the
 * handle holds (another process wrote it). Cheap when nothing changed (reads
 * the header only). Sets *reloaded to 1 when the state was replaced. On error
 * the handle keeps its previous state.
 */
vault_err_t vault_reload_if_changed(vault_t *v, int *reloaded, char *err, size_t errlen);

/* The generation of the state the handle holds: +1 on every committed write. */
uint64_t vault_generation(vault_t *v);

/* Summary for "vault status". */
typedef struct {
    char vault_id[33]; /* hex */
    uint64_t generation;
    unsigned format_version;
    vault_ks_kind_t sealed_by;
    unsigned retention_days;
    int purge_protection;
    size_t accounts, secrets, secrets_deleted, secret_versions, policies;
    char path[4096], audit_path[4096];
} vault_status_t;
void vault_get_status(vault_t *v, vault_status_t *st);

/*
 * Vault settings. retention_days: 7..90 or 0 to keep; purge_protection: 1 on,
 * 0 off, -1 keep. Purge protection cannot be turned off once on (as in Azure).
 */
vault_err_t vault_settings_set(vault_t *v, const vault_actor_t *who, unsigned retention_days, int purge_protection, char *err,
                               size_t errlen);

/* ---------------------------------------------------------------- accounts */

typedef enum { VAULT_MODE_PASSTHROUGH = 0, VAULT_MODE_ORIGIN = 1, VAULT_MODE_RESIGN = 2 } vault_mode_t;
typedef enum { VAULT_KEY_ACTIVE = 0, VAULT_KEY_RETIRED = 1 } vault_key_state_t;

/*
 * Key slots. key1 and key2 hold the storage keys (the storage service knows
 * them); edge1 and edge2 hold the edge keys of a `resign` account, which only
 * sasgw knows: they sign and verify the tokens clients see, while the storage
 * keys only authorize the proxy's upstream requests (Shared Key). Every slot
 * has versions, rotate / import / retire alike. A vault file written before
 * edge slots existed loads with them empty.
 */
#define VAULT_SLOT_KEY1 1
#define VAULT_SLOT_KEY2 2
#define VAULT_SLOT_EDGE1 3
#define VAULT_SLOT_EDGE2 4
#define VAULT_NUM_SLOTS 4

/* Which pair of slots: the storage keys (key1, key2) or the edge keys (edge1, edge2). */
typedef enum { VAULT_KEYS_STORAGE = 0, VAULT_KEYS_EDGE = 1 } vault_key_family_t;

/* One key version, without key bytes. slot is 1 (key1), 2 (key2), 3 (edge1) or 4 (edge2). */
typedef struct {
    int slot;
    uint32_t version; /* per slot, from 1 */
    int64_t created;  /* unix seconds */
    vault_key_state_t state;
} vault_key_meta_t;

typedef struct {
    char *name;
    char *backend; /* "" when none */
    vault_mode_t mode;
    size_t nkeys;
    vault_key_meta_t *keys; /* key1, key2, edge1 then edge2 versions, oldest first in a slot */
} vault_account_info_t;

/* One key with its bytes, for the signer. Free arrays with vault_signing_keys_free (wipes). */
typedef struct {
    int slot;
    uint32_t version;
    size_t key_len;
    uint8_t key[VAULT_KEY_MAX];
} vault_signing_key_t;

/* Account names follow Azure: 3-24 characters, lowercase letters and digits. */
int vault_valid_account_name(const char *name);
/* Parses "key1"/"key2"/"edge1"/"edge2" into 1/2/3/4; 0 when none of them. */
int vault_parse_slot(const char *s);
/* The name of a slot ("key1" ... "edge2"), "" for any other value. */
const char *vault_slot_name(int slot);
/* The family of a slot (1 and 2: storage, 3 and 4: edge). */
vault_key_family_t vault_slot_family(int slot);

/*
 * Adds an account with key1 (required) and key2 (optional, NULL: a random
 * 64-byte key is generated so both slots always hold a key). Keys are 16-64
 * bytes. backend may be NULL. Refuses an existing name. An account added in
 * VAULT_MODE_RESIGN also gets random 64-byte edge1 and edge2 keys; any other
 * account gets edge keys on the first rotate of an edge slot.
 */
vault_err_t vault_account_add(vault_t *v, const vault_actor_t *who, const char *name, const uint8_t *key1, size_t key1_len,
                              const uint8_t *key2, size_t key2_len, const char *backend, vault_mode_t mode, char *err,
                              size_t errlen);
/* Lists accounts sorted by name, never key bytes. Free with vault_account_list_free. */
vault_err_t vault_account_list(vault_t *v, vault_account_info_t **out, size_t *n, char *err, size_t errlen);
void vault_account_list_free(vault_account_info_t *list, size_t n);
/*
 * The active key versions of an account: key1 before key2, newest first in a
 * slot. Returns 1 and the array (free with vault_signing_keys_free), 0 when the
 * account does not exist, -1 on error. Does not audit (the proxy calls it on
 * reload); callers that hand key bytes to a person use vault_account_key_read.
 */
int vault_account_active_keys(vault_t *v, const char *account, vault_signing_key_t **out, size_t *n, char *err, size_t errlen);
/* Like vault_account_active_keys for one family: storage keys (as above) or edge keys (edge1 before edge2, newest first). */
int vault_account_active_keys_of(vault_t *v, const char *account, vault_key_family_t family, vault_signing_key_t **out, size_t *n,
                                 char *err, size_t errlen);
/* Like vault_account_active_keys, but writes an audit record "account.key.read" first (refused if it cannot). */
int vault_account_key_read(vault_t *v, const vault_actor_t *who, const char *account, vault_signing_key_t **out, size_t *n,
                           char *err, size_t errlen);
/* Like vault_account_key_read for one family (the audited object names it: accounts/A/edge for edge keys). */
int vault_account_key_read_of(vault_t *v, const vault_actor_t *who, const char *account, vault_key_family_t family,
                              vault_signing_key_t **out, size_t *n, char *err, size_t errlen);
void vault_signing_keys_free(vault_signing_key_t *keys, size_t n);
/*
 * Regenerates a slot: a new random 64-byte version becomes active and the
 * slot's previous versions are retired (tokens signed by them stop validating).
 * When out is not NULL it receives the new key (wipe it with sg_wipe).
 */
vault_err_t vault_account_rotate(vault_t *v, const vault_actor_t *who, const char *name, int slot, vault_signing_key_t *out,
                                 char *err, size_t errlen);
/* Like rotate, with a key regenerated at the storage service (16-64 bytes). *version_out may be NULL. */
vault_err_t vault_account_import_key(vault_t *v, const vault_actor_t *who, const char *name, int slot, const uint8_t *key,
                                     size_t key_len, uint32_t *version_out, char *err, size_t errlen);
/* Retires one version of a slot. Retiring a retired version is refused. */
vault_err_t vault_account_retire(vault_t *v, const vault_actor_t *who, const char *name, int slot, uint32_t version, char *err,
                                 size_t errlen);

/* ---------------------------------------------------------------- secrets */

typedef struct {
    char *key, *value;
} vault_tag_t;

/* Attributes of one secret version (no value). */
typedef struct {
    char version[VAULT_VERSION_ID_LEN + 1]; /* 32 hex characters */
    char *content_type;                     /* "" when none */
    size_t ntags;
    vault_tag_t *tags;
    int enabled;
    int64_t nbf, exp; /* 0: not set */
    int64_t created, updated;
} vault_secret_attrs_t;

/* What vault_secret_set takes besides the value. */
typedef struct {
    const char *content_type; /* NULL: none */
    size_t ntags;
    const vault_tag_t *tags; /* at most 15, keys 1-256 and values 0-256 characters */
    int disabled;
    int64_t nbf, exp; /* 0: not set */
} vault_secret_input_t;

/* A secret version with its value. Dispose with vault_secret_dispose (wipes the value). */
typedef struct {
    char *name;
    vault_secret_attrs_t attrs;
    uint8_t *value;
    size_t value_len;
} vault_secret_t;

/* A secret and the attributes of its versions, oldest first. */
typedef struct {
    char *name;
    int deleted;
    int64_t deleted_on, purge_on; /* 0 unless deleted */
    size_t nversions;
    vault_secret_attrs_t *versions;
} vault_secret_info_t;

/* Secret names: 1-127 characters of [0-9a-zA-Z-]. */
int vault_valid_secret_name(const char *name);

/*
 * Adds a new version of a secret (creating the secret). The value is copied
 * (at most VAULT_SECRET_MAX bytes). A soft-deleted secret must be recovered or
 * purged first. version_out (33 bytes) may be NULL.
 */
vault_err_t vault_secret_set(vault_t *v, const vault_actor_t *who, const char *name, const uint8_t *value, size_t len,
                             const vault_secret_input_t *in, char version_out[VAULT_VERSION_ID_LEN + 1], char *err, size_t errlen);
/*
 * Reads a version (NULL: the newest). Refuses a deleted secret, a disabled
 * version, one not yet valid (nbf) or expired (exp). Audited ("secret.get").
 */
vault_err_t vault_secret_get(vault_t *v, const vault_actor_t *who, const char *name, const char *version, vault_secret_t *out,
                             char *err, size_t errlen);
void vault_secret_dispose(vault_secret_t *s);
/* Lists secrets sorted by name (name NULL: all; else that one, or an error when absent). Never values. */
vault_err_t vault_secret_list(vault_t *v, const char *name, vault_secret_info_t **out, size_t *n, char *err, size_t errlen);
void vault_secret_list_free(vault_secret_info_t *list, size_t n);
/* Soft-deletes (kept for the retention period, then purged on a later write). */
vault_err_t vault_secret_delete(vault_t *v, const vault_actor_t *who, const char *name, char *err, size_t errlen);
vault_err_t vault_secret_recover(vault_t *v, const vault_actor_t *who, const char *name, char *err, size_t errlen);
/* Removes a soft-deleted secret for good; refused under purge protection. */
vault_err_t vault_secret_purge(vault_t *v, const vault_actor_t *who, const char *name, char *err, size_t errlen);

/*
 * Changes the attributes of one version (version NULL or "": the newest) of a
 * live secret, as Key Vault's "update secret": each member of up whose has_
 * flag is set replaces the stored one (tags replace all tags); updated is set
 * to now. Refuses a deleted secret (VAULT_EDELETED). Audited ("secret.update").
 * When out is not NULL it receives the version's attributes after the change
 * (free with vault_secret_attrs_dispose).
 */
typedef struct {
    int has_content_type, has_tags, has_enabled, has_nbf, has_exp;
    const char *content_type; /* "" clears it */
    size_t ntags;
    const vault_tag_t *tags;
    int enabled;
    int64_t nbf, exp; /* 0 clears */
} vault_secret_update_t;
vault_err_t vault_secret_update(vault_t *v, const vault_actor_t *who, const char *name, const char *version,
                                const vault_secret_update_t *up, vault_secret_attrs_t *out, char *err, size_t errlen);
void vault_secret_attrs_dispose(vault_secret_attrs_t *a);

/*
 * Exports one live secret with all its versions as an opaque blob, sealed
 * with AES-256-GCM under the vault's data key and bound to the vault id: only
 * this vault can restore it. *blob is malloc'd (ciphertext only; free()).
 * Audited ("secret.backup").
 */
vault_err_t vault_secret_backup(vault_t *v, const vault_actor_t *who, const char *name, uint8_t **blob, size_t *len, char *err,
                                size_t errlen);
/*
 * Restores a blob of vault_secret_backup(): refused when it is not one
 * (VAULT_EFORMAT), belongs to another vault (VAULT_EFOREIGN), was altered
 * (VAULT_ECORRUPT), or a secret of that name exists, live or deleted
 * (VAULT_EEXISTS). name_out (VAULT_NAME_MAX + 1 bytes, may be NULL) receives
 * the name. Audited ("secret.restore").
 */
vault_err_t vault_secret_restore(vault_t *v, const vault_actor_t *who, const uint8_t *blob, size_t len,
                                 char name_out[VAULT_NAME_MAX + 1], char *err, size_t errlen);
/* The name of the secret a blob holds, checked as restore checks it (to authorize before restoring). Not audited. */
vault_err_t vault_secret_backup_name(vault_t *v, const uint8_t *blob, size_t len, char name_out[VAULT_NAME_MAX + 1], char *err,
                                     size_t errlen);

/* ---------------------------------------------------------------- stored access policies */

typedef struct {
    char *account, *container, *id;
    int64_t start, expiry;                       /* 0: not set */
    char permissions[sizeof(VAULT_PERMISSIONS)]; /* "" when not set */
} vault_policy_t;

/* Azure container names: 3-63 of [a-z0-9-], starting and ending alphanumeric, no "--"; or $root, $logs, $web. */
int vault_valid_container_name(const char *name);
/* Permission letters from VAULT_PERMISSIONS, each at most once (any order). Empty is valid. */
int vault_valid_permissions(const char *perms);
/* Stored access policy ids: 1-64 printable ASCII characters, no space. */
int vault_valid_policy_id(const char *id);

/* Creates or replaces the policy (account, container, id). The account must exist. No limit on their number. */
vault_err_t vault_policy_put(vault_t *v, const vault_actor_t *who, const vault_policy_t *p, char *err, size_t errlen);
/* 1 and *out filled (free with vault_policy_dispose), 0 when absent, -1 on error. */
int vault_policy_get(vault_t *v, const char *account, const char *container, const char *id, vault_policy_t *out, char *err,
                     size_t errlen);
void vault_policy_dispose(vault_policy_t *p);
vault_err_t vault_policy_delete(vault_t *v, const vault_actor_t *who, const char *account, const char *container, const char *id,
                                char *err, size_t errlen);
/* Lists an account's policies (container NULL: all containers), sorted. Free with vault_policy_list_free. */
vault_err_t vault_policy_list(vault_t *v, const char *account, const char *container, vault_policy_t **out, size_t *n, char *err,
                              size_t errlen);
void vault_policy_list_free(vault_policy_t *list, size_t n);

/* ---------------------------------------------------------------- SAS definitions (vault_sasdefs.c) */

/*
 * Key Vault's managed-storage SAS definitions, per account: name ->
 * {templateUri, sasType, validityPeriod, enabled, created, updated, tags}.
 * The template is a SAS URL whose path and query give the shape of the
 * tokens minted from it (resource, permissions, services, resource types,
 * ip, protocol); its own signature and times are not used. Reading the
 * Key Vault secret "{account}-{name}" mints a fresh token of that shape
 * (gateway/keyvault), valid for validityPeriod from the read.
 */
#define VAULT_SASDEF_NAME_MAX 64              /* characters of a definition name: [0-9a-zA-Z] (Key Vault's rule) */
#define VAULT_SASDEF_TEMPLATE_MAX 8192        /* bytes of a template URI */
#define VAULT_SASDEF_VALIDITY_TEXT_MAX 32     /* bytes of a validityPeriod as given */
#define VAULT_SASDEF_VALIDITY_MAX (7 * 86400) /* seconds: the mint's longest token lifetime (the issuance index horizon) */

typedef enum { VAULT_SASDEF_SERVICE = 0, VAULT_SASDEF_ACCOUNT = 1 } vault_sasdef_type_t;

typedef struct {
    char *account, *name;
    char *template_uri;
    char *validity;   /* ISO 8601 duration as given ("PT1H") */
    uint8_t sas_type; /* vault_sasdef_type_t */
    uint8_t enabled;
    int64_t created, updated;
    size_t ntags;
    vault_tag_t *tags;
} vault_sasdef_t;

/* What vault_sasdef_put takes (strings borrowed). */
typedef struct {
    const char *account, *name, *template_uri, *validity;
    vault_sasdef_type_t sas_type;
    int enabled; /* 1 or 0 */
    size_t ntags;
    const vault_tag_t *tags;
} vault_sasdef_input_t;

/*
 * The shape a template gives, read by vault_sasdef_template_parse(). String
 * members point into tok/res (valid as long as the struct); NULL when absent.
 */
typedef struct {
    vault_sasdef_type_t sas_type;
    const char *container, *blob;        /* service SAS: sr=c (container) or sr=b (blob) */
    const char *identifier;              /* si */
    char permissions[32];                /* sp as written */
    char services[8], resource_types[8]; /* account SAS: ss, srt */
    const char *ip;                      /* sip as written */
    const char *protocol;                /* "https" or "https,http" (spr), NULL when absent */
    sas_token_t tok;
    sas_resource_t res;
} vault_sasdef_template_t;

/* Definition names: 1 to VAULT_SASDEF_NAME_MAX ASCII letters and digits. */
int vault_valid_sasdef_name(const char *name);
/*
 * Parses an ISO 8601 duration of days, hours, minutes and seconds
 * ("P1D", "PT1H30M", "P1DT12H", "PT90S", "P1W"; integers only; years and
 * months refused as they have no fixed length) into seconds, which must be
 * 1 to VAULT_SASDEF_VALIDITY_MAX. 0 ok, -1 with a sentence in err.
 */
int vault_sasdef_parse_duration(const char *text, int64_t *seconds, char *err, size_t errlen);
/*
 * Reads a template URI for account as a SAS of type: scheme://host[:port]/path?query,
 * the query a SAS (sas_token_parse: sv, sig, sp... valid), the path either
 * path style "/{account}[/{container}[/{blob}]]" or, with a host
 * "{account}.<domain>", "/[{container}[/{blob}]]". A service template must be
 * sr=c or sr=b and match its path; an account template carries ss and srt
 * and addresses the account. Templates of a user delegation SAS, of a
 * snapshot or version, or for another account are refused. 0 ok, -1 with a
 * sentence in err.
 */
int vault_sasdef_template_parse(const char *uri, const char *account, vault_sasdef_type_t type, vault_sasdef_template_t *out,
                                char *err, size_t errlen);

/*
 * Creates or replaces a definition (the account must exist; the template and
 * duration must parse). On replace, created is kept. *out (may be NULL)
 * receives the stored definition (vault_sasdef_dispose). Audited ("sasdef.put").
 */
vault_err_t vault_sasdef_put(vault_t *v, const vault_actor_t *who, const vault_sasdef_input_t *in, vault_sasdef_t *out, char *err,
                             size_t errlen);
/* 1 and *out filled (vault_sasdef_dispose), 0 when absent. */
int vault_sasdef_get(vault_t *v, const char *account, const char *name, vault_sasdef_t *out);
/* Removes a definition; *out (may be NULL) receives it as it was. Audited ("sasdef.delete"). */
vault_err_t vault_sasdef_delete(vault_t *v, const vault_actor_t *who, const char *account, const char *name, vault_sasdef_t *out,
                                char *err, size_t errlen);
/* Lists definitions sorted by (account, name); account NULL: all accounts, else that one (which must exist). */
vault_err_t vault_sasdef_list(vault_t *v, const char *account, vault_sasdef_t **out, size_t *n, char *err, size_t errlen);
void vault_sasdef_dispose(vault_sasdef_t *d);
void vault_sasdef_list_free(vault_sasdef_t *list, size_t n);

/* ---------------------------------------------------------------- backup */

/*
 * Writes an encrypted, integrity-checked export of the whole vault to path
 * (atomically, mode 0600): the same container as the vault file under another
 * magic, sealed with the same data key (wrapped by the same master key or
 * passphrase) and bound to the vault id.
 */
vault_err_t vault_backup(vault_t *v, const vault_actor_t *who, const char *path, char *err, size_t errlen);
/*
 * Restores the backup at backup_path into the vault at vault_path, unsealing it
 * with ks. When a vault exists there it must open with ks and carry the same
 * vault id (a foreign backup is refused); the restored state becomes a new
 * generation and the current one is kept as ".prev". When no vault exists,
 * the backup recreates it. A tampered backup is refused.
 */
vault_err_t vault_restore(const char *vault_path, const vault_keysource_t *ks, const char *audit_path, const vault_actor_t *who,
                          const char *backup_path, char *err, size_t errlen);

/* ---------------------------------------------------------------- audit trail */

/*
 * The audit log: JSON lines, one record each:
 *   {"ts":"2026-01-02T03:04:05.678Z","seq":N,"principal":…,"op":…,"object":…,"result":…,
 *    ["client":…,"request_id":…,"token_id":…,"reason":…,"count":N,"first":…,"last":…,]
 *    "prev":"<hex SHA-256 of the previous line>"}
 * The first record's prev is 64 zeros; seq starts at 1. Appends are O_APPEND +
 * fsync under an exclusive flock on the log (processes) and a mutex (threads).
 */
typedef struct vault_audit vault_audit_t;

typedef struct {
    const char *principal;                               /* NULL: "cli" */
    const char *op;                                      /* e.g. "sas.mint", "secret.set" (required) */
    const char *object;                                  /* e.g. "devstoreaccount1/photos" (NULL: "") */
    const char *result;                                  /* "ok", "refused", "error" (required) */
    const char *client, *request_id, *token_id, *reason; /* optional; never keys, secrets or signatures */
    /*
     * Optional, for a record standing for several like events (refusals
     * coalesced per client and reason): count > 0 adds "count":N, and first
     * and last (when set) the times of the first and the last of them
     * ("YYYY-MM-DDTHH:MM:SSZ"). 0 / NULL: a record of one event, as usual.
     */
    uint64_t count;
    const char *first, *last;
} vault_audit_record_t;

/* The log beside the vault: "<dir of vault_path>/audit.log". Returns a string to free(). */
char *vault_audit_default_path(const char *vault_path);
/* A handle on the log at path (created, mode 0600, by the first append). Close with vault_audit_close. */
vault_audit_t *vault_audit_open(const char *path, char *err, size_t errlen);
void vault_audit_close(vault_audit_t *a);
/* Appends one record (fields are truncated to 1024 bytes each). Thread- and process-safe. */
vault_err_t vault_audit_append(vault_audit_t *a, const vault_audit_record_t *rec, char *err, size_t errlen);
/*
 * Appends the n records recs[0..n-1], in order, as one unit (group commit):
 * one flock, one write(), one fsync; the chain runs through them exactly as
 * through n single appends. Thread- and process-safe like vault_audit_append.
 * Field strings are UTF-8: valid UTF-8 is kept as is, '"', '\\' and control
 * characters are escaped, each invalid byte becomes U+FFFD.
 * Returns VAULT_OK when every record is durable; VAULT_EIO or VAULT_ECORRUPT
 * (err says why) when the log could not be read, written or synced: then no
 * record of the batch counts as written (the bytes written are cut off
 * again, best effort); VAULT_EINVAL when a record is not valid (no op or
 * result, or longer than 16 KiB escaped; err names it): then nothing was
 * written at all and the caller may append the others on their own.
 */
vault_err_t vault_audit_append_batch(vault_audit_t *a, const vault_audit_record_t *recs, size_t n, char *err, size_t errlen);
/*
 * Checks the whole chain. Returns 0 when intact (*records = count), 1 when a
 * record is bad (*bad_line = its 1-based line, err says why), VAULT_EIO on I/O error.
 */
int vault_audit_verify(const char *path, uint64_t *records, uint64_t *bad_line, char *err, size_t errlen);
/* The last n lines (without newline). Free with vault_audit_lines_free. */
vault_err_t vault_audit_tail(const char *path, size_t n, char ***lines, size_t *count, char *err, size_t errlen);
void vault_audit_lines_free(char **lines, size_t count);
/* The audit log a vault handle appends to (for the gateway to share it). */
vault_audit_t *vault_audit_of(vault_t *v);
/*
 * Checks that the record the vault last anchored (the head of the log at its
 * last write, kept inside the encrypted vault) is still in the log unchanged:
 * detects a truncated tail or an edited last record that the chain alone
 * cannot. Returns 0 ok, 1 mismatch (err says which), -1 on error.
 */
int vault_audit_check_anchor(vault_t *v, char *err, size_t errlen);

/* ---------------------------------------------------------------- time */

/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]Z" or "...+HH:MM" into unix seconds. 0 ok, -1 bad. */
int vault_time_parse(const char *s, int64_t *out);
/* Formats unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void vault_time_format(int64_t t, char *buf, size_t cap);

#endif
