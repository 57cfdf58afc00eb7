/*
 * kv_api.c - the Key Vault API's entry (keyvault.h): a handler at "/" of the
 * keyvault service that checks the api-version, authenticates the bearer JWT
 * (Key Vault's 401 challenge otherwise), routes, and hands over to the
 * secrets operations or the managed-storage hook (kv_internal.h).
 */
#include <stdio.h>
#include <string.h>

#include "kv_internal.h"
#include "kv_parse.h"
#include "kv_secrets.h"
#include "sasgw/keyvault.h"

struct kv_handler {
    h2o_handler_t super;
    gw_app_t *app;
};

/* The metrics label of an operation (a literal). */
static const char *route_label(kv_op_t op)
{
    switch (op) {
    case KV_OP_SECRET_SET:
    case KV_OP_SECRET_DELETE:
        return "/secrets/{name}";
    case KV_OP_SECRET_GET:
    case KV_OP_SECRET_UPDATE:
        return "/secrets/{name}/{version}";
    case KV_OP_SECRET_LIST:
        return "/secrets";
    case KV_OP_SECRET_VERSIONS:
        return "/secrets/{name}/versions";
    case KV_OP_SECRET_BACKUP:
        return "/secrets/{name}/backup";
    case KV_OP_SECRET_RESTORE:
        return "/secrets/restore";
    case KV_OP_DELETED_LIST:
        return "/deletedsecrets";
    case KV_OP_DELETED_GET:
    case KV_OP_DELETED_PURGE:
        return "/deletedsecrets/{name}";
    case KV_OP_DELETED_RECOVER:
        return "/deletedsecrets/{name}/recover";
    case KV_OP_STORAGE:
        return "/storage";
    default:
        return "unmatched";
    }
}

/*
 * Key Vault's refusal of an unauthenticated request: 401 with the challenge
 * the SDKs parse (authorization: where to get a token; resource: what to ask
 * it for, also the audience required), or 429 when the client is past its
 * failed attempts.
 */
static void on_auth_refused(h2o_req_t *req, int status, const char *message, unsigned retry_after, void *data)
{
    gw_app_t *app = data;
    const gw_config_t *conf = gw_app_config(app);
    if (status == 429) {
        char value[16];
        int n = snprintf(value, sizeof(value), "%u", retry_after);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, h2o_strdup(&req->pool, value, (size_t)n).base,
                       (size_t)n);
        kv_send_error_req(req, 429, "Throttled", message, NULL);
        return;
    }
    const char *authorization = conf->keyvault.authorization;
    policy_t *policy = NULL;
    if (authorization == NULL) {
        policy = gw_app_policy(app);
        authorization = policy_jwt_issuer_url(policy, 0);
        if (authorization == NULL)
            authorization = conf->keyvault.public_url;
    }
    /* issuer URLs come from policy.yaml; a quote or backslash in one would break the header: leave it out then */
    char header[1200];
    int ok = strpbrk(authorization, "\"\\\r\n") == NULL;
    int n = snprintf(header, sizeof(header), "Bearer authorization=\"%s\", resource=\"%s\"", ok ? authorization : "",
                     conf->keyvault.audience);
    if (n > 0 && (size_t)n < sizeof(header))
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       h2o_strdup(&req->pool, header, (size_t)n).base, (size_t)n);
    policy_release(policy);
    kv_send_error_req(req, 401, "Unauthorized", message, NULL);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct kv_handler *h = (struct kv_handler *)self;
    gw_app_t *app = h->app;
    char err[320];
    kv_query_t query;
    kv_route_t route;

    gw_http_request_id(req);
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *q = req->query_at != SIZE_MAX ? req->path.base + req->query_at + 1 : NULL;
    size_t qlen = req->query_at != SIZE_MAX ? req->path.len - req->query_at - 1 : 0;

    /* the api-version first: a client learns which versions this vault speaks before anything else */
    if (kv_parse_query(q, qlen, &query, err, sizeof(err)) != 0) {
        gw_http_set_route_label(req, "unmatched");
        kv_send_error_req(req, 400, "BadParameter", err, NULL);
        return 0;
    }
    kv_route_result_t rr = kv_parse_route(req->method.base, req->method.len, req->path.base, path_len, &route);
    gw_http_set_route_label(req, route_label(rr == KV_ROUTE_OK || rr == KV_ROUTE_BAD_NAME ? route.op : KV_OP_NONE));

    /* then the caller: a bearer JWT for the vault's audience */
    policy_t *policy = NULL;
    const gw_config_t *conf = gw_app_config(app);
    const policy_principal_t *principal =
        gw_app_authenticate_bearer(app, req, conf->keyvault.audience, on_auth_refused, app, &policy);
    if (principal == NULL)
        return 0;

    switch (rr) {
    case KV_ROUTE_OK:
        break;
    case KV_ROUTE_NOT_FOUND:
        kv_send_error_req(req, 404, "NotFound", "no such resource in this vault", NULL);
        return 0;
    case KV_ROUTE_METHOD_NOT_ALLOWED:
        kv_send_error_req(req, 405, "MethodNotAllowed", "the method is not allowed on this resource", NULL);
        return 0;
    default:
        kv_send_error_req(req, 400, "BadParameter",
                          "a secret name is 1 to 127 letters, digits and dashes; a version 1 to 64 letters and digits", NULL);
        return 0;
    }

    kv_ctx_t *ctx = h2o_mem_alloc_pool(&req->pool, sizeof(*ctx));
    memset(ctx, 0, sizeof(*ctx));
    ctx->req = req;
    ctx->app = app;
    ctx->principal = principal;
    ctx->policy = policy;
    ctx->principal_name = policy_principal_name(principal);
    ctx->api_version = h2o_strdup(&req->pool, query.api_version, SIZE_MAX).base;
    ctx->public_url = conf->keyvault.public_url;
    gw_app_actor(app, req, ctx->principal_name, &ctx->actor);

    if (route.op == KV_OP_STORAGE) {
        if (!kv_storage_route(ctx, req->path.base, path_len))
            kv_send_error(ctx, 404, "NotFound", "no such resource in this vault");
        return 0;
    }
    if (route.op == KV_OP_SECRET_GET && kv_storage_secret_get(ctx, route.name, strlen(route.name)))
        return 0;
    kv_secrets_serve(ctx, &route, &query);
    return 0;
}

/* The keyvault service's hostconf: one handler at "/" (the server's route table is not used there). */
static int on_setup(gw_server_t *server, gw_service_t service, h2o_hostconf_t *hostconf, void *data, char *err, size_t errlen)
{
    if (service != GW_SERVICE_KEYVAULT)
        return 0;
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    struct kv_handler *h = (struct kv_handler *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->app = data;
    return 0;
}

int gw_keyvault_register(gw_server_t *server, gw_app_t *app)
{
    if (!gw_server_config(server)->keyvault.enabled)
        return -1;
    gw_server_on_setup(server, on_setup, app);
    return 0;
}
