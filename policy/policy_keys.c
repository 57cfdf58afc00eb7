/*
 * policy_keys.c - reads an issuer's verification keys: a JWKS document (RSA
 * n/e and EC P-256 x/y members, converted to PEM with OpenSSL 3) or a PEM file
 * of public keys. Each key is pinned to the one algorithm its type allows:
 * RSA to RS256, EC P-256 to ES256.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "sasgw/common.h"

#define MAX_KEYS 64
#define MIN_RSA_BITS 2048
#define MAX_RSA_BITS 8192

/* Appends a copy of the key's PEM to the list. Takes nothing from pkey. Returns 0 or -1. */
static int add_key(policy__key_t **keys, size_t *nkeys, const char *kid, policy__alg_t alg, EVP_PKEY *pkey)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *data;
    long len;
    if (mem == NULL || PEM_write_bio_PUBKEY(mem, pkey) != 1 || (len = BIO_get_mem_data(mem, &data)) <= 0) {
        BIO_free(mem);
        return -1;
    }
    *keys = sg_realloc(*keys, (*nkeys + 1) * sizeof(**keys));
    policy__key_t *k = &(*keys)[(*nkeys)++];
    k->kid = kid != NULL ? sg_strdup(kid) : NULL;
    k->alg = alg;
    k->pem = sg_strndup(data, (size_t)len);
    k->pem_len = (size_t)len;
    BIO_free(mem);
    return 0;
}

void policy__free_keys(policy__key_t *keys, size_t nkeys)
{
    for (size_t i = 0; i < nkeys; i++) {
        free(keys[i].kid);
        free(keys[i].pem);
    }
    free(keys);
}

/* Decodes a base64url JWK member into a freshly allocated buffer. Returns NULL when absent or malformed. */
static uint8_t *jwk_bytes(json_t *jwk, const char *member, size_t *len)
{
    const char *s = json_string_value(json_object_get(jwk, member));
    if (s == NULL)
        return NULL;
    size_t slen = strlen(s);
    uint8_t *out = sg_alloc(slen / 4 * 3 + 3);
    if (slen == 0 || policy__b64url_decode(s, slen, out, slen / 4 * 3 + 3, len) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* Builds an EVP_PKEY from params for the key type name ("RSA", "EC"). */
static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static EVP_PKEY *jwk_rsa(json_t *jwk, char *err, size_t errlen)
{
    size_t nlen = 0, elen = 0;
    uint8_t *n = jwk_bytes(jwk, "n", &nlen), *e = jwk_bytes(jwk, "e", &elen);
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;

    if (n == NULL || e == NULL || elen > 8) {
        snprintf(err, errlen, "RSA key needs base64url members n and e");
        goto done;
    }
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    if (bn_n == NULL || bn_e == NULL)
        goto fail;
    if (BN_num_bits(bn_n) < MIN_RSA_BITS || BN_num_bits(bn_n) > MAX_RSA_BITS) {
        snprintf(err, errlen, "RSA key has %d bits (%d to %d accepted)", BN_num_bits(bn_n), MIN_RSA_BITS, MAX_RSA_BITS);
        goto done;
    }
    if (!BN_is_odd(bn_e) || BN_is_one(bn_e)) {
        snprintf(err, errlen, "RSA key has an invalid public exponent");
        goto done;
    }
    if ((bld = OSSL_PARAM_BLD_new()) == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto fail;
    if ((pkey = pkey_fromdata("RSA", params)) != NULL)
        goto done;
fail:
    snprintf(err, errlen, "RSA key could not be built");
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    free(n);
    free(e);
    return pkey;
}

static EVP_PKEY *jwk_ec(json_t *jwk, char *err, size_t errlen)
{
    size_t xlen = 0, ylen = 0;
    uint8_t *x = jwk_bytes(jwk, "x", &xlen), *y = jwk_bytes(jwk, "y", &ylen);
    uint8_t point[65];
    char group[] = "prime256v1";
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *check = NULL;

    if (x == NULL || y == NULL || xlen != 32 || ylen != 32) {
        snprintf(err, errlen, "EC P-256 key needs base64url members x and y of 32 bytes each");
        goto done;
    }
    /* uncompressed point: 0x04 || x || y */
    point[0] = 0x04;
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_construct_end(),
    };
    pkey = pkey_fromdata("EC", params);
    /* the point must be on the curve */
    if (pkey == NULL || (check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL || EVP_PKEY_public_check(check) != 1) {
        snprintf(err, errlen, "EC key is not a valid P-256 public key");
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
done:
    EVP_PKEY_CTX_free(check);
    free(x);
    free(y);
    return pkey;
}

/* Parses a JWKS document. Keys of other types, curves, algorithms or uses are skipped. */
static int load_jwks(const char *buf, size_t len, unsigned algs, policy__key_t **keys, size_t *nkeys, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr), *list, *jwk;
    size_t i;
    int ret = -1;

    if (root == NULL) {
        snprintf(err, errlen, "not valid JSON (line %d: %s)", jerr.line, jerr.text);
        return -1;
    }
    if (!json_is_array(list = json_object_get(root, "keys"))) {
        snprintf(err, errlen, "a JWKS needs a \"keys\" array");
        goto done;
    }
    json_array_foreach(list, i, jwk)
    {
        char why[160] = "";
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        const char *use = json_string_value(json_object_get(jwk, "use"));
        const char *alg = json_string_value(json_object_get(jwk, "alg"));
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        policy__alg_t pinned;
        EVP_PKEY *pkey;

        if (!json_is_object(jwk) || kty == NULL) {
            snprintf(err, errlen, "keys[%zu] is not a JWK with a kty", i);
            goto done;
        }
        if (json_object_get(jwk, "kid") != NULL && (kid == NULL || *kid == '\0' || strlen(kid) > 128)) {
            snprintf(err, errlen, "keys[%zu]: kid must be a non-empty string of at most 128 bytes", i);
            goto done;
        }
        /* only signature keys of the two supported kinds */
        if (use != NULL && strcmp(use, "sig") != 0)
            continue;
        if (strcmp(kty, "RSA") == 0)
            pinned = POLICY__ALG_RS256;
        else if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
            pinned = POLICY__ALG_ES256;
        else
            continue;
        if (alg != NULL && strcmp(alg, policy__alg_name(pinned)) != 0)
            continue;
        if (!(algs & (1u << pinned)))
            continue;
        if (*nkeys >= MAX_KEYS) {
            snprintf(err, errlen, "more than %d keys", MAX_KEYS);
            goto done;
        }
        for (size_t j = 0; kid != NULL && j < *nkeys; j++) {
            if ((*keys)[j].kid != NULL && strcmp((*keys)[j].kid, kid) == 0) {
                snprintf(err, errlen, "keys[%zu]: kid \"%s\" appears twice", i, kid);
                goto done;
            }
        }
        pkey = pinned == POLICY__ALG_RS256 ? jwk_rsa(jwk, why, sizeof(why)) : jwk_ec(jwk, why, sizeof(why));
        if (pkey == NULL) {
            snprintf(err, errlen, "keys[%zu]%s%s%s: %s", i, kid ? " (kid " : "", kid ? kid : "", kid ? ")" : "", why);
            goto done;
        }
        if (add_key(keys, nkeys, kid, pinned, pkey) != 0) {
            EVP_PKEY_free(pkey);
            snprintf(err, errlen, "keys[%zu]: cannot encode the key as PEM", i);
            goto done;
        }
        EVP_PKEY_free(pkey);
    }
    ret = 0;
done:
    json_decref(root);
    return ret;
}

/* Parses every "PUBLIC KEY" block of a PEM file. */
static int load_pem(const char *buf, size_t len, unsigned algs, policy__key_t **keys, size_t *nkeys, char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    EVP_PKEY *pkey;
    size_t seen = 0;
    int ret = -1;

    if (bio == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    while ((pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL) {
        char group[32] = "";
        policy__alg_t pinned;
        seen++;
        if (EVP_PKEY_is_a(pkey, "RSA")) {
            int bits = EVP_PKEY_get_bits(pkey);
            if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
                snprintf(err, errlen, "PEM key %zu: RSA key has %d bits (%d to %d accepted)", seen, bits, MIN_RSA_BITS,
                         MAX_RSA_BITS);
                EVP_PKEY_free(pkey);
                goto done;
            }
            pinned = POLICY__ALG_RS256;
        } else if (EVP_PKEY_is_a(pkey, "EC") &&
                   EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1 &&
                   strcmp(group, "prime256v1") == 0) {
            pinned = POLICY__ALG_ES256;
        } else {
            snprintf(err, errlen, "PEM key %zu is neither RSA nor EC P-256", seen);
            EVP_PKEY_free(pkey);
            goto done;
        }
        if (*nkeys >= MAX_KEYS) {
            snprintf(err, errlen, "more than %d keys", MAX_KEYS);
            EVP_PKEY_free(pkey);
            goto done;
        }
        if ((algs & (1u << pinned)) && add_key(keys, nkeys, NULL, pinned, pkey) != 0) {
            snprintf(err, errlen, "PEM key %zu: cannot encode the key as PEM", seen);
            EVP_PKEY_free(pkey);
            goto done;
        }
        EVP_PKEY_free(pkey);
    }
    if (seen == 0) {
        snprintf(err, errlen, "no PEM \"PUBLIC KEY\" block (a private key does not belong here)");
        goto done;
    }
    ret = 0;
done:
    BIO_free(bio);
    return ret;
}

int policy__load_keys(const char *path, unsigned algs, policy__key_t **keys, size_t *nkeys, char *err, size_t errlen)
{
    char *buf, why[200];
    size_t len, i = 0;
    int ret;

    *keys = NULL;
    *nkeys = 0;
    if (policy__read_file(path, POLICY_MAX_FILE_SIZE, &buf, &len, err, errlen) != 0)
        return -1;
    /* JSON starts with '{'; anything else is read as PEM */
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i < len && buf[i] == '{')
        ret = load_jwks(buf, len, algs, keys, nkeys, why, sizeof(why));
    else
        ret = load_pem(buf, len, algs, keys, nkeys, why, sizeof(why));
    ERR_clear_error();
    free(buf);
    if (ret == 0 && *nkeys == 0) {
        snprintf(why, sizeof(why), "no usable RS256 or ES256 signature key");
        ret = -1;
    }
    if (ret != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        policy__free_keys(*keys, *nkeys);
        *keys = NULL;
        *nkeys = 0;
    }
    return ret;
}
