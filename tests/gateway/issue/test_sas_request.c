/*
 * test_sas_request.c - the strict reading of POST /v1/sas and
 * /v1/sas/account bodies (gateway/issue/sas_request.c): accepted forms, and every
 * way a body is refused with the field it names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sas_request.h"

/* 2026-01-01T00:00:00Z */
#define NOW ((sas_time_t)1767225600 * SAS_TIME_SECOND)

static gw_sas_request_t req;
static gw_sas_request_error_t err;
static json_t *root;

/* Parses text as kind; returns 0/-1 and leaves the result in req/err. */
static int parse(gw_sas_request_kind_t kind, const char *text)
{
    json_decref(root);
    root = NULL;
    return gw_sas_request_parse_text(&req, &root, text, strlen(text), kind, NOW, 300, &err);
}

/* Asserts that a service body is refused naming field. */
#define REFUSED(text, fld)                                                                                                         \
    do {                                                                                                                           \
        assert_int_equal(parse(GW_SAS_REQUEST_SERVICE, text), -1);                                                                 \
        assert_string_equal(err.field, fld);                                                                                       \
        assert_true(err.message[0] != '\0');                                                                                       \
    } while (0)

#define BASE "\"account\":\"devstoreaccount1\",\"container\":\"demo\""

static int teardown(void **state)
{
    json_decref(root);
    root = NULL;
    return 0;
}

static void test_blob_defaults(void **state)
{
    assert_int_equal(parse(GW_SAS_REQUEST_SERVICE, "{" BASE ",\"blob\":\"a b/c.txt\",\"permissions\":\"wr\",\"expires_in\":600}"),
                     0);
    assert_string_equal(req.account, "devstoreaccount1");
    assert_string_equal(req.container, "demo");
    assert_string_equal(req.blob, "a b/c.txt");
    assert_int_equal(req.sr, SAS_SR_BLOB);
    assert_string_equal(req.permissions, "rw"); /* canonical order */
    assert_int_equal(req.ttl, 600);
    assert_string_equal(req.expiry_text, "2026-01-01T00:10:00Z");
    assert_string_equal(req.start_text, "2025-12-31T23:55:00Z"); /* now - clock skew */
    assert_null(req.protocol);
    assert_null(req.ip);
}

static void test_container_and_times(void **state)
{
    assert_int_equal(parse(GW_SAS_REQUEST_SERVICE,
                           "{" BASE ",\"permissions\":\"lr\",\"expires_on\":\"2026-01-01T02:00:00Z\","
                           "\"start\":\"2025-12-31T23:00:00Z\",\"protocol\":\"https\",\"ip\":\"10.0.0.1-10.0.0.9\"}"),
                     0);
    assert_int_equal(req.sr, SAS_SR_CONTAINER);
    assert_string_equal(req.permissions, "rl");
    assert_int_equal(req.ttl, 7200);
    assert_string_equal(req.start_text, "2025-12-31T23:00:00Z");
    assert_string_equal(req.protocol, "https");
}

static void test_snapshot_version_headers(void **state)
{
    assert_int_equal(parse(GW_SAS_REQUEST_SERVICE, "{" BASE ",\"blob\":\"x\",\"snapshot\":\"2025-12-31T10:00:00.1234567Z\","
                                                   "\"permissions\":\"rd\",\"expires_in\":60}"),
                     0);
    assert_int_equal(req.sr, SAS_SR_SNAPSHOT);
    assert_int_equal(parse(GW_SAS_REQUEST_SERVICE, "{" BASE ",\"blob\":\"x\",\"version_id\":\"2025-12-31T10:00:00.1234567Z\","
                                                   "\"permissions\":\"rx\",\"expires_in\":60,\"policy\":\"p1\","
                                                   "\"response_headers\":{\"content_type\":\"text/plain\"}}"),
                     0);
    assert_int_equal(req.sr, SAS_SR_VERSION);
    assert_string_equal(req.policy, "p1");
    assert_string_equal(req.response_headers.content_type, "text/plain");
}

static void test_account_sas(void **state)
{
    assert_int_equal(parse(GW_SAS_REQUEST_ACCOUNT,
                           "{\"account\":\"devstoreaccount1\",\"services\":\"b\",\"resource_types\":\"sco\","
                           "\"permissions\":\"lr\",\"expires_in\":900}"),
                     0);
    assert_string_equal(req.services, "b");
    assert_string_equal(req.permissions, "rl");
    /* container is a service SAS member */
    assert_int_equal(parse(GW_SAS_REQUEST_ACCOUNT, "{\"account\":\"devstoreaccount1\",\"container\":\"demo\",\"services\":\"b\","
                                                   "\"resource_types\":\"s\",\"permissions\":\"r\",\"expires_in\":9}"),
                     -1);
    assert_string_equal(err.field, "container");
    assert_int_equal(parse(GW_SAS_REQUEST_ACCOUNT, "{\"account\":\"devstoreaccount1\",\"services\":\"bb\",\"resource_types\":\"s\","
                                                   "\"permissions\":\"r\",\"expires_in\":9}"),
                     -1);
    assert_string_equal(err.field, "services");
    assert_int_equal(parse(GW_SAS_REQUEST_ACCOUNT, "{\"account\":\"devstoreaccount1\",\"services\":\"b\",\"resource_types\":\"x\","
                                                   "\"permissions\":\"r\",\"expires_in\":9}"),
                     -1);
    assert_string_equal(err.field, "resource_types");
    assert_int_equal(parse(GW_SAS_REQUEST_ACCOUNT, "{\"account\":\"devstoreaccount1\",\"services\":\"b\",\"permissions\":\"r\","
                                                   "\"expires_in\":9}"),
                     -1);
    assert_string_equal(err.field, "resource_types");
}

static void test_wrong_types(void **state)
{
    static const char *const members[] = {"account", "container", "blob",     "permissions", "expires_on", "start",
                                          "ip",      "protocol",  "snapshot", "version_id",  "policy"};
    static const char *const wrong[] = {"1", "1.5", "true", "null", "[]", "{}"};
    for (size_t i = 0; i != sizeof(members) / sizeof(members[0]); i++) {
        for (size_t j = 0; j != sizeof(wrong) / sizeof(wrong[0]); j++) {
            /* a valid body, with the member under test set to a value of the wrong type */
            json_t *body = json_loads("{" BASE ",\"blob\":\"x\",\"permissions\":\"r\",\"expires_in\":60}", 0, NULL);
            json_object_set_new(body, members[i], json_loads(wrong[j], JSON_DECODE_ANY, NULL));
            assert_int_equal(gw_sas_request_parse(&req, body, GW_SAS_REQUEST_SERVICE, NOW, 300, &err), -1);
            assert_string_equal(err.field, members[i]);
            json_decref(body);
        }
    }
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":\"600\"}", "expires_in");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":600.0}", "expires_in");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":true}", "expires_in");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":null}", "expires_in");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"response_headers\":\"x\"}", "response_headers");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"response_headers\":{\"content_type\":1}}",
            "response_headers.content_type");
}

static void test_unknown_members(void **state)
{
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"colour\":\"blue\"}", "colour");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"services\":\"b\"}", "services");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"response_headers\":{\"content_kind\":\"x\"}}", "response_headers");
    /* a long unknown name is cut to 64 bytes */
    REFUSED("{\""
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "\":1}",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    /* a cut never splits a UTF-8 character: 63 'a' and then a 2-byte character */
    assert_int_equal(
        parse(GW_SAS_REQUEST_SERVICE, "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\u00e9\\u00e9\":1}"), -1);
    assert_int_equal(strlen(err.field), 63);
}

static void test_missing_and_duplicates(void **state)
{
    REFUSED("{}", "account");
    REFUSED("{\"account\":\"devstoreaccount1\"}", "container");
    REFUSED("{" BASE ",\"expires_in\":60}", "permissions");
    REFUSED("{" BASE ",\"permissions\":\"r\"}", "expires_in");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"expires_on\":\"2026-01-02\"}", "expires_on");
    /* duplicate keys, bad JSON, not an object: the body as a whole */
    REFUSED("{" BASE ",\"permissions\":\"r\",\"permissions\":\"w\",\"expires_in\":60}", "");
    REFUSED("{", "");
    REFUSED("[]", "");
    REFUSED("\"x\"", "");
    REFUSED("", "");
}

static void test_bad_values(void **state)
{
    char text[4096];

    REFUSED("{\"account\":\"Dev_Store\",\"container\":\"demo\",\"permissions\":\"r\",\"expires_in\":60}", "account");
    REFUSED("{\"account\":\"ab\",\"container\":\"demo\",\"permissions\":\"r\",\"expires_in\":60}", "account");
    REFUSED("{\"account\":\"devstoreaccount1\",\"container\":\"De\",\"permissions\":\"r\",\"expires_in\":60}", "container");
    REFUSED("{" BASE ",\"permissions\":\"rr\",\"expires_in\":60}", "permissions");
    REFUSED("{" BASE ",\"permissions\":\"q\",\"expires_in\":60}", "permissions");
    REFUSED("{" BASE ",\"blob\":\"x\",\"permissions\":\"l\",\"expires_in\":60}", "permissions"); /* l is for containers */
    REFUSED("{" BASE ",\"permissions\":\"\",\"expires_in\":60}", "permissions");
    REFUSED("{" BASE ",\"blob\":\"a/../b\",\"permissions\":\"r\",\"expires_in\":60}", "blob");
    REFUSED("{" BASE ",\"blob\":\"a//b\",\"permissions\":\"r\",\"expires_in\":60}", "blob");
    REFUSED("{" BASE ",\"blob\":\"a\\u0001b\",\"permissions\":\"r\",\"expires_in\":60}", "blob");
    REFUSED("{" BASE ",\"blob\":\"a\\u0000b\",\"permissions\":\"r\",\"expires_in\":60}", ""); /* NUL: jansson refuses it */
    REFUSED("{" BASE ",\"blob\":\"\",\"permissions\":\"r\",\"expires_in\":60}", "blob");
    REFUSED("{" BASE ",\"snapshot\":\"2025-12-31T10:00:00Z\",\"permissions\":\"r\",\"expires_in\":60}", "snapshot");
    REFUSED("{" BASE ",\"blob\":\"x\",\"snapshot\":\"yesterday\",\"permissions\":\"r\",\"expires_in\":60}", "snapshot");
    REFUSED("{" BASE ",\"blob\":\"x\",\"snapshot\":\"2025-12-31T10:00:00Z\",\"version_id\":\"2025-12-31T10:00:00Z\","
            "\"permissions\":\"r\",\"expires_in\":60}",
            "version_id");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"ip\":\"300.1.1.1\"}", "ip");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"ip\":\"10.0.0.9-10.0.0.1\"}", "ip");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"protocol\":\"http\"}", "protocol");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"policy\":\"has space\"}", "policy");

    /* overlong strings */
    memset(text, 0, sizeof(text));
    int n = snprintf(text, sizeof(text), "{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"blob\":\"");
    memset(text + n, 'x', 1025);
    strcpy(text + n + 1025, "\"}");
    REFUSED(text, "blob");
    n = snprintf(text, sizeof(text), "{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"response_headers\":{\"content_type\":\"");
    memset(text + n, 'x', 1025);
    strcpy(text + n + 1025, "\"}}");
    REFUSED(text, "response_headers.content_type");
    REFUSED(
        "{\"account\":\"devstoreaccount1xxxxxxxxxxxxxxxxxxxxxx\",\"container\":\"demo\",\"permissions\":\"r\",\"expires_in\":60}",
        "account");
}

static void test_times_and_ttl(void **state)
{
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":0}", "expires_in");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":-5}", "expires_in");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":604801}", "expires_in");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":99999999999999999999}", ""); /* jansson: too big an integer */
    assert_int_equal(parse(GW_SAS_REQUEST_SERVICE, "{" BASE ",\"permissions\":\"r\",\"expires_in\":604800}"), 0);
    assert_int_equal(req.ttl, 604800);
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_on\":\"2025-12-31T23:59:59Z\"}", "expires_on"); /* past */
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_on\":\"2026-01-01T00:00:00Z\"}", "expires_on"); /* now */
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_on\":\"2026-01-09T00:00:00Z\"}", "expires_on"); /* > 7 d */
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_on\":\"2026-13-01T00:00:00Z\"}", "expires_on");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_on\":\"tomorrow\"}", "expires_on");
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"start\":\"2026-01-01T00:01:00Z\"}", "start"); /* after expiry */
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"start\":\"2020-01-01T00:00:00Z\"}", "start"); /* far past */
    REFUSED("{" BASE ",\"permissions\":\"r\",\"expires_in\":60,\"start\":\"soon\"}", "start");
    /* offsets are accepted and signed in UTC */
    assert_int_equal(parse(GW_SAS_REQUEST_SERVICE, "{" BASE ",\"permissions\":\"r\",\"expires_on\":\"2026-01-01T01:30:00+01:00\"}"),
                     0);
    assert_string_equal(req.expiry_text, "2026-01-01T00:30:00Z");
    assert_int_equal(req.ttl, 1800);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_blob_defaults, teardown),
        cmocka_unit_test_teardown(test_container_and_times, teardown),
        cmocka_unit_test_teardown(test_snapshot_version_headers, teardown),
        cmocka_unit_test_teardown(test_account_sas, teardown),
        cmocka_unit_test_teardown(test_wrong_types, teardown),
        cmocka_unit_test_teardown(test_unknown_members, teardown),
        cmocka_unit_test_teardown(test_missing_and_duplicates, teardown),
        cmocka_unit_test_teardown(test_bad_values, teardown),
        cmocka_unit_test_teardown(test_times_and_ttl, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
