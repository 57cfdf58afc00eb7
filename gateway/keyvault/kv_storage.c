/*
 * kv_storage.c - Key Vault's managed-storage SAS definitions (kv_internal.h):
 *   PUT    /storage/{account}/sas/{name}   storage/setsas     {templateUri, sasType, validityPeriod, attributes?{enabled}, tags?}
 *   GET    /storage/{account}/sas/{name}   storage/getsas
 *   DELETE /storage/{account}/sas/{name}   storage/deletesas  (answers the definition as it was)
 *   GET    /storage/{account}/sas          storage/listsas    {value: [{id, sid, attributes, tags}], nextLink: null}
 * each answered as Key Vault's SasDefinitionBundle {id, sid, templateUri,
 * sasType, validityPeriod, attributes{enabled, created, updated,
 * recoveryLevel}, tags}; the storage actions are scoped by account name.
 *
 *   GET /secrets/{account}-{name}   secrets/get on that secret name
 * mints a fresh SAS shaped like the definition's template through the shared
 * mint (sasgw/revocation/issuance.h: the reader's grants decide, exactly as
 * for POST /v1/sas, so a reader never gets more than it could mint there;
 * indexed, audited, revocable), expiring validityPeriod from now, answered
 * as a SecretBundle whose value is the token (the query, as Key Vault
 * returns it) with contentType application/vnd.ms-sastoken-storage,
 * attributes.exp and managed: true. A definition takes precedence over a
 * plain secret of the same name.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_internal.h"
#include "kv_parse.h"
#include "sasgw/common.h"
#include "sasgw/revocation/issuance.h"

/* ------------------------------------------------------------------ the shared mint, once per process */

static pthread_mutex_t issuance_mu = PTHREAD_MUTEX_INITIALIZER;
static gw_issuance_t *issuance;

static gw_issuance_t *get_issuance(gw_app_t *app)
{
    pthread_mutex_lock(&issuance_mu);
    if (issuance == NULL)
        issuance = gw_issuance_create(app, gw_app_metrics(app));
    gw_issuance_t *iss = issuance;
    pthread_mutex_unlock(&issuance_mu);
    return iss;
}

/* ------------------------------------------------------------------ bundles */

static const char *type_name(int sas_type)
{
    return sas_type == VAULT_SASDEF_ACCOUNT ? "account" : "service";
}

/* attributes{enabled, created, updated, recoveryLevel}: a definition is deleted for good (Purgeable). */
static json_t *sasdef_attributes(const vault_sasdef_t *d)
{
    return json_pack("{s:b,s:I,s:I,s:s}", "enabled", d->enabled, "created", (json_int_t)d->created, "updated",
                     (json_int_t)d->updated, "recoveryLevel", "Purgeable");
}

static json_t *tags_json(size_t n, const vault_tag_t *tags)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, tags[i].key, json_string(tags[i].value));
    return o;
}

/* id and sid of a definition. */
static void set_ids(kv_ctx_t *ctx, json_t *o, const char *account, const char *name)
{
    char path[128], secret[128];
    snprintf(path, sizeof(path), "%s/sas/%s", account, name);
    snprintf(secret, sizeof(secret), "%s-%s", account, name);
    json_object_set_new(o, "id", kv_id(ctx, "storage", path, NULL));
    json_object_set_new(o, "sid", kv_id(ctx, "secrets", secret, NULL));
}

/* The SasDefinitionBundle (full: with templateUri, sasType, validityPeriod) or a SasDefinitionItem. */
static json_t *sasdef_bundle(kv_ctx_t *ctx, const vault_sasdef_t *d, int full)
{
    json_t *o = json_object();
    set_ids(ctx, o, d->account, d->name);
    if (full) {
        json_object_set_new(o, "templateUri", json_string(d->template_uri));
        json_object_set_new(o, "sasType", json_string(type_name(d->sas_type)));
        json_object_set_new(o, "validityPeriod", json_string(d->validity));
    }
    json_object_set_new(o, "attributes", sasdef_attributes(d));
    json_object_set_new(o, "tags", tags_json(d->ntags, d->tags));
    return o;
}

/* Sends a vault error in Key Vault's words. */
static void send_vault_error(kv_ctx_t *ctx, vault_err_t rc, const char *err)
{
    switch (rc) {
    case VAULT_EINVAL:
        kv_send_error(ctx, 400, "BadParameter", err);
        break;
    case VAULT_ENOTFOUND:
        kv_send_error(ctx, 404, "SasDefinitionNotFound", err);
        break;
    case VAULT_EAUDIT:
        kv_send_error(ctx, 503, "ServiceUnavailable", err);
        break;
    default:
        kv_send_error(ctx, 500, "InternalError", err);
        break;
    }
}

/* ------------------------------------------------------------------ the PUT body */

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/*
 * {templateUri, sasType, validityPeriod, attributes?{enabled?}, tags?}:
 * closed members, types checked; the vault then reads the template and the
 * duration. Strings borrow from body; tags (KV_MAX_TAGS) are filled in place.
 * 0, or -1 with a sentence in err.
 */
static int parse_put(json_t *body, vault_sasdef_input_t *in, vault_tag_t *tags, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    in->enabled = 1;
    in->template_uri = in->validity = NULL;
    in->ntags = 0;
    in->tags = tags;
    int have_type = 0;
    if (!json_is_object(body))
        return bad(err, errlen, "the body must be a JSON object");
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "templateUri") == 0) {
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return bad(err, errlen, "templateUri must be a string");
            in->template_uri = json_string_value(v);
        } else if (strcmp(key, "validityPeriod") == 0) {
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return bad(err, errlen, "validityPeriod must be a string");
            in->validity = json_string_value(v);
        } else if (strcmp(key, "sasType") == 0) {
            const char *t = json_string_value(v);
            if (t == NULL || (strcmp(t, "service") != 0 && strcmp(t, "account") != 0))
                return bad(err, errlen, "sasType must be \"service\" or \"account\"");
            in->sas_type = strcmp(t, "account") == 0 ? VAULT_SASDEF_ACCOUNT : VAULT_SASDEF_SERVICE;
            have_type = 1;
        } else if (strcmp(key, "attributes") == 0) {
            const char *ak;
            json_t *av;
            if (!json_is_object(v))
                return bad(err, errlen, "attributes must be an object");
            json_object_foreach(v, ak, av)
            {
                if (strcmp(ak, "enabled") != 0 || !json_is_boolean(av))
                    return bad(err, errlen, "attributes may hold only enabled (true or false)");
                in->enabled = json_is_true(av);
            }
        } else if (strcmp(key, "tags") == 0) {
            const char *tk;
            json_t *tv;
            if (!json_is_object(v) || json_object_size(v) > KV_MAX_TAGS)
                return bad(err, errlen, "tags must be an object of at most %d strings", KV_MAX_TAGS);
            json_object_foreach(v, tk, tv)
            {
                if (!json_is_string(tv) || strlen(json_string_value(tv)) != json_string_length(tv))
                    return bad(err, errlen, "a tag value must be a string");
                tags[in->ntags].key = (char *)(uintptr_t)tk; /* the vault copies */
                tags[in->ntags].value = (char *)(uintptr_t)json_string_value(tv);
                in->ntags++;
            }
        } else {
            return bad(err, errlen, "unknown member '%.64s'", key);
        }
    }
    if (in->template_uri == NULL || !have_type || in->validity == NULL)
        return bad(err, errlen, "templateUri, sasType and validityPeriod are required");
    return 0;
}

/* ------------------------------------------------------------------ /storage/{account}/sas[/{name}] */

/* Copies the segment [p, p+n) into out (cap bytes) when it fits. 0 or -1. */
static int segment(const char *p, size_t n, char *out, size_t cap)
{
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int method_is(h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

static void on_put(kv_ctx_t *ctx, const char *account, const char *name, const char *object)
{
    char err[400];
    vault_tag_t tags[KV_MAX_TAGS];
    if (!kv_authorize(ctx, POLICY_KV_STORAGE_SETSAS, account, strlen(account)))
        return;
    json_t *body = kv_read_json(ctx);
    if (body == NULL)
        return;
    vault_sasdef_input_t in = {.account = account, .name = name};
    if (parse_put(body, &in, tags, err, sizeof(err)) != 0) {
        json_decref(body);
        kv_audit(ctx, "keyvault.storage/setsas", object, "refused", err);
        kv_send_error(ctx, 400, "BadParameter", err);
        return;
    }
    vault_sasdef_t d;
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_sasdef_put(v, &ctx->actor, &in, &d, err, sizeof(err));
    gw_app_vault_unlock(ctx->app);
    json_decref(body);
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err);
        return;
    }
    json_t *bundle = sasdef_bundle(ctx, &d, 1);
    vault_sasdef_dispose(&d);
    kv_send_json(ctx, 200, bundle);
}

static void on_get(kv_ctx_t *ctx, const char *account, const char *name, const char *object)
{
    if (!kv_authorize(ctx, POLICY_KV_STORAGE_GETSAS, account, strlen(account)))
        return;
    vault_sasdef_t d;
    vault_t *v = gw_app_vault_lock(ctx->app);
    int found = vault_sasdef_get(v, account, name, &d);
    gw_app_vault_unlock(ctx->app);
    if (!found) {
        kv_audit(ctx, "keyvault.storage/getsas", object, "refused", "no such SAS definition");
        kv_send_error(ctx, 404, "SasDefinitionNotFound", "there is no such SAS definition for this storage account");
        return;
    }
    if (kv_audit(ctx, "keyvault.storage/getsas", object, "ok", NULL) != 0) {
        vault_sasdef_dispose(&d);
        kv_send_error(ctx, 503, "ServiceUnavailable", "the audit record could not be written");
        return;
    }
    json_t *bundle = sasdef_bundle(ctx, &d, 1);
    vault_sasdef_dispose(&d);
    kv_send_json(ctx, 200, bundle);
}

static void on_delete(kv_ctx_t *ctx, const char *account, const char *name)
{
    char err[400];
    if (!kv_authorize(ctx, POLICY_KV_STORAGE_DELETESAS, account, strlen(account)))
        return;
    vault_sasdef_t d;
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_sasdef_delete(v, &ctx->actor, account, name, &d, err, sizeof(err));
    gw_app_vault_unlock(ctx->app);
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err);
        return;
    }
    json_t *bundle = sasdef_bundle(ctx, &d, 1);
    vault_sasdef_dispose(&d);
    kv_send_json(ctx, 200, bundle);
}

static void on_list(kv_ctx_t *ctx, const char *account)
{
    char err[400];
    if (!kv_authorize(ctx, POLICY_KV_STORAGE_LISTSAS, account, strlen(account)))
        return;
    vault_sasdef_t *list;
    size_t n;
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_sasdef_list(v, account, &list, &n, err, sizeof(err));
    gw_app_vault_unlock(ctx->app);
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, sasdef_bundle(ctx, &list[i], 0));
    vault_sasdef_list_free(list, n);
    kv_audit(ctx, "keyvault.storage/listsas", account, "ok", NULL);
    kv_send_json(ctx, 200, json_pack("{s:o,s:n}", "value", arr, "nextLink"));
}

int kv_storage_route(kv_ctx_t *ctx, const char *path, size_t len)
{
    static const char prefix[] = "/storage/";
    char account[32], name[VAULT_SASDEF_NAME_MAX + 1], object[128];
    h2o_req_t *req = ctx->req;

    /* /storage/{account}/sas[/{name}] */
    if (len < sizeof(prefix) - 1 || memcmp(path, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    const char *p = path + sizeof(prefix) - 1, *end = path + len;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    if (slash == NULL || segment(p, (size_t)(slash - p), account, sizeof(account)) != 0)
        return 0;
    p = slash + 1;
    if ((size_t)(end - p) < 3 || memcmp(p, "sas", 3) != 0 || (p + 3 != end && p[3] != '/'))
        return 0;
    p += 3;
    int one = p != end && p + 1 != end; /* "/sas/" alone lists, as "/sas" does */
    if (one && segment(p + 1, (size_t)(end - p - 1), name, sizeof(name)) != 0) {
        kv_send_error(ctx, 400, "BadParameter", "a SAS definition name is 1 to 64 letters and digits");
        return 1;
    }
    if (!vault_valid_account_name(account) || (one && !vault_valid_sasdef_name(name))) {
        kv_send_error(ctx, 400, "BadParameter",
                      "a storage account name is 3 to 24 lowercase letters and digits; a SAS definition name 1 to 64 letters "
                      "and digits");
        return 1;
    }

    if (!one) {
        if (method_is(req, "GET"))
            on_list(ctx, account);
        else
            kv_send_error(ctx, 405, "MethodNotAllowed", "the method is not allowed on this resource");
        return 1;
    }
    snprintf(object, sizeof(object), "%s/%s", account, name);
    if (method_is(req, "PUT"))
        on_put(ctx, account, name, object);
    else if (method_is(req, "GET"))
        on_get(ctx, account, name, object);
    else if (method_is(req, "DELETE"))
        on_delete(ctx, account, name);
    else
        kv_send_error(ctx, 405, "MethodNotAllowed", "the method is not allowed on this resource");
    return 1;
}

/* ------------------------------------------------------------------ GET /secrets/{account}-{name}: a fresh SAS */

/* Lives in req->pool: the running mint, cancelled when the request is gone. */
struct mint_guard {
    kv_ctx_t *ctx;
    gw_mint_t *mint; /* NULL once answered */
    char secret[128];
    int64_t now;
};

static void on_req_gone(void *p)
{
    struct mint_guard *g = p;
    if (g->mint != NULL)
        gw_mint_cancel(g->mint);
}

/* The Key Vault error of a refused mint. */
static const char *refusal_code(int status)
{
    switch (status) {
    case 400:
        return "BadParameter";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 409:
        return "Conflict";
    case 503:
        return "ServiceUnavailable";
    default:
        return "InternalError";
    }
}

/* The SecretBundle of a minted token: {value, id, contentType, attributes{enabled, exp, created, updated, recoveryLevel}, tags,
 * managed}. */
static void on_minted(const gw_mint_result_t *res, void *data)
{
    struct mint_guard *g = data;
    kv_ctx_t *ctx = g->ctx;
    g->mint = NULL;
    if (res->status != 201) {
        char msg[512];
        if (res->status == 403)
            snprintf(msg, sizeof(msg), "The reader's grants do not allow this SAS definition's token: %s", res->message);
        else
            snprintf(msg, sizeof(msg), "%s", res->message);
        kv_send_error_req(ctx->req, res->status, refusal_code(res->status), msg, res->status == 403 ? "ForbiddenByPolicy" : NULL);
        return;
    }
    sas_time_t exp;
    if (sas_time_parse(res->expires_on, strlen(res->expires_on), &exp) != 0)
        exp = 0;
    json_t *attrs = json_pack("{s:b,s:I,s:I,s:I,s:s}", "enabled", 1, "exp", (json_int_t)(exp / SAS_TIME_SECOND), "created",
                              (json_int_t)g->now, "updated", (json_int_t)g->now, "recoveryLevel", "Purgeable");
    json_t *bundle = json_pack("{s:s,s:o,s:s,s:o,s:o,s:b}", "value", res->token, "id", kv_id(ctx, "secrets", g->secret, NULL),
                               "contentType", KV_SAS_CONTENT_TYPE, "attributes", attrs, "tags", json_object(), "managed", 1);
    h2o_add_header(&ctx->req->pool, &ctx->req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    kv_send_json(ctx, 200, bundle);
}

int kv_storage_secret_get(kv_ctx_t *ctx, const char *name, size_t len)
{
    char account[32], sasdef[VAULT_SASDEF_NAME_MAX + 1];

    /* {account}-{name}: account names hold no '-', definition names neither */
    const char *dash = memchr(name, '-', len);
    if (dash == NULL || segment(name, (size_t)(dash - name), account, sizeof(account)) != 0 ||
        segment(dash + 1, len - (size_t)(dash - name) - 1, sasdef, sizeof(sasdef)) != 0 || !vault_valid_account_name(account) ||
        !vault_valid_sasdef_name(sasdef))
        return 0;
    vault_sasdef_t d;
    vault_t *v = gw_app_vault_lock(ctx->app);
    int found = vault_sasdef_get(v, account, sasdef, &d);
    gw_app_vault_unlock(ctx->app);
    if (!found)
        return 0;

    /* a secret read: secrets/get on its name */
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_GET, name, len)) {
        vault_sasdef_dispose(&d);
        return 1;
    }
    if (!d.enabled) {
        vault_sasdef_dispose(&d);
        kv_send_error_req(ctx->req, 403, "Forbidden", "Operation get is not allowed on a disabled SAS definition.",
                          "SecretDisabled");
        return 1;
    }

    /* the template's shape, valid from now for validityPeriod */
    char err[400];
    int64_t secs;
    vault_sasdef_template_t *t = sg_alloc(sizeof(*t));
    if (vault_sasdef_template_parse(d.template_uri, account, (vault_sasdef_type_t)d.sas_type, t, err, sizeof(err)) != 0 ||
        vault_sasdef_parse_duration(d.validity, &secs, err, sizeof(err)) != 0) {
        /* the vault refuses to store either: only a vault written by another build could hold one */
        sg_wipe(t, sizeof(*t));
        free(t);
        vault_sasdef_dispose(&d);
        kv_send_error(ctx, 500, "InternalError", err);
        return 1;
    }
    const gw_config_t *conf = gw_app_config(ctx->app);
    sas_time_t now = sas_time_now(), whole = now - now % SAS_TIME_SECOND;
    const sas_token_t *tok = &t->tok;
    gw_mint_request_t r = {.kind = t->sas_type == VAULT_SASDEF_ACCOUNT ? GW_MINT_ACCOUNT : GW_MINT_SERVICE,
                           .account = account,
                           .container = t->container,
                           .blob = t->blob,
                           .policy = t->identifier,
                           .ip = t->ip,
                           .protocol = t->protocol,
                           .services = t->sas_type == VAULT_SASDEF_ACCOUNT ? t->services : NULL,
                           .resource_types = t->sas_type == VAULT_SASDEF_ACCOUNT ? t->resource_types : NULL,
                           .cache_control = tok->f[SAS_F_RSCC].base,
                           .content_disposition = tok->f[SAS_F_RSCD].base,
                           .content_encoding = tok->f[SAS_F_RSCE].base,
                           .content_language = tok->f[SAS_F_RSCL].base,
                           .content_type = tok->f[SAS_F_RSCT].base,
                           .permissions = t->permissions,
                           .start = whole - (sas_time_t)conf->issuer.clock_skew * SAS_TIME_SECOND,
                           .expiry = whole + (sas_time_t)secs * SAS_TIME_SECOND,
                           .start_given = 0,
                           .ttl = (uint64_t)secs};
    gw_mint_caller_t who = {.thread = gw_thread_of(ctx->req),
                            .principal = ctx->principal,
                            .client = ctx->actor.client,
                            .request_id = ctx->actor.request_id};
    struct mint_guard *g = h2o_mem_alloc_shared(&ctx->req->pool, sizeof(*g), on_req_gone);
    g->ctx = ctx;
    g->mint = NULL;
    g->now = (int64_t)(now / SAS_TIME_SECOND);
    snprintf(g->secret, sizeof(g->secret), "%.*s", (int)len, name);
    g->mint = gw_issuance_mint(get_issuance(ctx->app), &who, &r, now, on_minted, g); /* copies r: t may go */
    sg_wipe(t, sizeof(*t));
    free(t);
    vault_sasdef_dispose(&d);
    return 1;
}
