/*
 * http1.h - the HTTP/1.x message heads of sasgw's streaming proxy path
 * (relay.h): parsing a client's request head and an upstream's response head
 * into what the relay needs (framing of the body, keep-alive, Expect), and
 * writing the heads it forwards with the hop-by-hop headers dropped.
 *
 * Pure functions over bytes: no sockets, no allocation. Parsing is
 * picohttpparser's (inside libh2o 2.2.5, which exports it without a header;
 * picohttp.h declares that ABI), and the rules on top of it close the usual
 * request-smuggling doors: Content-Length and Transfer-Encoding together, a
 * Transfer-Encoding other than exactly "chunked", a malformed or repeated
 * Content-Length that disagrees, header names or values with control bytes,
 * obsolete line folding, and request targets not in origin form are refused.
 */
#ifndef SASGW_GATEWAY_HTTP1_H
#define SASGW_GATEWAY_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "picohttp.h"

#define GW_HTTP1_MAX_HEADERS 100
#define GW_HTTP1_MAX_HEAD (64 * 1024) /* bytes of a request or response head */

typedef enum en_gw_http1_body_t {
    GW_HTTP1_BODY_NONE = 0, /* no body (a request without Content-Length/Transfer-Encoding, HEAD/204/304 responses) */
    GW_HTTP1_BODY_LENGTH,   /* content_length bytes */
    GW_HTTP1_BODY_CHUNKED,  /* chunked transfer coding */
    GW_HTTP1_BODY_CLOSE     /* responses only: until the connection closes */
} gw_http1_body_t;

typedef struct st_gw_http1_head_t {
    /* request line (requests) */
    const char *method;
    size_t method_len;
    const char *target; /* origin form: starts with '/' */
    size_t target_len;
    /* status line (responses) */
    int status;
    const char *reason;
    size_t reason_len;

    int minor_version; /* 0 or 1 */
    struct phr_header headers[GW_HTTP1_MAX_HEADERS];
    size_t num_headers;
    size_t head_len; /* bytes of the head, the blank line included */

    gw_http1_body_t body;
    uint64_t content_length; /* GW_HTTP1_BODY_LENGTH */
    int keepalive;           /* the sender allows another message on this connection */
    int expect_continue;     /* requests: "Expect: 100-continue" */
    int upgrade;             /* an Upgrade header was present (ignored: the relay speaks HTTP/1.1 only) */
} gw_http1_head_t;

/*
 * Parses a request head at the start of buf (len bytes). Returns the head's
 * length (> 0, also in out->head_len; bytes after it, a body or a pipelined
 * request, are not looked at), 0 when more bytes are needed, or a negative
 * HTTP status for a request that must be refused and the connection closed:
 *   -400 malformed: a method that is not a 1-32 byte token, a target not in
 *        origin form ("*", absolute form), a version other than HTTP/1.0 or
 *        HTTP/1.1, a header name that is not a token, a value with a control
 *        byte, obsolete line folding, a Content-Length that is not 1-19 digits
 *        or repeated with different bytes, Transfer-Encoding together with
 *        Content-Length, twice, or in HTTP/1.0, no or several Host in
 *        HTTP/1.1, several Host in HTTP/1.0;
 *   -431 the head is longer than GW_HTTP1_MAX_HEAD (complete or not) or has
 *        more than GW_HTTP1_MAX_HEADERS header lines;
 *   -501 a Transfer-Encoding other than exactly "chunked" (any case);
 *   -417 an Expect other than "100-continue" (any case);
 *   -413 a Content-Length above max_body.
 * Content-Length 0 is GW_HTTP1_BODY_LENGTH with 0; NONE means no framing
 * header at all. keepalive is HTTP/1.1 without "close", or HTTP/1.0 with
 * "keep-alive" (and without "close"). expect_continue is only set for
 * HTTP/1.1 (RFC 9110 §10.1.1: ignored from HTTP/1.0). Bare LF line ends and
 * one empty line before the request line are accepted (RFC 9112 §2.2).
 * *out points into buf; on an error its fields are not meaningful.
 */
long gw_http1_parse_request(const char *buf, size_t len, uint64_t max_body, gw_http1_head_t *out);

/*
 * Parses a response head at the start of buf for a request made with
 * method_is_head. Returns the head's length (> 0), 0 when more bytes are
 * needed, or -1 when malformed or longer than GW_HTTP1_MAX_HEAD (the relay
 * answers 502): a status line other than "HTTP/1.0|1 ddd ", a status outside
 * 100-599 or 101 (the relay never asks for an upgrade), header names and
 * values as for requests, a malformed or disagreeing Content-Length (even
 * where the body's framing ignores it). 1xx responses are returned as such
 * (status 100-199, body NONE): the caller skips them.
 * Body: NONE for HEAD, 204 and 304 (content_length still set from a
 * Content-Length, for information); else CHUNKED when the last coding of the
 * Transfer-Encoding fields is chunked, CLOSE when another coding is last;
 * else LENGTH from Content-Length; else CLOSE. keepalive as for requests, and
 * 0 when the body is CLOSE or the framing is faulty (Transfer-Encoding with
 * Content-Length, or in HTTP/1.0: RFC 9112 §6.1).
 */
long gw_http1_parse_response(const char *buf, size_t len, int method_is_head, gw_http1_head_t *out);

/* 1 when s (len bytes) is an RFC 9110 token (methods, header names): at least one tchar, nothing else. */
int gw_http1_is_token(const char *s, size_t len);
/* 1 when s (len bytes) may be a field value: no control bytes but HTAB, no DEL (obs-text, 0x80-0xff, is allowed). */
int gw_http1_is_field_value(const char *s, size_t len);
/* 1 when s (len bytes) is visible ASCII only (0x21-0x7e): what a request target or a value the relay supplies may hold. */
int gw_http1_is_visible(const char *s, size_t len);

/*
 * 1 when the header name (len bytes, any case) is not copied into the request
 * sent upstream: hop-by-hop (Connection, Keep-Alive, Proxy-Connection, TE,
 * Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization,
 * Proxy-Authenticate), or one the relay writes itself (Host, Content-Length,
 * X-Forwarded-For, X-Forwarded-Proto) or answers itself (Expect).
 */
int gw_http1_is_hop_header(const char *name, size_t len);

/*
 * Writes the request head forwarded upstream into out (cap bytes):
 *   METHOD prefix+target HTTP/1.1
 *   host: host_header
 *   the client's other headers, in order and as received (those for which
 *   gw_http1_is_hop_header() says 1 and those named by Connection dropped)
 *   content-length: N | transfer-encoding: chunked (as the client framed it;
 *   a PUT, POST or PATCH without a body says content-length: 0)
 *   x-forwarded-for: <client's values joined by ", ">, <peer_text>
 *     (just peer_text when the client sent none; without peer_text, NULL or
 *     "", the client's values alone, or no line at all)
 *   x-forwarded-proto: http|https
 *   blank line
 * target replaces the head's own (the SAS stripped in origin mode). Returns
 * the length, or 0 when it does not fit in cap (bytes past cap are never
 * written) or when the arguments would break the head: prefix+target empty,
 * not starting with '/' or holding other than visible ASCII, host_header NULL
 * or with a control byte, peer_text with a control byte.
 */
size_t gw_http1_write_upstream_request(char *out, size_t cap, const gw_http1_head_t *req, const char *prefix, size_t prefix_len,
                                       const char *target, size_t target_len, const char *host_header, const char *peer_text,
                                       int is_https);

/*
 * Writes the response head sent to the client into out: status line
 * (HTTP/1.1, the upstream's reason or the standard one when it sent none),
 * the upstream's end-to-end headers as received (Connection, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade and those named by
 * its Connection header dropped), "transfer-encoding: chunked" when
 * chunked_out, "connection: keep-alive" or "connection: close", blank line.
 * Content-Length is decided by the framing alone, never by Connection: kept,
 * unless chunked_out, the body is CHUNKED or CLOSE, or a Transfer-Encoding
 * came with it. Returns the length, or 0 when it does not fit in cap (bytes
 * past cap are never written) or res->status is outside 100-599.
 */
size_t gw_http1_write_client_response(char *out, size_t cap, const gw_http1_head_t *res, int chunked_out, int keepalive);

#endif
