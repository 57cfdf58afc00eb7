/* Tests gateway/admin/admin_json.c: strict parsing of the admin API's bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "admin_json.h"
#include "sasgw/common.h"

#define SIG_ZERO "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"

static json_t *doc(const char *text)
{
    json_error_t je;
    json_t *j =
        json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je); /* the server refuses NUL earlier; be robust anyway */
    assert_non_null(j);
    return j;
}

/* Parses text as a revocation; returns the rc and fills sel/e. */
static int revocation(const char *text, gw_revoke_selector_t *sel, gw_json_error_t *e)
{
    json_t *j = doc(text);
    int rc = gw_admin_parse_revocation(j, sel, e);
    json_decref(j);
    return rc;
}

static void revocation_selectors(void **state)
{
    gw_revoke_selector_t sel;
    gw_json_error_t e;

    assert_int_equal(revocation("{\"token_id\":\"abcdefghijklmnopqrstuv\"}", &sel, &e), 0);
    assert_int_equal(sel.by, GW_REVOKE_BY_TOKEN_ID);
    assert_string_equal(sel.token_id, "abcdefghijklmnopqrstuv");
    assert_int_equal(sel.expiry, 0);

    assert_int_equal(revocation("{\"token_id\":\"abcdefghijklmnopqrst-_\",\"expiry\":\"2030-01-01T00:00:00Z\"}", &sel, &e), 0);
    assert_int_equal(sel.expiry, 1893456000);
    assert_int_equal(revocation("{\"token_id\":\"abcdefghijklmnopqrst-_\",\"expiry\":1893456000}", &sel, &e), 0);
    assert_int_equal(sel.expiry, 1893456000);

    assert_int_equal(revocation("{\"principal\":\"demo-app\"}", &sel, &e), 0);
    assert_int_equal(sel.by, GW_REVOKE_BY_PRINCIPAL);
    assert_string_equal(sel.principal, "demo-app");

    assert_int_equal(revocation("{\"account\":\"devstoreaccount1\",\"issued_before\":\"2026-01-02T03:04:05Z\"}", &sel, &e), 0);
    assert_int_equal(sel.by, GW_REVOKE_BY_ISSUED);
    assert_string_equal(sel.account, "devstoreaccount1");
    assert_string_equal(sel.container, "");
    assert_int_equal(sel.issued_before, 1767323045);
    assert_int_equal(revocation("{\"account\":\"devstoreaccount1\",\"container\":\"demo\",\"issued_before\":1767323045}", &sel, &e),
                     0);
    assert_string_equal(sel.container, "demo");

    /* a SAS as a query string, with or without '?', or a whole URL */
    const char *forms[] = {"{\"token\":\"sv=2026-10-06&sr=b&sp=r&se=2030-01-01T00:00:00Z&sig=" SIG_ZERO "\"}",
                           "{\"token\":\"?sv=2026-10-06&sr=b&sp=r&se=2030-01-01T00:00:00Z&sig=" SIG_ZERO "\"}",
                           "{\"token\":\"http://127.0.0.1:8000/devstoreaccount1/demo/a.txt?sv=2026-10-06&sr=b&sp=r&se=2030-01-"
                           "01T00:00:00Z&sig=" SIG_ZERO "\"}"};
    uint8_t zero[SAS_SIG_LEN] = {0};
    char want[SAS_TOKEN_ID_LEN + 1];
    sas_token_id_from_sig(zero, want);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(revocation(forms[i], &sel, &e), 0);
        assert_int_equal(sel.by, GW_REVOKE_BY_TOKEN);
        assert_string_equal(sel.token_id, want);
        assert_int_equal(sel.expiry, 1893456000);
    }
    /* without se: the expiry is unknown */
    assert_int_equal(revocation("{\"token\":\"sv=2026-10-06&sr=b&si=p1&sig=" SIG_ZERO "\"}", &sel, &e), 0);
    assert_int_equal(sel.expiry, 0);
}

static void revocation_refusals(void **state)
{
    gw_revoke_selector_t sel;
    gw_json_error_t e;
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{}", NULL},
        {"{\"nope\":1}", "nope"},
        {"{\"token_id\":\"abcdefghijklmnopqrstuv\",\"principal\":\"x\"}", "principal"},
        {"{\"token_id\":\"short\"}", "token_id"},
        {"{\"token_id\":\"abcdefghijklmnopqrstu+\"}", "token_id"},
        {"{\"token_id\":22}", "token_id"},
        {"{\"token_id\":\"abcdefghijklmnopqrstuv\",\"expiry\":\"tomorrow\"}", "expiry"},
        {"{\"token_id\":\"abcdefghijklmnopqrstuv\",\"expiry\":-1}", "expiry"},
        {"{\"principal\":\"demo-app\",\"expiry\":1}", "expiry"},
        {"{\"principal\":\"demo app\"}", "principal"},
        {"{\"principal\":\"\"}", "principal"},
        {"{\"principal\":\"a\\u0000b\"}", "principal"},
        {"{\"principal\":\"demo-app\",\"container\":\"demo\"}", "container"},
        {"{\"principal\":\"demo-app\",\"issued_before\":1}", "issued_before"},
        {"{\"account\":\"devstoreaccount1\"}", "issued_before"},
        {"{\"account\":\"Dev\",\"issued_before\":1}", "account"},
        {"{\"account\":\"devstoreaccount1\",\"container\":\"a--b\",\"issued_before\":1}", "container"},
        {"{\"account\":\"devstoreaccount1\",\"issued_before\":0}", "issued_before"},
        {"{\"account\":\"devstoreaccount1\",\"issued_before\":true}", "issued_before"},
        {"{\"token\":\"sv=2026-10-06&sr=b&sp=r\"}", "token"},
        {"{\"token\":\"sv=2026-10-06&sr=b&sp=r&sp=r&sig=" SIG_ZERO "\"}", "token"},
        {"{\"token\":null}", "token"},
        {"{\"token_id\":null}", "token_id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e.field = "unset";
        if (revocation(cases[i].body, &sel, &e) != -1)
            fail_msg("accepted %s", cases[i].body);
        if (cases[i].field == NULL)
            assert_null(e.field);
        else if (e.field == NULL || strcmp(e.field, cases[i].field) != 0)
            fail_msg("%s: field %s, want %s (%s)", cases[i].body, e.field ? e.field : "(null)", cases[i].field, e.message);
        assert_true(e.message[0] != '\0');
    }
}

static void key_import(void **state)
{
    uint8_t key[VAULT_KEY_MAX];
    size_t len;
    gw_json_error_t e;
    json_t *j = doc("{\"value\":\"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==\"}");
    assert_int_equal(gw_admin_parse_key_import(j, key, &len, &e), 0);
    assert_int_equal(len, 64);
    assert_int_equal(key[0], 0x11);
    json_decref(j);

    static const char *const bad[] = {
        "{}",
        "{\"value\":1}",
        "{\"value\":\"AAAA\"}",
        "{\"value\":\"not base64!\"}",
        "{\"value\":\"QUFBQUFBQUFBQUFBQUFBQQ==\",\"slot\":1}",
        /* 65 bytes */
        "{\"value\":\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = doc(bad[i]);
        if (gw_admin_parse_key_import(j, key, &len, &e) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(e.field);
        json_decref(j);
    }
    /* 16 bytes is the shortest */
    j = doc("{\"value\":\"QUFBQUFBQUFBQUFBQUFBQQ==\"}");
    assert_int_equal(gw_admin_parse_key_import(j, key, &len, &e), 0);
    assert_int_equal(len, 16);
    json_decref(j);
}

static void stored_policy(void **state)
{
    vault_policy_t p;
    gw_json_error_t e;
    json_t *j = doc("{\"start\":\"2026-01-01\",\"expiry\":\"2026-02-01T00:00:00Z\",\"permissions\":\"rl\"}");
    assert_int_equal(gw_admin_parse_policy(j, &p, &e), 0);
    assert_int_equal(p.start, 1767225600);
    assert_int_equal(p.expiry, 1769904000);
    assert_string_equal(p.permissions, "rl");
    json_decref(j);

    j = doc("{}");
    assert_int_equal(gw_admin_parse_policy(j, &p, &e), 0);
    assert_int_equal(p.start, 0);
    assert_string_equal(p.permissions, "");
    json_decref(j);

    static const struct {
        const char *body, *field;
    } bad[] = {{"{\"permissions\":\"rr\"}", "permissions"},
               {"{\"permissions\":\"q\"}", "permissions"},
               {"{\"permissions\":7}", "permissions"},
               {"{\"start\":\"x\"}", "start"},
               {"{\"start\":10,\"expiry\":5}", "expiry"},
               {"{\"id\":\"x\"}", "id"},
               {"{\"permissions\":\"racwdxyltfmeopiracwd\"}", "permissions"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = doc(bad[i].body);
        if (gw_admin_parse_policy(j, &p, &e) != -1)
            fail_msg("accepted %s", bad[i].body);
        assert_non_null(e.field);
        assert_string_equal(e.field, bad[i].field);
        json_decref(j);
    }
}

static void secret(void **state)
{
    gw_secret_body_t s;
    gw_json_error_t e;
    json_t *j = doc("{\"value\":\"s3cr3t\",\"content_type\":\"text/plain\",\"tags\":{\"a\":\"1\",\"b\":\"\"},\"nbf\":10,"
                    "\"exp\":\"2030-01-01\",\"enabled\":false}");
    assert_int_equal(gw_admin_parse_secret(j, &s, &e), 0);
    assert_int_equal(s.value_len, 6);
    assert_memory_equal(s.value, "s3cr3t", 6);
    assert_string_equal(s.in.content_type, "text/plain");
    assert_int_equal(s.in.ntags, 2);
    assert_string_equal(s.in.tags[0].key, "a");
    assert_string_equal(s.in.tags[1].value, "");
    assert_int_equal(s.in.nbf, 10);
    assert_int_equal(s.in.exp, 1893456000);
    assert_int_equal(s.in.disabled, 1);
    gw_secret_body_dispose(&s);
    json_decref(j);

    /* a value may hold NUL bytes: it is binary-safe */
    j = doc("{\"value\":\"a\\u0000b\"}");
    assert_int_equal(gw_admin_parse_secret(j, &s, &e), 0);
    assert_int_equal(s.value_len, 3);
    gw_secret_body_dispose(&s);
    json_decref(j);

    static const struct {
        const char *body, *field;
    } bad[] = {{"{}", "value"},
               {"{\"value\":1}", "value"},
               {"{\"value\":\"x\",\"contentType\":\"y\"}", "contentType"},
               {"{\"value\":\"x\",\"tags\":[]}", "tags"},
               {"{\"value\":\"x\",\"tags\":{\"a\":1}}", "tags"},
               {"{\"value\":\"x\",\"tags\":{\"\":\"v\"}}", "tags"},
               {"{\"value\":\"x\",\"enabled\":\"yes\"}", "enabled"},
               {"{\"value\":\"x\",\"nbf\":20,\"exp\":10}", "exp"},
               {"{\"value\":\"x\",\"exp\":1.5}", "exp"},
               {"{\"value\":\"x\",\"tags\":{\"1\":\"\",\"2\":\"\",\"3\":\"\",\"4\":\"\",\"5\":\"\",\"6\":\"\",\"7\":\"\",\"8\":"
                "\"\",\"9\":\"\",\"10\":\"\",\"11\":\"\",\"12\":\"\",\"13\":\"\",\"14\":\"\",\"15\":\"\",\"16\":\"\"}}",
                "tags"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = doc(bad[i].body);
        if (gw_admin_parse_secret(j, &s, &e) != -1)
            fail_msg("accepted %s", bad[i].body);
        assert_non_null(e.field);
        assert_string_equal(e.field, bad[i].field);
        gw_secret_body_dispose(&s);
        json_decref(j);
    }

    /* the value's size limit */
    char *big = sg_alloc(VAULT_SECRET_MAX + 32);
    memcpy(big, "{\"value\":\"", 10);
    memset(big + 10, 'x', VAULT_SECRET_MAX + 1);
    strcpy(big + 10 + VAULT_SECRET_MAX + 1, "\"}");
    j = doc(big);
    assert_int_equal(gw_admin_parse_secret(j, &s, &e), -1);
    assert_string_equal(e.field, "value");
    json_decref(j);
    free(big);
}

/* PUT /v1/accounts/{a}/sas-definitions/{name}: the shape only (the vault reads the template and the duration). */
static void sasdef(void **state)
{
    gw_sasdef_body_t b;
    gw_json_error_t e;
    json_t *j = doc("{\"template_uri\":\"http://h/a/c?sr=c&sp=r&sv=2022-11-02&sig=" SIG_ZERO "\",\"sas_type\":\"account\","
                    "\"validity_period\":\"PT1H\",\"enabled\":false,\"tags\":{\"k\":\"v\"}}");
    assert_int_equal(gw_admin_parse_sasdef(j, &b, &e), 0);
    assert_non_null(strstr(b.in.template_uri, "sr=c"));
    assert_int_equal(b.in.sas_type, VAULT_SASDEF_ACCOUNT);
    assert_string_equal(b.in.validity, "PT1H");
    assert_int_equal(b.in.enabled, 0);
    assert_int_equal(b.in.ntags, 1);
    assert_string_equal(b.in.tags[0].key, "k");
    gw_sasdef_body_dispose(&b);
    json_decref(j);
    j = doc("{\"template_uri\":\"x\",\"sas_type\":\"service\",\"validity_period\":\"P1D\"}");
    assert_int_equal(gw_admin_parse_sasdef(j, &b, &e), 0);
    assert_int_equal(b.in.sas_type, VAULT_SASDEF_SERVICE);
    assert_int_equal(b.in.enabled, 1); /* the default */
    assert_int_equal(b.in.ntags, 0);
    gw_sasdef_body_dispose(&b);
    json_decref(j);

    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{\"sas_type\":\"service\",\"validity_period\":\"P1D\"}", "template_uri"},
        {"{\"template_uri\":1,\"sas_type\":\"service\",\"validity_period\":\"P1D\"}", "template_uri"},
        {"{\"template_uri\":\"x\",\"validity_period\":\"P1D\"}", "sas_type"},
        {"{\"template_uri\":\"x\",\"sas_type\":\"blob\",\"validity_period\":\"P1D\"}", "sas_type"},
        {"{\"template_uri\":\"x\",\"sas_type\":\"service\"}", "validity_period"},
        {"{\"template_uri\":\"x\",\"sas_type\":\"service\",\"validity_period\":3600}", "validity_period"},
        {"{\"template_uri\":\"x\",\"sas_type\":\"service\",\"validity_period\":\"P1D\",\"enabled\":1}", "enabled"},
        {"{\"template_uri\":\"x\",\"sas_type\":\"service\",\"validity_period\":\"P1D\",\"tags\":[]}", "tags"},
        {"{\"template_uri\":\"x\",\"sas_type\":\"service\",\"validity_period\":\"P1D\",\"templateUri\":\"x\"}", "templateUri"},
        {"{\"template_uri\":\"a\\u0000b\",\"sas_type\":\"service\",\"validity_period\":\"P1D\"}", "template_uri"},
        {"{\"template_uri\":\"x\",\"sas_type\":\"service\",\"validity_period\":\"PT1234567890123456789012345678901H\"}",
         "validity_period"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = doc(bad[i].body);
        if (gw_admin_parse_sasdef(j, &b, &e) != -1)
            fail_msg("accepted %s", bad[i].body);
        assert_non_null(e.field);
        assert_string_equal(e.field, bad[i].field);
        gw_sasdef_body_dispose(&b);
        json_decref(j);
    }
}

static void only_known_fields(void **state)
{
    static const char *const allowed[] = {"a", "b", NULL};
    gw_json_error_t e;
    json_t *j = doc("{\"a\":1,\"b\":2}");
    assert_int_equal(gw_json_only(j, allowed, &e), 0);
    json_decref(j);
    j = doc("{\"a\":1,\"c\":2}");
    assert_int_equal(gw_json_only(j, allowed, &e), -1);
    assert_string_equal(e.field, "c");
    assert_non_null(strstr(e.message, "unknown field 'c'"));
    json_decref(j);
    j = json_array();
    assert_int_equal(gw_json_only(j, allowed, &e), -1);
    assert_null(e.field);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(revocation_selectors),
        cmocka_unit_test(revocation_refusals),
        cmocka_unit_test(key_import),
        cmocka_unit_test(stored_policy),
        cmocka_unit_test(secret),
        cmocka_unit_test(sasdef),
        cmocka_unit_test(only_known_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
