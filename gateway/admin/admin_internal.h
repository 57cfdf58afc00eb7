/*
 * admin_internal.h - what the admin API's files share (not for other
 * modules): the per-request admin context, audit and error helpers, and the
 * registration function of each group of routes.
 *
 * Threading. Admin handlers run on the loop thread of their request and call
 * the vault synchronously under the app's vault mutex: a vault write is a
 * few file writes and fsyncs, which blocks that loop for a few milliseconds.
 * Admin calls are rare and the proxy's hot path never takes the vault mutex,
 * so this is accepted rather than moving the calls to a thread. Redis is
 * only ever used asynchronously.
 */
#ifndef SASGW_GATEWAY_ADMIN_INTERNAL_H
#define SASGW_GATEWAY_ADMIN_INTERNAL_H

#include <h2o.h>
#include <jansson.h>

#include "admin_json.h"
#include "sasgw/core/app.h"
#include "sasgw/core/http.h"

/* One admin request: who asks, for which operation, with the audit actor ready. */
typedef struct st_gw_admin_req_t {
    gw_app_t *app;
    h2o_req_t *req;
    const char *op;        /* audit operation, e.g. "secret.set" */
    const char *principal; /* valid for the request */
    vault_actor_t actor;   /* strings in req->pool */
} gw_admin_req_t;

/*
 * Starts an admin request: authenticates the caller and checks capability
 * (401 / 403 are sent and audited by the app). Returns 0 with *r filled, or
 * -1 when a response was sent (the handler then returns 0).
 */
int gw_admin__begin(gw_admin_req_t *r, gw_app_t *app, h2o_req_t *req, const char *capability, const char *op);

/* Writes an audit record of r's operation on object; failure to write is logged. Returns 0, or -1 when not written. */
int gw_admin__audit(gw_admin_req_t *r, const char *object, const char *result, const char *reason, const char *token_id);

/* Audits a refusal of r's operation (reason = message) and sends the JSON error. */
void gw_admin__refuse(gw_admin_req_t *r, int status, const char *code, const char *message, const char *field, const char *object);

/*
 * The HTTP status and JSON error code (*code, static) the admin API answers
 * for the vault error e, from one table: an invalid argument 400, "no such
 * ..." 404, a state conflict 409, a secret not readable now 403, the audit
 * log or the handle failing 503, the files failing 500. Returns 0 (and
 * *code "vault_error") for a value that is not a vault_err_t code.
 */
int gw_admin__vault_status(vault_err_t e, const char **code);

/*
 * Sends the error of a failed vault call: the status for its code e, the
 * vault's sentence err as the message. The vault already wrote the audit
 * record when audited is 1 (its mutations and secret reads do); otherwise one
 * is written here.
 */
void gw_admin__vault_error(gw_admin_req_t *r, vault_err_t e, const char *err, const char *object, int audited);

/* Reads the body as a JSON object within the issuer's max_body (errors sent, refusal audited). NULL then. */
json_t *gw_admin__read_json(gw_admin_req_t *r, const char *object);

/* Sends 400 for a body refused by admin_json (audited). */
void gw_admin__bad_body(gw_admin_req_t *r, const gw_json_error_t *e, const char *object);

/* A route parameter as a NUL-terminated string in req->pool ("" when absent). */
const char *gw_admin__param(const gw_route_match_t *match, const char *name);

/* Publishes payload on sasgw:events with the request thread's Redis client, not waiting. 0 sent, -1 not connected. */
int gw_admin__publish_event(gw_admin_req_t *r, const char *payload);

/* Formats unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into a new JSON string. */
json_t *gw_admin__time(int64_t t);

/* Route groups (admin_<group>.c). Each returns 0, or -1 when a route could not be registered. */
int gw_admin__register_accounts(gw_server_t *server, gw_app_t *app);
int gw_admin__register_policies(gw_server_t *server, gw_app_t *app);
int gw_admin__register_secrets(gw_server_t *server, gw_app_t *app);
int gw_admin__register_revocations(gw_server_t *server, gw_app_t *app);
int gw_admin__register_audit(gw_server_t *server, gw_app_t *app);
int gw_admin__register_sasdefs(gw_server_t *server, gw_app_t *app);

#endif
