/*
 * revoke_plan.c - the Redis commands of a revocation (revoke_plan.h): pure,
 * shared by the admin API and `sasgw revoke`.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "revoke_plan.h"
#include "vault.h"

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
static void targets_add(gw_revoke_targets_t *t, const char *id, size_t idlen, int64_t expiry)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = sg_realloc(t->v, t->cap * sizeof(*t->v));
    }
    memcpy(t->v[t->n].token_id, id, idlen);
    t->v[t->n].token_id[idlen] = '\0';
    t->v[t->n].expiry = expiry;
    t->n++;
}

size_t gw_revoke_plan_lookup(const gw_revoke_selector_t *sel, int64_t now, gw_redis_cmds_t *cmds)
{
    gw_redis_cmd_t *c;
    switch (sel->by) {
    case GW_REVOKE_BY_PRINCIPAL:
        c = cmd_new(cmds, 4);
        cmd_arg(c, "ZREMRANGEBYSCORE");
        cmd_arg(c, "%s%s", GW_ISSUED_PREFIX, sel->principal);
        cmd_arg(c, "-inf");
        cmd_arg(c, "%" PRId64, now);
        c = cmd_new(cmds, 5);
        cmd_arg(c, "ZRANGEBYSCORE");
        cmd_arg(c, "%s%s", GW_ISSUED_PREFIX, sel->principal);
        cmd_arg(c, "(%" PRId64, now);
        cmd_arg(c, "+inf");
        cmd_arg(c, "WITHSCORES");
        return 2;
    case GW_REVOKE_BY_ISSUED: {
        char key[160];
        snprintf(key, sizeof(key), "%s%s%s%s", GW_ISSUED_AT_PREFIX, sel->account, sel->container[0] ? "/" : "", sel->container);
        c = cmd_new(cmds, 4);
        cmd_arg(c, "ZREMRANGEBYSCORE");
        cmd_arg(c, "%s", key);
        cmd_arg(c, "-inf");
        cmd_arg(c, "(%" PRId64, now - GW_REVOKE_MAX_LIFETIME);
        c = cmd_new(cmds, 4);
        cmd_arg(c, "ZRANGEBYSCORE");
        cmd_arg(c, "%s", key);
        cmd_arg(c, "-inf");
        cmd_arg(c, "(%" PRId64, sel->issued_before);
        return 2;
    }
    default:
        return 0;
    }
}

/* Parses a decimal integer of exactly len bytes (optionally with a fraction, dropped: Redis scores). 0 or -1. */
static int parse_int64(const char *s, size_t len, int64_t *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (*end != '\0' || !(d > -9.2e18 && d < 9.2e18))
        return -1;
    *out = (int64_t)d;
    return 0;
}

int gw_revoke_collect(const gw_revoke_selector_t *sel, const redisReply *reply, int64_t now, gw_revoke_targets_t *targets,
                      char *err, size_t errlen)
{
    if (sel->by == GW_REVOKE_BY_TOKEN_ID || sel->by == GW_REVOKE_BY_TOKEN) {
        int64_t expiry = sel->expiry > 0 ? sel->expiry : now + GW_REVOKE_MAX_LIFETIME;
        if (expiry > now)
            targets_add(targets, sel->token_id, strlen(sel->token_id), expiry);
        return 0;
    }
    if (sel->by != GW_REVOKE_BY_PRINCIPAL && sel->by != GW_REVOKE_BY_ISSUED) {
        snprintf(err, errlen, "nothing to revoke");
        return -1;
    }
    if (reply == NULL)
        return 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "Redis: %.*s", (int)reply->len, reply->str);
        return -1;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "Redis answered the index lookup with something else than a list");
        return -1;
    }
    if (sel->by == GW_REVOKE_BY_PRINCIPAL) {
        /* member, score, member, score... (RESP2 WITHSCORES) */
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *m = reply->element[i], *s = reply->element[i + 1];
            int64_t expiry;
            if (m == NULL || s == NULL || m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING ||
                !gw_revoke_valid_token_id(m->str, m->len) || parse_int64(s->str, s->len, &expiry) != 0)
                continue;
            if (expiry > now)
                targets_add(targets, m->str, m->len, expiry);
        }
    } else {
        /* members "<token_id> <expiry>" */
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *m = reply->element[i];
            int64_t expiry;
            if (m == NULL || m->type != REDIS_REPLY_STRING || m->len < SAS_TOKEN_ID_LEN + 2 || m->str[SAS_TOKEN_ID_LEN] != ' ' ||
                !gw_revoke_valid_token_id(m->str, SAS_TOKEN_ID_LEN) ||
                parse_int64(m->str + SAS_TOKEN_ID_LEN + 1, m->len - SAS_TOKEN_ID_LEN - 1, &expiry) != 0)
                continue;
            if (expiry > now)
                targets_add(targets, m->str, SAS_TOKEN_ID_LEN, expiry);
        }
    }
    return 0;
}

/* Appends ZREMRANGEBYSCORE sasgw:revoked -inf now. */
static void plan_trim(gw_redis_cmds_t *cmds, int64_t now)
{
    gw_redis_cmd_t *c = cmd_new(cmds, 4);
    cmd_arg(c, "ZREMRANGEBYSCORE");
    cmd_arg(c, GW_REVOKED_KEY);
    cmd_arg(c, "-inf");
    cmd_arg(c, "%" PRId64, now);
}

size_t gw_revoke_plan_write(const gw_revoke_targets_t *targets, int64_t now, gw_redis_cmds_t *cmds)
{
    size_t before = cmds->n;
    if (targets->n == 0) {
        plan_trim(cmds, now);
        return 1;
    }
    for (size_t start = 0; start < targets->n; start += GW_REVOKE_BATCH) {
        size_t end = start + GW_REVOKE_BATCH < targets->n ? start + GW_REVOKE_BATCH : targets->n;
        gw_redis_cmd_t *c = cmd_new(cmds, 1);
        cmd_arg(c, "MULTI");
        c = cmd_new(cmds, 3 + 2 * (end - start));
        cmd_arg(c, "ZADD");
        cmd_arg(c, GW_REVOKED_KEY);
        cmd_arg(c, "GT");
        for (size_t i = start; i < end; i++) {
            cmd_arg(c, "%" PRId64, targets->v[i].expiry);
            cmd_arg(c, "%s", targets->v[i].token_id);
        }
        for (size_t i = start; i < end; i++) {
            c = cmd_new(cmds, 3);
            cmd_arg(c, "PUBLISH");
            cmd_arg(c, GW_REVOCATIONS_CHANNEL);
            cmd_arg(c, "%s %" PRId64, targets->v[i].token_id, targets->v[i].expiry);
        }
        if (end == targets->n)
            plan_trim(cmds, now);
        c = cmd_new(cmds, 1);
        cmd_arg(c, "EXEC");
    }
    return cmds->n - before;
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
