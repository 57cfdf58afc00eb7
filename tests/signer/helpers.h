/*
 * helpers.h - shared by the signer's tests: the SDK vectors, and a compact
 * way to parse + verify a request the way the proxy will.
 */
#ifndef SASGW_TESTS_SIGNER_HELPERS_H
#define SASGW_TESTS_SIGNER_HELPERS_H

#include <stddef.h>

#include <jansson.h>

#include "sasgw/signer.h"

/* The 240 vectors as a JSON array (fails the test when they cannot be read). Free with json_decref(). */
json_t *vec_load(void);
/* A string member of a vector, or NULL. */
const char *vec_str(const json_t *v, const char *key);
/* Writes a vector time in the form the SDK signed it (fraction dropped) into out[40]; NULL when absent. */
const char *vec_time(const json_t *v, const char *key, char *out);
/* Fills *m from a vector; bufs holds the converted times (2 x 40 bytes). */
void vec_mint_params(const json_t *v, sas_mint_t *m, char bufs[2][40]);
/* Percent-encodes a blob name for a URL path (keeps '/'), into out (cap bytes). */
void enc_path(const char *in, char *out, size_t cap);
/* Percent-encodes a query value (encodeURIComponent), into out (cap bytes). */
void enc_query(const char *in, char *out, size_t cap);

/* One request to verify. */
typedef struct {
    const char *path;  /* raw path */
    const char *query; /* raw query */
    sas_method_t method;
    unsigned req_flags; /* SAS_REQ_* */
    int is_https;
    const char *client_ip; /* NULL: unknown */
    sas_time_t now;
    sas_time_t start_skew; /* SAS_TIME_NONE: default */
    const sas_key_t *const *keys;
    size_t nkeys;
    const sas_policy_t *policy; /* returned for any si; NULL: none */
} req_t;

/* Sets defaults: GET, https, start skew 5 min, now = 2026-01-01T00:00:00Z. */
void req_init(req_t *r);
/* Parses and verifies; returns the reason, fills *err and (when not NULL) *grant. */
sas_reason_t req_verify(const req_t *r, sas_error_t *err, sas_grant_t *grant);

/* A fixed account key for tests that do not use the vectors, and its base64. */
#define TEST_KEY_B64 "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
const sas_key_t *test_key(void);

/*
 * Mints *m with test_key() (failing the test if minting is refused), then
 * verifies r with the query "<minted>&<extra>" (extra may be NULL) and
 * r->keys = {test_key()} unless r sets keys. Fills query (cap bytes) with what was verified.
 */
sas_reason_t mint_verify(const sas_mint_t *m, req_t *r, const char *extra, char *query, size_t cap, sas_error_t *err);

/* Parses a time literal (aborts the test when invalid). */
sas_time_t T(const char *s);

#endif
