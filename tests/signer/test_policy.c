/*
 * Tests step 5: a stored access policy named by si supplies what the token
 * leaves out and limits what it sets; an unknown si is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

static sas_reason_t with_policy(const char *sp, const char *st, const char *se, const sas_policy_t *policy, sas_method_t method,
                                sas_time_t now, sas_error_t *err, sas_grant_t *grant)
{
    sas_mint_t m;
    req_t r;
    char query[SAS_MAX_QUERY];
    sas_error_t merr;
    static const sas_key_t *keys[1];
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.container = "c1";
    m.identifier = "readers";
    m.permissions = sp;
    m.start = st;
    m.expiry = se;
    req_init(&r);
    r.path = "/acct/c1/a.txt";
    r.method = method;
    r.now = now;
    r.start_skew = 0;
    r.policy = policy;
    keys[0] = test_key();
    r.keys = keys;
    r.nkeys = 1;
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), NULL, 0, NULL, &merr), SAS_OK);
    r.query = query;
    return req_verify(&r, err, grant);
}

static void policy_supplies(void **state)
{
    sas_policy_t p = {T("2026-01-01T00:00:00Z"), T("2026-01-02T00:00:00Z"), SAS_PERM('r') | SAS_PERM('w')};
    sas_error_t err;
    sas_grant_t g;
    assert_int_equal(with_policy(NULL, NULL, NULL, &p, SAS_METHOD_GET, T("2026-01-01T12:00:00Z"), &err, &g), SAS_OK);
    assert_int_equal(g.perms, p.permissions);
    assert_int_equal(g.start, p.start);
    assert_int_equal(g.expiry, p.expiry);
    assert_int_equal(with_policy(NULL, NULL, NULL, &p, SAS_METHOD_PUT, T("2026-01-01T12:00:00Z"), &err, &g), SAS_OK);
    assert_int_equal(with_policy(NULL, NULL, NULL, &p, SAS_METHOD_DELETE, T("2026-01-01T12:00:00Z"), &err, &g),
                     SAS_R_PERMISSION_MISMATCH);
    assert_string_equal(err.message, "permission d not granted by sp=rw (with stored access policy readers)");
    /* the policy's window */
    assert_int_equal(with_policy(NULL, NULL, NULL, &p, SAS_METHOD_GET, T("2026-01-02T00:00:00Z"), &err, &g), SAS_R_EXPIRED);
    assert_string_equal(err.message, "expired at 2026-01-02T00:00:00Z");
    assert_int_equal(with_policy(NULL, NULL, NULL, &p, SAS_METHOD_GET, T("2025-12-31T23:59:59Z"), &err, &g), SAS_R_NOT_YET_VALID);
}

static void policy_limits(void **state)
{
    sas_policy_t p = {T("2026-01-01T06:00:00Z"), T("2026-01-01T18:00:00Z"), SAS_PERM('r')};
    sas_error_t err;
    sas_grant_t g;
    /* the token asks for more than the policy allows: the intersection and the narrower window win */
    assert_int_equal(
        with_policy("rw", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", &p, SAS_METHOD_GET, T("2026-01-01T12:00:00Z"), &err, &g),
        SAS_OK);
    assert_int_equal(g.perms, SAS_PERM('r'));
    assert_int_equal(g.start, p.start);
    assert_int_equal(g.expiry, p.expiry);
    assert_int_equal(with_policy("rw", NULL, "2026-01-02T00:00:00Z", &p, SAS_METHOD_PUT, T("2026-01-01T12:00:00Z"), &err, &g),
                     SAS_R_PERMISSION_MISMATCH);
    assert_int_equal(with_policy("rw", NULL, "2026-01-02T00:00:00Z", &p, SAS_METHOD_GET, T("2026-01-01T19:00:00Z"), &err, &g),
                     SAS_R_EXPIRED);
    assert_int_equal(with_policy("rw", NULL, "2026-01-02T00:00:00Z", &p, SAS_METHOD_GET, T("2026-01-01T05:00:00Z"), &err, &g),
                     SAS_R_NOT_YET_VALID);
    /* the token narrower than the policy keeps its own bounds */
    assert_int_equal(with_policy("r", NULL, "2026-01-01T10:00:00Z", &p, SAS_METHOD_GET, T("2026-01-01T11:00:00Z"), &err, &g),
                     SAS_R_EXPIRED);
    /* a policy without permissions leaves sp as it is */
    sas_policy_t q = {SAS_TIME_NONE, T("2026-01-02T00:00:00Z"), 0};
    assert_int_equal(with_policy("w", NULL, NULL, &q, SAS_METHOD_PUT, T("2026-01-01T12:00:00Z"), &err, &g), SAS_OK);
    assert_int_equal(g.perms, SAS_PERM('w'));
    assert_int_equal(g.start, SAS_TIME_NONE);
}

static void policy_missing_or_empty(void **state)
{
    sas_error_t err;
    sas_grant_t g;
    sas_policy_t no_expiry = {SAS_TIME_NONE, SAS_TIME_NONE, SAS_PERM('r')};
    sas_policy_t no_perms = {SAS_TIME_NONE, T("2026-01-02T00:00:00Z"), 0};
    assert_int_equal(with_policy("r", NULL, "2026-01-02T00:00:00Z", NULL, SAS_METHOD_GET, T("2026-01-01T12:00:00Z"), &err, &g),
                     SAS_R_POLICY_NOT_FOUND);
    assert_string_equal(err.message, "stored access policy readers not found");
    assert_int_equal(with_policy(NULL, NULL, NULL, &no_expiry, SAS_METHOD_GET, T("2026-01-01T12:00:00Z"), &err, &g),
                     SAS_R_MISSING_EXPIRY);
    assert_int_equal(with_policy(NULL, NULL, NULL, &no_perms, SAS_METHOD_GET, T("2026-01-01T12:00:00Z"), &err, &g),
                     SAS_R_NO_PERMISSIONS);
}

static void no_si_needs_sp(void **state)
{
    sas_token_t tok;
    sas_error_t err;
    sas_grant_t g;
    const char *q = "sv=2026-10-06&se=2026-02-20&sr=b&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";
    assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
    assert_int_equal(sas_check_times(&tok, T("2026-01-01"), 0, 0, &g, &err), SAS_OK);
    assert_int_equal(sas_apply_policy(&tok, NULL, T("2026-01-01"), 0, 0, &g, &err), SAS_R_NO_PERMISSIONS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_supplies),
        cmocka_unit_test(policy_limits),
        cmocka_unit_test(policy_missing_or_empty),
        cmocka_unit_test(no_si_needs_sp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
