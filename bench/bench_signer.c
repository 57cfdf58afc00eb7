/*
 * bench_signer.c - the signer's verify path against a bare keyed HMAC-SHA256
 * over the same string to sign, on one core.
 *
 * Baseline: OpenSSL EVP_MAC HMAC-SHA256 with the key set once and the
 * context re-initialised per operation with a NULL key (the realistic
 * "cached key" use); the cost of re-keying per operation is printed too.
 * Measured: sas_verify() on a parsed token (steps 2-7: resource, times,
 * HMAC + constant-time compare, policy, protocol and IP, operation) with the
 * context the proxy's gw_proxy_decide() gives it (two key versions, the
 * stored-policy lookup, the client address looked up through a callback
 * because the token has sip, the copy-source check), and the whole request
 * path (parse query + split path + verify + token id).
 * Each figure is the median of 9 runs, timed in this thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID, so time spent descheduled on a busy machine does
 * not count), pinned to one core. The last line is
 * verify_over_hmac=RATIO (target <= 1.5).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sasgw/common.h"
#include "sasgw/signer.h"

#define RUNS 9

static const char key_b64[] = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
static const char path[] = "/devstoreaccount1/photos/users/alice/2026/cat%20picture.jpg";

static volatile unsigned sink;

/* This thread's CPU time in ns. */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The state every benchmarked operation reads. */
struct bench {
    sas_key_t key, key2;
    const sas_key_t *keys[2];
    sas_token_t tok;
    sas_resource_t res;
    sas_verify_ctx_t ctx;
    sas_ip_t client;
    char query[SAS_MAX_QUERY];
    char sts[SAS_MAX_STS];
    size_t sts_len;
    uint8_t raw_key[64];
    size_t raw_key_len;
    EVP_MAC_CTX *mac_cached, *mac_rekey;
};

typedef void (*op_fn)(struct bench *b);

/* The proxy's callbacks, as cheap as its own: the client address it read from the socket, no stored policy, no copy source. */
static int on_client_addr(void *data, sas_ip_t *out)
{
    *out = ((const struct bench *)data)->client;
    return 0;
}

static int on_lookup_policy(void *data, const sas_resource_t *res, const char *si, size_t si_len, sas_policy_t *out)
{
    (void)data, (void)res, (void)si, (void)si_len, (void)out;
    return -1;
}

static sas_reason_t on_check_source(void *data, sas_error_t *err)
{
    (void)data, (void)err;
    return SAS_OK;
}

static void op_evp_cached(struct bench *b)
{
    uint8_t out[32];
    size_t n;
    EVP_MAC_init(b->mac_cached, NULL, 0, NULL);
    EVP_MAC_update(b->mac_cached, (const uint8_t *)b->sts, b->sts_len);
    EVP_MAC_final(b->mac_cached, out, &n, sizeof(out));
    sink += out[0];
}

static void op_evp_rekey(struct bench *b)
{
    uint8_t out[32];
    size_t n;
    EVP_MAC_init(b->mac_rekey, b->raw_key, b->raw_key_len, NULL);
    EVP_MAC_update(b->mac_rekey, (const uint8_t *)b->sts, b->sts_len);
    EVP_MAC_final(b->mac_rekey, out, &n, sizeof(out));
    sink += out[0];
}

static void op_midstate(struct bench *b)
{
    uint8_t out[32];
    sas_hmac(&b->key, b->sts, b->sts_len, out);
    sink += out[0];
}

static void op_verify(struct bench *b)
{
    sas_grant_t g;
    sas_error_t err;
    sink += (unsigned)sas_verify(&b->ctx, &b->tok, &b->res, &g, &err);
}

static void op_request(struct bench *b)
{
    static sas_token_t tok;
    static sas_resource_t res;
    sas_grant_t g;
    sas_error_t err;
    char id[SAS_TOKEN_ID_LEN + 1];
    sas_reason_t r = sas_token_parse(&tok, b->query, strlen(b->query), &err);
    if (r == SAS_OK)
        r = sas_resource_from_path(&res, path, sizeof(path) - 1, &tok, &err);
    if (r == SAS_OK)
        r = sas_verify(&b->ctx, &tok, &res, &g, &err);
    sas_token_id(&tok, id);
    sink += (unsigned)r + (unsigned char)id[0];
}

static void op_parse(struct bench *b)
{
    static sas_token_t tok;
    sas_error_t err;
    sink += (unsigned)sas_token_parse(&tok, b->query, strlen(b->query), &err);
}

static void op_path(struct bench *b)
{
    static sas_resource_t res;
    sas_error_t err;
    sink += (unsigned)sas_resource_from_path(&res, path, sizeof(path) - 1, &b->tok, &err);
}

/* The operation table's walk for the benchmarked request (a Put Blob, in the middle of the table). */
static void op_find(struct bench *b)
{
    const sas_operation_t *op = sas_operation_find(&b->tok, &b->res, b->ctx.method, b->ctx.req_flags);
    sink += op != NULL ? (unsigned char)op->name[0] : 0;
}

static void op_token_id(struct bench *b)
{
    char id[SAS_TOKEN_ID_LEN + 1];
    sas_token_id(&b->tok, id);
    sink += (unsigned char)id[0];
}

/* Median ns per operation over RUNS runs of n operations each. */
static double measure(struct bench *b, op_fn op, long n)
{
    double per[RUNS];
    for (long i = 0; i < n / 10; i++) /* warm up */
        op(b);
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            op(b);
        per[r] = (now_ns() - t0) / (double)n;
    }
    qsort(per, RUNS, sizeof(per[0]), cmp_double);
    return per[RUNS / 2];
}

int main(int argc, char **argv)
{
    static struct bench b;
    long n = argc > 1 ? atol(argv[1]) : 200000;
    sas_error_t err;
    sas_grant_t g;

    /* one core */
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        perror("sched_setaffinity (continuing unpinned)");

    /* a realistic token: blob SAS with st, se, an IP range, https, an encryption scope and response headers */
    sas_mint_t m = {
        .account = "devstoreaccount1",
        .container = "photos",
        .blob = "users/alice/2026/cat picture.jpg",
        .permissions = "rcw",
        .start = "2026-01-01T00:00:00Z",
        .expiry = "2026-01-01T01:00:00Z",
        .ip = "10.0.0.0-10.0.255.255",
        .protocol = "https",
        .encryption_scope = "scope-a",
        .cache_control = "private, max-age=3600",
        .content_disposition = "attachment; filename=\"cat picture.jpg\"",
        .content_type = "image/jpeg",
    };
    if (sas_key_init_base64(&b.key, key_b64, strlen(key_b64)) != 0 ||
        sg_b64_decode(key_b64, strlen(key_b64), b.raw_key, sizeof(b.raw_key), &b.raw_key_len) != 0)
        return 1;
    sas_key_init(&b.key2, (const uint8_t *)"the other slot", 14);
    if (sas_mint(&m, &b.key, b.query, sizeof(b.query), NULL, 0, NULL, &err) != SAS_OK) {
        fprintf(stderr, "mint: %s\n", err.message);
        return 1;
    }
    if (sas_token_parse(&b.tok, b.query, strlen(b.query), &err) != SAS_OK ||
        sas_resource_from_path(&b.res, path, sizeof(path) - 1, &b.tok, &err) != SAS_OK) {
        fprintf(stderr, "parse: %s\n", err.message);
        return 1;
    }
    b.sts_len = (size_t)sas_string_to_sign(&b.tok, &b.res, b.sts, sizeof(b.sts));
    sas_ip_parse(&b.client, "10.0.3.4", 8);
    b.keys[0] = &b.key; /* key1 signed it; key2 is active too */
    b.keys[1] = &b.key2;
    sas_verify_ctx_init(&b.ctx);
    b.ctx.now = (sas_time_t)1767227400 * SAS_TIME_SECOND; /* 2026-01-01T00:30:00Z */
    b.ctx.method = SAS_METHOD_PUT;
    b.ctx.is_https = 1;
    b.ctx.client_addr = on_client_addr;
    b.ctx.keys = b.keys;
    b.ctx.nkeys = 2;
    b.ctx.lookup_policy = on_lookup_policy;
    b.ctx.check_source = on_check_source;
    b.ctx.data = &b;
    if (sas_verify(&b.ctx, &b.tok, &b.res, &g, &err) != SAS_OK) {
        fprintf(stderr, "verify: %s\n", err.message);
        return 1;
    }

    /* the OpenSSL baseline: key set once, re-initialised with a NULL key per op */
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    b.mac_cached = EVP_MAC_CTX_new(mac);
    b.mac_rekey = EVP_MAC_CTX_new(mac);
    if (mac == NULL || b.mac_cached == NULL || b.mac_rekey == NULL ||
        EVP_MAC_init(b.mac_cached, b.raw_key, b.raw_key_len, params) != 1 ||
        EVP_MAC_init(b.mac_rekey, b.raw_key, b.raw_key_len, params) != 1) {
        fprintf(stderr, "EVP_MAC setup failed\n");
        return 1;
    }

    double hmac = measure(&b, op_evp_cached, n);
    double rekey = measure(&b, op_evp_rekey, n);
    double midstate = measure(&b, op_midstate, n);
    double verify = measure(&b, op_verify, n);
    double request = measure(&b, op_request, n);
    double parse = measure(&b, op_parse, n);
    double split = measure(&b, op_path, n);
    double token_id = measure(&b, op_token_id, n);
    double find = measure(&b, op_find, n);

    printf("string_to_sign_bytes=%zu query_bytes=%zu iterations=%ld runs=%d (median)\n", b.sts_len, strlen(b.query), n, RUNS);
    printf("hmac_evp_cached_key_ns=%.1f\n", hmac);
    printf("hmac_evp_rekey_ns=%.1f\n", rekey);
    printf("hmac_sas_midstate_ns=%.1f\n", midstate);
    printf("sas_verify_ns=%.1f\n", verify);
    printf("sas_token_parse_ns=%.1f\n", parse);
    printf("sas_resource_from_path_ns=%.1f\n", split);
    printf("sas_token_id_ns=%.1f\n", token_id);
    printf("sas_operation_find_ns=%.1f\n", find);
    printf("parse_path_verify_token_id_ns=%.1f\n", request);
    printf("request_over_hmac=%.2f\n", request / hmac);
    printf("verify_over_hmac=%.2f\n", verify / hmac);

    EVP_MAC_CTX_free(b.mac_cached);
    EVP_MAC_CTX_free(b.mac_rekey);
    EVP_MAC_free(mac);
    sas_key_dispose(&b.key);
    sas_key_dispose(&b.key2);
    sg_wipe(b.raw_key, sizeof(b.raw_key));
    return 0;
}
