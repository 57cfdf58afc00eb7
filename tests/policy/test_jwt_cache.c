/*
 * Tests the signature cache of policy/policy_jwt.c: a token verified once is
 * not verified again by libjwt, yet its claims are checked on every use; a
 * token that differs in any byte, or did not verify, is never taken from it;
 * a new policy starts empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "internal.h"
#include "jwt_mint.h"

static char *demo_token(int64_t now, int64_t exp, jwt_alg_t alg)
{
    char claims[256];
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld,\"iat\":%lld}",
             DEMO_ISSUER, (long long)exp, (long long)now);
    return alg == JWT_ALG_RS256 ? test_mint(alg, DEMO_RSA_KEY, "demo-rs256", claims)
                                : test_mint(alg, DEMO_EC_KEY, "demo-es256", claims);
}

static int authenticate(const policy_t *p, const char *token, int64_t now, char *err, size_t errlen)
{
    const policy_principal_t *pr = NULL;
    int rc = policy_authenticate_bearer(p, token, now, &pr, err, errlen);
    if (rc == 0)
        assert_string_equal(policy_principal_name(pr), "demo-app");
    return rc;
}

static void second_use_is_a_hit(void **state)
{
    policy_t *p = test_demo_policy();
    int64_t now = time(NULL);
    char err[256];
    for (int alg = 0; alg != 2; alg++) {
        char *token = demo_token(now, now + 300, alg == 0 ? JWT_ALG_RS256 : JWT_ALG_ES256);
        uint64_t before = policy__sigcache_hits(p);
        assert_int_equal(authenticate(p, token, now, err, sizeof(err)), 0);
        assert_int_equal(policy__sigcache_hits(p), before); /* first use: verified by libjwt */
        assert_int_equal(authenticate(p, token, now, err, sizeof(err)), 0);
        assert_int_equal(authenticate(p, token, now + 1, err, sizeof(err)), 0);
        assert_int_equal(policy__sigcache_hits(p), before + 2);
        free(token);
    }
    policy_release(p);
}

static void claims_are_checked_on_every_use(void **state)
{
    policy_t *p = test_demo_policy();
    int64_t now = time(NULL);
    char err[256];
    char *token = demo_token(now, now + 60, JWT_ALG_RS256);
    assert_int_equal(authenticate(p, token, now, err, sizeof(err)), 0);
    /* the signature is remembered, the expiry is not */
    assert_int_equal(authenticate(p, token, now + 3600, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expired"));
    /* issued in the future, seen from an earlier clock */
    assert_int_equal(authenticate(p, token, now - 3600, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "future"));
    assert_int_equal(policy__sigcache_hits(p), 2);
    free(token);
    policy_release(p);
}

static void a_changed_byte_is_verified_again(void **state)
{
    policy_t *p = test_demo_policy();
    int64_t now = time(NULL);
    char err[256];
    char *token = demo_token(now, now + 300, JWT_ALG_RS256);
    assert_int_equal(authenticate(p, token, now, err, sizeof(err)), 0);
    uint64_t hits = policy__sigcache_hits(p);

    /* the signature: last character changed */
    char *tampered = strdup(token);
    size_t len = strlen(tampered);
    tampered[len - 2] = tampered[len - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(authenticate(p, tampered, now, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "signature"));
    /* a failure is not stored: refused again */
    assert_int_equal(authenticate(p, tampered, now, err, sizeof(err)), -1);
    /* the payload: same header and signature, another (valid JSON) payload */
    const char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
    char claims[256];
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-admin\",\"exp\":%lld}", DEMO_ISSUER,
             (long long)now + 300);
    char *payload = test_b64url(claims, strlen(claims));
    char *spliced = malloc(len + strlen(payload) + 1);
    sprintf(spliced, "%.*s.%s%s", (int)(dot1 - token), token, payload, dot2);
    assert_int_equal(authenticate(p, spliced, now, err, sizeof(err)), -1);
    assert_int_equal(policy__sigcache_hits(p), hits);
    /* and the original still hits */
    assert_int_equal(authenticate(p, token, now, err, sizeof(err)), 0);
    assert_int_equal(policy__sigcache_hits(p), hits + 1);
    free(spliced);
    free(payload);
    free(tampered);
    free(token);
    policy_release(p);
}

/* A forger can make a token land in the slot of a cached one: it must still be verified, not taken from the cache. */
static void a_token_aimed_at_a_cached_slot_is_verified(void **state)
{
    policy_t *p = test_demo_policy();
    int64_t now = time(NULL);
    char err[256];
    char *token = demo_token(now, now + 300, JWT_ALG_RS256);
    assert_int_equal(authenticate(p, token, now, err, sizeof(err)), 0);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), digest);
    size_t target = policy__sigcache_slot(digest);

    /* the cached token's header and signature, a payload naming another subject, varied until the slot matches */
    const char *dot1 = strchr(token, '.'), *dot2 = strchr(dot1 + 1, '.');
    char *forged = NULL;
    for (unsigned n = 0; n != 1000000; n++) {
        char claims[256];
        snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld,\"jti\":\"%u\"}",
                 DEMO_ISSUER, (long long)now + 300, n);
        char *payload = test_b64url(claims, strlen(claims));
        free(forged);
        forged = malloc(strlen(token) + strlen(payload) + 1);
        sprintf(forged, "%.*s.%s%s", (int)(dot1 - token), token, payload, dot2);
        free(payload);
        SHA256((const unsigned char *)forged, strlen(forged), digest);
        if (policy__sigcache_slot(digest) == target)
            break;
    }
    SHA256((const unsigned char *)forged, strlen(forged), digest);
    assert_int_equal(policy__sigcache_slot(digest), target);
    assert_int_equal(authenticate(p, forged, now, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "signature"));
    free(forged);
    free(token);
    policy_release(p);
}

static void a_new_policy_starts_empty(void **state)
{
    int64_t now = time(NULL);
    char err[256];
    char *token = demo_token(now, now + 300, JWT_ALG_ES256);
    policy_t *a = test_demo_policy();
    assert_int_equal(authenticate(a, token, now, err, sizeof(err)), 0);
    assert_int_equal(authenticate(a, token, now, err, sizeof(err)), 0);
    assert_int_equal(policy__sigcache_hits(a), 1);
    policy_t *b = test_demo_policy(); /* a reload */
    assert_int_equal(authenticate(b, token, now, err, sizeof(err)), 0);
    assert_int_equal(policy__sigcache_hits(b), 0);
    policy_release(a);
    policy_release(b);
    free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(second_use_is_a_hit),
        cmocka_unit_test(claims_are_checked_on_every_use),
        cmocka_unit_test(a_changed_byte_is_verified_again),
        cmocka_unit_test(a_token_aimed_at_a_cached_slot_is_verified),
        cmocka_unit_test(a_new_policy_starts_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
