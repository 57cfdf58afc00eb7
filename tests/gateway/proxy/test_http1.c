/*
 * Tests gateway/proxy/http1.c: request and response heads (framing, smuggling-shaped
 * input, keep-alive, Expect), the heads the relay writes, and the behaviour of
 * libh2o's phr_decode_chunked the relay relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http1.h"

#define MAX_BODY ((uint64_t)1 << 40)

/* Heads are ~3 KiB; one static of each keeps the test's stack small. */
static gw_http1_head_t head, head2;
static char big[2 * GW_HTTP1_MAX_HEAD];

static long req(const char *s)
{
    return gw_http1_parse_request(s, strlen(s), MAX_BODY, &head);
}

static long req_max(const char *s, uint64_t max_body)
{
    return gw_http1_parse_request(s, strlen(s), max_body, &head);
}

static long res(const char *s, int method_is_head)
{
    return gw_http1_parse_response(s, strlen(s), method_is_head, &head);
}

static int str_eq(const char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

static void parses_a_simple_request(void **state)
{
    const char *s = "GET /c/b?comp=list HTTP/1.1\r\nHost: acct.blob\r\nX-Ms-Version: 2021-08-06\r\n\r\n";
    assert_int_equal(req(s), strlen(s));
    assert_true(str_eq(head.method, head.method_len, "GET"));
    assert_true(str_eq(head.target, head.target_len, "/c/b?comp=list"));
    assert_int_equal(head.minor_version, 1);
    assert_int_equal(head.num_headers, 2);
    assert_true(str_eq(head.headers[1].value, head.headers[1].value_len, "2021-08-06"));
    assert_int_equal(head.head_len, strlen(s));
    assert_int_equal(head.body, GW_HTTP1_BODY_NONE);
    assert_int_equal(head.keepalive, 1);
    assert_int_equal(head.expect_continue, 0);
    assert_int_equal(head.upgrade, 0);

    /* bare LF line ends are read too (RFC 9112 §2.2), and a lower-case method is a token */
    assert_true(req("get / HTTP/1.1\nHost: a\n\n") > 0);
    /* 32 token characters is the longest method */
    assert_true(req("ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&' / HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    assert_int_equal(req("ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&'* / HTTP/1.1\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), -400);
}

static void frames_request_bodies(void **state)
{
    assert_true(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n") > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_LENGTH);
    assert_int_equal(head.content_length, 5);
    /* Content-Length 0 is LENGTH 0, not NONE */
    assert_true(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n") > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_LENGTH);
    assert_int_equal(head.content_length, 0);
    /* surrounding whitespace is trimmed */
    assert_true(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: \t7 \t\r\n\r\n") > 0);
    assert_int_equal(head.content_length, 7);
    /* 19 digits is the most, and fits */
    assert_true(req_max("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n", UINT64_MAX) > 0);
    assert_true(head.content_length == UINT64_C(9999999999999999999));
    assert_true(req("PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CHUNKED);
    assert_true(req("PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  ChUnKeD \r\n\r\n") > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CHUNKED);
    /* repeated Content-Length only when identical */
    assert_true(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5 \r\n\r\n") > 0);
    assert_int_equal(head.content_length, 5);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n"), -400);
    /* malformed Content-Length */
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000000000000000\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n"), -400);
    /* Transfer-Encoding: exactly chunked, alone, once, HTTP/1.1 only */
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), -501);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), -501);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), -501);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"), -501);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
    assert_int_equal(req("PUT /b HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), -400);
    /* above max_body */
    assert_int_equal(req_max("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 10), -413);
    assert_true(req_max("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", 10) > 0);
}

static void refuses_bad_request_lines(void **state)
{
    assert_int_equal(req("GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.01\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), -400);
    assert_int_equal(req("GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
}

static void refuses_bad_request_headers(void **state)
{
    /* obsolete line folding */
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n"), -400);
    /* control bytes in values, DEL; HTAB and obs-text are fine */
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n"), -400);
    assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\tc \xe9\r\n\r\n") > 0);
    /* names: non-empty tokens, no space before the colon */
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n"), -400);
}

static void requires_one_host(void **state)
{
    assert_int_equal(req("GET / HTTP/1.1\r\nX-A: b\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), -400);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), -400);
    assert_true(req("GET / HTTP/1.0\r\n\r\n") > 0);
    assert_int_equal(head.minor_version, 0);
    assert_true(req("GET / HTTP/1.0\r\nHost: a\r\n\r\n") > 0);
    assert_int_equal(req("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), -400);
}

static void waits_for_a_complete_head(void **state)
{
    const char *s = "PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    size_t len = strlen(s);

    assert_int_equal(gw_http1_parse_request("", 0, MAX_BODY, &head), 0);
    for (size_t i = 0; i != len; ++i)
        assert_int_equal(gw_http1_parse_request(s, i, MAX_BODY, &head), 0);
    assert_int_equal(gw_http1_parse_request(s, len, MAX_BODY, &head), len);
    /* a malformed start is refused before the head ends */
    assert_int_equal(req("GET / HTTP/3.0\r\n"), -400);
}

/* Fills big with a request head whose X-Pad value makes it total bytes long (the blank line included). */
static size_t padded_request(size_t total, int complete)
{
    const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
    size_t n = strlen(start);
    memcpy(big, start, n);
    memset(big + n, 'p', total - n - 4);
    memcpy(big + total - 4, "\r\n\r\n", 4);
    return complete ? total : total - 4;
}

static void limits_head_size_and_headers(void **state)
{
    size_t len;

    len = padded_request(GW_HTTP1_MAX_HEAD, 1);
    assert_int_equal(gw_http1_parse_request(big, len, MAX_BODY, &head), GW_HTTP1_MAX_HEAD);
    len = padded_request(GW_HTTP1_MAX_HEAD + 1, 1);
    assert_int_equal(gw_http1_parse_request(big, len, MAX_BODY, &head), -431);
    len = padded_request(65 * 1024 + 100, 1);
    assert_int_equal(gw_http1_parse_request(big, len, MAX_BODY, &head), -431);
    /* still incomplete past the limit */
    len = padded_request(65 * 1024 + 100, 0);
    assert_int_equal(gw_http1_parse_request(big, len, MAX_BODY, &head), -431);
    len = padded_request(GW_HTTP1_MAX_HEAD, 0);
    assert_int_equal(gw_http1_parse_request(big, len, MAX_BODY, &head), 0);

    /* GW_HTTP1_MAX_HEADERS headers are fine, one more is 431 */
    for (int extra = 0; extra != 2; ++extra) {
        size_t n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 1; i != GW_HTTP1_MAX_HEADERS + extra; ++i)
            n += (size_t)snprintf(big + n, sizeof(big) - n, "X-H%d: v\r\n", i);
        n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
        assert_int_equal(gw_http1_parse_request(big, n, MAX_BODY, &head), extra ? -431 : (long)n);
        if (!extra)
            assert_int_equal(head.num_headers, GW_HTTP1_MAX_HEADERS);
    }
    /* a malformed head of GW_HTTP1_MAX_HEADERS lines is 400, the empty line allowed before it not being a header */
    size_t m = (size_t)snprintf(big, sizeof(big), "\nGET / HTTP/1.1\r\nX-Bad: \x01\r\n");
    for (int i = 1; i != GW_HTTP1_MAX_HEADERS; ++i)
        m += (size_t)snprintf(big + m, sizeof(big) - m, "X-H%d: v\r\n", i);
    m += (size_t)snprintf(big + m, sizeof(big) - m, "\r\n");
    assert_int_equal(gw_http1_parse_request(big, m, MAX_BODY, &head), -400);
    /* a malformed head followed by many lines of body is malformed, not too large */
    size_t n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX-A: \x01\r\n\r\n");
    for (int i = 0; i != 2 * GW_HTTP1_MAX_HEADERS; ++i)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "line %d\r\n", i);
    assert_int_equal(gw_http1_parse_request(big, n, MAX_BODY, &head), -400);
}

static void handles_expect(void **state)
{
    assert_true(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n") > 0);
    assert_int_equal(head.expect_continue, 1);
    assert_true(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-Continue \r\n\r\n") > 0);
    assert_int_equal(head.expect_continue, 1);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 200-ok\r\n\r\n"), -417);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue, x\r\n\r\n"), -417);
    assert_int_equal(req("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect:\r\n\r\n"), -417);
    /* HTTP/1.0 clients cannot wait for 100 Continue: ignored */
    assert_true(req("PUT /b HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n") > 0);
    assert_int_equal(head.expect_continue, 0);
}

static void decides_request_keepalive(void **state)
{
    assert_true(req("GET / HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    assert_int_equal(head.keepalive, 1);
    assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") > 0);
    assert_int_equal(head.keepalive, 0);
    assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n") > 0);
    assert_int_equal(head.keepalive, 0);
    assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n") > 0);
    assert_int_equal(head.keepalive, 1);
    assert_true(req("GET / HTTP/1.0\r\n\r\n") > 0);
    assert_int_equal(head.keepalive, 0);
    assert_true(req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") > 0);
    assert_int_equal(head.keepalive, 1);
    assert_true(req("GET / HTTP/1.0\r\nConnection: x-foo ,Keep-Alive\r\n\r\n") > 0);
    assert_int_equal(head.keepalive, 1);
    assert_true(req("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n") > 0);
    assert_int_equal(head.keepalive, 0);
    /* Upgrade is noted, not refused */
    assert_true(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n") > 0);
    assert_int_equal(head.upgrade, 1);
}

static void leaves_pipelined_requests_alone(void **state)
{
    const char *first = "PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    const char *s = "PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: a\r\n\r\n";

    assert_int_equal(req(s), strlen(first));
    assert_int_equal(head.head_len, strlen(first));
    assert_int_equal(head.content_length, 5);
    const char *second = s + head.head_len + head.content_length;
    assert_int_equal(gw_http1_parse_request(second, strlen(second), MAX_BODY, &head2), strlen(second));
    assert_true(str_eq(head2.target, head2.target_len, "/b"));
    assert_int_equal(req("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"), 28);
}

static void parses_responses(void **state)
{
    const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\nhello";
    assert_int_equal(res(s, 0), strlen(s) - 5);
    assert_int_equal(head.status, 200);
    assert_true(str_eq(head.reason, head.reason_len, "OK"));
    assert_int_equal(head.body, GW_HTTP1_BODY_LENGTH);
    assert_int_equal(head.content_length, 5);
    assert_int_equal(head.keepalive, 1);

    /* HEAD, 204, 304: no body whatever the headers say */
    assert_true(res("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_NONE);
    assert_int_equal(head.content_length, 5);
    assert_int_equal(head.keepalive, 1);
    assert_true(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_NONE);
    assert_true(res("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_NONE);
    assert_true(res("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_NONE);
    assert_int_equal(head.keepalive, 1);
    assert_int_equal(res("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 1), -1);

    /* chunked wins over Content-Length, and the connection is not reused */
    assert_true(res("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CHUNKED);
    assert_int_equal(head.keepalive, 0);
    assert_true(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CHUNKED);
    assert_int_equal(head.keepalive, 1);
    assert_true(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CHUNKED);
    /* empty list elements do not count as codings */
    assert_true(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, ,\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CHUNKED);
    /* chunked not last: read to the end */
    assert_true(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CLOSE);
    assert_int_equal(head.keepalive, 0);
    assert_true(res("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CLOSE);
    /* no framing: read to the end */
    assert_true(res("HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_CLOSE);
    assert_int_equal(head.keepalive, 0);
    /* Content-Length: repeated identical, conflicting, malformed */
    assert_true(res("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 0) > 0);
    assert_int_equal(head.content_length, 3);
    assert_int_equal(res("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", 0), -1);
    /* HTTP/1.0 keep-alive */
    assert_true(res("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", 0) > 0);
    assert_int_equal(head.keepalive, 0);
    assert_true(res("HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n", 0) > 0);
    assert_int_equal(head.keepalive, 1);
    assert_true(res("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", 0) > 0);
    assert_int_equal(head.keepalive, 0);
}

static void handles_interim_and_bad_responses(void **state)
{
    const char *s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(res(s, 0), 25);
    assert_int_equal(head.status, 100);
    assert_int_equal(head.body, GW_HTTP1_BODY_NONE);
    assert_int_equal(res(s + 25, 0), strlen(s) - 25);
    assert_int_equal(head.status, 200);
    assert_true(res("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 0) > 0);
    assert_int_equal(head.body, GW_HTTP1_BODY_NONE);

    assert_int_equal(res("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 099 X\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 600 X\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 0200 OK\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 20 OK\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.2 200 OK\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.01 200 OK\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/2.0 200 OK\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 200 OK\r\nX A: b\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 200 OK\r\nX-A: b\x01\r\n\r\n", 0), -1);
    assert_int_equal(res("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", 0), 0);
    assert_int_equal(res("HTTP/1.1 2", 0), 0);
    assert_int_equal(gw_http1_parse_response("", 0, 0, &head), 0);

    /* an upstream head over the limit, complete or not */
    memcpy(big, "HTTP/1.1 200 OK\r\nX-Pad: ", 24);
    memset(big + 24, 'p', sizeof(big) - 24);
    assert_int_equal(gw_http1_parse_response(big, GW_HTTP1_MAX_HEAD + 1, 0, &head), -1);
    memcpy(big + GW_HTTP1_MAX_HEAD + 100, "\r\n\r\n", 4);
    assert_int_equal(gw_http1_parse_response(big, GW_HTTP1_MAX_HEAD + 104, 0, &head), -1);
}

static void knows_hop_headers(void **state)
{
    static const char *const hop[] = {
        "connection",      "keep-alive",          "proxy-connection",   "te",   "trailer",        "transfer-encoding",
        "upgrade",         "proxy-authorization", "proxy-authenticate", "host", "content-length", "expect",
        "x-forwarded-for", "x-forwarded-proto"};
    for (size_t i = 0; i != sizeof(hop) / sizeof(hop[0]); ++i) {
        char upper[32];
        size_t n = strlen(hop[i]);
        for (size_t j = 0; j <= n; ++j)
            upper[j] = (char)(hop[i][j] >= 'a' && hop[i][j] <= 'z' ? hop[i][j] - 32 : hop[i][j]);
        assert_true(gw_http1_is_hop_header(hop[i], n));
        assert_true(gw_http1_is_hop_header(upper, n));
        assert_false(gw_http1_is_hop_header(hop[i], n - 1));
    }
    assert_false(gw_http1_is_hop_header("content-type", 12));
    assert_false(gw_http1_is_hop_header("x-forwarded-host", 16));
    assert_false(gw_http1_is_hop_header("tes", 3));
    assert_false(gw_http1_is_hop_header("", 0));
}

/* Writes the upstream request of the request in s into big (cap bytes) and NUL-terminates it. */
static size_t upstream(const char *s, const char *prefix, const char *target, const char *peer, int is_https)
{
    assert_true(req(s) > 0);
    size_t n = gw_http1_write_upstream_request(big, sizeof(big) - 1, &head, prefix, strlen(prefix), target, strlen(target),
                                               "acct.blob.core.windows.net", peer, is_https);
    big[n] = '\0';
    return n;
}

static void writes_upstream_requests(void **state)
{
    size_t n = upstream("PUT /c/b?sig=x HTTP/1.1\r\n"
                        "Host: gw.example\r\n"
                        "Connection: close, X-Drop\r\n"
                        "X-Drop: 1\r\n"
                        "Keep-Alive: timeout=5\r\n"
                        "TE: trailers\r\n"
                        "Proxy-Authorization: Basic x\r\n"
                        "X-Forwarded-For: 1.1.1.1\r\n"
                        "x-ms-blob-type: BlockBlob\r\n"
                        "X-Forwarded-For: 2.2.2.2 \r\n"
                        "X-Forwarded-Proto: http\r\n"
                        "Expect: 100-continue\r\n"
                        "Upgrade: h2c\r\n"
                        "Content-Length: 5\r\n"
                        "X-Keep: yes\r\n"
                        "\r\n",
                        "/up", "/c/b", "9.9.9.9", 1);
    assert_string_equal(big, "PUT /up/c/b HTTP/1.1\r\n"
                             "host: acct.blob.core.windows.net\r\n"
                             "x-ms-blob-type: BlockBlob\r\n"
                             "X-Keep: yes\r\n"
                             "content-length: 5\r\n"
                             "x-forwarded-for: 1.1.1.1, 2.2.2.2, 9.9.9.9\r\n"
                             "x-forwarded-proto: https\r\n"
                             "\r\n");
    assert_int_equal(n, strlen(big));

    /* X-Forwarded-For: only the peer; only the client's; none */
    upstream("GET /c HTTP/1.1\r\nHost: a\r\n\r\n", "", "/c", "::1", 0);
    assert_string_equal(big, "GET /c HTTP/1.1\r\nhost: acct.blob.core.windows.net\r\n"
                             "x-forwarded-for: ::1\r\nx-forwarded-proto: http\r\n\r\n");
    upstream("GET /c HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1, 3.3.3.3\r\n\r\n", "", "/c", NULL, 0);
    assert_string_equal(big, "GET /c HTTP/1.1\r\nhost: acct.blob.core.windows.net\r\n"
                             "x-forwarded-for: 1.1.1.1, 3.3.3.3\r\nx-forwarded-proto: http\r\n\r\n");
    upstream("GET /c HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: \r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", "", "/c", "::1", 0);
    assert_string_equal(big, "GET /c HTTP/1.1\r\nhost: acct.blob.core.windows.net\r\n"
                             "x-forwarded-for: 1.1.1.1, ::1\r\nx-forwarded-proto: http\r\n\r\n");
    upstream("GET /c HTTP/1.1\r\nHost: a\r\nX-Forwarded-For:\r\n\r\n", "", "/c", NULL, 0);
    assert_string_equal(big, "GET /c HTTP/1.1\r\nhost: acct.blob.core.windows.net\r\nx-forwarded-proto: http\r\n\r\n");
    upstream("GET /c HTTP/1.1\r\nHost: a\r\n\r\n", "", "/c", "", 0);
    assert_string_equal(big, "GET /c HTTP/1.1\r\nhost: acct.blob.core.windows.net\r\nx-forwarded-proto: http\r\n\r\n");

    /* framing: chunked, a bodyless PUT/POST/PATCH says 0, a bodyless GET says nothing */
    upstream("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "", "/c", NULL, 0);
    assert_string_equal(big, "POST /c HTTP/1.1\r\nhost: acct.blob.core.windows.net\r\n"
                             "transfer-encoding: chunked\r\nx-forwarded-proto: http\r\n\r\n");
    upstream("PUT /c HTTP/1.0\r\n\r\n", "", "/c", NULL, 0);
    assert_string_equal(big, "PUT /c HTTP/1.1\r\nhost: acct.blob.core.windows.net\r\n"
                             "content-length: 0\r\nx-forwarded-proto: http\r\n\r\n");
    upstream("PATCH /c HTTP/1.1\r\nHost: a\r\n\r\n", "", "/c", NULL, 0);
    assert_non_null(strstr(big, "\r\ncontent-length: 0\r\n"));
    upstream("DELETE /c HTTP/1.1\r\nHost: a\r\n\r\n", "", "/c", NULL, 0);
    assert_null(strstr(big, "content-length"));
    upstream("POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 12345678901\r\n\r\n", "", "/c", NULL, 0);
    assert_non_null(strstr(big, "\r\ncontent-length: 12345678901\r\n"));

    /* what the relay passes in must keep the head well formed */
    assert_true(req("GET /c HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    assert_int_equal(gw_http1_write_upstream_request(big, sizeof(big), &head, "", 0, "/c\r\nX: y", 8, "h", NULL, 0), 0);
    assert_int_equal(gw_http1_write_upstream_request(big, sizeof(big), &head, "", 0, "c", 1, "h", NULL, 0), 0);
    assert_int_equal(gw_http1_write_upstream_request(big, sizeof(big), &head, "", 0, "", 0, "h", NULL, 0), 0);
    assert_int_equal(gw_http1_write_upstream_request(big, sizeof(big), &head, "", 0, "/c", 2, "h\r\nX: y", NULL, 0), 0);
    assert_int_equal(gw_http1_write_upstream_request(big, sizeof(big), &head, "", 0, "/c", 2, "h", "1\n", 0), 0);
    assert_int_equal(gw_http1_write_upstream_request(big, sizeof(big), &head, NULL, 0, "/c", 2, "h", NULL, 0) != 0, 1);
}

/* Writes the client's response head from the parsed `head` (chunked_out, keepalive) and compares it with want. */
static void client_head_is(int chunked_out, int keepalive, const char *want)
{
    char out[1024];
    size_t n = gw_http1_write_client_response(out, sizeof(out), &head, chunked_out, keepalive);
    assert_true(n > 0 && n < sizeof(out));
    out[n] = '\0';
    assert_string_equal(out, want);
}

static void writes_client_responses(void **state)
{
    assert_true(res("HTTP/1.1 200 OK\r\n"
                    "Connection: keep-alive, X-Hop\r\n"
                    "X-Hop: 1\r\n"
                    "Keep-Alive: timeout=5\r\n"
                    "Content-Length: 5\r\n"
                    "ETag: \"0x1\"\r\n"
                    "Trailer: X-T\r\n"
                    "Upgrade: h2c\r\n"
                    "Proxy-Connection: x\r\n"
                    "x-ms-request-id: abc\r\n"
                    "\r\n",
                    0) > 0);
    client_head_is(0, 1,
                   "HTTP/1.1 200 OK\r\n"
                   "Content-Length: 5\r\n"
                   "ETag: \"0x1\"\r\n"
                   "x-ms-request-id: abc\r\n"
                   "connection: keep-alive\r\n"
                   "\r\n");
    /* chunked out: Content-Length goes */
    client_head_is(1, 0,
                   "HTTP/1.1 200 OK\r\n"
                   "ETag: \"0x1\"\r\n"
                   "x-ms-request-id: abc\r\n"
                   "transfer-encoding: chunked\r\n"
                   "connection: close\r\n"
                   "\r\n");

    /* an upstream chunked body with a Content-Length beside it: the length goes */
    assert_true(res("HTTP/1.1 201 Created\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0) > 0);
    client_head_is(1, 1, "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n");
    /* Connection cannot take away the length the client needs to find the end */
    assert_true(res("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: content-length, x-a\r\nX-A: 1\r\n\r\n", 0) > 0);
    client_head_is(0, 1, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nconnection: keep-alive\r\n\r\n");
    /* a HEAD response keeps its Content-Length */
    assert_true(res("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1) > 0);
    client_head_is(0, 1, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nconnection: keep-alive\r\n\r\n");

    /* nor does a HEAD response's Content-Length beside a Transfer-Encoding */
    assert_true(res("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 1) > 0);
    client_head_is(0, 1, "HTTP/1.1 200 OK\r\nconnection: keep-alive\r\n\r\n");

    /* an empty reason becomes the standard one, an unknown code keeps it empty */
    assert_true(res("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", 0) > 0);
    client_head_is(0, 0, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
    assert_true(res("HTTP/1.0 299 \r\nContent-Length: 0\r\n\r\n", 0) > 0);
    client_head_is(0, 0, "HTTP/1.1 299 \r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
    assert_true(res("HTTP/1.1 503 Server Busy\r\n\r\n", 0) > 0);
    client_head_is(1, 1, "HTTP/1.1 503 Server Busy\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n");
}

/* Every cap short of the full length gives 0 and leaves the bytes from cap on untouched. */
static void check_truncation(size_t (*write)(char *, size_t), size_t full)
{
    static char canary[4096];
    for (size_t cap = 0; cap <= full; ++cap) {
        memset(canary, 0xa5, sizeof(canary));
        size_t n = write(canary, cap);
        assert_int_equal(n, cap == full ? full : 0);
        for (size_t i = cap; i != sizeof(canary); ++i)
            if ((unsigned char)canary[i] != 0xa5)
                fail_msg("byte %zu written with cap %zu", i, cap);
    }
}

static size_t write_request_into(char *out, size_t cap)
{
    return gw_http1_write_upstream_request(out, cap, &head2, "/p", 2, "/c/b", 4, "acct.blob", "10.0.0.1", 1);
}

static size_t write_response_into(char *out, size_t cap)
{
    return gw_http1_write_client_response(out, cap, &head2, 1, 1);
}

static void never_writes_past_cap(void **state)
{
    const char *s = "PUT /c/b HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-A: b\r\nContent-Length: 123\r\n\r\n";
    assert_true(gw_http1_parse_request(s, strlen(s), MAX_BODY, &head2) > 0);
    size_t full = write_request_into(big, sizeof(big));
    assert_true(full > 0);
    check_truncation(write_request_into, full);

    s = "HTTP/1.1 200 OK\r\nX-A: b\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_true(gw_http1_parse_response(s, strlen(s), 0, &head2) > 0);
    full = write_response_into(big, sizeof(big));
    assert_true(full > 0);
    check_truncation(write_response_into, full);
}

static void round_trips_requests(void **state)
{
    static const char *const reqs[] = {
        "GET /c/b HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n",
        "PUT /c/b HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\nExpect: 100-continue\r\n\r\n",
        "PUT /c/b HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        "POST /c/b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        "HEAD /c/b HTTP/1.0\r\nConnection: keep-alive\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
        "DELETE /c/b HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    };
    char out[1024];

    for (size_t i = 0; i != sizeof(reqs) / sizeof(reqs[0]); ++i) {
        assert_true(gw_http1_parse_request(reqs[i], strlen(reqs[i]), MAX_BODY, &head) > 0);
        size_t n = gw_http1_write_upstream_request(out, sizeof(out), &head, "", 0, head.target, head.target_len, "up", "::1", 0);
        assert_true(n > 0);
        assert_int_equal(gw_http1_parse_request(out, n, MAX_BODY, &head2), n);
        assert_int_equal(head2.method_len, head.method_len);
        assert_memory_equal(head2.method, head.method, head.method_len);
        assert_int_equal(head2.body, head.body);
        assert_true(head2.content_length == head.content_length);
        assert_int_equal(head2.minor_version, 1);
        assert_int_equal(head2.keepalive, 1);
        assert_int_equal(head2.expect_continue, 0);
        assert_int_equal(head2.upgrade, 0);
    }

    /* and a response written for the client reads back with the same framing */
    assert_true(res("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\n", 0) > 0);
    size_t n = gw_http1_write_client_response(out, sizeof(out), &head, 0, 1);
    assert_int_equal(gw_http1_parse_response(out, n, 0, &head2), n);
    assert_int_equal(head2.body, GW_HTTP1_BODY_LENGTH);
    assert_int_equal(head2.content_length, 7);
    assert_int_equal(head2.keepalive, 1);
    assert_true(res("HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n", 0) > 0);
    n = gw_http1_write_client_response(out, sizeof(out), &head, 1, 1);
    assert_int_equal(gw_http1_parse_response(out, n, 0, &head2), n);
    assert_int_equal(head2.body, GW_HTTP1_BODY_CHUNKED);
}

/* Decodes in in pieces of step bytes; returns phr's final result, the decoded bytes in *decoded and what followed in *rest. */
static ssize_t decode_in_steps(const char *in, size_t len, size_t step, char *decoded, size_t *decoded_len, char *rest,
                               size_t *rest_len)
{
    struct phr_chunked_decoder dec;
    char piece[64];
    ssize_t r = -2;

    memset(&dec, 0, sizeof(dec));
    dec.consume_trailer = 1;
    *decoded_len = 0;
    *rest_len = 0;
    for (size_t off = 0; off < len && r == -2; off += step) {
        size_t n = len - off < step ? len - off : step;
        memcpy(piece, in + off, n);
        r = phr_decode_chunked(&dec, piece, &n);
        memcpy(decoded + *decoded_len, piece, n);
        *decoded_len += n;
        if (r >= 0) {
            /* the bytes after the body: those left in this piece, then the pieces not yet fed */
            memcpy(rest, piece + n, (size_t)r);
            *rest_len = (size_t)r;
            size_t fed = off + (len - off < step ? len - off : step);
            memcpy(rest + *rest_len, in + fed, len - fed);
            *rest_len += len - fed;
        }
    }
    return r;
}

static void decodes_chunked_across_reads(void **state)
{
    static const char in[] = "5\r\nhello\r\n0\r\n\r\nNEXT";
    char decoded[64], rest[64];
    size_t decoded_len, rest_len;

    /* in one piece: 4 bytes after the body, moved right after the decoded bytes */
    assert_int_equal(decode_in_steps(in, sizeof(in) - 1, sizeof(in) - 1, decoded, &decoded_len, rest, &rest_len), 4);
    assert_int_equal(decoded_len, 5);
    assert_memory_equal(decoded, "hello", 5);
    assert_int_equal(rest_len, 4);
    assert_memory_equal(rest, "NEXT", 4);

    /* one byte at a time: completes on the last LF, with nothing left over in that byte */
    for (size_t step = 1; step != sizeof(in) - 1; ++step) {
        ssize_t r = decode_in_steps(in, sizeof(in) - 1, step, decoded, &decoded_len, rest, &rest_len);
        assert_true(r >= 0);
        assert_int_equal(decoded_len, 5);
        assert_memory_equal(decoded, "hello", 5);
        assert_int_equal(rest_len, 4);
        assert_memory_equal(rest, "NEXT", 4);
        if (step == 1)
            assert_int_equal(r, 0);
    }

    /* with a trailer, and malformed sizes */
    static const char trailer[] = "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\nN";
    assert_int_equal(decode_in_steps(trailer, sizeof(trailer) - 1, 1, decoded, &decoded_len, rest, &rest_len), 0);
    assert_int_equal(rest_len, 1);
    assert_int_equal(decode_in_steps("zz\r\n", 4, 4, decoded, &decoded_len, rest, &rest_len), -1);
    assert_int_equal(decode_in_steps("5\r\nhelloX\r\n", 11, 11, decoded, &decoded_len, rest, &rest_len), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_simple_request),
        cmocka_unit_test(frames_request_bodies),
        cmocka_unit_test(refuses_bad_request_lines),
        cmocka_unit_test(refuses_bad_request_headers),
        cmocka_unit_test(requires_one_host),
        cmocka_unit_test(waits_for_a_complete_head),
        cmocka_unit_test(limits_head_size_and_headers),
        cmocka_unit_test(handles_expect),
        cmocka_unit_test(decides_request_keepalive),
        cmocka_unit_test(leaves_pipelined_requests_alone),
        cmocka_unit_test(parses_responses),
        cmocka_unit_test(handles_interim_and_bad_responses),
        cmocka_unit_test(knows_hop_headers),
        cmocka_unit_test(writes_upstream_requests),
        cmocka_unit_test(writes_client_responses),
        cmocka_unit_test(never_writes_past_cap),
        cmocka_unit_test(round_trips_requests),
        cmocka_unit_test(decodes_chunked_across_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
