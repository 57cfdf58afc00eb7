/*
 * policy_jwt.c - JWT bearer authentication (RS256 and ES256).
 *
 * The order is cheapest and safest first: size and shape; the header's alg
 * against the two accepted algorithms (so "none" and HS* never reach libjwt,
 * whose 1.10 jwt_decode() would take a PEM public key as an HMAC secret);
 * the issuer and key chosen from the unverified payload and header; the
 * signature verified by libjwt with the key's PEM, and jwt_get_alg() compared
 * with the algorithm the key is pinned to (or this very token found verified
 * by that key before, internal.h's signature cache); then the claims, read
 * from the very bytes the signature covers, on every use.
 */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/err.h>
#include <openssl/sha.h>

#include "sasgw/common.h"

/* Without kid, at most this many keys of the right algorithm are tried. */
#define MAX_KEY_TRIES 4

/* Writes the reason into err. Returns -1. */
__attribute__((format(printf, 3, 4))) static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* A token-supplied string fit for a message: short printable ASCII, or a placeholder. */
static const char *printable(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return "(not shown)";
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return "(not shown)";
    return s;
}

/* Decodes one base64url segment holding a JSON object. NULL when it is anything else. */
static json_t *segment_json(const char *s, size_t len)
{
    size_t cap = len / 4 * 3 + 3, n = 0;
    uint8_t *buf = sg_alloc(cap);
    json_t *obj = NULL;
    if (policy__b64url_decode(s, len, buf, cap, &n) == 0)
        obj = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (obj != NULL && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

/* Reads a NumericDate claim. Returns 1 when present and valid, 0 when absent, -1 when not a number. */
static int numeric_date(json_t *claims, const char *name, int64_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (v == NULL)
        return 0;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d > 1e15 || d < -1e15)
            return -1;
        *out = (int64_t)floor(d);
        return 1;
    }
    return -1;
}

/* 1 when got names want; with loose, also when the two differ only by one trailing '/' (a resource URL either way). */
static int audience_equal(const char *got, const char *want, int loose)
{
    size_t g = strlen(got), w = strlen(want);
    if (g == w)
        return memcmp(got, want, g) == 0;
    if (!loose)
        return 0;
    if (g == w + 1 && got[w] == '/')
        return memcmp(got, want, w) == 0;
    if (w == g + 1 && want[g] == '/')
        return memcmp(got, want, g) == 0;
    return 0;
}

static int audience_matches(json_t *aud, const char *want, int loose)
{
    size_t i;
    json_t *item;
    if (json_is_string(aud))
        return audience_equal(json_string_value(aud), want, loose);
    json_array_foreach(aud, i, item)
    {
        if (json_is_string(item) && audience_equal(json_string_value(item), want, loose))
            return 1;
    }
    return 0;
}

policy__sigcache_t *policy__sigcache_new(void)
{
    policy__sigcache_t *cache = sg_calloc(1, sizeof(*cache));
    pthread_mutex_init(&cache->lock, NULL);
    return cache;
}

void policy__sigcache_free(policy__sigcache_t *cache)
{
    if (cache == NULL)
        return;
    pthread_mutex_destroy(&cache->lock);
    sg_free_secret(cache, sizeof(*cache));
}

uint64_t policy__sigcache_hits(const policy_t *policy)
{
    pthread_mutex_lock(&policy->sigcache->lock);
    uint64_t hits = policy->sigcache->hits;
    pthread_mutex_unlock(&policy->sigcache->lock);
    return hits;
}

/* 1 when this exact token (digest) was verified by key before. */
static int sigcache_lookup(policy__sigcache_t *cache, const uint8_t *digest, const policy__key_t *key)
{
    size_t slot = policy__sigcache_slot(digest);
    pthread_mutex_lock(&cache->lock);
    int hit = cache->slots[slot].key == key && memcmp(cache->slots[slot].digest, digest, SHA256_DIGEST_LENGTH) == 0;
    cache->hits += (uint64_t)hit;
    pthread_mutex_unlock(&cache->lock);
    return hit;
}

static void sigcache_store(policy__sigcache_t *cache, const uint8_t *digest, const policy__key_t *key)
{
    size_t slot = policy__sigcache_slot(digest);
    pthread_mutex_lock(&cache->lock);
    memcpy(cache->slots[slot].digest, digest, SHA256_DIGEST_LENGTH);
    cache->slots[slot].key = key;
    pthread_mutex_unlock(&cache->lock);
}

/*
 * Verifies the signature with key through libjwt (or finds this very token
 * verified by key in the cache); 0 when it holds and libjwt agrees on the
 * pinned algorithm.
 */
static int verify_with(const policy_t *policy, const uint8_t *digest, const char *token, const policy__key_t *key)
{
    if (policy->sigcache != NULL && sigcache_lookup(policy->sigcache, digest, key))
        return 0;
    jwt_t *jwt = NULL;
    jwt_alg_t pinned = key->alg == POLICY__ALG_RS256 ? JWT_ALG_RS256 : JWT_ALG_ES256;
    int rc = jwt_decode(&jwt, token, (const unsigned char *)key->pem, (int)key->pem_len);
    int ok = rc == 0 && jwt != NULL && jwt_get_alg(jwt) == pinned;
    jwt_free(jwt);
    ERR_clear_error();
    if (ok && policy->sigcache != NULL)
        sigcache_store(policy->sigcache, digest, key);
    return ok ? 0 : -1;
}

/* Checks iss, aud, exp, nbf, iat and maps sub to a principal of this issuer. */
static int check_claims(const policy_t *policy, size_t issuer_index, json_t *claims, const char *audience, int64_t now,
                        const policy_principal_t **out, char *err, size_t errlen)
{
    const policy__issuer_t *iss = &policy->issuers[issuer_index];
    const char *want = audience != NULL ? audience : iss->audience;
    int64_t exp = 0, nbf = 0, iat = 0;
    int has;

    if (!audience_matches(json_object_get(claims, "aud"), want, audience != NULL))
        return refuse(err, errlen, "the token's audience (aud) does not include %s", want);
    if ((has = numeric_date(claims, "exp", &exp)) <= 0)
        return refuse(err, errlen, "%s", has == 0 ? "the token has no expiry (exp)" : "the token's exp is not a number");
    if (exp <= now - iss->leeway)
        return refuse(err, errlen, "%s", "the token has expired (exp)");
    if ((has = numeric_date(claims, "nbf", &nbf)) < 0)
        return refuse(err, errlen, "%s", "the token's nbf is not a number");
    if (has && nbf > now + iss->leeway)
        return refuse(err, errlen, "%s", "the token is not valid yet (nbf)");
    if ((has = numeric_date(claims, "iat", &iat)) < 0)
        return refuse(err, errlen, "%s", "the token's iat is not a number");
    if (has && iat > now + iss->leeway)
        return refuse(err, errlen, "%s", "the token was issued in the future (iat)");

    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (sub == NULL)
        return refuse(err, errlen, "%s", "the token has no subject (sub)");
    for (size_t i = 0; i < policy->nprincipals; i++) {
        const policy_principal_t *pr = &policy->principals[i];
        if (pr->jwt_issuer == (long)issuer_index && strcmp(pr->jwt_subject, sub) == 0) {
            *out = pr;
            return 0;
        }
    }
    return refuse(err, errlen, "subject %s maps to no principal", printable(sub));
}

int policy_authenticate_bearer(const policy_t *policy, const char *token, int64_t now, const policy_principal_t **out, char *err,
                               size_t errlen)
{
    return policy_authenticate_bearer_for(policy, token, NULL, now, out, err, errlen);
}

int policy_authenticate_bearer_for(const policy_t *policy, const char *token, const char *audience, int64_t now,
                                   const policy_principal_t **out, char *err, size_t errlen)
{
    const char *dot1 = NULL, *dot2 = NULL;
    json_t *header = NULL, *claims = NULL;
    size_t len, issuer_index = 0;
    int ret = -1;

    *out = NULL;
    if (token == NULL || (len = strnlen(token, POLICY_MAX_TOKEN_LEN + 1)) == 0)
        return refuse(err, errlen, "%s", "empty bearer token");
    if (len > POLICY_MAX_TOKEN_LEN)
        return refuse(err, errlen, "%s", "bearer token longer than 8192 bytes");

    /* shape: header.payload.signature, base64url, all three non-empty */
    for (const char *p = token; *p != '\0'; p++) {
        if (*p == '.') {
            if (dot1 == NULL)
                dot1 = p;
            else if (dot2 == NULL)
                dot2 = p;
            else
                return refuse(err, errlen, "%s", "malformed token (more than three parts)");
        } else if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) {
            return refuse(err, errlen, "%s", "malformed token (not base64url)");
        }
    }
    if (dot2 == NULL || dot1 == token || dot2 == dot1 + 1 || dot2[1] == '\0')
        return refuse(err, errlen, "%s", "malformed token (expected header.payload.signature)");
    if ((header = segment_json(token, (size_t)(dot1 - token))) == NULL ||
        (claims = segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL) {
        refuse(err, errlen, "%s", "malformed token (a part is not a base64url JSON object)");
        goto done;
    }

    /* the algorithm: RS256 or ES256, nothing else reaches libjwt */
    const char *alg = json_string_value(json_object_get(header, "alg"));
    policy__alg_t want;
    if (alg == NULL) {
        refuse(err, errlen, "%s", "the token header has no alg");
        goto done;
    } else if (strcmp(alg, "RS256") == 0) {
        want = POLICY__ALG_RS256;
    } else if (strcmp(alg, "ES256") == 0) {
        want = POLICY__ALG_ES256;
    } else {
        refuse(err, errlen, "alg %s is refused (RS256 or ES256 only)", printable(alg));
        goto done;
    }
    if (json_object_get(header, "crit") != NULL) {
        refuse(err, errlen, "%s", "the token header has crit extensions, which are not supported");
        goto done;
    }
    const char *typ = json_string_value(json_object_get(header, "typ"));
    if (json_object_get(header, "typ") != NULL && (typ == NULL || strcasecmp(typ, "JWT") != 0)) {
        refuse(err, errlen, "%s", "the token header's typ is not JWT");
        goto done;
    }
    json_t *kid_json = json_object_get(header, "kid");
    const char *kid = json_string_value(kid_json);
    if (kid_json != NULL && kid == NULL) {
        refuse(err, errlen, "%s", "the token header's kid is not a string");
        goto done;
    }

    /* the issuer, from the unverified payload: it only selects keys */
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (iss == NULL) {
        refuse(err, errlen, "%s", "the token has no issuer (iss)");
        goto done;
    }
    while (issuer_index < policy->nissuers && strcmp(policy->issuers[issuer_index].issuer, iss) != 0)
        issuer_index++;
    if (issuer_index == policy->nissuers) {
        refuse(err, errlen, "issuer %s is not configured", printable(iss));
        goto done;
    }
    const policy__issuer_t *issuer = &policy->issuers[issuer_index];
    if (!(issuer->algs & (1u << want))) {
        refuse(err, errlen, "alg %s is not allowed for this issuer", alg);
        goto done;
    }

    /* the key: by kid, pinned to its own algorithm; without kid, each key of the token's algorithm */
    int verified = 0, tried = 0;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    sg_sha256(token, len, digest);
    if (kid != NULL) {
        const policy__key_t *key = NULL;
        for (size_t i = 0; i < issuer->nkeys && key == NULL; i++)
            if (issuer->keys[i].kid != NULL && strcmp(issuer->keys[i].kid, kid) == 0)
                key = &issuer->keys[i];
        if (key == NULL) {
            refuse(err, errlen, "unknown key id (kid %s)", printable(kid));
            goto done;
        }
        if (key->alg != want) {
            snprintf(err, errlen, "alg %s does not match key %s, which is pinned to %s", alg, printable(kid),
                     policy__alg_name(key->alg));
            goto done;
        }
        tried = 1;
        verified = verify_with(policy, digest, token, key) == 0;
    } else {
        for (size_t i = 0; i < issuer->nkeys && !verified && tried < MAX_KEY_TRIES; i++) {
            if (issuer->keys[i].alg != want)
                continue;
            tried++;
            verified = verify_with(policy, digest, token, &issuer->keys[i]) == 0;
        }
    }
    if (!verified) {
        refuse(err, errlen, "%s", tried ? "the token's signature does not verify" : "no key of the issuer matches the token's alg");
        goto done;
    }

    ret = check_claims(policy, issuer_index, claims, audience, now, out, err, errlen);

done:
    json_decref(header);
    json_decref(claims);
    return ret;
}
