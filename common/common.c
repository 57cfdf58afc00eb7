/*
 * common.c - allocation, wiping, base64 and constant-time comparison shared by
 * every module (see common.h).
 */
#include "sasgw/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

static void oom(size_t n)
{
    fprintf(stderr, "sasgw: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *sg_alloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);
    if (p == NULL)
        oom(n);
    return p;
}

void *sg_calloc(size_t count, size_t size)
{
    void *p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
    if (p == NULL)
        oom(count * size);
    return p;
}

void *sg_realloc(void *p, size_t n)
{
    void *q = realloc(p, n == 0 ? 1 : n);
    if (q == NULL)
        oom(n);
    return q;
}

char *sg_strdup(const char *s)
{
    return sg_strndup(s, strlen(s));
}

char *sg_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = sg_alloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void sg_wipe(void *p, size_t n)
{
    if (p != NULL && n != 0)
        OPENSSL_cleanse(p, n);
}

void sg_free_secret(void *p, size_t n)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

void sg_free_secret_str(char *s)
{
    if (s == NULL)
        return;
    sg_free_secret(s, strlen(s) + 1);
}

int sg_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t encode(const uint8_t *in, size_t n, char *out, const char *alphabet, int pad)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t sg_b64_encode(const uint8_t *in, size_t n, char *out)
{
    return encode(in, n, out, b64_std, 1);
}

size_t sg_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    return encode(in, n, out, b64_url, 0);
}

/* Value of one standard base64 character, or -1. Branch-light so secret keys leak little through timing. */
static int b64_value(unsigned char c)
{
    int v = -1;
    v += ((('A' - 1 - (int)c) & ((int)c - ('Z' + 1))) >> 8) & ((int)c - 'A' + 1);
    v += ((('a' - 1 - (int)c) & ((int)c - ('z' + 1))) >> 8) & ((int)c - 'a' + 27);
    v += ((('0' - 1 - (int)c) & ((int)c - ('9' + 1))) >> 8) & ((int)c - '0' + 53);
    v += ((('+' - 1 - (int)c) & ((int)c - ('+' + 1))) >> 8) & 63;
    v += ((('/' - 1 - (int)c) & ((int)c - ('/' + 1))) >> 8) & 64;
    return v;
}

int sg_b64_decode(const char *in, size_t len, uint8_t *out, size_t outcap, size_t *outlen)
{
    size_t pad = 0, o = 0;
    if (len % 4 != 0)
        return -1;
    if (len >= 1 && in[len - 1] == '=')
        pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
    if (len / 4 * 3 - pad > outcap)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        size_t last = (i + 4 == len) ? pad : 0;
        for (size_t j = 0; j < 4; j++) {
            if (j >= 4 - last) {
                v[j] = 0;
                continue;
            }
            if ((v[j] = b64_value((unsigned char)in[i + j])) < 0)
                return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (last < 2)
            out[o++] = (uint8_t)(w >> 8);
        else if ((w >> 8) & 0xff)
            return -1; /* non-zero unused bits: not canonical */
        if (last < 1)
            out[o++] = (uint8_t)w;
        else if (w & 0xff)
            return -1;
    }
    *outlen = o;
    return 0;
}

void sg_random(void *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1) {
        fprintf(stderr, "sasgw: the random number generator failed\n");
        abort();
    }
}
