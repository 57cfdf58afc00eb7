/*
 * h2.c - the proxy's HTTP/2 front (upstream.h), served by nghttp2 on the
 * relay's loop and sockets: ALPN h2 after relay.c's TLS handshake, or the
 * cleartext preface.
 *
 * Every stream is decided on its HEADERS (gw_upstream_decide(), the relay's
 * decision) before any of its DATA is accepted, and refused with Azure's XML
 * or forwarded over HTTP/1.1 through the relay's per-thread pool
 * (gw_upstream_start(), the same head as the relay's
 * gw_upstream_request_head()).
 *
 * Flow control does the backpressure: the session never opens a window by
 * itself (no_auto_window_update); request DATA is buffered per stream (at
 * most the stream window), written upstream with one write in flight, and
 * handed back to the client (nghttp2_session_consume) when that write
 * completed. A refused stream's window is never opened: its DATA only counts
 * against the connection window, which is given back, and the stream is
 * reset (NO_ERROR) after the answer, unless its declared body's rest is at
 * most H2_DRAIN_MAX (then that rest is read and dropped). Response bytes move from the upstream
 * socket into a buffer of at most H2_RES_BUFFERED bytes per stream, which the
 * data provider empties as the client's windows allow; the upstream is read
 * only while that buffer has room.
 *
 * Writes to the client: one in flight, a batch of serialized frames.
 */
#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "relay.h"
#include "sasgw/common.h"
#include "resign.h"
#include "upstream.h"

#define H2_STREAM_WINDOW (1024 * 1024)
#define H2_CONN_WINDOW (2 * 1024 * 1024)
#define H2_MAX_STREAMS 100
#define H2_MAX_HEADER_LIST (64 * 1024)        /* decoded bytes of a request's header list (RFC 9113 6.5.2 accounting) */
#define H2_MAX_HEADER_BLOCK (128 * 1024)      /* encoded bytes of one header block, HEADERS and CONTINUATION frames */
#define H2_MAX_HEADER_FRAMES 32               /* frames of one header block (Debian's nghttp2 stops at 8 CONTINUATIONs already) */
#define H2_RES_BUFFERED (64 * 1024)           /* response bytes a stream buffers before its upstream is no longer read */
#define H2_WRITE_BATCH (64 * 1024)            /* serialized frames per write to the client */
#define H2_DRAIN_MAX (1024 * 1024)            /* a refused request body's rest read and dropped rather than reset (curl, RFC 9113 8.1) */
#define H2_RST_BURST 200                      /* client RST_STREAM per connection and second before GOAWAY(ENHANCE_YOUR_CALM) */
#define H2_MAX_OUTBOUND_ACK 1000              /* queued SETTINGS/PING acks before the session ends (floods) */
#define H2_ROUTE_LABEL "/{account}"

struct h2conn;

struct h2stream {
    struct h2conn *hc;
    int32_t id;
    h2o_linklist_t link;
    h2o_timeout_entry_t timeout;
    struct timeval start;

    /* the request head as received: names and values in hbuf, offsets in hdr */
    char *hbuf;
    size_t hlen, hcap;
    struct {
        uint32_t name, name_len, value, value_len;
    } hdr[GW_HTTP1_MAX_HEADERS];
    size_t num_hdr;
    int64_t method, path, authority; /* offsets of the pseudo-headers' values (-1: absent) */
    uint32_t method_len, path_len, authority_len;
    size_t list_bytes;
    int too_big;
    int has_host;
    int expect_continue, bad_expect;
    int64_t content_length; /* -1: none */

    /* the exchange */
    int decided, local, is_head, bodyless, retried;
    int req_end;         /* END_STREAM received */
    int req_end_written; /* the whole body handed upstream */
    int req_drop;        /* the request's further DATA is not forwarded (refused, or the upstream answered and left) */
    int draining;        /* answered before its body: the rest (at most H2_DRAIN_MAX) is read and dropped, then the stream ends */
    uint64_t dropped;    /* DATA bytes received while req_drop and not draining (counted against the stream's window) */
    int chunked_up;
    size_t backend;
    char *head;
    size_t head_len;
    int head_written;
    char *overrides;
    size_t overrides_len;
    h2o_buffer_t *rin, *rfly; /* request bytes waiting, and in the write in flight */
    size_t fly_data;          /* DATA bytes of the write in flight (consumed when it completes) */
    uint64_t received;        /* DATA bytes of the request */
    size_t unconsumed;        /* DATA bytes received and not yet given back to the client's windows */
    char chunk_line[24];
    struct gw_upstream *up;
    int up_ready, up_writing;

    /* the response */
    int status;
    int res_started; /* HEADERS submitted */
    int res_done;    /* every body byte is in resbuf */
    int res_eof;     /* the upstream closed (a CLOSE-framed body) */
    int upstream_keepalive;
    gw_http1_body_t res_body;
    uint64_t res_remaining;
    struct phr_chunked_decoder dec;
    size_t dec_pending; /* decoded chunk bytes at the front of the upstream's input */
    int chunked_done;
    h2o_buffer_t *resbuf;
    int deferred; /* the data provider said DEFERRED: resume when bytes arrive */
    int kick;     /* resbuf has room again: move more from the upstream */
};

struct h2conn {
    h2o_socket_t *sock;
    struct gw_relay_thread *rt;
    nghttp2_session *ng;
    h2o_linklist_t link;
    h2o_timeout_entry_t timeout;
    int is_https;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    char peer_text[INET6_ADDRSTRLEN];
    h2o_linklist_t streams;
    char *wbuf;
    size_t wlen, wcap;
    int writing;
    int in_ng;  /* inside nghttp2_session_mem_recv/mem_send: sending waits */
    int fatal;  /* the session failed (unusable): our own GOAWAY(fatal_code) goes out, then the connection closes */
    uint32_t fatal_code;
    int kick;   /* some stream has kick set */
    int closed; /* closing in progress (no more sends) */
    uint64_t rst_second;
    unsigned rst_count;
    size_t block_bytes;
    unsigned block_frames;
};

static void conn_send(struct h2conn *hc);
static void close_h2conn(struct h2conn *hc);
static void pump_request(struct h2stream *s);
static void pump_response(struct h2stream *s);
static void on_upstream_read(h2o_socket_t *sock, const char *err);
static void upstream_failed(struct h2stream *s, int is_timeout);
static void maybe_release(struct h2stream *s);
static int64_t keep(struct h2stream *s, const uint8_t *p, size_t n);

/* ---- small things ---- */

static void progress(struct h2stream *s)
{
    if (h2o_timeout_is_linked(&s->timeout))
        h2o_timeout_unlink(&s->timeout);
    h2o_timeout_link(s->hc->rt->loop, &s->hc->rt->io_timeout, &s->timeout);
}

static void buf_append(h2o_buffer_t **buf, const void *p, size_t n)
{
    h2o_iovec_t dst = h2o_buffer_reserve(buf, n);
    memcpy(dst.base, p, n);
    (*buf)->size += n;
}

static void close_upstream(struct h2stream *s)
{
    if (s->up != NULL) {
        s->up->owner = NULL;
        gw_upstream_destroy(s->up);
        s->up = NULL;
    }
    s->up_ready = 0;
    s->up_writing = 0;
}

static void rst(struct h2stream *s, uint32_t code)
{
    nghttp2_submit_rst_stream(s->hc->ng, NGHTTP2_FLAG_NONE, s->id, code);
}

/* ---- responses ---- */

static ssize_t read_resbuf(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                           nghttp2_data_source *source, void *user_data)
{
    struct h2stream *s = source->ptr;
    size_t n = s->resbuf->size < length ? s->resbuf->size : length;
    if (n != 0) {
        memcpy(buf, s->resbuf->bytes, n);
        h2o_buffer_consume(&s->resbuf, n);
        if (!s->local)
            progress(s);
    }
    if (s->resbuf->size == 0 && s->res_done) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    }
    if (n == 0) {
        s->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (!s->res_done && s->up != NULL && s->resbuf->size < H2_RES_BUFFERED) {
        s->kick = 1;
        s->hc->kick = 1;
    }
    return (ssize_t)n;
}

static void resume(struct h2stream *s)
{
    if (s->deferred) {
        s->deferred = 0;
        nghttp2_session_resume_data(s->hc->ng, s->id);
    }
}

/* nghttp2_nv wants mutable bytes; it copies them (no NO_COPY flags) and never writes them. */
static uint8_t *u8(const void *p)
{
    return (uint8_t *)(uintptr_t)p;
}

#define NV(n, v, vl) ((nghttp2_nv){u8(n), u8(v), strlen(n), (vl), NGHTTP2_NV_FLAG_NONE})

/* Answers the stream with Azure's XML error (a refusal, 431, 502, 504). */
static void send_local(struct h2stream *s, int status, const char *code, const char *message, const char *detail)
{
    char body[2 * SAS_MAX_STS + 1024], st[4], len[24];
    const gw_proxy_decision_t *d = &s->hc->rt->decision;
    const char *sts = detail == d->err.message ? d->sts : NULL;
    size_t body_len = gw_proxy_error_xml(body, sizeof(body), code, message, detail, sts, sts != NULL ? d->sts_len : 0);
    nghttp2_nv nva[5];
    size_t n = 0;

    snprintf(st, sizeof(st), "%d", status);
    snprintf(len, sizeof(len), "%zu", body_len);
    nva[n++] = NV(":status", st, 3);
    nva[n++] = NV("content-type", "application/xml", 15);
    nva[n++] = NV("x-ms-error-code", code, strlen(code));
    nva[n++] = NV("content-length", len, strlen(len));
    if (status == 503)
        nva[n++] = NV("retry-after", "1", 1);
    close_upstream(s);
    s->local = 1;
    s->res_started = 1;
    s->res_done = 1;
    s->status = status;
    s->req_drop = 1;
    if (s->rin->size != 0) {
        nghttp2_session_consume_connection(s->hc->ng, s->rin->size);
        s->unconsumed -= s->rin->size;
        h2o_buffer_consume(&s->rin, s->rin->size);
    }
    h2o_buffer_consume(&s->resbuf, s->resbuf->size);
    nghttp2_data_provider dp = {.source.ptr = s, .read_callback = read_resbuf};
    if (!s->is_head)
        buf_append(&s->resbuf, body, body_len);
    if (h2o_timeout_is_linked(&s->timeout))
        h2o_timeout_unlink(&s->timeout);
    nghttp2_submit_response(s->hc->ng, s->id, nva, n, s->is_head ? NULL : &dp);
}

/* 1 for the response header names HTTP/2 forbids (RFC 9113 8.2.2) or that the framing replaces. */
static int is_connection_header(const char *name, size_t len)
{
    static const char *const names[] = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                        "upgrade", NULL};
    for (size_t i = 0; names[i] != NULL; i++)
        if (h2o_lcstris(name, len, names[i], strlen(names[i])))
            return 1;
    return 0;
}

/* 1 when name is one of the tokens of the response's Connection headers. */
static int named_by_connection(const gw_http1_head_t *h, const char *name, size_t len)
{
    for (size_t i = 0; i != h->num_headers; i++) {
        if (!h2o_lcstris(h->headers[i].name, h->headers[i].name_len, H2O_STRLIT("connection")))
            continue;
        const char *p = h->headers[i].value, *end = p + h->headers[i].value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            const char *t = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            if ((size_t)(p - t) == len && strncasecmp(t, name, len) == 0)
                return 1;
        }
    }
    return 0;
}

/* Submits the client's response HEADERS for the upstream's head h. */
static void submit_response_head(struct h2stream *s, const gw_http1_head_t *h)
{
    nghttp2_nv nva[GW_HTTP1_MAX_HEADERS + 6];
    char st[4], names[GW_HTTP1_MAX_HEAD];
    size_t n = 0, used = 0;
    int override = s->overrides != NULL && h->status >= 200 && h->status < 300;

    snprintf(st, sizeof(st), "%d", h->status);
    nva[n++] = NV(":status", st, 3);
    for (size_t i = 0; i != h->num_headers; i++) {
        const struct phr_header *f = h->headers + i;
        if (is_connection_header(f->name, f->name_len) || named_by_connection(h, f->name, f->name_len))
            continue;
        if (h2o_lcstris(f->name, f->name_len, H2O_STRLIT("content-length")) &&
            (s->res_body == GW_HTTP1_BODY_CHUNKED || s->res_body == GW_HTTP1_BODY_CLOSE))
            continue;
        if (override && gw_upstream_is_overridden(s->overrides, s->overrides_len, f->name, f->name_len))
            continue;
        if (used + f->name_len > sizeof(names))
            continue;
        for (size_t j = 0; j != f->name_len; j++)
            names[used + j] = h2o_tolower(f->name[j]);
        nva[n++] = (nghttp2_nv){u8(names + used), u8(f->value), f->name_len, f->value_len, NGHTTP2_NV_FLAG_NONE};
        used += f->name_len;
    }
    for (const char *l = override ? s->overrides : NULL; l != NULL && l < s->overrides + s->overrides_len && n != sizeof(nva) / sizeof(nva[0]);) {
        const char *colon = strchr(l, ':'), *eol = strstr(l, "\r\n");
        nva[n++] = (nghttp2_nv){u8(l), u8(colon + 2), (size_t)(colon - l), (size_t)(eol - colon - 2), NGHTTP2_NV_FLAG_NONE};
        l = eol + 2;
    }
    s->status = h->status;
    s->res_started = 1;
    nghttp2_data_provider dp = {.source.ptr = s, .read_callback = read_resbuf};
    nghttp2_submit_response(s->hc->ng, s->id, nva, n, s->res_done ? NULL : &dp);
}

/* Moves response bytes from the upstream's input into resbuf (while it has room); parses the head first. */
static void pump_response(struct h2stream *s)
{
    if (s->up == NULL || !s->up_ready || s->local)
        return;
    h2o_buffer_t **in = &s->up->sock->input;
    s->kick = 0;
    if (!s->res_started) {
        gw_http1_head_t *h = &s->hc->rt->head;
        long r;
        for (;;) {
            r = gw_http1_parse_response((*in)->bytes, (*in)->size, s->is_head, h);
            if (r == 0)
                return;
            if (r < 0) {
                s->up->reused = 0;
                upstream_failed(s, 0);
                return;
            }
            if (h->status >= 200)
                break;
            h2o_buffer_consume(in, (size_t)r);
        }
        s->res_body = h->body;
        s->res_remaining = h->content_length;
        s->upstream_keepalive = h->keepalive;
        if (h->body == GW_HTTP1_BODY_NONE || (h->body == GW_HTTP1_BODY_LENGTH && h->content_length == 0))
            s->res_done = 1;
        submit_response_head(s, h);
        h2o_buffer_consume(in, (size_t)r);
    }
    size_t moved = 0;
    while (!s->res_done && s->resbuf->size < H2_RES_BUFFERED) {
        size_t room = H2_RES_BUFFERED - s->resbuf->size, k;
        if (s->res_body == GW_HTTP1_BODY_LENGTH) {
            k = (*in)->size < s->res_remaining ? (*in)->size : (size_t)s->res_remaining;
            k = k < room ? k : room;
            if (k == 0)
                break;
            buf_append(&s->resbuf, (*in)->bytes, k);
            h2o_buffer_consume(in, k);
            s->res_remaining -= k;
            if (s->res_remaining == 0) {
                s->res_done = 1;
                if ((*in)->size != 0)
                    s->upstream_keepalive = 0;
            }
        } else if (s->res_body == GW_HTTP1_BODY_CHUNKED) {
            if (s->dec_pending == 0 && !s->chunked_done && (*in)->size != 0) {
                size_t sz = (*in)->size;
                ssize_t r = phr_decode_chunked(&s->dec, (*in)->bytes, &sz);
                if (r == -1) {
                    close_upstream(s);
                    rst(s, NGHTTP2_INTERNAL_ERROR);
                    return;
                }
                if (r >= 0) {
                    s->chunked_done = 1;
                    if (r > 0)
                        s->upstream_keepalive = 0;
                }
                (*in)->size = sz; /* decoded bytes at the front; what followed a complete body is dropped */
                s->dec_pending = sz;
            }
            k = s->dec_pending < room ? s->dec_pending : room;
            if (k != 0) {
                buf_append(&s->resbuf, (*in)->bytes, k);
                h2o_buffer_consume(in, k);
                s->dec_pending -= k;
            }
            if (s->chunked_done && s->dec_pending == 0)
                s->res_done = 1;
            else if (k == 0)
                break;
        } else { /* CLOSE */
            k = (*in)->size < room ? (*in)->size : room;
            if (k != 0) {
                buf_append(&s->resbuf, (*in)->bytes, k);
                h2o_buffer_consume(in, k);
            }
            if (s->res_eof && (*in)->size == 0)
                s->res_done = 1;
            else if (k == 0)
                break;
        }
        moved += k;
    }
    if (moved != 0 || s->res_done)
        resume(s);
    if (s->res_done) {
        maybe_release(s);
        return;
    }
    if (s->up != NULL && !s->res_eof) {
        if (s->resbuf->size >= H2_RES_BUFFERED)
            h2o_socket_read_stop(s->up->sock);
        else
            h2o_socket_read_start(s->up->sock, on_upstream_read);
    }
}

/* The response is all in resbuf: the upstream goes back to the pool when the request went out whole, else closes. */
static void maybe_release(struct h2stream *s)
{
    if (s->up == NULL || !s->res_done || s->up_writing)
        return;
    if (s->req_end_written && s->upstream_keepalive && !s->res_eof) {
        h2o_socket_read_stop(s->up->sock);
        gw_upstream_release(s->up);
        s->up = NULL;
        s->up_ready = 0;
    } else if (!s->req_end_written) {
        /* the backend answered before the request ended: the rest of the body goes nowhere */
        close_upstream(s);
        s->req_drop = 1;
        if (s->rin->size != 0) {
            nghttp2_session_consume_connection(s->hc->ng, s->rin->size);
            s->unconsumed -= s->rin->size;
            h2o_buffer_consume(&s->rin, s->rin->size);
        }
    }
}

static void on_upstream_read(h2o_socket_t *sock, const char *err)
{
    struct gw_upstream *up = sock->data;
    struct h2stream *s = up->owner;
    if (err != NULL) {
        if (s->res_done) {
            close_upstream(s);
        } else if (s->res_started && s->res_body == GW_HTTP1_BODY_CLOSE) {
            s->res_eof = 1;
            s->upstream_keepalive = 0;
            h2o_socket_read_stop(sock);
            pump_response(s);
        } else {
            upstream_failed(s, 0);
        }
        conn_send(s->hc);
        return;
    }
    progress(s);
    pump_response(s);
    conn_send(s->hc);
}

/* ---- the request upstream ---- */

static void on_request_written(h2o_socket_t *sock, const char *err)
{
    struct gw_upstream *up = sock->data;
    struct h2stream *s = up->owner;
    struct h2conn *hc = s->hc;
    s->up_writing = 0;
    if (err != NULL) {
        upstream_failed(s, 0);
        conn_send(hc);
        return;
    }
    if (s->fly_data != 0) {
        nghttp2_session_consume(hc->ng, s->id, s->fly_data);
        s->unconsumed -= s->fly_data;
    }
    s->fly_data = 0;
    h2o_buffer_consume(&s->rfly, s->rfly->size);
    progress(s);
    pump_request(s);
    if (s->req_end_written)
        maybe_release(s);
    conn_send(hc);
}

/* Hands what the request has (head, body bytes, the end) to the upstream: one write in flight. */
static void pump_request(struct h2stream *s)
{
    h2o_iovec_t bufs[5];
    size_t n = 0;
    if (s->up == NULL || !s->up_ready || s->up_writing || s->req_end_written)
        return;
    if (!s->head_written) {
        bufs[n++] = h2o_iovec_init(s->head, s->head_len);
        s->head_written = 1;
    }
    if (s->rin->size != 0) {
        h2o_buffer_t *t = s->rfly;
        s->rfly = s->rin;
        s->rin = t;
        s->fly_data = s->rfly->size;
        if (s->chunked_up)
            bufs[n++] = h2o_iovec_init(s->chunk_line, (size_t)snprintf(s->chunk_line, sizeof(s->chunk_line), "%zx\r\n", s->fly_data));
        bufs[n++] = h2o_iovec_init(s->rfly->bytes, s->fly_data);
        if (s->chunked_up)
            bufs[n++] = h2o_iovec_init(H2O_STRLIT("\r\n"));
    }
    if (s->req_end) {
        if (s->chunked_up)
            bufs[n++] = h2o_iovec_init(H2O_STRLIT("0\r\n\r\n"));
        s->req_end_written = 1;
    }
    if (n == 0)
        return;
    s->up_writing = 1;
    h2o_socket_write(s->up->sock, bufs, n, on_request_written);
}

static void upstream_ready(void *owner)
{
    struct h2stream *s = owner;
    s->up_ready = 1;
    progress(s);
    h2o_socket_read_start(s->up->sock, on_upstream_read);
    pump_request(s);
    conn_send(s->hc);
}

static void on_upstream_failed(void *owner)
{
    struct h2stream *s = owner;
    upstream_failed(s, 0);
    conn_send(s->hc);
}

static const struct gw_upstream_ops upstream_ops = {upstream_ready, on_upstream_failed};

static void start_upstream(struct h2stream *s)
{
    s->head_written = 0;
    s->req_end_written = 0;
    gw_upstream_start(s->hc->rt, s->backend, s->retried, s, &upstream_ops, &s->up);
}

/*
 * The upstream failed or timed out. Before the response began: one retry (a
 * bodyless request on a reused connection), else 502/504. After: the stream
 * is reset.
 */
static void upstream_failed(struct h2stream *s, int is_timeout)
{
    int retry = !is_timeout && s->up != NULL && s->up->reused && s->up->sock->input->size == 0 && !s->res_started && s->bodyless &&
                !s->retried;
    close_upstream(s);
    if (s->res_started) {
        if (!s->local)
            rst(s, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (retry) {
        s->retried = 1;
        start_upstream(s);
        return;
    }
    if (is_timeout)
        send_local(s, 504, "GatewayTimeout", "The backend did not answer within proxy.upstream_timeout.", NULL);
    else
        send_local(s, 502, "BadGateway", "The backend refused the connection or broke it before answering.", NULL);
}

static void on_stream_timeout(h2o_timeout_entry_t *entry)
{
    struct h2stream *s = H2O_STRUCT_FROM_MEMBER(struct h2stream, timeout, entry);
    struct h2conn *hc = s->hc;
    if (!s->res_started) {
        upstream_failed(s, 1);
    } else {
        close_upstream(s);
        rst(s, NGHTTP2_CANCEL);
    }
    conn_send(hc);
}

/* ---- the decision ---- */

static const char *hstr(const struct h2stream *s, int64_t off)
{
    return s->hbuf + off;
}

/* 413 for a body over proxy.http2_max_body (before it began, or when DATA adds up past it). */
static void refuse_too_large(struct h2stream *s)
{
    struct gw_relay_thread *rt = s->hc->rt;
    gw_proxy_decision_t *d = &rt->decision;
    gw_proxy_count_refusal(rt->relay->proxy, "RequestBodyTooLarge");
    if (s->res_started) {
        close_upstream(s);
        rst(s, NGHTTP2_CANCEL);
        return;
    }
    snprintf(d->err.message, sizeof(d->err.message), "the body is larger than proxy.http2_max_body (%zu bytes)",
             rt->relay->conf->proxy.http2_max_body);
    d->sts_len = 0;
    send_local(s, 413, "RequestBodyTooLarge", gw_proxy_error_message("RequestBodyTooLarge"), d->err.message);
}

/* Decides a stream whose header block is complete: refuse, or forward. */
static void decide_stream(struct h2stream *s)
{
    struct h2conn *hc = s->hc;
    struct gw_relay_thread *rt = hc->rt;
    gw_http1_head_t *h = &rt->head;

    s->decided = 1;
    gettimeofday(&s->start, NULL);
    s->is_head = s->method >= 0 && s->method_len == 4 && memcmp(hstr(s, s->method), "HEAD", 4) == 0;
    s->bodyless = s->req_end && s->content_length <= 0;
    if (s->too_big) {
        send_local(s, 431, "InvalidInput", "The request head is larger than 64 KiB or has too many header fields.", NULL);
        gw_proxy_count_refusal(rt->relay->proxy, "InvalidInput");
        return;
    }
    if (s->method < 0 || s->path < 0 || s->path_len == 0 || hstr(s, s->path)[0] != '/') {
        send_local(s, 400, "InvalidInput", "The request is not valid HTTP/2 for this proxy (pseudo-headers or request target).", NULL);
        gw_proxy_count_refusal(rt->relay->proxy, "InvalidInput");
        return;
    }
    if (s->bad_expect) {
        send_local(s, 417, "UnsupportedHeader", "The Expect header holds an expectation this server does not support (only 100-continue).",
                   NULL);
        gw_proxy_count_refusal(rt->relay->proxy, "UnsupportedHeader");
        return;
    }
    if (s->content_length > 0 && (uint64_t)s->content_length > GW_RELAY_MAX_BODY) {
        send_local(s, 413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.", NULL);
        gw_proxy_count_refusal(rt->relay->proxy, "RequestBodyTooLarge");
        return;
    }

    /* cookie crumbs are one header again for HTTP/1.1 (RFC 9113 8.2.3), where the first one was; first, as hbuf may move */
    int64_t cookie = -1;
    size_t cookie_len = 0, cookies = 0;
    for (size_t i = 0; i != s->num_hdr; i++)
        cookies += s->hdr[i].name_len == 6 && memcmp(hstr(s, s->hdr[i].name), "cookie", 6) == 0;
    for (size_t i = 0; cookies > 1 && i != s->num_hdr; i++) {
        if (s->hdr[i].name_len != 6 || memcmp(hstr(s, s->hdr[i].name), "cookie", 6) != 0)
            continue;
        int64_t at = keep(s, (const uint8_t *)"; ", cookie < 0 ? 0 : 2); /* hbuf may move: offsets only */
        if (cookie < 0)
            cookie = at;
        s->hlen--; /* contiguous: drop the NUL keep() adds */
        keep(s, (const uint8_t *)hstr(s, s->hdr[i].value), s->hdr[i].value_len);
        s->hlen--;
        cookie_len = (size_t)((int64_t)s->hlen - cookie);
    }
    if (cookie >= 0)
        keep(s, (const uint8_t *)"", 0);

    /* the head in HTTP/1.1's shape: :authority as Host when the client sent none */
    memset(h, 0, offsetof(gw_http1_head_t, headers));
    h->method = hstr(s, s->method);
    h->method_len = s->method_len;
    h->target = hstr(s, s->path);
    h->target_len = s->path_len;
    h->minor_version = 1;
    h->num_headers = 0;
    size_t head_len = s->method_len + s->path_len + 16;
    int cookie_done = 0;
    for (size_t i = 0; i != s->num_hdr; i++) {
        int is_cookie = cookie >= 0 && s->hdr[i].name_len == 6 && memcmp(hstr(s, s->hdr[i].name), "cookie", 6) == 0;
        if (is_cookie && cookie_done)
            continue;
        h->headers[h->num_headers++] = (struct phr_header){hstr(s, s->hdr[i].name), s->hdr[i].name_len,
                                                           is_cookie ? hstr(s, cookie) : hstr(s, s->hdr[i].value),
                                                           is_cookie ? cookie_len : s->hdr[i].value_len};
        head_len += s->hdr[i].name_len + (is_cookie ? cookie_len : s->hdr[i].value_len) + 4;
        cookie_done |= is_cookie;
    }
    if (!s->has_host && s->authority >= 0 && h->num_headers != GW_HTTP1_MAX_HEADERS) {
        h->headers[h->num_headers++] = (struct phr_header){"host", 4, hstr(s, s->authority), s->authority_len};
        head_len += s->authority_len + 8;
    }
    h->head_len = head_len;
    h->keepalive = 1;
    h->expect_continue = s->expect_continue;
    h->upgrade = 0;
    if (s->content_length >= 0) {
        h->body = GW_HTTP1_BODY_LENGTH;
        h->content_length = (uint64_t)s->content_length;
    } else if (s->req_end) {
        h->body = GW_HTTP1_BODY_NONE;
    } else {
        h->body = GW_HTTP1_BODY_CHUNKED; /* a body without content-length goes upstream chunked */
        s->chunked_up = 1;
    }

    ssize_t bi = gw_upstream_decide(rt, h, hc->is_https, &hc->peer, hc->peerlen);
    gw_proxy_decision_t *d = &rt->decision;
    if (bi < 0) {
        gw_proxy_count_refusal(rt->relay->proxy, d->code);
        send_local(s, d->status, d->code, gw_proxy_error_message(d->code), d->err.message);
        return;
    }
    size_t max_body = rt->relay->conf->proxy.http2_max_body;
    if (s->content_length > 0 && (uint64_t)s->content_length > max_body) {
        refuse_too_large(s);
        return;
    }
    s->backend = (size_t)bi;
    int rs;
    s->head_len = gw_upstream_request_head(&rt->relay->backends[bi], h, d, hc->peer_text, hc->is_https, (int64_t)time(NULL),
                                           &s->head, &rs);
    if (rs != GW_RESIGN_OK) {
        gw_resign_refuse(d, rs);
        gw_proxy_count_refusal(rt->relay->proxy, d->code);
        send_local(s, d->status, d->code, gw_proxy_error_message(d->code), d->err.message);
        return;
    }
    s->overrides = gw_upstream_overrides(d, &s->overrides_len);
    if (s->head_len == 0) {
        send_local(s, 431, "InvalidInput", "The request head is larger than 64 KiB or has too many header fields.", NULL);
        return;
    }
    free(s->hbuf); /* the head is written: the received one is no longer needed */
    s->hbuf = NULL;
    s->hlen = s->hcap = 0;
    if (s->expect_continue && !s->req_end) {
        nghttp2_nv nv = NV(":status", "100", 3);
        nghttp2_submit_headers(hc->ng, NGHTTP2_FLAG_NONE, s->id, NULL, &nv, 1, NULL);
    }
    progress(s);
    start_upstream(s);
}

/* ---- nghttp2's callbacks ---- */

static void stream_free(struct h2stream *s)
{
    struct h2conn *hc = s->hc;
    if (s->decided && s->res_started) {
        struct timeval now;
        gettimeofday(&now, NULL);
        gw_server_count_request(hc->rt->relay->server, GW_SERVICE_PROXY, H2_ROUTE_LABEL, s->status,
                                h2o_timeval_subtract(&s->start, &now));
    }
    close_upstream(s); /* still attached: the exchange did not end cleanly */
    if (s->unconsumed != 0 && !hc->closed)
        nghttp2_session_consume_connection(hc->ng, s->unconsumed); /* the connection's window is not lost with the stream */
    if (h2o_timeout_is_linked(&s->timeout))
        h2o_timeout_unlink(&s->timeout);
    h2o_linklist_unlink(&s->link);
    h2o_buffer_dispose(&s->rin);
    h2o_buffer_dispose(&s->rfly);
    h2o_buffer_dispose(&s->resbuf);
    free(s->hbuf);
    free(s->head);
    free(s->overrides);
    free(s);
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user_data)
{
    struct h2conn *hc = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2stream *s = sg_calloc(1, sizeof(*s));
    s->hc = hc;
    s->id = frame->hd.stream_id;
    s->method = s->path = s->authority = -1;
    s->content_length = -1;
    s->timeout.cb = on_stream_timeout;
    s->dec.consume_trailer = 1;
    h2o_buffer_init(&s->rin, &h2o_socket_buffer_prototype);
    h2o_buffer_init(&s->rfly, &h2o_socket_buffer_prototype);
    h2o_buffer_init(&s->resbuf, &h2o_socket_buffer_prototype);
    h2o_linklist_insert(&hc->streams, &s->link);
    nghttp2_session_set_stream_user_data(ng, s->id, s);
    return 0;
}

/* Copies bytes (maybe from hbuf itself) into the stream's header buffer, NUL-terminated; returns their offset. */
static int64_t keep(struct h2stream *s, const uint8_t *p, size_t n)
{
    if (s->hlen + n + 1 > s->hcap) {
        size_t cap = s->hcap == 0 ? 1024 : s->hcap;
        while (cap < s->hlen + n + 1)
            cap *= 2;
        /* p may point into hbuf (cookie joining) */
        int inside = s->hbuf != NULL && (const char *)p >= s->hbuf && (const char *)p < s->hbuf + s->hlen;
        size_t p_off = inside ? (size_t)((const char *)p - s->hbuf) : 0;
        s->hbuf = sg_realloc(s->hbuf, cap);
        s->hcap = cap;
        if (inside)
            p = (const uint8_t *)s->hbuf + p_off;
    }
    memcpy(s->hbuf + s->hlen, p, n);
    s->hbuf[s->hlen + n] = '\0';
    int64_t off = (int64_t)s->hlen;
    s->hlen += n + 1;
    return off;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen, const uint8_t *value,
                     size_t valuelen, uint8_t flags, void *user_data)
{
    struct h2stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (s == NULL || s->decided || frame->hd.type != NGHTTP2_HEADERS)
        return 0; /* trailers: not forwarded */
    s->list_bytes += namelen + valuelen + 32;
    if (s->list_bytes > H2_MAX_HEADER_LIST)
        s->too_big = 1;
    if (s->too_big)
        return 0;
    if (namelen != 0 && name[0] == ':') {
        int64_t off = keep(s, value, valuelen);
        if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
            s->method = off;
            s->method_len = (uint32_t)valuelen;
        } else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
            s->path = off;
            s->path_len = (uint32_t)valuelen;
        } else if (namelen == 10 && memcmp(name, ":authority", 10) == 0) {
            s->authority = off;
            s->authority_len = (uint32_t)valuelen;
        }
        return 0; /* :scheme: is_https is the listener's */
    }
    if (namelen == 6 && memcmp(name, "expect", 6) == 0) {
        if (h2o_lcstris((const char *)value, valuelen, H2O_STRLIT("100-continue")))
            s->expect_continue = 1;
        else
            s->bad_expect = 1;
        return 0;
    }
    if (namelen == 14 && memcmp(name, "content-length", 14) == 0) {
        /* nghttp2 checked it is digits, and the DATA will add up to it */
        int64_t v = 0;
        for (size_t i = 0; i != valuelen; i++)
            v = v * 10 + (value[i] - '0');
        s->content_length = v;
    }
    if (namelen == 4 && memcmp(name, "host", 4) == 0)
        s->has_host = 1;
    if (s->num_hdr == GW_HTTP1_MAX_HEADERS) {
        s->too_big = 1;
        return 0;
    }
    s->hdr[s->num_hdr].name = (uint32_t)keep(s, name, namelen);
    s->hdr[s->num_hdr].name_len = (uint32_t)namelen;
    s->hdr[s->num_hdr].value = (uint32_t)keep(s, value, valuelen);
    s->hdr[s->num_hdr].value_len = (uint32_t)valuelen;
    s->num_hdr++;
    return 0;
}

/* Header blocks are contiguous on a connection: their frames and bytes are counted as they begin (CONTINUATION floods). */
static int on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *user_data)
{
    struct h2conn *hc = user_data;
    if (hd->type == NGHTTP2_HEADERS) {
        hc->block_frames = 1;
        hc->block_bytes = hd->length;
    } else if (hd->type == NGHTTP2_CONTINUATION) {
        hc->block_frames++;
        hc->block_bytes += hd->length;
    } else {
        return 0;
    }
    if (hc->block_frames > H2_MAX_HEADER_FRAMES || hc->block_bytes > H2_MAX_HEADER_BLOCK)
        return NGHTTP2_ERR_CALLBACK_FAILURE; /* fatal: GOAWAY(ENHANCE_YOUR_CALM), see on_read() */
    return 0;
}

static void on_request_end(struct h2stream *s)
{
    s->req_end = 1;
    if (!s->req_drop)
        pump_request(s);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user_data)
{
    struct h2conn *hc = user_data;
    struct h2stream *s = frame->hd.stream_id != 0 ? nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id) : NULL;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        if (s == NULL)
            break;
        if (!s->decided) {
            s->req_end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
            decide_stream(s);
        } else if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            on_request_end(s);
        }
        break;
    case NGHTTP2_DATA:
        if (s != NULL && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
            on_request_end(s);
        break;
    case NGHTTP2_RST_STREAM: {
        /* rapid reset (CVE-2023-44487): a budget of client resets per second */
        uint64_t now = h2o_now(hc->rt->loop) / 1000;
        if (now != hc->rst_second) {
            hc->rst_second = now;
            hc->rst_count = 0;
        }
        if (++hc->rst_count > H2_RST_BURST)
            nghttp2_session_terminate_session(ng, NGHTTP2_ENHANCE_YOUR_CALM);
    } break;
    default:
        break;
    }
    return 0;
}

static int on_data_chunk_recv(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user_data)
{
    struct h2stream *s = nghttp2_session_get_stream_user_data(ng, id);
    if (s != NULL && s->draining) {
        nghttp2_session_consume(ng, id, len); /* dropped as it comes */
        return 0;
    }
    if (s == NULL || s->req_drop) {
        nghttp2_session_consume_connection(ng, len); /* the connection's window, never the stream's */
        if (s != NULL)
            s->dropped += len;
        return 0;
    }
    s->received += len;
    if (s->received > s->hc->rt->relay->conf->proxy.http2_max_body) {
        nghttp2_session_consume_connection(ng, len);
        refuse_too_large(s);
        return 0;
    }
    buf_append(&s->rin, data, len);
    s->unconsumed += len;
    progress(s);
    pump_request(s);
    return 0;
}

static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user_data)
{
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct h2stream *s = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
        /*
         * The answer is complete while the client still sends: its body is
         * not wanted (RFC 9113 8.1). A refused request whose declared rest is
         * small is read and dropped to its end, so that clients which take a
         * RST_STREAM after the answer as a failure (curl 7.88 exits 92) see a
         * clean end; anything larger, of unknown length, or waiting for a
         * 100 Continue that will not come, is reset now.
         */
        if (s != NULL && !s->req_end) {
            if (s->req_drop && s->received == 0 && !s->expect_continue && s->content_length >= 0 && (uint64_t)s->content_length >= s->dropped &&
                (uint64_t)s->content_length - s->dropped <= H2_DRAIN_MAX) {
                s->draining = 1;
                if (s->dropped != 0)
                    nghttp2_session_consume_stream(ng, frame->hd.stream_id, s->dropped);
            } else {
                rst(s, NGHTTP2_NO_ERROR);
            }
        }
    }
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code, void *user_data)
{
    struct h2stream *s = nghttp2_session_get_stream_user_data(ng, id);
    if (s != NULL)
        stream_free(s);
    return 0;
}

/* ---- the connection ---- */

static void on_written(h2o_socket_t *sock, const char *err)
{
    struct h2conn *hc = sock->data;
    hc->writing = 0;
    hc->wlen = 0;
    if (err != NULL) {
        close_h2conn(hc);
        return;
    }
    conn_send(hc);
}

static void kick_streams(struct h2conn *hc)
{
    hc->kick = 0;
    for (h2o_linklist_t *l = hc->streams.next; l != &hc->streams;) {
        struct h2stream *s = H2O_STRUCT_FROM_MEMBER(struct h2stream, link, l);
        l = l->next;
        if (s->kick)
            pump_response(s);
    }
}

/* Serializes what the session has to send and writes it (one write in flight); closes when the session is done. */
static void conn_send(struct h2conn *hc)
{
    if (hc->writing || hc->in_ng || hc->closed)
        return;
    if (hc->fatal) {
        if (hc->fatal == 2) {
            close_h2conn(hc);
            return;
        }
        /* nghttp2 refuses any call on a session after a fatal error: the GOAWAY is written by hand */
        uint32_t last = (uint32_t)nghttp2_session_get_last_proc_stream_id(hc->ng), code = hc->fatal_code;
        uint8_t f[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0, (uint8_t)(last >> 24), (uint8_t)(last >> 16), (uint8_t)(last >> 8),
                         (uint8_t)last, (uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8), (uint8_t)code};
        memcpy(hc->wbuf, f, sizeof(f));
        hc->wlen = sizeof(f);
        hc->fatal = 2;
        h2o_iovec_t buf = h2o_iovec_init(hc->wbuf, hc->wlen);
        hc->writing = 1;
        h2o_socket_write(hc->sock, &buf, 1, on_written);
        return;
    }
    for (int round = 0; round != 4 && hc->wlen < H2_WRITE_BATCH; round++) {
        while (hc->wlen < H2_WRITE_BATCH) {
            const uint8_t *p;
            hc->in_ng = 1;
            ssize_t n = nghttp2_session_mem_send(hc->ng, &p);
            hc->in_ng = 0;
            if (n < 0) {
                close_h2conn(hc);
                return;
            }
            if (n == 0)
                break;
            if (hc->wlen + (size_t)n > hc->wcap) {
                hc->wcap = hc->wlen + (size_t)n > 2 * hc->wcap ? hc->wlen + (size_t)n : 2 * hc->wcap;
                hc->wbuf = sg_realloc(hc->wbuf, hc->wcap);
            }
            memcpy(hc->wbuf + hc->wlen, p, (size_t)n);
            hc->wlen += (size_t)n;
        }
        if (!hc->kick)
            break;
        kick_streams(hc);
    }
    if (hc->wlen != 0) {
        h2o_iovec_t buf = h2o_iovec_init(hc->wbuf, hc->wlen);
        hc->writing = 1;
        h2o_socket_write(hc->sock, &buf, 1, on_written);
        return;
    }
    if (!nghttp2_session_want_read(hc->ng) && !nghttp2_session_want_write(hc->ng))
        close_h2conn(hc);
}

static void close_h2conn(struct h2conn *hc)
{
    if (hc->closed)
        return;
    hc->closed = 1;
    while (!h2o_linklist_is_empty(&hc->streams)) {
        struct h2stream *s = H2O_STRUCT_FROM_MEMBER(struct h2stream, link, hc->streams.next);
        nghttp2_session_set_stream_user_data(hc->ng, s->id, NULL);
        close_upstream(s);
        stream_free(s);
    }
    nghttp2_session_del(hc->ng);
    if (h2o_timeout_is_linked(&hc->timeout))
        h2o_timeout_unlink(&hc->timeout);
    h2o_linklist_unlink(&hc->link);
    h2o_socket_close(hc->sock);
    free(hc->wbuf);
    free(hc);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct h2conn *hc = sock->data;
    if (err != NULL) {
        close_h2conn(hc);
        return;
    }
    if (h2o_timeout_is_linked(&hc->timeout))
        h2o_timeout_unlink(&hc->timeout);
    h2o_timeout_link(hc->rt->loop, &hc->rt->client_timeout, &hc->timeout);
    if (hc->fatal) {
        h2o_buffer_consume(&sock->input, sock->input->size);
        return;
    }
    hc->in_ng = 1;
    ssize_t r = nghttp2_session_mem_recv(hc->ng, (const uint8_t *)sock->input->bytes, sock->input->size);
    hc->in_ng = 0;
    h2o_buffer_consume(&sock->input, sock->input->size);
    if (r < 0) {
        /* floods (ours: a header block too large; nghttp2's: too many CONTINUATION frames, unread acks) calm down */
        hc->fatal = 1;
        hc->fatal_code = r == NGHTTP2_ERR_CALLBACK_FAILURE || r == NGHTTP2_ERR_FLOODED || r == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                             ? NGHTTP2_ENHANCE_YOUR_CALM
                             : NGHTTP2_PROTOCOL_ERROR;
        h2o_socket_read_stop(sock);
    }
    conn_send(hc);
}

/* Nothing came from the client for client_timeout: an idle connection closes; one with streams waits for them. */
static void on_idle(h2o_timeout_entry_t *entry)
{
    struct h2conn *hc = H2O_STRUCT_FROM_MEMBER(struct h2conn, timeout, entry);
    if (!h2o_linklist_is_empty(&hc->streams)) {
        h2o_timeout_link(hc->rt->loop, &hc->rt->client_timeout, &hc->timeout);
        return;
    }
    nghttp2_session_terminate_session(hc->ng, NGHTTP2_NO_ERROR);
    conn_send(hc);
}

void gw_h2_accept(struct gw_relay_thread *rt, h2o_socket_t *sock, int is_https, const struct sockaddr_storage *peer,
                  socklen_t peerlen)
{
    struct h2conn *hc = sg_calloc(1, sizeof(*hc));
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;

    hc->sock = sock;
    hc->rt = rt;
    hc->is_https = is_https;
    hc->peer = *peer;
    hc->peerlen = peerlen;
    if (peerlen != 0) {
        if (peer->ss_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, hc->peer_text, sizeof(hc->peer_text));
        else if (peer->ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, hc->peer_text, sizeof(hc->peer_text));
    }
    h2o_linklist_init_anchor(&hc->streams);
    hc->timeout.cb = on_idle;
    hc->wcap = H2_WRITE_BATCH + 16 * 1024;
    hc->wbuf = sg_alloc(hc->wcap);

    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_outbound_ack(opt, H2_MAX_OUTBOUND_ACK);
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_option_set_stream_reset_rate_limit(opt, H2_RST_BURST, H2_RST_BURST / 2);
    nghttp2_session_server_new2(&hc->ng, cb, hc, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);

    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
                                         {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
                                         {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_LIST}};
    nghttp2_submit_settings(hc->ng, NGHTTP2_FLAG_NONE, settings, sizeof(settings) / sizeof(settings[0]));
    nghttp2_session_set_local_window_size(hc->ng, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW);
    if (rt->shutting_down)
        nghttp2_submit_goaway(hc->ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);

    h2o_linklist_insert(&rt->h2_conns, &hc->link);
    sock->data = hc;
    h2o_timeout_link(rt->loop, &rt->client_timeout, &hc->timeout);
    h2o_socket_read_start(sock, on_read);
    if (sock->input->size != 0)
        on_read(sock, NULL); /* the cleartext preface (and maybe more) is already in */
    else
        conn_send(hc);
}

void gw_h2_shutdown(struct gw_relay_thread *rt)
{
    for (h2o_linklist_t *l = rt->h2_conns.next; l != &rt->h2_conns;) {
        struct h2conn *hc = H2O_STRUCT_FROM_MEMBER(struct h2conn, link, l);
        l = l->next;
        nghttp2_submit_goaway(hc->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(hc->ng), NGHTTP2_NO_ERROR, NULL, 0);
        conn_send(hc);
    }
}

void gw_h2_close_all(struct gw_relay_thread *rt)
{
    while (!h2o_linklist_is_empty(&rt->h2_conns))
        close_h2conn(H2O_STRUCT_FROM_MEMBER(struct h2conn, link, rt->h2_conns.next));
}
