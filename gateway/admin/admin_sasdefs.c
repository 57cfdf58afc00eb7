/*
 * admin_sasdefs.c - managed-storage SAS definitions in the admin API (the
 * same objects Key Vault's /storage/{account}/sas/{name} serves; reading the
 * Key Vault secret "{account}-{name}" mints from one):
 *   GET    /v1/accounts/{account}/sas-definitions          policies.read  (no template_uri in the list)
 *   GET    /v1/accounts/{account}/sas-definitions/{name}   policies.read
 *   PUT    /v1/accounts/{account}/sas-definitions/{name}   policies.write
 *          {template_uri, sas_type: service|account, validity_period, enabled?, tags?}  (201 created, 200 replaced)
 *   DELETE /v1/accounts/{account}/sas-definitions/{name}   policies.write (204)
 * A definition is a standing policy for minting, so it is guarded by the
 * stored access policies' capabilities.
 */
#include <stdio.h>
#include <string.h>

#include "admin_internal.h"
#include "sasgw/admin.h"

json_t *gw_admin_sasdef_json(const vault_sasdef_t *d, int with_template)
{
    json_t *o = json_pack("{s:s,s:s}", "account", d->account, "name", d->name);
    if (with_template)
        json_object_set_new(o, "template_uri", json_string(d->template_uri));
    json_object_set_new(o, "sas_type", json_string(d->sas_type == VAULT_SASDEF_ACCOUNT ? "account" : "service"));
    json_object_set_new(o, "validity_period", json_string(d->validity));
    json_object_set_new(o, "enabled", json_boolean(d->enabled));
    json_object_set_new(o, "created", gw_admin__time(d->created));
    json_object_set_new(o, "updated", gw_admin__time(d->updated));
    json_t *tags = json_object();
    for (size_t i = 0; i < d->ntags; i++)
        json_object_set_new(tags, d->tags[i].key, json_string(d->tags[i].value));
    json_object_set_new(o, "tags", tags);
    return o;
}

/* Validates the route's names; sends 404 (audited) when one cannot exist. Fills object. Returns 0 or -1. */
static int check_names(gw_admin_req_t *r, const char *account, const char *name, char *object, size_t cap)
{
    snprintf(object, cap, "%.24s/sas-definitions%s%.64s", account, name != NULL ? "/" : "", name != NULL ? name : "");
    if (!vault_valid_account_name(account) || (name != NULL && !vault_valid_sasdef_name(name))) {
        gw_admin__refuse(r, 404, "not_found", "no such account or SAS definition", NULL, object);
        return -1;
    }
    return 0;
}

/* GET /v1/accounts/{account}/sas-definitions */
static int on_list(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policies.read", "sasdef.list") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account");
    char object[96], err[256];
    if (check_names(&r, account, NULL, object, sizeof(object)) != 0)
        return 0;
    vault_sasdef_t *list = NULL;
    size_t n = 0;
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_sasdef_list(v, account, &list, &n, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 0);
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, gw_admin_sasdef_json(&list[i], 0));
    vault_sasdef_list_free(list, n);
    gw_admin__audit(&r, object, "ok", NULL, NULL);
    gw_http_send_json(req, 200, json_pack("{s:o}", "sas_definitions", arr));
    return 0;
}

/* GET /v1/accounts/{account}/sas-definitions/{name} */
static int on_get(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policies.read", "sasdef.get") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *name = gw_admin__param(match, "name");
    char object[160];
    if (check_names(&r, account, name, object, sizeof(object)) != 0)
        return 0;
    vault_sasdef_t d;
    vault_t *v = gw_app_vault_lock(r.app);
    int found = vault_sasdef_get(v, account, name, &d);
    gw_app_vault_unlock(r.app);
    if (!found) {
        gw_admin__refuse(&r, 404, "not_found", "there is no such SAS definition", NULL, object);
        return 0;
    }
    json_t *o = gw_admin_sasdef_json(&d, 1);
    vault_sasdef_dispose(&d);
    gw_admin__audit(&r, object, "ok", NULL, NULL);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    gw_http_send_json(req, 200, o);
    return 0;
}

/* PUT /v1/accounts/{account}/sas-definitions/{name} */
static int on_put(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policies.write", "sasdef.put") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *name = gw_admin__param(match, "name");
    char object[160], err[320];
    if (check_names(&r, account, name, object, sizeof(object)) != 0)
        return 0;
    json_t *body = gw_admin__read_json(&r, object);
    if (body == NULL)
        return 0;
    gw_sasdef_body_t b;
    gw_json_error_t e;
    if (gw_admin_parse_sasdef(body, &b, &e) != 0) {
        json_decref(body);
        gw_admin__bad_body(&r, &e, object);
        return 0;
    }
    b.in.account = account;
    b.in.name = name;
    vault_sasdef_t d, old;
    vault_t *v = gw_app_vault_lock(r.app);
    int existed = vault_sasdef_get(v, account, name, &old);
    vault_sasdef_dispose(&old);
    vault_err_t rc = vault_sasdef_put(v, &r.actor, &b.in, &d, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    gw_sasdef_body_dispose(&b);
    json_decref(body);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 1);
        return 0;
    }
    json_t *o = gw_admin_sasdef_json(&d, 1);
    vault_sasdef_dispose(&d);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    gw_http_send_json(req, existed ? 200 : 201, o);
    return 0;
}

/* DELETE /v1/accounts/{account}/sas-definitions/{name} */
static int on_delete(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policies.write", "sasdef.delete") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *name = gw_admin__param(match, "name");
    char object[160], err[256];
    if (check_names(&r, account, name, object, sizeof(object)) != 0)
        return 0;
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_sasdef_delete(v, &r.actor, account, name, NULL, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 1);
        return 0;
    }
    gw_http_send(req, 204, "application/json; charset=utf-8", "", 0);
    return 0;
}

int gw_admin__register_sasdefs(gw_server_t *server, gw_app_t *app)
{
    static const char base[] = "/v1/accounts/{account}/sas-definitions";
    static const char one[] = "/v1/accounts/{account}/sas-definitions/{name}";
    if (gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", base, on_list, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", one, on_get, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "PUT", one, on_put, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "DELETE", one, on_delete, app) != 0)
        return -1;
    return 0;
}
