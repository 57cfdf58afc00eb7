/*
 * Tests step 7, DESIGN §3's operation -> permission table, row by row: each
 * row passes with each letter it names and fails with every other letter;
 * anything outside the table is refused whatever the permissions; an
 * account SAS also needs b in ss and the level in srt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

struct row {
    sas_method_t method;
    const char *path, *extra, *needs;
};

static const struct row table[] = {
    {SAS_METHOD_GET, "/acct/c1/a.txt", NULL, "r"},
    {SAS_METHOD_HEAD, "/acct/c1/a.txt", NULL, "r"},
    {SAS_METHOD_GET, "/acct/c1/a.txt", "comp=blocklist", "r"},
    {SAS_METHOD_GET, "/acct/c1/a.txt", "comp=metadata", "r"},
    {SAS_METHOD_HEAD, "/acct/c1/a.txt", "comp=metadata", "r"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", NULL, "cw"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=block&blockid=AAAA", "cw"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=blocklist", "cw"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=page", "cw"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=appendblock", "aw"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=metadata", "w"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=properties", "w"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=lease", "w"},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=tags", "t"},
    {SAS_METHOD_GET, "/acct/c1/a.txt", "comp=tags", "t"},
    {SAS_METHOD_DELETE, "/acct/c1/a.txt", NULL, "d"},
    {SAS_METHOD_DELETE, "/acct/c1/a.txt", "snapshot=2026-01-01T00%3A00%3A00.0000000Z", "d"},
    {SAS_METHOD_DELETE, "/acct/c1/a.txt", "deletetype=permanent", "y"},
    {SAS_METHOD_DELETE, "/acct/c1/a.txt", "versionid=2026-01-01T00%3A00%3A00.0000000Z", "x"},
    {SAS_METHOD_GET, "/acct/c1", "restype=container&comp=list", "l"},
};

static const struct row denied[] = {
    {SAS_METHOD_OTHER, "/acct/c1/a.txt", NULL, NULL},
    {SAS_METHOD_GET, "/acct/c1/a.txt", "comp=list", NULL},
    {SAS_METHOD_GET, "/acct/c1/a.txt", "comp=pagelist", NULL},
    {SAS_METHOD_HEAD, "/acct/c1/a.txt", "comp=tags", NULL},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=snapshot", NULL},
    {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=Block", NULL},
    {SAS_METHOD_DELETE, "/acct/c1/a.txt", "comp=tags", NULL},
    {SAS_METHOD_DELETE, "/acct/c1/a.txt", "deletetype=soft", NULL},
    {SAS_METHOD_GET, "/acct/c1/a.txt", "restype=container&comp=list", NULL},
    {SAS_METHOD_GET, "/acct/c1", NULL, NULL},
    {SAS_METHOD_GET, "/acct/c1", "restype=container", NULL},
    {SAS_METHOD_GET, "/acct/c1", "comp=list", NULL},
    {SAS_METHOD_PUT, "/acct/c1", "restype=container", NULL},
    {SAS_METHOD_DELETE, "/acct/c1", "restype=container", NULL},
    {SAS_METHOD_HEAD, "/acct/c1", "restype=container&comp=list", NULL},
    {SAS_METHOD_GET, "/acct", "comp=list", NULL},
};

static sas_reason_t run(const sas_mint_t *m, const struct row *row, sas_error_t *err)
{
    req_t r;
    char query[SAS_MAX_QUERY];
    req_init(&r);
    r.path = row->path;
    r.method = row->method;
    return mint_verify(m, &r, row->extra, query, sizeof(query), err);
}

static void service_sas_rows(void **state)
{
    const char *letters = SAS_PERM_ORDER_SERVICE;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        for (const char *l = letters; *l != '\0'; l++) {
            sas_mint_t m;
            sas_error_t err;
            char sp[2] = {*l, '\0'};
            memset(&m, 0, sizeof(m));
            m.account = "acct";
            m.container = "c1";
            m.permissions = sp;
            m.expiry = "2026-02-01T00:00:00Z";
            sas_reason_t want = strchr(table[i].needs, *l) != NULL ? SAS_OK : SAS_R_PERMISSION_MISMATCH,
                         got = run(&m, &table[i], &err);
            if (got != want)
                fail_msg("row %zu (%s %s?%s) with sp=%s: %s (%s)", i, sas_method_name(table[i].method), table[i].path,
                         table[i].extra ? table[i].extra : "", sp, sas_reason_name(got), got ? err.message : "");
            if (got == SAS_R_PERMISSION_MISMATCH)
                assert_string_equal(sas_reason_azure_code(got), "AuthorizationPermissionMismatch");
        }
    }
}

static void account_sas_rows(void **state)
{
    const char *letters = SAS_PERM_ORDER_ACCOUNT;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        for (const char *l = letters; *l != '\0'; l++) {
            sas_mint_t m;
            sas_error_t err;
            char sp[2] = {*l, '\0'};
            memset(&m, 0, sizeof(m));
            m.account = "acct";
            m.services = "bf";
            m.resource_types = "sco";
            m.permissions = sp;
            m.expiry = "2026-02-01T00:00:00Z";
            sas_reason_t want = strchr(table[i].needs, *l) != NULL ? SAS_OK : SAS_R_PERMISSION_MISMATCH,
                         got = run(&m, &table[i], &err);
            if (got != want)
                fail_msg("row %zu with account sp=%s: %s", i, sp, sas_reason_name(got));
        }
    }
}

static void anything_else_denied(void **state)
{
    sas_mint_t m;
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.container = "c1";
    m.permissions = "racwdxyltfmeopi";
    m.expiry = "2026-02-01T00:00:00Z";
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        sas_error_t err;
        sas_reason_t got = run(&m, &denied[i], &err);
        /* a path without a container fails the resource step first */
        sas_reason_t want = strchr(denied[i].path + 1, '/') == NULL ? SAS_R_RESOURCE_MISMATCH : SAS_R_OPERATION_NOT_ALLOWED;
        if (got != want)
            fail_msg("denied row %zu (%s %s?%s): %s", i, sas_method_name(denied[i].method), denied[i].path,
                     denied[i].extra ? denied[i].extra : "", sas_reason_name(got));
    }
    /* the same with an account SAS, which reaches the operation step for /acct too */
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.services = "b";
    m.resource_types = "sco";
    m.permissions = "rwdxylacuptfi";
    m.expiry = "2026-02-01T00:00:00Z";
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        sas_error_t err;
        assert_int_equal(run(&m, &denied[i], &err), SAS_R_OPERATION_NOT_ALLOWED);
    }
}

static void messages(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    const struct row meta = {SAS_METHOD_PUT, "/acct/c1/a.txt", "comp=metadata", NULL};
    const struct row put = {SAS_METHOD_PUT, "/acct/c1/a.txt", NULL, NULL};
    const struct row post = {SAS_METHOD_OTHER, "/acct/c1/a.txt", "comp=query", NULL};
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.container = "c1";
    m.blob = "a.txt";
    m.permissions = "rd";
    m.expiry = "2026-02-01T00:00:00Z";
    assert_int_equal(run(&m, &meta, &err), SAS_R_PERMISSION_MISMATCH);
    assert_string_equal(err.message, "permission w not granted by sp=rd");
    assert_int_equal(run(&m, &put, &err), SAS_R_PERMISSION_MISMATCH);
    assert_string_equal(err.message, "permission c or w not granted by sp=rd");
    assert_int_equal(run(&m, &post, &err), SAS_R_OPERATION_NOT_ALLOWED);
    assert_string_equal(err.message, "operation OTHER comp=query on a blob is not allowed with a SAS");
}

static void account_services_and_resource_types(void **state)
{
    static const struct {
        const char *ss, *srt;
        const struct row *row;
        sas_reason_t want;
    } cases[] = {
        {"b", "o", &table[0], SAS_OK},
        {"f", "o", &table[0], SAS_R_SERVICE_MISMATCH},
        {"qt", "sco", &table[0], SAS_R_SERVICE_MISMATCH},
        {"b", "c", &table[0], SAS_R_RESOURCE_TYPE_MISMATCH},
        {"b", "s", &table[0], SAS_R_RESOURCE_TYPE_MISMATCH},
        {"b", "o", &table[19], SAS_R_RESOURCE_TYPE_MISMATCH},
        {"b", "c", &table[19], SAS_OK},
        {"b", "s", &table[19], SAS_R_RESOURCE_TYPE_MISMATCH},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sas_mint_t m;
        sas_error_t err;
        memset(&m, 0, sizeof(m));
        m.account = "acct";
        m.services = cases[i].ss;
        m.resource_types = cases[i].srt;
        m.permissions = "rl";
        m.expiry = "2026-02-01T00:00:00Z";
        sas_reason_t got = run(&m, cases[i].row, &err);
        if (got != cases[i].want)
            fail_msg("ss=%s srt=%s: %s", cases[i].ss, cases[i].srt, sas_reason_name(got));
        if (got == SAS_R_SERVICE_MISMATCH) {
            assert_string_equal(sas_reason_azure_code(got), "AuthorizationServiceMismatch");
            assert_non_null(strstr(err.message, "service b not granted by ss="));
        }
        if (got == SAS_R_RESOURCE_TYPE_MISMATCH)
            assert_string_equal(sas_reason_azure_code(got), "AuthorizationResourceTypeMismatch");
    }
}

static void method_names(void **state)
{
    assert_int_equal(sas_method_parse("GET", 3), SAS_METHOD_GET);
    assert_int_equal(sas_method_parse("HEAD", 4), SAS_METHOD_HEAD);
    assert_int_equal(sas_method_parse("PUT", 3), SAS_METHOD_PUT);
    assert_int_equal(sas_method_parse("DELETE", 6), SAS_METHOD_DELETE);
    assert_int_equal(sas_method_parse("get", 3), SAS_METHOD_OTHER);
    assert_int_equal(sas_method_parse("POST", 4), SAS_METHOD_POST);
    assert_int_equal(sas_method_parse("GETX", 3), SAS_METHOD_GET);
    assert_int_equal(sas_method_parse("GE", 2), SAS_METHOD_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(service_sas_rows),
        cmocka_unit_test(account_sas_rows),
        cmocka_unit_test(anything_else_denied),
        cmocka_unit_test(messages),
        cmocka_unit_test(account_services_and_resource_types),
        cmocka_unit_test(method_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
