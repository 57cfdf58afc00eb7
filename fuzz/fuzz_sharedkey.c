/*
 * fuzz_sharedkey.c - libFuzzer target over Shared Key signing
 * (signer/sas_sharedkey.c). The input is one byte choosing the output
 * capacity, then '\n'-separated lines: method, path, query, account, and any
 * number of headers "name:value" (a line without ':' is a name with an empty
 * value). Every request either gets a string to sign or is refused; checked:
 * the output stays within its capacity and is NUL-terminated at the length
 * returned, holds no NUL or CR, a buffer one byte short refuses, the header
 * order given does not matter, and the Authorization made from it verifies
 * (with the key in either slot) while one of another key does not.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_H (SAS_SK_MAX_HEADERS + 8)

static const sas_key_t *key(int which)
{
    static sas_key_t k[2];
    static const char dev[] = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    if (!k[0].ready) {
        sas_key_init_base64(&k[0], dev, strlen(dev));
        sas_key_init(&k[1], (const uint8_t *)"other key", 9);
    }
    return &k[which];
}

/* The next line of [*p, end): sets *s and *n, advances past its '\n'. Returns 0 when there is none. */
static int next_line(const char **p, const char *end, const char **s, size_t *n)
{
    if (*p > end)
        return 0;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    *s = *p;
    *n = (size_t)((nl != NULL ? nl : end) - *p);
    *p = nl != NULL ? nl + 1 : end + 1;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[SAS_MAX_STS * 4], sts[SAS_MAX_STS * 4], auth[SAS_SK_AUTH_MAX];
    static sas_sk_header_t h[MAX_H], rev[MAX_H];
    const char *p, *end, *line[4];
    size_t len[4], nh = 0, n, n2;
    sas_error_t err;

    if (size < 1)
        return 0;
    size_t cap = data[0] == 0 ? sizeof(out) : (size_t)data[0] * 16;
    p = (const char *)data + 1, end = (const char *)data + size;
    for (int i = 0; i < 4; i++)
        if (!next_line(&p, end, &line[i], &len[i]))
            line[i] = "", len[i] = 0;
    const char *s;
    while (nh < MAX_H && next_line(&p, end, &s, &n)) {
        const char *colon = memchr(s, ':', n);
        size_t nl = colon != NULL ? (size_t)(colon - s) : n;
        h[nh++] = (sas_sk_header_t){s, nl, colon != NULL ? colon + 1 : s + n, colon != NULL ? n - nl - 1 : 0};
    }
    sas_sk_request_t req = {line[0], len[0], line[1], len[1], line[2], len[2], h, nh};

    memset(out, 0x5a, sizeof(out));
    sas_reason_t r = sas_sk_canonicalize(&req, line[3], len[3], out, cap, &n, &err);
    if (cap < sizeof(out) && out[cap] != 0x5a)
        abort(); /* wrote past its capacity */
    if (r != SAS_OK) {
        if (n != 0 || out[0] != '\0' || err.reason != r || memchr(err.message, '\0', sizeof(err.message)) == NULL)
            abort();
        return 0;
    }
    if (n == 0 || n >= cap || out[n] != '\0' || memchr(out, '\0', n) != NULL || memchr(out, '\r', n) != NULL)
        abort();

    /* one byte short refuses; the order of the headers given does not matter */
    if (sas_sk_string_to_sign(&req, line[3], len[3], sts, n) != 0)
        abort();
    for (size_t i = 0; i < nh; i++)
        rev[i] = h[nh - 1 - i];
    sas_sk_request_t back = req;
    back.headers = rev;
    if ((n2 = sas_sk_string_to_sign(&back, line[3], len[3], sts, sizeof(sts))) != n || memcmp(sts, out, n) != 0)
        abort();

    /* the Authorization verifies with its key in either slot, not with another key */
    size_t an = sas_sk_authorization(&req, line[3], len[3], key(0), sts, sizeof(sts), auth, sizeof(auth));
    if (an == 0 || an >= sizeof(auth) || memcmp(sts, out, n + 1) != 0)
        abort();
    const sas_key_t *both[2] = {key(1), key(0)}, *other[1] = {key(1)};
    if (!sas_sk_verify(&req, line[3], len[3], both, 2, auth, an, sts, sizeof(sts)) ||
        sas_sk_verify(&req, line[3], len[3], other, 1, auth, an, sts, sizeof(sts)))
        abort();
    return 0;
}
