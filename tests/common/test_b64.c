/* Tests common/common.c: strict base64, base64url and constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"

static void roundtrip_all_lengths(void **state)
{
    uint8_t in[64], out[64];
    char text[SG_B64_ENCODED_LEN(64) + 1];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t len = sg_b64_encode(in, n, text), outlen = 0;
        assert_int_equal(len, SG_B64_ENCODED_LEN(n));
        assert_int_equal(sg_b64_decode(text, len, out, sizeof(out), &outlen), 0);
        assert_int_equal(outlen, n);
        assert_memory_equal(in, out, n);
    }
}

static void known_answers(void **state)
{
    char text[16];
    assert_int_equal(sg_b64_encode((const uint8_t *)"foobar", 6, text), 8);
    assert_string_equal(text, "Zm9vYmFy");
    sg_b64_encode((const uint8_t *)"fo", 2, text);
    assert_string_equal(text, "Zm8=");
    sg_b64url_encode((const uint8_t *)"\xfb\xff", 2, text);
    assert_string_equal(text, "-_8");
}

static void rejects_malformed(void **state)
{
    uint8_t out[16];
    size_t outlen;
    const char *bad[] = {"Zm9", "Zm9v=", "Zm=v", "Z===", "Zm9-", "Zm9_", "Zm9\n", "Zm9=Zm9v", "Zm9 ", "Zm9=\0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sg_b64_decode(bad[i], strlen(bad[i]) + (i == 9), out, sizeof(out), &outlen), -1);
    /* non-canonical: unused bits set */
    assert_int_equal(sg_b64_decode("Zm9=", 4, out, sizeof(out), &outlen), -1);
    assert_int_equal(sg_b64_decode("Zh==", 4, out, sizeof(out), &outlen), -1);
    /* does not fit */
    assert_int_equal(sg_b64_decode("Zm9vYmFy", 8, out, 5, &outlen), -1);
    assert_int_equal(sg_b64_decode("Zm8=", 4, out, 2, &outlen), 0);
    assert_int_equal(outlen, 2);
}

static void constant_time_equal(void **state)
{
    assert_true(sg_ct_equal("abcd", "abcd", 4));
    assert_false(sg_ct_equal("abcd", "abce", 4));
    assert_true(sg_ct_equal("", "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip_all_lengths),
        cmocka_unit_test(known_answers),
        cmocka_unit_test(rejects_malformed),
        cmocka_unit_test(constant_time_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
