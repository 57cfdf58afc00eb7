/*
 * Tests the precomputed-midstate HMAC-SHA256 against OpenSSL's one-shot
 * HMAC() over many random keys and messages, RFC 4231's known answers, and
 * key handling (base64, wiping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sasgw/common.h"
#include "helpers.h"

static void differential_against_openssl(void **state)
{
    static uint8_t key[300], msg[5000];
    for (int i = 0; i < 3000; i++) {
        uint8_t lens[4], a[32], b[32];
        unsigned blen = 0;
        sg_random(lens, sizeof(lens));
        /* key lengths around the block size (64) matter most; then short and long ones */
        size_t klen = i < 200 ? (size_t)i % 140 : (size_t)((lens[0] | lens[1] << 8) % sizeof(key));
        size_t mlen = i % 7 == 0 ? (size_t)(i % 130) : (size_t)((lens[2] | lens[3] << 8) % sizeof(msg));
        sg_random(key, klen);
        sg_random(msg, mlen);
        sas_key_t k;
        sas_key_init(&k, key, klen);
        sas_hmac(&k, msg, mlen, a);
        assert_non_null(HMAC(EVP_sha256(), key, (int)klen, msg, mlen, b, &blen));
        assert_int_equal(blen, 32);
        if (memcmp(a, b, 32) != 0)
            fail_msg("HMAC differs for key length %zu, message length %zu", klen, mlen);
        /* the key state is reusable: a second MAC with the same state gives the same answer */
        sas_hmac(&k, msg, mlen, a);
        assert_memory_equal(a, b, 32);
        sas_key_dispose(&k);
    }
}

static void rfc4231(void **state)
{
    /* test case 2 and test case 6 (a key longer than the block) */
    static const uint8_t want2[32] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                      0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                      0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    static const uint8_t want6[32] = {0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f, 0x0d, 0x8a, 0x26,
                                      0xaa, 0xcb, 0xf5, 0xb7, 0x7f, 0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28,
                                      0xc5, 0x14, 0x05, 0x46, 0x04, 0x0f, 0x0e, 0xe3, 0x7f, 0x54};
    uint8_t out[32], big[131];
    sas_key_t k;
    sas_key_init(&k, (const uint8_t *)"Jefe", 4);
    sas_hmac(&k, "what do ya want for nothing?", 28, out);
    assert_memory_equal(out, want2, 32);
    memset(big, 0xaa, sizeof(big));
    sas_key_init(&k, big, sizeof(big));
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    sas_hmac(&k, m6, strlen(m6), out);
    assert_memory_equal(out, want6, 32);
    sas_key_dispose(&k);
}

static void keys_from_base64(void **state)
{
    sas_key_t a, b;
    uint8_t raw[64], out1[32], out2[32];
    size_t n;
    assert_int_equal(sg_b64_decode(TEST_KEY_B64, strlen(TEST_KEY_B64), raw, sizeof(raw), &n), 0);
    assert_int_equal(sas_key_init_base64(&a, TEST_KEY_B64, strlen(TEST_KEY_B64)), 0);
    sas_key_init(&b, raw, n);
    sas_hmac(&a, "x", 1, out1);
    sas_hmac(&b, "x", 1, out2);
    assert_memory_equal(out1, out2, 32);
    assert_int_equal(sas_key_init_base64(&a, "not base64!", 11), -1);
    assert_false(a.ready);
    assert_int_equal(sas_key_init_base64(&a, "", 0), -1);
    assert_int_equal(sas_key_init_base64(&a, "QUJD", 3), -1);
    sas_key_dispose(&b);
}

static void dispose_wipes(void **state)
{
    static const sas_key_t zero;
    sas_key_t k;
    sas_key_init(&k, (const uint8_t *)"secret", 6);
    assert_true(k.ready);
    assert_memory_not_equal(&k, &zero, sizeof(k));
    sas_key_dispose(&k);
    assert_memory_equal(&k, &zero, sizeof(k));
    sas_key_dispose(&k);
    sas_key_dispose(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(differential_against_openssl),
        cmocka_unit_test(rfc4231),
        cmocka_unit_test(keys_from_base64),
        cmocka_unit_test(dispose_wipes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
