/*
 * Tests the limits and refusals of the vault CLI (gateway/cli/cli_vault.c over
 * vault/): secrets over 25 KB, bad secret, account, container and policy
 * names, bad permission letters, retention out of range, purge protection.
 * Every refusal exits 1 with one sentence on stderr and changes nothing;
 * usage errors exit 2.
 */
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

struct fixture {
    char *dir, *db;
};

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    vt_set_master_key(6);
    f->dir = vt_mkdtemp();
    f->db = vt_path(f->dir, "vault.db");
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", f->db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "account", "add", "acct1", "--key1", "AAECAwQFBgcICQoLDA0ODw==", "--vault", f->db, NULL),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->db);
    vt_rmtree(f->dir);
    free(f);
    return 0;
}

/* Runs a command that must be refused (exit 1, one sentence containing `words`) without changing the vault. */
#define REFUSED(f, in, inlen, words, ...)                                                                                          \
    do {                                                                                                                           \
        size_t n0, n1;                                                                                                             \
        uint8_t *before = vt_read((f)->db, &n0);                                                                                   \
        struct vt_result r;                                                                                                        \
        int rc = vt_run(&r, in, inlen, __VA_ARGS__, "--vault", (f)->db, NULL);                                                     \
        if (rc != 1 || !vt_one_sentence(r.err) || strstr(r.err, words) == NULL)                                                    \
            fail_msg("expected a refusal mentioning '%s', got exit %d and '%s'", words, rc, r.err);                                \
        uint8_t *after = vt_read((f)->db, &n1);                                                                                    \
        assert_int_equal(n0, n1);                                                                                                  \
        assert_memory_equal(before, after, n0);                                                                                    \
        free(before);                                                                                                              \
        free(after);                                                                                                               \
        vt_result_free(&r);                                                                                                        \
    } while (0)

static void secret_size(void **state)
{
    struct fixture *f = *state;
    char *big = sg_alloc(VAULT_SECRET_MAX + 2);
    memset(big, 'x', VAULT_SECRET_MAX + 1);
    big[VAULT_SECRET_MAX + 1] = '\0';
    /* 25601 bytes: refused, from stdin and from --value */
    REFUSED(f, big, VAULT_SECRET_MAX + 1, "25 KB", "secret", "set", "big");
    REFUSED(f, NULL, 0, "25 KB", "secret", "set", "big", "--value", big);
    /* a megabyte on stdin too */
    char *huge = sg_alloc(1 << 20);
    memset(huge, 'y', 1 << 20);
    REFUSED(f, huge, 1 << 20, "25 KB", "secret", "set", "big");
    free(huge);
    /* exactly 25600 bytes: accepted and read back whole */
    struct vt_result r;
    assert_int_equal(vt_run(NULL, big, VAULT_SECRET_MAX, "secret", "set", "big", "--vault", f->db, NULL), 0);
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "get", "big", "--vault", f->db, NULL), 0);
    assert_int_equal(r.outlen, VAULT_SECRET_MAX);
    assert_memory_equal(r.out, big, VAULT_SECRET_MAX);
    vt_result_free(&r);
    free(big);
}

static void names(void **state)
{
    struct fixture *f = *state;
    char name[200];
    memset(name, 'a', 127);
    name[127] = '\0';
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", name, "--value", "v", "--vault", f->db, NULL), 0);
    name[127] = 'a';
    name[128] = '\0';
    REFUSED(f, NULL, 0, "secret name", "secret", "set", name, "--value", "v");
    const char *bad[] = {"under_score", "dot.dot", "sp ace", "slash/x", "ümlaut", "tab\t"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        REFUSED(f, NULL, 0, "secret name", "secret", "set", bad[i], "--value", "v");
        REFUSED(f, NULL, 0, "secret name", "secret", "get", bad[i]);
    }
    REFUSED(f, NULL, 0, "secret name", "secret", "set", "", "--value", "v");
    const char *bad_accounts[] = {"ab", "Upper1", "has-dash", "waytoolongaccountname12345"};
    for (size_t i = 0; i < sizeof(bad_accounts) / sizeof(bad_accounts[0]); i++)
        REFUSED(f, NULL, 0, "account name", "account", "add", bad_accounts[i], "--key1", "AAECAwQFBgcICQoLDA0ODw==");
    REFUSED(f, NULL, 0, "already exists", "account", "add", "acct1", "--key1", "AAECAwQFBgcICQoLDA0ODg==");
    REFUSED(f, NULL, 0, "16 to 64 bytes", "account", "add", "acct2", "--key1", "AAEC");
    REFUSED(f, NULL, 0, "base64", "account", "add", "acct2", "--key1", "not base64!");
    REFUSED(f, NULL, 0, "no account", "account", "rotate", "nosuch", "--slot", "key1");
    REFUSED(f, NULL, 0, "no key1 version 9", "account", "retire", "acct1", "--slot", "key1", "--version", "9");
    assert_int_equal(
        vt_run(NULL, NULL, 0, "account", "retire", "acct1", "--slot", "key1", "--version", "1", "--vault", f->db, NULL), 0);
    REFUSED(f, NULL, 0, "already retired", "account", "retire", "acct1", "--slot", "key1", "--version", "1");
}

static void policies(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(
        vt_run(NULL, NULL, 0, "policy-store", "set", "acct1", "photos", "p1", "--permissions", "rwl", "--vault", f->db, NULL), 0);
    REFUSED(f, NULL, 0, "permission", "policy-store", "set", "acct1", "photos", "p2", "--permissions", "rr");
    REFUSED(f, NULL, 0, "permission", "policy-store", "set", "acct1", "photos", "p2", "--permissions", "rz");
    REFUSED(f, NULL, 0, "container name", "policy-store", "set", "acct1", "Photos", "p2");
    REFUSED(f, NULL, 0, "container name", "policy-store", "set", "acct1", "a--b", "p2");
    REFUSED(f, NULL, 0, "policy id", "policy-store", "set", "acct1", "photos",
            "0123456789012345678901234567890123456789012345678901234567890123x");
    REFUSED(f, NULL, 0, "no account", "policy-store", "set", "acct9", "photos", "p2");
    REFUSED(f, NULL, 0, "earlier than", "policy-store", "set", "acct1", "photos", "p2", "--start", "2030-01-02", "--expiry",
            "2030-01-01");
    REFUSED(f, NULL, 0, "not a time", "policy-store", "set", "acct1", "photos", "p2", "--expiry", "tomorrow");
    REFUSED(f, NULL, 0, "no stored access policy", "policy-store", "delete", "acct1", "photos", "p9");
}

static void settings_and_purge(void **state)
{
    struct fixture *f = *state;
    REFUSED(f, NULL, 0, "between 7 and 90", "vault", "set", "--retention-days", "6");
    REFUSED(f, NULL, 0, "between 7 and 90", "vault", "set", "--retention-days", "91");
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "s1", "--value", "v", "--vault", f->db, NULL), 0);
    REFUSED(f, NULL, 0, "not deleted", "secret", "purge", "s1");
    REFUSED(f, NULL, 0, "not deleted", "secret", "recover", "s1");
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "delete", "s1", "--vault", f->db, NULL), 0);
    REFUSED(f, NULL, 0, "deleted", "secret", "set", "s1", "--value", "v2");
    REFUSED(f, NULL, 0, "deleted", "secret", "get", "s1");
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "set", "--purge-protection", "on", "--vault", f->db, NULL), 0);
    REFUSED(f, NULL, 0, "purge protection", "secret", "purge", "s1");
    REFUSED(f, NULL, 0, "cannot be turned off", "vault", "set", "--purge-protection", "off");
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "recover", "s1", "--vault", f->db, NULL), 0);
    REFUSED(f, NULL, 0, "earlier than", "secret", "set", "s1", "--value", "v", "--not-before", "2030-01-02", "--expires",
            "2030-01-01");
}

static void usage_errors(void **state)
{
    struct fixture *f = *state;
    struct vt_result r;
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "set", "--vault", f->db, NULL), 2);
    assert_true(vt_one_sentence(r.err));
    vt_result_free(&r);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "x", "--bogus", "--vault", f->db, NULL), 2);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "frobnicate", NULL), 2);
    assert_int_equal(vt_run(NULL, NULL, 0, "account", "rotate", "acct1", "--vault", f->db, NULL), 2);
    assert_int_equal(vt_run(NULL, NULL, 0, "account", "rotate", "acct1", "--slot", "key3", "--vault", f->db, NULL), 2);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "set", "--vault", f->db, NULL), 2);
    const char *cmds[] = {"vault", "account", "secret", "policy-store", "audit", "backup", "restore"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        assert_int_equal(vt_run(&r, NULL, 0, cmds[i], "--help", NULL), 0);
        assert_non_null(strstr(r.out, "usage: sasgw"));
        vt_result_free(&r);
    }
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "set", "--help", NULL), 0);
    assert_non_null(strstr(r.out, "--content-type"));
    vt_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(secret_size, setup, teardown),
        cmocka_unit_test_setup_teardown(names, setup, teardown),
        cmocka_unit_test_setup_teardown(policies, setup, teardown),
        cmocka_unit_test_setup_teardown(settings_and_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(usage_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
