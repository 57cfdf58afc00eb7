/*
 * Tests the permission algebra: which letters each resource type may carry,
 * refusal of unknown or repeated letters, the canonical order, and that mint
 * signs the letters in the order given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

static sas_perm_t set(const char *s)
{
    sas_perm_t p = 0;
    for (; *s; s++)
        p |= SAS_PERM(*s);
    return p;
}

static void valid_letters_per_type(void **state)
{
    assert_int_equal(sas_perm_valid(SAS_KIND_SERVICE, SAS_SR_CONTAINER), set("racwdxyltfmeopi"));
    assert_int_equal(sas_perm_valid(SAS_KIND_SERVICE, SAS_SR_BLOB), set("racwdxytmeopi"));
    assert_int_equal(sas_perm_valid(SAS_KIND_SERVICE, SAS_SR_SNAPSHOT), set("racwdxytmeopi"));
    assert_int_equal(sas_perm_valid(SAS_KIND_SERVICE, SAS_SR_VERSION), set("racwdxytmeopi"));
    assert_int_equal(sas_perm_valid(SAS_KIND_ACCOUNT, SAS_SR_NONE), set("rwdxylacuptfi"));
    assert_int_equal(sas_perm_valid(SAS_KIND_SERVICE, SAS_SR_NONE), 0);
}

static void parse_letters(void **state)
{
    sas_perm_t p;
    sas_error_t err;
    assert_int_equal(sas_perm_parse(SAS_KIND_SERVICE, SAS_SR_BLOB, "wr", 2, &p, &err), SAS_OK);
    assert_int_equal(p, set("rw"));
    assert_int_equal(sas_perm_parse(SAS_KIND_SERVICE, SAS_SR_BLOB, "", 0, &p, &err), SAS_OK);
    assert_int_equal(p, 0);
    assert_int_equal(sas_perm_parse(SAS_KIND_SERVICE, SAS_SR_BLOB, "rl", 2, &p, &err), SAS_R_INVALID_PERMISSIONS);
    assert_string_equal(err.message, "permission 'l' is not valid for sr=b");
    assert_int_equal(sas_perm_parse(SAS_KIND_SERVICE, SAS_SR_SNAPSHOT, "f", 1, &p, &err), SAS_R_INVALID_PERMISSIONS);
    assert_string_equal(err.message, "permission 'f' is not valid for sr=bs");
    assert_int_equal(sas_perm_parse(SAS_KIND_SERVICE, SAS_SR_CONTAINER, "rwr", 3, &p, &err), SAS_R_INVALID_PERMISSIONS);
    assert_string_equal(err.message, "permission r repeated in sp");
    assert_int_equal(sas_perm_parse(SAS_KIND_ACCOUNT, SAS_SR_NONE, "rwu", 3, &p, &err), SAS_OK);
    assert_int_equal(sas_perm_parse(SAS_KIND_ACCOUNT, SAS_SR_NONE, "e", 1, &p, &err), SAS_R_INVALID_PERMISSIONS);
    assert_int_equal(sas_perm_parse(SAS_KIND_SERVICE, SAS_SR_CONTAINER, "u", 1, &p, &err), SAS_R_INVALID_PERMISSIONS);
    assert_int_equal(sas_perm_parse(SAS_KIND_SERVICE, SAS_SR_CONTAINER, "R", 1, &p, &err), SAS_R_INVALID_PERMISSIONS);
    assert_int_equal(sas_perm_parse(SAS_KIND_SERVICE, SAS_SR_CONTAINER, "\xc3\xa9", 2, &p, &err), SAS_R_INVALID_PERMISSIONS);
    assert_string_equal(err.message, "permission '%C3' is not valid for sr=c");
}

/* sas_letters_check(): the one letter-set check (sp, ss, srt, the policy's grants). */
static void letter_sets(void **state)
{
    sas_perm_t out = 0;
    char bad = 'x';
    assert_int_equal(sas_letters(SAS_SS_LETTERS), set("bfqt"));
    assert_int_equal(sas_letters(SAS_SRT_LETTERS), set("sco"));
    assert_int_equal(sas_letters("r-w"), set("rw")); /* only a-z count */
    assert_int_equal(sas_letters_check(set("sco"), "os", 2, &out, &bad), SAS_LETTERS_OK);
    assert_int_equal(out, set("so"));
    assert_int_equal(bad, 'x'); /* untouched on success */
    assert_int_equal(sas_letters_check(set("sco"), "", 0, &out, &bad), SAS_LETTERS_EMPTY);
    assert_int_equal(bad, '\0');
    assert_int_equal(sas_letters_check(set("sco"), "sx", 2, NULL, &bad), SAS_LETTERS_UNKNOWN);
    assert_int_equal(bad, 'x');
    assert_int_equal(sas_letters_check(set("sco"), "sC", 2, NULL, &bad), SAS_LETTERS_UNKNOWN); /* upper case is not a letter here */
    assert_int_equal(bad, 'C');
    assert_int_equal(sas_letters_check(set("sco"), "s\0", 2, NULL, &bad), SAS_LETTERS_UNKNOWN); /* the length, not a NUL, ends it */
    assert_int_equal(bad, '\0');
    assert_int_equal(sas_letters_check(set("sco"), "sos", 3, NULL, &bad), SAS_LETTERS_REPEATED);
    assert_int_equal(bad, 's');
    /* the first offending byte decides */
    assert_int_equal(sas_letters_check(set("sco"), "ssx", 3, NULL, &bad), SAS_LETTERS_REPEATED);
    assert_int_equal(sas_letters_check(set("sco"), "sxs", 3, NULL, &bad), SAS_LETTERS_UNKNOWN);
    assert_int_equal(bad, 'x');
    /* an account SAS cannot carry the service-only letters m, e, o */
    for (const char *c = "meo"; *c != '\0'; c++)
        assert_int_equal(sas_letters_check(sas_perm_valid(SAS_KIND_ACCOUNT, SAS_SR_NONE), c, 1, NULL, NULL), SAS_LETTERS_UNKNOWN);
    assert_int_equal(sas_letters_check(sas_perm_valid(SAS_KIND_ACCOUNT, SAS_SR_NONE), SAS_PERM_ORDER_ACCOUNT,
                                       strlen(SAS_PERM_ORDER_ACCOUNT), &out, NULL),
                     SAS_LETTERS_OK);
    assert_int_equal(out, set(SAS_PERM_ORDER_ACCOUNT));
}

static void canonical_order(void **state)
{
    char out[32];
    assert_int_equal(sas_perm_format(SAS_KIND_SERVICE,
                                     set("iponmlkjihgfedcba"
                                         "xyz"
                                         "rstuvw"),
                                     out),
                     15);
    assert_string_equal(out, "racwdxyltfmeopi");
    sas_perm_format(SAS_KIND_SERVICE, set("wlr"), out);
    assert_string_equal(out, "rwl");
    sas_perm_format(SAS_KIND_ACCOUNT, set("cuplwr"), out);
    assert_string_equal(out, "rwlcup");
    assert_int_equal(sas_perm_format(SAS_KIND_SERVICE, 0, out), 0);
    assert_string_equal(out, "");
}

static void mint_signs_letters_as_given(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    char query[SAS_MAX_QUERY], sts[SAS_MAX_STS];
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.container = "c1";
    m.blob = "a.txt";
    m.expiry = "2026-02-01T00:00:00Z";
    m.permissions = "wdr";
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), sts, sizeof(sts), NULL, &err), SAS_OK);
    assert_non_null(strstr(query, "&sp=wdr&"));
    assert_memory_equal(sts, "wdr\n", 4);
    m.permissions = "rl";
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), sts, sizeof(sts), NULL, &err), SAS_R_INVALID_PERMISSIONS);
    m.permissions = "rwr";
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), sts, sizeof(sts), NULL, &err), SAS_R_INVALID_PERMISSIONS);
    m.blob = NULL;
    m.permissions = "lr";
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), sts, sizeof(sts), NULL, &err), SAS_OK);
    assert_non_null(strstr(query, "&sp=lr&"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_letters_per_type),
        cmocka_unit_test(parse_letters),
        cmocka_unit_test(letter_sets),
        cmocka_unit_test(canonical_order),
        cmocka_unit_test(mint_signs_letters_as_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
