/*
 * sasgw/signer.h - the SAS model of sasgw: parse, canonicalize, mint and verify
 * Azure Storage shared access signatures (service SAS for blobs, snapshots,
 * versions and containers; account SAS), every sv from 2018-11-09 to
 * 2026-10-06. See DESIGN.md §3.
 *
 * The module is pure: no I/O, no globals, no locks. Nothing on the verify
 * path allocates from the heap: a parsed token and a resource live in
 * caller-provided structs with fixed-size arenas, the string to sign is built
 * on the stack, and a key is a precomputed HMAC-SHA256 state that verifying
 * copies onto the stack (so one sas_key_t may be shared read-only by any
 * number of threads).
 *
 * Every refusal returns a reason code (sas_reason_t) and, when the caller
 * passes a sas_error_t, a human sentence such as "expired at
 * 2026-11-24T10:00:00Z" or "permission w not granted by sp=r".
 *
 * A request is verified in DESIGN's order, cheapest first:
 *
 *     sas_token_t tok;           (about 4.5 KB: keep it on the stack or per thread)
 *     sas_resource_t res;
 *     sas_grant_t grant;
 *     sas_error_t err;
 *     if (sas_token_parse(&tok, query, query_len, &err) != SAS_OK ||
 *         sas_resource_from_path(&res, path, path_len, &tok, &err) != SAS_OK ||
 *         sas_verify(&ctx, &tok, &res, &grant, &err) != SAS_OK)
 *         refuse(sas_reason_azure_code(err.reason), err.message);
 *
 * or step by step with sas_check_resource(), sas_check_times(),
 * sas_check_signature(), sas_apply_policy(), sas_check_network() and
 * sas_check_operation(). Revocation (step 8) belongs to the caller: it
 * looks up sas_token_id().
 */
#ifndef SASGW_SIGNER_H
#define SASGW_SIGNER_H

#include <stddef.h>
#include <stdint.h>

/* Bounds. A query or path over its bound is refused with a reason, never truncated. */
#define SAS_MAX_QUERY 4096   /* bytes of raw (percent-encoded) query accepted by sas_token_parse() */
#define SAS_MAX_PATH 4096    /* bytes of raw path accepted by sas_resource_from_path() */
#define SAS_MAX_STS 8448     /* bytes of the longest string to sign (every value at its bound) */
#define SAS_SIG_LEN 32       /* bytes of a decoded signature (HMAC-SHA256) */
#define SAS_SIG_B64_LEN 44   /* characters of a signature in base64 */
#define SAS_TOKEN_ID_LEN 22  /* characters of a token id (base64url of 16 bytes, no padding) */
#define SAS_MESSAGE_MAX 256  /* bytes of a refusal sentence, NUL included */
#define SAS_TIME_TEXT_MAX 32 /* bytes of sas_time_format() output, NUL included */

/* The range of sv this module signs and verifies, and the layout boundary (ses appears). */
#define SAS_VERSION_MIN "2018-11-09"
#define SAS_VERSION_MAX "2026-10-06"
#define SAS_VERSION_DEFAULT "2026-10-06"
#define SAS_VERSION_WITH_SES "2020-12-06"

/* Canonical permission orders: the issuing API writes letters in this order (sas_perm_format()). */
#define SAS_PERM_ORDER_SERVICE "racwdxyltfmeopi"
#define SAS_PERM_ORDER_ACCOUNT "rwdxylacuptfi"
/* Account SAS letter sets: ss (blob, queue, table, file) and srt (service, container, object). */
#define SAS_SS_LETTERS "bqtf"
#define SAS_SRT_LETTERS "sco"

/* ---- reasons ----------------------------------------------------------- */

typedef enum {
    SAS_OK = 0,
    /* 1. parsing the query */
    SAS_R_QUERY_TOO_LONG,      /* raw query over SAS_MAX_QUERY */
    SAS_R_VALUE_TOO_LONG,      /* one parameter over its own bound */
    SAS_R_MALFORMED_QUERY,     /* bad percent-encoding, control character, invalid UTF-8 */
    SAS_R_DUPLICATE_PARAM,     /* a SAS (or operation) parameter given twice */
    SAS_R_NONCANONICAL_PARAM,  /* a SAS or operation-selecting name not spelled as Azure does (COMP, s%70): 400 */
    SAS_R_MISSING_PARAM,       /* sv, sig, sr, or ss/srt without its partner */
    SAS_R_BAD_SIGNATURE,       /* sig is not base64 of 32 bytes */
    SAS_R_USER_DELEGATION,     /* skoid... : user delegation SAS, not supported */
    SAS_R_INVALID_PARAM,       /* a value that cannot be: sr, ss, srt, spr, sip, sdd, ses on an old sv... */
    SAS_R_INVALID_PERMISSIONS, /* sp letter not valid for the resource type, or repeated */
    /* 2. resource */
    SAS_R_BAD_PATH,          /* path traps: .., encoded slash, NUL, invalid UTF-8, bad names */
    SAS_R_RESOURCE_MISMATCH, /* the path is not what sr covers */
    /* 3. version and times */
    SAS_R_UNSUPPORTED_VERSION,
    SAS_R_BAD_TIME,       /* st or se does not parse */
    SAS_R_MISSING_EXPIRY, /* no se and no stored access policy supplying one */
    SAS_R_NOT_YET_VALID,
    SAS_R_EXPIRED,
    /* 4. signature */
    SAS_R_NO_KEY, /* no key to try */
    SAS_R_SIGNATURE_MISMATCH,
    /* 5. stored access policy */
    SAS_R_POLICY_NOT_FOUND,
    SAS_R_NO_PERMISSIONS, /* neither sp nor the policy grants any permission */
    /* 6. protocol and client address */
    SAS_R_PROTOCOL_MISMATCH,
    SAS_R_IP_MISMATCH,
    /* 7. operation */
    SAS_R_OPERATION_NOT_ALLOWED,  /* no SAS may do this (not in DESIGN §3's table, or not on this resource) */
    SAS_R_PERMISSION_MISMATCH,    /* the table's letters are not granted */
    SAS_R_SERVICE_MISMATCH,       /* account SAS: ss lacks b */
    SAS_R_RESOURCE_TYPE_MISMATCH, /* account SAS: srt lacks c or o */
    /* 8. revocation (decided by the caller, named here so refusals share one vocabulary) */
    SAS_R_REVOKED,
    /* minting */
    SAS_R_INVALID_ARGUMENT,
    SAS_R_BUFFER_TOO_SMALL,
    SAS_R__COUNT
} sas_reason_t;

/* A refusal: its reason and one sentence (NUL-terminated, at most SAS_MESSAGE_MAX - 1 bytes, never key material). */
typedef struct st_sas_error_t {
    sas_reason_t reason;
    char message[SAS_MESSAGE_MAX];
} sas_error_t;

/* Stable lower_snake name of a reason ("signature_mismatch", "expired", ...); "ok" for SAS_OK. */
const char *sas_reason_name(sas_reason_t reason);
/*
 * The Azure error code the proxy answers with: "AuthenticationFailed",
 * "AuthorizationPermissionMismatch", "AuthorizationProtocolMismatch",
 * "AuthorizationSourceIPMismatch", "AuthorizationServiceMismatch" or
 * "AuthorizationResourceTypeMismatch" (the last two as Azure names account SAS
 * ss/srt refusals). NULL for SAS_OK.
 */
const char *sas_reason_azure_code(sas_reason_t reason);

/* ---- small value types ------------------------------------------------- */

/* A decoded value: base is NUL-terminated and len excludes the NUL; base == NULL when absent. */
typedef struct st_sas_str_t {
    const char *base;
    size_t len;
} sas_str_t;

/* Microseconds since 1970-01-01T00:00:00Z. */
typedef int64_t sas_time_t;
#define SAS_TIME_NONE INT64_MIN
#define SAS_TIME_SECOND ((sas_time_t)1000000)

/* The current UTC time (CLOCK_REALTIME). */
sas_time_t sas_time_now(void);
/*
 * Parses a time as Azure accepts it: YYYY-MM-DD, YYYY-MM-DDThh:mmZ,
 * YYYY-MM-DDThh:mm:ssZ, YYYY-MM-DDThh:mm:ss.f{1,7}Z; "+hh:mm"/"-hh:mm" may
 * replace "Z" after a time. Fractions below a microsecond are truncated.
 * Returns 0 and sets *out, or -1.
 */
int sas_time_parse(const char *s, size_t len, sas_time_t *out);
/* Writes t as YYYY-MM-DDThh:mm:ssZ (fraction dropped) into out[SAS_TIME_TEXT_MAX]; returns the length. */
size_t sas_time_format(sas_time_t t, char *out);

/* Permission letters as a set: bit (c - 'a') for letter c. */
typedef uint32_t sas_perm_t;
#define SAS_PERM(c) ((sas_perm_t)1 << ((c) - 'a'))

/* An IPv4 or IPv6 address; an IPv4-mapped IPv6 address is stored as IPv4. */
typedef struct st_sas_ip_t {
    uint8_t family; /* 4 or 6 */
    uint8_t addr[16];
} sas_ip_t;
typedef struct st_sas_ip_range_t {
    sas_ip_t lo, hi;
} sas_ip_range_t;

/* Parses one address (inet_pton forms). Returns 0 or -1. */
int sas_ip_parse(sas_ip_t *ip, const char *s, size_t len);
/* Parses sip: one address, or "lo-hi" of one family with lo <= hi. Returns 0 or -1. */
int sas_ip_range_parse(sas_ip_range_t *range, const char *s, size_t len);
/* 1 when ip lies in range (families must agree), 0 otherwise. */
int sas_ip_range_contains(const sas_ip_range_t *range, const sas_ip_t *ip);

typedef enum {
    SAS_METHOD_OTHER = 0,
    SAS_METHOD_GET,
    SAS_METHOD_HEAD,
    SAS_METHOD_PUT,
    SAS_METHOD_DELETE,
    SAS_METHOD_POST
} sas_method_t;
/* GET, HEAD, PUT, DELETE, POST (exact, upper case) or SAS_METHOD_OTHER. */
sas_method_t sas_method_parse(const char *s, size_t len);
const char *sas_method_name(sas_method_t method);

/* ---- keys -------------------------------------------------------------- */

/*
 * An account key, held only as a keyed HMAC-SHA256 state (inner and outer
 * SHA-256 midstates), computed once. Verifying copies the state onto the
 * stack, so a key may be shared read-only across threads. Opaque: use the
 * functions below. sas_key_dispose() wipes it.
 */
typedef struct st_sas_key_t {
    _Alignas(16) unsigned char state[2][128];
    int ready;
} sas_key_t;

/* Keys the state with raw key bytes (any length). The caller wipes its copy of the bytes. */
void sas_key_init(sas_key_t *key, const uint8_t *bytes, size_t len);
/* Keys the state with a base64 account key; wipes the decoded bytes. Returns 0, or -1 when not strict base64 or empty. */
int sas_key_init_base64(sas_key_t *key, const char *b64, size_t len);
/* Wipes the key state. Safe to call twice. */
void sas_key_dispose(sas_key_t *key);
/* HMAC-SHA256 of msg under key, without allocating. */
void sas_hmac(const sas_key_t *key, const void *msg, size_t len, uint8_t out[SAS_SIG_LEN]);

/* ---- tokens ------------------------------------------------------------ */

/*
 * The parameters sas_token_parse() records, in the order the Azure SDK
 * writes them in a query (sas_mint() emits the same order, sig last). The
 * entries after SAS_F__SAS_COUNT are request parameters the operation table
 * needs; they are not part of the SAS.
 */
typedef enum {
    SAS_F_SV,
    SAS_F_SS,
    SAS_F_SRT,
    SAS_F_SPR,
    SAS_F_ST,
    SAS_F_SE,
    SAS_F_SIP,
    SAS_F_SI,
    SAS_F_SES,
    SAS_F_SR,
    SAS_F_SP,
    SAS_F_RSCC,
    SAS_F_RSCD,
    SAS_F_RSCE,
    SAS_F_RSCL,
    SAS_F_RSCT,
    SAS_F_SIG,
    SAS_F__SAS_COUNT,
    SAS_F_COMP = SAS_F__SAS_COUNT,
    SAS_F_RESTYPE,
    SAS_F_SNAPSHOT,
    SAS_F_VERSIONID,
    SAS_F_DELETETYPE,
    SAS_F__COUNT
} sas_field_t;

/* The query parameter name of a field ("sv", "rscc", "versionid", ...). */
const char *sas_field_name(sas_field_t field);

typedef enum { SAS_KIND_SERVICE = 1, SAS_KIND_ACCOUNT = 2 } sas_kind_t;
/* Service SAS signed resource (sr). */
typedef enum { SAS_SR_NONE = 0, SAS_SR_BLOB, SAS_SR_SNAPSHOT, SAS_SR_VERSION, SAS_SR_CONTAINER } sas_sr_t;

/*
 * A parsed token. Every value is percent-decoded ('+' read as a space) and
 * stored in the arena; f[SAS_F_X].base is NULL when the parameter is absent
 * or empty. The remaining members are derived by sas_token_parse(). Owns no
 * heap memory: copy or discard it freely.
 */
typedef struct st_sas_token_t {
    sas_kind_t kind;
    sas_sr_t sr; /* SAS_SR_NONE for an account SAS */
    sas_str_t f[SAS_F__COUNT];
    sas_perm_t perms;          /* sp as a set (0 when absent) */
    sas_perm_t services;       /* account SAS: ss as a set of letters */
    sas_perm_t resource_types; /* account SAS: srt as a set of letters */
    int has_ip;
    sas_ip_range_t ip; /* sip, when has_ip */
    int https_only;    /* spr=https */
    uint8_t sig[SAS_SIG_LEN];
    char arena[SAS_MAX_QUERY + 1];
} sas_token_t;

/*
 * Parses a raw query string as received (percent-encoded, with or without the
 * leading '?') into *tok. Checks (step 1 of DESIGN §3): the length bounds;
 * percent-encoding; no control characters and valid UTF-8 in recorded values;
 * each SAS parameter and each of comp, restype, snapshot, versionid,
 * deletetype at most once (SAS_R_DUPLICATE_PARAM, also when the repeat is
 * spelled otherwise) and spelled exactly as Azure does, lower case and not
 * percent-encoded (COMP=, s%70=: SAS_R_NONCANONICAL_PARAM); sv and sig
 * present; sig base64 of 32 bytes; sr one of b, bs, bv, c, or ss with srt for
 * an account SAS; sp letters valid for the resource type and not repeated; ss,
 * srt, spr and sip well formed. A user delegation SAS is refused. Other
 * parameters are ignored. Returns SAS_OK, or a reason with *err filled (err may
 * be NULL); *tok is then unspecified.
 */
sas_reason_t sas_token_parse(sas_token_t *tok, const char *query, size_t len, sas_error_t *err);

/*
 * Writes the token id into out (SAS_TOKEN_ID_LEN + 1 bytes): base64url,
 * without padding, of the first 16 bytes of SHA-256 over the decoded
 * signature. sas_token_id_from_sig() does the same from signature bytes.
 */
void sas_token_id(const sas_token_t *tok, char *out);
void sas_token_id_from_sig(const uint8_t sig[SAS_SIG_LEN], char *out);

/* ---- resources --------------------------------------------------------- */

/*
 * What a request addresses: decoded names stored in the arena; base == NULL
 * when absent. blob has '\' already read as '/', as Azure does.
 */
typedef struct st_sas_resource_t {
    sas_str_t account, container, blob, snapshot, version_id;
    size_t used;
    char arena[SAS_MAX_PATH + 128];
} sas_resource_t;

/*
 * Splits a path-style URL path "/{account}[/{container}[/{blob...}]]" (raw,
 * without the query) into *res, percent-decoding each segment once; "/{account}/"
 * addresses the account as "/{account}" does. Refuses
 * (SAS_R_BAD_PATH) "." and ".." segments (also when encoded or made with '\'),
 * empty segments, an encoded '/' or '\' (%2F, %5C), NUL and other control
 * characters, invalid UTF-8 and bad percent-encoding; account names must be
 * [a-z0-9]{1,63} and container names [a-z0-9$-]{1,63}. When tok is not NULL,
 * its snapshot and versionid request parameters become res->snapshot and
 * res->version_id.
 */
sas_reason_t sas_resource_from_path(sas_resource_t *res, const char *path, size_t len, const sas_token_t *tok, sas_error_t *err);
/*
 * Fills *res from decoded names (container, blob, snapshot, version_id may be
 * NULL), with the same checks as sas_resource_from_path() except encoding.
 */
sas_reason_t sas_resource_init(sas_resource_t *res, const char *account, const char *container, const char *blob,
                               const char *snapshot, const char *version_id, sas_error_t *err);

/* ---- permissions ------------------------------------------------------- */

/* The letters a token of this kind and resource type may carry in sp. */
sas_perm_t sas_perm_valid(sas_kind_t kind, sas_sr_t sr);
/* The set of the letters a-z in the NUL-terminated string s (other bytes are ignored), e.g. sas_letters(SAS_SS_LETTERS). */
sas_perm_t sas_letters(const char *s);
/*
 * The one check of a letter set (sp, ss, srt, a policy's grant): s[0..len)
 * is read as letters, each in allowed and none repeated; the first offending
 * byte, read left to right, decides. Returns SAS_LETTERS_OK and sets *out
 * (may be NULL), or SAS_LETTERS_EMPTY (len 0), SAS_LETTERS_UNKNOWN (a byte
 * that is not a letter of allowed) or SAS_LETTERS_REPEATED, with that byte in
 * *bad (may be NULL; '\0' for an empty set). Never allocates.
 */
typedef enum en_sas_letters_t {
    SAS_LETTERS_OK = 0,
    SAS_LETTERS_EMPTY,
    SAS_LETTERS_UNKNOWN,
    SAS_LETTERS_REPEATED,
} sas_letters_t;
sas_letters_t sas_letters_check(sas_perm_t allowed, const char *s, size_t len, sas_perm_t *out, char *bad);
/*
 * Parses permission letters for kind/sr: each letter valid and not repeated.
 * Returns SAS_OK and sets *out, or SAS_R_INVALID_PERMISSIONS with *err filled.
 */
sas_reason_t sas_perm_parse(sas_kind_t kind, sas_sr_t sr, const char *s, size_t len, sas_perm_t *out, sas_error_t *err);
/*
 * Writes the letters of perms in canonical order (SAS_PERM_ORDER_SERVICE or,
 * for an account SAS, SAS_PERM_ORDER_ACCOUNT) into out (at least 27 bytes).
 * Letters outside that order are dropped. Returns the length.
 */
size_t sas_perm_format(sas_kind_t kind, sas_perm_t perms, char *out);

/* ---- verification ------------------------------------------------------ */

/*
 * Facts of a request beyond its method and query that decide which operation
 * the backend performs (sas_check_operation()'s req_flags).
 */
#define SAS_REQ_COPY_SOURCE 0x1u   /* an x-ms-copy-source header: Copy Blob, Put Blob/Block/Page From URL, ... */
#define SAS_REQ_REQUIRES_SYNC 0x2u /* x-ms-requires-sync: true (Copy Blob From URL) */

/* sas_operation_t.flags */
#define SAS_OP_NAMES_SOURCE 0x1u /* reads a second resource named in x-ms-copy-source: that source must be authorized too */
#define SAS_OP_CREATES 0x2u      /* writes a whole blob: allowed by c without w only as a create (If-None-Match: * upstream) */
/*
 * The body carries sub-requests (Blob Batch) that the signer never sees: the
 * token must cover every sub-operation a batch may hold on every blob it may
 * name, so a service SAS needs sr=c (on the container's own batch) and the
 * letters in service_all / account_all.
 */
#define SAS_OP_BATCH 0x4u

/*
 * One operation of the Blob service as a SAS may perform it (Azure's "Create
 * a service SAS" / "Create an account SAS" tables). The table is data inside
 * the signer; callers only read entries.
 */
typedef struct st_sas_operation_t {
    const char *name;       /* Azure's name: "Put Blob", "Copy Blob From URL", "List Containers", ... */
    char level;             /* 's' the account (service), 'c' a container, 'o' a blob */
    sas_perm_t service_any; /* service SAS: one of these letters suffices (0: not allowed with a service SAS) */
    sas_perm_t account_any; /* account SAS: one of these letters suffices (0: not allowed with an account SAS) */
    unsigned flags;         /* SAS_OP_* */
    /*
     * The query parameter names (exact spelling) this operation defines besides
     * the SAS's own, NULL-terminated; origin mode forwards only these.
     */
    const char *const *params;
    sas_perm_t service_all; /* service SAS: every one of these letters is needed too (0: none beyond service_any) */
    sas_perm_t account_all; /* account SAS: every one of these letters is needed too (0: none beyond account_any) */
    sas_perm_t account_srt; /* account SAS: every one of these srt letters is needed (0: the letter of level) */
} sas_operation_t;

/* What a verified token grants (filled step by step). */
typedef struct st_sas_grant_t {
    sas_perm_t perms; /* effective permissions (sp, limited or supplied by the policy) */
    sas_time_t start; /* effective window; SAS_TIME_NONE when unbounded */
    sas_time_t expiry;
    size_t key_index;          /* the key that matched */
    const sas_operation_t *op; /* the operation, set by sas_check_operation() (NULL before) */
} sas_grant_t;

/*
 * A stored access policy, as the caller looked it up by si for the token's
 * container. Unset members: SAS_TIME_NONE, permissions 0. A policy supplies
 * what the token leaves out and limits what it sets (permissions intersect,
 * the later start and the earlier expiry win).
 */
typedef struct st_sas_policy_t {
    sas_time_t start;
    sas_time_t expiry;
    sas_perm_t permissions;
} sas_policy_t;

/*
 * Looks up the stored access policy named si (si_len bytes, NUL-terminated)
 * for res->account / res->container. Returns 0 and fills *out when it exists,
 * -1 otherwise. Called on the verify path: it must not block.
 */
typedef int (*sas_policy_lookup_cb)(void *data, const sas_resource_t *res, const char *si, size_t si_len, sas_policy_t *out);
/*
 * Finds the client's address for sip (step 6), called only for a token with
 * sip, at most once per sas_verify(). Returns 0 and fills *out, or -1 when
 * the address is unknown (the token is then refused).
 */
typedef int (*sas_client_addr_cb)(void *data, sas_ip_t *out);
/*
 * Authorizes the second resource a request names (SAS_REQ_COPY_SOURCE: its
 * x-ms-copy-source), called after step 6 and before step 7 only when
 * req_flags holds SAS_REQ_COPY_SOURCE. Returns SAS_OK, or a reason with *err
 * filled; sas_verify() then returns that reason.
 */
typedef sas_reason_t (*sas_source_check_cb)(void *data, sas_error_t *err);

typedef struct st_sas_verify_ctx_t {
    sas_time_t now;
    sas_time_t start_skew;  /* st may lie this far in the future (default 5 min) */
    sas_time_t expiry_skew; /* se may lie this far in the past (default 0) */
    sas_method_t method;
    unsigned req_flags; /* SAS_REQ_* */
    int is_https;
    /* the client address for sip: client_ip when set, else what client_addr finds; neither: a token with sip is refused */
    const sas_ip_t *client_ip;
    sas_client_addr_cb client_addr;
    const sas_key_t *const *keys; /* every active key version of the account */
    size_t nkeys;
    sas_policy_lookup_cb lookup_policy; /* NULL: no stored access policies */
    sas_source_check_cb check_source;   /* NULL: a copy source is the caller's to authorize */
    void *data;                         /* passed to every callback above */
    /*
     * For debugging: on SAS_R_SIGNATURE_MISMATCH, the string to sign the
     * signature was checked against is written into sts (sts_cap bytes,
     * NUL-terminated; "" when there is none). NULL: not written.
     */
    char *sts;
    size_t sts_cap;
} sas_verify_ctx_t;

/* Sets defaults: now = sas_time_now(), start_skew 5 min, expiry_skew 0, GET, https, no keys, no callbacks. */
void sas_verify_ctx_init(sas_verify_ctx_t *ctx);

/* Step 2: the resource is what sr covers (container SAS: any blob inside; blob SAS: that blob only). */
sas_reason_t sas_check_resource(const sas_token_t *tok, const sas_resource_t *res, sas_error_t *err);
/*
 * Step 3: sv supported (and ses allowed by it); st and se parse; se present
 * unless si may supply it; st <= now + start_skew and now < se + expiry_skew.
 * Initialises *grant from the token.
 */
sas_reason_t sas_check_times(const sas_token_t *tok, sas_time_t now, sas_time_t start_skew, sas_time_t expiry_skew,
                             sas_grant_t *grant, sas_error_t *err);
/*
 * Step 4: recomputes the signature with each key in turn and compares it in
 * constant time; *matched (may be NULL) receives the index of the first key
 * that matched.
 */
sas_reason_t sas_check_signature(const sas_token_t *tok, const sas_resource_t *res, const sas_key_t *const *keys, size_t nkeys,
                                 size_t *matched, sas_error_t *err);
/*
 * Step 5: for a token with si, applies policy (NULL: it was not found) to
 * *grant and re-checks the window; without si, only checks that permissions
 * and an expiry exist.
 */
sas_reason_t sas_apply_policy(const sas_token_t *tok, const sas_policy_t *policy, sas_time_t now, sas_time_t start_skew,
                              sas_time_t expiry_skew, sas_grant_t *grant, sas_error_t *err);
/* Step 6: spr against the request's scheme, sip against the client address. */
sas_reason_t sas_check_network(const sas_token_t *tok, int is_https, const sas_ip_t *client_ip, sas_error_t *err);
/*
 * The operation a request performs: method, the operation-selecting query
 * parameters recorded in tok (comp, restype, snapshot, versionid,
 * deletetype, ...) and req_flags, at res's level. NULL when no SAS may
 * perform it.
 */
const sas_operation_t *sas_operation_find(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method,
                                          unsigned req_flags);
/*
 * The i-th row of the operation table (from 0), or NULL past its end. One
 * operation may own several rows (Get Blob Metadata by GET and by HEAD share
 * one); docs/operations.md lists them.
 */
const sas_operation_t *sas_operation_at(size_t i);
/* 1 when name (len bytes, compared exactly) is one of op->params. */
int sas_operation_defines(const sas_operation_t *op, const char *name, size_t len);
/*
 * Step 7: the operation (sas_operation_find()) exists, fits the resource,
 * and grant->perms holds one of the letters it needs; for an account SAS, ss
 * holds b and srt the resource level. Sets grant->op to the operation found
 * (also when refused for its permissions).
 */
sas_reason_t sas_check_operation(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method, unsigned req_flags,
                                 sas_grant_t *grant, sas_error_t *err);
/*
 * Steps 2 to 7 in order, with ctx's callbacks where they are due: the policy
 * lookup in step 5 (token with si), the client address in step 6 (token with
 * sip), the copy source between steps 6 and 7. On SAS_OK, *grant (may be
 * NULL) holds what the token grants, which key matched (key_index) and the
 * operation (op). Allocates nothing.
 */
sas_reason_t sas_verify(const sas_verify_ctx_t *ctx, const sas_token_t *tok, const sas_resource_t *res, sas_grant_t *grant,
                        sas_error_t *err);

/*
 * Builds the string to sign for tok addressed at res, in tok's sv layout,
 * into buf (cap bytes, NUL-terminated). Returns its length, or -1 when it
 * does not fit (SAS_MAX_STS always suffices) or sv is unsupported.
 */
long sas_string_to_sign(const sas_token_t *tok, const sas_resource_t *res, char *buf, size_t cap);

/* ---- minting ----------------------------------------------------------- */

/*
 * What to sign. NULL (or "") leaves a field out. A service SAS needs
 * account and container; blob makes it sr=b, snapshot sr=bs, version_id
 * sr=bv. services + resource_types make it an account SAS (no container,
 * blob, identifier or response headers then). permissions and expiry may be
 * left out only with identifier. Values are signed exactly as given (times
 * included, after checking they parse); permission letters in the order
 * given, after checking each is valid for the resource and none repeats.
 */
typedef struct st_sas_mint_t {
    const char *version; /* sv; NULL: SAS_VERSION_DEFAULT */
    const char *account;
    const char *container, *blob, *snapshot, *version_id;
    const char *services, *resource_types;
    const char *permissions, *start, *expiry, *ip, *protocol, *identifier, *encryption_scope;
    const char *cache_control, *content_disposition, *content_encoding, *content_language, *content_type;
} sas_mint_t;

typedef struct st_sas_minted_t {
    size_t query_len;
    size_t sts_len;
    uint8_t sig[SAS_SIG_LEN];
    char token_id[SAS_TOKEN_ID_LEN + 1];
} sas_minted_t;

/*
 * Mints a SAS: writes the query string (parameters percent-encoded as
 * encodeURIComponent does, in the Azure SDK's order, sig last) into query
 * (cap bytes, NUL-terminated) and, when sts is not NULL, the string to sign
 * into sts (sts_cap bytes). *out (may be NULL) receives lengths, signature
 * and token id. Returns SAS_OK, SAS_R_INVALID_ARGUMENT (or a more precise
 * reason) with *err filled, or SAS_R_BUFFER_TOO_SMALL.
 */
sas_reason_t sas_mint(const sas_mint_t *m, const sas_key_t *key, char *query, size_t cap, char *sts, size_t sts_cap,
                      sas_minted_t *out, sas_error_t *err);

/* ---- Shared Key (sas_sharedkey.c) -------------------------------------- */

/*
 * Azure's "Authorize with Shared Key" for the Blob service, x-ms-version
 * 2015-02-21 and later: the string to sign of a request and its
 * "Authorization: SharedKey {account}:{base64 HMAC-SHA256}" value, byte-exact
 * with @azure/storage-blob 12.34 (tests/signer/vectors/sharedkey.jsonl) except
 * where that SDK disagrees with the service (below). Pure: no I/O, no globals,
 * no heap; the string to sign is built in the caller's buffer.
 *
 * The string to sign is
 *     VERB \n Content-Encoding \n Content-Language \n Content-Length \n Content-MD5 \n
 *     Content-Type \n Date \n If-Modified-Since \n If-Match \n If-None-Match \n
 *     If-Unmodified-Since \n Range \n CanonicalizedHeaders CanonicalizedResource
 * - an absent header is an empty line; Content-Length "0" is an empty line too;
 * - CanonicalizedHeaders: every x-ms-* header (x-ms-date, x-ms-version, x-ms-range,
 *   x-ms-meta-*, ...) as "name:value\n", the name lower-cased, the value with
 *   leading and trailing SP/HTAB trimmed and nothing else changed (internal runs
 *   of spaces are kept, as every SDK and Azurite do), sorted with the SDK's
 *   culture-aware comparator (SharedKeyComparator: '-' and '\'' weigh only at
 *   the last level, so x-ms-ab sorts before x-ms-a-b) - not strcmp;
 * - CanonicalizedResource: "/" account path, the path exactly as sent (still
 *   percent-encoded; a path-style emulator URL yields
 *   /devstoreaccount1/devstoreaccount1/container/blob), then for each query
 *   parameter, names lower-cased and sorted bytewise, "\nname:value" with the
 *   value percent-decoded ('+' is not a space).
 * Content-Encoding comes before Content-Language as the service (Azure's
 * documentation, Azurite, the .NET and Python SDKs) reads them; the JS SDK's
 * storage-common 12.5.0 writes the two swapped, so the vectors feed it the two
 * values swapped whenever they differ (docs/sharedkey.md).
 *
 * Refused (0 returned) rather than guessed, where the SDKs and the service can
 * read one request two ways, or the bytes are not what a wire carries:
 * - method not [A-Z]{1,16}; account not [a-z0-9]{1,63};
 * - path not starting with '/', holding a byte outside 0x21-0x7e, one of
 *   " # < > ? ` { } \, bad percent-encoding, or a "." / ".." segment (also
 *   percent-encoded);
 * - query: an empty parameter between '&'s, a name outside [A-Za-z0-9._~-]
 *   (so no percent-encoded names), no '=' or an empty value (the JS SDK drops
 *   such a parameter, Azurite and the .NET SDK sign "name:"), a raw '+' or a
 *   second '=' in a value (SDKs disagree on both), a raw byte outside
 *   unreserved, "!$'()*,;:@/?" and %XX, a decoded control character or invalid
 *   UTF-8, a name given twice in any case (the SDK keeps the last value, the
 *   documentation joins all of them);
 * - headers: a signed header (the eleven above or any x-ms-*) given twice in
 *   any case, a value holding a byte outside 0x20-0x7e after trimming (CR, LF,
 *   HTAB, NUL, obs-text, UTF-8), an x-ms-* name that is not an HTTP token, an
 *   x-ms-meta-* name that is not a C# identifier [A-Za-z_][A-Za-z0-9_]* (Azure
 *   refuses those, and Azurite sorts names with '-' or '\'' differently),
 *   Content-Length not canonical decimal ("007", "+1", ""), an x-ms-version
 *   before 2015-02-21 (another Content-Length rule). Other headers are not
 *   signed and not examined;
 * - more than SAS_SK_MAX_HEADERS headers or SAS_SK_MAX_PARAMS query parameters.
 * The caller sets x-ms-date (or Date) and x-ms-version; freshness of the date
 * is the verifier's business, not this module's.
 */
#define SAS_SK_MAX_HEADERS 128 /* headers a request may carry (all of them, signed or not) */
#define SAS_SK_MAX_PARAMS 64   /* query parameters */
#define SAS_SK_ACCOUNT_MAX 63
/* bytes of the longest Authorization value, NUL included: "SharedKey " account ":" 44 */
#define SAS_SK_AUTH_MAX (10 + SAS_SK_ACCOUNT_MAX + 1 + SAS_SIG_B64_LEN + 1)

typedef struct st_sas_sk_header_t {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sas_sk_header_t;

typedef struct st_sas_sk_request_t {
    const char *method;
    size_t method_len;
    const char *path; /* the request path as sent on the wire (percent-encoded), starts with '/' */
    size_t path_len;
    const char *query; /* raw query without '?', may be empty (NULL with 0) */
    size_t query_len;
    const sas_sk_header_t *headers; /* all request headers, any case, any order, repeats allowed (refused when signed) */
    size_t num_headers;
} sas_sk_request_t;

/*
 * The string to sign of req for storage account `account` into out (cap
 * bytes, NUL-terminated). Returns the length written (NUL not counted), or 0
 * when it does not fit or the request is refused (above). sas_sk_canonicalize()
 * does the same and says why: SAS_R_BUFFER_TOO_SMALL, SAS_R_INVALID_ARGUMENT
 * (method, account, headers), SAS_R_BAD_PATH, SAS_R_MALFORMED_QUERY or
 * SAS_R_DUPLICATE_PARAM, with *err (may be NULL) filled; *len (may be NULL)
 * receives the length.
 */
size_t sas_sk_string_to_sign(const sas_sk_request_t *req, const char *account, size_t account_len, char *out, size_t cap);
sas_reason_t sas_sk_canonicalize(const sas_sk_request_t *req, const char *account, size_t account_len, char *out, size_t cap,
                                 size_t *len, sas_error_t *err);
/*
 * The Authorization header value "SharedKey {account}:{base64 signature}" into
 * out (cap bytes, NUL-terminated; SAS_SK_AUTH_MAX suffices). The string to sign
 * is built in sts_buf (sts_cap bytes, the caller's scratch; it holds the
 * string to sign afterwards). Returns the length of the value, or 0 (refused,
 * a buffer too small, a key not ready).
 */
size_t sas_sk_authorization(const sas_sk_request_t *req, const char *account, size_t account_len, const sas_key_t *key,
                            char *sts_buf, size_t sts_cap, char *out, size_t cap);
/*
 * Checks an Authorization header value (exactly "SharedKey {account}:{44
 * characters of strict base64}", the account byte-equal to `account`) against
 * each of keys[0..nkeys) (constant-time compare). Returns 1 when one matches,
 * 0 otherwise (also for a refused request). sts_buf as above.
 */
int sas_sk_verify(const sas_sk_request_t *req, const char *account, size_t account_len, const sas_key_t *const *keys,
                  size_t nkeys, const char *authorization, size_t auth_len, char *sts_buf, size_t sts_cap);

#endif
