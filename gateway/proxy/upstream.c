/*
 * upstream.c - connections to the backends and their per-worker pool, and the
 * request head both fronts forward (upstream.h).
 */
#include "upstream.h"
#include "resign.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

ssize_t gw_relay_find_backend(struct gw_relay *relay, const char *account)
{
    for (size_t i = 0; i != relay->num_backends; i++)
        if (strcmp(relay->backends[i].account, account) == 0)
            return (ssize_t)i;
    return -1;
}

void gw_upstream_destroy(struct gw_upstream *up)
{
    if (up->getaddr != NULL)
        h2o_hostinfo_getaddr_cancel(up->getaddr);
    if (h2o_timeout_is_linked(&up->idle_timeout))
        h2o_timeout_unlink(&up->idle_timeout);
    if (h2o_linklist_is_linked(&up->link)) {
        h2o_linklist_unlink(&up->link);
        up->rt->num_idle[up->backend]--;
    }
    if (up->sock != NULL)
        h2o_socket_close(up->sock);
    free(up);
}

static void on_idle_timeout(h2o_timeout_entry_t *entry)
{
    gw_upstream_destroy(H2O_STRUCT_FROM_MEMBER(struct gw_upstream, idle_timeout, entry));
}

void gw_upstream_on_idle_read(h2o_socket_t *sock, const char *err)
{
    gw_upstream_destroy(sock->data);
}

void gw_upstream_release(struct gw_upstream *up)
{
    struct gw_relay_thread *rt = up->rt;
    up->owner = NULL;
    up->ops = NULL;
    up->idle_timeout.cb = on_idle_timeout;
    if (up->sock == NULL || up->sock->input->size != 0 || rt->num_idle[up->backend] >= GW_UPSTREAM_POOL_MAX || rt->shutting_down) {
        gw_upstream_destroy(up);
        return;
    }
    h2o_linklist_insert(&rt->idle[up->backend], &up->link);
    rt->num_idle[up->backend]++;
    h2o_timeout_link(rt->loop, &rt->pool_timeout, &up->idle_timeout);
    h2o_socket_read_start(up->sock, gw_upstream_on_idle_read);
}

static void on_upstream_handshake(h2o_socket_t *sock, const char *err)
{
    struct gw_upstream *up = sock->data;
    if (err != NULL)
        up->ops->on_failed(up->owner);
    else
        up->ops->on_ready(up->owner);
}

static void on_upstream_connect(h2o_socket_t *sock, const char *err)
{
    struct gw_upstream *up = sock->data;
    struct gw_backend *b = &up->rt->relay->backends[up->backend];
    if (err != NULL) {
        up->ops->on_failed(up->owner);
        return;
    }
    if (b->up.tls) {
        h2o_socket_ssl_handshake(sock, up->rt->relay->client_ssl, b->up.host, on_upstream_handshake);
        return;
    }
    up->ops->on_ready(up->owner);
}

static void upstream_connect_to(struct gw_upstream *up, struct sockaddr *sa, socklen_t len)
{
    h2o_socket_t *sock = h2o_socket_connect(up->rt->loop, sa, len, on_upstream_connect);
    if (sock == NULL) {
        up->ops->on_failed(up->owner);
        return;
    }
    int rcvbuf = GW_UPSTREAM_SOCKET_RCVBUF;
    setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    up->sock = sock;
    sock->data = up;
}

static void on_upstream_getaddr(h2o_hostinfo_getaddr_req_t *req, const char *errstr, struct addrinfo *res, void *data)
{
    struct gw_upstream *up = data;
    up->getaddr = NULL;
    if (errstr != NULL || res == NULL) {
        up->ops->on_failed(up->owner);
        return;
    }
    struct addrinfo *ai = h2o_hostinfo_select_one(res);
    upstream_connect_to(up, ai->ai_addr, ai->ai_addrlen);
}

void gw_upstream_start(struct gw_relay_thread *rt, size_t bi, int fresh, void *owner, const struct gw_upstream_ops *ops,
                       struct gw_upstream **slot)
{
    struct gw_backend *b = &rt->relay->backends[bi];
    struct gw_upstream *up;

    if (!fresh && !h2o_linklist_is_empty(&rt->idle[bi])) {
        up = H2O_STRUCT_FROM_MEMBER(struct gw_upstream, link, rt->idle[bi].prev);
        h2o_linklist_unlink(&up->link);
        rt->num_idle[bi]--;
        h2o_timeout_unlink(&up->idle_timeout);
        up->reused = 1;
        up->owner = owner;
        up->ops = ops;
        *slot = up;
        ops->on_ready(owner);
        return;
    }
    up = sg_calloc(1, sizeof(*up));
    up->rt = rt;
    up->backend = bi;
    up->owner = owner;
    up->ops = ops;
    up->idle_timeout.cb = on_idle_timeout;
    *slot = up;
    if (b->addrlen != 0) {
        upstream_connect_to(up, (struct sockaddr *)&b->addr, b->addrlen);
        return;
    }
    up->getaddr = h2o_hostinfo_getaddr(&gw_thread_context(rt->thread)->receivers.hostinfo_getaddr,
                                       h2o_iovec_init(b->up.host, strlen(b->up.host)),
                                       h2o_iovec_init(b->up.port_text, strlen(b->up.port_text)), AF_UNSPEC, SOCK_STREAM,
                                       IPPROTO_TCP, AI_ADDRCONFIG | AI_NUMERICSERV, on_upstream_getaddr, up);
}

size_t gw_upstream_add_lines(char *buf, size_t len, size_t cap, const char *lines, size_t lines_len)
{
    if (len < 4 || len + lines_len > cap)
        return 0;
    memcpy(buf + len - 2, lines, lines_len);
    memcpy(buf + len - 2 + lines_len, "\r\n", 2);
    return len + lines_len;
}

size_t gw_upstream_request_head(const struct gw_backend *b, const gw_http1_head_t *h, const gw_proxy_decision_t *d,
                                const char *peer_text, int is_https, int64_t now, char **out, int *resign_rc)
{
    *resign_rc = GW_RESIGN_OK;
    size_t cap = 2 * h->head_len + b->prefix_len + d->forward_path_len + strlen(b->up.authority) + INET6_ADDRSTRLEN + 256;
    char *head = sg_alloc(cap);
    size_t len = gw_http1_write_upstream_request(head, cap, h, b->up.path, b->prefix_len, d->forward_path, d->forward_path_len,
                                                 b->up.authority, peer_text, is_https);
    if (len != 0 && d->add_if_none_match)
        len = gw_upstream_add_lines(head, len, cap, H2O_STRLIT("if-none-match: *\r\n"));
    /* resign: Shared Key over exactly these bytes (replaces head) */
    if (len != 0 && d->account->mode == GW_ACCOUNT_RESIGN && (*resign_rc = gw_resign_finish(d, &head, &len, now)) != GW_RESIGN_OK)
        len = 0;
    if (len == 0) {
        free(head);
        head = NULL;
    }
    *out = head;
    return len;
}

char *gw_upstream_overrides(const gw_proxy_decision_t *d, size_t *len)
{
    size_t n = 0;
    *len = 0;
    if (d->num_overrides == 0)
        return NULL;
    for (size_t i = 0; i != d->num_overrides; i++)
        n += strlen(d->overrides[i].name) + 2 + d->overrides[i].value_len + 2;
    char *lines = sg_alloc(n + 1);
    for (size_t i = 0; i != d->num_overrides; i++)
        *len += (size_t)sprintf(lines + *len, "%s: %.*s\r\n", d->overrides[i].name, (int)d->overrides[i].value_len,
                                d->overrides[i].value);
    return lines;
}

int gw_upstream_is_overridden(const char *overrides, size_t overrides_len, const char *name, size_t len)
{
    for (const char *l = overrides; l != NULL && l < overrides + overrides_len;) {
        const char *colon = strchr(l, ':');
        if ((size_t)(colon - l) == len && strncasecmp(l, name, len) == 0)
            return 1;
        l = strstr(l, "\r\n") + 2;
    }
    return 0;
}

/* X-Forwarded-For of the head, every occurrence joined by ", " (unknown when too long: a hop that does not parse). */
static void join_xff(struct gw_relay_thread *rt, const gw_http1_head_t *h, const char **out, size_t *out_len)
{
    size_t n = 0;
    int found = 0;
    *out = NULL;
    *out_len = 0;
    for (size_t i = 0; i != h->num_headers; i++) {
        const struct phr_header *hd = h->headers + i;
        if (!h2o_lcstris(hd->name, hd->name_len, H2O_STRLIT("x-forwarded-for")))
            continue;
        if (n + 2 + hd->value_len >= sizeof(rt->xff)) {
            *out = "?";
            *out_len = 1;
            return;
        }
        if (found) {
            memcpy(rt->xff + n, ", ", 2);
            n += 2;
        }
        memcpy(rt->xff + n, hd->value, hd->value_len);
        n += hd->value_len;
        found = 1;
    }
    if (found) {
        *out = rt->xff;
        *out_len = n;
    }
}

ssize_t gw_upstream_decide(struct gw_relay_thread *rt, const gw_http1_head_t *h, int is_https, const struct sockaddr_storage *peer,
                           socklen_t peerlen)
{
    struct gw_relay *relay = rt->relay;
    /* decide */
    gw_proxy_env_t env;
    if (rt->fixed_env != NULL)
        env = *rt->fixed_env;
    else
        gw_proxy_thread_env(relay->proxy, rt->thread, &env);
    gw_proxy_request_t pr = {.method = h->method,
                             .method_len = h->method_len,
                             .path = h->target,
                             .path_len = h->target_len,
                             .is_https = is_https,
                             .peer = peerlen != 0 ? (const struct sockaddr *)peer : NULL,
                             .headers = h->headers,
                             .num_headers = h->num_headers};
    join_xff(rt, h, &pr.xff, &pr.xff_len);
    gw_proxy_decision_t *d = &rt->decision;
    ssize_t bi = -1;
    if (gw_proxy_decide(&env, &pr, d, rt->fwd, sizeof(rt->fwd)) == GW_PROXY_FORWARD &&
        (bi = gw_relay_find_backend(relay, d->account->name)) < 0) {
        d->verdict = GW_PROXY_REFUSE;
        d->status = 404;
        d->code = "ResourceNotFound";
        snprintf(d->err.message, sizeof(d->err.message), "no storage account is routed at this path");
        d->sts_len = 0;
    }
    return d->verdict == GW_PROXY_FORWARD ? bi : -1;
}
