/*
 * admin_audit.c - the audit tail and the policy reload in the admin API:
 *   GET  /v1/audit?limit=N           audit.read     the last N records (default 100, at most 1000), oldest first
 *   POST /v1/admin/reload-policy     policy.reload  loads the policy file again; a bad file answers 422 with the
 *                                                   loader's message and the policy in force stays
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"

#define AUDIT_TAIL_DEFAULT 100
#define AUDIT_TAIL_MAX 1000

/* GET /v1/audit?limit=N */
static int on_tail(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "audit.read", "audit.read") != 0)
        return 0;
    size_t limit = AUDIT_TAIL_DEFAULT;
    h2o_iovec_t v;
    int rc = gw_http_query_param(req, "limit", &v);
    if (rc < 0) {
        gw_admin__refuse(&r, 400, "invalid_query", "the query string is malformed", NULL, "audit");
        return 0;
    }
    if (rc == 1) {
        char *end;
        unsigned long n = strtoul(v.base, &end, 10);
        if (v.len == 0 || *end != '\0' || v.base[0] < '0' || v.base[0] > '9' || n < 1 || n > AUDIT_TAIL_MAX) {
            gw_admin__refuse(&r, 400, "invalid_query", "limit must be a number from 1 to 1000", "limit", "audit");
            return 0;
        }
        limit = n;
    }

    const gw_config_t *conf = gw_app_config(r.app);
    char *fallback = conf->audit.path == NULL ? vault_audit_default_path(conf->vault.path) : NULL;
    const char *path = conf->audit.path != NULL ? conf->audit.path : fallback;
    char **lines = NULL, err[256];
    size_t count = 0;
    /* Read before the record of this read is written, so the answer shows what existed when asked. */
    rc = vault_audit_tail(path, limit, &lines, &count, err, sizeof(err));
    free(fallback);
    if (rc != 0) {
        gw_admin__refuse(&r, 500, "audit_unavailable", err, NULL, "audit");
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        json_t *rec = json_loads(lines[i], JSON_REJECT_DUPLICATES, NULL);
        json_array_append_new(arr, rec != NULL ? rec : json_string(lines[i]));
    }
    vault_audit_lines_free(lines, count);
    gw_admin__audit(&r, "audit", "ok", NULL, NULL);
    gw_http_send_json(req, 200, arr);
    return 0;
}

/* POST /v1/admin/reload-policy */
static int on_reload(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "policy.reload", "policy.reload") != 0)
        return 0;
    const char *file = gw_app_config(r.app)->policy;
    char err[512];
    if (gw_app_reload_policy(r.app, err, sizeof(err)) != 0) {
        char msg[600];
        snprintf(msg, sizeof(msg), "the policy was not reloaded (the previous one stays in force): %s", err);
        gw_admin__refuse(&r, 422, "invalid_policy", msg, NULL, file);
        return 0;
    }
    gw_admin__audit(&r, file, "ok", NULL, NULL);
    gw_http_send_json(req, 200, json_pack("{s:b,s:s}", "reloaded", 1, "policy", file));
    return 0;
}

int gw_admin__register_audit(gw_server_t *server, gw_app_t *app)
{
    if (gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", "/v1/audit", on_tail, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/admin/reload-policy", on_reload, app) != 0)
        return -1;
    return 0;
}
