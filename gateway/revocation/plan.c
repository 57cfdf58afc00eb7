/*
 * plan.c - the Redis commands of a revocation (sasgw/revocation/plan.h): pure,
 * shared by the admin API and `sasgw revoke`.
 */
#include <inttypes.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"
#include "sasgw/revocation/plan.h"
#include "sasgw/vault.h"

/* ---- commands ---- */

void gw_redis_cmds_clear(gw_redis_cmds_t *cmds)
{
    for (size_t i = 0; i < cmds->n; i++) {
        for (int a = 0; a < cmds->v[i].argc; a++)
            free(cmds->v[i].argv[a]);
        free(cmds->v[i].argv);
        free(cmds->v[i].argvlen);
    }
    free(cmds->v);
    memset(cmds, 0, sizeof(*cmds));
}

const char *gw_redis_cmd_text(const gw_redis_cmd_t *cmd, char *buf, size_t cap)
{
    size_t off = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (int a = 0; a < cmd->argc && off + 1 < cap; a++) {
        int n = snprintf(buf + off, cap - off, "%s%s", a ? " " : "", cmd->argv[a]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    return buf;
}

/* Starts a new command with room for max_args arguments and returns it. */
static gw_redis_cmd_t *cmd_new(gw_redis_cmds_t *cmds, size_t max_args)
{
    if (cmds->n == cmds->cap) {
        cmds->cap = cmds->cap ? cmds->cap * 2 : 8;
        cmds->v = sg_realloc(cmds->v, cmds->cap * sizeof(*cmds->v));
    }
    gw_redis_cmd_t *cmd = &cmds->v[cmds->n++];
    cmd->argc = 0;
    cmd->argv = sg_calloc(max_args, sizeof(*cmd->argv));
    cmd->argvlen = sg_calloc(max_args, sizeof(*cmd->argvlen));
    return cmd;
}

/* Appends one printf-formatted argument to cmd (which has room for it). */
__attribute__((format(printf, 2, 3))) static void cmd_arg(gw_redis_cmd_t *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = sg_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    cmd->argv[cmd->argc] = s;
    cmd->argvlen[cmd->argc] = (size_t)n;
    cmd->argc++;
}

/* ---- selectors ---- */

int gw_revoke_valid_token_id(const char *s, size_t len)
{
    if (len != SAS_TOKEN_ID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int gw_revoke_valid_principal(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > GW_PRINCIPAL_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int gw_revoke_selector_from_token(gw_revoke_selector_t *sel, const char *sas, size_t len, char *err, size_t errlen)
{
    /* A whole URL: keep the query only; a query: drop the leading '?'. */
    const char *q = memchr(sas, '?', len);
    if (q != NULL) {
        len -= (size_t)(q + 1 - sas);
        sas = q + 1;
    }
    const char *hash = memchr(sas, '#', len);
    if (hash != NULL)
        len = (size_t)(hash - sas);
    sas_token_t *tok = sg_alloc(sizeof(*tok));
    sas_error_t e;
    if (sas_token_parse(tok, sas, len, &e) != SAS_OK) {
        snprintf(err, errlen, "not a shared access signature: %s", e.message);
        free(tok);
        return -1;
    }
    sel->by = GW_REVOKE_BY_TOKEN;
    sas_token_id(tok, sel->token_id);
    sel->expiry = 0;
    if (tok->f[SAS_F_SE].base != NULL) {
        sas_time_t se;
        if (sas_time_parse(tok->f[SAS_F_SE].base, tok->f[SAS_F_SE].len, &se) != 0) {
            snprintf(err, errlen, "the token's expiry (se) is not a time");
            free(tok);
            return -1;
        }
        /* Round up: the token is valid while now < se. */
        sel->expiry = se / SAS_TIME_SECOND + (se % SAS_TIME_SECOND > 0 ? 1 : 0);
        if (sel->expiry <= 0)
            sel->expiry = 1;
    }
    free(tok);
    return 0;
}

int gw_revoke_selector_check(const gw_revoke_selector_t *sel, const char **field, char *err, size_t errlen)
{
    switch (sel->by) {
    case GW_REVOKE_BY_TOKEN_ID:
    case GW_REVOKE_BY_TOKEN:
        if (!gw_revoke_valid_token_id(sel->token_id, strlen(sel->token_id))) {
            *field = sel->by == GW_REVOKE_BY_TOKEN ? "token" : "token_id";
            snprintf(err, errlen, "a token id is 22 characters of A-Z a-z 0-9 - _");
            return -1;
        }
        if (sel->expiry < 0) {
            *field = "expiry";
            snprintf(err, errlen, "the expiry must be a time after 1970");
            return -1;
        }
        return 0;
    case GW_REVOKE_BY_PRINCIPAL:
        if (!gw_revoke_valid_principal(sel->principal)) {
            *field = "principal";
            snprintf(err, errlen, "a principal name is 1 to 64 of A-Z a-z 0-9 . _ @ -");
            return -1;
        }
        return 0;
    case GW_REVOKE_BY_ISSUED:
        if (!vault_valid_account_name(sel->account)) {
            *field = "account";
            snprintf(err, errlen, "an account name is 3 to 24 lower-case letters and digits");
            return -1;
        }
        if (sel->container[0] != '\0' && !vault_valid_container_name(sel->container)) {
            *field = "container";
            snprintf(err, errlen, "not a valid container name");
            return -1;
        }
        if (sel->issued_before <= 0) {
            *field = "issued_before";
            snprintf(err, errlen, "issued_before must be a time after 1970");
            return -1;
        }
        return 0;
    default:
        *field = NULL;
        snprintf(err, errlen, "say what to revoke: token_id, token, principal, or account with issued_before");
        return -1;
    }
}

const char *gw_revoke_selector_describe(const gw_revoke_selector_t *sel, char *buf, size_t cap)
{
    char t[24];
    switch (sel->by) {
    case GW_REVOKE_BY_TOKEN_ID:
        snprintf(buf, cap, "token_id %s", sel->token_id);
        break;
    case GW_REVOKE_BY_TOKEN:
        snprintf(buf, cap, "token %s", sel->token_id);
        break;
    case GW_REVOKE_BY_PRINCIPAL:
        snprintf(buf, cap, "principal %s", sel->principal);
        break;
    case GW_REVOKE_BY_ISSUED:
        vault_time_format(sel->issued_before, t, sizeof(t));
        snprintf(buf, cap, "%s%s%s issued before %s", sel->account, sel->container[0] ? "/" : "", sel->container, t);
        break;
    default:
        snprintf(buf, cap, "nothing");
    }
    return buf;
}

/* ---- plan ---- */

void gw_revoke_targets_clear(gw_revoke_targets_t *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* Appends one target. */
static void targets_add(gw_revoke_targets_t *t, const char *id, size_t idlen, int64_t until)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = sg_realloc(t->v, t->cap * sizeof(*t->v));
    }
    memcpy(t->v[t->n].token_id, id, idlen);
    t->v[t->n].token_id[idlen] = '\0';
    t->v[t->n].until = until;
    t->n++;
}

/* Appends MULTI or EXEC. */
static void cmd_word(gw_redis_cmds_t *cmds, const char *word)
{
    cmd_arg(cmd_new(cmds, 1), "%s", word);
}

/* Appends ZREMRANGEBYSCORE key -inf bound (bound as written: "(N" is exclusive). */
static void plan_zrem_below(gw_redis_cmds_t *cmds, const char *key, const char *bound)
{
    gw_redis_cmd_t *c = cmd_new(cmds, 4);
    cmd_arg(c, "ZREMRANGEBYSCORE");
    cmd_arg(c, "%s", key);
    cmd_arg(c, "-inf");
    cmd_arg(c, "%s", bound);
}

/* The issue-time keys of an {account [, container]} selector: n (1 or 2) keys into keys[]. */
static size_t issued_at_keys(const gw_revoke_selector_t *sel, char keys[2][160])
{
    if (sel->container[0] == '\0') {
        snprintf(keys[0], sizeof(keys[0]), "%s%s", GW_ISSUED_AT_PREFIX, sel->account);
        return 1;
    }
    snprintf(keys[0], sizeof(keys[0]), "%s%s/%s", GW_ISSUED_AT_PREFIX, sel->account, sel->container);
    snprintf(keys[1], sizeof(keys[1]), "%s%s", GW_ISSUED_ACCOUNT_SAS_PREFIX, sel->account);
    return 2;
}

size_t gw_revoke_plan_lookup(const gw_revoke_selector_t *sel, int64_t now, int64_t skew, gw_redis_cmds_t *cmds)
{
    size_t before = cmds->n;
    char key[160], bound[32];
    gw_redis_cmd_t *c;
    switch (sel->by) {
    case GW_REVOKE_BY_TOKEN_ID:
        cmd_word(cmds, "MULTI");
        c = cmd_new(cmds, 3);
        cmd_arg(c, "ZSCORE");
        cmd_arg(c, GW_ISSUED_KEY);
        cmd_arg(c, "%s", sel->token_id);
        cmd_word(cmds, "EXEC");
        break;
    case GW_REVOKE_BY_PRINCIPAL:
        snprintf(key, sizeof(key), "%s%s", GW_ISSUED_PREFIX, sel->principal);
        snprintf(bound, sizeof(bound), "%" PRId64, now - skew);
        cmd_word(cmds, "MULTI");
        plan_zrem_below(cmds, key, bound);
        c = cmd_new(cmds, 5);
        cmd_arg(c, "ZRANGEBYSCORE");
        cmd_arg(c, "%s", key);
        cmd_arg(c, "(%" PRId64, now - skew);
        cmd_arg(c, "+inf");
        cmd_arg(c, "WITHSCORES");
        cmd_word(cmds, "EXEC");
        break;
    case GW_REVOKE_BY_ISSUED: {
        char keys[2][160];
        size_t n = issued_at_keys(sel, keys);
        snprintf(bound, sizeof(bound), "(%" PRId64, now - GW_REVOKE_MAX_LIFETIME - skew);
        cmd_word(cmds, "MULTI");
        for (size_t i = 0; i < n; i++)
            plan_zrem_below(cmds, keys[i], bound);
        for (size_t i = 0; i < n; i++) {
            c = cmd_new(cmds, 4);
            cmd_arg(c, "ZRANGEBYSCORE");
            cmd_arg(c, "%s", keys[i]);
            cmd_arg(c, "-inf");
            cmd_arg(c, "(%" PRId64, sel->issued_before);
        }
        cmd_word(cmds, "EXEC");
        break;
    }
    default:
        break;
    }
    return cmds->n - before;
}

int gw_revoke_parse_score(const char *s, size_t len, int64_t *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strcmp(buf, "inf") == 0 || strcmp(buf, "+inf") == 0) {
        *out = GW_REVOKE_FOREVER;
        return 0;
    }
    char *end;
    double d = strtod(buf, &end);
    if (*end != '\0' || !(d > -9.2e18 && d < 9.2e18))
        return -1;
    *out = (int64_t)d;
    return 0;
}

const char *gw_revoke_score_text(int64_t score, char *buf, size_t cap)
{
    if (score == GW_REVOKE_FOREVER)
        snprintf(buf, cap, "+inf");
    else
        snprintf(buf, cap, "%" PRId64, score);
    return buf;
}

int gw_revoke_parse_message(const char *s, size_t len, char id[SAS_TOKEN_ID_LEN + 1], int64_t *until, int *removed)
{
    const char *sp = memchr(s, ' ', len);
    size_t idlen = sp != NULL ? (size_t)(sp - s) : len;
    if (!gw_revoke_valid_token_id(s, idlen))
        return -1;
    memcpy(id, s, idlen);
    id[idlen] = '\0';
    *removed = 0;
    *until = GW_REVOKE_FOREVER;
    if (sp == NULL)
        return 0;
    const char *v = sp + 1;
    size_t vlen = len - idlen - 1;
    if (vlen == strlen(GW_REVOKE_REMOVED) && memcmp(v, GW_REVOKE_REMOVED, vlen) == 0) {
        *removed = 1;
        return 0;
    }
    return gw_revoke_parse_score(v, vlen, until);
}

/* The score of an entry for a token that ends at expiry (0: unknown). */
static int64_t until_of(int64_t expiry, int64_t skew)
{
    if (expiry <= 0 || expiry > GW_REVOKE_FOREVER - skew)
        return GW_REVOKE_FOREVER;
    return expiry + skew;
}

/* Fails with the reply's own error when it is one. 0 when reply is of type want, -1 (err) otherwise. */
static int expect_type(const redisReply *reply, int want, const char *what, char *err, size_t errlen)
{
    if (reply != NULL && reply->type == want)
        return 0;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        snprintf(err, errlen, "Redis: %.*s", (int)reply->len, reply->str != NULL ? reply->str : "");
    else if (reply != NULL && reply->type == REDIS_REPLY_NIL && want == REDIS_REPLY_ARRAY)
        snprintf(err, errlen, "Redis aborted the transaction");
    else
        snprintf(err, errlen, "Redis answered %s with something else than expected", what);
    return -1;
}

/* Adds the live ids of a WITHSCORES range (member, score pairs). */
static void collect_scored(const redisReply *range, int64_t now, int64_t skew, gw_revoke_targets_t *targets)
{
    for (size_t i = 0; i + 1 < range->elements; i += 2) {
        const redisReply *m = range->element[i], *s = range->element[i + 1];
        int64_t expiry;
        if (m == NULL || s == NULL || m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING ||
            !gw_revoke_valid_token_id(m->str, m->len) || gw_revoke_parse_score(s->str, s->len, &expiry) != 0)
            continue;
        int64_t until = until_of(expiry, skew);
        if (until > now)
            targets_add(targets, m->str, m->len, until);
    }
}

/* Adds the live ids of an issue-time range (members "<token_id> <expiry>"). */
static void collect_members(const redisReply *range, int64_t now, int64_t skew, gw_revoke_targets_t *targets)
{
    for (size_t i = 0; i < range->elements; i++) {
        const redisReply *m = range->element[i];
        int64_t expiry;
        if (m == NULL || m->type != REDIS_REPLY_STRING || m->len < SAS_TOKEN_ID_LEN + 2 || m->str[SAS_TOKEN_ID_LEN] != ' ' ||
            !gw_revoke_valid_token_id(m->str, SAS_TOKEN_ID_LEN) ||
            gw_revoke_parse_score(m->str + SAS_TOKEN_ID_LEN + 1, m->len - SAS_TOKEN_ID_LEN - 1, &expiry) != 0)
            continue;
        int64_t until = until_of(expiry, skew);
        if (until > now)
            targets_add(targets, m->str, SAS_TOKEN_ID_LEN, until);
    }
}

int gw_revoke_collect(const gw_revoke_selector_t *sel, const redisReply *reply, int64_t now, int64_t skew,
                      gw_revoke_targets_t *targets, char *err, size_t errlen)
{
    if (sel->by != GW_REVOKE_BY_TOKEN_ID && sel->by != GW_REVOKE_BY_TOKEN && sel->by != GW_REVOKE_BY_PRINCIPAL &&
        sel->by != GW_REVOKE_BY_ISSUED) {
        snprintf(err, errlen, "nothing to revoke");
        return -1;
    }
    /* where the lookup's answers sit in the EXEC reply: after the trims */
    size_t first = 0, n = 0;
    if (sel->by == GW_REVOKE_BY_TOKEN_ID)
        n = 1;
    else if (sel->by == GW_REVOKE_BY_PRINCIPAL)
        first = 1, n = 1;
    else if (sel->by == GW_REVOKE_BY_ISSUED)
        first = n = sel->container[0] != '\0' ? 2 : 1;
    if (reply != NULL && n != 0) {
        if (expect_type(reply, REDIS_REPLY_ARRAY, "the index lookup", err, errlen) != 0)
            return -1;
        if (reply->elements != first + n) {
            snprintf(err, errlen, "Redis answered the index lookup with %zu replies, not %zu", reply->elements, first + n);
            return -1;
        }
        for (size_t i = 0; i < first; i++)
            if (expect_type(reply->element[i], REDIS_REPLY_INTEGER, "the index trim", err, errlen) != 0)
                return -1;
    }

    if (sel->by == GW_REVOKE_BY_TOKEN_ID || sel->by == GW_REVOKE_BY_TOKEN) {
        /* the later of the given expiry and the indexed one: a wrong or stale claim never shortens the entry */
        int64_t expiry = sel->expiry, indexed = 0;
        const redisReply *score = reply != NULL && sel->by == GW_REVOKE_BY_TOKEN_ID ? reply->element[0] : NULL;
        if (score != NULL && score->type != REDIS_REPLY_NIL) {
            if (expect_type(score, REDIS_REPLY_STRING, "the id's expiry", err, errlen) != 0)
                return -1;
            if (gw_revoke_parse_score(score->str, score->len, &indexed) != 0) {
                snprintf(err, errlen, "the issuance index holds no readable expiry for %s", sel->token_id);
                return -1;
            }
            if (indexed > expiry)
                expiry = indexed;
        }
        int64_t until = until_of(expiry, skew);
        if (until > now)
            targets_add(targets, sel->token_id, strlen(sel->token_id), until);
        return 0;
    }
    if (reply == NULL)
        return 0;
    for (size_t i = first; i < first + n; i++) {
        const redisReply *range = reply->element[i];
        if (expect_type(range, REDIS_REPLY_ARRAY, "the index lookup", err, errlen) != 0)
            return -1;
        if (sel->by == GW_REVOKE_BY_PRINCIPAL)
            collect_scored(range, now, skew, targets);
        else
            collect_members(range, now, skew, targets);
    }
    return 0;
}

/* Appends ZREMRANGEBYSCORE sasgw:revoked -inf now. */
static void plan_trim(gw_redis_cmds_t *cmds, int64_t now)
{
    char bound[32];
    snprintf(bound, sizeof(bound), "%" PRId64, now);
    plan_zrem_below(cmds, GW_REVOKED_KEY, bound);
}

size_t gw_revoke_plan_write(const gw_revoke_targets_t *targets, int64_t now, gw_redis_cmds_t *cmds)
{
    size_t before = cmds->n;
    char score[24];
    if (targets->n == 0) {
        plan_trim(cmds, now);
        return 1;
    }
    for (size_t start = 0; start < targets->n; start += GW_REVOKE_BATCH) {
        size_t end = start + GW_REVOKE_BATCH < targets->n ? start + GW_REVOKE_BATCH : targets->n;
        cmd_word(cmds, "MULTI");
        gw_redis_cmd_t *c = cmd_new(cmds, 3 + 2 * (end - start));
        cmd_arg(c, "ZADD");
        cmd_arg(c, GW_REVOKED_KEY);
        cmd_arg(c, "GT");
        for (size_t i = start; i < end; i++) {
            cmd_arg(c, "%s", gw_revoke_score_text(targets->v[i].until, score, sizeof(score)));
            cmd_arg(c, "%s", targets->v[i].token_id);
        }
        for (size_t i = start; i < end; i++) {
            c = cmd_new(cmds, 3);
            cmd_arg(c, "PUBLISH");
            cmd_arg(c, GW_REVOCATIONS_CHANNEL);
            cmd_arg(c, "%s %s", targets->v[i].token_id, gw_revoke_score_text(targets->v[i].until, score, sizeof(score)));
        }
        if (end == targets->n)
            plan_trim(cmds, now);
        cmd_word(cmds, "EXEC");
    }
    return cmds->n - before;
}

size_t gw_revoke_plan_remove(const char *token_id, gw_redis_cmds_t *cmds)
{
    cmd_word(cmds, "MULTI");
    gw_redis_cmd_t *c = cmd_new(cmds, 3);
    cmd_arg(c, "ZREM");
    cmd_arg(c, GW_REVOKED_KEY);
    cmd_arg(c, "%s", token_id);
    c = cmd_new(cmds, 3);
    cmd_arg(c, "PUBLISH");
    cmd_arg(c, GW_REVOCATIONS_CHANNEL);
    cmd_arg(c, "%s %s", token_id, GW_REVOKE_REMOVED);
    cmd_word(cmds, "EXEC");
    return 4;
}

int gw_revoke_removed(const redisReply *reply, char *err, size_t errlen)
{
    if (gw_revoke_reply_ok(reply, err, errlen) != 0)
        return -1;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "Redis answered the removal with something else than expected");
        return -1;
    }
    return reply->element[0]->integer > 0 ? 1 : 0;
}

/* ---- the issuance index ---- */

/*
 * The claim-and-index script (gw_index_plan_claim). KEYS: 1 sasgw:issued,
 * 2 sasgw:revoked, 3 sasgw:mint-seq:{first id}, 4 sasgw:issued:{P},
 * 5 sasgw:issued-at:{A}, 6 sasgw:issued-at:{A}/{C} or
 * sasgw:issued-at-account:{A}. ARGV: 1 id, 2 expiry, 3 issue time,
 * 4 "<id> <expiry>", 5 "1" to trim, 6 bound of the expiry-scored trims,
 * 7 bound of the issue-time trims, 8 when the counter expires.
 */
static const char claim_script[] =
    "if redis.call('ZSCORE', KEYS[2], ARGV[1]) == false and redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 1 then\n"
    "  redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])\n"
    "  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[4])\n"
    "  redis.call('ZADD', KEYS[6], ARGV[3], ARGV[4])\n"
    "  if ARGV[5] == '1' then\n"
    "    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[6])\n"
    "    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[6])\n"
    "    redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[7])\n"
    "    redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', ARGV[7])\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "local n = redis.call('INCR', KEYS[3])\n"
    "redis.call('EXPIREAT', KEYS[3], ARGV[8])\n"
    "return n\n";

static char claim_script_sha[2 * SHA_DIGEST_LENGTH + 1];
static pthread_once_t claim_script_once = PTHREAD_ONCE_INIT;

/* Computes the script's SHA-1 in hex, the name EVALSHA knows it by (once per process). */
static void hash_claim_script(void)
{
    uint8_t d[SHA_DIGEST_LENGTH];
    SHA1((const uint8_t *)claim_script, strlen(claim_script), d);
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(claim_script_sha + 2 * i, 3, "%02x", d[i]);
}

size_t gw_index_plan_claim(const gw_index_entry_t *e, int by_sha, gw_redis_cmds_t *cmds)
{
    gw_redis_cmd_t *c = cmd_new(cmds, 17);
    if (by_sha) {
        pthread_once(&claim_script_once, hash_claim_script);
        cmd_arg(c, "EVALSHA");
        cmd_arg(c, "%s", claim_script_sha);
    } else {
        cmd_arg(c, "EVAL");
        cmd_arg(c, "%s", claim_script);
    }
    cmd_arg(c, "6");
    cmd_arg(c, GW_ISSUED_KEY);
    cmd_arg(c, GW_REVOKED_KEY);
    cmd_arg(c, "%s%s", GW_MINT_SEQ_PREFIX, e->first_id);
    cmd_arg(c, "%s%s", GW_ISSUED_PREFIX, e->principal);
    cmd_arg(c, "%s%s", GW_ISSUED_AT_PREFIX, e->account);
    if (e->container != NULL && e->container[0] != '\0')
        cmd_arg(c, "%s%s/%s", GW_ISSUED_AT_PREFIX, e->account, e->container);
    else
        cmd_arg(c, "%s%s", GW_ISSUED_ACCOUNT_SAS_PREFIX, e->account);
    cmd_arg(c, "%s", e->token_id);
    cmd_arg(c, "%" PRId64, e->expiry);
    cmd_arg(c, "%" PRId64, e->issued);
    cmd_arg(c, "%s %" PRId64, e->token_id, e->expiry);
    cmd_arg(c, "%s", e->trim ? "1" : "0");
    cmd_arg(c, "%" PRId64, e->issued - e->skew);
    cmd_arg(c, "(%" PRId64, e->issued - GW_REVOKE_MAX_LIFETIME - e->skew);
    cmd_arg(c, "%" PRId64, e->first_expiry + e->skew + 1);
    return 1;
}

gw_index_claim_t gw_index_claim_result(const redisReply *reply, int64_t *shift, char *err, size_t errlen)
{
    if (reply == NULL) {
        snprintf(err, errlen, "Redis did not answer");
        return GW_INDEX_CLAIM_ERROR;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* Redis's error replies start with their code: NOSCRIPT is the one EVALSHA answers for an unknown script */
        if (reply->len >= 9 && memcmp(reply->str, "NOSCRIPT ", 9) == 0)
            return GW_INDEX_NOSCRIPT;
        snprintf(err, errlen, "Redis: %.*s", (int)reply->len, reply->str != NULL ? reply->str : "");
        return GW_INDEX_CLAIM_ERROR;
    }
    if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
        snprintf(err, errlen, "Redis answered the issuance index write with something else than expected");
        return GW_INDEX_CLAIM_ERROR;
    }
    *shift = reply->integer;
    return GW_INDEX_CLAIMED;
}

int gw_revoke_reply_ok(const redisReply *reply, char *err, size_t errlen)
{
    if (reply == NULL) {
        snprintf(err, errlen, "Redis did not answer");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis: %.*s", (int)reply->len, reply->str != NULL ? reply->str : "");
        return -1;
    }
    if (reply->type == REDIS_REPLY_NIL) {
        snprintf(err, errlen, "Redis aborted the transaction");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < reply->elements; i++)
            if (reply->element[i] != NULL && reply->element[i]->type == REDIS_REPLY_ERROR)
                return gw_revoke_reply_ok(reply->element[i], err, errlen);
    return 0;
}

/* ---- events ---- */

/* Dumps obj (stolen) compactly into buf. */
static const char *dump_event(json_t *obj, char *buf, size_t cap)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    snprintf(buf, cap, "%s", s != NULL ? s : "{}");
    free(s);
    return buf;
}

const char *gw_event_keys(const char *account, char *buf, size_t cap)
{
    return dump_event(json_pack("{s:s,s:s}", "type", "keys", "account", account), buf, cap);
}

const char *gw_event_policies(const char *account, const char *container, char *buf, size_t cap)
{
    return dump_event(json_pack("{s:s,s:s,s:s}", "type", "policies", "account", account, "container", container), buf, cap);
}
