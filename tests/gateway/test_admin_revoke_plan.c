/* Tests gateway/revoke_plan.c: the Redis commands a revocation runs, and how lookup replies are read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "revoke_plan.h"

#define NOW 1800000000
#define ID_A "AAAAAAAAAAAAAAAAAAAAAA"
#define ID_B "BBBBBBBBBBBBBBBBBBBBBB"
#define ID_C "CCCCCCCCCCCCCCCCCCCCCC"

static const char *text(const gw_redis_cmds_t *cmds, size_t i)
{
    static char buf[4096];
    assert_true(i < cmds->n);
    return gw_redis_cmd_text(&cmds->v[i], buf, sizeof(buf));
}

static redisReply str_reply(const char *s)
{
    redisReply r;
    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_STRING;
    r.str = (char *)(uintptr_t)s;
    r.len = strlen(s);
    return r;
}

static void token_id_alone(void **state)
{
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_TOKEN_ID, .token_id = ID_A};
    gw_redis_cmds_t cmds = {0};
    gw_revoke_targets_t t = {0};
    char err[256];
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, &cmds), 0);
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.v[0].token_id, ID_A);
    assert_int_equal(t.v[0].expiry, NOW + GW_REVOKE_MAX_LIFETIME); /* unknown: the longest lifetime */
    assert_int_equal(gw_revoke_plan_write(&t, NOW, &cmds), 5);
    assert_string_equal(text(&cmds, 0), "MULTI");
    assert_string_equal(text(&cmds, 1), "ZADD sasgw:revoked GT 1800604800 " ID_A);
    assert_string_equal(text(&cmds, 2), "PUBLISH sasgw:revocations " ID_A " 1800604800");
    assert_string_equal(text(&cmds, 3), "ZREMRANGEBYSCORE sasgw:revoked -inf 1800000000");
    assert_string_equal(text(&cmds, 4), "EXEC");
    /* argvlen matches */
    for (size_t i = 0; i < cmds.n; i++)
        for (int a = 0; a < cmds.v[i].argc; a++)
            assert_int_equal(cmds.v[i].argvlen[a], strlen(cmds.v[i].argv[a]));
    gw_redis_cmds_clear(&cmds);
    gw_revoke_targets_clear(&t);

    /* a known expiry is used; an expired one is skipped and only the trim is left */
    sel.expiry = NOW + 60;
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.v[0].expiry, NOW + 60);
    gw_revoke_targets_clear(&t);
    sel.expiry = NOW;
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(gw_revoke_plan_write(&t, NOW, &cmds), 1);
    assert_string_equal(text(&cmds, 0), "ZREMRANGEBYSCORE sasgw:revoked -inf 1800000000");
    gw_redis_cmds_clear(&cmds);
}

static void by_principal(void **state)
{
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_PRINCIPAL, .principal = "demo-app"};
    gw_redis_cmds_t cmds = {0};
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, &cmds), 2);
    assert_string_equal(text(&cmds, 0), "ZREMRANGEBYSCORE sasgw:issued:demo-app -inf 1800000000");
    assert_string_equal(text(&cmds, 1), "ZRANGEBYSCORE sasgw:issued:demo-app (1800000000 +inf WITHSCORES");
    gw_redis_cmds_clear(&cmds);

    /* the WITHSCORES reply: member, score pairs; expired and malformed entries skipped */
    redisReply e[] = {str_reply(ID_A),    str_reply("1800000100"), str_reply(ID_B), str_reply("1800000000"),
                      str_reply("short"), str_reply("1800000100"), str_reply(ID_C), str_reply("1.8000002e9")};
    redisReply *ep[8];
    for (int i = 0; i < 8; i++)
        ep[i] = &e[i];
    redisReply arr;
    memset(&arr, 0, sizeof(arr));
    arr.type = REDIS_REPLY_ARRAY;
    arr.elements = 8;
    arr.element = ep;
    gw_revoke_targets_t t = {0};
    char err[256];
    assert_int_equal(gw_revoke_collect(&sel, &arr, NOW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].token_id, ID_A);
    assert_int_equal(t.v[0].expiry, 1800000100);
    assert_string_equal(t.v[1].token_id, ID_C);
    assert_int_equal(t.v[1].expiry, 1800000200);

    assert_int_equal(gw_revoke_plan_write(&t, NOW, &cmds), 6);
    assert_string_equal(text(&cmds, 1), "ZADD sasgw:revoked GT 1800000100 " ID_A " 1800000200 " ID_C);
    assert_string_equal(text(&cmds, 2), "PUBLISH sasgw:revocations " ID_A " 1800000100");
    assert_string_equal(text(&cmds, 3), "PUBLISH sasgw:revocations " ID_C " 1800000200");
    assert_string_equal(text(&cmds, 5), "EXEC");
    gw_redis_cmds_clear(&cmds);
    gw_revoke_targets_clear(&t);

    /* an error reply or a non-array is an error; NULL is empty */
    redisReply er = str_reply("ERR boom");
    er.type = REDIS_REPLY_ERROR;
    assert_int_equal(gw_revoke_collect(&sel, &er, NOW, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ERR boom"));
    redisReply s = str_reply("x");
    assert_int_equal(gw_revoke_collect(&sel, &s, NOW, &t, err, sizeof(err)), -1);
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
}

static void by_account(void **state)
{
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_ISSUED, .account = "devstoreaccount1", .issued_before = NOW - 10};
    gw_redis_cmds_t cmds = {0};
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, &cmds), 2);
    assert_string_equal(text(&cmds, 0), "ZREMRANGEBYSCORE sasgw:issued-at:devstoreaccount1 -inf (1799395200");
    assert_string_equal(text(&cmds, 1), "ZRANGEBYSCORE sasgw:issued-at:devstoreaccount1 -inf (1799999990");
    gw_redis_cmds_clear(&cmds);
    strcpy(sel.container, "demo");
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, &cmds), 2);
    assert_string_equal(text(&cmds, 1), "ZRANGEBYSCORE sasgw:issued-at:devstoreaccount1/demo -inf (1799999990");
    gw_redis_cmds_clear(&cmds);

    /* members "<id> <expiry>" */
    redisReply e[] = {str_reply(ID_A " 1800000500"), str_reply(ID_B " 1799999999"), str_reply(ID_C "1800000500"),
                      str_reply(ID_C " x"), str_reply(ID_C " 1800000600")};
    redisReply *ep[5];
    for (int i = 0; i < 5; i++)
        ep[i] = &e[i];
    redisReply arr;
    memset(&arr, 0, sizeof(arr));
    arr.type = REDIS_REPLY_ARRAY;
    arr.elements = 5;
    arr.element = ep;
    gw_revoke_targets_t t = {0};
    char err[256];
    assert_int_equal(gw_revoke_collect(&sel, &arr, NOW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].token_id, ID_A);
    assert_int_equal(t.v[0].expiry, 1800000500);
    assert_string_equal(t.v[1].token_id, ID_C);
    assert_int_equal(t.v[1].expiry, 1800000600);
    gw_revoke_targets_clear(&t);
}

static void batches(void **state)
{
    gw_revoke_targets_t t = {0};
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_TOKEN_ID, .token_id = ID_A, .expiry = NOW + 5};
    char err[256];
    for (size_t i = 0; i < GW_REVOKE_BATCH + 1; i++)
        assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, &t, err, sizeof(err)), 0);
    gw_redis_cmds_t cmds = {0};
    /* batch 1: MULTI ZADD PUBLISH*1000 EXEC; batch 2: MULTI ZADD PUBLISH ZREM EXEC */
    assert_int_equal(gw_revoke_plan_write(&t, NOW, &cmds), (GW_REVOKE_BATCH + 3) + 5);
    assert_string_equal(text(&cmds, 0), "MULTI");
    assert_int_equal(cmds.v[1].argc, 3 + 2 * GW_REVOKE_BATCH);
    assert_string_equal(text(&cmds, GW_REVOKE_BATCH + 2), "EXEC");
    assert_string_equal(text(&cmds, GW_REVOKE_BATCH + 3), "MULTI");
    assert_int_equal(cmds.v[GW_REVOKE_BATCH + 4].argc, 5);
    assert_string_equal(text(&cmds, cmds.n - 2), "ZREMRANGEBYSCORE sasgw:revoked -inf 1800000000");
    gw_redis_cmds_clear(&cmds);
    gw_revoke_targets_clear(&t);
}

static void replies(void **state)
{
    char err[256];
    redisReply ok = str_reply("OK");
    ok.type = REDIS_REPLY_STATUS;
    assert_int_equal(gw_revoke_reply_ok(&ok, err, sizeof(err)), 0);
    assert_int_equal(gw_revoke_reply_ok(NULL, err, sizeof(err)), -1);
    redisReply nil;
    memset(&nil, 0, sizeof(nil));
    nil.type = REDIS_REPLY_NIL;
    assert_int_equal(gw_revoke_reply_ok(&nil, err, sizeof(err)), -1);
    /* EXEC with one failed command inside */
    redisReply bad = str_reply("WRONGTYPE Operation against a key holding the wrong kind of value");
    bad.type = REDIS_REPLY_ERROR;
    redisReply *ep[2] = {&ok, &bad};
    redisReply exec;
    memset(&exec, 0, sizeof(exec));
    exec.type = REDIS_REPLY_ARRAY;
    exec.elements = 2;
    exec.element = ep;
    assert_int_equal(gw_revoke_reply_ok(&exec, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "WRONGTYPE"));
}

static void selectors(void **state)
{
    gw_revoke_selector_t sel;
    char err[256], buf[200];
    const char *field;
    memset(&sel, 0, sizeof(sel));
    assert_int_equal(gw_revoke_selector_check(&sel, &field, err, sizeof(err)), -1);
    sel.by = GW_REVOKE_BY_ISSUED;
    strcpy(sel.account, "devstoreaccount1");
    strcpy(sel.container, "demo");
    sel.issued_before = 1767323045;
    assert_int_equal(gw_revoke_selector_check(&sel, &field, err, sizeof(err)), 0);
    assert_string_equal(gw_revoke_selector_describe(&sel, buf, sizeof(buf)),
                        "devstoreaccount1/demo issued before 2026-01-02T03:04:05Z");
    assert_true(gw_revoke_valid_principal("a.b_c@d-e"));
    assert_false(gw_revoke_valid_principal("a b"));
    assert_false(gw_revoke_valid_token_id(ID_A "A", 23));
    assert_true(gw_revoke_valid_token_id(ID_A, 22));
    assert_int_equal(gw_revoke_selector_from_token(&sel, "sv=x", 4, err, sizeof(err)), -1);

    char ev[256];
    assert_string_equal(gw_event_keys("devstoreaccount1", ev, sizeof(ev)), "{\"type\":\"keys\",\"account\":\"devstoreaccount1\"}");
    assert_string_equal(gw_event_policies("devstoreaccount1", "demo", ev, sizeof(ev)),
                        "{\"type\":\"policies\",\"account\":\"devstoreaccount1\",\"container\":\"demo\"}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_id_alone), cmocka_unit_test(by_principal), cmocka_unit_test(by_account),
        cmocka_unit_test(batches),        cmocka_unit_test(replies),      cmocka_unit_test(selectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
