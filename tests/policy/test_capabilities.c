/* Tests policy_principal_can(): admin capabilities come from roles, and only the listed names exist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "jwt_mint.h"

static const policy_principal_t *login(const policy_t *p, const char *cred)
{
    char h[128], err[256];
    const policy_principal_t *pr = NULL;
    strcpy(h, "Basic ");
    sg_b64_encode((const uint8_t *)cred, strlen(cred), h + 6);
    if (policy_authenticate_basic(p, h, &pr, err, sizeof(err)) != 0)
        fail_msg("%s: %s", cred, err);
    return pr;
}

static void the_capability_list(void **state)
{
    const char *want[] = {"accounts.read", "keys.rotate",   "keys.import",   "revoke",     "policies.write", "policies.read",
                          "secrets.read",  "secrets.write", "secrets.purge", "audit.read", "policy.reload"};
    assert_int_equal(POLICY_CAPABILITY_COUNT, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < POLICY_CAPABILITY_COUNT; i++)
        assert_string_equal(policy_capabilities[i], want[i]);
}

static void roles_union_their_capabilities(void **state)
{
    char err[512];
    policy_t *p = test_policy_from(
        "principals:\n"
        "  ka:\n"
        "    auth: { basic: { secret_sha256: \"2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90\" } }\n"
        "    roles: [key-admin, auditor]\n"
        "  app:\n"
        "    auth: { basic: { secret_sha256: \"81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9\" } }\n"
        "    roles: [writer]\n"
        "roles:\n"
        "  key-admin: { admin: [keys.rotate, revoke, policies.write] }\n"
        "  auditor: { admin: [audit.read] }\n"
        "  writer:\n"
        "    grants: [{ account: acct1, container: c01, permissions: w, max_ttl: 1h }]\n",
        err, sizeof(err));
    if (p == NULL)
        fail_msg("%s", err);
    const policy_principal_t *ka = login(p, "ka:alice"), *app = login(p, "app:bob");
    assert_true(policy_principal_can(ka, "keys.rotate"));
    assert_true(policy_principal_can(ka, "revoke"));
    assert_true(policy_principal_can(ka, "policies.write"));
    assert_true(policy_principal_can(ka, "audit.read"));
    assert_false(policy_principal_can(ka, "keys.import"));
    assert_false(policy_principal_can(ka, "secrets.read"));
    assert_false(policy_principal_can(ka, "policy.reload"));
    for (size_t i = 0; i < POLICY_CAPABILITY_COUNT; i++)
        assert_false(policy_principal_can(app, policy_capabilities[i]));
    /* unknown names and prefixes of names are never granted */
    assert_false(policy_principal_can(ka, "keys"));
    assert_false(policy_principal_can(ka, "revoke "));
    assert_false(policy_principal_can(ka, ""));
    assert_false(policy_principal_can(ka, NULL));
    assert_false(policy_principal_can(NULL, "revoke"));
    /* an admin role grants no tokens */
    policy_decision_t d;
    policy_request_t r = {.account = "acct1", .container = "c01", .blob = "b", .permissions = "w", .ttl = 60};
    assert_int_equal(policy_decide(ka, &r, &d), -1);
    assert_int_equal(policy_decide(app, &r, &d), 0);
    policy_release(p);
}

static void demo_app_is_no_admin(void **state)
{
    policy_t *p = test_demo_policy();
    const policy_principal_t *app = login(p, "demo-app:demo-secret"), *admin = login(p, "demo-admin:admin-secret");
    assert_false(policy_principal_can(app, "revoke"));
    assert_false(policy_principal_can(app, "accounts.read"));
    assert_true(policy_principal_can(admin, "revoke"));
    assert_true(policy_principal_can(admin, "secrets.purge"));
    policy_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_capability_list),
        cmocka_unit_test(roles_union_their_capabilities),
        cmocka_unit_test(demo_app_is_no_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
