/*
 * admin_policies.c - stored access policies per container in the admin API
 * (unlimited in number, unlike Azure's five):
 *   GET    /v1/accounts/{account}/containers/{container}/policies        policies.read
 *   GET    /v1/accounts/{account}/containers/{container}/policies/{id}   policies.read
 *   PUT    /v1/accounts/{account}/containers/{container}/policies/{id}   policies.write
 *          {start?, expiry?, permissions?}  (201 created, 200 replaced)
 *   DELETE /v1/accounts/{account}/containers/{container}/policies/{id}   policies.write (204)
 * After a write, {"type":"policies","account":A,"container":C} goes out on
 * sasgw:events so proxies reload that container's policies.
 */
#include <stdio.h>
#include <string.h>

#include "admin_internal.h"
#include "sasgw/revocation/plan.h"

/* {"account","container","id","start"?,"expiry"?,"permissions"} */
static json_t *policy_json(const vault_policy_t *p)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "account", p->account, "container", p->container, "id", p->id, "permissions",
                          p->permissions);
    if (p->start != 0)
        json_object_set_new(o, "start", gw_admin__time(p->start));
    if (p->expiry != 0)
        json_object_set_new(o, "expiry", gw_admin__time(p->expiry));
    return o;
}

/* Validates the route's names; sends 404 (audited) when one cannot exist. Fills object. Returns 0 or -1. */
static int check_names(gw_admin_req_t *r, const char *account, const char *container, const char *id, char *object, size_t cap)
{
    snprintf(object, cap, "%.24s/%.63s%s%.64s", account, container, id != NULL ? "/" : "", id != NULL ? id : "");
    if (!vault_valid_account_name(account) || !vault_valid_container_name(container) ||
        (id != NULL && !vault_valid_policy_id(id))) {
        gw_admin__refuse(r, 404, "not_found", "no such account, container or policy id", NULL, object);
        return -1;
    }
    return 0;
}

/* GET .../policies */
static int on_list(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policies.read", "policy.list") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *container = gw_admin__param(match, "container");
    char object[160], err[256];
    if (check_names(&r, account, container, NULL, object, sizeof(object)) != 0)
        return 0;
    vault_policy_t *list = NULL;
    size_t n = 0;
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_policy_list(v, account, container, &list, &n, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 0);
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, policy_json(&list[i]));
    vault_policy_list_free(list, n);
    gw_admin__audit(&r, object, "ok", NULL, NULL);
    gw_http_send_json(req, 200, json_pack("{s:o}", "policies", arr));
    return 0;
}

/* GET .../policies/{id} */
static int on_get(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policies.read", "policy.get") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *container = gw_admin__param(match, "container"),
               *id = gw_admin__param(match, "id");
    char object[224], err[256];
    if (check_names(&r, account, container, id, object, sizeof(object)) != 0)
        return 0;
    vault_policy_t p;
    vault_t *v = gw_app_vault_lock(r.app);
    int rc = vault_policy_get(v, account, container, id, &p, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc < 0) {
        gw_admin__vault_error(&r, (vault_err_t)rc, err, object, 0);
        return 0;
    }
    if (rc == 0) {
        gw_admin__refuse(&r, 404, "not_found", "there is no such stored access policy", NULL, object);
        return 0;
    }
    json_t *o = policy_json(&p);
    vault_policy_dispose(&p);
    gw_admin__audit(&r, object, "ok", NULL, NULL);
    gw_http_send_json(req, 200, o);
    return 0;
}

/* PUT .../policies/{id} */
static int on_put(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policies.write", "policy.put") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *container = gw_admin__param(match, "container"),
               *id = gw_admin__param(match, "id");
    char object[224], err[256];
    if (check_names(&r, account, container, id, object, sizeof(object)) != 0)
        return 0;
    json_t *body = gw_admin__read_json(&r, object);
    if (body == NULL)
        return 0;
    vault_policy_t p = {
        .account = (char *)(uintptr_t)account, .container = (char *)(uintptr_t)container, .id = (char *)(uintptr_t)id};
    gw_json_error_t e;
    int rc = gw_admin_parse_policy(body, &p, &e);
    json_decref(body);
    if (rc != 0) {
        gw_admin__bad_body(&r, &e, object);
        return 0;
    }
    vault_policy_t old;
    vault_t *v = gw_app_vault_lock(r.app);
    int existed = vault_policy_get(v, account, container, id, &old, err, sizeof(err));
    if (existed == 1)
        vault_policy_dispose(&old);
    rc = vault_policy_put(v, &r.actor, &p, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 1);
        return 0;
    }
    char event[256];
    int published = gw_admin__publish_event(&r, gw_event_policies(account, container, event, sizeof(event))) == 0;
    json_t *o = policy_json(&p);
    json_object_set_new(o, "event_published", json_boolean(published));
    gw_http_send_json(req, existed == 1 ? 200 : 201, o);
    return 0;
}

/* DELETE .../policies/{id} */
static int on_delete(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policies.write", "policy.delete") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *container = gw_admin__param(match, "container"),
               *id = gw_admin__param(match, "id");
    char object[224], err[256];
    if (check_names(&r, account, container, id, object, sizeof(object)) != 0)
        return 0;
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_policy_delete(v, &r.actor, account, container, id, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 1);
        return 0;
    }
    char event[256];
    gw_admin__publish_event(&r, gw_event_policies(account, container, event, sizeof(event)));
    gw_http_send(req, 204, "application/json; charset=utf-8", "", 0);
    return 0;
}

int gw_admin__register_policies(gw_server_t *server, gw_app_t *app)
{
    static const char base[] = "/v1/accounts/{account}/containers/{container}/policies";
    static const char one[] = "/v1/accounts/{account}/containers/{container}/policies/{id}";
    if (gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", base, on_list, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", one, on_get, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "PUT", one, on_put, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "DELETE", one, on_delete, app) != 0)
        return -1;
    return 0;
}
