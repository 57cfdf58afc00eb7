/*
 * Tests vault/vault_store.c's write path under SIGKILL: 240 `secret set` runs,
 * each killed after a random delay spread over the length of a write. After
 * every kill the vault opens; at the end, every write whose process exited 0
 * is in the vault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

#define WRITES 240

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static pid_t spawn_set(const char *db, const char *name, const char *value)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execl(getenv("SASGW_BINARY"), "sasgw", "secret", "set", name, "--value", value, "--vault", db, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void kill9_during_writes(void **state)
{
    char *dir = *state, *db = vt_path(dir, "vault.db");
    char err[512], name[32], value[64];
    int done[WRITES] = {0}, confirmed = 0, killed = 0;
    vault_keysource_t ks;
    vt_set_master_key(3);
    assert_int_equal(vault_keysource_resolve(&ks, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", db, NULL), 0);

    /* how long one write takes, unkilled */
    double t0 = now_us();
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "warmup", "--value", "w", "--vault", db, NULL), 0);
    double span = (now_us() - t0) * 1.3;
    srand((unsigned)time(NULL));

    for (int i = 0; i < WRITES; i++) {
        int st;
        snprintf(name, sizeof(name), "s%d", i);
        snprintf(value, sizeof(value), "value-%d", i);
        pid_t pid = spawn_set(db, name, value);
        usleep((useconds_t)(span * (rand() / (RAND_MAX + 1.0))));
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            done[i] = 1;
            confirmed++;
        } else {
            assert_true(WIFSIGNALED(st));
            killed++;
        }
        /* the vault always opens */
        vault_t *v = vault_open(db, &ks, NULL, NULL, err, sizeof(err));
        if (v == NULL)
            fail_msg("after write %d: %s", i, err);
        vault_close(v);
    }
    print_message("%d writes: %d reported done, %d killed\n", WRITES, confirmed, killed);
    assert_true(killed > 0);
    assert_true(confirmed > 0);

    /* every confirmed write is there */
    vault_t *v = vault_open(db, &ks, NULL, NULL, err, sizeof(err));
    assert_non_null(v);
    for (int i = 0; i < WRITES; i++) {
        vault_secret_t s;
        snprintf(name, sizeof(name), "s%d", i);
        snprintf(value, sizeof(value), "value-%d", i);
        int rc = vault_secret_get(v, NULL, name, NULL, &s, err, sizeof(err));
        if (done[i] && rc != 0)
            fail_msg("write %d was reported done but is missing: %s", i, err);
        if (rc == 0) {
            assert_int_equal(s.value_len, strlen(value));
            assert_memory_equal(s.value, value, s.value_len);
            vault_secret_dispose(&s);
        }
    }
    vault_close(v);
    /* and the audit chain survived */
    assert_int_equal(vt_run(NULL, NULL, 0, "audit", "verify", "--vault", db, NULL), 0);
    vault_keysource_wipe(&ks);
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
        cmocka_unit_test_setup_teardown(kill9_during_writes, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
