/* Tests policy/policy_kv.c and the keyvault: entries of policy_load.c: data actions scoped by name, deny by default,
 * load errors with their place, and policy_authenticate_bearer_for() (the Key Vault API's audience). */
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

static const char kv_policy[] = "principals:\n"
                                "  app:\n"
                                "    auth: {jwt: {issuer: \"https://demo.issuer.local/\", subject: app}}\n"
                                "    roles: [reader, writer]\n"
                                "  nobody:\n"
                                "    auth: {jwt: {issuer: \"https://demo.issuer.local/\", subject: nobody}}\n"
                                "    roles: [minter]\n"
                                "roles:\n"
                                "  reader:\n"
                                "    keyvault:\n"
                                "      - actions: [get, list]\n"
                                "        secrets: \"app-*\"\n"
                                "      - actions: [secrets/get]\n"
                                "        secrets: exact-one\n"
                                "  writer:\n"
                                "    keyvault:\n"
                                "      - actions: [set, delete, recover, backup, restore, purge, storage/getsas]\n"
                                "        secrets: \"app-w*\"\n"
                                "        storage: devstoreaccount1\n"
                                "  minter:\n"
                                "    grants:\n"
                                "      - {account: devstoreaccount1, container: ccc, permissions: r, max_ttl: 1h}\n"
                                "jwt_issuers:\n"
                                "  - issuer: \"https://demo.issuer.local/\"\n"
                                "    audience: sasgw\n"
                                "    keys: demo-jwks.json\n";

static const policy_principal_t *principal(policy_t *p, const char *sub, const char *aud)
{
    char claims[256], err[256];
    const policy_principal_t *pr = NULL;
    int64_t now = time(NULL);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"exp\":%lld}", DEMO_ISSUER, aud, sub,
             (long long)now + 300);
    char *token = test_mint(JWT_ALG_RS256, DEMO_RSA_KEY, "demo-rs256", claims);
    int rc = policy_authenticate_bearer_for(p, token, "https://kv.example", now, &pr, err, sizeof(err));
    free(token);
    if (rc != 0)
        fail_msg("refused: %s", err);
    return pr;
}

#define ALLOWED(pr, a, name) policy_kv_allowed(pr, a, name, strlen(name), NULL, 0)

static void scopes_and_actions(void **state)
{
    char err[512], rule[128];
    policy_t *p = test_policy_from(kv_policy, err, sizeof(err));
    if (p == NULL)
        fail_msg("%s", err);
    const policy_principal_t *app = principal(p, "app", "https://kv.example");
    assert_true(ALLOWED(app, POLICY_KV_SECRETS_GET, "app-1"));
    assert_true(ALLOWED(app, POLICY_KV_SECRETS_LIST, "app-"));
    assert_true(ALLOWED(app, POLICY_KV_SECRETS_GET, "exact-one"));
    assert_false(ALLOWED(app, POLICY_KV_SECRETS_GET, "exact-one2")); /* exact means exact */
    assert_false(ALLOWED(app, POLICY_KV_SECRETS_LIST, "exact-one"));
    assert_false(ALLOWED(app, POLICY_KV_SECRETS_GET, "App-1")); /* names compare case-sensitively */
    assert_false(ALLOWED(app, POLICY_KV_SECRETS_GET, "other"));
    assert_false(ALLOWED(app, POLICY_KV_SECRETS_SET, "app-1")); /* set only under app-w */
    assert_true(ALLOWED(app, POLICY_KV_SECRETS_SET, "app-w1"));
    assert_true(ALLOWED(app, POLICY_KV_SECRETS_PURGE, "app-w"));
    assert_true(ALLOWED(app, POLICY_KV_STORAGE_GETSAS, "devstoreaccount1"));
    assert_false(ALLOWED(app, POLICY_KV_STORAGE_GETSAS, "devstoreaccount2"));
    assert_false(ALLOWED(app, POLICY_KV_STORAGE_SETSAS, "devstoreaccount1"));
    /* the storage scope does not leak into secrets, nor the secrets scope into storage */
    assert_false(ALLOWED(app, POLICY_KV_SECRETS_SET, "devstoreaccount1"));
    assert_false(ALLOWED(app, POLICY_KV_STORAGE_GETSAS, "app-w1"));
    assert_int_equal(policy_kv_allowed(app, POLICY_KV_SECRETS_GET, "app-1", 5, rule, sizeof(rule)), 1);
    assert_string_equal(rule, "roles.reader.keyvault[0]");
    assert_int_equal(policy_kv_allowed(app, POLICY_KV_SECRETS_GET, "zzz", 3, rule, sizeof(rule)), 0);
    assert_string_equal(rule, "default");
    /* a length shorter than the string: only those bytes are the name */
    assert_false(policy_kv_allowed(app, POLICY_KV_SECRETS_GET, "app-1", 3, NULL, 0));
    assert_true(policy_kv_holds(app, POLICY_KV_SECRETS_RESTORE));
    assert_false(policy_kv_holds(app, POLICY_KV_STORAGE_LISTSAS));

    /* deny by default: a principal without keyvault entries holds nothing */
    const policy_principal_t *nobody = principal(p, "nobody", "https://kv.example/");
    for (int a = 0; a < POLICY_KV_ACTION_COUNT; a++) {
        assert_false(ALLOWED(nobody, (policy_kv_action_t)a, "app-1"));
        assert_false(policy_kv_holds(nobody, (policy_kv_action_t)a));
    }
    assert_false(ALLOWED(NULL, POLICY_KV_SECRETS_GET, "app-1"));
    assert_false(ALLOWED(app, POLICY_KV_ACTION_COUNT, "app-1"));
    policy_release(p);
}

static void action_names(void **state)
{
    assert_string_equal(policy_kv_action_name(POLICY_KV_SECRETS_GET), "secrets/get");
    assert_string_equal(policy_kv_action_name(POLICY_KV_SECRETS_PURGE), "secrets/purge");
    assert_string_equal(policy_kv_action_name(POLICY_KV_STORAGE_DELETESAS), "storage/deletesas");
    assert_string_equal(policy_kv_action_name(POLICY_KV_ACTION_COUNT), "unknown");
    assert_string_equal(policy_kv_action_name((policy_kv_action_t)-1), "unknown");
}

static void default_scope_is_the_vault(void **state)
{
    char err[512];
    policy_t *p = test_policy_from("principals:\n"
                                   "  app: {auth: {jwt: {issuer: \"https://demo.issuer.local/\", subject: app}}, roles: [r]}\n"
                                   "roles:\n"
                                   "  r: {keyvault: [{actions: [list]}]}\n"
                                   "jwt_issuers:\n"
                                   "  - {issuer: \"https://demo.issuer.local/\", audience: sasgw, keys: demo-jwks.json}\n",
                                   err, sizeof(err));
    if (p == NULL)
        fail_msg("%s", err);
    const policy_principal_t *app = principal(p, "app", "https://kv.example");
    assert_true(ALLOWED(app, POLICY_KV_SECRETS_LIST, "anything"));
    assert_false(ALLOWED(app, POLICY_KV_SECRETS_GET, "anything"));
    policy_release(p);
}

static void audience_of_the_caller(void **state)
{
    char err[512], claims[256];
    const policy_principal_t *pr = NULL;
    policy_t *p = test_policy_from(kv_policy, err, sizeof(err));
    assert_non_null(p);
    int64_t now = time(NULL);
    static const struct {
        const char *aud;
        int ok;
    } cases[] = {
        {"\"https://kv.example\"", 1},         {"\"https://kv.example/\"", 1},
        {"[\"x\",\"https://kv.example\"]", 1}, {"\"sasgw\"", 0},
        {"\"https://kv.example//\"", 0},       {"\"https://kv.exampl\"", 0},
        {"\"https://kv.example.evil\"", 0},    {"\"HTTPS://kv.example\"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":%s,\"sub\":\"app\",\"exp\":%lld}", DEMO_ISSUER, cases[i].aud,
                 (long long)now + 300);
        char *token = test_mint(JWT_ALG_RS256, DEMO_RSA_KEY, "demo-rs256", claims);
        int rc = policy_authenticate_bearer_for(p, token, "https://kv.example", now, &pr, err, sizeof(err));
        if ((rc == 0) != cases[i].ok)
            fail_msg("aud %s: got %d (%s)", cases[i].aud, rc, err);
        /* NULL audience: exactly the issuer's (sasgw), with no slash leniency */
        int plain = policy_authenticate_bearer_for(p, token, NULL, now, &pr, err, sizeof(err));
        assert_int_equal(plain == 0, strcmp(cases[i].aud, "\"sasgw\"") == 0);
        free(token);
    }
    assert_string_equal(policy_jwt_issuer_url(p, 0), DEMO_ISSUER);
    assert_null(policy_jwt_issuer_url(p, 1));
    policy_release(p);
}

static void load_errors(void **state)
{
    static const struct {
        const char *role, *words;
    } bad[] = {
        {"{keyvault: [{actions: [get, fly]}]}", "'fly' is not a Key Vault data action"},
        {"{keyvault: [{actions: [get, secrets/get]}]}", "appears twice"},
        {"{keyvault: [{actions: []}]}", "at least one action"},
        {"{keyvault: [{secrets: \"a*\"}]}", "actions"},
        {"{keyvault: [{actions: [get], secrets: \"a_b\"}]}", "is not a scope"},
        {"{keyvault: [{actions: [get], secrets: \"a*b\"}]}", "is not a scope"},
        {"{keyvault: [{actions: [get], secrets: \"**\"}]}", "is not a scope"},
        {"{keyvault: [{actions: [get], bogus: 1}]}", "bogus"},
        {"{keyvault: {actions: [get]}}", "expected a sequence"},
        {"{keyvault: []}", "a role needs grants or admin capabilities"},
        {"{keyvault: [{actions: [storage/fly]}]}", "not a Key Vault data action"},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[512], err[512];
        snprintf(yaml, sizeof(yaml), "roles:\n  r: %s\n", bad[i].role);
        policy_t *p = test_policy_from(yaml, err, sizeof(err));
        if (p != NULL) {
            policy_release(p);
            fail_msg("case %zu accepted: %s", i, bad[i].role);
        }
        if (strncmp(err, "test.yaml:2:", 12) != 0 || strstr(err, bad[i].words) == NULL) {
            print_error("case %zu: got \"%s\", want \"test.yaml:2:... %s\"\n", i, err, bad[i].words);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void shipped_policy_has_keyvault_roles(void **state)
{
    policy_t *p = test_demo_policy();
    char err[256], claims[256];
    const policy_principal_t *pr = NULL;
    int64_t now = time(NULL);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"https://localhost:8443\",\"sub\":\"kv-app\",\"exp\":%lld}",
             DEMO_ISSUER, (long long)now + 300);
    char *token = test_mint(JWT_ALG_RS256, DEMO_RSA_KEY, "demo-rs256", claims);
    assert_int_equal(policy_authenticate_bearer_for(p, token, "https://localhost:8443", now, &pr, err, sizeof(err)), 0);
    assert_string_equal(policy_principal_name(pr), "kv-app");
    free(token);
    assert_true(ALLOWED(pr, POLICY_KV_SECRETS_GET, "demo-x"));
    assert_false(ALLOWED(pr, POLICY_KV_SECRETS_GET, "prod-x"));
    policy_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scopes_and_actions),
        cmocka_unit_test(action_names),
        cmocka_unit_test(default_scope_is_the_vault),
        cmocka_unit_test(audience_of_the_caller),
        cmocka_unit_test(load_errors),
        cmocka_unit_test(shipped_policy_has_keyvault_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
