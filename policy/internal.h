/*
 * internal.h - the policy module's private structures and helpers, shared by
 * the files of policy/ only. The gateway includes policy.h, never this.
 */
#ifndef SASGW_POLICY_INTERNAL_H
#define SASGW_POLICY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sasgw/policy.h"
#include "sasgw/signer.h"

/*
 * Letter sets are the signer's (signer.h): a service grant's permissions from
 * SAS_PERM_ORDER_SERVICE, an account grant's from SAS_PERM_ORDER_ACCOUNT (the
 * letters an account SAS can carry, so a grant never promises what cannot be
 * minted), services from SAS_SS_LETTERS, resource types from SAS_SRT_LETTERS.
 */

/* JWS algorithms a key can be pinned to. */
typedef enum en_policy__alg_t { POLICY__ALG_RS256 = 0, POLICY__ALG_ES256, POLICY__ALG_COUNT } policy__alg_t;

/* An address range, both ends inclusive; IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
typedef struct st_policy__iprange_t {
    uint8_t lo[16];
    uint8_t hi[16];
} policy__iprange_t;

typedef struct st_policy__grant_t {
    char *rule;      /* "roles.<role>.grants[<i>]" */
    char *account;   /* exact account name */
    char *container; /* exact name or "*"; NULL for an account-SAS grant */
    char *prefix;    /* blob-name prefix template, may contain "{principal}"; NULL for none */
    char permissions[24];
    uint64_t max_ttl;
    int allow_http; /* protocol: https,http */
    policy__iprange_t *ips;
    size_t nips; /* 0: any client address */
    int account_sas;
    char services[8];
    char resource_types[8];
} policy__grant_t;

/* One `keyvault:` entry of a role: data actions on a scope of names. */
typedef struct st_policy__kv_entry_t {
    char *rule;       /* "roles.<role>.keyvault[<i>]" */
    uint32_t actions; /* bit a: policy_kv_action_t a */
    char *secrets;    /* scope of the secrets actions: "*", a name, or "prefix*" */
    char *storage;    /* scope of the storage actions, the same way over storage account names */
} policy__kv_entry_t;

typedef struct st_policy__role_t {
    char *name;
    policy__grant_t *grants;
    size_t ngrants;
    policy__kv_entry_t *kv;
    size_t nkv;
    uint32_t caps; /* bit i: policy_capabilities[i] */
} policy__role_t;

struct st_policy_principal_t {
    char *name;
    int has_basic;
    uint8_t secret_sha256[32];
    long jwt_issuer; /* index into policy->issuers, or -1 */
    char *jwt_subject;
    const policy__role_t **roles;
    size_t nroles;
    uint32_t caps; /* union of the roles' capabilities */
};

typedef struct st_policy__key_t {
    char *kid; /* NULL for keys from a PEM file */
    policy__alg_t alg;
    char *pem; /* the public key as PEM, what libjwt verifies with */
    size_t pem_len;
} policy__key_t;

typedef struct st_policy__issuer_t {
    char *issuer;
    char *audience;
    int64_t leeway;
    unsigned algs; /* bit a: policy__alg_t a allowed */
    policy__key_t *keys;
    size_t nkeys;
} policy__issuer_t;

/*
 * Signatures already verified (policy_jwt.c): the SHA-256 of a whole token
 * and the key that verified it, direct-mapped. libjwt 1.10 parses the key's
 * PEM on every verification (~0.4 ms); a client reuses its token until it
 * expires. Only the signature is remembered: the claims (exp, nbf, iat, aud,
 * sub) are checked on every use. A failed verification is never stored. One
 * per policy, so a reload (new keys) starts empty.
 */
#define POLICY__SIGCACHE_SLOTS 4096
typedef struct st_policy__sigcache_t {
    pthread_mutex_t lock;
    uint64_t hits;
    struct {
        uint8_t digest[32];
        const policy__key_t *key; /* NULL: empty */
    } slots[POLICY__SIGCACHE_SLOTS];
} policy__sigcache_t;

struct st_policy_t {
    atomic_size_t refcnt;
    policy__sigcache_t *sigcache;
    policy_principal_t *principals;
    size_t nprincipals;
    policy__role_t *roles;
    size_t nroles;
    policy__issuer_t *issuers;
    size_t nissuers;
    uint8_t dummy_sha256[32]; /* compared against when a Basic client id is unknown */
};

/* The slot of a token's SHA-256 (12 bits of it: a forger can aim at a slot, so the whole digest is compared). */
static inline size_t policy__sigcache_slot(const uint8_t *digest)
{
    return ((size_t)digest[0] | (size_t)digest[1] << 8) % POLICY__SIGCACHE_SLOTS;
}

policy__sigcache_t *policy__sigcache_new(void);
/* Wipes (the digests name tokens in use) and frees. NULL is allowed. */
void policy__sigcache_free(policy__sigcache_t *cache);
/* Verifications answered from the cache so far (for tests). */
uint64_t policy__sigcache_hits(const policy_t *policy);

/* Frees a policy under construction or at refcount zero (policy_object.c). */
void policy__free(policy_t *policy);

/* "RS256" / "ES256". */
const char *policy__alg_name(policy__alg_t alg);

/*
 * Reads the key file at path (JWKS JSON or PEM public keys) into *keys and *nkeys,
 * keeping only algorithms in the algs mask. Returns 0, or -1 with a reason
 * (without file position; the caller adds it) in err. (policy_keys.c)
 */
int policy__load_keys(const char *path, unsigned algs, policy__key_t **keys, size_t *nkeys, char *err, size_t errlen);
void policy__free_keys(policy__key_t *keys, size_t nkeys);

/*
 * Decodes base64url without padding (RFC 7515 §2) into out, at most cap bytes.
 * Returns 0 and sets *outlen, or -1 when the text is not canonical base64url.
 */
int policy__b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/*
 * Reads a whole regular file of at most max bytes, NUL-terminated, into
 * *buf and *len. Returns 0, or -1 with strerror-like text in err.
 */
int policy__read_file(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errlen);

/* Parses an IPv4 or IPv6 address into its 16-byte (IPv4-mapped) form. Returns 0 or -1. */
int policy__parse_ip(const char *s, size_t len, uint8_t out[16]);

/*
 * Parses "addr", "addr/prefix" or "addr-addr" (both the same family, lo <= hi).
 * Returns 0 or -1.
 */
int policy__parse_iprange(const char *s, policy__iprange_t *out);

/* Storage account names: 3 to 24 lowercase letters and digits. */
int policy__valid_account(const char *s);
/* Container names: 3 to 63 lowercase letters, digits and single inner dashes, or $root, $web, $logs. */
int policy__valid_container(const char *s);

#endif
