/* Tests policy/policy_auth_basic.c: HTTP Basic client secrets checked against stored SHA-256 hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "jwt_mint.h"

/* Builds "Basic base64(len bytes of text)" into out. */
static const char *basic_n(const char *text, size_t len, char *out)
{
    strcpy(out, "Basic ");
    sg_b64_encode((const uint8_t *)text, len, out + 6);
    return out;
}

static const char *basic(const char *text, char *out)
{
    return basic_n(text, strlen(text), out);
}

static int auth(const policy_t *p, const char *header, const policy_principal_t **pr, char *err)
{
    return policy_authenticate_basic(p, header, pr, err, 256);
}

static void right_secret(void **state)
{
    policy_t *p = test_demo_policy();
    const policy_principal_t *pr = NULL;
    char h[256], err[256];
    assert_int_equal(auth(p, basic("demo-app:demo-secret", h), &pr, err), 0);
    assert_string_equal(policy_principal_name(pr), "demo-app");
    /* the scheme is case-insensitive, and the dispatcher agrees */
    h[0] = 'b', h[1] = 'A';
    assert_int_equal(policy_authenticate(p, h, 0, &pr, err, sizeof(err)), 0);
    assert_string_equal(policy_principal_name(pr), "demo-app");
    assert_int_equal(auth(p, basic("demo-admin:admin-secret", h), &pr, err), 0);
    assert_string_equal(policy_principal_name(pr), "demo-admin");
    policy_release(p);
}

static void wrong_secret_and_unknown_client_look_alike(void **state)
{
    policy_t *p = test_demo_policy();
    const policy_principal_t *pr = (const policy_principal_t *)p; /* must be reset to NULL */
    char h[256], err_wrong[256], err_unknown[256], err[256];
    assert_int_equal(auth(p, basic("demo-app:demo-secreT", h), &pr, err_wrong), -1);
    assert_null(pr);
    assert_int_equal(auth(p, basic("nobody:demo-secret", h), &pr, err_unknown), -1);
    assert_null(pr);
    assert_string_equal(err_wrong, err_unknown);
    /* another principal's secret */
    assert_int_equal(auth(p, basic("demo-app:admin-secret", h), &pr, err), -1);
    /* empty secret, secret with a trailing colon, prefix of the name */
    assert_int_equal(auth(p, basic("demo-app:", h), &pr, err), -1);
    assert_int_equal(auth(p, basic("demo-app:demo-secret:", h), &pr, err), -1);
    assert_int_equal(auth(p, basic("demo:demo-secret", h), &pr, err), -1);
    assert_int_equal(auth(p, basic_n("demo-app\0x:demo-secret", 22, h), &pr, err), -1);
    /* a JWT-only principal has no Basic secret */
    assert_int_equal(auth(p, basic("jwt-app:", h), &pr, err), -1);
    assert_string_equal(err, err_unknown);
    policy_release(p);
}

static void malformed_headers(void **state)
{
    policy_t *p = test_demo_policy();
    const policy_principal_t *pr = NULL;
    char h[256], err[256];
    const char *bad[] = {
        "",
        "Basic",
        "Basic ",
        "Basicx ZGVtby1hcHA6ZGVtby1zZWNyZXQ=",
        "Bearer ZGVtby1hcHA6ZGVtby1zZWNyZXQ=",
        "Basic ZGVtby1hcHA6ZGVtby1zZWNyZXQ",   /* padding missing */
        "Basic ZGVtby1hcHA6ZGVtby1zZWNyZXQ==", /* too much */
        "Basic ZGVtby1h cHA6ZGVtby1zZWNyZXQ=",
        "Basic !!!!",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(auth(p, bad[i], &pr, err), -1);
        assert_null(pr);
    }
    assert_int_equal(auth(p, basic("no-colon", h), &pr, err), -1);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(auth(p, basic(":demo-secret", h), &pr, err), -1);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(auth(p, NULL, &pr, err), -1);
    /* oversized */
    char big[4096];
    memset(big, 'A', sizeof(big) - 1);
    memcpy(big, "Basic ", 6);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(auth(p, big, &pr, err), -1);
    policy_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(right_secret),
        cmocka_unit_test(wrong_secret_and_unknown_client_look_alike),
        cmocka_unit_test(malformed_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
