/*
 * sasgw/core/app.h - the application state of `sasgw serve`, shared by the request
 * handlers of the issuing API, the admin API and the proxy: the
 * configuration, the server, the vault, the current policy, a Redis client
 * per worker thread, the audit trail, and the helpers every handler needs
 * (authenticate the caller, name it in an audit record).
 *
 * Life of an app (cli_serve.c):
 *
 *     gw_server_t *server = gw_server_create(conf, threads);
 *     gw_app_t *app = gw_app_create(server, conf, err, sizeof(err));  // vault, policy, audit thread,
 *                                                                      // Redis thread module, /readyz
 *                                                                      // checks, SIGHUP hook
 *     gw_issue_api_register(server, app); gw_admin_api_register(server, app); gw_proxy_setup(...);
 *     gw_server_start(server, ...); gw_server_wait(server);
 *     gw_server_destroy(server);
 *     gw_app_destroy(app);                                              // after the server is gone
 *
 * Threads. Everything below is callable from any worker thread unless it
 * says "loop thread of req". The app is created and destroyed on the main
 * thread, before gw_server_start() and after gw_server_wait().
 */
#ifndef SASGW_GATEWAY_APP_H
#define SASGW_GATEWAY_APP_H

#include <h2o.h>

#include "sasgw/core/config.h"
#include "sasgw/core/metrics.h"
#include "sasgw/policy.h"
#include "sasgw/core/redis.h"
#include "sasgw/core/server.h"
#include "sasgw/vault.h"

typedef struct st_gw_app_t gw_app_t;

/*
 * Opens everything the handlers share, as conf says: the vault (unsealed by
 * vault_keysource_resolve() with conf->vault.master_key_file /
 * passphrase_file, else SASGW_MASTER_KEY / SASGW_PASSPHRASE), the audit log
 * (conf->audit.path, default beside the vault), the policy (conf->policy),
 * the live keyring (gw_keyring_live_create).
 * Registers on server (which must not be started yet): the per-thread Redis
 * client (a thread module), the readiness checks "vault" and "redis", and a
 * reload hook that reloads the policy on SIGHUP. conf and server must
 * outlive the app. Returns NULL after writing why into err (no secret in it).
 */
gw_app_t *gw_app_create(gw_server_t *server, const gw_config_t *conf, char *err, size_t errlen);
/*
 * Stops the audit thread (writing what is queued) unless the last worker to
 * stop did already, closes the vault, releases the policy. After gw_server_destroy().
 */
void gw_app_destroy(gw_app_t *app);

const gw_config_t *gw_app_config(gw_app_t *app);
gw_server_t *gw_app_server(gw_app_t *app);
gw_metrics_t *gw_app_metrics(gw_app_t *app);

/* ---- vault ---- */

/*
 * The vault is not assumed thread-safe: every call on it goes through the
 * app's vault mutex. gw_app_vault_lock() takes the mutex, re-reads the vault
 * when another process (the CLI) wrote a newer generation
 * (vault_reload_if_changed(); a failed re-read is logged and the old state
 * kept), and returns the handle; gw_app_vault_unlock() releases it. Never
 * hold it across an event-loop callback, never take the policy lock inside it.
 * Vault calls do file I/O (and fsync on writes): keep admin calls short.
 */
vault_t *gw_app_vault_lock(gw_app_t *app);
void gw_app_vault_unlock(gw_app_t *app);
/* Runs fn(vault, arg) under the vault mutex (as lock/unlock above) and returns what fn returns. */
typedef int (*gw_app_vault_fn)(vault_t *vault, void *arg);
int gw_app_with_vault(gw_app_t *app, gw_app_vault_fn fn, void *arg);
/* The generation of the vault state the app holds (changes after a write or a reload). Lock-free. */
uint64_t gw_app_vault_generation(gw_app_t *app);

/*
 * The live keyring (keyring_live.h): per-thread snapshots of every account's active
 * keys, mode, backend and stored access policies, built by gw_app_create()
 * once the vault is open and destroyed by gw_app_destroy() before the vault
 * closes. The mint and the proxy read keys from it, never from the vault.
 */
struct st_gw_keyring_live_t;
struct st_gw_keyring_live_t *gw_app_keyring(gw_app_t *app);

/* ---- policy ---- */

/*
 * The policy in force, with a reference added: the caller calls
 * policy_release() when done. Never NULL once the app exists.
 */
policy_t *gw_app_policy(gw_app_t *app);
/*
 * Loads conf->policy again and, when it loads, makes it the policy in force
 * (requests already running keep the one they retained). A file that fails
 * to load changes nothing: returns -1 with the loader's reason
 * ("file:line:column: ...") in err. Logs the outcome either way; the caller
 * (POST /v1/admin/reload-policy) writes the audit record.
 */
int gw_app_reload_policy(gw_app_t *app, char *err, size_t errlen);

/* ---- requests ---- */

/*
 * Authenticates req's Authorization header against the policy in force
 * (policy_authenticate). On success returns the principal; the policy it
 * belongs to is retained until req's pool is cleared, so the principal stays
 * valid for the whole request, and *policy_out (may be NULL) receives that
 * policy (borrowed: do not release it).
 * A client (gw_client_addr, behind trusted_proxies; IPv6 by /64) past
 * issuer.auth_failures.limit failed attempts within its window gets 429
 * {"error":{"code":"too_many_auth_failures",...}} with Retry-After, before
 * its credentials are looked at (auth_limit.h). Otherwise a missing or
 * rejected credential gets 401 with
 * `WWW-Authenticate: Basic realm="sasgw", Bearer realm="sasgw"` and
 * {"error":{"code":"unauthorized",...}}; a malformed or rejected one counts
 * as a failed attempt, a missing one does not. Every refusal here is
 * audited coalesced (refusal_log.h: op "auth", result "refused", one record
 * per client and reason per audit_interval, with its count). On refusal
 * returns NULL: the handler then returns 0 without sending anything else.
 * Loop thread of req.
 */
const policy_principal_t *gw_app_authenticate(gw_app_t *app, h2o_req_t *req, policy_t **policy_out);
/*
 * How a wing with its own error dialect refuses an unauthenticated request:
 * status 401 (message says why, never a secret) or 429 (retry_after seconds).
 * It must send the response.
 */
typedef void (*gw_app_auth_refuse_cb)(h2o_req_t *req, int status, const char *message, unsigned retry_after, void *data);
/*
 * gw_app_authenticate() for a bearer JWT only, whose aud must be audience
 * (policy_authenticate_bearer_for), refusing through refuse(req, ..., data)
 * instead of the issuer's 401/429: the same failure limit, metrics and
 * coalesced audit records. Loop thread of req.
 */
const policy_principal_t *gw_app_authenticate_bearer(gw_app_t *app, h2o_req_t *req, const char *audience,
                                                     gw_app_auth_refuse_cb refuse, void *data, policy_t **policy_out);

/*
 * gw_app_authenticate() plus an admin capability check (one of
 * policy_capabilities): a principal without it gets 403
 * {"error":{"code":"forbidden",...}} and an audit record (op, result
 * "refused"), and NULL is returned. Loop thread of req.
 */
const policy_principal_t *gw_app_require(gw_app_t *app, h2o_req_t *req, const char *capability, const char *op);

/*
 * Fills *actor for the vault's audit records: principal (NULL: "cli"), the
 * client's address (gw_http_client_address, honouring trusted_proxies) and
 * the request id (gw_http_request_id), all NUL-terminated in req->pool.
 * Loop thread of req.
 */
void gw_app_actor(gw_app_t *app, h2o_req_t *req, const char *principal, vault_actor_t *actor);

/* ---- Redis (the write side: issuance index, revocations, events) ---- */

/*
 * The Redis client of the worker thread serving req (or of thread), created
 * by the app's thread module and connected to conf->redis. Check
 * gw_redis_state() == GW_REDIS_CONNECTED before sending; commands never block
 * the loop (gw_redis_command with a callback). Loop thread only.
 */
gw_redis_t *gw_app_redis(gw_app_t *app, h2o_req_t *req);
gw_redis_t *gw_app_thread_redis(gw_app_t *app, gw_thread_t *thread);

/* ---- audit ---- */

/*
 * Writes one audit record synchronously (vault_audit_append on the app's log:
 * durable, fsync'ed, chained). Returns 0, or -1 with err set: the caller then
 * refuses the operation. Blocks the calling thread for an fsync: the admin
 * API may use it; hot paths use gw_app_audit_submit().
 */
int gw_app_audit(gw_app_t *app, const vault_audit_record_t *rec, char *err, size_t errlen);
/*
 * Group commit: queues a copy of rec for the app's audit thread, which
 * appends queued records back to back and then calls done(ok, data) on
 * req's loop thread (ok 1 when the record is durable in the log, 0 when it
 * could not be written). The caller sends its response from done, so an
 * operation whose record cannot be written is refused and nothing it
 * produced leaves the process. If the client goes away meanwhile, done still
 * runs (data must stay valid: allocate it with h2o_mem_alloc_shared on
 * req->pool and keep a reference, or from the heap). Loop thread of req.
 */
typedef void (*gw_app_audit_cb)(int ok, void *data);
void gw_app_audit_submit(gw_app_t *app, h2o_req_t *req, const vault_audit_record_t *rec, gw_app_audit_cb done, void *data);
/* gw_app_audit_submit() for work that is not tied to a request: done runs on thread's loop (thread may be NULL when done is). */
void gw_app_audit_submit_on(gw_app_t *app, gw_thread_t *thread, const vault_audit_record_t *rec, gw_app_audit_cb done, void *data);

#endif
