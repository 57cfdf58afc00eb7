/*
 * Tests sas_resource_from_path() and sas_resource_init(): splitting, single
 * decoding, and the traps (encoded slashes, dot segments, NUL, bad UTF-8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

static sas_reason_t split(const char *path, sas_resource_t *res, sas_error_t *err)
{
    return sas_resource_from_path(res, path, strlen(path), NULL, err);
}

static void refused(const char *path, const char *message)
{
    sas_resource_t res;
    sas_error_t err;
    sas_reason_t r = split(path, &res, &err);
    if (r != SAS_R_BAD_PATH)
        fail_msg("%s: %s", path, sas_reason_name(r));
    if (message != NULL)
        assert_string_equal(err.message, message);
}

static void splits_and_decodes(void **state)
{
    sas_resource_t res;
    sas_error_t err;
    assert_int_equal(split("/acct/photos/dir/cat%20picture.jpg", &res, &err), SAS_OK);
    assert_string_equal(res.account.base, "acct");
    assert_string_equal(res.container.base, "photos");
    assert_string_equal(res.blob.base, "dir/cat picture.jpg");
    assert_int_equal(res.blob.len, 19);
    assert_null(res.snapshot.base);
    /* '+' is literal in a path; '#', '&', '?' and '%' may be in a name once encoded */
    assert_int_equal(split("/acct/c1/weird+name%26x%3D1%3F%23%25.txt", &res, &err), SAS_OK);
    assert_string_equal(res.blob.base, "weird+name&x=1?#%.txt");
    assert_int_equal(split("/acct/c1/%E4%B8%AD%E6%96%87/%E6%96%87%E4%BB%B6.txt", &res, &err), SAS_OK);
    assert_string_equal(res.blob.base, "中文/文件.txt");
    /* account or container only */
    assert_int_equal(split("/acct/c1", &res, &err), SAS_OK);
    assert_null(res.blob.base);
    assert_int_equal(split("/acct", &res, &err), SAS_OK);
    assert_null(res.container.base);
    assert_int_equal(split("/acct/$root/x", &res, &err), SAS_OK);
}

static void decodes_once(void **state)
{
    sas_resource_t res;
    sas_error_t err;
    assert_int_equal(split("/acct/c1/a%252Fb", &res, &err), SAS_OK);
    assert_string_equal(res.blob.base, "a%2Fb");
    assert_int_equal(split("/acct/c1/%252E%252E", &res, &err), SAS_OK);
    assert_string_equal(res.blob.base, "%2E%2E");
}

static void encoded_slashes(void **state)
{
    refused("/acct/c1/a%2Fb", "encoded '/' or '\\' in path");
    refused("/acct/c1/a%2fb", NULL);
    refused("/acct/c1/a%5Cb", NULL);
    refused("/acct/c1/a%5cb", NULL);
    refused("/acct/c1%2Fother/b", NULL);
    refused("/acct%2Fx/c1/b", NULL);
}

static void dot_segments(void **state)
{
    refused("/acct/c1/../c2/b", "'.' or '..' segment in path");
    refused("/acct/c1/a/../b", NULL);
    refused("/acct/c1/a/./b", NULL);
    refused("/acct/c1/a/..", NULL);
    refused("/acct/c1/.", NULL);
    refused("/acct/c1/a/%2E%2E/b", NULL);
    refused("/acct/c1/a/%2e./b", NULL);
    refused("/acct/c1/a/.%2E", NULL);
    refused("/acct/../c1/b", NULL);
    refused("/acct/./c1/b", NULL);
    refused("/acct/c1/a\\..\\b", NULL); /* '\' is read as '/' */
    /* dots inside a name are fine */
    sas_resource_t res;
    sas_error_t err;
    assert_int_equal(split("/acct/c1/a/..b/.c/d..", &res, &err), SAS_OK);
    assert_string_equal(res.blob.base, "a/..b/.c/d..");
}

static void backslash_reads_as_slash(void **state)
{
    sas_resource_t res;
    sas_error_t err;
    assert_int_equal(split("/acct/c1/dir\\file.txt", &res, &err), SAS_OK);
    assert_string_equal(res.blob.base, "dir/file.txt");
    assert_int_equal(sas_resource_init(&res, "acct", "c1", "a\\b\\c", NULL, NULL, &err), SAS_OK);
    assert_string_equal(res.blob.base, "a/b/c");
    assert_int_equal(sas_resource_init(&res, "acct", "c1", "a\\..\\c", NULL, NULL, &err), SAS_R_BAD_PATH);
}

static void control_and_utf8(void **state)
{
    refused("/acct/c1/a%00b", "control character or NUL in path");
    refused("/acct/c1/a%0Ab", NULL);
    refused("/acct/c1/a%0db", NULL);
    refused("/acct/c1/a%7Fb", NULL);
    refused("/acct/c1/a%C3%28", "blob name is not valid UTF-8");
    refused("/acct/c1/%C0%AF", NULL);
    refused("/acct/c1/%ED%A0%80", NULL);
    refused("/acct/c1/%FF", NULL);
    refused("/acct/c1/%E4%B8", NULL);
    refused("/acct/c1/a%zz", "bad percent-encoding in path");
    refused("/acct/c1/a%2", NULL);
    refused("/acct/c1/a%", NULL);
}

static void empty_segments_and_names(void **state)
{
    refused("", "path does not start with '/'");
    refused("acct/c1/b", NULL);
    refused("/", "empty path segment");
    refused("//c1/b", NULL);
    refused("/acct//b", NULL);
    refused("/acct/c1/a//b", NULL);
    refused("/acct/c1/b/", NULL);
    refused("/acct//", NULL);
    refused("/acct//c1", NULL);
    refused("/Acct/c1/b", "invalid account name");
    refused("/ac-ct/c1/b", NULL);
    refused("/acct/C1/b", "invalid container name");
    refused("/acct/c_1/b", NULL);
    refused("/acct/c.1/b", NULL);
    refused("/acct/c$/b", NULL);
    refused("/0123456789012345678901234567890123456789012345678901234567890123/c1/b", NULL);
}

/* The account alone, with or without a trailing '/', addresses the account (List Containers and the service operations). */
static void account_level(void **state)
{
    static const char *const paths[] = {"/acct", "/acct/"};
    for (size_t i = 0; i < 2; i++) {
        sas_resource_t res;
        sas_error_t err;
        assert_int_equal(split(paths[i], &res, &err), SAS_OK);
        assert_string_equal(res.account.base, "acct");
        assert_int_equal(res.account.len, 4);
        assert_null(res.container.base);
        assert_null(res.blob.base);
    }
    refused("/Acct/", "invalid account name");
}

static void length_bound(void **state)
{
    static char path[SAS_MAX_PATH + 16];
    sas_resource_t res;
    sas_error_t err;
    int n = snprintf(path, sizeof(path), "/acct/c1/");
    memset(path + n, 'a', SAS_MAX_PATH - (size_t)n);
    path[SAS_MAX_PATH] = '\0';
    assert_int_equal(split(path, &res, &err), SAS_OK);
    assert_int_equal(res.blob.len, SAS_MAX_PATH - (size_t)n);
    path[SAS_MAX_PATH] = 'a';
    path[SAS_MAX_PATH + 1] = '\0';
    refused(path, "path too long");
}

static void snapshot_and_version_from_query(void **state)
{
    sas_token_t tok;
    sas_resource_t res;
    sas_error_t err;
    const char *q = "sv=2026-10-06&sr=bs&sp=r&se=2026-02-20&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"
                    "&snapshot=2026-03-04T05%3A06%3A07.1234567Z&versionid=2026-03-04T05%3A06%3A07.0000000Z";
    assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
    assert_int_equal(sas_resource_from_path(&res, "/acct/c1/b", 10, &tok, &err), SAS_OK);
    assert_string_equal(res.snapshot.base, "2026-03-04T05:06:07.1234567Z");
    assert_string_equal(res.version_id.base, "2026-03-04T05:06:07.0000000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_and_decodes),
        cmocka_unit_test(decodes_once),
        cmocka_unit_test(encoded_slashes),
        cmocka_unit_test(dot_segments),
        cmocka_unit_test(backslash_reads_as_slash),
        cmocka_unit_test(control_and_utf8),
        cmocka_unit_test(empty_segments_and_names),
        cmocka_unit_test(account_level),
        cmocka_unit_test(length_bound),
        cmocka_unit_test(snapshot_and_version_from_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
