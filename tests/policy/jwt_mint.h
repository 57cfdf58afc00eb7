/* jwt_mint.h - test helpers: mint JWTs with libjwt, read files, build the demo policy. */
#ifndef SASGW_TEST_JWT_MINT_H
#define SASGW_TEST_JWT_MINT_H

#include <stddef.h>

#include <jwt.h>

#include "sasgw/policy.h"

#define DEMO_ISSUER "https://demo.issuer.local/"
#define DEMO_RSA_KEY "conf/demo-jwt-private.pem"
#define DEMO_EC_KEY "conf/demo-jwt-es256.pem"

/* Reads a whole file (NUL-terminated); fails the test when it cannot. Free with free(). */
char *test_read_file(const char *path, size_t *len);

/*
 * Signs claims (a JSON object) with alg and key (key_len bytes: a PEM private
 * key for RS256/ES256, any bytes for HS256), adding header kid when not NULL.
 * Returns the compact token; free with free().
 */
char *test_mint_with_key(jwt_alg_t alg, const unsigned char *key, size_t key_len, const char *kid, const char *claims);

/* test_mint_with_key() with the key read from keyfile. */
char *test_mint(jwt_alg_t alg, const char *keyfile, const char *kid, const char *claims);

/* The public key of a PEM private key file, as the PEM text OpenSSL writes (what sasgw hands libjwt). Free with free(). */
char *test_public_pem(const char *keyfile, size_t *len);

/* base64url (no padding) of len bytes; free with free(). */
char *test_b64url(const void *data, size_t len);

/*
 * Assembles header.payload.signature by hand from two JSON texts, signing
 * with RS256 and the demo RSA key through OpenSSL (for tokens libjwt would not
 * produce, e.g. duplicate claims). Free with free().
 */
char *test_sign_rs256_raw(const char *header_json, const char *payload_json);

/* Loads conf/policy.yaml; fails the test when it cannot. */
policy_t *test_demo_policy(void);

/* Loads a policy from a string (name "test.yaml", key paths relative to conf/); NULL with err set on error. */
policy_t *test_policy_from(const char *yaml, char *err, size_t errlen);

#endif
