/*
 * bench_sharedkey.c - what Shared Key costs resign mode per request, on one
 * core: the string to sign alone, the Authorization (string to sign + HMAC +
 * base64), and sas_sk_verify() (parse the header, string to sign, HMAC,
 * constant-time compare), for a typical upstream GET (x-ms-date, x-ms-version,
 * x-ms-client-request-id, a Range, two unsigned headers, a snapshot query) and
 * for a PUT with eight metadata headers. The bare midstate HMAC over the same
 * string is the baseline. Each figure is the median of 9 runs in this
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), pinned to one core.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sasgw/signer.h"

#define RUNS 9
#define H(n, v)                                                                                                                    \
    {                                                                                                                              \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                                                         \
    }

static const char key_b64[] = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
static volatile size_t sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { STS, AUTH, VERIFY, HMAC };

/* The median ns per operation of `what` over n iterations. */
static double measure(int what, const sas_sk_request_t *r, const sas_key_t *key, const char *auth, size_t auth_len, long n)
{
    static char sts[8192], out[SAS_SK_AUTH_MAX];
    const sas_key_t *keys[1] = {key};
    size_t sts_len = sas_sk_string_to_sign(r, "devstoreaccount1", 16, sts, sizeof(sts));
    uint8_t mac[SAS_SIG_LEN];
    double t[RUNS];
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            switch (what) {
            case STS:
                sink += sas_sk_string_to_sign(r, "devstoreaccount1", 16, sts, sizeof(sts));
                break;
            case AUTH:
                sink += sas_sk_authorization(r, "devstoreaccount1", 16, key, sts, sizeof(sts), out, sizeof(out));
                break;
            case VERIFY:
                sink += (size_t)sas_sk_verify(r, "devstoreaccount1", 16, keys, 1, auth, auth_len, sts, sizeof(sts));
                break;
            default:
                sas_hmac(key, sts, sts_len, mac);
                sink += mac[0];
            }
        }
        t[run] = (now_ns() - t0) / (double)n;
    }
    qsort(t, RUNS, sizeof(t[0]), cmp);
    return t[RUNS / 2];
}

static void report(const char *name, const sas_sk_request_t *r, const sas_key_t *key, long n)
{
    static char sts[8192], auth[SAS_SK_AUTH_MAX];
    size_t len = sas_sk_string_to_sign(r, "devstoreaccount1", 16, sts, sizeof(sts));
    size_t alen = sas_sk_authorization(r, "devstoreaccount1", 16, key, sts, sizeof(sts), auth, sizeof(auth));
    const sas_key_t *keys[1] = {key};
    if (len == 0 || alen == 0 || !sas_sk_verify(r, "devstoreaccount1", 16, keys, 1, auth, alen, sts, sizeof(sts))) {
        fprintf(stderr, "bench_sharedkey: %s does not sign\n", name);
        exit(1);
    }
    printf("%s_string_to_sign_bytes=%zu\n", name, len);
    printf("%s_hmac_ns=%.1f\n", name, measure(HMAC, r, key, auth, alen, n));
    printf("%s_string_to_sign_ns=%.1f\n", name, measure(STS, r, key, auth, alen, n));
    printf("%s_authorization_ns=%.1f\n", name, measure(AUTH, r, key, auth, alen, n));
    printf("%s_verify_ns=%.1f\n", name, measure(VERIFY, r, key, auth, alen, n));
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    sched_setaffinity(0, sizeof(set), &set);

    sas_key_t key;
    if (sas_key_init_base64(&key, key_b64, strlen(key_b64)) != 0)
        return 1;
    static const sas_sk_header_t get_h[] = {
        H("Host", "127.0.0.1:10000"),
        H("User-Agent", "azsdk-js-storageblob/12.34.0"),
        H("x-ms-date", "Wed, 02 Dec 2026 08:00:00 GMT"),
        H("x-ms-version", "2026-10-06"),
        H("x-ms-client-request-id", "0f2b1a34-5c6d-4e7f-8091-a2b3c4d5e6f7"),
        H("Range", "bytes=0-1023"),
    };
    static const char get_q[] = "snapshot=2026-12-01T10%3A00%3A00.1234567Z&timeout=30";
    sas_sk_request_t get = {"GET",
                            3,
                            "/devstoreaccount1/photos/users/alice/2026/cat%20picture.jpg",
                            59,
                            get_q,
                            sizeof(get_q) - 1,
                            get_h,
                            sizeof(get_h) / sizeof(get_h[0])};
    static const sas_sk_header_t put_h[] = {
        H("Host", "127.0.0.1:10000"),    H("Content-Length", "1048576"),
        H("Content-Type", "image/jpeg"), H("x-ms-date", "Wed, 02 Dec 2026 08:00:00 GMT"),
        H("x-ms-version", "2026-10-06"), H("x-ms-blob-type", "BlockBlob"),
        H("x-ms-meta-owner", "alice"),   H("x-ms-meta-camera", "X100V"),
        H("x-ms-meta-city", "Zurich"),   H("x-ms-meta-album", "holidays"),
        H("x-ms-meta-year", "2026"),     H("x-ms-meta-rating", "5"),
        H("x-ms-meta-tag_1", "cat"),     H("x-ms-meta-tag_2", "sofa"),
    };
    sas_sk_request_t put = {"PUT",
                            3,
                            "/devstoreaccount1/photos/users/alice/2026/cat%20picture.jpg",
                            59,
                            "",
                            0,
                            put_h,
                            sizeof(put_h) / sizeof(put_h[0])};
    printf("iterations=%ld runs=%d (median, thread CPU time)\n", n, RUNS);
    report("get", &get, &key, n);
    report("put_meta8", &put, &key, n);
    sas_key_dispose(&key);
    return 0;
}
