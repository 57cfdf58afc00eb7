/*
 * Tests vault/vault_audit.c: `audit verify` finds an edited, a removed and a
 * reordered record and names the line; the vault's anchor finds a removed
 * tail and an edited last record; records never carry keys or secret values;
 * when a record cannot be written the operation is refused and the vault is
 * unchanged; concurrent appenders (threads) keep one chain.
 */
#include <pthread.h>
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

#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

struct fixture {
    char *dir, *db, *log;
    char **lines;
    size_t nlines;
};

static void split_lines(struct fixture *f)
{
    size_t len;
    char *text = (char *)vt_read(f->log, &len);
    assert_non_null(text);
    text[len] = '\0';
    f->nlines = 0;
    f->lines = NULL;
    for (char *p = text; *p != '\0';) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        f->lines = sg_realloc(f->lines, (f->nlines + 1) * sizeof(char *));
        f->lines[f->nlines++] = sg_strndup(p, (size_t)(nl - p + 1));
        p = nl + 1;
    }
    free(text);
}

static void write_lines(struct fixture *f, char **lines, size_t n)
{
    FILE *out = fopen(f->log, "wb");
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        fputs(lines[i], out);
    fclose(out);
}

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    vt_set_master_key(8);
    f->dir = vt_mkdtemp();
    f->db = vt_path(f->dir, "vault.db");
    f->log = vt_path(f->dir, "audit.log");
    assert_int_equal(vt_run(NULL, NULL, 0, "vault", "init", "--vault", f->db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "account", "add", "acct1", "--key1", "AAECAwQFBgcICQoLDA0ODw==", "--vault", f->db, NULL),
                     0);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "set", "s1", "--value", "plain-secret-1", "--vault", f->db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "get", "s1", "--vault", f->db, NULL), 0);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "get", "nope", "--vault", f->db, NULL), 1);
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "delete", "s1", "--vault", f->db, NULL), 0);
    split_lines(f);
    assert_int_equal(f->nlines, 6);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < f->nlines; i++)
        free(f->lines[i]);
    free(f->lines);
    free(f->db);
    free(f->log);
    vt_rmtree(f->dir);
    free(f);
    return 0;
}

/* audit verify without a master key (chain only) must fail naming `line`. */
static void expect_bad(struct fixture *f, const char *line)
{
    struct vt_result r;
    char *mk = sg_strdup(getenv("SASGW_MASTER_KEY"));
    unsetenv("SASGW_MASTER_KEY");
    assert_int_equal(vt_run(&r, NULL, 0, "audit", "verify", "--vault", f->db, NULL), 1);
    setenv("SASGW_MASTER_KEY", mk, 1);
    free(mk);
    if (!vt_one_sentence(r.err) || strstr(r.err, line) == NULL)
        fail_msg("expected '%s' in '%s'", line, r.err);
    vt_result_free(&r);
}

static void intact_chain_verifies(void **state)
{
    struct fixture *f = *state;
    struct vt_result r;
    assert_int_equal(vt_run(&r, NULL, 0, "audit", "verify", "--vault", f->db, NULL), 0);
    assert_non_null(strstr(r.out, "6 records"));
    assert_non_null(strstr(r.out, "anchor intact"));
    vt_result_free(&r);
    /* what the records hold */
    assert_non_null(strstr(f->lines[0], "\"seq\":1,"));
    assert_non_null(strstr(f->lines[0], "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
    assert_non_null(strstr(f->lines[3], "\"principal\":\"cli\",\"op\":\"secret.get\",\"object\":\"secrets/s1/"));
    assert_non_null(strstr(f->lines[4], "\"result\":\"refused\""));
    for (size_t i = 0; i < f->nlines; i++) {
        assert_null(strstr(f->lines[i], "plain-secret-1"));
        assert_null(strstr(f->lines[i], "AAECAwQFBgcICQoLDA0ODw"));
    }
    /* tail */
    assert_int_equal(vt_run(&r, NULL, 0, "audit", "tail", "-n", "2", "--json", "--vault", f->db, NULL), 0);
    char expect[4096];
    snprintf(expect, sizeof(expect), "%s%s", f->lines[4], f->lines[5]);
    assert_string_equal(r.out, expect);
    vt_result_free(&r);
}

static void edited_record(void **state)
{
    struct fixture *f = *state;
    char *p = strstr(f->lines[2], "\"result\":\"ok\"");
    assert_non_null(p);
    memcpy(p + 10, "no", 2);
    write_lines(f, f->lines, f->nlines);
    expect_bad(f, "line 4");
}

static void removed_record(void **state)
{
    struct fixture *f = *state;
    char *keep[6];
    size_t n = 0;
    for (size_t i = 0; i < f->nlines; i++)
        if (i != 2)
            keep[n++] = f->lines[i];
    write_lines(f, keep, n);
    expect_bad(f, "line 3");
}

static void reordered_records(void **state)
{
    struct fixture *f = *state;
    char *t = f->lines[1];
    f->lines[1] = f->lines[2];
    f->lines[2] = t;
    write_lines(f, f->lines, f->nlines);
    expect_bad(f, "line 2");
}

/* What the chain alone cannot see, the anchor in the vault does. */
static void removed_tail_and_edited_last(void **state)
{
    struct fixture *f = *state;
    struct vt_result r;
    write_lines(f, f->lines, f->nlines - 2);
    assert_int_equal(vt_run(&r, NULL, 0, "audit", "verify", "--vault", f->db, NULL), 1);
    assert_non_null(strstr(r.err, "tail was removed"));
    vt_result_free(&r);
    /* the last write anchored line 5 (the head when the delete began): cut line 6, edit line 5, now the last */
    char *p = strstr(f->lines[4], "\"result\":\"refused\"");
    assert_non_null(p);
    memcpy(p + 10, "REFUSED", 7);
    write_lines(f, f->lines, f->nlines - 1);
    assert_int_equal(vt_run(&r, NULL, 0, "audit", "verify", "--vault", f->db, NULL), 1);
    assert_non_null(strstr(r.err, "line 5 of the audit log is not the record the vault anchored"));
    vt_result_free(&r);
    /* without the key only the chain is checked, and it cannot see this */
    char *mk = sg_strdup(getenv("SASGW_MASTER_KEY"));
    unsetenv("SASGW_MASTER_KEY");
    assert_int_equal(vt_run(&r, NULL, 0, "audit", "verify", "--vault", f->db, NULL), 0);
    assert_non_null(strstr(r.out, "anchor not checked"));
    setenv("SASGW_MASTER_KEY", mk, 1);
    free(mk);
    vt_result_free(&r);
}

/* The audit log cannot be written: the operation is refused and the vault is unchanged. */
static void unwritable_log_refuses(void **state)
{
    struct fixture *f = *state;
    struct vt_result r;
    size_t n0, n1;
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "recover", "s1", "--vault", f->db, NULL), 0);
    uint8_t *before = vt_read(f->db, &n0);
    char *moved = vt_path(f->dir, "audit.moved");
    assert_int_equal(rename(f->log, moved), 0);
    assert_int_equal(mkdir(f->log, 0700), 0); /* a directory where the log should be */
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "set", "s2", "--value", "v", "--vault", f->db, NULL), 1);
    assert_true(vt_one_sentence(r.err));
    assert_non_null(strstr(r.err, "audit record cannot be written"));
    vt_result_free(&r);
    assert_int_equal(vt_run(&r, NULL, 0, "account", "rotate", "acct1", "--slot", "key1", "--vault", f->db, NULL), 1);
    vt_result_free(&r);
    /* reading a secret is refused too: no read without its record */
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "get", "s1", "--vault", f->db, NULL), 1);
    assert_int_equal(r.outlen, 0);
    assert_non_null(strstr(r.err, "audit record cannot be written"));
    vt_result_free(&r);
    uint8_t *after = vt_read(f->db, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(after);
    /* and an explicit --audit-log on a read-only path */
    assert_int_equal(
        vt_run(&r, NULL, 0, "secret", "set", "s2", "--value", "v", "--vault", f->db, "--audit-log", "/proc/version", NULL), 1);
    vt_result_free(&r);
    after = vt_read(f->db, &n1);
    assert_memory_equal(before, after, n0);
    free(after);
    free(before);
    /* back in place, writes work again and the chain is whole */
    assert_int_equal(rmdir(f->log), 0);
    assert_int_equal(rename(moved, f->log), 0);
    assert_int_equal(vt_run(&r, NULL, 0, "secret", "get", "s1", "--vault", f->db, NULL), 0);
    assert_string_equal(r.out, "plain-secret-1");
    vt_result_free(&r);
    assert_int_equal(vt_run(NULL, NULL, 0, "audit", "verify", "--vault", f->db, NULL), 0);
    free(moved);
}

struct appender {
    vault_audit_t *a;
    int id;
};

static void *append_many(void *arg)
{
    struct appender *ap = arg;
    char obj[32], err[256];
    for (int i = 0; i < 50; i++) {
        snprintf(obj, sizeof(obj), "t%d/%d", ap->id, i);
        vault_audit_record_t rec = {.principal = "gw",
                                    .op = "sas.mint",
                                    .object = obj,
                                    .result = "ok",
                                    .client = "127.0.0.1",
                                    .request_id = "r1",
                                    .token_id = "abc",
                                    .reason = "a \"quoted\"\nline"};
        if (vault_audit_append(ap->a, &rec, err, sizeof(err)) != 0)
            return (void *)1;
    }
    return NULL;
}

/* Four threads and this process's CLI calls append to one log: one unbroken chain. */
static void threads_keep_one_chain(void **state)
{
    struct fixture *f = *state;
    char err[256];
    vault_audit_t *a = vault_audit_open(f->log, err, sizeof(err));
    assert_non_null(a);
    pthread_t t[4];
    struct appender ap[4];
    for (int i = 0; i < 4; i++) {
        ap[i].a = a;
        ap[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, append_many, &ap[i]), 0);
    }
    assert_int_equal(vt_run(NULL, NULL, 0, "secret", "recover", "s1", "--vault", f->db, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    vault_audit_close(a);
    uint64_t records, bad;
    assert_int_equal(vault_audit_verify(f->log, &records, &bad, err, sizeof(err)), 0);
    assert_int_equal(records, 6 + 200 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(intact_chain_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(edited_record, setup, teardown),
        cmocka_unit_test_setup_teardown(removed_record, setup, teardown),
        cmocka_unit_test_setup_teardown(reordered_records, setup, teardown),
        cmocka_unit_test_setup_teardown(removed_tail_and_edited_last, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_log_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(threads_keep_one_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
