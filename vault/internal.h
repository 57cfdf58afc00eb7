/*
 * internal.h - what the files of vault/ share and nothing outside vault/ may
 * include (bench and fuzz excepted): the in-memory model, the payload codec,
 * the encrypted container and the write transaction.
 */
#ifndef SASGW_VAULT_INTERNAL_H
#define SASGW_VAULT_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sasgw/vault.h"

/* ---------------------------------------------------------------- the model */

struct vault__keyver {
    uint32_t number;
    int64_t created;
    uint8_t state; /* vault_key_state_t */
    uint8_t len;
    uint8_t key[VAULT_KEY_MAX];
};

struct vault__slot {
    size_t n;
    struct vault__keyver *v; /* oldest first */
};

struct vault__account {
    char *name, *backend;
    uint8_t mode;
    struct vault__slot slot[VAULT_NUM_SLOTS]; /* key1, key2, edge1, edge2 (index = slot number - 1) */
};

struct vault__secver {
    char id[VAULT_VERSION_ID_LEN + 1];
    uint8_t *value;
    size_t len;
    char *content_type;
    size_t ntags;
    vault_tag_t *tags;
    uint8_t enabled;
    int64_t nbf, exp, created, updated;
};

struct vault__secret {
    char *name;
    int64_t deleted_on, purge_on; /* 0: live */
    size_t n;
    struct vault__secver *v; /* oldest first */
};

struct vault__state {
    uint32_t retention_days;
    uint8_t purge_protection;
    uint64_t audit_seq;     /* head of the audit log at the last write (anchor) */
    uint8_t audit_hash[32]; /* SHA-256 of that record's line */
    size_t naccounts, nsecrets, npolicies, nsasdefs;
    struct vault__account *accounts;
    struct vault__secret *secrets;
    vault_policy_t *policies;
    vault_sasdef_t *sasdefs; /* sorted by (account, name) */
};

/* Frees everything the state holds, wiping keys and secret values; leaves it zeroed. */
void vault__state_free(struct vault__state *s);
void vault__secver_free(struct vault__secver *sv);
void vault__secret_free(struct vault__secret *s);
/* Copies a version's attributes (no value) into out (free with vault_secret_attrs_dispose). vault_secrets.c */
void vault__attrs_copy(vault_secret_attrs_t *out, const struct vault__secver *sv);
/* Lookups: index or -1. */
long vault__find_account(const struct vault__state *s, const char *name);
long vault__find_secret(const struct vault__state *s, const char *name);

/* Checks a SAS definition's template, validity, type and tags (vault_sasdefs.c): VAULT_OK or VAULT_EINVAL with err set. */
vault_err_t vault__sasdef_check(const char *account, const char *template_uri, const char *validity, int sas_type, size_t ntags,
                                const vault_tag_t *tags, char *err, size_t errlen);

/* ---------------------------------------------------------------- payload codec (vault_codec.c) */

/* Hard limits the parser enforces (a file beyond them is refused). */
#define VAULT__MAX_ITEMS 1000000u
#define VAULT__MAX_STR 65536u
#define VAULT__MAX_TAGS 15u

/* Serialises the state. *out is secure memory (sg_secure_alloc); free it with sg_secure_free(). Never fails. */
void vault__encode(const struct vault__state *s, uint8_t **out, size_t *len);
/* Parses a payload strictly. On error s is left empty (everything wiped). */
vault_err_t vault__decode(const uint8_t *p, size_t len, struct vault__state *s, char *err, size_t errlen);

/* ---------------------------------------------------------------- container (vault_file.c) */

#define VAULT__FORMAT 1
#define VAULT__HDR_LEN 140
#define VAULT__WRAP_AAD_LEN 44 /* format .. vault id (bytes 8..51) */
#define VAULT__TAG_LEN 16
#define VAULT__MAX_FILE (256u << 20)

enum { VAULT__KIND_VAULT = 0, VAULT__KIND_BACKUP = 1 };
enum { VAULT__KDF_RAW = 1, VAULT__KDF_SCRYPT = 2 };

struct vault__header {
    int kind;
    uint16_t format;
    uint8_t kdf, log2n;
    uint32_t r, p;
    uint8_t salt[16];
    uint8_t vault_id[16];
    uint8_t wrap_nonce[12], wrapped[32], wrap_tag[16];
    uint64_t generation;
    uint8_t nonce[12];
    uint64_t ct_len;
};

/* scrypt parameters for new vaults (bench/vault_open_write.sh measures them). */
#define VAULT__SCRYPT_LOG2N 15
#define VAULT__SCRYPT_R 8
#define VAULT__SCRYPT_P 1

/* The key-encryption key for a header (vault_keys.c). */
vault_err_t vault__kek(const struct vault__header *h, const vault_keysource_t *ks, uint8_t kek[32], char *err, size_t errlen);
/* A fresh header for a new vault: random vault id, salt and data key (into dk), wrapped under ks. */
vault_err_t vault__header_new(struct vault__header *h, const vault_keysource_t *ks, uint8_t dk[32], char *err, size_t errlen);
/* Parses the cleartext header of a file of the given kind, checking sizes and ranges (not authenticity). */
vault_err_t vault__header_parse(const uint8_t *buf, size_t len, int kind, struct vault__header *h, char *err, size_t errlen);
/* Unwraps the data key with ks (scrypt when the header says so). */
vault_err_t vault__unwrap(const struct vault__header *h, const vault_keysource_t *ks, uint8_t dk[32], char *err, size_t errlen);
/* Decrypts and authenticates the payload of a whole file whose header parsed into h. *pt: secure memory, sg_secure_free(). */
vault_err_t vault__decrypt(const uint8_t *file, size_t len, const struct vault__header *h, const uint8_t dk[32], uint8_t **pt,
                           size_t *ptlen, char *err, size_t errlen);
/* Seals pt under dk with a fresh nonce into a whole file (h->nonce, h->ct_len updated). *out: free(). */
void vault__encrypt(struct vault__header *h, const uint8_t dk[32], const uint8_t *pt, size_t ptlen, uint8_t **out, size_t *outlen);
/* AES-256-GCM one-shot (out has len bytes). enc: out = ciphertext, tag written. !enc: tag checked; -1 on mismatch or failure. */
int vault__gcm(int enc, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aadlen, const uint8_t *in,
               size_t len, uint8_t *out, uint8_t tag[16]);
/* Serialises the header (VAULT__HDR_LEN bytes). */
void vault__header_write(const struct vault__header *h, uint8_t *buf);

/* Reads a whole file (at most VAULT__MAX_FILE). errno is kept for the caller (ENOENT). */
vault_err_t vault__read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen);
/* Reads up to cap bytes of the start of a file; returns the count or -1. */
long vault__read_head(const char *path, uint8_t *buf, size_t cap);
/* Writes data to "<path>.tmp" (mode 0600) and fsyncs it. */
vault_err_t vault__tmp_write(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen);
/* Renames "<path>.tmp" over path and fsyncs the directory; with keep_prev the old file becomes "<path>.prev". */
vault_err_t vault__tmp_commit(const char *path, int keep_prev, char *err, size_t errlen);
void vault__tmp_discard(const char *path);
/* Takes the exclusive write lock "<path>.lock" (blocking). Returns the fd, or VAULT_EIO (negative) with err set. */
int vault__lock(const char *path, char *err, size_t errlen);
void vault__unlock(int fd);
/* fsyncs the directory that holds path. */
int vault__fsync_dir(const char *path);
/* "<path><suffix>", malloc'd. */
char *vault__path_with(const char *path, const char *suffix);

/* ---------------------------------------------------------------- the handle (vault_store.c) */

struct vault {
    pthread_mutex_t mu;
    char *path, *audit_path;
    vault_audit_t *audit;
    struct vault__header hdr; /* of the state held */
    uint8_t hdr_bytes[VAULT__HDR_LEN];
    uint8_t dk[32];
    struct vault__state st;
    int broken; /* a failed write could not be rolled back: every call refuses */
};

/*
 * A mutation: validates, and only when valid changes st and returns 0 (object
 * may be set to the audited object name); otherwise returns the error code with
 * err set and st untouched.
 */
typedef vault_err_t (*vault__mutator_t)(struct vault__state *st, void *arg, char *err, size_t errlen);

/*
 * Runs fn under the handle's mutex and the file lock on the newest state on
 * disk, then commits: audit record first, then the atomic write. A refusal is
 * audited with result "refused". op/object name the audit record.
 */
vault_err_t vault__mutate(vault_t *v, const vault_actor_t *who, const char *op, const char *object, vault__mutator_t fn, void *arg,
                          char *err, size_t errlen);
/* Appends an audit record for the handle (v->mu held or not: the audit has its own lock). */
vault_err_t vault__audit(vault_t *v, const vault_actor_t *who, const char *op, const char *object, const char *result,
                         const char *reason, char *err, size_t errlen);
/* Writes a one-sentence error into err (when err is not NULL and errlen > 0) and returns code. */
vault_err_t vault__fail(char *err, size_t errlen, vault_err_t code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int64_t vault__now(void);

/* Head of the audit log: seq and hash of the last line (0 and zeros when empty). */
vault_err_t vault__audit_head(vault_audit_t *a, uint64_t *seq, uint8_t hash[32], char *err, size_t errlen);
const char *vault__audit_path(vault_audit_t *a);

/* Loads and decrypts a vault/backup file into st. On success also fills h, hdr_bytes and dk. */
vault_err_t vault__load(const char *path, int kind, const vault_keysource_t *ks, const uint8_t *known_dk, struct vault__header *h,
                        uint8_t hdr_bytes[VAULT__HDR_LEN], uint8_t dk[32], struct vault__state *st, char *err, size_t errlen);
/* Parses + decrypts + decodes an in-memory file (the fuzzer's entry point). */
vault_err_t vault__load_buffer(const uint8_t *file, size_t len, int kind, const vault_keysource_t *ks, const uint8_t *known_dk,
                               struct vault__header *h, uint8_t dk[32], struct vault__state *st, char *err, size_t errlen);

#endif
