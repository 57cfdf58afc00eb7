/*
 * kv_internal.h - what the Key Vault wing's files share (not for other
 * modules): the per-request context, the Key Vault answer and error helpers,
 * authorization by data action, audit, and the hook of managed-storage SAS
 * definitions (kv_storage.c).
 *
 * A request reaches the wing's router (kv_api.c), which checks the
 * api-version (7.3 to 7.6, else 400 BadParameter), authenticates the bearer
 * JWT (401 with Key Vault's challenge otherwise), fills a kv_ctx_t and
 * dispatches:
 *   - /storage/...                       -> kv_storage_route() first (1: handled)
 *   - GET /secrets/{name}[/{version}]    -> kv_storage_secret_get() first (1: handled)
 *   - everything else of /secrets, /deletedsecrets -> kv_secrets.c
 * Authorization is the handler's: kv_authorize() before it acts.
 *
 * Threading and lifetime. Everything runs on the loop thread of ctx->req.
 * The context is allocated in req->pool, so it lives until the request is
 * disposed: a handler that answers later (after an audit group commit or a
 * Redis reply) must keep the request alive the way DESIGN/STYLE say (shared
 * pool memory and a reference, or heap memory) and must not touch ctx after
 * the client left. Vault calls go through gw_app_vault_lock()/unlock() of
 * ctx->app (never across a callback).
 */
#ifndef SASGW_GATEWAY_KV_INTERNAL_H
#define SASGW_GATEWAY_KV_INTERNAL_H

#include <h2o.h>
#include <jansson.h>

#include "sasgw/core/app.h"
#include "sasgw/core/http.h"
#include "sasgw/policy.h"
#include "sasgw/vault.h"

/* Largest request body the wing reads (a secret value is at most VAULT_SECRET_MAX bytes, plus JSON around it). */
#define KV_MAX_BODY 65536

/* The api-versions accepted ("7.3" .. "7.6"). */
#define KV_API_VERSION_MIN_MINOR 3
#define KV_API_VERSION_MAX_MINOR 6

/* Key Vault's content type of a SAS token secret (managed storage). */
#define KV_SAS_CONTENT_TYPE "application/vnd.ms-sastoken-storage"

/* One Key Vault request, authenticated. All strings are NUL-terminated and live as long as req. */
typedef struct st_kv_ctx_t {
    h2o_req_t *req;
    gw_app_t *app;
    const policy_principal_t *principal; /* valid for the request (its policy is retained until req's pool is cleared) */
    policy_t *policy;                    /* the policy principal belongs to (borrowed) */
    const char *principal_name;
    const char *api_version; /* "7.3" .. "7.6", as the client sent it */
    const char *public_url;  /* the vault's base URL, "https://host[:port]", no trailing '/': ids are built from it */
    vault_actor_t actor;     /* principal, client address and request id, for the vault's audit records */
    /* the vault's recovery settings for bundles' attributes, once kv_note_recovery() read them (known 1) */
    struct {
        int known;
        unsigned days;
        int purge_protection;
    } recovery;
} kv_ctx_t;

/*
 * Sends a Key Vault answer: status and body (compact JSON,
 * "application/json; charset=utf-8"). Takes over the caller's reference to
 * body (NULL: no body, e.g. 204).
 */
void kv_send_json(kv_ctx_t *ctx, int status, json_t *body);
/*
 * Sends Key Vault's error shape {"error":{"code":code,"message":message}}
 * with status. code is Key Vault's ("BadParameter", "SecretNotFound",
 * "Forbidden", "Conflict", ...); message never holds a secret.
 */
void kv_send_error(kv_ctx_t *ctx, int status, const char *code, const char *message);
/* As kv_send_error() for a request without a context yet (the router's own refusals). */
void kv_send_error_req(h2o_req_t *req, int status, const char *code, const char *message, const char *inner_code);

/*
 * Writes one audit record of a Key Vault operation synchronously (durable,
 * gw_app_audit: blocks the loop for an fsync; a hot path uses
 * gw_app_audit_submit() on ctx->app itself): op e.g.
 * "keyvault.secrets/list", object the secret name (or "account/sasdef"; ""
 * for the vault), result "ok" / "refused" / "error", reason a sentence or
 * NULL. Never a value. Returns 0, or -1 when the record could not be written
 * (logged; the caller decides whether to refuse, e.g. 503
 * ServiceUnavailable, which it sends itself).
 */
int kv_audit(kv_ctx_t *ctx, const char *op, const char *object, const char *result, const char *reason);

/*
 * Checks that ctx's principal holds the data action on name (len bytes; a
 * secret name for secrets/..., a storage account name for storage/...).
 * Returns 1 when allowed; otherwise sends 403 Forbidden (innererror
 * ForbiddenByRbac), audits the refusal and returns 0 (the handler then
 * returns without sending anything else).
 */
int kv_authorize(kv_ctx_t *ctx, policy_kv_action_t action, const char *name, size_t len);

/*
 * Reads the request body as one JSON object, at most KV_MAX_BODY bytes.
 * Returns a new reference, or NULL after sending 400 BadParameter (or 413).
 */
json_t *kv_read_json(kv_ctx_t *ctx);

/* A JSON string of "{public_url}/{collection}/{name}[/{version}]" (version NULL or "": left out). */
json_t *kv_id(kv_ctx_t *ctx, const char *collection, const char *name, const char *version);

/*
 * The Key Vault secret bundle of one version: {value?, id, contentType?,
 * tags?, attributes{enabled, nbf?, exp?, created, updated, recoveryLevel,
 * recoverableDays}}. value NULL leaves it out (lists, PATCH). New reference,
 * or NULL when value is not UTF-8 text (JSON cannot carry it).
 */
json_t *kv_secret_bundle(kv_ctx_t *ctx, const char *name, const vault_secret_attrs_t *attrs, const uint8_t *value,
                         size_t value_len);

/*
 * Records the vault's recovery settings (retention days, purge protection)
 * in ctx; call it while holding the vault lock (v from gw_app_vault_lock) so
 * that kv_secret_bundle() need not take the lock again (it does otherwise).
 */
void kv_note_recovery(kv_ctx_t *ctx, vault_t *v);

/* ---- the hook of managed-storage SAS definitions (kv_storage.c, task 13b) ---- */

/*
 * Serves a request under /storage (path is the path without the query,
 * len bytes, starting "/storage"). Returns 1 when it handled the request
 * (a response was or will be sent), 0 when it did not (the router answers
 * 404 then).
 */
int kv_storage_route(kv_ctx_t *ctx, const char *path, size_t len);
/*
 * Called first by GET /secrets/{name}[/{version}] with the decoded name (len
 * bytes): returns 1 when name is a managed-storage SAS definition's secret
 * ("{account}-{sasdef}") and the request was handled (authorized, minted,
 * answered), 0 to let the secrets API serve it.
 */
int kv_storage_secret_get(kv_ctx_t *ctx, const char *name, size_t len);

#endif
