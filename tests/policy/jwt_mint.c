/* jwt_mint.c - test helpers shared by the policy tests (see jwt_mint.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sasgw/common.h"
#include "jwt_mint.h"

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

char *test_mint_with_key(jwt_alg_t alg, const unsigned char *key, size_t key_len, const char *kid, const char *claims)
{
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grants_json(jwt, claims), 0);
    if (kid != NULL)
        assert_int_equal(jwt_add_header(jwt, "kid", kid), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, key, (int)key_len), 0);
    char *token = jwt_encode_str(jwt);
    assert_non_null(token);
    jwt_free(jwt);
    return token;
}

char *test_mint(jwt_alg_t alg, const char *keyfile, const char *kid, const char *claims)
{
    size_t len;
    char *key = test_read_file(keyfile, &len);
    char *token = test_mint_with_key(alg, (const unsigned char *)key, len, kid, claims);
    free(key);
    return token;
}

char *test_public_pem(const char *keyfile, size_t *len)
{
    FILE *f = fopen(keyfile, "rb");
    assert_non_null(f);
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pkey);
    BIO *mem = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(mem, pkey), 1);
    char *data;
    long n = BIO_get_mem_data(mem, &data);
    char *pem = malloc((size_t)n + 1);
    memcpy(pem, data, (size_t)n);
    pem[n] = '\0';
    *len = (size_t)n;
    BIO_free(mem);
    EVP_PKEY_free(pkey);
    return pem;
}

policy_t *test_demo_policy(void)
{
    char err[512];
    policy_t *p = policy_load("conf/policy.yaml", err, sizeof(err));
    if (p == NULL)
        fail_msg("conf/policy.yaml: %s", err);
    return p;
}

policy_t *test_policy_from(const char *yaml, char *err, size_t errlen)
{
    return policy_load_buffer("test.yaml", "conf", yaml, strlen(yaml), err, errlen);
}

char *test_b64url(const void *data, size_t len)
{
    char *out = malloc(SG_B64_ENCODED_LEN(len) + 1);
    sg_b64url_encode(data, len, out);
    return out;
}

char *test_sign_rs256_raw(const char *header_json, const char *payload_json)
{
    char *h = test_b64url(header_json, strlen(header_json)), *p = test_b64url(payload_json, strlen(payload_json));
    size_t inlen = strlen(h) + 1 + strlen(p), siglen = 0;
    char *input = malloc(inlen + 1);
    sprintf(input, "%s.%s", h, p);

    FILE *f = fopen(DEMO_RSA_KEY, "rb");
    assert_non_null(f);
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pkey);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[1024];
    siglen = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, inlen), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);

    char *s = test_b64url(sig, siglen);
    char *token = malloc(inlen + 1 + strlen(s) + 1);
    sprintf(token, "%s.%s", input, s);
    free(h);
    free(p);
    free(s);
    free(input);
    return token;
}
