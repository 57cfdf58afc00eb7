/* Tests gateway/keyvault/kv_parse.c: routes, the query (api-version, maxresults, $skiptoken), strict bodies, tokens, base64url. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <h2o.h>

#include "kv_parse.h"

static kv_route_result_t route(const char *method, const char *path, kv_route_t *r)
{
    return kv_parse_route(method, strlen(method), path, strlen(path), r);
}

static void routes(void **state)
{
    static const struct {
        const char *method, *path;
        kv_route_result_t result;
        kv_op_t op;
        const char *name, *version;
    } cases[] = {
        {"PUT", "/secrets/a-1", KV_ROUTE_OK, KV_OP_SECRET_SET, "a-1", ""},
        {"GET", "/secrets/a-1", KV_ROUTE_OK, KV_OP_SECRET_GET, "a-1", ""},
        {"GET", "/secrets/a-1/", KV_ROUTE_OK, KV_OP_SECRET_GET, "a-1", ""},
        {"GET", "/secrets/a-1/0123abcd", KV_ROUTE_OK, KV_OP_SECRET_GET, "a-1", "0123abcd"},
        {"PATCH", "/secrets/a-1/0123abcd", KV_ROUTE_OK, KV_OP_SECRET_UPDATE, "a-1", "0123abcd"},
        {"PATCH", "/secrets/a-1/", KV_ROUTE_OK, KV_OP_SECRET_UPDATE, "a-1", ""},
        {"GET", "/secrets", KV_ROUTE_OK, KV_OP_SECRET_LIST, "", ""},
        {"GET", "/secrets/", KV_ROUTE_OK, KV_OP_SECRET_LIST, "", ""},
        {"GET", "/secrets/a-1/versions", KV_ROUTE_OK, KV_OP_SECRET_VERSIONS, "a-1", ""},
        {"DELETE", "/secrets/a-1", KV_ROUTE_OK, KV_OP_SECRET_DELETE, "a-1", ""},
        {"POST", "/secrets/a-1/backup", KV_ROUTE_OK, KV_OP_SECRET_BACKUP, "a-1", ""},
        {"POST", "/secrets/restore", KV_ROUTE_OK, KV_OP_SECRET_RESTORE, "", ""},
        {"GET", "/deletedsecrets", KV_ROUTE_OK, KV_OP_DELETED_LIST, "", ""},
        {"GET", "/deletedsecrets/a-1", KV_ROUTE_OK, KV_OP_DELETED_GET, "a-1", ""},
        {"DELETE", "/deletedsecrets/a-1", KV_ROUTE_OK, KV_OP_DELETED_PURGE, "a-1", ""},
        {"POST", "/deletedsecrets/a-1/recover", KV_ROUTE_OK, KV_OP_DELETED_RECOVER, "a-1", ""},
        {"GET", "/storage", KV_ROUTE_OK, KV_OP_STORAGE, "", ""},
        {"PUT", "/storage/acct/sas/d", KV_ROUTE_OK, KV_OP_STORAGE, "", ""},
        /* refusals */
        {"GET", "/storagex", KV_ROUTE_NOT_FOUND, 0, NULL, NULL},
        {"GET", "/", KV_ROUTE_NOT_FOUND, 0, NULL, NULL},
        {"GET", "", KV_ROUTE_NOT_FOUND, 0, NULL, NULL},
        {"GET", "/keys/a", KV_ROUTE_NOT_FOUND, 0, NULL, NULL},
        {"GET", "/secrets/a/b/c", KV_ROUTE_NOT_FOUND, 0, NULL, NULL},
        {"GET", "/deletedsecrets/a/b", KV_ROUTE_NOT_FOUND, 0, NULL, NULL},
        {"POST", "/secrets", KV_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL},
        {"POST", "/secrets/a", KV_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL},
        {"PUT", "/secrets/a/v1", KV_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL},
        {"GET", "/secrets/a/backup", KV_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL},
        {"GET", "/secrets/restore", KV_ROUTE_OK, KV_OP_SECRET_GET, "restore", ""}, /* a secret may be called restore */
        {"POST", "/deletedsecrets/a", KV_ROUTE_METHOD_NOT_ALLOWED, 0, NULL, NULL},
        {"GET", "/secrets/a_b", KV_ROUTE_BAD_NAME, 0, NULL, NULL},
        {"GET", "/secrets/a%2Fb", KV_ROUTE_BAD_NAME, 0, NULL, NULL},
        {"GET", "/secrets/..", KV_ROUTE_BAD_NAME, 0, NULL, NULL},
        {"GET", "/secrets//v", KV_ROUTE_BAD_NAME, 0, NULL, NULL},
        {"GET", "/secrets/a/v-1", KV_ROUTE_BAD_NAME, 0, NULL, NULL},
        {"GET", "/deletedsecrets/a.b", KV_ROUTE_BAD_NAME, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kv_route_t r;
        kv_route_result_t got = route(cases[i].method, cases[i].path, &r);
        if (got != cases[i].result)
            fail_msg("%s %s: result %d, want %d", cases[i].method, cases[i].path, got, cases[i].result);
        if (got == KV_ROUTE_OK) {
            assert_int_equal(r.op, cases[i].op);
            assert_string_equal(r.name, cases[i].name);
            assert_string_equal(r.version, cases[i].version);
        }
    }
    /* names: 127 characters route, 128 do not */
    char path[200] = "/secrets/";
    memset(path + 9, 'a', 127);
    path[9 + 127] = '\0';
    kv_route_t r;
    assert_int_equal(route("GET", path, &r), KV_ROUTE_OK);
    path[9 + 127] = 'a';
    path[9 + 128] = '\0';
    assert_int_equal(route("GET", path, &r), KV_ROUTE_BAD_NAME);
    /* the path length is honoured: bytes past it are not read */
    assert_int_equal(kv_parse_route("GET", 3, "/secrets/abc", 10, &r), KV_ROUTE_OK);
    assert_string_equal(r.name, "a");
}

static int query(const char *q, kv_query_t *out, char *err)
{
    return kv_parse_query(q, q != NULL ? strlen(q) : 0, out, err, 320);
}

static void queries(void **state)
{
    kv_query_t q;
    char err[320];
    assert_int_equal(query("api-version=7.6", &q, err), 0);
    assert_string_equal(q.api_version, "7.6");
    assert_int_equal(q.maxresults, 0);
    assert_string_equal(q.skiptoken, "");
    assert_int_equal(query("api%2Dversion=7.3&maxresults=25&%24skiptoken=abc&outContentType=x", &q, err), 0);
    assert_string_equal(q.api_version, "7.3");
    assert_int_equal(q.maxresults, 25);
    assert_string_equal(q.skiptoken, "abc");
    assert_int_equal(query("$skiptoken=a%2Bb&api-version=7.5&maxresults=1", &q, err), 0);
    assert_string_equal(q.skiptoken, "a+b");
    assert_int_equal(q.maxresults, 1);

    static const char *const bad[] = {
        NULL,
        "",
        "maxresults=5",
        "api-version=",
        "api-version=7.2",
        "api-version=7.7",
        "api-version=7.60",
        "api-version=8.3",
        "api-version=2026-04-01",
        "api-version=7.6-preview",
        "api-version=7.6&api-version=7.6",
        "api-version=7.6&api%2Dversion=7.6",
        "api-version=7.6&maxresults=0",
        "api-version=7.6&maxresults=26",
        "api-version=7.6&maxresults=-1",
        "api-version=7.6&maxresults=1x",
        "api-version=7.6&maxresults=007",
        "api-version=7%",
        "api-version=7.6&$skiptoken=%00",
        "api-version=7.6&$skiptoken=a&%24skiptoken=b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (query(bad[i], &q, err) == 0)
            fail_msg("accepted '%s'", bad[i] != NULL ? bad[i] : "(none)");
        assert_true(err[0] != '\0');
    }
    /* the message quotes at most a short printable prefix of a bad version */
    assert_int_equal(query("api-version=%0A%1B7.2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &q, err), -1);
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, '\x1b'));
    assert_null(strstr(err, "xxxxxxxxxxxxxxxxxxxxxxxxx"));
}

static int body(const char *text, int update, kv_body_t *b, char *err)
{
    json_t *doc = kv_parse_json(text, strlen(text), err, 320);
    if (doc == NULL)
        return -2;
    int rc = kv_parse_body(doc, update, b, err, 320);
    json_decref(doc);
    return rc;
}

static void bodies(void **state)
{
    kv_body_t b;
    char err[320];
    json_t *doc = kv_parse_json(H2O_STRLIT("{\"value\":\"v\",\"contentType\":\"t\",\"tags\":{\"a\":\"1\",\"b\":\"\"},"
                                           "\"attributes\":{\"enabled\":false,\"nbf\":10,\"exp\":20}}"),
                                err, sizeof(err));
    assert_non_null(doc);
    assert_int_equal(kv_parse_body(doc, 0, &b, err, sizeof(err)), 0);
    assert_memory_equal(b.value, "v", 1);
    assert_int_equal(b.value_len, 1);
    assert_string_equal(b.content_type, "t");
    assert_int_equal(b.ntags, 2);
    assert_true(b.has_enabled && !b.enabled);
    assert_true(b.has_nbf && b.nbf == 10 && b.has_exp && b.exp == 20);
    json_decref(doc);
    /* nulls are absent (tags null: cleared; times null: cleared) */
    assert_int_equal(
        body("{\"value\":\"\",\"contentType\":null,\"tags\":null,\"attributes\":{\"nbf\":null,\"enabled\":null}}", 0, &b, err), 0);
    assert_false(b.has_content_type);
    assert_true(b.has_tags && b.ntags == 0);
    assert_true(b.has_nbf && b.nbf == 0);
    assert_false(b.has_enabled);
    assert_int_equal(body("{\"tags\":{\"x\":\"y\"}}", 1, &b, err), 0);
    assert_null(b.value);

    static const struct {
        const char *text;
        int update;
    } bad[] = {
        {"{}", 0},
        {"{\"value\":1}", 0},
        {"{\"value\":null}", 0},
        {"{\"value\":\"v\"}", 1},
        {"{\"value\":\"v\",\"x\":1}", 0},
        {"{\"value\":\"v\",\"Value\":\"w\"}", 0},
        {"{\"value\":\"v\",\"tags\":[]}", 0},
        {"{\"value\":\"v\",\"tags\":{\"a\":1}}", 0},
        {"{\"value\":\"v\",\"tags\":{\"\":\"x\"}}", 0},
        {"{\"value\":\"v\",\"attributes\":[]}", 0},
        {"{\"value\":\"v\",\"attributes\":{\"enabled\":1}}", 0},
        {"{\"value\":\"v\",\"attributes\":{\"nbf\":-1}}", 0},
        {"{\"value\":\"v\",\"attributes\":{\"exp\":1.5}}", 0},
        {"{\"value\":\"v\",\"attributes\":{\"exp\":\"1\"}}", 0},
        {"{\"value\":\"v\",\"attributes\":{\"exp\":253402300800}}", 0},
        {"{\"value\":\"v\",\"attributes\":{\"created\":1}}", 0},
        {"{\"value\":\"v\",\"attributes\":{\"nbf\":5,\"exp\":5}}", 0},
        {"{\"value\":\"v\",\"contentType\":5}", 0},
        {"{\"contentType\":\"x\",\"value\":\"v\",\"value\":\"w\"}", 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (body(bad[i].text, bad[i].update, &b, err) == 0)
            fail_msg("accepted %s", bad[i].text);
        assert_true(err[0] != '\0');
    }
    /* sixteen tags, a 256-character tag value and a 257-character one */
    char text[8192] = "{\"value\":\"v\",\"tags\":{";
    for (int i = 0; i < 16; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s\"k%d\":\"v\"", i ? "," : "", i);
    strcat(text, "}}");
    assert_int_equal(body(text, 0, &b, err), -1);
    char v[300];
    memset(v, 'x', 257);
    v[256] = '\0';
    snprintf(text, sizeof(text), "{\"value\":\"v\",\"tags\":{\"k\":\"%s\"}}", v);
    assert_int_equal(body(text, 0, &b, err), 0);
    v[256] = 'x';
    v[257] = '\0';
    snprintf(text, sizeof(text), "{\"value\":\"v\",\"tags\":{\"k\":\"%s\"}}", v);
    assert_int_equal(body(text, 0, &b, err), -1);
    /* a value past 25 KiB */
    static char big[30000];
    memcpy(big, "{\"value\":\"", 10);
    memset(big + 10, 'a', VAULT_SECRET_MAX + 1);
    strcpy(big + 10 + VAULT_SECRET_MAX + 1, "\"}");
    assert_int_equal(body(big, 0, &b, err), -1);
    /* not JSON, not an object, invalid UTF-8, NUL escapes: refused without quoting the input */
    const char *junk[] = {"", "[]", "\"s\"", "{\"value\":\"\xff\"}", "{\"value\":\"a\\u0000b\"}", "{", "{\"value\":\"v\"} x"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_null(kv_parse_json(junk[i], strlen(junk[i]), err, sizeof(err)));

    const char *value;
    size_t vlen;
    doc = kv_parse_json(H2O_STRLIT("{\"value\":\"abc\"}"), err, sizeof(err));
    assert_int_equal(kv_parse_restore_body(doc, &value, &vlen, err, sizeof(err)), 0);
    assert_int_equal(vlen, 3);
    json_decref(doc);
    doc = kv_parse_json(H2O_STRLIT("{\"value\":\"abc\",\"name\":\"x\"}"), err, sizeof(err));
    assert_int_equal(kv_parse_restore_body(doc, &value, &vlen, err, sizeof(err)), -1);
    json_decref(doc);
    doc = kv_parse_json(H2O_STRLIT("{\"value\":7}"), err, sizeof(err));
    assert_int_equal(kv_parse_restore_body(doc, &value, &vlen, err, sizeof(err)), -1);
    json_decref(doc);
}

static void tokens_and_base64url(void **state)
{
    char tok[KV_TOKEN_MAX], pos[160];
    kv_token_encode('s', "demo-p-07", tok);
    assert_int_equal(kv_token_decode(tok, 's', pos, sizeof(pos)), 0);
    assert_string_equal(pos, "demo-p-07");
    assert_int_equal(kv_token_decode(tok, 'v', pos, sizeof(pos)), -1); /* another kind */
    assert_int_equal(kv_token_decode("", 's', pos, sizeof(pos)), -1);
    assert_int_equal(kv_token_decode("cw", 's', pos, sizeof(pos)), -1);     /* "s" with no position */
    assert_int_equal(kv_token_decode("c18", 's', pos, sizeof(pos)), -1);    /* "s_" : not a name character */
    assert_int_equal(kv_token_decode("c2E/Yg", 's', pos, sizeof(pos)), -1); /* the standard alphabet is not base64url */
    assert_int_equal(kv_token_decode("!!!!", 's', pos, sizeof(pos)), -1);
    kv_token_encode('v', "12", tok);
    assert_int_equal(kv_token_decode(tok, 'v', pos, 3), 0);
    assert_int_equal(kv_token_decode(tok, 'v', pos, 2), -1); /* does not fit */

    uint8_t out[16];
    assert_int_equal(kv_b64url_decode("-_8", 3, out, sizeof(out)), 2);
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(kv_b64url_decode("-_8=", 4, out, sizeof(out)), 2);
    assert_int_equal(kv_b64url_decode("a", 1, out, sizeof(out)), -1);
    assert_int_equal(kv_b64url_decode("ab+c", 4, out, sizeof(out)), -1);
    assert_int_equal(kv_b64url_decode("YWJjZA", 6, out, 3), -1); /* 4 bytes do not fit in 3 */
    assert_int_equal(kv_b64url_decode("", 0, out, sizeof(out)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes),
        cmocka_unit_test(queries),
        cmocka_unit_test(bodies),
        cmocka_unit_test(tokens_and_base64url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
