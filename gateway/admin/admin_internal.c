/*
 * admin_internal.c - the helpers the admin API's route groups share
 * (admin_internal.h): the request context, audit, refusals, the vault error
 * table, bodies, parameters, events and times.
 */
#include <stdio.h>
#include <string.h>

#include "admin_internal.h"
#include "sasgw/revocation/plan.h"

int gw_admin__begin(gw_admin_req_t *r, gw_app_t *app, h2o_req_t *req, const char *capability, const char *op)
{
    const policy_principal_t *principal = gw_app_require(app, req, capability, op);
    if (principal == NULL)
        return -1;
    r->app = app;
    r->req = req;
    r->op = op;
    r->principal = policy_principal_name(principal);
    gw_app_actor(app, req, r->principal, &r->actor);
    return 0;
}

int gw_admin__audit(gw_admin_req_t *r, const char *object, const char *result, const char *reason, const char *token_id)
{
    char err[256];
    vault_audit_record_t rec = {.principal = r->principal,
                                .op = r->op,
                                .object = object != NULL ? object : "",
                                .result = result,
                                .client = r->actor.client,
                                .request_id = r->actor.request_id,
                                .token_id = token_id,
                                .reason = reason};
    if (gw_app_audit(r->app, &rec, err, sizeof(err)) != 0) {
        fprintf(stderr, "sasgw: admin: cannot write the audit record of %s: %s\n", r->op, err);
        return -1;
    }
    return 0;
}

void gw_admin__refuse(gw_admin_req_t *r, int status, const char *code, const char *message, const char *field, const char *object)
{
    gw_admin__audit(r, object, status >= 500 ? "error" : "refused", message, NULL);
    gw_http_send_error(r->req, status, code, message, field);
}

/*
 * What the admin API answers for each vault error: the HTTP status and the
 * JSON error code. One row per vault_err_t (test_admin_vault_status walks
 * VAULT_ERR_MAP and checks that none is missing).
 */
static const struct {
    vault_err_t err;
    int status;
    const char *code;
} vault_statuses[] = {
    {VAULT_EINVAL, 400, "invalid_request"},
    {VAULT_ENOTFOUND, 404, "not_found"},
    {VAULT_EEXISTS, 409, "conflict"},
    {VAULT_ERETIRED, 409, "conflict"},
    {VAULT_ELIMIT, 409, "conflict"},
    {VAULT_EDELETED, 409, "secret_deleted"},
    {VAULT_ENOTDELETED, 409, "not_deleted"},
    {VAULT_EPURGEPROTECTED, 409, "purge_protected"},
    {VAULT_EDISABLED, 403, "secret_disabled"},
    {VAULT_EEXPIRED, 403, "secret_expired"},
    {VAULT_ENOTYETVALID, 403, "secret_not_yet_valid"},
    {VAULT_EAUDIT, 503, "audit_unavailable"},
    {VAULT_EBROKEN, 503, "vault_unavailable"},
    {VAULT_ENOVAULT, 500, "vault_error"},
    {VAULT_EBADKEY, 500, "vault_error"},
    {VAULT_EFORMAT, 500, "vault_error"},
    {VAULT_ECORRUPT, 500, "vault_error"},
    {VAULT_EFOREIGN, 500, "vault_error"},
    {VAULT_EIO, 500, "vault_error"},
    {VAULT_ECRYPTO, 500, "vault_error"},
};

int gw_admin__vault_status(vault_err_t e, const char **code)
{
    for (size_t i = 0; i < sizeof(vault_statuses) / sizeof(vault_statuses[0]); i++)
        if (vault_statuses[i].err == e) {
            *code = vault_statuses[i].code;
            return vault_statuses[i].status;
        }
    *code = "vault_error";
    return 0;
}

void gw_admin__vault_error(gw_admin_req_t *r, vault_err_t e, const char *err, const char *object, int audited)
{
    const char *code;
    int status = gw_admin__vault_status(e, &code);
    if (status == 0)
        status = 500; /* a code missing from the table (the unit test forbids it) */
    if (!audited)
        gw_admin__audit(r, object, status >= 500 ? "error" : "refused", err, NULL);
    gw_http_send_error(r->req, status, code, err, NULL);
}

json_t *gw_admin__read_json(gw_admin_req_t *r, const char *object)
{
    json_t *body = gw_http_read_json(r->req, gw_app_config(r->app)->issuer.max_body);
    if (body == NULL)
        gw_admin__audit(r, object, "refused", "malformed or oversized body", NULL);
    return body;
}

void gw_admin__bad_body(gw_admin_req_t *r, const gw_json_error_t *e, const char *object)
{
    gw_admin__refuse(r, 400, e->field != NULL && strncmp(e->message, "unknown field", 13) == 0 ? "unknown_field" : "invalid_field",
                     e->message, e->field, object);
}

const char *gw_admin__param(const gw_route_match_t *match, const char *name)
{
    h2o_iovec_t v = gw_route_param(match, name);
    return v.base != NULL ? v.base : "";
}

/* The reply to PUBLISH on sasgw:events: only failures are worth a line. */
static void on_event_published(gw_redis_t *client, redisReply *reply, const char *err, void *data)
{
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "sasgw: admin: publishing on %s failed: %s\n", GW_EVENTS_CHANNEL,
                reply != NULL ? reply->str
                : err != NULL ? err
                              : "no reply");
}

int gw_admin__publish_event(gw_admin_req_t *r, const char *payload)
{
    gw_redis_t *redis = gw_app_redis(r->app, r->req);
    if (redis == NULL || gw_redis_state(redis) != GW_REDIS_CONNECTED ||
        gw_redis_command(redis, on_event_published, NULL, "PUBLISH %s %s", GW_EVENTS_CHANNEL, payload) != 0) {
        fprintf(stderr,
                "sasgw: admin: Redis is not connected; event %s not published (proxies see the change when they "
                "next reload the vault)\n",
                payload);
        return -1;
    }
    return 0;
}

json_t *gw_admin__time(int64_t t)
{
    char buf[32];
    vault_time_format(t, buf, sizeof(buf));
    return json_string(buf);
}
