/*
 * Tests vault_audit_append_batch (vault/vault_audit.c): batches chain exactly
 * like single appends, also when single appends, other handles and a second
 * process append to the same log between them; an invalid record refuses the
 * batch before anything is written; field strings keep their UTF-8 and
 * invalid bytes become U+FFFD; a batch that cannot be written is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "sasgw/common.h"
#include "testutil.h"
#include "sasgw/vault.h"

struct fixture {
    char *dir, *log;
};

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    f->dir = vt_mkdtemp();
    f->log = vt_path(f->dir, "audit.log");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vt_rmtree(f->dir);
    free(f->log);
    free(f);
    return 0;
}

/* Fills recs[0..n-1] as mints of objects "<tag>/<i>" (objects in buf, 32 bytes each). */
static void fill(vault_audit_record_t *recs, char *buf, size_t n, const char *tag)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + 32 * i, 32, "%s/%zu", tag, i);
        recs[i] = (vault_audit_record_t){.principal = "gw",
                                         .op = "sas.mint",
                                         .object = buf + 32 * i,
                                         .result = "ok",
                                         .client = "127.0.0.1",
                                         .request_id = "r1",
                                         .token_id = "abc"};
    }
}

static uint64_t verified(const char *log)
{
    char err[512];
    uint64_t records = 0, bad = 0;
    int rc = vault_audit_verify(log, &records, &bad, err, sizeof(err));
    if (rc != 0)
        print_error("verify: %s\n", err);
    assert_int_equal(rc, 0);
    return records;
}

/* Batches, single appends and a second handle on the same log (as another process would) interleave: one chain. */
static void batches_interleave_with_singles(void **state)
{
    struct fixture *f = *state;
    char err[256], objs[32 * 50];
    vault_audit_record_t recs[50];
    vault_audit_t *a = vault_audit_open(f->log, err, sizeof(err));
    vault_audit_t *b = vault_audit_open(f->log, err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);

    fill(recs, objs, 50, "a");
    assert_int_equal(vault_audit_append_batch(a, recs, 50, err, sizeof(err)), 0); /* the first record: genesis */
    assert_int_equal(verified(f->log), 50);
    assert_int_equal(vault_audit_append(a, &recs[0], err, sizeof(err)), 0);
    assert_int_equal(vault_audit_append_batch(a, recs, 7, err, sizeof(err)), 0);
    assert_int_equal(vault_audit_append_batch(b, recs, 3, err, sizeof(err)), 0); /* a's remembered head is stale now */
    assert_int_equal(vault_audit_append_batch(a, recs, 5, err, sizeof(err)), 0);
    assert_int_equal(vault_audit_append(b, &recs[1], err, sizeof(err)), 0);
    assert_int_equal(vault_audit_append_batch(a, recs, 1, err, sizeof(err)), 0);
    assert_int_equal(vault_audit_append_batch(a, recs, 0, err, sizeof(err)), 0);
    assert_int_equal(verified(f->log), 50 + 1 + 7 + 3 + 5 + 1 + 1);

    /* the log removed under the handle: it starts a new one */
    assert_int_equal(unlink(f->log), 0);
    assert_int_equal(vault_audit_append_batch(a, recs, 4, err, sizeof(err)), 0);
    assert_int_equal(verified(f->log), 4);

    /* a torn last line (a crash inside another appender's write) is cut off */
    FILE *out = fopen(f->log, "ab");
    assert_non_null(out);
    fputs("{\"ts\":\"torn", out);
    fclose(out);
    assert_int_equal(vault_audit_append_batch(a, recs, 2, err, sizeof(err)), 0);
    assert_int_equal(verified(f->log), 6);

    vault_audit_close(a);
    vault_audit_close(b);
}

/* A second process appends batches and singles while this one does: one unbroken chain. */
static void second_process_keeps_one_chain(void **state)
{
    struct fixture *f = *state;
    char err[256], objs[32 * 10];
    vault_audit_record_t recs[10];
    vault_audit_t *a = vault_audit_open(f->log, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(vault_audit_append(a, &(vault_audit_record_t){.op = "start", .result = "ok"}, err, sizeof(err)), 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* a handle of its own (the inherited one shares the parent's descriptor, hence its flock) */
        vault_audit_t *c = vault_audit_open(f->log, err, sizeof(err));
        fill(recs, objs, 10, "child");
        int bad = c == NULL;
        for (int i = 0; i < 100 && !bad; i++)
            bad = (i % 3 == 0 ? vault_audit_append(c, &recs[i % 10], err, sizeof(err))
                              : vault_audit_append_batch(c, recs, 1 + (size_t)i % 10, err, sizeof(err))) != 0;
        _exit(bad);
    }
    fill(recs, objs, 10, "parent");
    uint64_t want = 1;
    for (int i = 0; i < 100; i++) {
        size_t n = 1 + (size_t)i % 10;
        assert_int_equal(vault_audit_append_batch(a, recs, n, err, sizeof(err)), 0);
        want += n;
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (int i = 0; i < 100; i++)
        want += i % 3 == 0 ? 1 : 1 + (uint64_t)i % 10;
    /* and the parent's handle, whose remembered head is stale, still chains right */
    assert_int_equal(vault_audit_append_batch(a, recs, 3, err, sizeof(err)), 0);
    want += 3;
    assert_int_equal(verified(f->log), want);
    vault_audit_close(a);
}

/* An invalid record refuses the whole batch before anything is written. */
static void invalid_record_refuses_batch(void **state)
{
    struct fixture *f = *state;
    char err[256], objs[32 * 4];
    vault_audit_record_t recs[4];
    vault_audit_t *a = vault_audit_open(f->log, err, sizeof(err));
    fill(recs, objs, 4, "x");
    assert_int_equal(vault_audit_append_batch(a, recs, 2, err, sizeof(err)), 0);
    recs[2].result = NULL;
    assert_int_equal(vault_audit_append_batch(a, recs, 4, err, sizeof(err)), VAULT_EINVAL);
    assert_non_null(strstr(err, "record 3"));
    assert_true(err[0] != '\0' && strchr(err, '\n') == NULL);
    assert_int_equal(verified(f->log), 2);
    vault_audit_close(a);
}

/* A record standing for many refusals carries count, first and last; a plain one carries none; the chain holds. */
static void coalesced_record_fields(void **state)
{
    struct fixture *f = *state;
    char err[256];
    vault_audit_t *a = vault_audit_open(f->log, err, sizeof(err));
    vault_audit_record_t recs[2] = {
        {.principal = "anonymous",
         .op = "auth",
         .object = "/v1/sas",
         .result = "refused",
         .client = "192.0.2.1",
         .reason = "credentials rejected",
         .count = 300,
         .first = "2026-01-01T00:00:00Z",
         .last = "2026-01-01T00:00:59Z"},
        {.op = "sas.issue", .result = "ok"},
    };
    assert_int_equal(vault_audit_append_batch(a, recs, 2, err, sizeof(err)), 0);
    assert_int_equal(verified(f->log), 2);
    size_t len;
    char *text = (char *)vt_read(f->log, &len);
    text[len] = '\0';
    char *second = strchr(text, '\n') + 1;
    second[-1] = '\0';
    assert_non_null(strstr(text, ",\"reason\":\"credentials rejected\",\"count\":300,\"first\":\"2026-01-01T00:00:00Z\","
                                 "\"last\":\"2026-01-01T00:00:59Z\",\"prev\":"));
    assert_null(strstr(second, "\"count\""));
    assert_null(strstr(second, "\"first\""));
    free(text);
    vault_audit_close(a);
}

/* A log that cannot be written refuses the batch with one sentence. */
static void unwritable_log_refuses(void **state)
{
    struct fixture *f = *state;
    char err[256], objs[32 * 4], *path = vt_path(f->dir, "no/such/dir/audit.log");
    vault_audit_record_t recs[4];
    vault_audit_t *a = vault_audit_open(path, err, sizeof(err));
    fill(recs, objs, 4, "x");
    err[0] = '\0';
    assert_int_equal(vault_audit_append_batch(a, recs, 4, err, sizeof(err)), VAULT_EIO);
    assert_true(err[0] != '\0' && strchr(err, '\n') == NULL);
    vault_audit_close(a);
    free(path);
}

/* The string field "reason" of line i (0-based) of the log, parsed by jansson; to free(). */
static char *reason_of_line(const char *log, size_t want)
{
    size_t len;
    char *text = (char *)vt_read(log, &len), *line = text;
    assert_non_null(text);
    text[len] = '\0';
    for (size_t i = 0; i < want; i++)
        line = strchr(line, '\n') + 1;
    *strchr(line, '\n') = '\0';
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    assert_non_null(o);
    char *out = sg_strdup(json_string_value(json_object_get(o, "reason")));
    json_decref(o);
    free(text);
    return out;
}

/* UTF-8 comes back as it went in; invalid bytes become U+FFFD; control characters are escaped; cuts keep UTF-8. */
static void utf8_round_trip(void **state)
{
    struct fixture *f = *state;
    char err[256];
    static const char *const good = "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x91 \"q\" \\ tab\there";
    vault_audit_t *a = vault_audit_open(f->log, err, sizeof(err));
    vault_audit_record_t recs[4] = {
        {.op = "utf8", .result = "ok", .reason = good},
        /* a stray continuation byte, a cut sequence, an overlong '/', a surrogate, DEL */
        {.op = "utf8", .result = "ok", .reason = "a\x80" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e\x7f"},
        {.op = "utf8", .result = "ok", .reason = NULL},
        {.op = "utf8", .result = "ok", .reason = NULL},
    };
    /* 1023 ASCII bytes, then é: the 1024-byte limit falls inside é, which is left out whole */
    char *longer = sg_alloc(2000);
    memset(longer, 'x', 1023);
    memcpy(longer + 1023, "\xc3\xa9zz", 5);
    recs[2].reason = longer;
    /* exactly 1024 bytes ending in a 2-byte sequence: kept */
    char *fits = sg_alloc(2000);
    memset(fits, 'y', 1022);
    memcpy(fits + 1022, "\xc3\xa9", 3);
    recs[3].reason = fits;
    assert_int_equal(vault_audit_append_batch(a, recs, 4, err, sizeof(err)), 0);
    vault_audit_close(a);
    assert_int_equal(verified(f->log), 4);

    char *got = reason_of_line(f->log, 0);
    assert_string_equal(got, good);
    free(got);
    assert_int_equal(vt_file_contains(f->log, "caf\xc3\xa9", 5), 1); /* as bytes, not \u00c3\u00a9 */
    got = reason_of_line(f->log, 1);
    assert_string_equal(got, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e\x7f");
    free(got);
    got = reason_of_line(f->log, 2);
    assert_int_equal(strlen(got), 1023);
    free(got);
    got = reason_of_line(f->log, 3);
    assert_int_equal(strlen(got), 1024);
    assert_memory_equal(got + 1022, "\xc3\xa9", 2);
    free(got);
    free(longer);
    free(fits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(batches_interleave_with_singles, setup, teardown),
        cmocka_unit_test_setup_teardown(second_process_keeps_one_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_record_refuses_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(coalesced_record_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(unwritable_log_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(utf8_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
