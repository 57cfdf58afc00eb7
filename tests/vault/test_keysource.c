/*
 * Tests vault/vault_keys.c: master key files (mode 0600 only, base64 or 32
 * raw bytes), the environment, passphrase vaults (scrypt) and the messages
 * when the wrong kind of key is given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

static void key_file_modes_and_formats(void **state)
{
    char *dir = *state, *db = vt_path(dir, "vault.db"), *kf = vt_path(dir, "master.key"), *raw = vt_path(dir, "raw.key");
    struct vt_result r;
    vt_set_master_key(10);
    const char *b64 = getenv("SASGW_MASTER_KEY");
    uint8_t bytes[32];
    size_t n;
    assert_int_equal(sg_b64_decode(b64, strlen(b64), bytes, sizeof(bytes), &n), 0);
    unsetenv("SASGW_MASTER_KEY");

    /* no key at all */
    assert_int_equal(vt_run(&r, NULL, 0, "vault", "init", "--vault", db, NULL), 1);
    assert_true(vt_one_sentence(r.err));
    assert_non_null(strstr(r.err, "SASGW_MASTER_KEY"));
    vt_result_free(&r);

    /* base64 with a newline, mode 0644: refused; 0600: accepted */
    char text[64];
    snprintf(text, sizeof(text), "%s\n", b64);
    vt_write(kf, text, strlen(text));
    chmod(kf, 0644);
    assert_int_equal(vt_run(&r, NULL, 0, "vault", "init", "--vault", db, "--master-key-file", kf, NULL), 1);
    assert_non_null(strstr(r.err, "chmod 600"));
    vt_result_free(&r);
    chmod(kf, 0600);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", db, "--master-key-file", kf, NULL), 0);
    /* the same key as 32 raw bytes, and through the environment */
    vt_write(raw, bytes, 32);
    chmod(raw, 0600);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "status", "--vault", db, "--master-key-file", raw, NULL), 0);
    setenv("SASGW_MASTER_KEY", b64, 1);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "status", "--vault", db, NULL), 0);
    /* garbage in the environment */
    setenv("SASGW_MASTER_KEY", "AAAA", 1);
    assert_int_equal(vt_run(&r, NULL, 0, "vault", "status", "--vault", db, NULL), 1);
    assert_non_null(strstr(r.err, "exactly 32 bytes"));
    vt_result_free(&r);
    /* keygen writes a usable 0600 file */
    char *gen = vt_path(dir, "gen.key"), *db2 = vt_path(dir, "v2.db");
    struct stat st;
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "keygen", "--out", gen, NULL), 0);
    assert_int_equal(stat(gen, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", db2, "--master-key-file", gen, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "keygen", "--out", gen, NULL), 1); /* never overwrites */
    free(gen);
    free(db2);
    free(db);
    free(kf);
    free(raw);
}

static void passphrase_vault(void **state)
{
    char *dir = *state, *db = vt_path(dir, "vault.db"), *pf = vt_path(dir, "pass");
    struct vt_result r;
    vt_set_master_key(11);
    char *mk = sg_strdup(getenv("SASGW_MASTER_KEY"));
    unsetenv("SASGW_MASTER_KEY");
    setenv("SASGW_PASSPHRASE", "short", 1);
    assert_int_equal(vt_run(&r, NULL, 0, "vault", "init", "--vault", db, NULL), 1);
    assert_non_null(strstr(r.err, "at least 8"));
    vt_result_free(&r);
    setenv("SASGW_PASSPHRASE", "correct horse battery staple", 1);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "s", "--value", "v", "--vault", db, NULL), 0);
    assert_int_equal(vt_run(&r, NULL, 0, "vault", "status", "--vault", db, NULL), 0);
    assert_non_null(strstr(r.out, "passphrase (scrypt)"));
    vt_result_free(&r);
    /* from a file with a trailing newline */
    vt_write(pf, "correct horse battery staple\n", 29);
    chmod(pf, 0600);
    unsetenv("SASGW_PASSPHRASE");
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "get", "s", "--vault", db, "--passphrase-file", pf, NULL), 0);
    assert_string_equal(r.out, "v");
    vt_result_free(&r);
    /* wrong passphrase; a master key for a passphrase vault */
    setenv("SASGW_PASSPHRASE", "incorrect horse battery staple", 1);
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "get", "s", "--vault", db, NULL), 1);
    assert_non_null(strstr(r.err, "wrong passphrase"));
    assert_int_equal(r.outlen, 0);
    vt_result_free(&r);
    unsetenv("SASGW_PASSPHRASE");
    setenv("SASGW_MASTER_KEY", mk, 1);
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "get", "s", "--vault", db, NULL), 1);
    assert_non_null(strstr(r.err, "sealed with a passphrase"));
    assert_true(vt_one_sentence(r.err));
    vt_result_free(&r);
    free(mk);
    free(db);
    free(pf);
}

/* The scratch directory: made before each test, removed after it even when it fails. */
static int make_dir(void **state)
{
    *state = vt_mkdtemp();
    return 0;
}

static int remove_dir(void **state)
{
    vt_rmtree(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(key_file_modes_and_formats, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(passphrase_vault, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
