/*
 * Tests sas_token_id(): base64url without padding of the first 16 bytes of
 * SHA-256 over the decoded signature, the same from a minted and a parsed
 * token, equal for equal signed fields, different otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "sasgw/common.h"
#include "helpers.h"

static void definition(void **state)
{
    uint8_t sig[32], h[32];
    unsigned hl = 0;
    char want[32], got[SAS_TOKEN_ID_LEN + 1];
    for (int i = 0; i < 100; i++) {
        sg_random(sig, sizeof(sig));
        assert_int_equal(EVP_Digest(sig, sizeof(sig), h, &hl, EVP_sha256(), NULL), 1);
        sg_b64url_encode(h, 16, want);
        sas_token_id_from_sig(sig, got);
        assert_int_equal(strlen(got), SAS_TOKEN_ID_LEN);
        assert_string_equal(got, want);
        assert_null(strpbrk(got, "+/="));
    }
}

static void minted_and_parsed_agree(void **state)
{
    sas_mint_t m;
    sas_minted_t out, again;
    sas_token_t tok;
    sas_error_t err;
    char query[SAS_MAX_QUERY], id[SAS_TOKEN_ID_LEN + 1];
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.container = "c1";
    m.blob = "a.txt";
    m.permissions = "r";
    m.expiry = "2026-02-01T00:00:00Z";
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), NULL, 0, &out, &err), SAS_OK);
    assert_int_equal(sas_token_parse(&tok, query, strlen(query), &err), SAS_OK);
    sas_token_id(&tok, id);
    assert_string_equal(id, out.token_id);
    /* equal signed fields: the same token */
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), NULL, 0, &again, &err), SAS_OK);
    assert_string_equal(again.token_id, out.token_id);
    /* any other field: another token */
    m.expiry = "2026-02-01T00:00:01Z";
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), NULL, 0, &again, &err), SAS_OK);
    assert_string_not_equal(again.token_id, out.token_id);
}

static void vector_ids_are_distinct(void **state)
{
    json_t *all = vec_load();
    size_t i;
    json_t *v;
    static char ids[240][SAS_TOKEN_ID_LEN + 1];
    json_array_foreach(all, i, v)
    {
        sas_token_t tok;
        sas_error_t err;
        const char *q = vec_str(v, "query");
        assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
        sas_token_id(&tok, ids[i]);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(definition),
        cmocka_unit_test(minted_and_parsed_agree),
        cmocka_unit_test(vector_ids_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
