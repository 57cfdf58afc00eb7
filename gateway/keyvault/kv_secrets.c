/*
 * kv_secrets.c - Key Vault's secrets operations on sasgw's vault
 * (Key Vault REST 7.3-7.6):
 *   PUT    /secrets/{name}                    set           -> SecretBundle (with value)
 *   GET    /secrets/{name}[/{version}]        get           -> SecretBundle (with value); "" version = newest
 *   PATCH  /secrets/{name}/{version}          set (update)  -> SecretBundle (no value)
 *   GET    /secrets                           list          -> {value: [SecretItem], nextLink}
 *   GET    /secrets/{name}/versions           list          -> {value: [SecretItem], nextLink}
 *   DELETE /secrets/{name}                    delete        -> DeletedSecretBundle
 *   GET    /deletedsecrets                    list          -> {value: [DeletedSecretItem], nextLink}
 *   GET    /deletedsecrets/{name}             list          -> DeletedSecretBundle
 *   POST   /deletedsecrets/{name}/recover     recover       -> SecretBundle (no value)
 *   DELETE /deletedsecrets/{name}             purge         -> 204
 *   POST   /secrets/{name}/backup             backup        -> {value: base64url blob}
 *   POST   /secrets/restore {value}           restore       -> SecretBundle (no value)
 * The second column is the data action (policy.yaml, secrets/...) checked
 * before anything is read. The vault audits its own operations (with the
 * caller as principal); lists and refusals before the vault are audited
 * here. Values never reach an audit record, a log line or a list.
 *
 * Unlike Key Vault, a read of a disabled, not yet valid or expired version is
 * refused (403 Forbidden), as the vault enforces the attributes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_secrets.h"
#include "sasgw/common.h"

#define KV_DEFAULT_PAGE 25

/* How a failed vault call answers: status, Key Vault code, inner code (may be NULL). */
static void send_vault_error(kv_ctx_t *ctx, vault_err_t e, const char *err, const char *name, kv_op_t op)
{
    char msg[400];
    switch (e) {
    case VAULT_ENOTFOUND:
        snprintf(msg, sizeof(msg), "A secret with (name/id) %s was not found in this key vault. (%s)", name, err);
        kv_send_error(ctx, 404, "SecretNotFound", msg);
        return;
    case VAULT_EDELETED:
        if (op == KV_OP_SECRET_SET) {
            snprintf(msg, sizeof(msg),
                     "Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; "
                     "in this state, the secret can only be recovered or purged.",
                     name);
            kv_send_error_req(ctx->req, 409, "Conflict", msg, "ObjectIsDeletedButRecoverable");
        } else {
            snprintf(msg, sizeof(msg), "A secret with (name/id) %s was not found in this key vault (it is deleted).", name);
            kv_send_error(ctx, 404, "SecretNotFound", msg);
        }
        return;
    case VAULT_ENOTDELETED:
        snprintf(msg, sizeof(msg), "Deleted Secret not found: %s is not deleted.", name);
        kv_send_error(ctx, 404, "SecretNotFound", msg);
        return;
    case VAULT_EDISABLED:
        kv_send_error_req(ctx->req, 403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled");
        return;
    case VAULT_EEXPIRED:
    case VAULT_ENOTYETVALID:
        kv_send_error_req(ctx->req, 403, "Forbidden", err, e == VAULT_EEXPIRED ? "SecretExpired" : "SecretNotYetValid");
        return;
    case VAULT_EPURGEPROTECTED:
        kv_send_error(ctx, 403, "Forbidden", err);
        return;
    case VAULT_EEXISTS:
    case VAULT_ELIMIT:
        kv_send_error(ctx, 409, "Conflict", err);
        return;
    case VAULT_EINVAL:
    case VAULT_EFORMAT:
    case VAULT_EFOREIGN:
    case VAULT_ECORRUPT:
        if (op == KV_OP_SECRET_RESTORE || e == VAULT_EINVAL) {
            kv_send_error(ctx, 400, "BadParameter", err);
            return;
        }
        break;
    case VAULT_EAUDIT:
    case VAULT_EBROKEN:
        kv_send_error(ctx, 503, "ServiceUnavailable", err);
        return;
    default:
        break;
    }
    fprintf(stderr, "sasgw: keyvault: vault error %s: %s\n", vault_err_name(e), err);
    kv_send_error(ctx, 500, "InternalError", "the vault failed; see the server log");
}

/* Audits a refusal of op on name made here (not by the vault) and sends it. */
static void refuse(kv_ctx_t *ctx, policy_kv_action_t action, const char *name, int status, const char *code, const char *message)
{
    char op[64];
    snprintf(op, sizeof(op), "keyvault.%s", policy_kv_action_name(action));
    kv_audit(ctx, op, name, status >= 500 ? "error" : "refused", message);
    kv_send_error(ctx, status, code, message);
}

/* One secret's info (name) under the vault lock: VAULT_OK with *info (free with vault_secret_list_free(*info, 1)). */
static vault_err_t info_of(kv_ctx_t *ctx, const char *name, vault_secret_info_t **info, char *err, size_t errlen)
{
    size_t n = 0;
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_secret_list(v, name, info, &n, err, errlen);
    kv_note_recovery(ctx, v);
    gw_app_vault_unlock(ctx->app);
    if (rc == VAULT_OK && (n != 1 || (*info)[0].nversions == 0)) {
        vault_secret_list_free(*info, n);
        *info = NULL;
        snprintf(err, errlen, "there is no secret named '%s'", name);
        return VAULT_ENOTFOUND;
    }
    return rc;
}

static const vault_secret_attrs_t *newest(const vault_secret_info_t *info)
{
    return &info->versions[info->nversions - 1];
}

/* A SecretItem: {id, attributes, tags, contentType?}; the bundle without value, id with version or not. */
static json_t *secret_item(kv_ctx_t *ctx, const char *name, const vault_secret_attrs_t *a, int with_version)
{
    json_t *o = kv_secret_bundle(ctx, name, a, NULL, 0);
    if (!with_version)
        json_object_set_new(o, "id", kv_id(ctx, "secrets", name, NULL));
    return o;
}

/* Adds recoveryId, deletedDate and scheduledPurgeDate to o (a DeletedSecretBundle or DeletedSecretItem). */
static json_t *deleted(kv_ctx_t *ctx, json_t *o, const vault_secret_info_t *info)
{
    json_object_set_new(o, "recoveryId", kv_id(ctx, "deletedsecrets", info->name, NULL));
    json_object_set_new(o, "deletedDate", json_integer(info->deleted_on));
    json_object_set_new(o, "scheduledPurgeDate", json_integer(info->purge_on));
    return o;
}

/* {value: items, nextLink: URL or null} with the next page's token. */
static json_t *page(kv_ctx_t *ctx, json_t *items, const char *collection, const char *token, unsigned max)
{
    json_t *next = json_null();
    if (token != NULL) {
        char link[900];
        snprintf(link, sizeof(link), "%s/%s?api-version=%s&$skiptoken=%s&maxresults=%u", ctx->public_url, collection,
                 ctx->api_version, token, max);
        next = json_string(link);
    }
    return json_pack("{s:o,s:o}", "value", items, "nextLink", next);
}

/* ---------------------------------------------------------------- set, get, update */

/*
 * The body of a set (patch 0) or an update (patch 1) of secret r->name, once
 * the caller may set it: the parsed document (the caller json_decref()s it
 * after b is used: b points into it), or NULL after answering (403, 400).
 */
static json_t *settable_body(kv_ctx_t *ctx, const kv_route_t *r, int patch, kv_body_t *b)
{
    char err[400];
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_SET, r->name, strlen(r->name)))
        return NULL;
    json_t *body = kv_read_json(ctx);
    if (body == NULL) {
        kv_audit(ctx, "keyvault.secrets/set", r->name, "refused", "malformed or oversized body");
        return NULL;
    }
    if (kv_parse_body(body, patch, b, err, sizeof(err)) != 0) {
        json_decref(body);
        refuse(ctx, POLICY_KV_SECRETS_SET, r->name, 400, "BadParameter", err);
        return NULL;
    }
    return body;
}

static void on_set(kv_ctx_t *ctx, const kv_route_t *r)
{
    char err[400], version[VAULT_VERSION_ID_LEN + 1];
    kv_body_t b;
    json_t *body = settable_body(ctx, r, 0, &b);
    if (body == NULL)
        return;
    vault_secret_input_t in = {.content_type = b.has_content_type ? b.content_type : NULL,
                               .ntags = b.has_tags ? b.ntags : 0,
                               .tags = b.tags,
                               .disabled = b.has_enabled && !b.enabled,
                               .nbf = b.has_nbf ? b.nbf : 0,
                               .exp = b.has_exp ? b.exp : 0};
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc =
        vault_secret_set(v, &ctx->actor, r->name, (const uint8_t *)b.value, b.value_len, &in, version, err, sizeof(err));
    gw_app_vault_unlock(ctx->app);
    if (rc != VAULT_OK) {
        json_decref(body);
        send_vault_error(ctx, rc, err, r->name, KV_OP_SECRET_SET);
        return;
    }
    vault_secret_info_t *info = NULL;
    if ((rc = info_of(ctx, r->name, &info, err, sizeof(err))) != VAULT_OK) {
        json_decref(body);
        send_vault_error(ctx, rc, err, r->name, KV_OP_SECRET_SET);
        return;
    }
    const vault_secret_attrs_t *a = newest(info);
    for (size_t i = 0; i < info->nversions; i++)
        if (strcmp(info->versions[i].version, version) == 0)
            a = &info->versions[i];
    json_t *bundle = kv_secret_bundle(ctx, r->name, a, (const uint8_t *)b.value, b.value_len);
    vault_secret_list_free(info, 1);
    json_decref(body);
    kv_send_json(ctx, 200, bundle);
}

static void on_get(kv_ctx_t *ctx, const kv_route_t *r)
{
    char err[400];
    vault_secret_t s;
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_GET, r->name, strlen(r->name)))
        return;
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_secret_get(v, &ctx->actor, r->name, r->version[0] != '\0' ? r->version : NULL, &s, err, sizeof(err));
    kv_note_recovery(ctx, v);
    gw_app_vault_unlock(ctx->app);
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err, r->name, KV_OP_SECRET_GET);
        return;
    }
    json_t *bundle = kv_secret_bundle(ctx, r->name, &s.attrs, s.value, s.value_len);
    vault_secret_dispose(&s);
    if (bundle == NULL) {
        kv_send_error(ctx, 500, "InternalError", "the secret's value is not UTF-8 text, which Key Vault values must be");
        return;
    }
    kv_send_json(ctx, 200, bundle);
}

static void on_update(kv_ctx_t *ctx, const kv_route_t *r)
{
    char err[400];
    kv_body_t b;
    vault_secret_attrs_t out;
    json_t *body = settable_body(ctx, r, 1, &b);
    if (body == NULL)
        return;
    vault_secret_update_t up = {.has_content_type = b.has_content_type,
                                .has_tags = b.has_tags,
                                .has_enabled = b.has_enabled,
                                .has_nbf = b.has_nbf,
                                .has_exp = b.has_exp,
                                .content_type = b.content_type,
                                .ntags = b.ntags,
                                .tags = b.tags,
                                .enabled = b.enabled,
                                .nbf = b.nbf,
                                .exp = b.exp};
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_secret_update(v, &ctx->actor, r->name, r->version, &up, &out, err, sizeof(err));
    kv_note_recovery(ctx, v);
    gw_app_vault_unlock(ctx->app);
    json_decref(body);
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err, r->name, KV_OP_SECRET_UPDATE);
        return;
    }
    json_t *bundle = kv_secret_bundle(ctx, r->name, &out, NULL, 0);
    vault_secret_attrs_dispose(&out);
    kv_send_json(ctx, 200, bundle);
}

/* ---------------------------------------------------------------- lists */

/* GET /secrets and GET /deletedsecrets: the secrets the caller may list, by name, a page at a time. */
static void on_list(kv_ctx_t *ctx, const kv_query_t *q, int want_deleted)
{
    char err[400], after[VAULT_NAME_MAX + 2] = "", token[KV_TOKEN_MAX];
    const char *op = "keyvault.secrets/list", *collection = want_deleted ? "deletedsecrets" : "secrets";
    unsigned max = q->maxresults != 0 ? q->maxresults : KV_DEFAULT_PAGE;
    if (!policy_kv_holds(ctx->principal, POLICY_KV_SECRETS_LIST)) {
        kv_authorize(ctx, POLICY_KV_SECRETS_LIST, "", 0); /* refuses, audited */
        return;
    }
    if (q->skiptoken[0] != '\0' && kv_token_decode(q->skiptoken, want_deleted ? 'd' : 's', after, sizeof(after)) != 0) {
        refuse(ctx, POLICY_KV_SECRETS_LIST, "", 400, "BadParameter", "the $skiptoken is not one this vault issued");
        return;
    }
    vault_secret_info_t *list = NULL;
    size_t n = 0;
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_secret_list(v, NULL, &list, &n, err, sizeof(err));
    kv_note_recovery(ctx, v);
    gw_app_vault_unlock(ctx->app);
    if (rc != VAULT_OK) {
        kv_audit(ctx, op, "", "error", err);
        send_vault_error(ctx, rc, err, "", KV_OP_SECRET_LIST);
        return;
    }
    json_t *items = json_array();
    const char *last = NULL;
    int more = 0;
    for (size_t i = 0; i < n; i++) {
        const vault_secret_info_t *s = &list[i];
        if ((s->deleted != 0) != want_deleted || s->nversions == 0 || (after[0] != '\0' && strcmp(s->name, after) <= 0) ||
            !policy_kv_allowed(ctx->principal, POLICY_KV_SECRETS_LIST, s->name, strlen(s->name), NULL, 0))
            continue;
        if (json_array_size(items) == max) {
            more = 1;
            break;
        }
        json_t *item = secret_item(ctx, s->name, newest(s), 0);
        json_array_append_new(items, want_deleted ? deleted(ctx, item, s) : item);
        last = s->name;
    }
    if (more)
        kv_token_encode(want_deleted ? 'd' : 's', last, token);
    json_t *doc = page(ctx, items, collection, more ? token : NULL, max);
    vault_secret_list_free(list, n);
    kv_audit(ctx, op, want_deleted ? "deletedsecrets" : "secrets", "ok", NULL);
    kv_send_json(ctx, 200, doc);
}

/* GET /secrets/{name}/versions: every version, oldest first, a page at a time (the token holds the next index). */
static void on_versions(kv_ctx_t *ctx, const kv_route_t *r, const kv_query_t *q)
{
    char err[400], pos[24] = "", token[KV_TOKEN_MAX], path[200];
    unsigned max = q->maxresults != 0 ? q->maxresults : KV_DEFAULT_PAGE;
    size_t start = 0;
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_LIST, r->name, strlen(r->name)))
        return;
    if (q->skiptoken[0] != '\0') {
        if (kv_token_decode(q->skiptoken, 'v', pos, sizeof(pos)) != 0 || strspn(pos, "0123456789") != strlen(pos) ||
            strlen(pos) > 9) {
            refuse(ctx, POLICY_KV_SECRETS_LIST, r->name, 400, "BadParameter", "the $skiptoken is not one this vault issued");
            return;
        }
        start = (size_t)strtoul(pos, NULL, 10);
    }
    vault_secret_info_t *info = NULL;
    vault_err_t rc = info_of(ctx, r->name, &info, err, sizeof(err));
    if (rc == VAULT_OK && info->deleted) {
        vault_secret_list_free(info, 1);
        rc = VAULT_EDELETED;
        snprintf(err, sizeof(err), "the secret '%s' is deleted", r->name);
    }
    if (rc != VAULT_OK) {
        kv_audit(ctx, "keyvault.secrets/list", r->name, "refused", err);
        send_vault_error(ctx, rc, err, r->name, KV_OP_SECRET_VERSIONS);
        return;
    }
    json_t *items = json_array();
    size_t i = start;
    for (; i < info->nversions && json_array_size(items) < max; i++)
        json_array_append_new(items, secret_item(ctx, r->name, &info->versions[i], 1));
    int more = i < info->nversions;
    if (more) {
        snprintf(pos, sizeof(pos), "%zu", i);
        kv_token_encode('v', pos, token);
    }
    snprintf(path, sizeof(path), "secrets/%s/versions", r->name);
    json_t *doc = page(ctx, items, path, more ? token : NULL, max);
    vault_secret_list_free(info, 1);
    kv_audit(ctx, "keyvault.secrets/list", r->name, "ok", NULL);
    kv_send_json(ctx, 200, doc);
}

/* ---------------------------------------------------------------- delete, deleted, recover, purge */

/* Sends the DeletedSecretBundle of name (status 200), or the error when it is not deleted. */
static void send_deleted(kv_ctx_t *ctx, const char *name, kv_op_t op, int audit)
{
    char err[400];
    vault_secret_info_t *info = NULL;
    vault_err_t rc = info_of(ctx, name, &info, err, sizeof(err));
    if (rc == VAULT_OK && !info->deleted) {
        vault_secret_list_free(info, 1);
        rc = VAULT_ENOTDELETED;
        snprintf(err, sizeof(err), "the secret '%s' is not deleted", name);
    }
    if (rc != VAULT_OK) {
        if (audit)
            kv_audit(ctx, "keyvault.secrets/list", name, "refused", err);
        send_vault_error(ctx, rc, err, name, op);
        return;
    }
    json_t *doc = deleted(ctx, kv_secret_bundle(ctx, name, newest(info), NULL, 0), info);
    vault_secret_list_free(info, 1);
    if (audit)
        kv_audit(ctx, "keyvault.secrets/list", name, "ok", NULL);
    kv_send_json(ctx, 200, doc);
}

/* Sends the SecretBundle (no value) of the newest version of name. */
static void send_newest(kv_ctx_t *ctx, const char *name, kv_op_t op)
{
    char err[400];
    vault_secret_info_t *info = NULL;
    vault_err_t rc = info_of(ctx, name, &info, err, sizeof(err));
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err, name, op);
        return;
    }
    json_t *doc = kv_secret_bundle(ctx, name, newest(info), NULL, 0);
    vault_secret_list_free(info, 1);
    kv_send_json(ctx, 200, doc);
}

typedef vault_err_t (*life_fn)(vault_t *v, const vault_actor_t *who, const char *name, char *err, size_t errlen);

/* delete, recover, purge: the vault call under its lock. */
static vault_err_t life(kv_ctx_t *ctx, life_fn fn, const char *name, char *err, size_t errlen)
{
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = fn(v, &ctx->actor, name, err, errlen);
    gw_app_vault_unlock(ctx->app);
    return rc;
}

static void on_delete(kv_ctx_t *ctx, const kv_route_t *r)
{
    char err[400];
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_DELETE, r->name, strlen(r->name)))
        return;
    vault_err_t rc = life(ctx, vault_secret_delete, r->name, err, sizeof(err));
    if (rc != VAULT_OK) {
        /* deleting a deleted secret: Key Vault says it is not found */
        send_vault_error(ctx, rc == VAULT_EDELETED ? VAULT_ENOTFOUND : rc, err, r->name, KV_OP_SECRET_DELETE);
        return;
    }
    send_deleted(ctx, r->name, KV_OP_SECRET_DELETE, 0);
}

static void on_recover(kv_ctx_t *ctx, const kv_route_t *r)
{
    char err[400];
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_RECOVER, r->name, strlen(r->name)))
        return;
    vault_err_t rc = life(ctx, vault_secret_recover, r->name, err, sizeof(err));
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err, r->name, KV_OP_DELETED_RECOVER);
        return;
    }
    send_newest(ctx, r->name, KV_OP_DELETED_RECOVER);
}

static void on_purge(kv_ctx_t *ctx, const kv_route_t *r)
{
    char err[400];
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_PURGE, r->name, strlen(r->name)))
        return;
    vault_err_t rc = life(ctx, vault_secret_purge, r->name, err, sizeof(err));
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err, r->name, KV_OP_DELETED_PURGE);
        return;
    }
    kv_send_json(ctx, 204, NULL);
}

/* ---------------------------------------------------------------- backup, restore */

static void on_backup(kv_ctx_t *ctx, const kv_route_t *r)
{
    char err[400];
    uint8_t *blob = NULL;
    size_t len = 0;
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_BACKUP, r->name, strlen(r->name)))
        return;
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_secret_backup(v, &ctx->actor, r->name, &blob, &len, err, sizeof(err));
    gw_app_vault_unlock(ctx->app);
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err, r->name, KV_OP_SECRET_BACKUP);
        return;
    }
    /* a blob the restore could not take back (its body is bounded) is refused rather than handed out */
    if (SG_B64_ENCODED_LEN(len) + 16 > KV_MAX_BODY) {
        free(blob);
        kv_send_error(ctx, 400, "BadParameter",
                      "the secret's versions are too large together for a backup this vault can restore "
                      "(64 KiB); purge old versions first");
        return;
    }
    char *text = sg_alloc(SG_B64_ENCODED_LEN(len) + 1);
    size_t tlen = sg_b64url_encode(blob, len, text);
    free(blob);
    json_t *doc = json_pack("{s:s%}", "value", text, tlen);
    free(text);
    kv_send_json(ctx, 200, doc);
}

static void on_restore(kv_ctx_t *ctx)
{
    char err[400], name[VAULT_NAME_MAX + 1];
    const char *value;
    size_t vlen;
    /* a principal who may restore nothing learns nothing about the blob */
    if (!policy_kv_holds(ctx->principal, POLICY_KV_SECRETS_RESTORE)) {
        kv_authorize(ctx, POLICY_KV_SECRETS_RESTORE, "", 0);
        return;
    }
    json_t *body = kv_read_json(ctx);
    if (body == NULL) {
        kv_audit(ctx, "keyvault.secrets/restore", "", "refused", "malformed or oversized body");
        return;
    }
    if (kv_parse_restore_body(body, &value, &vlen, err, sizeof(err)) != 0) {
        json_decref(body);
        refuse(ctx, POLICY_KV_SECRETS_RESTORE, "", 400, "BadParameter", err);
        return;
    }
    uint8_t *blob = sg_alloc(vlen + 3);
    long blen = kv_b64url_decode(value, vlen, blob, vlen + 3);
    json_decref(body);
    if (blen < 0) {
        free(blob);
        refuse(ctx, POLICY_KV_SECRETS_RESTORE, "", 400, "BadParameter", "value is not base64url");
        return;
    }
    /* the name inside decides the scope: authorize before anything changes */
    vault_t *v = gw_app_vault_lock(ctx->app);
    vault_err_t rc = vault_secret_backup_name(v, blob, (size_t)blen, name, err, sizeof(err));
    gw_app_vault_unlock(ctx->app);
    if (rc != VAULT_OK) {
        free(blob);
        kv_audit(ctx, "keyvault.secrets/restore", "", "refused", err);
        send_vault_error(ctx, rc, err, "", KV_OP_SECRET_RESTORE);
        return;
    }
    if (!kv_authorize(ctx, POLICY_KV_SECRETS_RESTORE, name, strlen(name))) {
        free(blob);
        return;
    }
    v = gw_app_vault_lock(ctx->app);
    rc = vault_secret_restore(v, &ctx->actor, blob, (size_t)blen, name, err, sizeof(err));
    gw_app_vault_unlock(ctx->app);
    free(blob);
    if (rc != VAULT_OK) {
        send_vault_error(ctx, rc, err, name, KV_OP_SECRET_RESTORE);
        return;
    }
    send_newest(ctx, name, KV_OP_SECRET_RESTORE);
}

void kv_secrets_serve(kv_ctx_t *ctx, const kv_route_t *route, const kv_query_t *query)
{
    switch (route->op) {
    case KV_OP_SECRET_SET:
        on_set(ctx, route);
        return;
    case KV_OP_SECRET_GET:
        on_get(ctx, route);
        return;
    case KV_OP_SECRET_UPDATE:
        on_update(ctx, route);
        return;
    case KV_OP_SECRET_LIST:
        on_list(ctx, query, 0);
        return;
    case KV_OP_DELETED_LIST:
        on_list(ctx, query, 1);
        return;
    case KV_OP_SECRET_VERSIONS:
        on_versions(ctx, route, query);
        return;
    case KV_OP_SECRET_DELETE:
        on_delete(ctx, route);
        return;
    case KV_OP_DELETED_GET:
        if (kv_authorize(ctx, POLICY_KV_SECRETS_LIST, route->name, strlen(route->name)))
            send_deleted(ctx, route->name, KV_OP_DELETED_GET, 1);
        return;
    case KV_OP_DELETED_RECOVER:
        on_recover(ctx, route);
        return;
    case KV_OP_DELETED_PURGE:
        on_purge(ctx, route);
        return;
    case KV_OP_SECRET_BACKUP:
        on_backup(ctx, route);
        return;
    case KV_OP_SECRET_RESTORE:
        on_restore(ctx);
        return;
    default:
        kv_send_error(ctx, 404, "NotFound", "no such resource in this vault");
        return;
    }
}
