/*
 * Tests that the verify path (parse, resource, every step, token id) never
 * touches the heap, accepted or refused. The binary interposes malloc and
 * friends over glibc's and counts calls while armed; AddressSanitizer owns
 * malloc itself, so under ASan the paths still run but the count is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static volatile int armed;

#ifndef UNDER_ASAN
static volatile size_t calls;

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

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

void *aligned_alloc(size_t align, size_t n)
{
    calls += armed;
    return __libc_memalign(align, n);
}

int posix_memalign(void **p, size_t align, size_t n)
{
    calls += armed;
    *p = __libc_memalign(align, n);
    return *p == NULL ? 12 : 0;
}

void free(void *p)
{
    calls += armed && p != NULL;
    __libc_free(p);
}
#endif

static int lookup(void *data, const sas_resource_t *res, const char *si, size_t len, sas_policy_t *out)
{
    out->start = SAS_TIME_NONE;
    out->expiry = T("2026-02-01T00:00:00Z");
    out->permissions = SAS_PERM('r');
    return 0;
}

/* The client address, as the proxy looks it up: only for a token with sip. */
static int client_addr(void *data, sas_ip_t *out)
{
    const char *client = data;
    return client != NULL && sas_ip_parse(out, client, strlen(client)) == 0 ? 0 : -1;
}

/* A copy source that is always authorized. */
static sas_reason_t source_ok(void *data, sas_error_t *err)
{
    (void)data;
    (void)err;
    return SAS_OK;
}

/* Runs the whole verify path the proxy runs, with the proxy's callbacks and the debug string to sign; returns the reason. */
static sas_reason_t verify_req(const char *path, const char *query, sas_method_t method, unsigned req_flags, const char *client,
                               char *id)
{
    sas_token_t tok;
    sas_resource_t res;
    sas_verify_ctx_t ctx;
    sas_grant_t grant;
    sas_error_t err;
    sas_reason_t r;
    const sas_key_t *keys[2] = {test_key(), test_key()};
    static char sts[SAS_MAX_STS];

    if ((r = sas_token_parse(&tok, query, strlen(query), &err)) != SAS_OK)
        return r;
    sas_token_id(&tok, id);
    if ((r = sas_resource_from_path(&res, path, strlen(path), &tok, &err)) != SAS_OK)
        return r;
    sas_verify_ctx_init(&ctx);
    ctx.now = T("2026-01-01T12:00:00Z");
    ctx.method = method;
    ctx.req_flags = req_flags;
    ctx.client_addr = client_addr;
    ctx.data = (void *)(uintptr_t)client;
    ctx.keys = keys;
    ctx.nkeys = 2;
    ctx.lookup_policy = lookup;
    ctx.check_source = source_ok;
    ctx.sts = sts;
    ctx.sts_cap = sizeof(sts);
    return sas_verify(&ctx, &tok, &res, &grant, &err);
}

static sas_reason_t verify_path(const char *path, const char *query, sas_method_t method, const char *client, char *id)
{
    return verify_req(path, query, method, 0, client, id);
}

static void verify_does_not_allocate(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    char query[SAS_MAX_QUERY], bad[SAS_MAX_QUERY + 8], extra[SAS_MAX_QUERY + 16], id[SAS_TOKEN_ID_LEN + 1];

    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.container = "c1";
    m.blob = "dir/file.txt";
    m.permissions = "rw";
    m.start = "2026-01-01T00:00:00Z";
    m.expiry = "2026-01-02T00:00:00Z";
    m.ip = "10.0.0.0-10.0.0.255";
    m.protocol = "https";
    m.cache_control = "no-cache";
    m.content_type = "text/plain";
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), NULL, 0, NULL, &err), SAS_OK);
    (void)verify_path("/acct/c1/dir/file.txt", query, SAS_METHOD_GET, "10.0.0.1", id); /* warm up */

#ifndef UNDER_ASAN
    /* the counter counts */
    armed = 1;
    free(malloc(16));
    armed = 0;
    assert_int_equal(calls, 2);
    calls = 0;
#endif

    armed = 1;
    sas_reason_t ok = verify_path("/acct/c1/dir/file.txt", query, SAS_METHOD_GET, "10.0.0.1", id);
    sas_reason_t refused[] = {
        verify_path("/acct/c1/dir/other.txt", query, SAS_METHOD_GET, "10.0.0.1", id),
        verify_path("/acct/c1/dir/file.txt", query, SAS_METHOD_DELETE, "10.0.0.1", id),
        verify_path("/acct/c1/dir/file.txt", query, SAS_METHOD_GET, "10.0.1.1", id),
        verify_path("/acct/c1/dir/file.txt", query, SAS_METHOD_GET, "2001:db8::1", id),
        verify_path("/acct/c1/dir/../x", query, SAS_METHOD_GET, NULL, id),
        verify_path("/acct/c1/dir/file.txt", "sv=2026-10-06&sp=r&sp=w", SAS_METHOD_GET, NULL, id),
        verify_path("/acct/c1/dir/file.txt", "sv=2026-10-06&si=p&sr=b&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D",
                    SAS_METHOD_GET, NULL, id),
    };
    memset(bad, 'x', sizeof(bad) - 1);
    bad[sizeof(bad) - 1] = '\0';
    sas_reason_t too_long = verify_path("/acct/c1/dir/file.txt", bad, SAS_METHOD_GET, NULL, id);
    /* the operation table: a copy, a POST, a name not spelled as Azure does, an account-level path */
    snprintf(extra, sizeof(extra), "%s&comp=query", query);
    sas_reason_t post = verify_path("/acct/c1/dir/file.txt", extra, SAS_METHOD_POST, "10.0.0.1", id);
    sas_reason_t copy =
        verify_req("/acct/c1/dir/file.txt", query, SAS_METHOD_PUT, SAS_REQ_COPY_SOURCE | SAS_REQ_REQUIRES_SYNC, "10.0.0.1", id);
    snprintf(extra, sizeof(extra), "%s&COMP=tags", query);
    sas_reason_t noncanonical = verify_path("/acct/c1/dir/file.txt", extra, SAS_METHOD_PUT, "10.0.0.1", id);
    sas_reason_t account = verify_path("/acct/", query, SAS_METHOD_GET, "10.0.0.1", id);
    armed = 0;

    assert_int_equal(ok, SAS_OK);
    assert_int_equal(refused[0], SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(refused[1], SAS_R_PERMISSION_MISMATCH);
    assert_int_equal(refused[2], SAS_R_IP_MISMATCH);
    assert_int_equal(refused[3], SAS_R_IP_MISMATCH);
    assert_int_equal(refused[4], SAS_R_BAD_PATH);
    assert_int_equal(refused[5], SAS_R_DUPLICATE_PARAM);
    assert_int_equal(refused[6], SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(too_long, SAS_R_QUERY_TOO_LONG);
    assert_int_equal(post, SAS_OK);
    assert_int_equal(copy, SAS_OK);
    assert_int_equal(noncanonical, SAS_R_NONCANONICAL_PARAM);
    assert_int_equal(account, SAS_R_RESOURCE_MISMATCH);
#ifdef UNDER_ASAN
    skip(); /* the paths ran under ASan above; counting needs our own malloc */
#else
    assert_int_equal(calls, 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verify_does_not_allocate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
