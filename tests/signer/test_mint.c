/*
 * Tests sas_mint(): what it refuses, the query order and encoding, sr for
 * each resource, account SAS layout, and small buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

static void blob(sas_mint_t *m)
{
    memset(m, 0, sizeof(*m));
    m->account = "acct";
    m->container = "c1";
    m->blob = "a b.txt";
    m->permissions = "r";
    m->expiry = "2026-02-01T00:00:00Z";
}

static sas_reason_t mint(const sas_mint_t *m, char *query, size_t cap, char *sts, sas_error_t *err)
{
    return sas_mint(m, test_key(), query, cap, sts, sts != NULL ? SAS_MAX_STS : 0, NULL, err);
}

static void refusals(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    char q[SAS_MAX_QUERY];
    sas_key_t unready = {0};

    blob(&m);
    assert_int_equal(sas_mint(&m, &unready, q, sizeof(q), NULL, 0, NULL, &err), SAS_R_NO_KEY);
    blob(&m), m.account = NULL;
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    assert_string_equal(err.message, "an account name is required");
    blob(&m), m.container = NULL;
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    blob(&m), m.blob = NULL, m.snapshot = "2026-01-01T00:00:00.0000000Z";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    assert_string_equal(err.message, "a snapshot or version needs a blob");
    blob(&m), m.snapshot = "x", m.version_id = "y";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    blob(&m), m.permissions = NULL;
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    assert_string_equal(err.message, "permissions and expiry are required without an identifier");
    blob(&m), m.expiry = NULL;
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    blob(&m), m.expiry = NULL, m.permissions = NULL, m.identifier = "policy1";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_OK);
    blob(&m), m.expiry = "tomorrow";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_BAD_TIME);
    blob(&m), m.start = "2026-02-30";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_BAD_TIME);
    blob(&m), m.ip = "10.0.0.300";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_PARAM);
    blob(&m), m.protocol = "http";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_PARAM);
    blob(&m), m.version = "2017-11-09";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_UNSUPPORTED_VERSION);
    blob(&m), m.version = "2019-12-12", m.encryption_scope = "s";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_PARAM);
    blob(&m), m.blob = "a/../b";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    assert_string_equal(err.message, "'.' or '..' segment in path");
    blob(&m), m.content_type = "text/plain\nx";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    blob(&m), m.container = "Upper";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    /* account SAS */
    blob(&m), m.services = "b", m.resource_types = "o";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    blob(&m), m.container = NULL, m.blob = NULL, m.services = "b";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    blob(&m), m.container = NULL, m.blob = NULL, m.services = "b", m.resource_types = "o", m.identifier = "x";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    blob(&m), m.container = NULL, m.blob = NULL, m.services = "b", m.resource_types = "o", m.content_type = "x";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_ARGUMENT);
    blob(&m), m.container = NULL, m.blob = NULL, m.services = "bz", m.resource_types = "o";
    assert_int_equal(mint(&m, q, sizeof(q), NULL, &err), SAS_R_INVALID_PARAM);
}

static void resource_types(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    char q[SAS_MAX_QUERY], sts[SAS_MAX_STS];
    blob(&m);
    assert_int_equal(mint(&m, q, sizeof(q), sts, &err), SAS_OK);
    assert_non_null(strstr(q, "&sr=b&"));
    assert_non_null(strstr(sts, "\n/blob/acct/c1/a b.txt\n"));
    m.snapshot = "2026-03-04T05:06:07.1234567Z";
    assert_int_equal(mint(&m, q, sizeof(q), sts, &err), SAS_OK);
    assert_non_null(strstr(q, "&sr=bs&"));
    assert_null(strstr(q, "snapshot"));
    assert_non_null(strstr(sts, "\nbs\n2026-03-04T05:06:07.1234567Z\n"));
    m.snapshot = NULL;
    m.version_id = "2026-03-04T05:06:07.0000001Z";
    assert_int_equal(mint(&m, q, sizeof(q), sts, &err), SAS_OK);
    assert_non_null(strstr(q, "&sr=bv&"));
    assert_non_null(strstr(sts, "\nbv\n2026-03-04T05:06:07.0000001Z\n"));
    m.version_id = NULL;
    m.blob = NULL;
    m.permissions = "l";
    assert_int_equal(mint(&m, q, sizeof(q), sts, &err), SAS_OK);
    assert_non_null(strstr(q, "&sr=c&"));
    assert_non_null(strstr(sts, "\n/blob/acct/c1\n"));
}

static void query_order_and_encoding(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    char q[SAS_MAX_QUERY], sts[SAS_MAX_STS];
    blob(&m);
    m.start = "2026-01-01T00:00:00Z";
    m.ip = "10.0.0.1-10.0.0.9";
    m.protocol = "https,http";
    m.identifier = "p 1";
    m.encryption_scope = "scope";
    m.cache_control = "max-age=60";
    m.content_disposition = "attachment; filename=\"x y.bin\"";
    m.content_encoding = "gzip";
    m.content_language = "en-US";
    m.content_type = "text/plain; charset=utf-8";
    assert_int_equal(mint(&m, q, sizeof(q), sts, &err), SAS_OK);
    const char *want =
        "sv=2026-10-06&spr=https%2Chttp&st=2026-01-01T00%3A00%3A00Z&se=2026-02-01T00%3A00%3A00Z&sip=10.0.0.1-10.0.0.9"
        "&si=p%201&ses=scope&sr=b&sp=r&rscc=max-age%3D60&rscd=attachment%3B%20filename%3D%22x%20y.bin%22&rsce=gzip"
        "&rscl=en-US&rsct=text%2Fplain%3B%20charset%3Dutf-8&sig=";
    assert_memory_equal(q, want, strlen(want));
    /* sig last, percent-encoded (its '=' padding at least) */
    assert_null(strchr(q + strlen(want), '&'));
    assert_non_null(strstr(q + strlen(want), "%3D"));
    sas_token_t tok;
    assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
    assert_string_equal(tok.f[SAS_F_RSCD].base, m.content_disposition);
    assert_string_equal(tok.f[SAS_F_SI].base, "p 1");
}

static void account_layout(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    char q[SAS_MAX_QUERY], sts[SAS_MAX_STS];
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.services = "bf";
    m.resource_types = "sco";
    m.permissions = "rl";
    m.start = "2026-01-01";
    m.expiry = "2026-02-01";
    m.ip = "10.0.0.1";
    m.protocol = "https";
    m.encryption_scope = "s1";
    assert_int_equal(mint(&m, q, sizeof(q), sts, &err), SAS_OK);
    assert_string_equal(sts, "acct\nrl\nbf\nsco\n2026-01-01\n2026-02-01\n10.0.0.1\nhttps\n2026-10-06\ns1\n");
    assert_memory_equal(q, "sv=2026-10-06&ss=bf&srt=sco&spr=https&st=2026-01-01&se=2026-02-01&sip=10.0.0.1&ses=s1&sp=rl&sig=", 96);
    m.version = "2020-10-02";
    m.encryption_scope = NULL;
    assert_int_equal(mint(&m, q, sizeof(q), sts, &err), SAS_OK);
    assert_string_equal(sts, "acct\nrl\nbf\nsco\n2026-01-01\n2026-02-01\n10.0.0.1\nhttps\n2020-10-02\n");
}

static void small_buffers(void **state)
{
    sas_mint_t m;
    sas_error_t err;
    char q[SAS_MAX_QUERY], sts[SAS_MAX_STS];
    sas_minted_t out;
    blob(&m);
    assert_int_equal(sas_mint(&m, test_key(), q, sizeof(q), sts, sizeof(sts), &out, &err), SAS_OK);
    size_t qlen = out.query_len, slen = out.sts_len;
    assert_int_equal(sas_mint(&m, test_key(), q, qlen + 1, sts, slen + 1, &out, &err), SAS_OK);
    assert_int_equal(sas_mint(&m, test_key(), q, qlen, sts, slen + 1, &out, &err), SAS_R_BUFFER_TOO_SMALL);
    assert_int_equal(sas_mint(&m, test_key(), q, qlen + 1, sts, slen, &out, &err), SAS_R_BUFFER_TOO_SMALL);
    assert_int_equal(sas_mint(&m, test_key(), q, 0, NULL, 0, &out, &err), SAS_R_BUFFER_TOO_SMALL);
    /* the string to sign for a tiny buffer */
    sas_token_t tok;
    sas_resource_t res;
    assert_int_equal(sas_token_parse(&tok, q, 0, &err), SAS_R_MISSING_PARAM);
    assert_int_equal(sas_mint(&m, test_key(), q, sizeof(q), NULL, 0, NULL, &err), SAS_OK);
    assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
    assert_int_equal(sas_resource_init(&res, "acct", "c1", "a b.txt", NULL, NULL, &err), SAS_OK);
    assert_int_equal(sas_string_to_sign(&tok, &res, sts, slen + 1), (long)slen);
    assert_int_equal(sas_string_to_sign(&tok, &res, sts, slen), -1);
    assert_int_equal(sas_string_to_sign(&tok, &res, sts, 0), -1);
}

static void reason_names(void **state)
{
    for (int r = 0; r < SAS_R__COUNT; r++) {
        assert_non_null(sas_reason_name((sas_reason_t)r));
        assert_string_not_equal(sas_reason_name((sas_reason_t)r), "unknown");
        for (int s = 0; s < r; s++)
            assert_string_not_equal(sas_reason_name((sas_reason_t)r), sas_reason_name((sas_reason_t)s));
        if (r != SAS_OK)
            assert_non_null(sas_reason_azure_code((sas_reason_t)r));
    }
    assert_null(sas_reason_azure_code(SAS_OK));
    assert_string_equal(sas_reason_name(SAS_R_SIGNATURE_MISMATCH), "signature_mismatch");
    assert_string_equal(sas_reason_azure_code(SAS_R_SIGNATURE_MISMATCH), "AuthenticationFailed");
    assert_string_equal(sas_reason_name(SAS_R__COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals),       cmocka_unit_test(resource_types), cmocka_unit_test(query_order_and_encoding),
        cmocka_unit_test(account_layout), cmocka_unit_test(small_buffers),  cmocka_unit_test(reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
