/*
 * sasgw/revocation/issuance.h - the mint every wing shares (DESIGN §4, §6):
 * the policy decision for the principal's grants, signing with the account's
 * signing key, claiming the token id in Redis's issuance index (signing again
 * with a shifted start when the id is taken), the durable audit record, then
 * the answer. POST /v1/sas (issue/) and a Key Vault managed-storage secret
 * read (keyvault/) both mint through it, so a token is indexed, audited and
 * revocable whichever door it leaves by.
 *
 * Nothing here knows HTTP: the caller names its worker thread, the principal,
 * the client address and a request id, and receives the outcome in a
 * callback on that thread's loop.
 *
 *     gw_issuance_t *iss = gw_issuance_create(app, metrics);     // once per wing, at registration
 *     gw_mint_t *m = gw_issuance_mint(iss, &who, &r, now, on_minted, data);
 *     ... the caller's request went away: if (m != NULL) gw_mint_cancel(m);
 */
#ifndef SASGW_REVOCATION_ISSUANCE_H
#define SASGW_REVOCATION_ISSUANCE_H

#include <stdint.h>

#include "sasgw/core/app.h"
#include "sasgw/policy.h"
#include "sasgw/signer.h"

typedef struct st_gw_issuance_t gw_issuance_t;
typedef struct st_gw_mint_t gw_mint_t;

typedef enum en_gw_mint_kind_t {
    GW_MINT_SERVICE = 0, /* a service SAS: blob, snapshot, version or container */
    GW_MINT_ACCOUNT      /* an account SAS */
} gw_mint_kind_t;

/*
 * What to mint, already read and checked by the caller (issue/'s
 * gw_sas_request_parse, or a SAS definition's template). Strings are
 * NUL-terminated, NULL when absent, and copied by gw_issuance_mint().
 */
typedef struct st_gw_mint_request_t {
    gw_mint_kind_t kind;
    const char *account;
    const char *container, *blob, *snapshot, *version_id, *policy; /* service SAS */
    const char *ip, *protocol;                                     /* protocol NULL: the grant decides */
    const char *services, *resource_types;                         /* account SAS */
    const char *cache_control, *content_disposition, *content_encoding, *content_language, *content_type;
    const char *permissions;  /* letters as they are to be signed */
    sas_time_t start, expiry; /* microseconds */
    int start_given;          /* 1 when the caller fixed start (a taken id then moves the expiry earlier) */
    uint64_t ttl;             /* seconds from now until expiry, rounded up (for the policy) */
} gw_mint_request_t;

/* Who asks, for the decision and the audit record. Strings borrowed for the call (copied). */
typedef struct st_gw_mint_caller_t {
    gw_thread_t *thread;                 /* the worker thread whose loop runs the mint and the callback */
    const policy_principal_t *principal; /* authenticated; used during gw_issuance_mint() only */
    const char *client;                  /* the client's address, NULL or "" when unknown */
    const char *request_id;              /* NULL allowed */
} gw_mint_caller_t;

/*
 * The outcome. status 201: token (the SAS query), url (at the proxy's public
 * base URL), token_id, expires_on (as signed) and key (the key slot) are set.
 * Otherwise a refusal: status (400, 403, 404, 409, 500, 503), code, message,
 * field (NULL when none) and rule (the policy rule for a 403 PolicyDenied,
 * else NULL). Everything is valid during the callback only; token and url are
 * wiped after it.
 */
typedef struct st_gw_mint_result_t {
    int status;
    const char *token, *url, *token_id, *expires_on, *key;
    const char *code, *message, *field, *rule;
} gw_mint_result_t;

typedef void (*gw_mint_cb)(const gw_mint_result_t *res, void *data);

/*
 * The shared state of a wing's mints: the app and the counters
 * sasgw_mints_total{result} and sasgw_issuance_index_failures_total
 * (registering them twice returns the same series). Lives for the process.
 */
gw_issuance_t *gw_issuance_create(gw_app_t *app, gw_metrics_t *metrics);

/*
 * Mints r for who at time now. cb(res, data) is called exactly once on
 * who->thread's loop unless gw_mint_cancel() comes first: synchronously
 * (before this returns) for a refusal of the policy (403), of a missing
 * account key (404) or of the signer (400), else after the index claim and
 * the audit record. Returns the running mint, or NULL when cb was called
 * already. Every refusal but 500 audit_failed is audited ("sas.refuse");
 * a success is answered only once its "sas.issue" record is durable.
 * Loop thread of who->thread.
 */
gw_mint_t *gw_issuance_mint(gw_issuance_t *iss, const gw_mint_caller_t *who, const gw_mint_request_t *r, sas_time_t now,
                            gw_mint_cb cb, void *data);
/*
 * The caller is gone: cb will not be called. A mint not yet indexed stops at
 * its next step; no token leaves. Loop thread of the mint.
 */
void gw_mint_cancel(gw_mint_t *m);

/*
 * Audits (as "sas.refuse", object empty) and counts (result "invalid") a
 * request refused before it could become a mint request, e.g. a malformed
 * POST /v1/sas body; message NULL: counts only (a body that could not be
 * read, answered by the reader). The caller sends the refusal itself.
 */
void gw_issuance_refuse_invalid(gw_issuance_t *iss, const gw_mint_caller_t *who, const char *message);

#endif
