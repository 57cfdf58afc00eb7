/*
 * sha256.c - SHA-256 without allocation or provider lookups.
 *
 * OpenSSL 3's one-shot SHA256() and EVP_Digest(EVP_sha256()) fetch the
 * algorithm from the provider on every call (EVP_MD_fetch: a lock and a
 * hash-table walk) and allocate a context: 4% of the proxy's time per
 * request in perf. The low-level SHA256_* functions, deprecated in OpenSSL 3
 * but present, do neither; this is the one file outside the signer's HMAC
 * that uses them.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/sha.h>

#include "sasgw/common.h"

void sg_sha256(const void *msg, size_t len, uint8_t out[32])
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, msg, len);
    SHA256_Final(out, &c);
    sg_wipe(&c, sizeof(c)); /* the message may be a secret (a client secret, a key) */
}
