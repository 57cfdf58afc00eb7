/*
 * sasgw/policy.h - who may get which token (DESIGN.md §8).
 *
 * The policy module loads conf/policy.yaml (principals, roles, grants, JWT
 * issuers), authenticates principals (HTTP Basic client secrets stored as
 * SHA-256 hashes; JWT bearer tokens signed RS256 or ES256) and decides whether
 * a principal may get a token. It knows nothing about HTTP or Redis: the
 * gateway hands it header values and request fields.
 *
 * A loaded policy is immutable and reference-counted. The gateway keeps one
 * current policy_t, retains it for the duration of each request, and swaps in a
 * freshly loaded one on SIGHUP or an admin reload; a file that fails to load
 * returns NULL with the reason, and the caller keeps the old one. Every
 * function below only reads the policy, so any number of threads may use the
 * same policy_t at once.
 *
 * Errors: functions return 0 on success and -1 on failure, and write one
 * human sentence into the caller's buffer (err, errlen), truncated to fit. No
 * message ever contains a secret, a token or key material.
 */
#ifndef SASGW_POLICY_H
#define SASGW_POLICY_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_policy_t policy_t;
typedef struct st_policy_principal_t policy_principal_t;

/* Largest policy file, JWKS or PEM key file the loader reads. */
#define POLICY_MAX_FILE_SIZE (1024 * 1024)
/* Longest bearer token accepted; longer ones are refused before any parsing. */
#define POLICY_MAX_TOKEN_LEN 8192

/*
 * The admin capabilities a role may hold (`admin: [...]` in policy.yaml), in a
 * fixed order: policy_capabilities[i] for i < POLICY_CAPABILITY_COUNT.
 */
#define POLICY_CAPABILITY_COUNT 11
extern const char *const policy_capabilities[POLICY_CAPABILITY_COUNT];

/* ---- loading and lifetime ---- */

/*
 * Loads the policy file at path. Key files named in it (jwt_issuers[].keys)
 * are resolved relative to the directory of path and read now. Returns a new
 * policy with one reference, or NULL with the reason in err, naming
 * "file:line:column" for every problem found inside a file. Unknown keys,
 * wrong types and bad values are errors: nothing is guessed.
 */
policy_t *policy_load(const char *path, char *err, size_t errlen);

/*
 * Same as policy_load() for a policy held in memory (len bytes at buf, which
 * need not be NUL-terminated). name is used in messages in place of the file
 * name; relative key paths are resolved against basedir (NULL means the
 * current directory).
 */
policy_t *policy_load_buffer(const char *name, const char *basedir, const char *buf, size_t len, char *err, size_t errlen);

/* Adds a reference to policy and returns it. Thread-safe. */
policy_t *policy_retain(policy_t *policy);

/*
 * Drops a reference; the last one frees the policy, wiping the stored secret
 * hashes. Principals obtained from the policy become invalid then. NULL is
 * allowed. Thread-safe.
 */
void policy_release(policy_t *policy);

/* ---- authentication ---- */

/*
 * Authenticates the value of an HTTP Authorization header: "Basic ..." goes to
 * policy_authenticate_basic(), "Bearer ..." to policy_authenticate_bearer()
 * (the scheme is case-insensitive). On success sets *out to the principal,
 * which lives as long as the policy does. now is the current Unix time.
 */
int policy_authenticate(const policy_t *policy, const char *authorization, int64_t now, const policy_principal_t **out, char *err,
                        size_t errlen);

/*
 * Authenticates "Basic base64(client_id:secret)" (the whole header value).
 * The SHA-256 of the secret is compared in constant time with the hash stored
 * for client_id; an unknown client id is compared against a dummy hash, so it
 * takes the same path and time as a wrong secret and gets the same message.
 */
int policy_authenticate_basic(const policy_t *policy, const char *authorization, const policy_principal_t **out, char *err,
                              size_t errlen);

/*
 * Authenticates a JWT (the text after "Bearer "), at most POLICY_MAX_TOKEN_LEN
 * bytes. The header's alg must be RS256 or ES256 and allowed for the issuer;
 * the key is chosen by kid (or, without kid, every issuer key of that alg is
 * tried), the key's own algorithm is pinned, and the signature is verified by
 * libjwt, whose jwt_get_alg() must then report the pinned algorithm too. Then
 * iss must name a configured issuer, aud be (or contain) its audience, exp be
 * present and not past, nbf and iat not in the future (each within the
 * issuer's leeway), and sub must map to a principal whose auth.jwt names this
 * issuer and subject.
 */
int policy_authenticate_bearer(const policy_t *policy, const char *token, int64_t now, const policy_principal_t **out, char *err,
                               size_t errlen);

/* ---- principals and capabilities ---- */

/* The principal's name, as written under `principals:`. */
const char *policy_principal_name(const policy_principal_t *principal);

/*
 * 1 when one of the principal's roles holds the admin capability named (one of
 * policy_capabilities), 0 otherwise, including for an unknown name.
 */
int policy_principal_can(const policy_principal_t *principal, const char *capability);

/* ---- decisions ---- */

typedef enum en_policy_sas_kind_t {
    POLICY_SAS_SERVICE = 0, /* a blob or container SAS */
    POLICY_SAS_ACCOUNT      /* an account SAS (ss, srt) */
} policy_sas_kind_t;

/* What a principal asks for. Strings are NUL-terminated and borrowed for the call. */
typedef struct st_policy_request_t {
    policy_sas_kind_t kind;
    const char *account;
    const char *container;      /* service SAS: required; account SAS: ignored */
    const char *blob;           /* service SAS: the blob name, or NULL for a container SAS */
    const char *permissions;    /* the letters asked for (sp), any order, none repeated */
    uint64_t ttl;               /* seconds from now until the token expires */
    const char *protocol;       /* "https" or "https,http"; NULL: the most the grant allows (see decision) */
    const char *client_ip;      /* the address of the caller asking for the token (IPv4 or IPv6) */
    const char *services;       /* account SAS: ss letters (b, q, t, f) */
    const char *resource_types; /* account SAS: srt letters (s, c, o) */
} policy_request_t;

typedef struct st_policy_decision_t {
    int granted; /* 1 granted, 0 refused */
    /*
     * The rule that decided: the covering grant ("roles.uploader.grants[0]"),
     * "default" when no grant covers the resource (deny by default), or
     * "request" when the request itself is malformed.
     */
    char rule[128];
    /*
     * One sentence starting with the rule, e.g.
     * "roles.uploader.grants[0]: permission d not granted (allowed rcw)" or
     * "default: no grant covers devstoreaccount1/photos/x".
     */
    char message[320];
    /*
     * When refused: the member of the request the refusal is about, a static
     * string ("permissions", "services", "resource_types", "expires_in",
     * "protocol", "account", "container", "blob"), NULL when none is.
     */
    const char *field;
    /* When granted: the protocol to sign into the token, "https" or "https,http" (a static string): the request's, or
       the grant's when the request left it NULL. */
    const char *protocol;
    /* When granted: the grant's max_ttl in seconds. */
    uint64_t max_ttl;
} policy_decision_t;

/*
 * Decides whether principal may get the token described by req. Deny by
 * default: the request is granted by the first grant (roles in the
 * principal's order, grants in file order) that covers the resource and
 * allows everything asked for:
 *   - service SAS: account equal, container equal (or the grant's is "*"),
 *     the blob name starts with the grant's prefix after `{principal}` is
 *     replaced by the principal's name (a container SAS is covered only by a
 *     grant without prefix; blob names with "." or ".." segments are refused);
 *   - account SAS: a grant with `account_sas: true` for the account, and ss
 *     and srt within its services and resource_types;
 *   - permissions a subset of the grant's; ttl <= max_ttl; protocol "https,http"
 *     only if the grant allows http; the client address inside the grant's ip
 *     list when it has one.
 * When covering grants exist but none allows the request, the first covering
 * grant's refusal is reported. Returns 0 when granted, -1 when refused; out is
 * always filled.
 */
int policy_decide(const policy_principal_t *principal, const policy_request_t *req, policy_decision_t *out);

/* ---- Key Vault data actions ---- */

/*
 * The data actions of the Key Vault API (`keyvault:` entries of a role in
 * policy.yaml), in a fixed order. Secrets actions are scoped by secret name,
 * storage actions (managed-storage SAS definitions) by storage account name.
 */
typedef enum en_policy_kv_action_t {
    POLICY_KV_SECRETS_GET = 0,
    POLICY_KV_SECRETS_LIST,
    POLICY_KV_SECRETS_SET,
    POLICY_KV_SECRETS_DELETE,
    POLICY_KV_SECRETS_RECOVER,
    POLICY_KV_SECRETS_BACKUP,
    POLICY_KV_SECRETS_RESTORE,
    POLICY_KV_SECRETS_PURGE,
    POLICY_KV_STORAGE_GETSAS,
    POLICY_KV_STORAGE_LISTSAS,
    POLICY_KV_STORAGE_SETSAS,
    POLICY_KV_STORAGE_DELETESAS,
    POLICY_KV_ACTION_COUNT
} policy_kv_action_t;

/* "secrets/get", "storage/getsas", ...; "unknown" for a value out of range. */
const char *policy_kv_action_name(policy_kv_action_t action);

/*
 * 1 when one of the principal's roles holds action on name (len bytes: a
 * secret name for secrets/..., a storage account name for storage/...): an
 * entry listing the action whose scope is "*" (the whole vault, the default),
 * an exact name, or "prefix*" that name starts with. 0 otherwise (deny by
 * default). When rule is not NULL it receives the entry that allowed
 * ("roles.reader.keyvault[0]") or "default".
 */
int policy_kv_allowed(const policy_principal_t *principal, policy_kv_action_t action, const char *name, size_t len, char *rule,
                      size_t rulelen);

/* 1 when one of the principal's roles lists action in any keyvault entry, whatever its scope (lists filter by scope). */
int policy_kv_holds(const policy_principal_t *principal, policy_kv_action_t action);

/* The issuer URL of the index-th entry of jwt_issuers, or NULL past the last. */
const char *policy_jwt_issuer_url(const policy_t *policy, size_t index);

/*
 * policy_authenticate_bearer() with the audience the token must carry given
 * by the caller instead of the issuer's (the Key Vault API's own resource);
 * an audience differing from it only by one trailing '/' is the same.
 * audience NULL: exactly policy_authenticate_bearer().
 */
int policy_authenticate_bearer_for(const policy_t *policy, const char *token, const char *audience, int64_t now,
                                   const policy_principal_t **out, char *err, size_t errlen);

#endif
