/*
 * fuzz_http1.c - libFuzzer target for the relay's HTTP/1.x heads (http1.h).
 * The whole input is a client's request head; the first byte's bits then pick
 * the response case (bit 0: the request was HEAD, bit 1: chunked towards the
 * client, bit 2: keep-alive) and the rest is an upstream's response head; the
 * input, split in two where the first byte says, is also a chunked body.
 * Invariants: results are in the documented ranges; a head the relay accepts
 * and rewrites reads back with the same framing (nothing a client sends can
 * change how upstream delimits the body); so does a response it passes on;
 * and phr_decode_chunked never reports more bytes than it was given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define MAX_BODY ((uint64_t)1 << 40)
/* a rewritten head grows by a few lines and the joined X-Forwarded-For: twice the largest head always fits */
#define OUT_CAP (2 * GW_HTTP1_MAX_HEAD + 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gw_http1_head_t head, reparsed;
static char out[OUT_CAP];

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static int is_method(const gw_http1_head_t *h, const char *m)
{
    return h->method_len == strlen(m) && memcmp(h->method, m, h->method_len) == 0;
}

static void fuzz_request(const char *buf, size_t len, int is_https)
{
    static const char prefix[] = "/up";
    long r = gw_http1_parse_request(buf, len, MAX_BODY, &head);

    check(r > 0 || r == 0 || r == -400 || r == -413 || r == -417 || r == -431 || r == -501, "request result in range");
    if (r <= 0)
        return;
    check((size_t)r == head.head_len && head.head_len <= len && head.head_len <= GW_HTTP1_MAX_HEAD, "request head length");
    check(head.body != GW_HTTP1_BODY_CLOSE, "a request is never read to the end");
    check(head.body != GW_HTTP1_BODY_LENGTH || head.content_length <= MAX_BODY, "max_body holds");
    check(head.target_len != 0 && head.target[0] == '/', "origin form");

    size_t n = gw_http1_write_upstream_request(out, OUT_CAP, &head, prefix, sizeof(prefix) - 1, head.target, head.target_len,
                                               "acct.blob.core.windows.net", "10.0.0.1", is_https);
    check(n != 0, "the upstream head fits");
    /* the rewrite adds up to four header lines: past the limits it is refused upstream too, as it should be */
    if (n > GW_HTTP1_MAX_HEAD || head.num_headers + 4 > GW_HTTP1_MAX_HEADERS)
        return;
    long r2 = gw_http1_parse_request(out, n, MAX_BODY, &reparsed);
    if (r2 != (long)n)
        fprintf(stderr, "rewritten head refused (%ld):\n%.*s\n", r2, (int)n, out);
    check(r2 == (long)n, "the upstream head parses");
    check(reparsed.method_len == head.method_len && memcmp(reparsed.method, head.method, head.method_len) == 0, "same method");
    check(reparsed.target_len == sizeof(prefix) - 1 + head.target_len &&
              memcmp(reparsed.target + sizeof(prefix) - 1, head.target, head.target_len) == 0,
          "same target");
    if (head.body == GW_HTTP1_BODY_NONE && (is_method(&head, "PUT") || is_method(&head, "POST") || is_method(&head, "PATCH"))) {
        check(reparsed.body == GW_HTTP1_BODY_LENGTH && reparsed.content_length == 0, "a bodyless upload says length 0");
    } else {
        check(reparsed.body == head.body, "same body framing");
        check(reparsed.content_length == head.content_length, "same content length");
    }
    check(reparsed.minor_version == 1 && reparsed.keepalive && !reparsed.expect_continue && !reparsed.upgrade,
          "upstream sees HTTP/1.1 keep-alive without Expect or Upgrade");
}

static void fuzz_response(const char *buf, size_t len, unsigned flags)
{
    int method_is_head = flags & 1;
    long r = gw_http1_parse_response(buf, len, method_is_head, &head);

    check(r >= -1, "response result in range");
    if (r <= 0)
        return;
    check((size_t)r == head.head_len && head.head_len <= len && head.head_len <= GW_HTTP1_MAX_HEAD, "response head length");
    check(head.status >= 100 && head.status <= 599 && head.status != 101, "status in range");
    check(head.body != GW_HTTP1_BODY_CLOSE || !head.keepalive, "a body read to the end ends the connection");
    if (head.status < 200 || method_is_head || head.status == 204 || head.status == 304)
        check(head.body == GW_HTTP1_BODY_NONE, "no body for 1xx, HEAD, 204, 304");

    /* what the relay would send: chunked only to re-frame, keep-alive only when the client can find the end */
    int chunked_out = (flags & 2) && (head.body == GW_HTTP1_BODY_CHUNKED || head.body == GW_HTTP1_BODY_CLOSE);
    int keepalive = (flags & 4) && (head.body != GW_HTTP1_BODY_CLOSE || chunked_out);
    size_t n = gw_http1_write_client_response(out, OUT_CAP, &head, chunked_out, keepalive);
    check(n != 0, "the client head fits");
    if (n > GW_HTTP1_MAX_HEAD || head.num_headers + 2 > GW_HTTP1_MAX_HEADERS)
        return;
    long r2 = gw_http1_parse_response(out, n, method_is_head, &reparsed);
    if (r2 != (long)n)
        fprintf(stderr, "rewritten head refused (%ld):\n%.*s\n", r2, (int)n, out);
    check(r2 == (long)n, "the client head parses");
    check(reparsed.status == head.status, "same status");
    if (head.status < 200)
        return;

    gw_http1_body_t expect = head.body;
    if (chunked_out)
        expect = GW_HTTP1_BODY_CHUNKED;
    else if (head.body == GW_HTTP1_BODY_CHUNKED)
        expect = GW_HTTP1_BODY_CLOSE; /* the relay never does this: sent de-chunked, it could only end by closing */
    check(reparsed.body == expect, "client framing as chosen");
    check(expect != GW_HTTP1_BODY_LENGTH || reparsed.content_length == head.content_length, "same content length");
    check(reparsed.keepalive == (keepalive && reparsed.body != GW_HTTP1_BODY_CLOSE), "client keep-alive as chosen");
}

static void fuzz_chunked(const uint8_t *data, size_t size)
{
    struct phr_chunked_decoder dec;
    size_t split = data[0] % size, fed = 0;
    char *copy = malloc(size);
    ssize_t r = -2;

    check(copy != NULL, "malloc");
    memcpy(copy, data, size);
    memset(&dec, 0, sizeof(dec));
    dec.consume_trailer = (data[0] & 0x80) != 0;
    /* two reads: [0, split) and [split, size), each decoded in place */
    for (int piece = 0; piece != 2 && r == -2; ++piece) {
        size_t start = piece == 0 ? 0 : split, given = (piece == 0 ? split : size) - start, n = given;
        r = phr_decode_chunked(&dec, copy + start, &n);
        check(n <= given, "decoded no more than given");
        check(r < 0 || (size_t)r <= given - n, "leftover within what was given");
        fed += given;
    }
    check(fed <= size, "fed within input");
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    fuzz_request((const char *)data, size, data[0] & 1);
    fuzz_response((const char *)data + 1, size - 1, data[0]);
    fuzz_chunked(data, size);
    return 0;
}
