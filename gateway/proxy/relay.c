/*
 * relay.c - the streaming HTTP/1.1 proxy path (relay.h).
 *
 * A client connection (struct conn) runs one exchange at a time:
 *
 *   ST_HEAD   reading a request head (client_timeout, not reset by partial
 *             reads: a slow head is cut after it);
 *   ST_BODY   decided: forwarding (or, when refused, dropping) the request
 *             body, while the response comes back (io_timeout, reset by any
 *             progress either way);
 *   ST_LINGER the answer is out, the connection is closing: the write side is
 *             shut and whatever the client still sends is read and dropped for
 *             a moment, so a client busy uploading sees the response instead of
 *             a reset.
 *
 * Each direction has at most one write in flight and the side it reads from
 * pauses meanwhile: bytes are written straight out of the reading socket's
 * input buffer and consumed when the write completes (chunked bodies are
 * decoded in place and re-framed). Memory per exchange is thus bounded by
 * what one read returns.
 *
 * An upstream connection (struct gw_upstream) belongs to one exchange while it
 * runs and otherwise sits in its worker's idle pool for that backend, still
 * registered on the loop, watched for the backend closing it.
 */
#include "relay.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "sasgw/common.h"
#include "http1.h"
#include "resign.h"
#include "sasgw/core/tls.h"
#include "upstream.h"

#define CLIENT_TIMEOUT_MS GW_UPSTREAM_CLIENT_TIMEOUT_MS
#define POOL_IDLE_MS GW_UPSTREAM_POOL_IDLE_MS
#define LINGER_MS GW_UPSTREAM_LINGER_MS
#define DISCARD_MAX (4 * 1024 * 1024) /* body bytes a refused request may send on a kept connection */
#define LINGER_MAX (16 * 1024 * 1024) /* bytes read and dropped while lingering */
#define ROUTE_LABEL "/{account}"
#define COPY_MAX (16 * 1024) /* response pieces up to this size are copied, so the upstream keeps being read */
#define PAUSE_AT (64 * 1024) /* input a side may buffer while the other is busy before reading pauses */
#define SOCKET_RCVBUF GW_UPSTREAM_SOCKET_RCVBUF

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

struct conn;

enum conn_state { ST_HANDSHAKE, ST_PREFACE, ST_HEAD, ST_BODY, ST_LINGER };

/* What the write in flight to the client carries. */
enum client_write { CW_NONE, CW_CONTINUE, CW_LOCAL, CW_RESPONSE };

struct conn {
    h2o_socket_t *sock;
    struct gw_relay_thread *rt;
    h2o_accept_ctx_t *actx;
    struct timeval connected_at;
    h2o_linklist_t link;
    h2o_timeout_entry_t timeout;
    enum conn_state state;
    int is_https;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    char peer_text[INET6_ADDRSTRLEN];
    size_t lingered;

    /* the exchange */
    struct {
        struct timeval start;
        size_t backend;
        int is_head;
        int minor_version; /* the client's HTTP/1.x */
        int keepalive;     /* the client may send another request afterwards */
        gw_http1_body_t body;
        uint64_t remaining; /* LENGTH: bytes still to come */
        struct phr_chunked_decoder dec;
        int body_done; /* every body byte read (and handed to the upstream unless discarding) */
        int discard;   /* refused: the body is read and dropped */
        uint64_t discarded;
        int expect_continue;
        char *head; /* the head written upstream */
        size_t head_len;
        int head_written;
        int retried;
        /* origin mode: the signed response headers, as "name: value\r\n" lines (NULL: none), and which names they replace */
        char *overrides;
        size_t overrides_len;
    } req;
    struct {
        int status;
        int started; /* a head (upstream's or local) is on its way to the client */
        int local;   /* the response is sasgw's own */
        int done;    /* every byte of it handed to the client socket */
        int eof;     /* the upstream closed (end of a CLOSE-framed body) */
        gw_http1_body_t body;
        uint64_t remaining;
        struct phr_chunked_decoder dec;
        int chunked_out;
        int upstream_keepalive;
        char *head; /* the client's response head, or the whole local response */
        size_t head_len;
        int head_written;
    } res;
    char *copy; /* COPY_MAX bytes, for small response pieces */

    struct gw_upstream *up;
    int up_ready; /* connected (and handshaken) */

    /* writes in flight, and what to consume from the reading side when they complete */
    int up_writing;
    size_t up_consume, up_truncate;
    enum client_write cl_writing;
    size_t cl_consume, cl_truncate;
    int local_pending; /* a local response waits for the write in flight */
    char up_chunk[24], cl_chunk[24];
};

static void on_client_read(h2o_socket_t *sock, const char *err);
static void on_upstream_read(h2o_socket_t *sock, const char *err);
static void handle_head(struct conn *c);
static void pump_request(struct conn *c);
static void pump_response(struct conn *c);
static void maybe_finish(struct conn *c);
static void start_upstream(struct conn *c);
static void upstream_failed(struct conn *c, int is_timeout);

/* ---- small things ---- */

static void set_timeout(struct conn *c, h2o_timeout_t *t)
{
    if (h2o_timeout_is_linked(&c->timeout))
        h2o_timeout_unlink(&c->timeout);
    h2o_timeout_link(c->rt->loop, t, &c->timeout);
}

static void progress(struct conn *c)
{
    set_timeout(c, &c->rt->io_timeout);
}

/* Drops n bytes from the front of buf, then keeps only `keep` bytes when keep != SIZE_MAX. */
static void consume(h2o_buffer_t **buf, size_t n, size_t keep)
{
    if (n != 0)
        h2o_buffer_consume(buf, n);
    if (keep != SIZE_MAX && keep < (*buf)->size)
        (*buf)->size = keep;
}

static int64_t usec_since(struct timeval *start)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    return h2o_timeval_subtract(start, &now);
}

/* ---- upstream connections ---- */

static const struct gw_upstream_ops upstream_ops;

/* Detaches and closes the exchange's upstream connection (never pooled). */
static void close_upstream(struct conn *c)
{
    if (c->up != NULL) {
        c->up->owner = NULL;
        gw_upstream_destroy(c->up);
        c->up = NULL;
    }
    c->up_ready = 0;
    c->up_writing = 0;
}

/* Puts the exchange's upstream connection into the idle pool, or closes it when it cannot be reused. */
static void pool_put(struct conn *c)
{
    struct gw_upstream *up = c->up;
    c->up = NULL;
    c->up_ready = 0;
    gw_upstream_release(up);
}

static void upstream_ready(void *owner)
{
    struct conn *c = owner;
    c->up_ready = 1;
    progress(c);
    h2o_socket_read_start(c->up->sock, on_upstream_read);
    pump_request(c);
}

static void on_upstream_failed(void *owner)
{
    upstream_failed(owner, 0);
}

static const struct gw_upstream_ops upstream_ops = {upstream_ready, on_upstream_failed};

static void start_upstream(struct conn *c)
{
    c->req.head_written = 0;
    gw_upstream_start(c->rt, c->req.backend, c->req.retried, c, &upstream_ops, &c->up);
}

/* ---- client connections ---- */

static void conn_free(struct conn *c)
{
    close_upstream(c);
    if (h2o_timeout_is_linked(&c->timeout))
        h2o_timeout_unlink(&c->timeout);
    h2o_linklist_unlink(&c->link);
    free(c->req.head);
    free(c->req.overrides);
    free(c->res.head);
    free(c->copy);
    free(c);
}

static void close_conn(struct conn *c)
{
    h2o_socket_t *sock = c->sock;
    conn_free(c);
    h2o_socket_close(sock);
}

/* The answer is out but the client may still be sending: shut our side and drop what comes for a moment. */
static void linger(struct conn *c)
{
    close_upstream(c);
    c->state = ST_LINGER;
    c->lingered = 0;
    set_timeout(c, &c->rt->linger_timeout);
    if (c->sock->ssl == NULL)
        shutdown(h2o_socket_get_fd(c->sock), SHUT_WR);
    consume(&c->sock->input, c->sock->input->size, SIZE_MAX);
    h2o_socket_read_start(c->sock, on_client_read);
}

static void reset_exchange(struct conn *c)
{
    free(c->req.head);
    free(c->req.overrides);
    free(c->res.head);
    memset(&c->req, 0, sizeof(c->req));
    memset(&c->res, 0, sizeof(c->res));
    c->req.dec.consume_trailer = 1;
    c->res.dec.consume_trailer = 1;
    c->local_pending = 0;
}

static void count(struct conn *c)
{
    gw_server_count_request(c->rt->relay->server, GW_SERVICE_PROXY, ROUTE_LABEL, c->res.status, usec_since(&c->req.start));
}

static void on_client_written(h2o_socket_t *sock, const char *err);

static void client_write(struct conn *c, h2o_iovec_t *bufs, size_t n, enum client_write kind)
{
    assert(c->cl_writing == CW_NONE);
    c->cl_writing = kind;
    h2o_socket_write(c->sock, bufs, n, on_client_written);
}

/*
 * Answers with Azure's XML error (a refusal, a framing error, 502/504).
 * keepalive 0 closes the connection after it (lingering when the request's
 * body was not read through).
 */
static void send_local(struct conn *c, int status, const char *code, const char *message, const char *detail, int keepalive)
{
    char body[2 * SAS_MAX_STS + 1024];
    const gw_proxy_decision_t *d = &c->rt->decision;
    const char *sts = detail == d->err.message ? d->sts : NULL;
    size_t body_len = gw_proxy_error_xml(body, sizeof(body), code, message, detail, sts, sts != NULL ? d->sts_len : 0);

    if (!keepalive || c->rt->shutting_down)
        c->req.keepalive = 0;
    free(c->res.head);
    c->res.head = sg_alloc(body_len + 512);
    int n = snprintf(c->res.head, 512,
                     "HTTP/1.1 %d %s\r\ncontent-type: application/xml\r\nx-ms-error-code: %s\r\ncontent-length: %zu\r\n%s"
                     "connection: %s\r\n\r\n",
                     status, gw_http_reason(status), code, body_len, status == 503 ? "retry-after: 1\r\n" : "",
                     c->req.keepalive ? "keep-alive" : "close");
    c->res.head_len = (size_t)n;
    if (!c->req.is_head) {
        memcpy(c->res.head + n, body, body_len);
        c->res.head_len += body_len;
    }
    c->res.status = status;
    c->res.started = 1;
    c->res.local = 1;
    if (c->cl_writing != CW_NONE) {
        c->local_pending = 1;
        return;
    }
    h2o_iovec_t buf = h2o_iovec_init(c->res.head, c->res.head_len);
    client_write(c, &buf, 1, CW_LOCAL);
}

static void client_gone(struct conn *c)
{
    if (c->res.started && c->state == ST_BODY)
        count(c);
    close_conn(c);
}

/* ---- the request ---- */

static const char *framing_code(int status)
{
    switch (status) {
    case 413:
        return "RequestBodyTooLarge";
    case 417:
    case 501:
        return "UnsupportedHeader";
    default:
        return "InvalidInput";
    }
}

static const char *framing_message(int status)
{
    switch (status) {
    case 413:
        return "The request body is too large and exceeds the maximum permissible limit.";
    case 417:
        return "The Expect header holds an expectation this server does not support (only 100-continue).";
    case 431:
        return "The request head is larger than 64 KiB or has too many header fields.";
    case 501:
        return "Transfer-Encoding other than chunked is not supported.";
    default:
        return "The request is not valid HTTP/1.1 (framing, header syntax or request target).";
    }
}

/* Reads and drops a refused request's body; beyond DISCARD_MAX the connection will close instead. */
static void discard_body(struct conn *c)
{
    h2o_buffer_t **in = &c->sock->input;
    if (c->req.body == GW_HTTP1_BODY_LENGTH) {
        size_t k = (*in)->size < c->req.remaining ? (*in)->size : (size_t)c->req.remaining;
        consume(in, k, SIZE_MAX);
        c->req.remaining -= k;
        c->req.discarded += k;
        if (c->req.remaining == 0)
            c->req.body_done = 1;
    } else if ((*in)->size != 0) {
        size_t sz = (*in)->size;
        ssize_t r = phr_decode_chunked(&c->req.dec, (*in)->bytes, &sz);
        c->req.discarded += sz;
        if (r == -1) {
            c->req.keepalive = 0;
            consume(in, (*in)->size, SIZE_MAX);
        } else if (r >= 0) {
            consume(in, sz, (size_t)r);
            c->req.body_done = 1;
        } else {
            consume(in, (*in)->size, SIZE_MAX);
        }
    }
    if (c->req.body_done || !c->req.keepalive || c->req.discarded > DISCARD_MAX) {
        if (!c->req.body_done) {
            c->req.keepalive = 0;
            h2o_socket_read_stop(c->sock);
        }
        maybe_finish(c);
        return;
    }
    progress(c);
    h2o_socket_read_start(c->sock, on_client_read);
}

static void refuse(struct conn *c, const gw_proxy_decision_t *d)
{
    int keepalive = c->req.keepalive;
    gw_proxy_count_refusal(c->rt->relay->proxy, d->code);
    if (!c->req.body_done) {
        if (c->req.expect_continue)
            keepalive = 0; /* the client waits for our word before sending: it will not come */
        else if (c->req.body == GW_HTTP1_BODY_LENGTH && c->req.remaining > DISCARD_MAX)
            keepalive = 0;
        else
            c->req.discard = 1;
    }
    send_local(c, d->status, d->code, gw_proxy_error_message(d->code), d->err.message, keepalive);
    if (c->req.discard)
        discard_body(c);
}

/* Removes from a response head the headers that the kept overrides replace. */
static void drop_overridden(struct conn *c, gw_http1_head_t *h)
{
    size_t kept = 0;
    for (size_t i = 0; i != h->num_headers; i++) {
        const struct phr_header *f = h->headers + i;
        if (!gw_upstream_is_overridden(c->req.overrides, c->req.overrides_len, f->name, f->name_len))
            h->headers[kept++] = *f;
    }
    h->num_headers = kept;
}

static void handle_head(struct conn *c)
{
    struct gw_relay_thread *rt = c->rt;
    struct gw_relay *relay = rt->relay;
    h2o_buffer_t **in = &c->sock->input;
    gw_http1_head_t *h = &rt->head;

    if ((*in)->size == 0) {
        h2o_socket_read_start(c->sock, on_client_read);
        return;
    }
    long r = gw_http1_parse_request((*in)->bytes, (*in)->size, GW_RELAY_MAX_BODY, h);
    if (r == 0) {
        h2o_socket_read_start(c->sock, on_client_read);
        return;
    }
    gettimeofday(&c->req.start, NULL);
    c->state = ST_BODY;
    progress(c);
    if (r < 0) {
        /* the framing cannot be trusted: answer and close */
        h2o_socket_read_stop(c->sock);
        c->req.keepalive = 0;
        c->req.body = GW_HTTP1_BODY_NONE;
        send_local(c, (int)-r, framing_code((int)-r), framing_message((int)-r), NULL, 0);
        return;
    }

    c->req.is_head = h->method_len == 4 && memcmp(h->method, "HEAD", 4) == 0;
    c->req.minor_version = h->minor_version;
    c->req.keepalive = h->keepalive && !rt->shutting_down;
    c->req.body = h->body;
    c->req.remaining = h->content_length;
    c->req.expect_continue = h->expect_continue;
    c->req.body_done = h->body == GW_HTTP1_BODY_NONE || (h->body == GW_HTTP1_BODY_LENGTH && h->content_length == 0);
    /*
     * A body is read by pump_request() (or discard_body()) at the pace of its
     * destination. Without one the client stays read (no epoll change per
     * request): what arrives is the next request, or the client closing.
     */
    if (!c->req.body_done)
        h2o_socket_read_stop(c->sock);

    /* decide */
    gw_proxy_decision_t *d = &rt->decision;
    ssize_t bi = gw_upstream_decide(rt, h, c->is_https, &c->peer, c->peerlen);
    if (d->verdict != GW_PROXY_FORWARD) {
        consume(in, (size_t)r, SIZE_MAX);
        refuse(c, d);
        return;
    }

    /* forward: the head goes out with the first write to the upstream */
    c->req.backend = (size_t)bi;
    int rs;
    c->req.head_len = gw_upstream_request_head(&relay->backends[bi], h, d, c->peer_text, c->is_https,
                                               (int64_t)c->req.start.tv_sec, &c->req.head, &rs);
    if (rs != GW_RESIGN_OK) {
        gw_resign_refuse(d, rs);
        consume(in, (size_t)r, SIZE_MAX);
        refuse(c, d);
        return;
    }
    c->req.overrides = gw_upstream_overrides(d, &c->req.overrides_len);
    consume(in, (size_t)r, SIZE_MAX);
    if (c->req.head_len == 0) {
        c->req.keepalive = 0;
        send_local(c, 431, framing_code(431), framing_message(431), NULL, 0);
        return;
    }
    if (c->req.expect_continue && !c->req.body_done) {
        h2o_iovec_t buf = h2o_iovec_init(continue_line, sizeof(continue_line) - 1);
        client_write(c, &buf, 1, CW_CONTINUE);
    }
    start_upstream(c);
}

static void on_upstream_written(h2o_socket_t *sock, const char *err)
{
    struct gw_upstream *up = sock->data;
    struct conn *c = up->owner;
    c->up_writing = 0;
    if (err != NULL) {
        upstream_failed(c, 0);
        return;
    }
    consume(&c->sock->input, c->up_consume, c->up_truncate);
    c->up_consume = 0;
    c->up_truncate = SIZE_MAX;
    progress(c);
    if (c->req.body_done)
        maybe_finish(c);
    else
        pump_request(c);
}

/* Hands the next piece of the request (head, body) to the upstream, or waits for the client. */
static void pump_request(struct conn *c)
{
    h2o_iovec_t bufs[5];
    size_t n = 0;
    h2o_buffer_t **in = &c->sock->input;

    if (c->up == NULL || !c->up_ready || c->up_writing)
        return;
    c->up_consume = 0;
    c->up_truncate = SIZE_MAX;
    if (!c->req.head_written) {
        bufs[n++] = h2o_iovec_init(c->req.head, c->req.head_len);
        c->req.head_written = 1;
    }
    if (!c->req.body_done && (*in)->size != 0) {
        if (c->req.body == GW_HTTP1_BODY_LENGTH) {
            size_t k = (*in)->size < c->req.remaining ? (*in)->size : (size_t)c->req.remaining;
            bufs[n++] = h2o_iovec_init((*in)->bytes, k);
            c->up_consume = k;
            c->req.remaining -= k;
            if (c->req.remaining == 0)
                c->req.body_done = 1;
        } else {
            size_t sz = (*in)->size;
            ssize_t r = phr_decode_chunked(&c->req.dec, (*in)->bytes, &sz);
            if (r == -1) {
                /* broken chunked coding from the client: nothing sensible can follow */
                close_upstream(c);
                if (c->res.started) {
                    close_conn(c);
                } else {
                    c->req.keepalive = 0;
                    send_local(c, 400, "InvalidInput", "The chunked request body is malformed.", NULL, 0);
                }
                return;
            }
            if (sz != 0) {
                bufs[n++] = h2o_iovec_init(c->up_chunk, (size_t)snprintf(c->up_chunk, sizeof(c->up_chunk), "%zx\r\n", sz));
                bufs[n++] = h2o_iovec_init((*in)->bytes, sz);
                bufs[n++] = h2o_iovec_init(H2O_STRLIT("\r\n"));
            }
            if (r >= 0) {
                bufs[n++] = h2o_iovec_init(H2O_STRLIT("0\r\n\r\n"));
                c->req.body_done = 1;
                c->up_consume = sz;
                c->up_truncate = (size_t)r;
            } else {
                c->up_consume = (*in)->size;
            }
        }
    }
    if (n == 0) {
        consume(in, c->up_consume, c->up_truncate);
        if (!c->req.body_done)
            h2o_socket_read_start(c->sock, on_client_read);
        else
            maybe_finish(c);
        return;
    }
    if (c->up_consume != 0 || c->up_truncate != SIZE_MAX)
        h2o_socket_read_stop(c->sock); /* the write points into the client's input buffer, consumed after it */
    c->up_writing = 1;
    h2o_socket_write(c->up->sock, bufs, n, on_upstream_written);
}

/* ---- the response ---- */

/* Parses the upstream's response head and queues the client's; returns 0, or -1 when more is needed or it failed. */
static int start_response(struct conn *c, h2o_iovec_t *buf)
{
    h2o_buffer_t **in = &c->up->sock->input;
    gw_http1_head_t *h = &c->rt->head;
    long r;
    for (;;) {
        r = gw_http1_parse_response((*in)->bytes, (*in)->size, c->req.is_head, h);
        if (r == 0) {
            h2o_socket_read_start(c->up->sock, on_upstream_read);
            return -1;
        }
        if (r < 0) {
            c->up->reused = 0; /* a malformed answer is not a stale connection: no retry */
            upstream_failed(c, 0);
            return -1;
        }
        if (h->status >= 200)
            break;
        consume(in, (size_t)r, SIZE_MAX); /* 1xx: we never forwarded an Expect, so it is informational only */
    }
    c->res.status = h->status;
    c->res.body = h->body;
    c->res.remaining = h->content_length;
    c->res.upstream_keepalive = h->keepalive;
    if (h->body == GW_HTTP1_BODY_CHUNKED || h->body == GW_HTTP1_BODY_CLOSE) {
        /* re-framed in chunks for an HTTP/1.1 client; an HTTP/1.0 one reads until we close */
        if (c->req.minor_version == 1)
            c->res.chunked_out = 1;
        else
            c->req.keepalive = 0;
    }
    if (!c->req.body_done || c->rt->shutting_down)
        c->req.keepalive = 0; /* the upstream answered before the request ended: the connection cannot continue */
    size_t cap = (size_t)r + 128 + c->req.overrides_len;
    int override = c->req.overrides != NULL && h->status >= 200 && h->status < 300;
    if (override)
        drop_overridden(c, h);
    c->res.head = sg_alloc(cap);
    c->res.head_len = gw_http1_write_client_response(c->res.head, cap, h, c->res.chunked_out, c->req.keepalive);
    if (c->res.head_len != 0 && override)
        c->res.head_len = gw_upstream_add_lines(c->res.head, c->res.head_len, cap, c->req.overrides, c->req.overrides_len);
    consume(in, (size_t)r, SIZE_MAX);
    if (c->res.head_len == 0) {
        c->up->reused = 0;
        upstream_failed(c, 0);
        return -1;
    }
    c->res.started = 1;
    if (h->body == GW_HTTP1_BODY_NONE || (h->body == GW_HTTP1_BODY_LENGTH && h->content_length == 0))
        c->res.done = 1;
    *buf = h2o_iovec_init(c->res.head, c->res.head_len);
    return 0;
}

/* Hands the next piece of the response (head, body) to the client, or waits for the upstream. */
static void pump_response(struct conn *c)
{
    h2o_iovec_t bufs[6];
    size_t n = 0;

    if (c->cl_writing != CW_NONE || c->res.done || c->res.local || c->up == NULL || !c->up_ready)
        return;
    h2o_buffer_t **in = &c->up->sock->input;
    c->cl_consume = 0;
    c->cl_truncate = SIZE_MAX;
    if (!c->res.started) {
        if (start_response(c, bufs) != 0)
            return;
        n++;
    }
    if (!c->res.done) {
        size_t avail = (*in)->size;
        switch (c->res.body) {
        case GW_HTTP1_BODY_LENGTH: {
            size_t k = avail < c->res.remaining ? avail : (size_t)c->res.remaining;
            if (k != 0)
                bufs[n++] = h2o_iovec_init((*in)->bytes, k);
            c->cl_consume = k;
            c->res.remaining -= k;
            if (c->res.remaining == 0) {
                c->res.done = 1;
                if (avail != k)
                    c->res.upstream_keepalive = 0; /* bytes beyond the body: the connection is not clean */
            }
        } break;
        case GW_HTTP1_BODY_CHUNKED:
        case GW_HTTP1_BODY_CLOSE: {
            size_t sz = avail;
            ssize_t r = -2;
            if (c->res.body == GW_HTTP1_BODY_CHUNKED && avail != 0) {
                r = phr_decode_chunked(&c->res.dec, (*in)->bytes, &sz);
                if (r == -1) {
                    c->up->reused = 0;
                    if (n != 0) { /* nothing reached the client yet: a clean 502 is still possible */
                        c->res.started = 0;
                        free(c->res.head);
                        c->res.head = NULL;
                    }
                    upstream_failed(c, 0);
                    return;
                }
            }
            if (sz != 0) {
                if (c->res.chunked_out)
                    bufs[n++] = h2o_iovec_init(c->cl_chunk, (size_t)snprintf(c->cl_chunk, sizeof(c->cl_chunk), "%zx\r\n", sz));
                bufs[n++] = h2o_iovec_init((*in)->bytes, sz);
                if (c->res.chunked_out)
                    bufs[n++] = h2o_iovec_init(H2O_STRLIT("\r\n"));
            }
            if (r >= 0 || (c->res.body == GW_HTTP1_BODY_CLOSE && c->res.eof)) {
                if (c->res.chunked_out)
                    bufs[n++] = h2o_iovec_init(H2O_STRLIT("0\r\n\r\n"));
                c->res.done = 1;
                if (r > 0)
                    c->res.upstream_keepalive = 0;
                c->cl_consume = sz;
                c->cl_truncate = 0;
            } else {
                c->cl_consume = avail;
            }
        } break;
        default:
            c->res.done = 1;
            break;
        }
    }
    if (n == 0) {
        consume(in, c->cl_consume, c->cl_truncate);
        if (c->res.done)
            maybe_finish(c);
        else
            h2o_socket_read_start(c->up->sock, on_upstream_read);
        return;
    }
    size_t total = 0;
    for (size_t i = 0; i != n; i++)
        total += bufs[i].len;
    if (total <= COPY_MAX) {
        /* small: copy it out and keep reading the upstream (no epoll change per response) */
        if (c->copy == NULL)
            c->copy = sg_alloc(COPY_MAX);
        size_t off = 0;
        for (size_t i = 0; i != n; i++) {
            memcpy(c->copy + off, bufs[i].base, bufs[i].len);
            off += bufs[i].len;
        }
        consume(in, c->cl_consume, c->cl_truncate);
        c->cl_consume = 0;
        c->cl_truncate = SIZE_MAX;
        bufs[0] = h2o_iovec_init(c->copy, total);
        n = 1;
        h2o_socket_read_start(c->up->sock, on_upstream_read);
    } else {
        /* the write points into the upstream's input buffer: no reading until it completes */
        h2o_socket_read_stop(c->up->sock);
    }
    client_write(c, bufs, n, CW_RESPONSE);
}

static void on_upstream_read(h2o_socket_t *sock, const char *err)
{
    struct gw_upstream *up = sock->data;
    struct conn *c = up->owner;
    if (c == NULL) {
        /* idle in the pool: the backend closed it, or sent what nobody asked for */
        gw_upstream_destroy(up);
        return;
    }
    if (err != NULL) {
        if (c->res.done && !c->res.local) {
            close_upstream(c); /* closed after a complete response: nothing is lost, it is just not reused */
            return;
        }
        if (c->res.started && !c->res.local && c->res.body == GW_HTTP1_BODY_CLOSE && !c->res.done) {
            c->res.eof = 1;
            c->res.upstream_keepalive = 0;
            h2o_socket_read_stop(sock);
            pump_response(c);
            return;
        }
        upstream_failed(c, 0);
        return;
    }
    progress(c);
    if (c->cl_writing != CW_NONE) {
        if (sock->input->size > PAUSE_AT)
            h2o_socket_read_stop(sock);
        return;
    }
    pump_response(c);
}

/*
 * The upstream connection failed (or timed out). Before any of the response
 * reached the client: a retry (bodyless request on a reused connection) or
 * 502/504. After: the client connection closes, which is all HTTP/1.1 allows.
 */
static void upstream_failed(struct conn *c, int is_timeout)
{
    int retry = !is_timeout && c->up != NULL && c->up->reused && c->up->sock->input->size == 0 && !c->res.started &&
                c->req.body == GW_HTTP1_BODY_NONE && !c->req.retried;
    close_upstream(c);
    if (c->res.started) {
        if (c->res.local)
            return; /* our own answer is on its way; the exchange ends when it is written */
        client_gone(c);
        return;
    }
    if (retry) {
        c->req.retried = 1;
        start_upstream(c);
        return;
    }
    if (is_timeout)
        send_local(c, 504, "GatewayTimeout", "The backend did not answer within proxy.upstream_timeout.", NULL,
                   c->req.body_done && c->req.keepalive);
    else
        send_local(c, 502, "BadGateway", "The backend refused the connection or broke it before answering.", NULL,
                   c->req.body_done && c->req.keepalive);
}

/* ---- the end of an exchange ---- */

static void maybe_finish(struct conn *c)
{
    if (c->cl_writing != CW_NONE || c->up_writing || !c->res.done || c->state != ST_BODY)
        return;
    if (!c->req.body_done) {
        if (c->req.discard && c->req.keepalive)
            return; /* still dropping a refused body */
        count(c);
        linger(c);
        return;
    }
    count(c);
    if (c->up != NULL) {
        if (c->res.upstream_keepalive && !c->res.local)
            pool_put(c);
        else
            close_upstream(c);
    }
    if (!c->req.keepalive || c->rt->shutting_down) {
        close_conn(c);
        return;
    }
    reset_exchange(c);
    c->state = ST_HEAD;
    set_timeout(c, &c->rt->client_timeout);
    handle_head(c);
}

static void on_client_written(h2o_socket_t *sock, const char *err)
{
    struct conn *c = sock->data;
    enum client_write kind = c->cl_writing;
    c->cl_writing = CW_NONE;
    if (err != NULL) {
        client_gone(c);
        return;
    }
    if (kind == CW_RESPONSE && c->up != NULL)
        consume(&c->up->sock->input, c->cl_consume, c->cl_truncate);
    c->cl_consume = 0;
    c->cl_truncate = SIZE_MAX;
    if (c->state == ST_BODY)
        progress(c);
    if (c->local_pending) {
        c->local_pending = 0;
        h2o_iovec_t buf = h2o_iovec_init(c->res.head, c->res.head_len);
        client_write(c, &buf, 1, CW_LOCAL);
        return;
    }
    if (kind == CW_LOCAL)
        c->res.done = 1;
    if (c->res.done)
        maybe_finish(c);
    else
        pump_response(c);
}

static void on_conn_timeout(h2o_timeout_entry_t *entry)
{
    struct conn *c = H2O_STRUCT_FROM_MEMBER(struct conn, timeout, entry);
    switch (c->state) {
    case ST_BODY:
        if (!c->res.started && !c->req.discard && c->cl_writing == CW_NONE) {
            upstream_failed(c, 1);
            return;
        }
        if (c->res.started)
            count(c);
        close_conn(c);
        break;
    default:
        close_conn(c);
        break;
    }
}

/* ---- accepting ---- */

/* An HTTP/2 connection: served by h2.c on the same socket. */
static void hand_to_h2(struct conn *c)
{
    h2o_socket_t *sock = c->sock;
    struct gw_relay_thread *rt = c->rt;
    struct sockaddr_storage peer = c->peer;
    socklen_t peerlen = c->peerlen;
    int is_https = c->is_https;
    conn_free(c);
    sock->data = NULL;
    gw_h2_accept(rt, sock, is_https, &peer, peerlen);
}

static void on_refusal_written(h2o_socket_t *sock, const char *err)
{
    close_conn(sock->data);
}

/*
 * The cleartext HTTP/2 preface on a listener without http2: true. The answer
 * is HTTP/2's own word for it, so a client says why: an empty SETTINGS (the
 * server's preface) and GOAWAY(last stream 0, HTTP_1_1_REQUIRED); then the
 * connection closes.
 */
static void refuse_http2(struct conn *c)
{
    static const char frames[] = {0, 0, 0, 0x4, 0, 0, 0, 0,  0, /* SETTINGS, empty */
                                  0, 0, 8, 0x7, 0, 0, 0, 0,  0, /* GOAWAY, 8 bytes */
                                  0, 0, 0, 0,   0, 0, 0, 0xd};  /* last stream 0, HTTP_1_1_REQUIRED */
    h2o_iovec_t buf = h2o_iovec_init(frames, sizeof(frames));
    h2o_socket_read_stop(c->sock);
    c->state = ST_LINGER;
    h2o_socket_write(c->sock, &buf, 1, on_refusal_written);
}

static void on_client_read(h2o_socket_t *sock, const char *err)
{
    struct conn *c = sock->data;
    if (err != NULL) {
        client_gone(c);
        return;
    }
    switch (c->state) {
    case ST_PREFACE: {
        size_t len = sock->input->size < sizeof(h2_preface) - 1 ? sock->input->size : sizeof(h2_preface) - 1;
        if (memcmp(sock->input->bytes, h2_preface, len) == 0) {
            if (len < sizeof(h2_preface) - 1)
                return; /* maybe HTTP/2: wait for the whole preface */
            /* cleartext HTTP/2 with prior knowledge: h2o's, when the listener offers it */
            if (!gw_server_accept_http2(c->actx)) {
                refuse_http2(c);
                return;
            }
            h2o_socket_read_stop(sock);
            hand_to_h2(c);
            return;
        }
        c->state = ST_HEAD;
        handle_head(c);
    } break;
    case ST_HEAD:
        handle_head(c);
        break;
    case ST_BODY:
        if (c->req.body_done) {
            /* the next request, pipelined: it waits (bounded) until this exchange ends */
            if (sock->input->size > GW_HTTP1_MAX_HEAD)
                h2o_socket_read_stop(sock);
        } else if (c->req.discard) {
            discard_body(c);
        } else {
            progress(c);
            pump_request(c);
        }
        break;
    case ST_LINGER:
        c->lingered += sock->input->size;
        consume(&sock->input, sock->input->size, SIZE_MAX);
        if (c->lingered > LINGER_MAX)
            close_conn(c);
        break;
    case ST_HANDSHAKE:
        break;
    }
}

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    struct conn *c = sock->data;
    if (err != NULL) {
        close_conn(c);
        return;
    }
    h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);
    if (proto.len == 2 && memcmp(proto.base, "h2", 2) == 0 && gw_server_accept_http2(c->actx)) {
        hand_to_h2(c);
        return;
    }
    c->state = ST_HEAD;
    handle_head(c);
}

static void on_accept(gw_thread_t *thread, h2o_accept_ctx_t *actx, h2o_socket_t *sock, void *data)
{
    struct gw_relay *relay = data;
    struct gw_relay_thread *rt = gw_thread_module(thread, relay->module_slot);
    struct conn *c = sg_calloc(1, sizeof(*c));

    c->sock = sock;
    c->rt = rt;
    c->actx = actx;
    gettimeofday(&c->connected_at, NULL);
    c->timeout.cb = on_conn_timeout;
    c->is_https = actx->ssl_ctx != NULL;
    c->peerlen = h2o_socket_getpeername(sock, (struct sockaddr *)&c->peer);
    if (c->peerlen != 0) {
        if (c->peer.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&c->peer)->sin_addr, c->peer_text, sizeof(c->peer_text));
        else if (c->peer.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&c->peer)->sin6_addr, c->peer_text, sizeof(c->peer_text));
    }
    int rcvbuf = SOCKET_RCVBUF;
    setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    reset_exchange(c);
    h2o_linklist_insert(&rt->conns, &c->link);
    sock->data = c;
    set_timeout(c, &rt->client_timeout);
    if (actx->ssl_ctx != NULL) {
        c->state = ST_HANDSHAKE;
        h2o_socket_ssl_handshake(sock, actx->ssl_ctx, NULL, on_handshake);
    } else {
        c->state = ST_PREFACE;
        h2o_socket_read_start(sock, on_client_read);
    }
}

/* ---- per worker ---- */

static void *on_thread_init(gw_thread_t *thread, void *data)
{
    struct gw_relay *relay = data;
    struct gw_relay_thread *rt = sg_calloc(1, sizeof(*rt));
    rt->relay = relay;
    rt->thread = thread;
    rt->loop = gw_thread_loop(thread);
    h2o_timeout_init(rt->loop, &rt->client_timeout, CLIENT_TIMEOUT_MS);
    h2o_timeout_init(rt->loop, &rt->io_timeout, (uint64_t)relay->conf->proxy.upstream_timeout * 1000);
    h2o_timeout_init(rt->loop, &rt->pool_timeout, POOL_IDLE_MS);
    h2o_timeout_init(rt->loop, &rt->linger_timeout, LINGER_MS);
    rt->idle = sg_calloc(relay->num_backends + 1, sizeof(*rt->idle));
    rt->num_idle = sg_calloc(relay->num_backends + 1, sizeof(*rt->num_idle));
    for (size_t i = 0; i != relay->num_backends; i++)
        h2o_linklist_init_anchor(&rt->idle[i]);
    h2o_linklist_init_anchor(&rt->conns);
    h2o_linklist_init_anchor(&rt->h2_conns);
    pthread_mutex_lock(&relay->lock);
    relay->threads_alive++;
    pthread_mutex_unlock(&relay->lock);
    return rt;
}

static void relay_free(struct gw_relay *relay)
{
    for (size_t i = 0; i != relay->num_backends; i++) {
        struct gw_backend *b = relay->backends + i;
        free(b->account);
        gw_backend_dispose(&b->up);
    }
    free(relay->backends);
    if (relay->client_ssl != NULL)
        SSL_CTX_free(relay->client_ssl);
    pthread_mutex_destroy(&relay->lock);
    free(relay);
}

static void close_idle_upstreams(struct gw_relay_thread *rt)
{
    for (size_t i = 0; i != rt->relay->num_backends; i++)
        while (!h2o_linklist_is_empty(&rt->idle[i]))
            gw_upstream_destroy(H2O_STRUCT_FROM_MEMBER(struct gw_upstream, link, rt->idle[i].next));
}

/* Graceful shutdown begins: idle connections close now, busy ones after their exchange. */
static void on_shutdown(gw_thread_t *thread, void *data)
{
    struct gw_relay *relay = data;
    struct gw_relay_thread *rt = gw_thread_module(thread, relay->module_slot);
    rt->shutting_down = 1;
    close_idle_upstreams(rt);
    gw_h2_shutdown(rt);
    h2o_linklist_t *node = rt->conns.next;
    while (node != &rt->conns) {
        struct conn *c = H2O_STRUCT_FROM_MEMBER(struct conn, link, node);
        node = node->next;
        if ((c->state == ST_HEAD || c->state == ST_PREFACE) && c->sock->input->size == 0)
            close_conn(c);
    }
}

static void on_thread_dispose(gw_thread_t *thread, void *instance, void *data)
{
    struct gw_relay *relay = data;
    struct gw_relay_thread *rt = instance;
    while (!h2o_linklist_is_empty(&rt->conns))
        close_conn(H2O_STRUCT_FROM_MEMBER(struct conn, link, rt->conns.next));
    gw_h2_close_all(rt);
    close_idle_upstreams(rt);
    h2o_timeout_dispose(rt->loop, &rt->client_timeout);
    h2o_timeout_dispose(rt->loop, &rt->io_timeout);
    h2o_timeout_dispose(rt->loop, &rt->pool_timeout);
    h2o_timeout_dispose(rt->loop, &rt->linger_timeout);
    free(rt->idle);
    free(rt->num_idle);
    free(rt);
    pthread_mutex_lock(&relay->lock);
    int last = --relay->threads_alive == 0;
    pthread_mutex_unlock(&relay->lock);
    if (last)
        relay_free(relay);
}

/* ---- setup ---- */

static int add_backend(struct gw_relay *relay, const gw_keyring_account_t *a, char *err, size_t errlen)
{
    if (a->upstream == NULL) {
        snprintf(err, errlen, "account %s: the backend URL '%s' %s", a->name, a->backend, a->backend_error);
        return -1;
    }
    struct gw_backend *b = &relay->backends[relay->num_backends];
    memset(b, 0, sizeof(*b));
    b->account = sg_strdup(a->name);
    gw_backend_copy(&b->up, a->upstream);
    b->prefix_len = strlen(b->up.path);
    struct sockaddr_in *sin = (struct sockaddr_in *)&b->addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&b->addr;
    if (inet_pton(AF_INET, b->up.host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(b->up.port);
        b->addrlen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, b->up.host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(b->up.port);
        b->addrlen = sizeof(*sin6);
    }
    relay->num_backends++;
    return 0;
}

int gw_relay_setup(gw_server_t *server, gw_proxy_t *proxy, gw_app_t *app, char *err, size_t errlen)
{
    struct gw_relay *relay = sg_calloc(1, sizeof(*relay));
    relay->server = server;
    relay->proxy = proxy;
    relay->conf = gw_app_config(app);
    pthread_mutex_init(&relay->lock, NULL);

    gw_keyring_t *kr = gw_keyring_live_acquire(gw_app_keyring(app));
    size_t n = gw_keyring_num_accounts(kr);
    relay->backends = sg_calloc(n + 1, sizeof(*relay->backends));
    int ret = 0, tls = 0;
    for (size_t i = 0; i != n && ret == 0; i++) {
        const gw_keyring_account_t *a = gw_keyring_account_at(kr, i);
        if (a->backend[0] != '\0') {
            ret = add_backend(relay, a, err, errlen);
            tls |= ret == 0 && relay->backends[relay->num_backends - 1].up.tls;
        }
    }
    gw_keyring_release(kr);
    if (ret == 0 && tls && (relay->client_ssl = gw_tls_backend_ctx(err, errlen)) == NULL) {
        snprintf(err, errlen, "cannot set up TLS towards https backends");
        ret = -1;
    }
    if (ret != 0) {
        relay_free(relay);
        return -1;
    }
    relay->module_slot = gw_server_add_thread_module(server, on_thread_init, on_thread_dispose, relay);
    gw_server_on_shutdown(server, on_shutdown, relay);
    gw_server_set_acceptor(server, GW_SERVICE_PROXY, on_accept, relay);
    return 0;
}
