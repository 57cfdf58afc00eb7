/*
 * sas_hmac.c - keyed HMAC-SHA256 without allocation, and token ids.
 *
 * OpenSSL 3's EVP_MAC re-init and EVP_MD_CTX_copy allocate, so a key is kept
 * as the two SHA-256 midstates of HMAC (after absorbing key ^ ipad and
 * key ^ opad), computed once; each MAC copies them by value onto the stack.
 * This is the one file that uses the low-level SHA256_* functions that
 * OpenSSL 3 marks deprecated.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/sha.h>

#include "sasgw/common.h"
#include "internal.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((sas_key_t *)0)->state[0]), "sas_key_t state too small for SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= 16, "sas_key_t state under-aligned for SHA256_CTX");

#define BLOCK 64

void sas_key_init(sas_key_t *key, const uint8_t *bytes, size_t len)
{
    uint8_t k[BLOCK], pad[BLOCK];
    SHA256_CTX *inner = (SHA256_CTX *)(void *)key->state[0], *outer = (SHA256_CTX *)(void *)key->state[1];

    /* a key longer than a block is replaced by its hash; a shorter one is padded with zeros */
    memset(key, 0, sizeof(*key));
    memset(k, 0, sizeof(k));
    if (len > BLOCK)
        sg_sha256(bytes, len, k);
    else if (len != 0)
        memcpy(k, bytes, len);

    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    SHA256_Init(inner);
    SHA256_Update(inner, pad, BLOCK);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    SHA256_Init(outer);
    SHA256_Update(outer, pad, BLOCK);
    key->ready = 1;

    sg_wipe(k, sizeof(k));
    sg_wipe(pad, sizeof(pad));
}

int sas_key_init_base64(sas_key_t *key, const char *b64, size_t len)
{
    uint8_t bytes[SG_B64_DECODED_MAX(256)];
    size_t n = 0;
    memset(key, 0, sizeof(*key));
    if (len == 0 || len > 256 || sg_b64_decode(b64, len, bytes, sizeof(bytes), &n) != 0 || n == 0) {
        sg_wipe(bytes, sizeof(bytes));
        return -1;
    }
    sas_key_init(key, bytes, n);
    sg_wipe(bytes, sizeof(bytes));
    return 0;
}

void sas_key_dispose(sas_key_t *key)
{
    if (key != NULL)
        sg_wipe(key, sizeof(*key));
}

void sas_hmac(const sas_key_t *key, const void *msg, size_t len, uint8_t out[SAS_SIG_LEN])
{
    SHA256_CTX c;
    uint8_t inner[SHA256_DIGEST_LENGTH];

    /* inner hash: midstate(key ^ ipad) + msg */
    memcpy(&c, key->state[0], sizeof(c));
    SHA256_Update(&c, msg, len);
    SHA256_Final(inner, &c);
    /* outer hash: midstate(key ^ opad) + inner */
    memcpy(&c, key->state[1], sizeof(c));
    SHA256_Update(&c, inner, sizeof(inner));
    SHA256_Final(out, &c);

    sg_wipe(&c, sizeof(c));
}

void sas_token_id_from_sig(const uint8_t sig[SAS_SIG_LEN], char *out)
{
    uint8_t h[32];
    sg_sha256(sig, SAS_SIG_LEN, h);
    sg_b64url_encode(h, 16, out);
}

void sas_token_id(const sas_token_t *tok, char *out)
{
    sas_token_id_from_sig(tok->sig, out);
}
