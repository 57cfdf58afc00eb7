/*
 * Tests the vault's typed errors (vault.h, VAULT_ERR_MAP): every code has a
 * distinct stable name and a meaning, and every code a caller can meet is
 * produced by the failure it names, through the public API, with a sentence
 * beside it. VAULT_ECRYPTO is the one code no test reaches: it stands for
 * OpenSSL's AES-GCM or scrypt failing (out of memory), which cannot be
 * provoked from outside.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vault/internal.h"
#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

struct fixture {
    char *dir, *db, *log;
    vault_keysource_t ks;
    vault_t *v;
    char err[512];
};

static const uint8_t key1[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    vt_set_master_key(4);
    f->dir = vt_mkdtemp();
    f->db = vt_path(f->dir, "vault.db");
    f->log = vt_path(f->dir, "audit.log");
    assert_int_equal(vault_keysource_resolve(&f->ks, NULL, NULL, f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_create(f->db, &f->ks, NULL, f->err, sizeof(f->err)), VAULT_OK);
    f->v = vault_open(f->db, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    assert_non_null(f->v);
    assert_int_equal(
        vault_account_add(f->v, NULL, "acct1", key1, 64, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, f->err, sizeof(f->err)), VAULT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vault_close(f->v);
    vault_keysource_wipe(&f->ks);
    free(f->db);
    free(f->log);
    vt_rmtree(f->dir);
    free(f);
    return 0;
}

/* The sentence of a failure: set, one line. Cleared before each call. */
static void assert_sentence(struct fixture *f)
{
    assert_true(f->err[0] != '\0');
    assert_null(strchr(f->err, '\n'));
    f->err[0] = '\0';
}

/* Every code: negative, distinct, a distinct lower_snake name and a meaning; OK and strangers have theirs. */
static void names_are_distinct(void **state)
{
    (void)state;
    static const struct {
        vault_err_t e;
        int value;
        const char *name;
    } all[] = {
#define ROW(code, value, name, text) {VAULT_##code, value, name},
        VAULT_ERR_MAP(ROW)
#undef ROW
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(all[i].e, all[i].value);
        assert_true(all[i].e < 0);
        assert_string_equal(vault_err_name(all[i].e), all[i].name);
        for (const char *c = all[i].name; *c != '\0'; c++)
            assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
        assert_true(strlen(vault_strerror(all[i].e)) > 5);
        assert_string_not_equal(vault_strerror(all[i].e), "unknown vault error");
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(all[i].e, all[j].e);
            assert_string_not_equal(all[i].name, all[j].name);
        }
    }
    assert_int_equal(VAULT_EINVAL, -1);
    assert_string_equal(vault_err_name(VAULT_OK), "ok");
    assert_string_equal(vault_err_name((vault_err_t)-999), "unknown");
    assert_string_equal(vault_err_name((vault_err_t)1), "unknown");
    assert_string_equal(vault_strerror((vault_err_t)-999), "unknown vault error");
}

/* Accounts and keys: invalid, absent, taken, already retired. */
static void account_errors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(vault_account_add(f->v, NULL, "Bad!", key1, 64, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, f->err, sizeof(f->err)),
                     VAULT_EINVAL);
    assert_sentence(f);
    assert_int_equal(vault_account_add(f->v, NULL, "acct2", key1, 8, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, f->err, sizeof(f->err)),
                     VAULT_EINVAL);
    assert_sentence(f);
    assert_int_equal(
        vault_account_add(f->v, NULL, "acct1", key1, 64, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, f->err, sizeof(f->err)),
        VAULT_EEXISTS);
    assert_sentence(f);
    assert_int_equal(vault_account_import_key(f->v, NULL, "acct1", 2, key1, 64, NULL, f->err, sizeof(f->err)), VAULT_EEXISTS);
    assert_sentence(f);
    assert_int_equal(vault_account_rotate(f->v, NULL, "nosuch", 1, NULL, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_sentence(f);
    /* slots 3 and 4 are edge1 and edge2 */
    assert_int_equal(vault_account_rotate(f->v, NULL, "acct1", VAULT_NUM_SLOTS + 1, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_sentence(f);
    assert_int_equal(vault_account_retire(f->v, NULL, "acct1", 1, 9, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_sentence(f);
    assert_int_equal(vault_account_rotate(f->v, NULL, "acct1", 1, NULL, f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_account_retire(f->v, NULL, "acct1", 1, 1, f->err, sizeof(f->err)), VAULT_ERETIRED);
    assert_sentence(f);
    assert_int_equal(vault_create(f->db, &f->ks, NULL, f->err, sizeof(f->err)), VAULT_EEXISTS);
    assert_sentence(f);
}

/* Secrets: every reason a read or a change of state is refused. */
static void secret_errors(void **state)
{
    struct fixture *f = *state;
    vault_secret_t s;
    assert_int_equal(vault_secret_get(f->v, NULL, "nosuch", NULL, &s, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_sentence(f);
    assert_int_equal(vault_secret_get(f->v, NULL, "bad name!", NULL, &s, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_sentence(f);
    vault_secret_input_t off = {.disabled = 1}, later = {.nbf = vault__now() + 3600}, gone = {.exp = vault__now() - 10};
    assert_int_equal(vault_secret_set(f->v, NULL, "off", (const uint8_t *)"x", 1, &off, NULL, f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_secret_set(f->v, NULL, "later", (const uint8_t *)"x", 1, &later, NULL, f->err, sizeof(f->err)),
                     VAULT_OK);
    assert_int_equal(vault_secret_set(f->v, NULL, "gone", (const uint8_t *)"x", 1, &gone, NULL, f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_secret_get(f->v, NULL, "off", NULL, &s, f->err, sizeof(f->err)), VAULT_EDISABLED);
    assert_sentence(f);
    assert_int_equal(vault_secret_get(f->v, NULL, "later", NULL, &s, f->err, sizeof(f->err)), VAULT_ENOTYETVALID);
    assert_sentence(f);
    assert_int_equal(vault_secret_get(f->v, NULL, "gone", NULL, &s, f->err, sizeof(f->err)), VAULT_EEXPIRED);
    assert_sentence(f);
    assert_int_equal(vault_secret_get(f->v, NULL, "off", "00000000000000000000000000000000", &s, f->err, sizeof(f->err)),
                     VAULT_ENOTFOUND);
    assert_sentence(f);

    /* soft delete: reads and writes refused until recovered; recover and purge want a deleted secret */
    assert_int_equal(vault_secret_recover(f->v, NULL, "off", f->err, sizeof(f->err)), VAULT_ENOTDELETED);
    assert_sentence(f);
    assert_int_equal(vault_secret_purge(f->v, NULL, "off", f->err, sizeof(f->err)), VAULT_ENOTDELETED);
    assert_sentence(f);
    assert_int_equal(vault_secret_delete(f->v, NULL, "off", f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_secret_get(f->v, NULL, "off", NULL, &s, f->err, sizeof(f->err)), VAULT_EDELETED);
    assert_sentence(f);
    assert_int_equal(vault_secret_delete(f->v, NULL, "off", f->err, sizeof(f->err)), VAULT_EDELETED);
    assert_sentence(f);
    assert_int_equal(vault_secret_set(f->v, NULL, "off", (const uint8_t *)"y", 1, NULL, NULL, f->err, sizeof(f->err)),
                     VAULT_EDELETED);
    assert_sentence(f);
    assert_int_equal(vault_secret_delete(f->v, NULL, "nosuch", f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_sentence(f);

    /* purge protection */
    assert_int_equal(vault_settings_set(f->v, NULL, 0, 1, f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_secret_purge(f->v, NULL, "off", f->err, sizeof(f->err)), VAULT_EPURGEPROTECTED);
    assert_sentence(f);
    assert_int_equal(vault_settings_set(f->v, NULL, 0, 0, f->err, sizeof(f->err)), VAULT_EPURGEPROTECTED);
    assert_sentence(f);
    assert_int_equal(vault_settings_set(f->v, NULL, 3, -1, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_sentence(f);

    /* the limit on versions (reached by pretending the secret already holds that many) */
    long i = vault__find_secret(&f->v->st, "later");
    assert_true(i >= 0);
    size_t had = f->v->st.secrets[i].n;
    f->v->st.secrets[i].n = VAULT__MAX_ITEMS;
    vault_err_t rc = vault_secret_set(f->v, NULL, "later", (const uint8_t *)"z", 1, NULL, NULL, f->err, sizeof(f->err));
    f->v->st.secrets[i].n = had;
    assert_int_equal(rc, VAULT_ELIMIT);
    assert_sentence(f);
}

/* Stored access policies: invalid key or letters, absent account or policy. */
static void policy_errors(void **state)
{
    struct fixture *f = *state;
    vault_policy_t p = {.account = "acct1", .container = "c", .id = "p1", .permissions = "r"};
    assert_int_equal(vault_policy_put(f->v, NULL, &p, f->err, sizeof(f->err)), VAULT_EINVAL); /* container too short */
    assert_sentence(f);
    p.container = "photos";
    snprintf(p.permissions, sizeof(p.permissions), "rr");
    assert_int_equal(vault_policy_put(f->v, NULL, &p, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_sentence(f);
    snprintf(p.permissions, sizeof(p.permissions), "r");
    p.account = "nosuch";
    assert_int_equal(vault_policy_put(f->v, NULL, &p, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_sentence(f);
    assert_int_equal(vault_policy_delete(f->v, NULL, "acct1", "photos", "p1", f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_sentence(f);
    vault_policy_t *list;
    size_t n;
    assert_int_equal(vault_policy_list(f->v, "nosuch", NULL, &list, &n, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_sentence(f);
}

/* Files: none there, the wrong key, not a vault, a flipped byte, another vault's backup, an unwritable path. */
static void file_errors(void **state)
{
    struct fixture *f = *state;
    vault_err_t code = VAULT_OK;
    char *missing = vt_path(f->dir, "missing.db"), *bak = vt_path(f->dir, "v.bak"), *db2 = vt_path(f->dir, "two.db"),
         *bak2 = vt_path(f->dir, "two.bak"), *flipped = vt_path(f->dir, "flipped.db"),
         *nodir = vt_path(f->dir, "no/such/dir/v.bak");

    assert_null(vault_open(missing, &f->ks, NULL, &code, f->err, sizeof(f->err)));
    assert_int_equal(code, VAULT_ENOVAULT);
    assert_sentence(f);

    vault_keysource_t other = {0};
    uint8_t mk[32] = {7};
    vault_keysource_set_master(&other, mk);
    assert_null(vault_open(f->db, &other, NULL, &code, f->err, sizeof(f->err)));
    assert_int_equal(code, VAULT_EBADKEY);
    assert_sentence(f);
    vault_keysource_t pass = {0};
    vault_keysource_set_passphrase(&pass, "a passphrase", 12);
    assert_null(vault_open(f->db, &pass, NULL, &code, f->err, sizeof(f->err)));
    assert_int_equal(code, VAULT_EBADKEY);
    assert_sentence(f);

    assert_int_equal(vault_backup(f->v, NULL, bak, f->err, sizeof(f->err)), VAULT_OK);
    assert_null(vault_open(bak, &f->ks, NULL, &code, f->err, sizeof(f->err)));
    assert_int_equal(code, VAULT_EFORMAT);
    assert_sentence(f);

    size_t len;
    uint8_t *bytes = vt_read(f->db, &len);
    bytes[len - 20] ^= 1; /* inside the sealed payload */
    vt_write(flipped, bytes, len);
    assert_null(vault_open(flipped, &f->ks, NULL, &code, f->err, sizeof(f->err)));
    assert_int_equal(code, VAULT_ECORRUPT);
    assert_sentence(f);
    free(bytes);

    assert_int_equal(vault_create(db2, &f->ks, NULL, f->err, sizeof(f->err)), VAULT_OK);
    vault_t *v2 = vault_open(db2, &f->ks, NULL, &code, f->err, sizeof(f->err));
    assert_non_null(v2);
    assert_int_equal(code, VAULT_OK);
    assert_int_equal(vault_backup(v2, NULL, bak2, f->err, sizeof(f->err)), VAULT_OK);
    vault_close(v2);
    assert_int_equal(vault_restore(f->db, &f->ks, NULL, NULL, bak2, f->err, sizeof(f->err)), VAULT_EFOREIGN);
    assert_sentence(f);

    assert_int_equal(vault_backup(f->v, NULL, nodir, f->err, sizeof(f->err)), VAULT_EIO);
    assert_sentence(f);

    vault_keysource_wipe(&other);
    vault_keysource_wipe(&pass);
    free(missing);
    free(bak);
    free(db2);
    free(bak2);
    free(flipped);
    free(nodir);
}

/* No change without its audit record; a handle that could not roll back refuses everything. */
static void audit_and_broken(void **state)
{
    struct fixture *f = *state;
    char *moved = vt_path(f->dir, "audit.moved");
    assert_int_equal(rename(f->log, moved), 0);
    assert_int_equal(mkdir(f->log, 0700), 0); /* a directory where the log should be */
    assert_int_equal(vault_secret_set(f->v, NULL, "s", (const uint8_t *)"x", 1, NULL, NULL, f->err, sizeof(f->err)), VAULT_EAUDIT);
    assert_sentence(f);
    assert_int_equal(rmdir(f->log), 0);
    assert_int_equal(rename(moved, f->log), 0);
    assert_int_equal(vault_secret_set(f->v, NULL, "s", (const uint8_t *)"x", 1, NULL, NULL, f->err, sizeof(f->err)), VAULT_OK);
    free(moved);

    f->v->broken = 1;
    assert_int_equal(vault_secret_set(f->v, NULL, "s", (const uint8_t *)"y", 1, NULL, NULL, f->err, sizeof(f->err)), VAULT_EBROKEN);
    assert_sentence(f);
}

/* Key sources: both files, a file open to others, a short passphrase. */
static void keysource_errors(void **state)
{
    struct fixture *f = *state;
    vault_keysource_t ks;
    char *key = vt_path(f->dir, "mk"), *missing = vt_path(f->dir, "nosuch-key");
    assert_int_equal(vault_keysource_resolve(&ks, key, key, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_sentence(f);
    vt_write(key, "0123456789abcdef0123456789abcdef", 32);
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(vault_keysource_resolve(&ks, key, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_sentence(f);
    assert_int_equal(vault_keysource_resolve(&ks, missing, NULL, f->err, sizeof(f->err)), VAULT_EIO);
    assert_sentence(f);
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(vault_keysource_resolve(&ks, key, NULL, f->err, sizeof(f->err)), VAULT_OK);
    vault_keysource_wipe(&ks);
    free(key);
    free(missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_distinct),
        cmocka_unit_test_setup_teardown(account_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(secret_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(policy_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_and_broken, setup, teardown),
        cmocka_unit_test_setup_teardown(keysource_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
