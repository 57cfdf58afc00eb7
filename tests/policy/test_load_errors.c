/*
 * Tests policy/policy_load.c on bad input: every error names file:line:column
 * and what was wrong, and nothing loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "jwt_mint.h"

#define ROLE_OK "roles:\n  r:\n    admin: [revoke]\n"

typedef struct {
    const char *yaml;
    const char *where; /* "test.yaml:line:column:" */
    const char *what;  /* a substring of the message */
} bad_case_t;

static void expect_error(const bad_case_t *c)
{
    char err[512] = "";
    policy_t *p = test_policy_from(c->yaml, err, sizeof(err));
    if (p != NULL) {
        policy_release(p);
        fail_msg("loaded, expected %s %s", c->where, c->what);
    }
    if (strncmp(err, c->where, strlen(c->where)) != 0 || strstr(err, c->what) == NULL)
        fail_msg("got \"%s\", expected \"%s ... %s\"", err, c->where, c->what);
}

static void unknown_keys(void **state)
{
    static const bad_case_t cases[] = {
        {"principal:\n  x: {}\n", "test.yaml:1:1:", "unknown key 'principal' (expected one of: principals, roles, jwt_issuers)"},
        {ROLE_OK "principals:\n  p:\n    auth: { basic: { secret_sha256: \"" /* 64 hex */
                 "0000000000000000000000000000000000000000000000000000000000000000\" } }\n    role: [r]\n",
         "test.yaml:7:5:", "principals.p: unknown key 'role' (expected one of: auth, roles)"},
        {"roles:\n  r:\n    grants:\n      - account: acct1\n        container: c01\n        permission: r\n",
         "test.yaml:6:9:", "roles.r.grants[0]: unknown key 'permission'"},
        {"roles:\n  r:\n    admin: [revoke]\n    grant: []\n", "test.yaml:4:5:", "roles.r: unknown key 'grant'"},
        {"jwt_issuers:\n  - issuer: i\n    audience: a\n    keys: demo-jwks.json\n    aud: a\n",
         "test.yaml:5:5:", "jwt_issuers[0]: unknown key 'aud'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(&cases[i]);
}

static void wrong_types(void **state)
{
    static const bad_case_t cases[] = {
        {"- a\n- b\n", "test.yaml:1:1:", "the policy: expected a mapping, found a sequence"},
        {"roles: [a, b]\n", "test.yaml:1:8:", "roles: expected a mapping, found a sequence"},
        {"roles:\n  r:\n    grants: { account: a }\n", "test.yaml:3:13:", "roles.r.grants: expected a sequence, found a mapping"},
        {"roles:\n  r:\n    grants:\n      - account: acct1\n        container: c01\n        permissions: [r, w]\n        max_ttl: "
         "1h\n",
         "test.yaml:6:22:", "roles.r.grants[0].permissions: expected a string, found a sequence"},
        {"roles:\n  r:\n    grants:\n      - account: acct1\n        container:\n        permissions: r\n        max_ttl: 1h\n",
         "test.yaml:5:19:", "roles.r.grants[0].container: expected a string, found null"},
        {"roles:\n  r:\n    grants:\n      - account: acct1\n        account_sas: yes\n        permissions: r\n        max_ttl: "
         "1h\n",
         "test.yaml:5:22:", "expected true or false, found 'yes'"},
        {"roles:\n  r:\n    admin: revoke\n", "test.yaml:3:12:", "roles.r.admin: expected a sequence, found a scalar"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(&cases[i]);
}

#define GRANT(perm, ttl)                                                                                                           \
    "roles:\n  r:\n    grants:\n      - account: acct1\n        container: c01\n        permissions: " perm                        \
    "\n        max_ttl: " ttl "\n"

#define ACCOUNT_GRANT(perm)                                                                                                        \
    "roles:\n  r:\n    grants:\n      - account: acct1\n        account_sas: true\n        services: b\n        resource_types: "  \
    "sco\n        permissions: " perm "\n        max_ttl: 1h\n"

static void bad_values(void **state)
{
    static const bad_case_t cases[] = {
        {GRANT("rq", "1h"), "test.yaml:6:22:", "'q' is not one of the letters racwdxyltfmeopi"},
        {GRANT("rwr", "1h"), "test.yaml:6:22:", "'r' appears twice"},
        {GRANT("ru", "1h"), "test.yaml:6:22:", "'u' is not one of the letters"}, /* u is for account SAS only */
        {GRANT("\"\"", "1h"), "test.yaml:6:22:", "must not be empty"},
        {GRANT("r", "1x"), "test.yaml:7:18:", "'1x' is not a duration"},
        {GRANT("r", "h"), "test.yaml:7:18:", "'h' is not a duration"},
        {GRANT("r", "60"), "test.yaml:7:18:", "'60' is not a duration"},
        {GRANT("r", "0s"), "test.yaml:7:18:", "must be more than 0"},
        {GRANT("r", "366d"), "test.yaml:7:18:", "at most 365d"},
        {GRANT("r", "1h\n        protocol: http"), "test.yaml:8:19:", "expected https or https,http, found 'http'"},
        {GRANT("r", "1h\n        ip: [10.0.0.1/8]"), "test.yaml:8:14:", "'10.0.0.1/8' is not an address"},
        {GRANT("r", "1h\n        ip: [10.0.0.9-10.0.0.1]"), "test.yaml:8:14:", "is not an address"},
        {GRANT("r", "1h\n        prefix: \"{user}/\""), "test.yaml:8:17:", "has a brace that is not {principal}"},
        {GRANT("r", "1h\n        services: b"), "test.yaml:8:19:", "services and resource_types need account_sas: true"},
        /* an account grant may give only what an account SAS can carry (rwdxylacuptfi): not m, e or o */
        {ACCOUNT_GRANT("rm"), "test.yaml:8:22:", "roles.r.grants[0].permissions: 'm' is not one of the letters rwdxylacuptfi"},
        {ACCOUNT_GRANT("re"), "test.yaml:8:22:", "'e' is not one of the letters rwdxylacuptfi"},
        {ACCOUNT_GRANT("o"), "test.yaml:8:22:", "'o' is not one of the letters rwdxylacuptfi"},
        {ACCOUNT_GRANT("racwdxyltfmeopiu"), "test.yaml:8:22:", "'m' is not one of the letters rwdxylacuptfi"},
        {"roles:\n  r:\n    grants:\n      - account: Bad_Acct\n", "test.yaml:4:18:", "'Bad_Acct' is not a storage account name"},
        {"roles:\n  r:\n    grants:\n      - account: acct1\n        permissions: r\n",
         "test.yaml:4:9:", "account, permissions and max_ttl are required"},
        {"roles:\n  r:\n    grants:\n      - account: acct1\n        permissions: r\n        max_ttl: 1h\n",
         "test.yaml:4:9:", "container is required"},
        {"roles:\n  r:\n    admin: [revoke, keys.delete]\n", "test.yaml:3:21:", "'keys.delete' is not a capability"},
        {"roles:\n  r: {}\n", "test.yaml:2:6:", "a role needs grants or admin capabilities"},
        {"roles:\n  \"bad name\": { admin: [revoke] }\n", "test.yaml:2:3:", "role name 'bad name'"},
        {"roles:\n  r: { admin: [revoke] }\n  r: { admin: [revoke] }\n", "test.yaml:3:3:", "key 'r' appears twice"},
        {ROLE_OK "principals:\n  p:\n    auth: { basic: { secret_sha256: abc } }\n    roles: [r]\n",
         "test.yaml:6:37:", "expected 64 hex digits"},
        {ROLE_OK "principals:\n  p:\n    auth: {}\n    roles: [r]\n", "test.yaml:6:11:", "needs basic or jwt"},
        {ROLE_OK "principals:\n  p:\n    auth: { jwt: { issuer: nobody, subject: s } }\n    roles: [r]\n",
         "test.yaml:6:28:", "'nobody' is not listed under jwt_issuers"},
        {ROLE_OK "principals:\n  p:\n    auth: { basic: { secret_sha256: \""
                 "0000000000000000000000000000000000000000000000000000000000000000\" } }\n    roles: [nope]\n",
         "test.yaml:7:13:", "role 'nope' is not defined under roles"},
        {"jwt_issuers:\n  - issuer: i\n    audience: a\n    keys: demo-jwks.json\n    leeway: 1m\n",
         "test.yaml:5:13:", "expected a number of seconds"},
        {"jwt_issuers:\n  - issuer: i\n    audience: a\n    keys: demo-jwks.json\n    algorithms: [HS256]\n",
         "test.yaml:5:18:", "'HS256' is not supported"},
        {"jwt_issuers:\n  - issuer: i\n    audience: a\n", "test.yaml:2:5:", "issuer, audience and keys are required"},
        {"roles:\n  r: &a { admin: [revoke] }\n  s: *a\n", "test.yaml:2:6:", "used again through an alias (*name)"},
        /* anchors without an alias and explicit tags are refused too (the shared walker's event pass) */
        {"roles:\n  r: { admin: [&c revoke] }\n", "test.yaml:2:16:", "anchors (&c) are not supported"},
        {"roles:\n  r: { admin: [!!str revoke] }\n", "test.yaml:2:16:", "tags (tag:yaml.org,2002:str) are not supported"},
        {"roles:\n  r: !role { admin: [revoke] }\n", "test.yaml:2:6:", "tags (!role) are not supported"},
        {"", "test.yaml:1:1:", "the policy is empty"},
        {"roles: {}\n---\nroles: {}\n", "test.yaml:2:1:", "one YAML document"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(&cases[i]);
}

static void key_files(void **state)
{
    static const bad_case_t cases[] = {
        {"jwt_issuers:\n  - issuer: i\n    audience: a\n    keys: missing.json\n",
         "test.yaml:4:11:", "jwt_issuers[0].keys: cannot open conf/missing.json: No such file or directory"},
        /* a private key is not a verification key */
        {"jwt_issuers:\n  - issuer: i\n    audience: a\n    keys: demo-jwt-es256.pem\n",
         "test.yaml:4:11:", "no PEM \"PUBLIC KEY\""},
        /* YAML is not a JWKS */
        {"jwt_issuers:\n  - issuer: i\n    audience: a\n    keys: policy.yaml\n", "test.yaml:4:11:", "conf/policy.yaml"},
        /* devices and FIFOs are not read */
        {"jwt_issuers:\n  - issuer: i\n    audience: a\n    keys: /dev/null\n", "test.yaml:4:11:", "not a regular file"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(&cases[i]);
}

static void syntax_errors(void **state)
{
    static const bad_case_t cases[] = {
        {"roles:\n  r: { admin: [revoke }\n", "test.yaml:2:", "YAML syntax error"},
        {"roles:\n  r:\n   - a\n  bad\n",
         "test.yaml:5:1:", "could not find expected ':' (while scanning a simple key at line 4, column 3)"},
        {"roles: \"unterminated\n", "test.yaml:", "YAML syntax error"},
        {"\tfoo: bar\n", "test.yaml:1:", "YAML syntax error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(&cases[i]);
}

static void missing_file(void **state)
{
    char err[256];
    assert_null(policy_load("conf/no-such-policy.yaml", err, sizeof(err)));
    assert_string_equal(err, "cannot open conf/no-such-policy.yaml: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_keys), cmocka_unit_test(wrong_types),   cmocka_unit_test(bad_values),
        cmocka_unit_test(key_files),    cmocka_unit_test(syntax_errors), cmocka_unit_test(missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
