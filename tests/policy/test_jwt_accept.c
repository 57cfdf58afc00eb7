/* Tests policy/policy_jwt.c: RS256 and ES256 tokens from the demo issuer are accepted and mapped by sub. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "jwt_mint.h"

static void accept(const policy_t *p, jwt_alg_t alg, const char *keyfile, const char *kid, const char *claims, int64_t now,
                   const char *principal)
{
    const policy_principal_t *pr = NULL;
    char err[256];
    char *token = test_mint(alg, keyfile, kid, claims);
    if (policy_authenticate_bearer(p, token, now, &pr, err, sizeof(err)) != 0)
        fail_msg("refused %s: %s", claims, err);
    assert_string_equal(policy_principal_name(pr), principal);
    /* the same through the Authorization header dispatcher */
    char *header = malloc(strlen(token) + 8);
    sprintf(header, "Bearer %s", token);
    pr = NULL;
    assert_int_equal(policy_authenticate(p, header, now, &pr, err, sizeof(err)), 0);
    assert_string_equal(policy_principal_name(pr), principal);
    free(header);
    free(token);
}

static void rs256_with_kid(void **state)
{
    policy_t *p = test_demo_policy();
    char claims[256];
    int64_t now = time(NULL);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld,\"iat\":%lld}",
             DEMO_ISSUER, (long long)now + 300, (long long)now);
    accept(p, JWT_ALG_RS256, DEMO_RSA_KEY, "demo-rs256", claims, now, "demo-app");
    policy_release(p);
}

static void es256_with_kid(void **state)
{
    policy_t *p = test_demo_policy();
    char claims[256];
    int64_t now = time(NULL);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"jwt-app\",\"exp\":%lld,\"nbf\":%lld}",
             DEMO_ISSUER, (long long)now + 300, (long long)now - 10);
    accept(p, JWT_ALG_ES256, DEMO_EC_KEY, "demo-es256", claims, now, "jwt-app");
    policy_release(p);
}

static void without_kid_the_key_of_the_alg_is_used(void **state)
{
    policy_t *p = test_demo_policy();
    char claims[256];
    int64_t now = time(NULL);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld}", DEMO_ISSUER,
             (long long)now + 60);
    accept(p, JWT_ALG_RS256, DEMO_RSA_KEY, NULL, claims, now, "demo-app");
    accept(p, JWT_ALG_ES256, DEMO_EC_KEY, NULL, claims, now, "demo-app");
    policy_release(p);
}

static void audience_array_and_leeway(void **state)
{
    policy_t *p = test_demo_policy();
    char claims[256];
    int64_t now = time(NULL);
    /* aud as an array that contains sasgw; exp 30 s ago, nbf and iat 30 s ahead: inside the 60 s leeway */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":[\"other\",\"sasgw\"],\"sub\":\"demo-app\",\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld}",
             DEMO_ISSUER, (long long)now - 30, (long long)now + 30, (long long)now + 30);
    accept(p, JWT_ALG_RS256, DEMO_RSA_KEY, "demo-rs256", claims, now, "demo-app");
    /* NumericDate may be fractional */
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld.5}", DEMO_ISSUER,
             (long long)now + 100);
    accept(p, JWT_ALG_ES256, DEMO_EC_KEY, "demo-es256", claims, now, "demo-app");
    policy_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rs256_with_kid),
        cmocka_unit_test(es256_with_kid),
        cmocka_unit_test(without_kid_the_key_of_the_alg_is_used),
        cmocka_unit_test(audience_array_and_leeway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
