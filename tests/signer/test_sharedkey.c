/*
 * Tests Shared Key signing (signer/sas_sharedkey.c) against the official SDK's
 * vectors (tests/signer/vectors/sharedkey.jsonl, made by
 * make-sharedkey-vectors.mjs with @azure/storage-blob 12.34), both ways: our
 * string to sign and Authorization equal the SDK's, sas_sk_verify() accepts the
 * SDK's and refuses every single mutation of the request; then the refusals
 * signer.h promises, the header order's properties, buffer bounds, and that
 * nothing touches the heap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "sasgw/common.h"
#include "sasgw/signer.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* ---- counting the heap (as test_noalloc.c does) ----------------------------- */

static volatile int armed;
#ifndef UNDER_ASAN
static volatile size_t calls;
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n)
{
    calls += armed;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size)
{
    calls += armed;
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n)
{
    calls += armed;
    return __libc_realloc(p, n);
}
#endif

/* ---- vectors ---------------------------------------------------------------- */

#define MAXH 48

typedef struct {
    const json_t *v;
    const char *name, *method, *path, *query, *account, *sts, *auth, *as_is;
    int refused;
    sas_key_t key;
    sas_sk_header_t given[MAXH], sent[MAXH];
    size_t ngiven, nsent;
} vec_t;

static json_t *all;
static vec_t *vecs;
static size_t nvecs;

static const char *str(const json_t *v, const char *k)
{
    return json_string_value(json_object_get(v, k));
}

static size_t pairs(const json_t *arr, sas_sk_header_t *out, size_t at)
{
    size_t i;
    json_t *p;
    json_array_foreach(arr, i, p)
    {
        assert_true(at < MAXH);
        const json_t *n = json_array_get(p, 0), *val = json_array_get(p, 1);
        out[at++] = (sas_sk_header_t){json_string_value(n), json_string_length(n), json_string_value(val), json_string_length(val)};
    }
    return at;
}

static int has_name(const sas_sk_header_t *h, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0)
            return 1;
    return 0;
}

static int setup(void **state)
{
    char line[65536];
    FILE *fp = fopen("tests/signer/vectors/sharedkey.jsonl", "r");
    if (fp == NULL)
        fail_msg("cannot open tests/signer/vectors/sharedkey.jsonl (run from the source root)");
    all = json_array();
    while (fgets(line, sizeof(line), fp) != NULL) {
        json_error_t e;
        json_t *v = json_loads(line, JSON_ALLOW_NUL, &e);
        if (v == NULL)
            fail_msg("sharedkey.jsonl: %s", e.text);
        json_array_append_new(all, v);
    }
    fclose(fp);
    nvecs = json_array_size(all);
    vecs = calloc(nvecs, sizeof(*vecs));
    for (size_t i = 0; i < nvecs; i++) {
        vec_t *x = &vecs[i];
        const json_t *v = json_array_get(all, i);
        x->v = v;
        x->name = str(v, "name");
        x->method = str(v, "method");
        x->path = str(v, "path");
        x->query = str(v, "query");
        x->account = str(v, "account");
        x->sts = str(v, "string_to_sign");
        x->auth = str(v, "authorization");
        x->as_is = str(v, "sdk_as_is_authorization");
        x->refused = strcmp(str(v, "expect"), "refused") == 0;
        assert_non_null(x->path);
        assert_int_equal(sas_key_init_base64(&x->key, str(v, "key"), strlen(str(v, "key"))), 0);
        /* given: the caller's headers, plus what the SDK added (x-ms-date, Content-Length) */
        x->ngiven = pairs(json_object_get(v, "headers"), x->given, 0);
        if (json_object_get(v, "sent") != NULL) {
            x->nsent = pairs(json_object_get(v, "sent"), x->sent, 0);
            for (size_t k = 0; k < x->nsent; k++)
                if (!has_name(x->given, x->ngiven, x->sent[k].name, x->sent[k].name_len)) {
                    assert_true(x->ngiven < MAXH);
                    x->given[x->ngiven++] = x->sent[k];
                }
        }
    }
    *state = NULL;
    return 0;
}

static int teardown(void **state)
{
    for (size_t i = 0; i < nvecs; i++)
        sas_key_dispose(&vecs[i].key);
    free(vecs);
    json_decref(all);
    return 0;
}

static sas_sk_request_t request_of(const vec_t *x, const sas_sk_header_t *h, size_t n)
{
    return (sas_sk_request_t){x->method, strlen(x->method), x->path, strlen(x->path), x->query, strlen(x->query), h, n};
}

static char sts[16384];

static int verify(const sas_sk_request_t *r, const char *account, const sas_key_t *key, const char *auth)
{
    const sas_key_t *keys[1] = {key};
    return sas_sk_verify(r, account, strlen(account), keys, 1, auth, strlen(auth), sts, sizeof(sts));
}

/* ---- both directions --------------------------------------------------------- */

static void sdk_vectors_match(void **state)
{
    size_t signed_n = 0, refused_n = 0, swapped_n = 0;
    char out[SAS_SK_AUTH_MAX];
    for (size_t i = 0; i < nvecs; i++) {
        vec_t *x = &vecs[i];
        if (x->refused) {
            sas_sk_request_t r = request_of(x, x->given, x->ngiven);
            if (sas_sk_string_to_sign(&r, x->account, strlen(x->account), sts, sizeof(sts)) != 0)
                fail_msg("%s: signed a request that must be refused (%s)", x->name, str(x->v, "why"));
            if (x->auth != NULL && verify(&r, x->account, &x->key, x->auth))
                fail_msg("%s: accepted the SDK's signature of a refused request", x->name);
            refused_n++;
            continue;
        }
        /* the headers as sent, as the caller gave them (untrimmed), and in reverse order */
        sas_sk_header_t rev[MAXH];
        for (size_t k = 0; k < x->nsent; k++)
            rev[k] = x->sent[x->nsent - 1 - k];
        const sas_sk_header_t *forms[3] = {x->sent, x->given, rev};
        size_t counts[3] = {x->nsent, x->ngiven, x->nsent};
        for (int f = 0; f < 3; f++) {
            sas_sk_request_t r = request_of(x, forms[f], counts[f]);
            size_t n = sas_sk_string_to_sign(&r, x->account, strlen(x->account), sts, sizeof(sts));
            if (n == 0 || n != strlen(x->sts) || strcmp(sts, x->sts) != 0) {
                sas_error_t err = {0};
                sas_sk_canonicalize(&r, x->account, strlen(x->account), sts, sizeof(sts), NULL, &err);
                fail_msg("%s (form %d): string to sign differs\n  ours: %s\n  sdk:  %s\n  (%s)", x->name, f, sts, x->sts,
                         err.message);
            }
            size_t an = sas_sk_authorization(&r, x->account, strlen(x->account), &x->key, sts, sizeof(sts), out, sizeof(out));
            assert_int_equal(an, strlen(x->auth));
            if (strcmp(out, x->auth) != 0)
                fail_msg("%s: Authorization %s, the SDK's %s", x->name, out, x->auth);
            if (!verify(&r, x->account, &x->key, x->auth))
                fail_msg("%s: the SDK's Authorization refused", x->name);
        }
        if (x->as_is != NULL) {
            /* the SDK as it is swaps Content-Encoding and Content-Language: that signature must not pass */
            sas_sk_request_t r = request_of(x, x->sent, x->nsent);
            assert_string_not_equal(x->as_is, x->auth);
            if (verify(&r, x->account, &x->key, x->as_is))
                fail_msg("%s: accepted the SDK's swapped Content-Encoding/Content-Language signature", x->name);
            swapped_n++;
        }
        signed_n++;
    }
    print_message("%zu vectors signed as the SDK does, %zu refused, %zu with the SDK's swap\n", signed_n, refused_n, swapped_n);
    assert_true(signed_n >= 100);
    assert_true(refused_n >= 15);
    assert_true(swapped_n >= 3);
}

/* ---- single mutations ------------------------------------------------------------ */

static int is_signed_name(const sas_sk_header_t *h)
{
    static const char *const std[] = {
        "content-encoding",  "content-language", "content-length", "content-md5",         "content-type", "date",
        "if-modified-since", "if-match",         "if-none-match",  "if-unmodified-since", "range"};
    if (h->name_len >= 5 && strncasecmp(h->name, "x-ms-", 5) == 0)
        return 1;
    for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++)
        if (h->name_len == strlen(std[i]) && strncasecmp(h->name, std[i], h->name_len) == 0)
            return 1;
    return 0;
}

/* A different printable byte, never whitespace, that keeps a Content-Length a canonical number. */
static char other_byte(char c, int digits)
{
    if (digits)
        return c == '9' ? '8' : (char)(c + 1);
    return c == 'a' ? 'b' : 'a';
}

static void every_mutation_refused(void **state)
{
    size_t mutations = 0;
    char buf[4096], vbuf[1024];
    for (size_t i = 0; i < nvecs; i++) {
        vec_t *x = &vecs[i];
        if (x->refused)
            continue;
        sas_sk_header_t h[MAXH];
        memcpy(h, x->sent, x->nsent * sizeof(h[0]));
        sas_sk_request_t r = request_of(x, h, x->nsent);
        assert_true(verify(&r, x->account, &x->key, x->auth));

        /* one byte of each signed header value */
        for (size_t k = 0; k < x->nsent; k++) {
            if (!is_signed_name(&h[k]) || h[k].value_len == 0 || h[k].value_len >= sizeof(vbuf))
                continue;
            int digits = h[k].name_len == 14 && strncasecmp(h[k].name, "content-length", 14) == 0;
            for (size_t at = 0; at < h[k].value_len; at += (h[k].value_len + 2) / 3) {
                if (h[k].value[at] == ' ' || h[k].value[at] == '\t')
                    continue;
                if (digits && at == 0 && h[k].value_len > 1)
                    continue;
                memcpy(vbuf, h[k].value, h[k].value_len);
                vbuf[at] = other_byte(vbuf[at], digits);
                const char *saved = h[k].value;
                h[k].value = vbuf;
                if (verify(&r, x->account, &x->key, x->auth))
                    fail_msg("%s: header %.*s changed at %zu still verifies", x->name, (int)h[k].name_len, h[k].name, at);
                h[k].value = saved;
                mutations++;
            }
            /* and the header removed: only an empty standard header (or Content-Length 0) signs as absent */
            sas_sk_header_t saved = h[k];
            int xms = saved.name_len >= 5 && strncasecmp(saved.name, "x-ms-", 5) == 0;
            int as_absent = !xms && (saved.value_len == 0 || (saved.value_len == 1 && saved.value[0] == '0'));
            h[k] = (sas_sk_header_t){"x-unsigned", 10, "", 0};
            if (verify(&r, x->account, &x->key, x->auth) != as_absent)
                fail_msg("%s: header %.*s removed: verify gives %d", x->name, (int)saved.name_len, saved.name, !as_absent);
            h[k] = saved;
            mutations++;
        }
        /* a new x-ms header */
        h[x->nsent] = (sas_sk_header_t){"x-ms-meta-added", 15, "1", 1};
        r.num_headers = x->nsent + 1;
        assert_false(verify(&r, x->account, &x->key, x->auth));
        r.num_headers = x->nsent;

        /* the method */
        static const char *const methods[] = {"GET", "HEAD", "PUT", "DELETE", "POST", "MERGE"};
        for (size_t m = 0; m < 6; m++) {
            if (strcmp(methods[m], x->method) == 0)
                continue;
            r.method = methods[m], r.method_len = strlen(methods[m]);
            assert_false(verify(&r, x->account, &x->key, x->auth));
            mutations++;
        }
        r.method = x->method, r.method_len = strlen(x->method);

        /* the path: one byte, one more byte, its case */
        size_t plen = strlen(x->path);
        assert_true(plen + 2 < sizeof(buf));
        memcpy(buf, x->path, plen + 1);
        r.path = buf;
        buf[plen] = 'x', buf[plen + 1] = '\0', r.path_len = plen + 1;
        assert_false(verify(&r, x->account, &x->key, x->auth));
        r.path_len = plen;
        for (size_t at = 1; at < plen; at++) {
            char c = x->path[at];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
                continue;
            memcpy(buf, x->path, plen + 1);
            buf[at] = (char)(c ^ 0x20);
            if (verify(&r, x->account, &x->key, x->auth))
                fail_msg("%s: path with byte %zu in other case still verifies", x->name, at);
            mutations++;
            break;
        }
        r.path = x->path;

        /* the query: the first byte of its last value, a parameter added, the first one dropped */
        size_t qlen = strlen(x->query);
        assert_true(qlen + 8 < sizeof(buf));
        r.query = buf;
        const char *eq = strrchr(x->query, '=');
        if (eq != NULL && eq[1] != '%' && eq[1] != '\0' && eq[1] != '&') {
            memcpy(buf, x->query, qlen + 1);
            buf[eq + 1 - x->query] = other_byte(eq[1], eq[1] >= '0' && eq[1] <= '9');
            r.query_len = qlen;
            if (verify(&r, x->account, &x->key, x->auth))
                fail_msg("%s: query %s still verifies", x->name, buf);
            mutations++;
        }
        snprintf(buf, sizeof(buf), "%s%szz=1", x->query, qlen ? "&" : "");
        r.query_len = strlen(buf);
        assert_false(verify(&r, x->account, &x->key, x->auth));
        if (qlen > 0) {
            const char *amp = strchr(x->query, '&');
            r.query = amp != NULL ? amp + 1 : "";
            r.query_len = strlen(r.query);
            assert_false(verify(&r, x->account, &x->key, x->auth));
            mutations += 2;
        }
        r.query = x->query, r.query_len = qlen;

        /* the account, the keys and their order */
        assert_false(verify(&r, "otheraccount", &x->key, x->auth));
        sas_key_t other;
        sas_key_init(&other, (const uint8_t *)"another key", 11);
        const sas_key_t *wrong[1] = {&other}, *second[2] = {&other, &x->key}, *first[2] = {&x->key, &other};
        const char *a = x->auth;
        size_t al = strlen(a), acl = strlen(x->account);
        assert_false(sas_sk_verify(&r, x->account, acl, wrong, 1, a, al, sts, sizeof(sts)));
        assert_true(sas_sk_verify(&r, x->account, acl, second, 2, a, al, sts, sizeof(sts)));
        assert_true(sas_sk_verify(&r, x->account, acl, first, 2, a, al, sts, sizeof(sts)));
        assert_false(sas_sk_verify(&r, x->account, acl, first, 0, a, al, sts, sizeof(sts)));
        sas_key_dispose(&other);
        assert_true(verify(&r, x->account, &x->key, x->auth));
        mutations += 5;
    }
    print_message("%zu single mutations refused\n", mutations);
    assert_true(mutations > 1000);
}

/* ---- refusals the vectors cannot express (one name per header in the SDK) ----------- */

static sas_sk_header_t H(const char *n, const char *v)
{
    return (sas_sk_header_t){n, strlen(n), v, strlen(v)};
}

static size_t sts_of(const char *method, const char *path, const char *query, const sas_sk_header_t *h, size_t n)
{
    sas_sk_request_t r = {method, strlen(method), path, strlen(path), query, strlen(query), h, n};
    return sas_sk_string_to_sign(&r, "devstoreaccount1", 16, sts, sizeof(sts));
}

static void refusals(void **state)
{
    sas_sk_header_t base[2] = {H("x-ms-date", "Wed, 02 Dec 2026 08:00:00 GMT"), H("x-ms-version", "2026-10-06")};
    assert_true(sts_of("GET", "/a/b", "", base, 2) > 0);
    assert_string_equal(sts, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Wed, 02 Dec 2026 08:00:00 GMT\nx-ms-version:2026-10-06\n"
                             "/devstoreaccount1/a/b");

    /* a signed header twice, in any case */
    sas_sk_header_t dup[][3] = {
        {H("Content-Length", "5"), H("content-length", "5"), H("x-ms-version", "2026-10-06")},
        {H("Content-Length", "5"), H("CONTENT-LENGTH", "6"), H("x-ms-version", "2026-10-06")},
        {H("x-ms-meta-a", "1"), H("X-MS-META-A", "1"), H("x-ms-version", "2026-10-06")},
        {H("Range", "bytes=0-1"), H("range", "bytes=0-1"), H("x-ms-version", "2026-10-06")},
        {H("x-ms-version", "2026-10-06"), H("x-ms-version", "2026-10-06"), H("x-other", "")},
        {H("Date", "a"), H("date", "a"), H("x-ms-version", "2026-10-06")},
    };
    for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++)
        if (sts_of("GET", "/a/b", "", dup[i], 3) != 0)
            fail_msg("duplicate case %zu signed", i);
    /* an unsigned header twice is not ours to judge */
    sas_sk_header_t twice_unsigned[3] = {H("Accept", "a"), H("accept", "b"), H("x-ms-version", "2026-10-06")};
    assert_true(sts_of("GET", "/a/b", "", twice_unsigned, 3) > 0);

    /* values and names */
    const char *bad_values[] = {"a\rb", "a\nb", "a\tb", "a\001b", "a\x7f", "caf\xc3\xa9", "\xff"};
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        sas_sk_header_t h[2] = {H("x-ms-meta-v", bad_values[i]), H("Content-Type", "text/plain")};
        assert_int_equal(sts_of("PUT", "/a/b", "", h, 2), 0);
        h[0] = H("x-ms-meta-v", "ok"), h[1] = H("Content-Type", bad_values[i]);
        assert_int_equal(sts_of("PUT", "/a/b", "", h, 2), 0);
    }
    sas_sk_header_t nul = {"x-ms-meta-n", 11, "a\0b", 3};
    assert_int_equal(sts_of("PUT", "/a/b", "", &nul, 1), 0);
    const char *bad_names[] = {"x-ms-meta a",   "x-ms-meta:a",   "x-ms-meta\xc3\xa9", "x-ms-(a)",      "x-ms-a/b",    "x-ms-meta-",
                               "x-ms-meta-a-b", "x-ms-meta-a'b", "x-ms-meta-1a",      "x-ms-meta-a.b", "X-MS-META-a~"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        sas_sk_header_t h = H(bad_names[i], "v");
        assert_int_equal(sts_of("PUT", "/a/b", "", &h, 1), 0);
    }
    /* a malformed unsigned header is not examined */
    sas_sk_header_t odd = H("X Weird\x01", "\r\n");
    assert_true(sts_of("PUT", "/a/b", "", &odd, 1) > 0);
    const char *bad_lengths[] = {"", " ", "-1", "+1", "01", "1.0", "1e3", "123456789012345678901", "0x10"};
    for (size_t i = 0; i < sizeof(bad_lengths) / sizeof(bad_lengths[0]); i++) {
        sas_sk_header_t h = H("Content-Length", bad_lengths[i]);
        if (sts_of("PUT", "/a/b", "", &h, 1) != 0)
            fail_msg("Content-Length \"%s\" accepted", bad_lengths[i]);
    }
    sas_sk_header_t zero = H("Content-Length", " 0 ");
    assert_true(sts_of("PUT", "/a/b", "", &zero, 1) > 0);
    assert_string_equal(sts, "PUT\n\n\n\n\n\n\n\n\n\n\n\n/devstoreaccount1/a/b");
    const char *bad_versions[] = {"2014-02-14", "2009-09-19", "latest", "2015-2-21", ""};
    for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        sas_sk_header_t h = H("x-ms-version", bad_versions[i]);
        if (sts_of("GET", "/a/b", "", &h, 1) != 0)
            fail_msg("x-ms-version \"%s\" accepted", bad_versions[i]);
    }

    /* method */
    const char *bad_methods[] = {"get", "Get", "", "G T", "GET\n", "VERYLONGMETHODNAME", "GET1"};
    for (size_t i = 0; i < sizeof(bad_methods) / sizeof(bad_methods[0]); i++)
        assert_int_equal(sts_of(bad_methods[i], "/a/b", "", base, 2), 0);

    /* paths */
    const char *bad_paths[] = {"",        "a/b",   "/a b",   "/a#b",        "/a?b",    "/a\\b",     "/a\"b",
                               "/a<b",    "/a>b",  "/a`b",   "/a{b",        "/a}b",    "/a\x01",    "/caf\xc3\xa9",
                               "/a%",     "/a%4",  "/a%zz",  "/a%4g",       "/.",      "/..",       "/a/./b",
                               "/a/../b", "/a/..", "/a/%2e", "/a/%2E%2e/b", "/a/.%2E", "/a/%2e./b", "/a\x7f"};
    for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
        if (sts_of("GET", bad_paths[i], "", base, 2) != 0)
            fail_msg("path \"%s\" accepted", bad_paths[i]);
    const char *good_paths[] = {"/", "/a/...", "/a/.b", "/a/b.", "/a//b", "/a/%2F", "/a/%2e%2e%2e", "/a/!$&'()*+,;=:@~_-|^[]"};
    for (size_t i = 0; i < sizeof(good_paths) / sizeof(good_paths[0]); i++)
        if (sts_of("GET", good_paths[i], "", base, 2) == 0)
            fail_msg("path \"%s\" refused", good_paths[i]);
    sas_sk_request_t nopath = {"GET", 3, NULL, 0, "", 0, base, 2};
    assert_int_equal(sas_sk_string_to_sign(&nopath, "devstoreaccount1", 16, sts, sizeof(sts)), 0);

    /* queries (the vectors hold the SDK's view of most of these) */
    const char *bad_queries[] = {"a",          "a=",
                                 "=a",         "a=1&&b=2",
                                 "&a=1",       "a=1&A=2",
                                 "a=b+c",      "a=b=c",
                                 "a%41=1",     "a b=1",
                                 "a=%",        "a=%0A",
                                 "a=%00",      "a=%7F",
                                 "a=%C3",      "a=%ED%A0%80",
                                 "a=\"",       "a=#",
                                 "a=<",        "a= ",
                                 "a=\xc3\xa9", "a=[",
                                 "a=|",        "a=^",
                                 "a=1&b&c=2",  "comp=list&comp=list"};
    for (size_t i = 0; i < sizeof(bad_queries) / sizeof(bad_queries[0]); i++)
        if (sts_of("GET", "/a/b", bad_queries[i], base, 2) != 0)
            fail_msg("query \"%s\" accepted", bad_queries[i]);
    assert_true(sts_of("GET", "/a/b", "B=2&a=%41%2b%3D%20%E2%82%AC&c=x:y/z?@!$'()*,;", base, 2) > 0);
    assert_non_null(strstr(sts, "/devstoreaccount1/a/b\na:A+= \xe2\x82\xac\nb:2\nc:x:y/z?@!$'()*,;"));

    /* long values decode in pieces: a cut never splits a %XX or a UTF-8 sequence */
    static char lq[4096], want[2048];
    for (int pad = 90; pad < 100; pad++) {
        snprintf(lq, sizeof(lq), "v=%.*s%s", pad,
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "%E2%82%AC%F0%9F%98%80%C3%A9%41");
        snprintf(want, sizeof(want),
                 "\nv:%.*s\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9"
                 "A",
                 pad, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_true(sts_of("GET", "/a", lq, base, 2) > 0);
        assert_non_null(strstr(sts, want));
        strcat(lq, "%C3"); /* a truncated sequence at the end */
        assert_int_equal(sts_of("GET", "/a", lq, base, 2), 0);
    }
    strcpy(lq, "v=");
    for (int i = 0; i < 200; i++)
        strcat(lq, "%80"); /* continuation bytes only: no place to cut, and invalid anyway */
    assert_int_equal(sts_of("GET", "/a", lq, base, 2), 0);
    strcpy(lq, "v=");
    for (int i = 0; i < 300; i++)
        strcat(lq, "%C3%A9");
    assert_true(sts_of("GET", "/a", lq, base, 2) > 0);
    assert_int_equal(strlen(strstr(sts, "\nv:")), 3 + 600);

    /* account */
    sas_sk_request_t r = {"GET", 3, "/a", 2, "", 0, base, 2};
    const char *bad_accounts[] = {"", "Dev", "dev-store", "dev store",
                                  "a123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof(bad_accounts) / sizeof(bad_accounts[0]); i++)
        assert_int_equal(sas_sk_string_to_sign(&r, bad_accounts[i], strlen(bad_accounts[i]), sts, sizeof(sts)), 0);
    assert_int_equal(sas_sk_string_to_sign(&r, NULL, 0, sts, sizeof(sts)), 0);
    assert_int_equal(sas_sk_string_to_sign(NULL, "a", 1, sts, sizeof(sts)), 0);

    /* bounds on headers and parameters */
    static sas_sk_header_t many[SAS_SK_MAX_HEADERS + 1];
    static char names[SAS_SK_MAX_HEADERS + 1][24];
    for (size_t i = 0; i <= SAS_SK_MAX_HEADERS; i++) {
        snprintf(names[i], sizeof(names[i]), "x-ms-meta-n%zu", i);
        many[i] = H(names[i], "v");
    }
    assert_true(sts_of("GET", "/a", "", many, SAS_SK_MAX_HEADERS) > 0);
    assert_int_equal(sts_of("GET", "/a", "", many, SAS_SK_MAX_HEADERS + 1), 0);
    char q[2048] = "";
    for (int i = 0; i < SAS_SK_MAX_PARAMS; i++)
        snprintf(q + strlen(q), sizeof(q) - strlen(q), "%sp%d=v", i ? "&" : "", i);
    assert_true(sts_of("GET", "/a", q, base, 2) > 0);
    strcat(q, "&last=v");
    assert_int_equal(sts_of("GET", "/a", q, base, 2), 0);

    /* reasons name the problem */
    sas_error_t err;
    sas_sk_request_t rq = {"GET", 3, "/a", 2, "x=1&X=2", 7, base, 2};
    assert_int_equal(sas_sk_canonicalize(&rq, "devstoreaccount1", 16, sts, sizeof(sts), NULL, &err), SAS_R_DUPLICATE_PARAM);
    rq.query_len = 0, rq.path = "/a/../b", rq.path_len = 7;
    assert_int_equal(sas_sk_canonicalize(&rq, "devstoreaccount1", 16, sts, sizeof(sts), NULL, &err), SAS_R_BAD_PATH);
    rq.path = "/a", rq.path_len = 2, rq.query = "a=", rq.query_len = 2;
    assert_int_equal(sas_sk_canonicalize(&rq, "devstoreaccount1", 16, sts, sizeof(sts), NULL, &err), SAS_R_MALFORMED_QUERY);
    rq.query_len = 0, rq.headers = dup[0], rq.num_headers = 3;
    assert_int_equal(sas_sk_canonicalize(&rq, "devstoreaccount1", 16, sts, sizeof(sts), NULL, &err), SAS_R_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "twice"));
}

/* ---- Authorization values sas_sk_verify() refuses -------------------------------------- */

static void authorization_forms(void **state)
{
    const vec_t *x = &vecs[0];
    assert_false(x->refused);
    sas_sk_request_t r = request_of(x, x->sent, x->nsent);
    char a[256];
    const char *sig = strchr(x->auth, ':') + 1;
    assert_true(verify(&r, x->account, &x->key, x->auth));
    /* scheme, separator and tail around account and signature */
    static const char *const forms[][3] = {{"sharedkey ", ":", ""},     {"SharedKey  ", ":", ""}, {"SharedKey ", ": ", ""},
                                           {"SharedKey ", ":", " "},    {" SharedKey ", ":", ""}, {"SharedKey ", ":", "\n"},
                                           {"SharedKeyLite ", ":", ""}, {"SharedKey ", ";", ""},  {"SharedKey ", ":", "="},
                                           {"Bearer ", ":", ""}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(a, sizeof(a), "%s%s%s%s%s", forms[i][0], x->account, forms[i][1], sig, forms[i][2]);
        if (verify(&r, x->account, &x->key, a))
            fail_msg("Authorization \"%s\" accepted", a);
    }
    /* the signature: cut, a non-canonical last character (same bytes, other unused bits), url-safe alphabet */
    snprintf(a, sizeof(a), "SharedKey %s:%.43s", x->account, sig);
    assert_false(verify(&r, x->account, &x->key, a));
    snprintf(a, sizeof(a), "SharedKey %s:%s", x->account, sig);
    char *last = a + strlen(a) - 2; /* the character before '=' carries 2 unused bits */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int v = (int)(strchr(b64, *last) - b64);
    *last = b64[v | 1];
    if (v != (v | 1))
        assert_false(verify(&r, x->account, &x->key, a));
    snprintf(a, sizeof(a), "SharedKey %s:%s", x->account, sig);
    for (char *p = a; *p; p++)
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    if (strcmp(a, x->auth) != 0)
        assert_false(verify(&r, x->account, &x->key, a));
    /* an account that is a prefix, or longer */
    snprintf(a, sizeof(a), "SharedKey %sx:%s", x->account, sig);
    assert_false(verify(&r, x->account, &x->key, a));
    const sas_key_t *keys[1] = {&x->key};
    assert_false(sas_sk_verify(&r, x->account, strlen(x->account) - 1, keys, 1, x->auth, strlen(x->auth), sts, sizeof(sts)));
    /* NULLs and a key never initialised */
    sas_key_t blank;
    memset(&blank, 0, sizeof(blank));
    const sas_key_t *nokey[1] = {&blank}, *null_key[1] = {NULL};
    assert_false(sas_sk_verify(&r, x->account, strlen(x->account), nokey, 1, x->auth, strlen(x->auth), sts, sizeof(sts)));
    assert_false(sas_sk_verify(&r, x->account, strlen(x->account), null_key, 1, x->auth, strlen(x->auth), sts, sizeof(sts)));
    assert_false(sas_sk_verify(&r, x->account, strlen(x->account), NULL, 1, x->auth, strlen(x->auth), sts, sizeof(sts)));
    assert_false(sas_sk_verify(&r, x->account, strlen(x->account), keys, 1, NULL, 0, sts, sizeof(sts)));
    char out[SAS_SK_AUTH_MAX];
    assert_int_equal(sas_sk_authorization(&r, x->account, strlen(x->account), &blank, sts, sizeof(sts), out, sizeof(out)), 0);
    assert_int_equal(sas_sk_authorization(&r, x->account, strlen(x->account), NULL, sts, sizeof(sts), out, sizeof(out)), 0);
}

/* ---- buffers ------------------------------------------------------------------------ */

static void buffer_bounds(void **state)
{
    static char small[16384];
    char out[SAS_SK_AUTH_MAX + 8];
    for (size_t i = 0; i < nvecs; i++) {
        const vec_t *x = &vecs[i];
        if (x->refused)
            continue;
        sas_sk_request_t r = request_of(x, x->sent, x->nsent);
        size_t len = strlen(x->sts);
        for (size_t cap = 0; cap <= len + 1; cap += (cap + 8 < len ? 7 : 1)) {
            memset(small, 'Z', len + 2);
            size_t n = sas_sk_string_to_sign(&r, x->account, strlen(x->account), small, cap);
            if (cap <= len) {
                if (n != 0)
                    fail_msg("%s: wrote %zu bytes into %zu", x->name, n, cap);
                if (cap > 0 && small[0] != '\0')
                    fail_msg("%s: a refusal left bytes in the buffer", x->name);
            } else {
                assert_int_equal(n, len);
                assert_memory_equal(small, x->sts, len + 1);
            }
            if (cap <= len ? small[cap] != 'Z' : (small[len] != '\0' || small[len + 1] != 'Z'))
                fail_msg("%s: wrote past %zu bytes", x->name, cap);
        }
        size_t alen = strlen(x->auth);
        for (size_t cap = 0; cap <= alen + 1; cap++) {
            memset(out, 'Z', sizeof(out));
            size_t n = sas_sk_authorization(&r, x->account, strlen(x->account), &x->key, small, sizeof(small), out, cap);
            assert_int_equal(n, cap > alen ? alen : 0);
            if (cap < sizeof(out))
                assert_int_equal(out[cap], 'Z');
        }
        /* a string-to-sign scratch too small refuses both ways */
        assert_int_equal(sas_sk_authorization(&r, x->account, strlen(x->account), &x->key, small, len, out, sizeof(out)), 0);
        const sas_key_t *keys[1] = {&x->key};
        assert_false(sas_sk_verify(&r, x->account, strlen(x->account), keys, 1, x->auth, strlen(x->auth), small, len));
        assert_true(sas_sk_verify(&r, x->account, strlen(x->account), keys, 1, x->auth, strlen(x->auth), small, len + 1));
    }
}

/* ---- the order of x-ms-* names ------------------------------------------------------ */

/* 1 when header a comes before b in the string to sign. */
static int before(const char *a, const char *b)
{
    sas_sk_header_t h[2] = {H(a, "1"), H(b, "2")};
    if (sts_of("GET", "/a", "", h, 2) == 0)
        fail_msg("%s and %s refused", a, b);
    char la[64], lb[64];
    snprintf(la, sizeof(la), "\n%s:", a);
    snprintf(lb, sizeof(lb), "\n%s:", b);
    for (char *p = la; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    for (char *p = lb; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    const char *pa = strstr(sts, la), *pb = strstr(sts, lb);
    assert_non_null(pa);
    assert_non_null(pb);
    return pa < pb;
}

static void header_order_is_total(void **state)
{
    enum { N = 40 };
    static const char alphabet[] = "abz09-'_.~!#$%&*^`|+";
    char names[N][16];
    static int lt[N][N];
    for (int i = 0; i < N; i++) {
        int unique;
        do {
            uint8_t rnd[6];
            sg_random(rnd, sizeof(rnd));
            int len = 1 + rnd[0] % 5;
            strcpy(names[i], "x-ms-");
            for (int j = 0; j < len; j++)
                names[i][5 + j] = alphabet[rnd[1 + j] % (sizeof(alphabet) - 1)];
            names[i][5 + len] = '\0';
            unique = 1;
            for (int k = 0; k < i; k++)
                unique &= strcmp(names[k], names[i]) != 0;
        } while (!unique);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            lt[i][j] = i != j && before(names[i], names[j]);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            if (i == j)
                continue;
            if (lt[i][j] == lt[j][i])
                fail_msg("%s and %s do not order", names[i], names[j]);
            for (int k = 0; k < N; k++)
                if (lt[i][j] && lt[j][k] && k != i && !lt[i][k])
                    fail_msg("not transitive: %s < %s < %s", names[i], names[j], names[k]);
        }
    /* the SDK's order, not strcmp's */
    assert_true(before("x-ms-ab", "x-ms-a-b"));
    assert_true(before("x-ms-a_b", "x-ms-ab"));
    assert_true(before("X-MS-META-B", "x-ms-meta-c"));
    assert_true(before("x-ms-meta-A_", "x-ms-meta-a1"));
    assert_true(before("x-ms-date", "x-ms-meta-a"));
    assert_true(before("x-ms-meta-a9", "x-ms-meta-aa"));
    assert_true(before("x-ms-meta-a_", "x-ms-meta-a0"));
}

/* ---- no heap ------------------------------------------------------------------------ */

static void never_allocates(void **state)
{
    char out[SAS_SK_AUTH_MAX];
    sas_error_t err;
#ifndef UNDER_ASAN
    calls = 0;
#endif
    armed = 1;
    for (size_t i = 0; i < nvecs; i++) {
        vec_t *x = &vecs[i];
        sas_sk_request_t r = request_of(x, x->refused ? x->given : x->sent, x->refused ? x->ngiven : x->nsent);
        sas_sk_canonicalize(&r, x->account, strlen(x->account), sts, sizeof(sts), NULL, &err);
        sas_sk_authorization(&r, x->account, strlen(x->account), &x->key, sts, sizeof(sts), out, sizeof(out));
        if (x->auth != NULL) {
            const sas_key_t *keys[1] = {&x->key};
            sas_sk_verify(&r, x->account, strlen(x->account), keys, 1, x->auth, strlen(x->auth), sts, sizeof(sts));
        }
    }
    armed = 0;
#ifndef UNDER_ASAN
    assert_int_equal(calls, 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sdk_vectors_match),   cmocka_unit_test(every_mutation_refused), cmocka_unit_test(refusals),
        cmocka_unit_test(authorization_forms), cmocka_unit_test(buffer_bounds),          cmocka_unit_test(header_order_is_total),
        cmocka_unit_test(never_allocates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
