/*
 * h2.c - the proxy's HTTP/2 front (proxy.h): on the proxy's hostconf, the
 * path "/{account}" of every account of the keyring that has a backend, each
 * with [validation handler, h2o reverse proxy] and a filter that turns an
 * upstream timeout into 504 and applies origin mode's signed response headers;
 * last "/" whose handler refuses every request (unknown account) with Azure's
 * XML.
 *
 * These paths serve HTTP/2 only: every HTTP/1.1 connection on a proxy
 * listener is taken by the relay (relay.h), which streams bodies. h2o 2.2
 * reads an HTTP/2 request body whole before it runs the handlers (beyond
 * 32 MiB into an mmap'd temporary file, not the heap), so a large HTTP/2 PUT
 * is validated after it arrived and forwarded from that buffer. Responses
 * stream.
 */
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"
#include "sasgw/core/client_addr.h"
#include "sasgw/core/http.h"
#include "sasgw/core/tls.h"

#define ERROR_XML_MAX (2 * SAS_MAX_STS + 1024)
/* Prefix of the req->env names that carry a signed response header to on_setup_ostream(). */
#define OVERRIDE_ENV "sasgw-override:"

/* The validation handler of one account path ("/" when account is NULL: refuse all). */
struct validator {
    h2o_handler_t super;
    gw_proxy_t *proxy;
    char *account;
    gw_account_mode_t mode;
};

/* Turns h2o's "502 I/O timeout" from an upstream into 504. */
struct timeout_filter {
    h2o_filter_t super;
};

static void send_refusal(h2o_req_t *req, const gw_proxy_decision_t *d)
{
    char *body = h2o_mem_alloc_pool(&req->pool, ERROR_XML_MAX);
    size_t len =
        gw_proxy_error_xml(body, ERROR_XML_MAX, d->code, gw_proxy_error_message(d->code), d->err.message, d->sts, d->sts_len);
    req->res.status = d->status;
    req->res.reason = gw_http_reason(d->status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/xml"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-ms-error-code"), 0, NULL, d->code, strlen(d->code));
    if (d->status == 503)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    h2o_send_inline(req, body, len);
}

static int on_validate(h2o_handler_t *_self, h2o_req_t *req)
{
    struct validator *self = (struct validator *)_self;
    gw_proxy_t *proxy = self->proxy;
    struct sockaddr_storage peer;
    gw_proxy_decision_t d;
    gw_proxy_env_t env;

    gw_proxy_thread_env(proxy, gw_thread_of(req), &env);
    h2o_socket_t *sock = req->conn->callbacks->get_socket != NULL ? req->conn->callbacks->get_socket(req->conn) : NULL;
    socklen_t peerlen = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer);
    h2o_iovec_t xff = gw_client_addr_forwarded_for(req);
    gw_proxy_header_t *headers = h2o_mem_alloc_pool(&req->pool, sizeof(*headers) * (req->headers.size + 1));
    for (size_t i = 0; i != req->headers.size; i++)
        headers[i] = (gw_proxy_header_t){.name = req->headers.entries[i].name->base,
                                         .name_len = req->headers.entries[i].name->len,
                                         .value = req->headers.entries[i].value.base,
                                         .value_len = req->headers.entries[i].value.len};
    gw_proxy_request_t r = {.method = req->method.base,
                            .method_len = req->method.len,
                            .path = req->path.base,
                            .path_len = req->path.len,
                            .is_https = sock != NULL && sock->ssl != NULL,
                            .peer = peerlen != 0 ? (struct sockaddr *)&peer : NULL,
                            .xff = xff.base,
                            .xff_len = xff.len,
                            .headers = headers,
                            .num_headers = req->headers.size};

    gw_http_set_route_label(req, "/{account}");
    if (self->account == NULL) {
        /* "/": no backend for this account */
        gw_proxy_decision_t *dd = &d;
        dd->code = "ResourceNotFound";
        dd->status = 404;
        snprintf(dd->err.message, sizeof(dd->err.message), "no storage account is routed at this path");
        dd->sts_len = 0;
        send_refusal(req, dd);
        return 0;
    }
    if (req->entity.base != NULL && req->entity.len > proxy->conf->proxy.http2_max_body) {
        /* h2o's own limit (globalconf) is the issuer's max_body when that is larger */
        d.code = "RequestBodyTooLarge";
        d.status = 413;
        snprintf(d.err.message, sizeof(d.err.message), "the body is larger than proxy.http2_max_body (%zu bytes)",
                 proxy->conf->proxy.http2_max_body);
        d.sts_len = 0;
        gw_proxy_count_refusal(proxy, d.code);
        send_refusal(req, &d);
        return 0;
    }
    char *buf = NULL;
    size_t cap = 0;
    if (self->mode == GW_ACCOUNT_ORIGIN) {
        cap = req->path.len + 1;
        buf = h2o_mem_alloc_pool(&req->pool, cap);
    }
    if (gw_proxy_decide(&env, &r, &d, buf, cap) != GW_PROXY_FORWARD) {
        gw_proxy_count_refusal(proxy, d.code);
        send_refusal(req, &d);
        return 0;
    }
    if (strcmp(d.account->name, self->account) != 0) {
        /* cannot happen with h2o's prefix match; refuse rather than forward elsewhere */
        d.code = "InvalidUri";
        d.status = 400;
        snprintf(d.err.message, sizeof(d.err.message), "the path does not match the routed account");
        d.sts_len = 0;
        send_refusal(req, &d);
        return 0;
    }
    if (d.forward_path != req->path.base) {
        req->path = h2o_iovec_init(d.forward_path, d.forward_path_len);
        const char *qm = memchr(d.forward_path, '?', d.forward_path_len);
        req->query_at = qm != NULL ? (size_t)(qm - d.forward_path) : SIZE_MAX;
    }
    if (d.add_if_none_match)
        h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_IF_NONE_MATCH, NULL, H2O_STRLIT("*"));
    /* the signed response headers, for on_setup_ostream() (req->env: name, value pairs) */
    for (size_t i = 0; i != d.num_overrides; i++) {
        size_t nl = strlen(d.overrides[i].name);
        char *name = h2o_mem_alloc_pool(&req->pool, sizeof(OVERRIDE_ENV) - 1 + nl);
        memcpy(name, OVERRIDE_ENV, sizeof(OVERRIDE_ENV) - 1);
        memcpy(name + sizeof(OVERRIDE_ENV) - 1, d.overrides[i].name, nl);
        *h2o_req_getenv(req, name, sizeof(OVERRIDE_ENV) - 1 + nl, 1) =
            h2o_strdup(&req->pool, d.overrides[i].value, d.overrides[i].value_len);
    }
    return -1; /* on to h2o's reverse proxy */
}

/*
 * On the response from h2o's reverse proxy: a 502 caused by an upstream
 * timeout becomes 504, and in origin mode the signed response headers
 * (OVERRIDE_ENV entries of req->env) replace the origin's on a 2xx.
 */
static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    for (size_t i = 0; req->res.status >= 200 && req->res.status < 300 && i + 1 < req->env.size; i += 2) {
        h2o_iovec_t n = req->env.entries[i], v = req->env.entries[i + 1];
        if (n.len <= sizeof(OVERRIDE_ENV) - 1 || memcmp(n.base, OVERRIDE_ENV, sizeof(OVERRIDE_ENV) - 1) != 0)
            continue;
        const char *hn = n.base + sizeof(OVERRIDE_ENV) - 1;
        size_t hl = n.len - (sizeof(OVERRIDE_ENV) - 1);
        ssize_t at;
        while ((at = h2o_find_header_by_str(&req->res.headers, hn, hl, -1)) != -1)
            h2o_delete_header(&req->res.headers, at);
        h2o_add_header_by_str(&req->pool, &req->res.headers, hn, hl, 1, NULL, v.base, v.len);
    }
    if (req->res.status == 502) {
        for (size_t i = 0; i != req->error_logs.size; i++) {
            h2o_iovec_t m = req->error_logs.entries[i].msg;
            if (h2o_strstr(m.base, m.len, H2O_STRLIT("timeout")) != SIZE_MAX) {
                req->res.status = 504;
                req->res.reason = "Gateway Timeout";
                break;
            }
        }
    }
    h2o_setup_next_ostream(req, slot);
}

static int register_account(gw_proxy_t *proxy, h2o_hostconf_t *hostconf, const gw_keyring_account_t *a, char *err, size_t errlen)
{
    char path[96], upstream_path[2048];

    if (a->upstream == NULL) {
        snprintf(err, errlen, "account %s: the backend URL '%s' %s", a->name, a->backend, a->backend_error);
        return -1;
    }
    snprintf(path, sizeof(path), "/%s", a->name);
    /* the account's path is kept: /{account}/... is forwarded as {backend path}/{account}/... */
    h2o_url_t upstream = a->upstream->url;
    int n = snprintf(upstream_path, sizeof(upstream_path), "%s/%s", a->upstream->path, a->name);
    if (n < 0 || (size_t)n >= sizeof(upstream_path)) {
        snprintf(err, errlen, "account %s: the backend URL '%s' has too long a path", a->name, a->backend);
        return -1;
    }
    upstream.path = h2o_iovec_init(upstream_path, (size_t)n);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, path, 0);
    struct validator *v = (struct validator *)h2o_create_handler(pathconf, sizeof(*v));
    v->super.on_req = on_validate;
    v->proxy = proxy;
    v->account = h2o_mem_alloc(strlen(a->name) + 1);
    strcpy(v->account, a->name);
    v->mode = a->mode;

    h2o_proxy_config_vars_t pc = {0};
    pc.io_timeout = (uint64_t)proxy->conf->proxy.upstream_timeout * 1000;
    pc.keepalive_timeout = 2000;
    pc.preserve_host = 0;
    if (a->upstream->tls && (pc.ssl_ctx = gw_tls_backend_ctx(err, errlen)) == NULL) {
        snprintf(err, errlen, "account %s: cannot set up TLS towards its backend", a->name);
        return -1;
    }
    h2o_proxy_register_reverse_proxy(pathconf, &upstream, &pc); /* takes its own reference to the TLS context */
    if (pc.ssl_ctx != NULL)
        SSL_CTX_free(pc.ssl_ctx);
    struct timeout_filter *f = (struct timeout_filter *)h2o_create_filter(pathconf, sizeof(*f));
    f->super.on_setup_ostream = on_setup_ostream;
    pathconf->error_log.emit_request_errors = 0;
    fprintf(stderr, "sasgw: proxy: /%s -> %s (%s)\n", a->name, a->backend, a->mode == GW_ACCOUNT_ORIGIN ? "origin" : "passthrough");
    return 0;
}

static void on_validator_dispose(h2o_handler_t *_self)
{
    struct validator *self = (struct validator *)_self;
    free(self->account);
}

int gw_proxy_h2_on_setup(gw_server_t *server, gw_service_t service, h2o_hostconf_t *hostconf, void *data, char *err, size_t errlen)
{
    gw_proxy_t *proxy = data;
    if (service != GW_SERVICE_PROXY)
        return 0;
    gw_keyring_t *kr = gw_keyring_live_acquire(proxy->keyring);
    int ret = 0;
    for (size_t i = 0; i != gw_keyring_num_accounts(kr) && ret == 0; i++) {
        const gw_keyring_account_t *a = gw_keyring_account_at(kr, i);
        if (a->backend[0] == '\0') {
            fprintf(stderr, "sasgw: proxy: account %s has no backend: not routed\n", a->name);
            continue;
        }
        ret = register_account(proxy, hostconf, a, err, errlen);
    }
    gw_keyring_release(kr);
    for (size_t i = 0; i != hostconf->paths.size; i++) {
        h2o_pathconf_t *pc = hostconf->paths.entries + i;
        for (size_t j = 0; j != pc->handlers.size; j++)
            if (pc->handlers.entries[j]->on_req == on_validate)
                pc->handlers.entries[j]->dispose = on_validator_dispose;
    }
    if (ret != 0)
        return ret;
    /* everything else: unknown account */
    h2o_pathconf_t *root = h2o_config_register_path(hostconf, "/", 0);
    struct validator *v = (struct validator *)h2o_create_handler(root, sizeof(*v));
    v->super.on_req = on_validate;
    v->proxy = proxy;
    return 0;
}
