/* Tests gateway/revocation/plan.c: the Redis commands a revocation runs, and how lookup replies are read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/revocation/plan.h"

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

/* An array reply over the given elements (EXEC, a range). */
static redisReply arr_reply(redisReply **elements, size_t n)
{
    redisReply r;
    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_ARRAY;
    r.elements = n;
    r.element = elements;
    return r;
}

static redisReply int_reply(long long v)
{
    redisReply r;
    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_INTEGER;
    r.integer = v;
    return r;
}

static redisReply nil_reply(void)
{
    redisReply r;
    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_NIL;
    return r;
}

#define SKEW 30

static void token_id_alone(void **state)
{
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_TOKEN_ID, .token_id = ID_A};
    gw_redis_cmds_t cmds = {0};
    gw_revoke_targets_t t = {0};
    char err[256];
    /* the lookup asks the index for the expiry recorded at mint */
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, SKEW, &cmds), 3);
    assert_string_equal(text(&cmds, 0), "MULTI");
    assert_string_equal(text(&cmds, 1), "ZSCORE sasgw:issued " ID_A);
    assert_string_equal(text(&cmds, 2), "EXEC");
    gw_redis_cmds_clear(&cmds);

    /* unknown to the index (nil) and no expiry given: kept until removed (+inf), never the old 7 days */
    redisReply nil = nil_reply(), *np[1] = {&nil};
    redisReply exec = arr_reply(np, 1);
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.v[0].token_id, ID_A);
    assert_true(t.v[0].until == GW_REVOKE_FOREVER);
    assert_int_equal(gw_revoke_plan_write(&t, NOW, &cmds), 5);
    assert_string_equal(text(&cmds, 0), "MULTI");
    assert_string_equal(text(&cmds, 1), "ZADD sasgw:revoked GT +inf " ID_A);
    assert_string_equal(text(&cmds, 2), "PUBLISH sasgw:revocations " ID_A " +inf");
    assert_string_equal(text(&cmds, 3), "ZREMRANGEBYSCORE sasgw:revoked -inf 1800000000");
    assert_string_equal(text(&cmds, 4), "EXEC");
    for (size_t i = 0; i < cmds.n; i++)
        for (int a = 0; a < cmds.v[i].argc; a++)
            assert_int_equal(cmds.v[i].argvlen[a], strlen(cmds.v[i].argv[a]));
    gw_redis_cmds_clear(&cmds);
    gw_revoke_targets_clear(&t);
    /* a NULL reply reads as unknown too */
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_true(t.v[0].until == GW_REVOKE_FOREVER);
    gw_revoke_targets_clear(&t);

    /* known to the index: its expiry plus the skew (a 30-day token lives 30 days on the list) */
    redisReply score = str_reply("1802592000"), *sp[1] = {&score};
    exec = arr_reply(sp, 1);
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.v[0].until, 1802592000 + SKEW);
    gw_revoke_targets_clear(&t);
    /* a given expiry never shortens the indexed one; a later one wins */
    sel.expiry = NOW + 60;
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.v[0].until, 1802592000 + SKEW);
    gw_revoke_targets_clear(&t);
    sel.expiry = 1802592100;
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.v[0].until, 1802592100 + SKEW);
    gw_revoke_targets_clear(&t);
    /* a given expiry alone, unknown to the index */
    sel.expiry = NOW + 60;
    exec = arr_reply(np, 1);
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.v[0].until, NOW + 60 + SKEW);
    gw_revoke_targets_clear(&t);
    /* ended (expiry + skew <= now): skipped, only the trim is left; within the skew it is still revoked */
    sel.expiry = NOW - SKEW;
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(gw_revoke_plan_write(&t, NOW, &cmds), 1);
    assert_string_equal(text(&cmds, 0), "ZREMRANGEBYSCORE sasgw:revoked -inf 1800000000");
    gw_redis_cmds_clear(&cmds);
    sel.expiry = NOW - SKEW + 1;
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.v[0].until, NOW + 1);
    gw_revoke_targets_clear(&t);

    /* an index score that is not a time, an error inside EXEC, an aborted EXEC: errors */
    redisReply junk = str_reply("soon"), *jp[1] = {&junk};
    exec = arr_reply(jp, 1);
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), -1);
    redisReply bad = str_reply("WRONGTYPE x");
    bad.type = REDIS_REPLY_ERROR;
    redisReply *bp[1] = {&bad};
    exec = arr_reply(bp, 1);
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "WRONGTYPE"));
    assert_int_equal(gw_revoke_collect(&sel, &nil, NOW, SKEW, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "aborted"));
    assert_int_equal(t.n, 0);
}

static void token_given(void **state)
{
    gw_revoke_selector_t sel;
    gw_revoke_targets_t t = {0};
    gw_redis_cmds_t cmds = {0};
    char err[256];
    static const char sig[] = "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";
    char sas[256];

    /* se: the entry ends at se + skew; no lookup */
    snprintf(sas, sizeof(sas), "https://h/a/c/b?sv=2021-08-06&sr=b&sp=r&se=2027-01-30T00%%3A00%%3A00Z&%s", sig);
    assert_int_equal(gw_revoke_selector_from_token(&sel, sas, strlen(sas), err, sizeof(err)), 0);
    assert_int_equal(sel.expiry, 1801267200);
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, SKEW, &cmds), 0);
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.v[0].until, 1801267200 + SKEW);
    gw_revoke_targets_clear(&t);

    /* si without se: the stored policy may be changed later, so the end is unknown: +inf */
    snprintf(sas, sizeof(sas), "sv=2021-08-06&sr=b&si=pol&%s", sig);
    assert_int_equal(gw_revoke_selector_from_token(&sel, sas, strlen(sas), err, sizeof(err)), 0);
    assert_int_equal(sel.expiry, 0);
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_true(t.v[0].until == GW_REVOKE_FOREVER);
    gw_revoke_targets_clear(&t);

    /* si with se: se bounds it (a policy can only shorten it) */
    snprintf(sas, sizeof(sas), "sv=2021-08-06&sr=b&si=pol&se=2027-01-30T00%%3A00%%3A00Z&%s", sig);
    assert_int_equal(gw_revoke_selector_from_token(&sel, sas, strlen(sas), err, sizeof(err)), 0);
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.v[0].until, 1801267200 + SKEW);
    gw_revoke_targets_clear(&t);
}

static void by_principal(void **state)
{
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_PRINCIPAL, .principal = "demo-app"};
    gw_redis_cmds_t cmds = {0};
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, SKEW, &cmds), 4);
    assert_string_equal(text(&cmds, 0), "MULTI");
    assert_string_equal(text(&cmds, 1), "ZREMRANGEBYSCORE sasgw:issued:demo-app -inf 1799999970");
    assert_string_equal(text(&cmds, 2), "ZRANGEBYSCORE sasgw:issued:demo-app (1799999970 +inf WITHSCORES");
    assert_string_equal(text(&cmds, 3), "EXEC");
    gw_redis_cmds_clear(&cmds);

    /* the WITHSCORES reply inside EXEC: member, score pairs; ended and malformed entries skipped */
    redisReply e[] = {str_reply(ID_A),    str_reply("1800000100"), str_reply(ID_B), str_reply("1799999970"),
                      str_reply("short"), str_reply("1800000100"), str_reply(ID_C), str_reply("1.8000002e9")};
    redisReply *ep[8];
    for (int i = 0; i < 8; i++)
        ep[i] = &e[i];
    redisReply range = arr_reply(ep, 8), trimmed = int_reply(3);
    redisReply *xp[2] = {&trimmed, &range};
    redisReply exec = arr_reply(xp, 2);
    gw_revoke_targets_t t = {0};
    char err[256];
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].token_id, ID_A);
    assert_int_equal(t.v[0].until, 1800000100 + SKEW);
    assert_string_equal(t.v[1].token_id, ID_C);
    assert_int_equal(t.v[1].until, 1800000200 + SKEW);

    assert_int_equal(gw_revoke_plan_write(&t, NOW, &cmds), 6);
    assert_string_equal(text(&cmds, 1), "ZADD sasgw:revoked GT 1800000130 " ID_A " 1800000230 " ID_C);
    assert_string_equal(text(&cmds, 2), "PUBLISH sasgw:revocations " ID_A " 1800000130");
    assert_string_equal(text(&cmds, 3), "PUBLISH sasgw:revocations " ID_C " 1800000230");
    assert_string_equal(text(&cmds, 5), "EXEC");
    gw_redis_cmds_clear(&cmds);
    gw_revoke_targets_clear(&t);

    /* an error reply, a non-array, the wrong number of replies are errors; NULL is empty */
    redisReply er = str_reply("ERR boom");
    er.type = REDIS_REPLY_ERROR;
    assert_int_equal(gw_revoke_collect(&sel, &er, NOW, SKEW, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ERR boom"));
    redisReply s = str_reply("x");
    assert_int_equal(gw_revoke_collect(&sel, &s, NOW, SKEW, &t, err, sizeof(err)), -1);
    exec = arr_reply(xp, 1);
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), -1);
    assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
}

static void by_account(void **state)
{
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_ISSUED, .account = "devstoreaccount1", .issued_before = NOW - 10};
    gw_redis_cmds_t cmds = {0};
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, SKEW, &cmds), 4);
    assert_string_equal(text(&cmds, 1), "ZREMRANGEBYSCORE sasgw:issued-at:devstoreaccount1 -inf (1799395170");
    assert_string_equal(text(&cmds, 2), "ZRANGEBYSCORE sasgw:issued-at:devstoreaccount1 -inf (1799999990");
    gw_redis_cmds_clear(&cmds);
    /* with a container, the account's account SAS too: they cover every container */
    strcpy(sel.container, "demo");
    assert_int_equal(gw_revoke_plan_lookup(&sel, NOW, SKEW, &cmds), 6);
    assert_string_equal(text(&cmds, 0), "MULTI");
    assert_string_equal(text(&cmds, 1), "ZREMRANGEBYSCORE sasgw:issued-at:devstoreaccount1/demo -inf (1799395170");
    assert_string_equal(text(&cmds, 2), "ZREMRANGEBYSCORE sasgw:issued-at-account:devstoreaccount1 -inf (1799395170");
    assert_string_equal(text(&cmds, 3), "ZRANGEBYSCORE sasgw:issued-at:devstoreaccount1/demo -inf (1799999990");
    assert_string_equal(text(&cmds, 4), "ZRANGEBYSCORE sasgw:issued-at-account:devstoreaccount1 -inf (1799999990");
    assert_string_equal(text(&cmds, 5), "EXEC");
    gw_redis_cmds_clear(&cmds);

    /* members "<id> <expiry>", from both ranges */
    redisReply e[] = {str_reply(ID_A " 1800000500"), str_reply(ID_B " 1799999970"), str_reply(ID_C "1800000500"),
                      str_reply(ID_C " x"), str_reply(ID_C " 1800000600")};
    redisReply *ep[5];
    for (int i = 0; i < 5; i++)
        ep[i] = &e[i];
    redisReply acc = str_reply(ID_B " 1800000700"), *ap[1] = {&acc};
    redisReply r1 = arr_reply(ep, 5), r2 = arr_reply(ap, 1), z = int_reply(0);
    redisReply *xp[4] = {&z, &z, &r1, &r2};
    redisReply exec = arr_reply(xp, 4);
    gw_revoke_targets_t t = {0};
    char err[256];
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.v[0].token_id, ID_A);
    assert_int_equal(t.v[0].until, 1800000500 + SKEW);
    assert_string_equal(t.v[1].token_id, ID_C);
    assert_int_equal(t.v[1].until, 1800000600 + SKEW);
    assert_string_equal(t.v[2].token_id, ID_B);
    assert_int_equal(t.v[2].until, 1800000700 + SKEW);
    gw_revoke_targets_clear(&t);
    /* the container lookup needs both ranges */
    exec = arr_reply(xp, 3);
    assert_int_equal(gw_revoke_collect(&sel, &exec, NOW, SKEW, &t, err, sizeof(err)), -1);
}

static void removal(void **state)
{
    gw_redis_cmds_t cmds = {0};
    char err[256];
    assert_int_equal(gw_revoke_plan_remove(ID_A, &cmds), 4);
    assert_string_equal(text(&cmds, 0), "MULTI");
    assert_string_equal(text(&cmds, 1), "ZREM sasgw:revoked " ID_A);
    assert_string_equal(text(&cmds, 2), "PUBLISH sasgw:revocations " ID_A " removed");
    assert_string_equal(text(&cmds, 3), "EXEC");
    gw_redis_cmds_clear(&cmds);
    redisReply one = int_reply(1), zero = int_reply(0), *p1[2] = {&one, &one}, *p0[2] = {&zero, &zero};
    redisReply exec = arr_reply(p1, 2);
    assert_int_equal(gw_revoke_removed(&exec, err, sizeof(err)), 1);
    exec = arr_reply(p0, 2);
    assert_int_equal(gw_revoke_removed(&exec, err, sizeof(err)), 0);
    redisReply nil = nil_reply();
    assert_int_equal(gw_revoke_removed(&nil, err, sizeof(err)), -1);
    assert_int_equal(gw_revoke_removed(NULL, err, sizeof(err)), -1);
}

static void scores_and_messages(void **state)
{
    int64_t v;
    char buf[24], id[SAS_TOKEN_ID_LEN + 1];
    int removed;
    assert_int_equal(gw_revoke_parse_score("inf", 3, &v), 0);
    assert_true(v == GW_REVOKE_FOREVER);
    assert_int_equal(gw_revoke_parse_score("+inf", 4, &v), 0);
    assert_true(v == GW_REVOKE_FOREVER);
    assert_int_equal(gw_revoke_parse_score("1800000000", 10, &v), 0);
    assert_int_equal(v, 1800000000);
    assert_int_equal(gw_revoke_parse_score("-inf", 4, &v), -1);
    assert_int_equal(gw_revoke_parse_score("nan", 3, &v), -1);
    assert_int_equal(gw_revoke_parse_score("12x", 3, &v), -1);
    assert_int_equal(gw_revoke_parse_score("", 0, &v), -1);
    assert_string_equal(gw_revoke_score_text(GW_REVOKE_FOREVER, buf, sizeof(buf)), "+inf");
    assert_string_equal(gw_revoke_score_text(1800000030, buf, sizeof(buf)), "1800000030");

    const char *m = ID_A " +inf";
    assert_int_equal(gw_revoke_parse_message(m, strlen(m), id, &v, &removed), 0);
    assert_string_equal(id, ID_A);
    assert_true(v == GW_REVOKE_FOREVER);
    assert_int_equal(removed, 0);
    m = ID_A " 1800000030";
    assert_int_equal(gw_revoke_parse_message(m, strlen(m), id, &v, &removed), 0);
    assert_int_equal(v, 1800000030);
    m = ID_A " removed";
    assert_int_equal(gw_revoke_parse_message(m, strlen(m), id, &v, &removed), 0);
    assert_int_equal(removed, 1);
    m = ID_A;
    assert_int_equal(gw_revoke_parse_message(m, strlen(m), id, &v, &removed), 0);
    assert_true(v == GW_REVOKE_FOREVER);
    m = ID_A " remove";
    assert_int_equal(gw_revoke_parse_message(m, strlen(m), id, &v, &removed), -1);
    m = ID_A " ";
    assert_int_equal(gw_revoke_parse_message(m, strlen(m), id, &v, &removed), -1);
    m = "short 1800000030";
    assert_int_equal(gw_revoke_parse_message(m, strlen(m), id, &v, &removed), -1);
}

static void index_claim(void **state)
{
    gw_redis_cmds_t cmds = {0};
    char err[256];
    gw_index_entry_t e = {.token_id = ID_B,
                          .first_id = ID_A,
                          .principal = "demo-app",
                          .account = "devstoreaccount1",
                          .container = "demo",
                          .issued = NOW,
                          .expiry = NOW + 3600,
                          .first_expiry = NOW + 3600,
                          .skew = SKEW,
                          .trim = 1};
    assert_int_equal(gw_index_plan_claim(&e, 0, &cmds), 1);
    const gw_redis_cmd_t *c = &cmds.v[0];
    assert_int_equal(c->argc, 17);
    assert_string_equal(c->argv[0], "EVAL");
    assert_non_null(strstr(c->argv[1], "'NX'"));
    /* EVALSHA names the same script by its SHA-1 */
    gw_redis_cmds_t sha = {0};
    gw_index_plan_claim(&e, 1, &sha);
    assert_string_equal(sha.v[0].argv[0], "EVALSHA");
    assert_int_equal(strlen(sha.v[0].argv[1]), 40);
    for (int a = 2; a < c->argc; a++)
        assert_string_equal(sha.v[0].argv[a], c->argv[a]);
    gw_redis_cmds_clear(&sha);
    const char *want[] = {"6",
                          "sasgw:issued",
                          "sasgw:revoked",
                          "sasgw:mint-seq:" ID_A,
                          "sasgw:issued:demo-app",
                          "sasgw:issued-at:devstoreaccount1",
                          "sasgw:issued-at:devstoreaccount1/demo",
                          ID_B,
                          "1800003600",
                          "1800000000",
                          ID_B " 1800003600",
                          "1",
                          "1799999970",
                          "(1799395170",
                          "1800003631"};
    for (int i = 0; i < 15; i++)
        assert_string_equal(c->argv[i + 2], want[i]);
    for (int a = 0; a < c->argc; a++)
        assert_int_equal(c->argvlen[a], strlen(c->argv[a]));
    gw_redis_cmds_clear(&cmds);
    /* an account SAS goes to the account's account-SAS key */
    e.container = "";
    e.trim = 0;
    gw_index_plan_claim(&e, 0, &cmds);
    assert_string_equal(cmds.v[0].argv[8], "sasgw:issued-at-account:devstoreaccount1");
    assert_string_equal(cmds.v[0].argv[13], "0");
    gw_redis_cmds_clear(&cmds);

    int64_t shift = -1;
    redisReply zero = int_reply(0), three = int_reply(3), neg = int_reply(-1), s = str_reply("OK");
    assert_int_equal(gw_index_claim_result(&zero, &shift, err, sizeof(err)), GW_INDEX_CLAIMED);
    assert_int_equal(shift, 0);
    assert_int_equal(gw_index_claim_result(&three, &shift, err, sizeof(err)), GW_INDEX_CLAIMED);
    assert_int_equal(shift, 3);
    assert_int_equal(gw_index_claim_result(&neg, &shift, err, sizeof(err)), -1);
    assert_int_equal(gw_index_claim_result(&s, &shift, err, sizeof(err)), -1);
    assert_int_equal(gw_index_claim_result(NULL, &shift, err, sizeof(err)), -1);
    redisReply oom = str_reply("OOM command not allowed");
    oom.type = REDIS_REPLY_ERROR;
    assert_int_equal(gw_index_claim_result(&oom, &shift, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "OOM"));
    redisReply noscript = str_reply("NOSCRIPT No matching script. Please use EVAL.");
    noscript.type = REDIS_REPLY_ERROR;
    assert_int_equal(gw_index_claim_result(&noscript, &shift, err, sizeof(err)), GW_INDEX_NOSCRIPT);
}

static void batches(void **state)
{
    gw_revoke_targets_t t = {0};
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_TOKEN_ID, .token_id = ID_A, .expiry = NOW + 5};
    char err[256];
    for (size_t i = 0; i < GW_REVOKE_BATCH + 1; i++)
        assert_int_equal(gw_revoke_collect(&sel, NULL, NOW, 0, &t, err, sizeof(err)), 0);
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
        cmocka_unit_test(token_id_alone), cmocka_unit_test(token_given), cmocka_unit_test(by_principal),
        cmocka_unit_test(by_account),     cmocka_unit_test(removal),     cmocka_unit_test(scores_and_messages),
        cmocka_unit_test(index_claim),    cmocka_unit_test(batches),     cmocka_unit_test(replies),
        cmocka_unit_test(selectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
