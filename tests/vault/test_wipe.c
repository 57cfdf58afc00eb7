/*
 * Tests that key and secret buffers are wiped before they are freed. The test
 * is linked with -Wl,--wrap=free and -Wl,--wrap=munmap: every free() in the
 * vault and common code goes through __wrap_free below, every unmapping of
 * secure memory (sg_secure_free) through __wrap_munmap; for the one buffer
 * being watched, they record whether its bytes were all zero at that moment.
 *
 * A second mode scans every freed buffer (its usable size) for a secret value
 * or key bytes during whole operations: writes, reads, backup, restore,
 * rotation, close.
 *
 * What it proves: the dispose/free functions of the public API, and
 * vault_close for the handle's keys, secret values and data key, zero those
 * exact buffers before handing them to free(). What it cannot prove: that no
 * other copy ever existed (the compiler may spill registers, the kernel holds
 * page cache); those are out of a C program's reach.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vault/internal.h"
#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

void __real_free(void *p);
void __wrap_free(void *p);
int __real_munmap(void *addr, size_t len);
int __wrap_munmap(void *addr, size_t len);

static const uint8_t *scan_needle;
static size_t scan_len;
static int scan_hits;

static void scan_start(const void *needle, size_t len)
{
    scan_needle = needle;
    scan_len = len;
    scan_hits = 0;
}

static int scan_stop(void)
{
    scan_needle = NULL;
    return scan_hits;
}

static const uint8_t *watch_ptr;
static size_t watch_off, watch_len;
static int watch_seen, watch_zero;

void __wrap_free(void *p)
{
    if (p != NULL && p == watch_ptr) {
        int zero = 1;
        for (size_t i = 0; i < watch_len; i++)
            zero &= watch_ptr[watch_off + i] == 0;
        watch_seen = 1;
        watch_zero = zero;
    }
    if (p != NULL && scan_needle != NULL) {
        const uint8_t *b = p;
        size_t n = malloc_usable_size(p);
        for (size_t i = 0; i + scan_len <= n; i++)
            if (b[i] == scan_needle[0] && memcmp(b + i, scan_needle, scan_len) == 0) {
                scan_hits++;
                break;
            }
    }
    __real_free(p);
}

/* The same checks for memory from sg_secure_alloc, which goes back to the kernel with munmap. */
int __wrap_munmap(void *addr, size_t len)
{
    const uint8_t *lo = addr, *hi = lo + len;
    if (watch_ptr != NULL && watch_ptr >= lo && watch_ptr < hi) {
        int zero = 1;
        for (size_t i = 0; i < watch_len; i++)
            zero &= watch_ptr[watch_off + i] == 0;
        watch_seen = 1;
        watch_zero = zero;
    }
    if (scan_needle != NULL)
        for (const uint8_t *b = lo; b + scan_len <= hi; b++)
            if (b[0] == scan_needle[0] && memcmp(b, scan_needle, scan_len) == 0) {
                scan_hits++;
                break;
            }
    return __real_munmap(addr, len);
}

/* Watches [base + off, base + off + len) of the allocation that starts at base. */
static void watch(const void *base, size_t off, size_t len)
{
    watch_ptr = base;
    watch_off = off;
    watch_len = len;
    watch_seen = watch_zero = 0;
}

static void assert_wiped(void)
{
    assert_true(watch_seen);
    assert_true(watch_zero);
    watch_ptr = NULL;
}

struct fixture {
    char *dir, *db;
    vault_keysource_t ks;
    vault_t *v;
};

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    char err[512];
    uint8_t key[64];
    memset(key, 0x5a, sizeof(key));
    vt_set_master_key(7);
    f->dir = vt_mkdtemp();
    f->db = vt_path(f->dir, "vault.db");
    assert_int_equal(vault_keysource_resolve(&f->ks, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(vault_create(f->db, &f->ks, NULL, err, sizeof(err)), 0);
    f->v = vault_open(f->db, &f->ks, NULL, NULL, err, sizeof(err));
    assert_non_null(f->v);
    assert_int_equal(vault_account_add(f->v, NULL, "acct1", key, 64, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, err, sizeof(err)), 0);
    assert_int_equal(vault_secret_set(f->v, NULL, "s1", (const uint8_t *)"top-secret-value", 16, NULL, NULL, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vault_close(f->v);
    vault_keysource_wipe(&f->ks);
    free(f->db);
    vt_rmtree(f->dir);
    free(f);
    return 0;
}

static void signing_keys_freed_wiped(void **state)
{
    struct fixture *f = *state;
    vault_signing_key_t *keys;
    size_t n;
    char err[256];
    assert_int_equal(vault_account_active_keys(f->v, "acct1", &keys, &n, err, sizeof(err)), 1);
    assert_int_equal(n, 2);
    assert_int_equal(keys[0].slot, 1);
    assert_int_equal(keys[0].key[0], 0x5a);
    watch(keys, 0, n * sizeof(*keys));
    vault_signing_keys_free(keys, n);
    assert_wiped();
}

static void secret_value_freed_wiped(void **state)
{
    struct fixture *f = *state;
    vault_secret_t s;
    char err[256];
    assert_int_equal(vault_secret_get(f->v, NULL, "s1", NULL, &s, err, sizeof(err)), 0);
    assert_memory_equal(s.value, "top-secret-value", 16);
    watch(s.value, 0, s.value_len);
    vault_secret_dispose(&s);
    assert_wiped();
}

static void keysource_passphrase_wiped(void **state)
{
    vault_keysource_t ks = {0};
    vault_keysource_set_passphrase(&ks, "correct horse battery", 21);
    watch(ks.passphrase, 0, 22);
    vault_keysource_wipe(&ks);
    assert_wiped();
    vault_keysource_set_master(&ks, (const uint8_t *)"0123456789abcdef0123456789abcdef");
    vault_keysource_wipe(&ks);
    for (size_t i = 0; i < sizeof(ks.master); i++)
        assert_int_equal(ks.master[i], 0);
}

/* vault_close: the key versions, the secret values and the data key inside the handle. */
static void handle_wiped_on_close(void **state)
{
    struct fixture *f = *state;
    char err[256];
    /* the key versions of key1 */
    const struct vault__keyver *kv = f->v->st.accounts[0].slot[0].v;
    assert_int_equal(kv[0].key[0], 0x5a);
    watch(kv, 0, f->v->st.accounts[0].slot[0].n * sizeof(*kv));
    vault_close(f->v);
    assert_wiped();

    /* a secret value */
    f->v = vault_open(f->db, &f->ks, NULL, NULL, err, sizeof(err));
    assert_non_null(f->v);
    const uint8_t *value = f->v->st.secrets[0].v[0].value;
    assert_memory_equal(value, "top-secret-value", 16);
    watch(value, 0, 16);
    vault_close(f->v);
    assert_wiped();

    /* the data key, inside the handle struct */
    f->v = vault_open(f->db, &f->ks, NULL, NULL, err, sizeof(err));
    assert_non_null(f->v);
    watch(f->v, offsetof(struct vault, dk), sizeof(f->v->dk));
    vault_close(f->v);
    assert_wiped();
    f->v = vault_open(f->db, &f->ks, NULL, NULL, err, sizeof(err));
    assert_non_null(f->v);
}

/*
 * Scan mode: during whole operations (writes, reads, reload, backup, restore,
 * close), no buffer handed to free() may still hold the secret value or key
 * bytes — this covers the payload buffers, the decrypted file, the model.
 */
static void no_freed_buffer_holds_a_secret(void **state)
{
    struct fixture *f = *state;
    char err[256], *bak = vt_path(f->dir, "b.bak");
    uint8_t key[64];
    vault_secret_t s;
    vault_signing_key_t *keys, rotated;
    size_t n;
    static const char value[] = "needle-value-XYZ-0123456789";
    memset(key, 0x5a, sizeof(key));

    scan_start(value, sizeof(value) - 1);
    assert_int_equal(vault_secret_set(f->v, NULL, "s2", (const uint8_t *)value, sizeof(value) - 1, NULL, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(vault_secret_set(f->v, NULL, "s3", (const uint8_t *)"x", 1, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(vault_secret_get(f->v, NULL, "s2", NULL, &s, err, sizeof(err)), 0);
    vault_secret_dispose(&s);
    assert_int_equal(vault_backup(f->v, NULL, bak, err, sizeof(err)), 0);
    vault_close(f->v);
    assert_int_equal(vault_restore(f->db, &f->ks, NULL, NULL, bak, err, sizeof(err)), 0);
    f->v = vault_open(f->db, &f->ks, NULL, NULL, err, sizeof(err));
    assert_non_null(f->v);
    assert_int_equal(vault_secret_delete(f->v, NULL, "s2", err, sizeof(err)), 0);
    assert_int_equal(vault_secret_purge(f->v, NULL, "s2", err, sizeof(err)), 0);
    assert_int_equal(scan_stop(), 0);

    scan_start(key, 32);
    assert_int_equal(vault_account_active_keys(f->v, "acct1", &keys, &n, err, sizeof(err)), 1);
    vault_signing_keys_free(keys, n);
    assert_int_equal(vault_account_rotate(f->v, NULL, "acct1", 2, &rotated, err, sizeof(err)), 0);
    sg_wipe(&rotated, sizeof(rotated));
    assert_int_equal(vault_account_import_key(f->v, NULL, "acct1", 2, key + 1, 32, NULL, err, sizeof(err)), 0);
    vault_close(f->v);
    f->v = vault_open(f->db, &f->ks, NULL, NULL, err, sizeof(err));
    assert_non_null(f->v);
    assert_int_equal(scan_stop(), 0);
    free(bak);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signing_keys_freed_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(secret_value_freed_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(keysource_passphrase_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(handle_wiped_on_close, setup, teardown),
        cmocka_unit_test_setup_teardown(no_freed_buffer_holds_a_secret, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
