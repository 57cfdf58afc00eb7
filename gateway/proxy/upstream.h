/*
 * upstream.h - the proxy's side towards the backends, shared by both client
 * fronts: the HTTP/1.1 relay (relay.c) and the HTTP/2 streams (h2.c).
 *
 *   - the relay of a server (struct gw_relay): the routed accounts' backends,
 *     the TLS context towards https backends, the configuration;
 *   - per worker thread (struct gw_relay_thread): the loop's timeouts, the
 *     idle pool of upstream connections per backend (HTTP/1.1 keep-alive, no
 *     locks, never re-registered), the client connections of both fronts,
 *     and scratch for the one request being decided at a time;
 *   - an upstream connection (struct gw_upstream): connected (resolving,
 *     TCP, TLS) or taken from the pool for one exchange of one owner (a
 *     relay connection or an HTTP/2 stream), and handed back to the pool
 *     when its exchange ended cleanly;
 *   - the request head written upstream, built by one function for both
 *     fronts (gw_upstream_request_head()).
 *
 * The owner reads and writes the upstream socket itself (h2o_socket_read_start,
 * h2o_socket_write with its own callbacks; up->sock->data is the upstream).
 */
#ifndef SASGW_GATEWAY_UPSTREAM_H
#define SASGW_GATEWAY_UPSTREAM_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/socket.h>

#include "http1.h"
#include "proxy.h"
#include "sasgw/core/server.h"

#define GW_UPSTREAM_CLIENT_TIMEOUT_MS 10000 /* a request head, an idle client connection, a TLS handshake */
#define GW_UPSTREAM_POOL_IDLE_MS 2000       /* an idle upstream connection (below node's and nginx's keep-alive defaults) */
#define GW_UPSTREAM_LINGER_MS 2000
#define GW_UPSTREAM_POOL_MAX 64 /* idle upstream connections per backend and worker */
/*
 * Receive buffer of the sockets bodies are read from. h2o's read loop reads
 * until the socket is empty, growing the input buffer as it goes, so what one
 * read callback holds is bounded by the kernel's buffer: left to autotuning
 * (up to tcp_rmem's 6 MiB, doubled) a fast upload holds tens of MiB per
 * connection. 1 MiB keeps it to a few MiB and still allows ~40 MB/s per
 * connection at 50 ms of round trip.
 */
#define GW_UPSTREAM_SOCKET_RCVBUF (1024 * 1024)

struct gw_backend {
    char *account;
    gw_backend_t up; /* up.host for connect() and SNI, up.authority as Host, up.path as the prefix */
    size_t prefix_len;
    struct sockaddr_storage addr; /* when up.host is numeric (addrlen != 0) */
    socklen_t addrlen;
};

struct gw_relay {
    gw_server_t *server;
    gw_proxy_t *proxy;
    const gw_config_t *conf;
    struct gw_backend *backends;
    size_t num_backends;
    SSL_CTX *client_ssl; /* for https backends */
    size_t module_slot;
    size_t threads_alive; /* the last worker to stop frees the relay */
    pthread_mutex_t lock;
};

struct gw_relay_thread {
    struct gw_relay *relay;
    gw_thread_t *thread;
    h2o_evloop_t *loop;
    h2o_timeout_t client_timeout, io_timeout, pool_timeout, linger_timeout;
    h2o_linklist_t *idle; /* per backend: struct gw_upstream, most recently used last */
    size_t *num_idle;
    h2o_linklist_t conns;    /* every HTTP/1.1 client connection of this worker (relay.c) */
    h2o_linklist_t h2_conns; /* every HTTP/2 client connection of this worker (h2.c) */
    int shutting_down;
    /* scratch for the request being decided (one at a time on a loop) */
    gw_http1_head_t head;
    char fwd[GW_HTTP1_MAX_HEAD + 1];
    char xff[4096];
    gw_proxy_decision_t decision;
    const gw_proxy_env_t *fixed_env; /* tests and fuzz_h2: the decision's environment instead of the worker's (NULL) */
};

/* What an owner is told while its upstream connection is being set up. */
struct gw_upstream_ops {
    void (*on_ready)(void *owner);  /* connected (and handshaken), or taken from the pool */
    void (*on_failed)(void *owner); /* resolving, connecting or the TLS handshake failed: the owner closes it */
};

struct gw_upstream {
    h2o_socket_t *sock; /* NULL while resolving */
    struct gw_relay_thread *rt;
    size_t backend;
    void *owner; /* NULL while idle in the pool */
    const struct gw_upstream_ops *ops;
    h2o_hostinfo_getaddr_req_t *getaddr;
    h2o_linklist_t link;
    h2o_timeout_entry_t idle_timeout;
    int reused; /* taken from the pool */
};

/* The index of the account's backend, or -1 when the account is not routed. */
ssize_t gw_relay_find_backend(struct gw_relay *relay, const char *account);

/*
 * Decides the request h (a client's head, HTTP/1.1 as parsed or HTTP/2 as
 * translated) with gw_proxy_decide(): the worker's environment, X-Forwarded-For
 * joined over every occurrence, the peer (peerlen 0: unknown). Returns the
 * index of the backend to forward to, or -1 with rt->decision refused (404
 * ResourceNotFound for an account without a backend).
 */
ssize_t gw_upstream_decide(struct gw_relay_thread *rt, const gw_http1_head_t *h, int is_https, const struct sockaddr_storage *peer,
                           socklen_t peerlen);

/*
 * An upstream connection to backend bi for owner, stored in *slot before any
 * callback runs: from the pool unless fresh, else resolved and connected.
 * ops->on_ready or ops->on_failed follows, maybe before this returns (from
 * the pool: always).
 */
void gw_upstream_start(struct gw_relay_thread *rt, size_t bi, int fresh, void *owner, const struct gw_upstream_ops *ops,
                       struct gw_upstream **slot);

/* Closes an upstream connection (in any state; cancels resolving). */
void gw_upstream_destroy(struct gw_upstream *up);

/* Hands a connection whose exchange ended cleanly back to the idle pool (or closes it when it cannot be reused). */
void gw_upstream_release(struct gw_upstream *up);

/* The read callback of idle pooled connections: anything arriving is the backend closing. */
void gw_upstream_on_idle_read(h2o_socket_t *sock, const char *err);

/*
 * The request head forwarded to backend b, for both fronts: h (the client's
 * head, HTTP/1.1 as parsed or HTTP/2 as translated) written by
 * gw_http1_write_upstream_request() with the decision's forward path, then
 * what the decision adds (If-None-Match: * for a create-only write), and for a
 * `resign` account x-ms-date, x-ms-version and Shared Key over those bytes
 * (resign.h; now: unix seconds). Returns its length and *out (malloc'd, the
 * caller frees), or 0 (and *out NULL) when it does not fit or cannot be
 * written (answer 431), or, *resign_rc then not GW_RESIGN_OK, cannot be
 * authorized upstream (refuse with gw_resign_refuse()).
 */
size_t gw_upstream_request_head(const struct gw_backend *b, const gw_http1_head_t *h, const gw_proxy_decision_t *d,
                                const char *peer_text, int is_https, int64_t now, char **out, int *resign_rc);

/*
 * Origin mode: the decision's signed response headers as "name: value\r\n"
 * lines (malloc'd, *len bytes), NULL when it has none (d is per thread, the
 * exchange outlives it).
 */
char *gw_upstream_overrides(const gw_proxy_decision_t *d, size_t *len);

/* 1 when the response header name (len bytes, any case) is one of the override lines. */
int gw_upstream_is_overridden(const char *overrides, size_t overrides_len, const char *name, size_t len);

/*
 * Adds header lines (each ending in CRLF) at the end of a written head (len
 * bytes, ending in the blank line) in buf of cap bytes. Returns the new
 * length, or 0 when they do not fit.
 */
size_t gw_upstream_add_lines(char *buf, size_t len, size_t cap, const char *lines, size_t lines_len);

/* ---- the HTTP/2 front (h2.c) ---- */

/*
 * Serves an HTTP/2 connection accepted on a proxy listener: sock is
 * handshaken (ALPN h2) or cleartext with the client's preface in its input.
 * peer (peerlen bytes, 0: unknown) is the client's address.
 */
void gw_h2_accept(struct gw_relay_thread *rt, h2o_socket_t *sock, int is_https, const struct sockaddr_storage *peer,
                  socklen_t peerlen);
/* Graceful shutdown began: GOAWAY on every HTTP/2 connection; they close when their streams are done. */
void gw_h2_shutdown(struct gw_relay_thread *rt);
/* Closes every HTTP/2 connection of the worker now. */
void gw_h2_close_all(struct gw_relay_thread *rt);

#endif
