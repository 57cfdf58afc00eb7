/*
 * Tests that no key or secret reaches disk in the clear: after adding an
 * account, rotating a key (shown once with --show-key), importing one,
 * setting, reading, deleting and recovering secrets, backing up and
 * restoring, every file in the vault's directory (vault, .prev, .lock, audit
 * log, backup) is searched for each secret value and for each key, raw
 * and in base64.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

static void key_material(int seed, uint8_t key[64], char b64[89])
{
    for (int i = 0; i < 64; i++)
        key[i] = (uint8_t)(seed * 67 + i * 13 + 5);
    sg_b64_encode(key, 64, b64);
}

/* Fails when needle occurs in any regular file of dir. */
static void assert_nowhere(const char *dir, const void *needle, size_t n, const char *what)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = vt_path(dir, e->d_name);
        if (vt_file_contains(p, needle, n))
            fail_msg("%s found in plain text in %s", what, p);
        free(p);
        files++;
    }
    closedir(d);
    assert_true(files >= 5);
}

static void nothing_in_plaintext(void **state)
{
    char *dir = *state, *db = vt_path(dir, "vault.db"), *bak = vt_path(dir, "backup.bin");
    uint8_t k1[64], k2[64], k3[64], rotated[64];
    char b1[89], b2[89], b3[89];
    size_t rlen = 0;
    struct vt_result r;
    const char *secrets[] = {"S3cr3t-VALUE-xyzzy-0001", "another secret with spaces 0002", "stdin-secret-0003"};
    vt_set_master_key(5);
    key_material(1, k1, b1);
    key_material(2, k2, b2);
    key_material(3, k3, b3);

    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "account", "add", "acct1", "--key1", b1, "--key2", b2, "--vault", db, NULL), 0);
    assert_int_equal(vt_run(&r, NULL, 0, "account", "rotate", "acct1", "--slot", "key1", "--show-key", "--vault", db, NULL), 0);
    /* the shown key is the second line of the output */
    char *nl = strchr(r.out, '\n');
    assert_non_null(nl);
    char *end = strchr(nl + 1, '\n');
    assert_non_null(end);
    *end = '\0';
    assert_int_equal(sg_b64_decode(nl + 1, strlen(nl + 1), rotated, sizeof(rotated), &rlen), 0);
    assert_int_equal(rlen, 64);
    char rotated_b64[89];
    snprintf(rotated_b64, sizeof(rotated_b64), "%s", nl + 1);
    vt_result_free(&r);
    assert_int_equal(vt_run(NULL, NULL, 0, "account", "import-key", "acct1", "--slot", "key2", "--key", b3, "--vault", db, NULL),
                     0);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "one", "--value", secrets[0], "--tag", "env=prod", "--vault", db, NULL),
                     0);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "two", "--value", secrets[1], "--vault", db, NULL), 0);
    assert_int_equal(vt_run(NULL, secrets[2], strlen(secrets[2]), "secret", "set", "three", "--vault", db, NULL), 0);
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "get", "three", "--vault", db, NULL), 0);
    assert_string_equal(r.out, secrets[2]);
    vt_result_free(&r);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "delete", "two", "--vault", db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "recover", "two", "--vault", db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "backup", bak, "--vault", db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "restore", bak, "--vault", db, NULL), 0);
    /* one more generation after the restore */
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "four", "--value", secrets[0], "--vault", db, NULL), 0);

    /* list outputs never carry them either */
    assert_int_equal(vt_run(&r, NULL, 0, "account", "list", "--json", "--vault", db, NULL), 0);
    assert_null(strstr(r.out, b1));
    assert_null(strstr(r.out, rotated_b64));
    vt_result_free(&r);
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "list", "--json", "--vault", db, NULL), 0);
    for (size_t i = 0; i < 3; i++)
        assert_null(strstr(r.out, secrets[i]));
    vt_result_free(&r);

    for (size_t i = 0; i < 3; i++) {
        char b64[256];
        assert_nowhere(dir, secrets[i], strlen(secrets[i]), secrets[i]);
        sg_b64_encode((const uint8_t *)secrets[i], strlen(secrets[i]), b64);
        assert_nowhere(dir, b64, strlen(b64), "a secret in base64");
    }
    const uint8_t *keys[] = {k1, k2, k3, rotated};
    for (size_t i = 0; i < 4; i++) {
        char b64[89];
        sg_b64_encode(keys[i], 64, b64);
        assert_nowhere(dir, keys[i], 16, "key bytes");
        assert_nowhere(dir, b64, 24, "a key in base64");
    }
    /* the master key neither */
    const char *mk = getenv("SASGW_MASTER_KEY");
    uint8_t raw[32];
    size_t mlen;
    assert_int_equal(sg_b64_decode(mk, strlen(mk), raw, sizeof(raw), &mlen), 0);
    assert_nowhere(dir, mk, strlen(mk), "the master key in base64");
    assert_nowhere(dir, raw, 16, "the master key");
    free(db);
    free(bak);
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
        cmocka_unit_test_setup_teardown(nothing_in_plaintext, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
