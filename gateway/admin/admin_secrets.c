/*
 * admin_secrets.c - secrets in the admin API, shaped like Azure Key Vault's
 * where natural (a secret bundle is {value, id, attributes{enabled, nbf, exp,
 * created, updated}, contentType, tags}, times in unix seconds as Key Vault
 * writes them; lists are {"value":[...]}):
 *   PUT    /v1/secrets/{name}  {value, content_type?, tags?, nbf?, exp?, enabled?}  secrets.write
 *   GET    /v1/secrets                         the newest version of each live secret, no values  secrets.read
 *   GET    /v1/secrets/{name}                  the newest version, with its value   secrets.read
 *   GET    /v1/secrets/{name}/versions         every version, no values             secrets.read
 *   GET    /v1/secrets/{name}/{version}        that version, with its value         secrets.read
 *   DELETE /v1/secrets/{name}                  soft delete                          secrets.write
 *   GET    /v1/deleted-secrets                 soft-deleted secrets                 secrets.read
 *   POST   /v1/deleted-secrets/{name}/recover                                       secrets.write
 *   DELETE /v1/deleted-secrets/{name}          purge (204)                          secrets.purge
 * Unlike Key Vault, PUT does not echo the value back. Values never reach an
 * audit record or a log line.
 */
#include <stdio.h>
#include <string.h>

#include "admin_internal.h"
#include "sasgw/common.h"

/* "/v1/secrets/{name}[/{version}]" as a JSON string. */
static json_t *secret_id(const char *name, const char *version)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "/v1/secrets/%s%s%s", name, version != NULL ? "/" : "", version != NULL ? version : "");
    return json_string(buf);
}

/* The bundle of one version, without value. */
static json_t *bundle_json(const char *name, const vault_secret_attrs_t *a, int with_version_in_id)
{
    json_t *attrs =
        json_pack("{s:b,s:I,s:I}", "enabled", a->enabled, "created", (json_int_t)a->created, "updated", (json_int_t)a->updated);
    if (a->nbf != 0)
        json_object_set_new(attrs, "nbf", json_integer(a->nbf));
    if (a->exp != 0)
        json_object_set_new(attrs, "exp", json_integer(a->exp));
    json_t *tags = json_object();
    for (size_t i = 0; i < a->ntags; i++)
        json_object_set_new(tags, a->tags[i].key, json_string(a->tags[i].value));
    json_t *o = json_pack("{s:o,s:s,s:s,s:o}", "id", secret_id(name, with_version_in_id ? a->version : NULL), "name", name,
                          "version", a->version, "attributes", attrs);
    if (a->content_type != NULL && a->content_type[0] != '\0')
        json_object_set_new(o, "contentType", json_string(a->content_type));
    json_object_set_new(o, "tags", tags);
    return o;
}

/* Checks the route's name; sends 404 (audited) when it cannot name a secret. */
static int check_name(gw_admin_req_t *r, const char *name)
{
    if (!vault_valid_secret_name(name)) {
        gw_admin__refuse(r, 404, "not_found", "no such secret (names are 1 to 127 letters, digits and dashes)", "name", name);
        return -1;
    }
    return 0;
}

/* Lists one secret (name) or all (NULL) under the vault lock. VAULT_OK, or the vault error with err set. */
static vault_err_t list_secrets(gw_admin_req_t *r, const char *name, vault_secret_info_t **list, size_t *n, char *err,
                                size_t errlen)
{
    vault_t *v = gw_app_vault_lock(r->app);
    vault_err_t rc = vault_secret_list(v, name, list, n, err, errlen);
    gw_app_vault_unlock(r->app);
    return rc;
}

/* Sends the bundle of the newest version of name (no value) with status; for PUT and recover. */
static void send_newest(gw_admin_req_t *r, const char *name, int status)
{
    vault_secret_info_t *list = NULL;
    size_t n = 0;
    char err[256];
    if (list_secrets(r, name, &list, &n, err, sizeof(err)) != 0 || n == 0 || list[0].nversions == 0) {
        if (list != NULL)
            vault_secret_list_free(list, n);
        gw_http_send_json(r->req, status, json_pack("{s:o}", "id", secret_id(name, NULL)));
        return;
    }
    json_t *o = bundle_json(name, &list[0].versions[list[0].nversions - 1], 1);
    vault_secret_list_free(list, n);
    gw_http_send_json(r->req, status, o);
}

/* PUT /v1/secrets/{name} */
static int on_set(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "secrets.write", "secret.set") != 0)
        return 0;
    const char *name = gw_admin__param(match, "name");
    if (check_name(&r, name) != 0)
        return 0;
    json_t *body = gw_admin__read_json(&r, name);
    if (body == NULL)
        return 0;
    gw_secret_body_t s;
    gw_json_error_t e;
    if (gw_admin_parse_secret(body, &s, &e) != 0) {
        gw_admin__bad_body(&r, &e, name);
        json_decref(body);
        return 0;
    }
    char err[256], version[VAULT_VERSION_ID_LEN + 1];
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_secret_set(v, &r.actor, name, (const uint8_t *)s.value, s.value_len, &s.in, version, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    /* Wipe the value in the document before jansson frees it. */
    sg_wipe((void *)(uintptr_t)s.value, s.value_len);
    gw_secret_body_dispose(&s);
    json_decref(body);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, name, 1);
        return 0;
    }
    send_newest(&r, name, 200);
    return 0;
}

/* GET /v1/secrets and GET /v1/deleted-secrets: deleted selects which. */
static void send_list(h2o_req_t *req, void *data, int deleted)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "secrets.read", deleted ? "secret.list-deleted" : "secret.list") != 0)
        return;
    vault_secret_info_t *list = NULL;
    size_t n = 0;
    char err[256];
    vault_err_t rc = list_secrets(&r, NULL, &list, &n, err, sizeof(err));
    if (rc != VAULT_OK) {
        gw_admin__vault_error(&r, rc, err, "secrets", 0);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (list[i].deleted != deleted || list[i].nversions == 0)
            continue;
        json_t *o = bundle_json(list[i].name, &list[i].versions[list[i].nversions - 1], 0);
        if (deleted) {
            char rid[256];
            snprintf(rid, sizeof(rid), "/v1/deleted-secrets/%s", list[i].name);
            json_object_set_new(o, "recoveryId", json_string(rid));
            json_object_set_new(o, "deletedDate", json_integer(list[i].deleted_on));
            json_object_set_new(o, "scheduledPurgeDate", json_integer(list[i].purge_on));
        }
        json_array_append_new(arr, o);
    }
    vault_secret_list_free(list, n);
    gw_admin__audit(&r, deleted ? "deleted-secrets" : "secrets", "ok", NULL, NULL);
    gw_http_send_json(req, 200, json_pack("{s:o,s:n}", "value", arr, "nextLink"));
}

static int on_list(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    send_list(req, data, 0);
    return 0;
}

static int on_list_deleted(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    send_list(req, data, 1);
    return 0;
}

/* GET /v1/secrets/{name}/versions */
static int on_versions(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "secrets.read", "secret.list") != 0)
        return 0;
    const char *name = gw_admin__param(match, "name");
    if (check_name(&r, name) != 0)
        return 0;
    vault_secret_info_t *list = NULL;
    size_t n = 0;
    char err[256];
    vault_err_t rc = list_secrets(&r, name, &list, &n, err, sizeof(err));
    if (rc != VAULT_OK) {
        gw_admin__vault_error(&r, rc, err, name, 0);
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        for (size_t k = list[i].nversions; k-- > 0;) /* newest first */
            json_array_append_new(arr, bundle_json(list[i].name, &list[i].versions[k], 1));
    vault_secret_list_free(list, n);
    gw_admin__audit(&r, name, "ok", NULL, NULL);
    gw_http_send_json(req, 200, json_pack("{s:o,s:n}", "value", arr, "nextLink"));
    return 0;
}

/* GET /v1/secrets/{name}[/{version}] */
static int on_get(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "secrets.read", "secret.get") != 0)
        return 0;
    const char *name = gw_admin__param(match, "name");
    h2o_iovec_t ver = gw_route_param(match, "version");
    if (check_name(&r, name) != 0)
        return 0;
    vault_secret_t s;
    char err[256];
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_secret_get(v, &r.actor, name, ver.base, &s, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, name, 1);
        return 0;
    }
    json_t *o = bundle_json(name, &s.attrs, 1);
    json_t *value = json_stringn((const char *)s.value, s.value_len);
    if (value != NULL) {
        json_object_set_new(o, "value", value);
    } else {
        /* Not UTF-8 (set through the CLI from a binary file): hand it over as base64. */
        char *b64 = sg_alloc(SG_B64_ENCODED_LEN(s.value_len) + 1);
        size_t n = sg_b64_encode(s.value, s.value_len, b64);
        json_object_set_new(o, "value_base64", json_stringn(b64, n));
        sg_free_secret(b64, n + 1);
    }
    vault_secret_dispose(&s);
    /* The text holds the value: h2o copies it into the request's pool; wipe our copy. */
    char *text = json_dumps(o, JSON_COMPACT);
    json_t *jv = json_object_get(o, "value");
    if (jv != NULL)
        sg_wipe((void *)(uintptr_t)json_string_value(jv), json_string_length(jv));
    json_decref(o);
    if (text == NULL) {
        gw_http_send_error(req, 500, "internal", "cannot encode the response", NULL);
        return 0;
    }
    gw_http_send(req, 200, "application/json; charset=utf-8", text, strlen(text));
    sg_free_secret_str(text);
    return 0;
}

/* DELETE /v1/secrets/{name} */
static int on_delete(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "secrets.write", "secret.delete") != 0)
        return 0;
    const char *name = gw_admin__param(match, "name");
    if (check_name(&r, name) != 0)
        return 0;
    char err[256];
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_secret_delete(v, &r.actor, name, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, name, 1);
        return 0;
    }
    vault_secret_info_t *list = NULL;
    size_t n = 0;
    json_t *o;
    if (list_secrets(&r, name, &list, &n, err, sizeof(err)) == 0 && n == 1 && list[0].nversions > 0) {
        o = bundle_json(name, &list[0].versions[list[0].nversions - 1], 0);
        char rid[256];
        snprintf(rid, sizeof(rid), "/v1/deleted-secrets/%s", name);
        json_object_set_new(o, "recoveryId", json_string(rid));
        json_object_set_new(o, "deletedDate", json_integer(list[0].deleted_on));
        json_object_set_new(o, "scheduledPurgeDate", json_integer(list[0].purge_on));
    } else {
        o = json_pack("{s:o}", "id", secret_id(name, NULL));
    }
    if (list != NULL)
        vault_secret_list_free(list, n);
    gw_http_send_json(req, 200, o);
    return 0;
}

/* POST /v1/deleted-secrets/{name}/recover */
static int on_recover(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "secrets.write", "secret.recover") != 0)
        return 0;
    const char *name = gw_admin__param(match, "name");
    if (check_name(&r, name) != 0)
        return 0;
    char err[256];
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_secret_recover(v, &r.actor, name, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, name, 1);
        return 0;
    }
    send_newest(&r, name, 200);
    return 0;
}

/* DELETE /v1/deleted-secrets/{name} */
static int on_purge(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "secrets.purge", "secret.purge") != 0)
        return 0;
    const char *name = gw_admin__param(match, "name");
    if (check_name(&r, name) != 0)
        return 0;
    char err[256];
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_secret_purge(v, &r.actor, name, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, name, 1);
        return 0;
    }
    gw_http_send(req, 204, "application/json; charset=utf-8", "", 0);
    return 0;
}

int gw_admin__register_secrets(gw_server_t *server, gw_app_t *app)
{
    static const struct {
        const char *method, *pattern;
        gw_route_cb cb;
    } routes[] = {
        {"GET", "/v1/secrets", on_list},
        {"PUT", "/v1/secrets/{name}", on_set},
        {"GET", "/v1/secrets/{name}", on_get},
        {"DELETE", "/v1/secrets/{name}", on_delete},
        {"GET", "/v1/secrets/{name}/versions", on_versions},
        {"GET", "/v1/secrets/{name}/{version}", on_get},
        {"GET", "/v1/deleted-secrets", on_list_deleted},
        {"POST", "/v1/deleted-secrets/{name}/recover", on_recover},
        {"DELETE", "/v1/deleted-secrets/{name}", on_purge},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (gw_server_add_route(server, GW_SERVICE_ISSUER, routes[i].method, routes[i].pattern, routes[i].cb, app) != 0)
            return -1;
    return 0;
}
