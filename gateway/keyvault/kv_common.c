/*
 * kv_common.c - the helpers the Key Vault wing's files share
 * (kv_internal.h): answers and errors in Key Vault's shape, audit,
 * authorization by data action, bodies, ids and secret bundles.
 */
#include <stdio.h>
#include <string.h>

#include "kv_internal.h"
#include "kv_parse.h"
#include "sasgw/common.h"

/* Sends text (len bytes) as a JSON answer; the caller wipes and frees text. */
static void send_text(h2o_req_t *req, int status, const char *text, size_t len)
{
    gw_http_send(req, status, "application/json; charset=utf-8", text, len);
}

void kv_send_json(kv_ctx_t *ctx, int status, json_t *body)
{
    h2o_req_t *req = ctx->req;
    if (body == NULL) {
        req->res.status = status;
        req->res.reason = gw_http_reason(status);
        req->res.content_length = 0;
        h2o_send_inline(req, "", 0);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        kv_send_error(ctx, 500, "InternalError", "cannot encode the response");
        return;
    }
    size_t len = strlen(text);
    send_text(req, status, text, len);
    /* the text may hold a secret value: wipe it (h2o copied it into the request's pool) */
    sg_free_secret(text, len + 1);
}

void kv_send_error_req(h2o_req_t *req, int status, const char *code, const char *message, const char *inner_code)
{
    json_t *err = json_pack("{s:s,s:s}", "code", code, "message", message);
    if (inner_code != NULL)
        json_object_set_new(err, "innererror", json_pack("{s:s}", "code", inner_code));
    gw_http_send_json(req, status, json_pack("{s:o}", "error", err));
}

void kv_send_error(kv_ctx_t *ctx, int status, const char *code, const char *message)
{
    kv_send_error_req(ctx->req, status, code, message, NULL);
}

int kv_audit(kv_ctx_t *ctx, const char *op, const char *object, const char *result, const char *reason)
{
    char err[256];
    vault_audit_record_t rec = {.principal = ctx->principal_name,
                                .op = op,
                                .object = object != NULL ? object : "",
                                .result = result,
                                .client = ctx->actor.client,
                                .request_id = ctx->actor.request_id,
                                .reason = reason};
    if (gw_app_audit(ctx->app, &rec, err, sizeof(err)) != 0) {
        fprintf(stderr, "sasgw: keyvault: cannot write the audit record of %s: %s\n", op, err);
        return -1;
    }
    return 0;
}

int kv_authorize(kv_ctx_t *ctx, policy_kv_action_t action, const char *name, size_t len)
{
    char rule[128], msg[640], op[64], object[160];
    if (policy_kv_allowed(ctx->principal, action, name, len, rule, sizeof(rule)))
        return 1;
    snprintf(op, sizeof(op), "keyvault.%s", policy_kv_action_name(action));
    snprintf(object, sizeof(object), "%.*s", (int)(len > 140 ? 140 : len), name);
    snprintf(msg, sizeof(msg),
             "Caller is not authorized to perform action on resource. Principal %.64s lacks the data action %s on '%s' (%s: deny "
             "by default).",
             ctx->principal_name != NULL ? ctx->principal_name : "", policy_kv_action_name(action), object, rule);
    kv_audit(ctx, op, object, "refused", msg);
    kv_send_error_req(ctx->req, 403, "Forbidden", msg, "ForbiddenByRbac");
    return 0;
}

json_t *kv_read_json(kv_ctx_t *ctx)
{
    char err[256];
    h2o_req_t *req = ctx->req;
    if (req->entity.len > KV_MAX_BODY) {
        char msg[96];
        gw_http_body_too_large_message(KV_MAX_BODY, msg, sizeof(msg));
        kv_send_error(ctx, 413, "BadParameter", msg);
        return NULL;
    }
    if (req->entity.base == NULL || req->entity.len == 0) {
        kv_send_error(ctx, 400, "BadParameter", "the request needs a JSON body");
        return NULL;
    }
    json_t *doc = kv_parse_json(req->entity.base, req->entity.len, err, sizeof(err));
    if (doc == NULL)
        kv_send_error(ctx, 400, "BadParameter", err);
    return doc;
}

json_t *kv_id(kv_ctx_t *ctx, const char *collection, const char *name, const char *version)
{
    char buf[600];
    int v = version != NULL && version[0] != '\0';
    snprintf(buf, sizeof(buf), "%s/%s/%s%s%s", ctx->public_url, collection, name, v ? "/" : "", v ? version : "");
    return json_string(buf);
}

void kv_note_recovery(kv_ctx_t *ctx, vault_t *v)
{
    vault_status_t st;
    vault_get_status(v, &st);
    ctx->recovery.known = 1;
    ctx->recovery.days = st.retention_days;
    ctx->recovery.purge_protection = st.purge_protection;
}

/*
 * The vault's recovery settings, for the attributes of every bundle: as
 * noted, else read under the vault lock (a second lock per request waits for
 * whatever write or audited read holds it, so the handlers note them while
 * they hold it anyway).
 */
static void recovery(kv_ctx_t *ctx, unsigned *days, int *purge_protection)
{
    if (!ctx->recovery.known) {
        vault_t *v = gw_app_vault_lock(ctx->app);
        kv_note_recovery(ctx, v);
        gw_app_vault_unlock(ctx->app);
    }
    *days = ctx->recovery.days;
    *purge_protection = ctx->recovery.purge_protection;
}

/* attributes{enabled, nbf?, exp?, created, updated, recoveryLevel, recoverableDays}. */
static json_t *attributes_json(kv_ctx_t *ctx, const vault_secret_attrs_t *a)
{
    unsigned days;
    int pp;
    recovery(ctx, &days, &pp);
    json_t *o = json_pack("{s:b,s:I,s:I,s:s,s:i}", "enabled", a->enabled, "created", (json_int_t)a->created, "updated",
                          (json_int_t)a->updated, "recoveryLevel", pp ? "Recoverable" : "Recoverable+Purgeable", "recoverableDays",
                          (int)days);
    if (a->nbf != 0)
        json_object_set_new(o, "nbf", json_integer(a->nbf));
    if (a->exp != 0)
        json_object_set_new(o, "exp", json_integer(a->exp));
    return o;
}

json_t *kv_secret_bundle(kv_ctx_t *ctx, const char *name, const vault_secret_attrs_t *attrs, const uint8_t *value, size_t value_len)
{
    json_t *o =
        json_pack("{s:o,s:o}", "id", kv_id(ctx, "secrets", name, attrs->version), "attributes", attributes_json(ctx, attrs));
    if (value != NULL) {
        json_t *v = json_stringn((const char *)value, value_len);
        if (v == NULL) { /* not UTF-8 text (set through the CLI or /v1): Key Vault values are strings */
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "value", v);
    }
    if (attrs->content_type != NULL && attrs->content_type[0] != '\0')
        json_object_set_new(o, "contentType", json_string(attrs->content_type));
    json_t *tags = json_object();
    for (size_t i = 0; i < attrs->ntags; i++)
        json_object_set_new(tags, attrs->tags[i].key, json_string(attrs->tags[i].value));
    json_object_set_new(o, "tags", tags);
    return o;
}
