/*
 * Tests the file lock of vault/vault_store.c: two processes, each running 50
 * `secret set` of its own names at the same time, lose no update.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

#define PER_WRITER 50

static void writer(const char *db, char prefix)
{
    char name[32], value[32];
    for (int i = 0; i < PER_WRITER; i++) {
        snprintf(name, sizeof(name), "%c%d", prefix, i);
        snprintf(value, sizeof(value), "%c-value-%d", prefix, i);
        if (vt_run(NULL, NULL, 0, "secret", "set", name, "--value", value, "--vault", db, NULL) != 0)
            _exit(1);
    }
    _exit(0);
}

static void two_writers_lose_nothing(void **state)
{
    char *dir = *state, *db = vt_path(dir, "vault.db");
    char err[512], name[32], value[32];
    vault_keysource_t ks;
    vt_set_master_key(4);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", db, NULL), 0);
    pid_t a = fork();
    if (a == 0)
        writer(db, 'a');
    pid_t b = fork();
    if (b == 0)
        writer(db, 'b');
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    assert_true(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
    assert_true(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);

    assert_int_equal(vault_keysource_resolve(&ks, NULL, NULL, err, sizeof(err)), 0);
    vault_t *v = vault_open(db, &ks, NULL, NULL, err, sizeof(err));
    assert_non_null(v);
    vault_status_t st;
    vault_get_status(v, &st);
    assert_int_equal(st.secrets, 2 * PER_WRITER);
    assert_int_equal(st.generation, 1 + 2 * PER_WRITER);
    for (char p = 'a'; p <= 'b'; p++)
        for (int i = 0; i < PER_WRITER; i++) {
            vault_secret_t s;
            snprintf(name, sizeof(name), "%c%d", p, i);
            snprintf(value, sizeof(value), "%c-value-%d", p, i);
            assert_int_equal(vault_secret_get(v, NULL, name, NULL, &s, err, sizeof(err)), 0);
            assert_int_equal(s.value_len, strlen(value));
            assert_memory_equal(s.value, value, s.value_len);
            vault_secret_dispose(&s);
        }
    vault_close(v);
    vault_keysource_wipe(&ks);
    /* 1 init + 100 sets + 100 gets, in one unbroken chain */
    struct vt_result r;
    assert_int_equal(vt_run(&r, NULL, 0, "audit", "verify", "--vault", db, NULL), 0);
    assert_non_null(strstr(r.out, "201 records"));
    vt_result_free(&r);
    free(db);
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
        cmocka_unit_test_setup_teardown(two_writers_lose_nothing, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
