/* Tests policy/policy_load.c on the happy path: conf/policy.yaml loads and means what its comments say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "jwt_mint.h"

static const policy_principal_t *basic(const policy_t *p, const char *header)
{
    const policy_principal_t *pr = NULL;
    char err[256];
    if (policy_authenticate(p, header, time(NULL), &pr, err, sizeof(err)) != 0)
        fail_msg("%s: %s", header, err);
    return pr;
}

/* Basic demo-app:demo-secret and demo-admin:admin-secret */
#define DEMO_APP "Basic ZGVtby1hcHA6ZGVtby1zZWNyZXQ="
#define DEMO_ADMIN "Basic ZGVtby1hZG1pbjphZG1pbi1zZWNyZXQ="

static void demo_policy_loads(void **state)
{
    policy_t *p = test_demo_policy();
    const policy_principal_t *app = basic(p, DEMO_APP), *admin = basic(p, DEMO_ADMIN);
    assert_string_equal(policy_principal_name(app), "demo-app");
    assert_string_equal(policy_principal_name(admin), "demo-admin");
    policy_release(p);
}

static void demo_app_gets_racwdl_on_demo_for_an_hour(void **state)
{
    policy_t *p = test_demo_policy();
    const policy_principal_t *app = basic(p, DEMO_APP);
    policy_decision_t d;
    policy_request_t req = {.account = "devstoreaccount1",
                            .container = "demo",
                            .blob = "a b+c&ü.txt",
                            .permissions = "racwd",
                            .ttl = 3600,
                            .client_ip = "127.0.0.1"};
    assert_int_equal(policy_decide(app, &req, &d), 0);
    assert_true(d.granted);
    assert_string_equal(d.rule, "roles.demo-writer.grants[0]");
    assert_string_equal(d.protocol, "https,http");
    assert_int_equal(d.max_ttl, 3600);
    /* container-level list */
    req.blob = NULL;
    req.permissions = "l";
    assert_int_equal(policy_decide(app, &req, &d), 0);
    /* over an hour */
    req.ttl = 3601;
    assert_int_equal(policy_decide(app, &req, &d), -1);
    assert_string_equal(d.message, "roles.demo-writer.grants[0]: ttl 3601s exceeds max_ttl 3600s");
    /* another container */
    req.ttl = 60;
    req.container = "other";
    assert_int_equal(policy_decide(app, &req, &d), -1);
    assert_string_equal(d.rule, "default");
    /* no admin capability */
    for (size_t i = 0; i < POLICY_CAPABILITY_COUNT; i++)
        assert_false(policy_principal_can(app, policy_capabilities[i]));
    policy_release(p);
}

static void demo_admin_has_every_capability_and_mints(void **state)
{
    policy_t *p = test_demo_policy();
    const policy_principal_t *admin = basic(p, DEMO_ADMIN);
    policy_decision_t d;
    for (size_t i = 0; i < POLICY_CAPABILITY_COUNT; i++)
        assert_true(policy_principal_can(admin, policy_capabilities[i]));
    policy_request_t req = {.account = "devstoreaccount1", .container = "demo", .blob = "x", .permissions = "rw", .ttl = 60};
    assert_int_equal(policy_decide(admin, &req, &d), 0);
    policy_request_t acct = {.kind = POLICY_SAS_ACCOUNT,
                             .account = "devstoreaccount1",
                             .permissions = "rl",
                             .services = "b",
                             .resource_types = "sco",
                             .ttl = 600};
    assert_int_equal(policy_decide(admin, &acct, &d), 0);
    assert_string_equal(d.rule, "roles.demo-account-reader.grants[0]");
    policy_release(p);
}

static void demo_jwt_subjects_map_to_principals(void **state)
{
    policy_t *p = test_demo_policy();
    char claims[256], err[256];
    const policy_principal_t *pr = NULL;
    long now = (long)time(NULL);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"sasgw\",\"sub\":\"jwt-app\",\"exp\":%ld}", DEMO_ISSUER, now + 300);
    char *token = test_mint(JWT_ALG_RS256, DEMO_RSA_KEY, "demo-rs256", claims);
    assert_int_equal(policy_authenticate_bearer(p, token, now, &pr, err, sizeof(err)), 0);
    assert_string_equal(policy_principal_name(pr), "jwt-app");
    free(token);

    /* jwt-app writes under users/jwt-app/ only, from a local address */
    policy_decision_t d;
    policy_request_t req = {.account = "devstoreaccount1",
                            .container = "demo",
                            .blob = "users/jwt-app/f",
                            .permissions = "cw",
                            .ttl = 900,
                            .client_ip = "::1"};
    assert_int_equal(policy_decide(pr, &req, &d), 0);
    req.blob = "users/demo-app/f";
    assert_int_equal(policy_decide(pr, &req, &d), -1);
    assert_string_equal(d.message, "default: no grant covers devstoreaccount1/demo/users/demo-app/f");
    policy_release(p);
}

static void buffer_and_file_agree(void **state)
{
    size_t len;
    char err[256], *yaml = test_read_file("conf/policy.yaml", &len);
    policy_t *p = policy_load_buffer("mem.yaml", "conf", yaml, len, err, sizeof(err));
    assert_non_null(p);
    const policy_principal_t *pr = basic(p, DEMO_APP);
    assert_string_equal(policy_principal_name(pr), "demo-app");
    policy_release(p);
    /* relative key paths follow basedir: from the wrong directory the JWKS is not found */
    assert_null(policy_load_buffer("mem.yaml", "tests", yaml, len, err, sizeof(err)));
    assert_non_null(strstr(err, "tests/demo-jwks.json"));
    free(yaml);
}

static void pem_key_file_is_accepted(void **state)
{
    /* an issuer whose keys are a PEM public key, written next to a copy of the policy */
    char dir[] = "/tmp/sasgw-policy-XXXXXX", path[128], err[512];
    size_t len;
    assert_non_null(mkdtemp(dir));
    char *pem = test_public_pem(DEMO_EC_KEY, &len);
    snprintf(path, sizeof(path), "%s/issuer.pem", dir);
    FILE *f = fopen(path, "w");
    fwrite(pem, 1, len, f);
    fclose(f);
    free(pem);
    const char *yaml = "principals:\n"
                       "  p:\n"
                       "    auth: { jwt: { issuer: \"https://pem.example/\", subject: s } }\n"
                       "    roles: [r]\n"
                       "roles:\n"
                       "  r: { admin: [revoke] }\n"
                       "jwt_issuers:\n"
                       "  - { issuer: \"https://pem.example/\", audience: a, keys: issuer.pem, leeway: 0 }\n";
    snprintf(path, sizeof(path), "%s/policy.yaml", dir);
    f = fopen(path, "w");
    fputs(yaml, f);
    fclose(f);
    policy_t *p = policy_load(path, err, sizeof(err));
    if (p == NULL)
        fail_msg("%s", err);

    long now = (long)time(NULL);
    char claims[256];
    const policy_principal_t *pr = NULL;
    snprintf(claims, sizeof(claims), "{\"iss\":\"https://pem.example/\",\"aud\":[\"x\",\"a\"],\"sub\":\"s\",\"exp\":%ld}",
             now + 60);
    char *token = test_mint(JWT_ALG_ES256, DEMO_EC_KEY, NULL, claims);
    assert_int_equal(policy_authenticate_bearer(p, token, now, &pr, err, sizeof(err)), 0);
    assert_true(policy_principal_can(pr, "revoke"));
    free(token);
    /* leeway 0: expired one second ago is expired */
    snprintf(claims, sizeof(claims), "{\"iss\":\"https://pem.example/\",\"aud\":\"a\",\"sub\":\"s\",\"exp\":%ld}", now);
    token = test_mint(JWT_ALG_ES256, DEMO_EC_KEY, NULL, claims);
    assert_int_equal(policy_authenticate_bearer(p, token, now, &pr, err, sizeof(err)), -1);
    free(token);
    policy_release(p);

    unlink(path);
    snprintf(path, sizeof(path), "%s/issuer.pem", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demo_policy_loads),
        cmocka_unit_test(demo_app_gets_racwdl_on_demo_for_an_hour),
        cmocka_unit_test(demo_admin_has_every_capability_and_mints),
        cmocka_unit_test(demo_jwt_subjects_map_to_principals),
        cmocka_unit_test(buffer_and_file_agree),
        cmocka_unit_test(pem_key_file_is_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
