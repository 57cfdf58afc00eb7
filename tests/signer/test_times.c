/*
 * Tests st/se: the time forms Azure accepts, the window's boundaries with
 * and without skew, fractional seconds, and that a time is signed as given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

static sas_time_t parse(const char *s)
{
    sas_time_t t = 0;
    if (sas_time_parse(s, strlen(s), &t) != 0)
        fail_msg("rejected %s", s);
    return t;
}

static void accepted_forms(void **state)
{
    const sas_time_t base = (sas_time_t)1795514400 * SAS_TIME_SECOND; /* 2026-11-24T10:00:00Z */
    assert_int_equal(parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse("2026-11-24T10:00:00Z"), base);
    assert_int_equal(parse("2026-11-24T10:00Z"), base);
    assert_int_equal(parse("2026-11-24"), base - 10 * 3600 * SAS_TIME_SECOND);
    assert_int_equal(parse("2026-11-24T10:00:00.5Z"), base + 500000);
    assert_int_equal(parse("2026-11-24T10:00:00.000Z"), base);
    assert_int_equal(parse("2026-11-24T10:00:00.1234567Z"), base + 123456);
    assert_int_equal(parse("2026-11-24T11:30:00+01:30"), base);
    assert_int_equal(parse("2026-11-24T08:00-02:00"), base);
    assert_int_equal(parse("2024-02-29T23:59:59Z"), (sas_time_t)1709251199 * SAS_TIME_SECOND);
    assert_int_equal(parse("9999-12-31T23:59:59Z"), (sas_time_t)253402300799 * SAS_TIME_SECOND);
}

static void rejected_forms(void **state)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11",
        "2026-1-24",
        "2026-13-01",
        "2026-00-01",
        "2026-02-29",
        "2026-04-31",
        "2026-11-24T",
        "2026-11-24T10Z",
        "2026-11-24T10:00",
        "2026-11-24T10:00:00",
        "2026-11-24T24:00:00Z",
        "2026-11-24T10:60:00Z",
        "2026-11-24T10:00:60Z",
        "2026-11-24T10:00:00.Z",
        "2026-11-24T10:00:00.12345678Z",
        "2026-11-24T10:00:00,5Z",
        "2026-11-24T10:00:00z",
        "2026-11-24 10:00:00Z",
        "2026-11-24T10:00:00Z ",
        "2026-11-24T10:00:00ZZ",
        "2026-11-24T10:00:00+1:00",
        "2026-11-24T10:00:00+24:00",
        "2026-11-24Z",
        "+2026-11-24",
        "２026-11-24",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sas_time_t t;
        if (sas_time_parse(bad[i], strlen(bad[i]), &t) == 0)
            fail_msg("accepted '%s'", bad[i]);
    }
}

static void format_roundtrip(void **state)
{
    char text[SAS_TIME_TEXT_MAX];
    const char *samples[] = {"1970-01-01T00:00:00Z", "2026-11-24T10:00:00Z", "2024-02-29T23:59:59Z", "2000-03-01T00:00:01Z"};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        assert_int_equal(sas_time_format(parse(samples[i]), text), 20);
        assert_string_equal(text, samples[i]);
    }
    sas_time_format(parse("2026-11-24T10:00:00.9Z"), text);
    assert_string_equal(text, "2026-11-24T10:00:00Z");
}

static void window_token(sas_mint_t *m, const char *st, const char *se)
{
    memset(m, 0, sizeof(*m));
    m->account = "acct";
    m->container = "c1";
    m->blob = "f.txt";
    m->permissions = "r";
    m->start = st;
    m->expiry = se;
}

static sas_reason_t at(const sas_mint_t *m, sas_time_t now, sas_time_t start_skew, sas_error_t *err)
{
    req_t r;
    char query[SAS_MAX_QUERY];
    req_init(&r);
    r.path = "/acct/c1/f.txt";
    r.now = now;
    r.start_skew = start_skew;
    return mint_verify(m, &r, NULL, query, sizeof(query), err);
}

static void expiry_boundary(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    sas_time_t se = T("2026-11-24T10:00:00Z");
    window_token(&m, NULL, "2026-11-24T10:00:00Z");
    assert_int_equal(at(&m, se - 1, SAS_TIME_NONE, &err), SAS_OK);
    assert_int_equal(at(&m, se, SAS_TIME_NONE, &err), SAS_R_EXPIRED);
    assert_string_equal(err.message, "expired at 2026-11-24T10:00:00Z");
    assert_string_equal(sas_reason_azure_code(err.reason), "AuthenticationFailed");
    assert_int_equal(at(&m, se + 3600 * SAS_TIME_SECOND, SAS_TIME_NONE, &err), SAS_R_EXPIRED);
}

static void expiry_skew(void **state)
{
    sas_token_t tok;
    sas_error_t err;
    sas_grant_t g;
    const char *q = "sv=2026-10-06&se=2026-11-24T10%3A00%3A00Z&sr=b&sp=r&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";
    sas_time_t se = T("2026-11-24T10:00:00Z");
    assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
    assert_int_equal(sas_check_times(&tok, se + 29 * SAS_TIME_SECOND, 0, 30 * SAS_TIME_SECOND, &g, &err), SAS_OK);
    assert_int_equal(g.expiry, se);
    assert_int_equal(sas_check_times(&tok, se + 30 * SAS_TIME_SECOND, 0, 30 * SAS_TIME_SECOND, &g, &err), SAS_R_EXPIRED);
}

static void start_boundary_and_skew(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    sas_time_t st = T("2026-11-24T09:00:00Z"), five_min = 300 * SAS_TIME_SECOND;
    window_token(&m, "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z");
    /* default skew: 5 minutes */
    assert_int_equal(at(&m, st - five_min, SAS_TIME_NONE, &err), SAS_OK);
    assert_int_equal(at(&m, st - five_min - 1, SAS_TIME_NONE, &err), SAS_R_NOT_YET_VALID);
    assert_string_equal(err.message, "not valid before 2026-11-24T09:00:00Z");
    /* no skew */
    assert_int_equal(at(&m, st, 0, &err), SAS_OK);
    assert_int_equal(at(&m, st - 1, 0, &err), SAS_R_NOT_YET_VALID);
    /* a wide skew */
    assert_int_equal(at(&m, st - 3600 * SAS_TIME_SECOND, 3600 * SAS_TIME_SECOND, &err), SAS_OK);
}

static void fractional_bounds(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    /* an expiry at .5 s: the window ends at .5 */
    window_token(&m, NULL, "2026-11-24T10:00:00.5Z");
    assert_int_equal(at(&m, T("2026-11-24T10:00:00Z") + 499999, 0, &err), SAS_OK);
    assert_int_equal(at(&m, T("2026-11-24T10:00:00Z") + 500000, 0, &err), SAS_R_EXPIRED);
    assert_string_equal(err.message, "expired at 2026-11-24T10:00:00.5Z");
    /* a start 100 ns after a second is rounded up, never down */
    window_token(&m, "2026-11-24T09:00:00.0000001Z", "2026-11-24T10:00:00Z");
    assert_int_equal(at(&m, T("2026-11-24T09:00:00Z"), 0, &err), SAS_R_NOT_YET_VALID);
    assert_int_equal(at(&m, T("2026-11-24T09:00:00Z") + 1, 0, &err), SAS_OK);
}

static void signed_as_given(void **state)
{
    static const char *const forms[] = {"2026-11-25", "2026-11-25T10:00Z", "2026-11-25T10:00:00.1234567Z",
                                        "2026-11-25T12:00:00+02:00"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        sas_mint_t m;
        sas_error_t err;
        char query[SAS_MAX_QUERY], sts[SAS_MAX_STS], want[64];
        window_token(&m, NULL, forms[i]);
        assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), sts, sizeof(sts), NULL, &err), SAS_OK);
        snprintf(want, sizeof(want), "r\n\n%s\n", forms[i]);
        assert_memory_equal(sts, want, strlen(want));
        assert_int_equal(at(&m, T("2026-11-24T10:00:00Z"), SAS_TIME_NONE, &err), SAS_OK);
    }
}

static void bad_times_refused(void **state)
{
    sas_token_t tok;
    sas_error_t err;
    sas_grant_t g;
    const char *q[] = {
        "sv=2026-10-06&se=2026-02-30&sr=b&sp=r&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D",
        "sv=2026-10-06&st=yesterday&se=2026-02-20&sr=b&sp=r&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D",
    };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(sas_token_parse(&tok, q[i], strlen(q[i]), &err), SAS_OK);
        assert_int_equal(sas_check_times(&tok, 0, 0, 0, &g, &err), SAS_R_BAD_TIME);
    }
    /* no se and no si */
    const char *nose = "sv=2026-10-06&sr=b&sp=r&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";
    assert_int_equal(sas_token_parse(&tok, nose, strlen(nose), &err), SAS_OK);
    assert_int_equal(sas_check_times(&tok, 0, 0, 0, &g, &err), SAS_R_MISSING_EXPIRY);
    /* with si, the policy may supply it later */
    const char *si = "sv=2026-10-06&si=p&sr=b&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";
    assert_int_equal(sas_token_parse(&tok, si, strlen(si), &err), SAS_OK);
    assert_int_equal(sas_check_times(&tok, 0, 0, 0, &g, &err), SAS_OK);
    assert_int_equal(g.expiry, SAS_TIME_NONE);
}

static void extreme_skews(void **state)
{
    sas_token_t tok;
    sas_error_t err;
    sas_grant_t g;
    const char *q = "sv=2026-10-06&st=9999-12-31&se=0001-01-01&sr=b&sp=r&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";
    assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
    /* no overflow: a skew at the limits saturates */
    assert_int_equal(sas_check_times(&tok, T("2026-01-01"), INT64_MAX, INT64_MAX, &g, &err), SAS_OK);
    assert_int_equal(sas_check_times(&tok, T("2026-01-01"), INT64_MAX, 0, &g, &err), SAS_R_EXPIRED);
    assert_string_equal(err.message, "expired at 0001-01-01");
    assert_int_equal(sas_check_times(&tok, T("2026-01-01"), INT64_MIN + 1, INT64_MIN + 1, &g, &err), SAS_R_NOT_YET_VALID);
}

static void versions(void **state)
{
    sas_token_t tok;
    sas_error_t err;
    sas_grant_t g;
    char q[256];
    const struct {
        const char *sv, *extra;
        sas_reason_t want;
    } cases[] = {
        {"2018-11-09", "", SAS_OK},
        {"2019-07-07", "", SAS_OK},
        {"2026-10-06", "", SAS_OK},
        {"2018-03-28", "", SAS_R_UNSUPPORTED_VERSION},
        {"2026-10-07", "", SAS_R_UNSUPPORTED_VERSION},
        {"2026-13-01", "", SAS_R_UNSUPPORTED_VERSION},
        {"2020-12-6", "", SAS_R_UNSUPPORTED_VERSION},
        {"latest", "", SAS_R_UNSUPPORTED_VERSION},
        {"2020-10-02", "&ses=scope", SAS_R_INVALID_PARAM},
        {"2020-12-06", "&ses=scope", SAS_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(q, sizeof(q), "sv=%s&se=2026-02-20&sr=b&sp=r%s&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%%3D", cases[i].sv,
                 cases[i].extra);
        assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
        sas_reason_t r = sas_check_times(&tok, 0, 0, 0, &g, &err);
        if (r != cases[i].want)
            fail_msg("sv=%s%s: %s (%s)", cases[i].sv, cases[i].extra, sas_reason_name(r), err.message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_forms),    cmocka_unit_test(rejected_forms),  cmocka_unit_test(format_roundtrip),
        cmocka_unit_test(expiry_boundary),   cmocka_unit_test(expiry_skew),     cmocka_unit_test(start_boundary_and_skew),
        cmocka_unit_test(fractional_bounds), cmocka_unit_test(signed_as_given), cmocka_unit_test(bad_times_refused),
        cmocka_unit_test(extreme_skews),     cmocka_unit_test(versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
