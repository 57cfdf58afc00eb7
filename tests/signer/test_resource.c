/*
 * Tests step 2 and the resource half of step 4: a blob SAS covers its blob
 * only, a container SAS the blobs of its container only, snapshot and version
 * tokens their own snapshot or version, an account SAS its account.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

static void token(sas_mint_t *m, const char *container, const char *blob)
{
    memset(m, 0, sizeof(*m));
    m->account = "acct";
    m->container = container;
    m->blob = blob;
    m->permissions = blob != NULL ? "rwd" : "rwdl";
    m->expiry = "2026-02-01T00:00:00Z";
}

static sas_reason_t on(const sas_mint_t *m, const char *path, sas_method_t method, const char *extra, sas_error_t *err)
{
    req_t r;
    char query[SAS_MAX_QUERY];
    req_init(&r);
    r.path = path;
    r.method = method;
    return mint_verify(m, &r, extra, query, sizeof(query), err);
}

static void blob_sas_covers_its_blob_only(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    token(&m, "c1", "dir/a.txt");
    assert_int_equal(on(&m, "/acct/c1/dir/a.txt", SAS_METHOD_GET, NULL, &err), SAS_OK);
    assert_int_equal(on(&m, "/acct/c1/dir/b.txt", SAS_METHOD_GET, NULL, &err), SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c1/dir/a.txt.bak", SAS_METHOD_GET, NULL, &err), SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c1/dir%2Fa.txt", SAS_METHOD_GET, NULL, &err), SAS_R_BAD_PATH);
    assert_int_equal(on(&m, "/acct/c1/dir%252Fa.txt", SAS_METHOD_GET, NULL, &err), SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c2/dir/a.txt", SAS_METHOD_GET, NULL, &err), SAS_R_SIGNATURE_MISMATCH);
    /* the same name reached through '\' is the same blob, as Azure reads it */
    assert_int_equal(on(&m, "/acct/c1/dir\\a.txt", SAS_METHOD_GET, NULL, &err), SAS_OK);
    /* not the container */
    assert_int_equal(on(&m, "/acct/c1", SAS_METHOD_GET, "restype=container&comp=list", &err), SAS_R_RESOURCE_MISMATCH);
    assert_string_equal(err.message, "sr=b covers one blob; the path names a container");
    assert_int_equal(on(&m, "/acct", SAS_METHOD_GET, NULL, &err), SAS_R_RESOURCE_MISMATCH);
    /* its snapshots and versions are still that blob */
    assert_int_equal(on(&m, "/acct/c1/dir/a.txt", SAS_METHOD_GET, "snapshot=2026-01-01T00%3A00%3A00.0000000Z", &err), SAS_OK);
}

static void container_sas_covers_its_container(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    token(&m, "c1", NULL);
    assert_int_equal(on(&m, "/acct/c1/any/blob.bin", SAS_METHOD_GET, NULL, &err), SAS_OK);
    assert_int_equal(on(&m, "/acct/c1/other", SAS_METHOD_DELETE, NULL, &err), SAS_OK);
    assert_int_equal(on(&m, "/acct/c1", SAS_METHOD_GET, "restype=container&comp=list", &err), SAS_OK);
    assert_int_equal(on(&m, "/acct/c2/any/blob.bin", SAS_METHOD_GET, NULL, &err), SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c10/any/blob.bin", SAS_METHOD_GET, NULL, &err), SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c2", SAS_METHOD_GET, "restype=container&comp=list", &err), SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct2/c1/any", SAS_METHOD_GET, NULL, &err), SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c1/../c2/x", SAS_METHOD_GET, NULL, &err), SAS_R_BAD_PATH);
}

static void snapshot_sas(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    token(&m, "c1", "a.txt");
    m.snapshot = "2026-03-04T05:06:07.1234567Z";
    assert_int_equal(on(&m, "/acct/c1/a.txt", SAS_METHOD_GET, "snapshot=2026-03-04T05%3A06%3A07.1234567Z", &err), SAS_OK);
    /* another snapshot of the same blob, or the base blob */
    assert_int_equal(on(&m, "/acct/c1/a.txt", SAS_METHOD_GET, "snapshot=2026-03-04T05%3A06%3A07.1234568Z", &err),
                     SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c1/a.txt", SAS_METHOD_GET, NULL, &err), SAS_R_RESOURCE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c1/a.txt", SAS_METHOD_GET, "versionid=2026-03-04T05%3A06%3A07.1234567Z", &err),
                     SAS_R_RESOURCE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c1/b.txt", SAS_METHOD_GET, "snapshot=2026-03-04T05%3A06%3A07.1234567Z", &err),
                     SAS_R_SIGNATURE_MISMATCH);
}

static void version_sas(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    token(&m, "c1", "a.txt");
    m.version_id = "2026-03-04T05:06:07.0000001Z";
    assert_int_equal(on(&m, "/acct/c1/a.txt", SAS_METHOD_GET, "versionid=2026-03-04T05%3A06%3A07.0000001Z", &err), SAS_OK);
    assert_int_equal(on(&m, "/acct/c1/a.txt", SAS_METHOD_GET, "versionid=2026-03-04T05%3A06%3A07.0000002Z", &err),
                     SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(on(&m, "/acct/c1/a.txt", SAS_METHOD_GET, NULL, &err), SAS_R_RESOURCE_MISMATCH);
    assert_string_equal(err.message, "sr=bv covers one blob version; the request needs a blob path and versionid=");
}

static void account_sas_covers_its_account(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.services = "b";
    m.resource_types = "co";
    m.permissions = "rl";
    m.expiry = "2026-02-01T00:00:00Z";
    assert_int_equal(on(&m, "/acct/c1/a.txt", SAS_METHOD_GET, NULL, &err), SAS_OK);
    assert_int_equal(on(&m, "/acct/c9/x/y/z", SAS_METHOD_GET, NULL, &err), SAS_OK);
    assert_int_equal(on(&m, "/acct/c1", SAS_METHOD_GET, "restype=container&comp=list", &err), SAS_OK);
    assert_int_equal(on(&m, "/other/c1/a.txt", SAS_METHOD_GET, NULL, &err), SAS_R_SIGNATURE_MISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blob_sas_covers_its_blob_only),
        cmocka_unit_test(container_sas_covers_its_container),
        cmocka_unit_test(snapshot_sas),
        cmocka_unit_test(version_sas),
        cmocka_unit_test(account_sas_covers_its_account),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
