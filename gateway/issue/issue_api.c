/*
 * issue_api.c - POST /v1/sas and POST /v1/sas/account (see issue_api.h): reads
 * the body and hands it to the shared mint (sasgw/revocation/issuance.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"
#include "sasgw/core/http.h"
#include "sasgw/issue.h"
#include "sasgw/revocation/issuance.h"
#include "sas_request.h"
#include "sasgw/signer.h"

struct issue_api;

struct route {
    struct issue_api *api;
    gw_sas_request_kind_t kind;
};

/* Registered once per server and kept for the life of the process (routes hold pointers into it). */
struct issue_api {
    gw_app_t *app;
    gw_issuance_t *issuance;
    struct route routes[2];
};

/* Lives in req->pool: the running mint, cancelled when the request is gone. */
struct req_guard {
    h2o_req_t *req;
    gw_mint_t *mint; /* NULL once answered */
};

/* ------------------------------------------------------------------ answering */

static void on_req_gone(void *p)
{
    struct req_guard *guard = p;
    if (guard->mint != NULL)
        gw_mint_cancel(guard->mint);
}

/* Sends a refusal: {"error":{code, message, field?}}, or with the policy rule that refused. */
static void send_refusal(h2o_req_t *req, const gw_mint_result_t *res)
{
    if (res->rule == NULL) {
        gw_http_send_error(req, res->status, res->code, res->message, res->field);
        return;
    }
    json_t *err = json_pack("{s:s,s:s,s:s}", "code", res->code, "message", res->message, "rule", res->rule);
    if (res->field != NULL)
        json_object_set_new(err, "field", json_string(res->field));
    gw_http_send_json(req, res->status, json_pack("{s:o}", "error", err));
}

/* The mint's outcome: 201 {token, url, token_id, expires_on, key} or its refusal. On the request's loop. */
static void on_minted(const gw_mint_result_t *res, void *data)
{
    struct req_guard *guard = data;
    h2o_req_t *req = guard->req;
    guard->mint = NULL;
    if (res->status != 201) {
        send_refusal(req, res);
        return;
    }
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s}", "token", res->token, "url", res->url, "token_id", res->token_id, "expires_on",
                             res->expires_on, "key", res->key);
    char *text = json_dumps(body, JSON_COMPACT);
    size_t len = strlen(text);
    json_decref(body);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    gw_http_send(req, 201, "application/json; charset=utf-8", text, len);
    sg_free_secret(text, len);
}

/* ------------------------------------------------------------------ the handler */

/* The parsed body as the shared mint's request (strings borrowed from r). */
static void to_mint_request(const gw_sas_request_t *r, gw_sas_request_kind_t kind, gw_mint_request_t *m)
{
    *m = (gw_mint_request_t){.kind = kind == GW_SAS_REQUEST_SERVICE ? GW_MINT_SERVICE : GW_MINT_ACCOUNT,
                             .account = r->account,
                             .ip = r->ip,
                             .protocol = r->protocol,
                             .permissions = r->permissions,
                             .start = r->start,
                             .expiry = r->expiry,
                             .start_given = r->start_given,
                             .ttl = r->ttl};
    if (kind == GW_SAS_REQUEST_SERVICE) {
        m->container = r->container;
        m->blob = r->blob;
        m->snapshot = r->snapshot;
        m->version_id = r->version_id;
        m->policy = r->policy;
        m->cache_control = r->response_headers.cache_control;
        m->content_disposition = r->response_headers.content_disposition;
        m->content_encoding = r->response_headers.content_encoding;
        m->content_language = r->response_headers.content_language;
        m->content_type = r->response_headers.content_type;
    } else {
        m->services = r->services;
        m->resource_types = r->resource_types;
    }
}

static int on_mint(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    struct route *route = data;
    struct issue_api *api = route->api;
    gw_app_t *app = api->app;
    const gw_config_t *conf = gw_app_config(app);
    gw_sas_request_t r;
    gw_sas_request_error_t perr;
    sas_time_t now = sas_time_now();
    (void)match;

    /* who asks */
    const policy_principal_t *principal = gw_app_authenticate(app, req, NULL);
    if (principal == NULL)
        return 0;
    char client[INET6_ADDRSTRLEN + 1];
    if (gw_http_client_address(req, conf, NULL, client, sizeof(client)) != 0)
        client[0] = '\0';
    gw_mint_caller_t who = {
        .thread = gw_thread_of(req), .principal = principal, .client = client, .request_id = gw_http_request_id(req).base};

    /* what is asked */
    json_t *body = gw_http_read_json(req, conf->issuer.max_body);
    if (body == NULL) {
        gw_issuance_refuse_invalid(api->issuance, &who, NULL);
        return 0;
    }
    if (gw_sas_request_parse(&r, body, route->kind, now, conf->issuer.clock_skew, &perr) != 0) {
        gw_issuance_refuse_invalid(api->issuance, &who, perr.message);
        gw_http_send_error(req, 400, "invalid_request", perr.message, perr.field[0] != '\0' ? perr.field : NULL);
        json_decref(body);
        return 0;
    }

    /* the shared mint: decides, signs, indexes, audits, then answers through on_minted */
    gw_mint_request_t m;
    to_mint_request(&r, route->kind, &m);
    struct req_guard *guard = h2o_mem_alloc_shared(&req->pool, sizeof(*guard), on_req_gone);
    guard->req = req;
    guard->mint = NULL;
    gw_mint_t *mint = gw_issuance_mint(api->issuance, &who, &m, now, on_minted, guard);
    guard->mint = mint; /* NULL: answered already */
    json_decref(body);
    return 0;
}

/* ------------------------------------------------------------------ registration */

int gw_issue_api_register(gw_server_t *server, gw_app_t *app)
{
    struct issue_api *api = sg_calloc(1, sizeof(*api));
    api->app = app;
    api->issuance = gw_issuance_create(app, gw_server_metrics(server));
    api->routes[0] = (struct route){api, GW_SAS_REQUEST_SERVICE};
    api->routes[1] = (struct route){api, GW_SAS_REQUEST_ACCOUNT};
    if (gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/sas", on_mint, &api->routes[0]) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/sas/account", on_mint, &api->routes[1]) != 0)
        return -1;
    return 0;
}
