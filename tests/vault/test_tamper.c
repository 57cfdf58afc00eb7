/*
 * Tests vault/vault_file.c against damage: a wrong master key, every
 * truncation and every single flipped byte of a small vault are refused with a
 * one-sentence message and a non-zero exit, and leave the file (and its
 * previous generation) byte for byte as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

struct fixture {
    char *dir, *db, *prev;
    uint8_t *orig, *orig_prev;
    size_t len, prev_len;
};

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    vt_set_master_key(1);
    f->dir = vt_mkdtemp();
    f->db = vt_path(f->dir, "vault.db");
    f->prev = vt_path(f->dir, "vault.db.prev");
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", f->db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "account", "add", "acct1", "--key1", "AAECAwQFBgcICQoLDA0ODw==", "--vault", f->db, NULL),
                     0);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "s1", "--value", "v1", "--vault", f->db, NULL), 0);
    f->orig = vt_read(f->db, &f->len);
    f->orig_prev = vt_read(f->prev, &f->prev_len);
    assert_non_null(f->orig);
    assert_non_null(f->orig_prev);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->orig);
    free(f->orig_prev);
    free(f->db);
    free(f->prev);
    vt_rmtree(f->dir);
    free(f);
    return 0;
}

/* The vault and its previous generation are exactly as the fixture left them, with `bytes` in place of the vault. */
static void assert_unchanged(struct fixture *f, const uint8_t *bytes)
{
    size_t n, pn;
    uint8_t *now = vt_read(f->db, &n), *prev = vt_read(f->prev, &pn);
    assert_non_null(now);
    assert_int_equal(n, f->len);
    assert_memory_equal(now, bytes, n);
    assert_int_equal(pn, f->prev_len);
    assert_memory_equal(prev, f->orig_prev, pn);
    free(now);
    free(prev);
}

static void wrong_master_key(void **state)
{
    struct fixture *f = *state;
    struct vt_result r;
    vt_set_master_key(2);
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "set", "s2", "--value", "x", "--vault", f->db, NULL), 1);
    assert_true(vt_one_sentence(r.err));
    assert_non_null(strstr(r.err, "wrong master key"));
    assert_int_equal(r.outlen, 0);
    vt_result_free(&r);
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "get", "s1", "--vault", f->db, NULL), 1);
    assert_int_equal(r.outlen, 0); /* never a partial read */
    vt_result_free(&r);
    vt_set_master_key(1);
    assert_unchanged(f, f->orig);
}

/* Every length short of the whole file, through the API; a few through the CLI. */
static void truncated(void **state)
{
    struct fixture *f = *state;
    char err[512];
    vault_keysource_t ks;
    char *cut = vt_path(f->dir, "cut.db");
    assert_int_equal(vault_keysource_resolve(&ks, NULL, NULL, err, sizeof(err)), 0);
    for (size_t n = 0; n < f->len; n++) {
        vt_write(cut, f->orig, n);
        err[0] = '\0';
        vault_t *v = vault_open(cut, &ks, NULL, NULL, err, sizeof(err));
        assert_null(v);
        assert_true(strlen(err) > 10);
    }
    vault_keysource_wipe(&ks);
    size_t lens[] = {0, 7, 139, 140, f->len - 17, f->len - 1};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct vt_result r;
        vt_write(cut, f->orig, lens[i]);
        assert_int_equal(vt_run(&r, NULL, 0, "secret", "set", "s2", "--value", "x", "--vault", cut, NULL), 1);
        assert_true(vt_one_sentence(r.err));
        vt_result_free(&r);
        size_t n;
        uint8_t *now = vt_read(cut, &n);
        assert_int_equal(n, lens[i]);
        assert_memory_equal(now, f->orig, n);
        free(now);
    }
    free(cut);
}

/* Each byte of the file flipped in turn: a write and a read are both refused, nothing changes. */
static void every_flipped_byte(void **state)
{
    struct fixture *f = *state;
    uint8_t *bad = sg_alloc(f->len);
    char kerr[256];
    vault_keysource_t ks;
    assert_int_equal(vault_keysource_resolve(&ks, NULL, NULL, kerr, sizeof(kerr)), 0);
    for (size_t off = 0; off < f->len; off++) {
        struct vt_result r;
        memcpy(bad, f->orig, f->len);
        bad[off] ^= 0x01;
        vt_write(f->db, bad, f->len);
        int rc = vt_run(&r, NULL, 0, "secret", "set", "s2", "--value", "x", "--vault", f->db, NULL);
        if (rc != 1 || !vt_one_sentence(r.err))
            fail_msg("offset %zu: exit %d, stderr '%s'", off, rc, r.err);
        vt_result_free(&r);
        /* a read through the API, with the message it gives */
        char err[512] = "";
        vault_t *v = vault_open(f->db, &ks, NULL, NULL, err, sizeof(err));
        if (v != NULL || strlen(err) < 10)
            fail_msg("offset %zu: opened, or no message", off);
        assert_unchanged(f, bad);
    }
    vault_keysource_wipe(&ks);
    vt_write(f->db, f->orig, f->len);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "status", "--vault", f->db, NULL), 0);
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(wrong_master_key, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(every_flipped_byte, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
