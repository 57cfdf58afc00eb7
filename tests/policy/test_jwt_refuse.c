/*
 * Tests policy/policy_jwt.c on tokens that must be refused: bad claims, keys
 * and algorithms (none, HS256 keyed with the public key's PEM, an RS256
 * token for an ES256 key), and garbage.
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

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jwt_mint.h"

static int64_t now;

static void refused(const policy_t *p, const char *token, const char *why)
{
    const policy_principal_t *pr = (const policy_principal_t *)p;
    char err[256] = "";
    if (policy_authenticate_bearer(p, token, now, &pr, err, sizeof(err)) == 0)
        fail_msg("accepted a token that should fail with \"%s\"", why);
    assert_null(pr);
    if (strstr(err, why) == NULL)
        fail_msg("refused with \"%s\", expected \"%s\"", err, why);
}

/* Mints with the demo key of alg and refuses with why. */
static void mint_refused(const policy_t *p, jwt_alg_t alg, const char *kid, const char *claims, const char *why)
{
    char *token = test_mint(alg, alg == JWT_ALG_RS256 ? DEMO_RSA_KEY : DEMO_EC_KEY, kid, claims);
    refused(p, token, why);
    free(token);
}

static const char *claims_with(const char *extra)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld%s%s}", DEMO_ISSUER,
             (long long)now + 300, *extra ? "," : "", extra);
    return buf;
}

static void time_claims(void **state)
{
    policy_t *p = test_demo_policy();
    char c[256];
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld}", DEMO_ISSUER,
             (long long)now - 61);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "expired");
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\"}", DEMO_ISSUER);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "no expiry");
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":\"%lld\"}", DEMO_ISSUER,
             (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "exp is not a number");
    snprintf(c, sizeof(c), "\"nbf\":%lld", (long long)now + 61);
    mint_refused(p, JWT_ALG_ES256, "demo-es256", claims_with(c), "not valid yet (nbf)");
    snprintf(c, sizeof(c), "\"iat\":%lld", (long long)now + 600);
    mint_refused(p, JWT_ALG_ES256, "demo-es256", claims_with(c), "issued in the future");
    policy_release(p);
}

static void audience_issuer_subject(void **state)
{
    policy_t *p = test_demo_policy();
    char c[256];
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"other\",\"sub\":\"demo-app\",\"exp\":%lld}", DEMO_ISSUER,
             (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "audience (aud) does not include sasgw");
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":[\"a\",\"sasgwx\"],\"sub\":\"demo-app\",\"exp\":%lld}", DEMO_ISSUER,
             (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "audience");
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"sub\":\"demo-app\",\"exp\":%lld}", DEMO_ISSUER, (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "audience");
    snprintf(c, sizeof(c), "{\"iss\":\"https://evil.example/\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld}",
             (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "issuer https://evil.example/ is not configured");
    snprintf(c, sizeof(c), "{\"iss\":\"https://demo.issuer.local\",\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld}",
             (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "is not configured");
    snprintf(c, sizeof(c), "{\"aud\":\"sasgw\",\"sub\":\"demo-app\",\"exp\":%lld}", (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "no issuer");
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"demo-admin\",\"exp\":%lld}", DEMO_ISSUER,
             (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "subject demo-admin maps to no principal");
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"exp\":%lld}", DEMO_ISSUER, (long long)now + 60);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", c, "no subject");
    policy_release(p);
}

static void keys_and_kids(void **state)
{
    policy_t *p = test_demo_policy();
    mint_refused(p, JWT_ALG_RS256, "nope", claims_with(""), "unknown key id (kid nope)");
    /* an RS256 token presented for the ES256-pinned kid, and the reverse */
    mint_refused(p, JWT_ALG_RS256, "demo-es256", claims_with(""),
                 "alg RS256 does not match key demo-es256, which is pinned to ES256");
    mint_refused(p, JWT_ALG_ES256, "demo-rs256", claims_with(""),
                 "alg ES256 does not match key demo-rs256, which is pinned to RS256");

    /* signed by a key the issuer does not have */
    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_non_null(other);
    BIO *mem = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(mem, other, NULL, NULL, 0, NULL, NULL), 1);
    char *pem;
    long n = BIO_get_mem_data(mem, &pem);
    char *token = test_mint_with_key(JWT_ALG_ES256, (const unsigned char *)pem, (size_t)n, "demo-es256", claims_with(""));
    refused(p, token, "signature does not verify");
    free(token);
    token = test_mint_with_key(JWT_ALG_ES256, (const unsigned char *)pem, (size_t)n, NULL, claims_with(""));
    refused(p, token, "signature does not verify");
    free(token);
    BIO_free(mem);
    EVP_PKEY_free(other);

    /* a valid token whose payload is swapped for another subject's */
    char *good = test_mint(JWT_ALG_RS256, DEMO_RSA_KEY, "demo-rs256", claims_with(""));
    char c[256];
    snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"jwt-app\",\"exp\":%lld}", DEMO_ISSUER,
             (long long)now + 300);
    char *other_payload = test_b64url(c, strlen(c));
    char *dot1 = strchr(good, '.'), *dot2 = strchr(dot1 + 1, '.');
    char *forged = malloc(strlen(good) + strlen(other_payload) + 1);
    sprintf(forged, "%.*s.%s%s", (int)(dot1 - good), good, other_payload, dot2);
    refused(p, forged, "signature does not verify");
    free(forged);
    free(other_payload);
    free(good);
    policy_release(p);
}

static void alg_none(void **state)
{
    policy_t *p = test_demo_policy();
    const char *headers[] = {"{\"alg\":\"none\"}", "{\"alg\":\"none\",\"kid\":\"demo-rs256\"}",
                             "{\"alg\":\"None\",\"typ\":\"JWT\"}", "{\"alg\":\"NONE\"}"};
    char *payload = test_b64url(claims_with(""), strlen(claims_with("")));
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char *h = test_b64url(headers[i], strlen(headers[i]));
        char token[2048];
        /* unsigned, as RFC 7519 writes it: an empty signature part */
        snprintf(token, sizeof(token), "%s.%s.", h, payload);
        refused(p, token, "malformed token");
        /* with something in the signature part, the alg itself is refused */
        snprintf(token, sizeof(token), "%s.%s.AAAA", h, payload);
        refused(p, token, "is refused (RS256 or ES256 only)");
        free(h);
    }
    free(payload);
    policy_release(p);
}

static void hs256_keyed_with_the_public_key(void **state)
{
    policy_t *p = test_demo_policy();
    size_t len;
    /* the attacker knows the public key's PEM text, exactly what sasgw hands libjwt */
    char *pem = test_public_pem(DEMO_RSA_KEY, &len);
    char *token = test_mint_with_key(JWT_ALG_HS256, (const unsigned char *)pem, len, "demo-rs256", claims_with(""));

    /* Debian's libjwt 1.10 jwt_decode() alone takes this token: the alg checks are what refuses it */
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, (const unsigned char *)pem, (int)len) == 0) {
        assert_int_equal(jwt_get_alg(jwt), JWT_ALG_HS256);
        jwt_free(jwt);
    }
    refused(p, token, "alg HS256 is refused (RS256 or ES256 only)");
    free(token);
    token = test_mint_with_key(JWT_ALG_HS256, (const unsigned char *)pem, len, NULL, claims_with(""));
    refused(p, token, "alg HS256 is refused");
    free(token);
    /* the EC key's PEM too, and HS512 */
    free(pem);
    pem = test_public_pem(DEMO_EC_KEY, &len);
    token = test_mint_with_key(JWT_ALG_HS512, (const unsigned char *)pem, len, "demo-es256", claims_with(""));
    refused(p, token, "alg HS512 is refused");
    free(token);
    free(pem);
    policy_release(p);
}

static void header_fields(void **state)
{
    policy_t *p = test_demo_policy();
    char *t;
    t = test_sign_rs256_raw("{\"alg\":\"RS256\",\"kid\":\"demo-rs256\",\"typ\":\"JOSE+XML\"}", claims_with(""));
    refused(p, t, "typ is not JWT");
    free(t);
    t = test_sign_rs256_raw("{\"alg\":\"RS256\",\"kid\":\"demo-rs256\",\"crit\":[\"exp\"]}", claims_with(""));
    refused(p, t, "crit");
    free(t);
    t = test_sign_rs256_raw("{\"alg\":\"RS256\",\"kid\":7}", claims_with(""));
    refused(p, t, "kid is not a string");
    free(t);
    t = test_sign_rs256_raw("{\"kid\":\"demo-rs256\"}", claims_with(""));
    refused(p, t, "no alg");
    free(t);
    /* duplicate members: which sub would count? neither */
    t = test_sign_rs256_raw("{\"alg\":\"RS256\",\"kid\":\"demo-rs256\"}", claims_with("\"sub\":\"jwt-app\""));
    refused(p, t, "not a base64url JSON object");
    free(t);
    t = test_sign_rs256_raw("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"demo-rs256\"}", claims_with(""));
    refused(p, t, "not a base64url JSON object");
    free(t);
    /* the hand-signed path itself works: the refusals above are about the fields */
    t = test_sign_rs256_raw("{\"alg\":\"RS256\",\"kid\":\"demo-rs256\",\"typ\":\"JWT\"}", claims_with(""));
    const policy_principal_t *pr = NULL;
    char err[256];
    assert_int_equal(policy_authenticate_bearer(p, t, now, &pr, err, sizeof(err)), 0);
    free(t);
    policy_release(p);
}

static void pinned_algorithms(void **state)
{
    char err[512];
    policy_t *p =
        test_policy_from("principals:\n"
                         "  p: { auth: { jwt: { issuer: \"https://demo.issuer.local/\", subject: demo-app } }, roles: [] }\n"
                         "jwt_issuers:\n"
                         "  - issuer: \"https://demo.issuer.local/\"\n"
                         "    audience: sasgw\n"
                         "    keys: demo-jwks.json\n"
                         "    algorithms: [ES256]\n",
                         err, sizeof(err));
    if (p == NULL)
        fail_msg("%s", err);
    mint_refused(p, JWT_ALG_RS256, "demo-rs256", claims_with(""), "alg RS256 is not allowed for this issuer");
    char *token = test_mint(JWT_ALG_ES256, DEMO_EC_KEY, "demo-es256", claims_with(""));
    const policy_principal_t *pr = NULL;
    assert_int_equal(policy_authenticate_bearer(p, token, now, &pr, err, sizeof(err)), 0);
    assert_string_equal(policy_principal_name(pr), "p");
    free(token);
    policy_release(p);
}

static void garbage(void **state)
{
    policy_t *p = test_demo_policy();
    const char *bad[] = {
        "",
        "abc",
        "a.b",
        "..",
        "a..c",
        ".b.c",
        "a.b.c.d",
        "a b.c.d",
        "eyJ+.eyJ.c",
        "a.b.c",
        "W10.W10.AAAA",                  /* arrays, not objects */
        "e30.e30.AAAA",                  /* {} and {}: no alg */
        "eyJhbGciOiJSUzI1NiJ9.e30.AAAA", /* {"alg":"RS256"} with an empty payload */
        "eyJhbGciOiJSUzI1NiJ9.e30=.AAAA",
        "eyJhbGciOiJSUzI1NiJ9.e31.AAAA", /* padding; non-canonical bits */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused(p, bad[i], "");
    refused(p, NULL, "empty bearer token");

    /* oversized: refused before parsing, even when otherwise valid-looking */
    size_t big = POLICY_MAX_TOKEN_LEN + 1;
    char *t = malloc(big + 1);
    memset(t, 'A', big);
    t[10] = '.';
    t[20] = '.';
    t[big] = '\0';
    refused(p, t, "longer than 8192 bytes");
    free(t);
    policy_release(p);
}

int main(void)
{
    now = time(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_claims),
        cmocka_unit_test(audience_issuer_subject),
        cmocka_unit_test(keys_and_kids),
        cmocka_unit_test(alg_none),
        cmocka_unit_test(hs256_keyed_with_the_public_key),
        cmocka_unit_test(header_fields),
        cmocka_unit_test(pinned_algorithms),
        cmocka_unit_test(garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
