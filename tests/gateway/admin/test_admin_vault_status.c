/*
 * Tests the admin API's one table from vault errors to answers
 * (gw_admin__vault_status in gateway/admin/admin_internal.c): every vault_err_t of
 * VAULT_ERR_MAP maps to an HTTP error status and a JSON code, the codes the
 * end-to-end tests (tests/e2e/admin*.test.mjs) expect keep their statuses,
 * and a value that is not a code is reported as such.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "admin_internal.h"

/* Every code of the map has a row: a 4xx or 5xx status and a lower_snake JSON code. */
static void every_code_maps(void **state)
{
    (void)state;
    static const vault_err_t all[] = {
#define CODE(code, value, name, text) VAULT_##code,
        VAULT_ERR_MAP(CODE)
#undef CODE
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *code = NULL;
        int status = gw_admin__vault_status(all[i], &code);
        if (status < 400 || status > 599)
            fail_msg("%s maps to status %d", vault_err_name(all[i]), status);
        assert_non_null(code);
        assert_true(code[0] != '\0');
        for (const char *c = code; *c != '\0'; c++)
            assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
    }
}

/* The answers clients rely on. */
static void known_answers(void **state)
{
    (void)state;
    static const struct {
        vault_err_t e;
        int status;
        const char *code;
    } want[] = {
        {VAULT_EINVAL, 400, "invalid_request"},
        {VAULT_ENOTFOUND, 404, "not_found"},
        {VAULT_EEXISTS, 409, "conflict"},
        {VAULT_ERETIRED, 409, "conflict"},
        {VAULT_ELIMIT, 409, "conflict"},
        {VAULT_EDELETED, 409, "secret_deleted"},
        {VAULT_ENOTDELETED, 409, "not_deleted"},
        {VAULT_EPURGEPROTECTED, 409, "purge_protected"},
        {VAULT_EDISABLED, 403, "secret_disabled"},
        {VAULT_EEXPIRED, 403, "secret_expired"},
        {VAULT_ENOTYETVALID, 403, "secret_not_yet_valid"},
        {VAULT_EAUDIT, 503, "audit_unavailable"},
        {VAULT_EBROKEN, 503, "vault_unavailable"},
        {VAULT_EIO, 500, "vault_error"},
        {VAULT_ECORRUPT, 500, "vault_error"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *code = NULL;
        assert_int_equal(gw_admin__vault_status(want[i].e, &code), want[i].status);
        assert_string_equal(code, want[i].code);
    }
}

/* VAULT_OK and strangers are not vault errors: status 0. */
static void not_a_code(void **state)
{
    (void)state;
    const char *code = NULL;
    assert_int_equal(gw_admin__vault_status(VAULT_OK, &code), 0);
    assert_string_equal(code, "vault_error");
    assert_int_equal(gw_admin__vault_status((vault_err_t)-999, &code), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_maps),
        cmocka_unit_test(known_answers),
        cmocka_unit_test(not_a_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
