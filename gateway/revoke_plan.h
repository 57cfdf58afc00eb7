/*
 * revoke_plan.h - what a revocation writes to Redis (docs/redis.md), as pure
 * functions shared by POST /v1/revocations and `sasgw revoke`: no I/O, no
 * clock. The caller runs the commands (async on the loop, or blocking in the
 * CLI) in three steps:
 *
 *     gw_revoke_selector_t sel;            (filled from JSON or argv, then checked)
 *     gw_revoke_plan_lookup(&sel, now, &cmds);        // 0 commands, or trim + ZRANGEBYSCORE
 *     ... run cmds; keep the reply of the last one ...
 *     gw_revoke_collect(&sel, last_reply, now, &targets);
 *     gw_revoke_plan_write(&targets, now, &cmds);     // MULTI ZADD PUBLISH... EXEC per batch
 *     ... run cmds; gw_revoke_reply_ok() on every reply ...
 *
 * Semantics. A token id is added to `sasgw:revoked` with its expiry as score
 * (ZADD GT: a later revocation never shortens an entry) and published on
 * `sasgw:revocations` as "<id> <expiry>", in one MULTI/EXEC per batch of
 * GW_REVOKE_BATCH ids; the last batch also trims `sasgw:revoked` of expired
 * entries. A token id given alone carries no expiry: unless the caller knows
 * it, it is kept for GW_REVOKE_MAX_LIFETIME (the longest lifetime a token may
 * have), which is always long enough. Expired tokens are skipped: they are
 * refused anyway.
 */
#ifndef SASGW_GATEWAY_REVOKE_PLAN_H
#define SASGW_GATEWAY_REVOKE_PLAN_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "signer.h"

#define GW_REVOKED_KEY "sasgw:revoked"
#define GW_REVOCATIONS_CHANNEL "sasgw:revocations"
#define GW_EVENTS_CHANNEL "sasgw:events"
#define GW_ISSUED_PREFIX "sasgw:issued:"
#define GW_ISSUED_AT_PREFIX "sasgw:issued-at:"

/* The longest lifetime of a token (docs/redis.md): 7 days. */
#define GW_REVOKE_MAX_LIFETIME (7 * 86400)
/* Token ids per MULTI/EXEC. */
#define GW_REVOKE_BATCH 1000
/* Longest principal name (policy.yaml: 1 to 64 of A-Z a-z 0-9 . _ @ -). */
#define GW_PRINCIPAL_MAX 64

/* ---- Redis commands as data ---- */

typedef struct st_gw_redis_cmd_t {
    int argc;
    char **argv; /* NUL-terminated copies; argvlen[i] == strlen(argv[i]) */
    size_t *argvlen;
} gw_redis_cmd_t;

typedef struct st_gw_redis_cmds_t {
    gw_redis_cmd_t *v;
    size_t n, cap;
} gw_redis_cmds_t;

/* Frees every command and empties the list (it may be reused). */
void gw_redis_cmds_clear(gw_redis_cmds_t *cmds);
/* Writes command i as its arguments joined by single spaces into buf (truncated to cap). Returns buf. */
const char *gw_redis_cmd_text(const gw_redis_cmd_t *cmd, char *buf, size_t cap);

/* ---- what to revoke ---- */

typedef enum en_gw_revoke_by_t {
    GW_REVOKE_BY_NONE = 0,
    GW_REVOKE_BY_TOKEN_ID, /* token_id [, expiry] */
    GW_REVOKE_BY_TOKEN,    /* a SAS: token_id and expiry derived from it */
    GW_REVOKE_BY_PRINCIPAL,
    GW_REVOKE_BY_ISSUED /* account [, container], issued_before */
} gw_revoke_by_t;

typedef struct st_gw_revoke_selector_t {
    gw_revoke_by_t by;
    char token_id[SAS_TOKEN_ID_LEN + 1];
    int64_t expiry; /* unix seconds; 0: unknown */
    char principal[GW_PRINCIPAL_MAX + 1];
    char account[32];
    char container[64]; /* "" when none */
    int64_t issued_before;
} gw_revoke_selector_t;

/*
 * Fills sel from a SAS: a query string (with or without '?') or a whole URL
 * (the part after the first '?'). The token id comes from sig, the expiry
 * from se (0 when the token has none: a stored access policy supplies it).
 * Returns 0, or -1 with the signer's reason in err.
 */
int gw_revoke_selector_from_token(gw_revoke_selector_t *sel, const char *sas, size_t len, char *err, size_t errlen);
/*
 * Checks a filled selector: a token id of 22 base64url characters, a principal
 * name, an account (Azure rules), a container when set, issued_before > 0.
 * Returns 0, or -1 with the offending field's name in *field and a sentence in err.
 */
int gw_revoke_selector_check(const gw_revoke_selector_t *sel, const char **field, char *err, size_t errlen);
/* 1 when s (len bytes) is a token id: 22 characters of [A-Za-z0-9_-]. */
int gw_revoke_valid_token_id(const char *s, size_t len);
/* 1 when s is a principal name: 1-64 characters of [A-Za-z0-9._@-]. */
int gw_revoke_valid_principal(const char *s);
/* Describes the selector for audit records and messages ("principal demo-app"). Returns buf. */
const char *gw_revoke_selector_describe(const gw_revoke_selector_t *sel, char *buf, size_t cap);

/* ---- the plan ---- */

typedef struct st_gw_revoke_target_t {
    char token_id[SAS_TOKEN_ID_LEN + 1];
    int64_t expiry;
} gw_revoke_target_t;

typedef struct st_gw_revoke_targets_t {
    gw_revoke_target_t *v;
    size_t n, cap;
} gw_revoke_targets_t;

void gw_revoke_targets_clear(gw_revoke_targets_t *t);

/*
 * Appends to cmds the commands that find the token ids of sel: for a
 * principal, trim `sasgw:issued:{P}` of expired ids then ZRANGEBYSCORE it
 * from now (exclusive) WITHSCORES; for account[/container], trim
 * `sasgw:issued-at:{K}` of entries issued more than GW_REVOKE_MAX_LIFETIME
 * ago then ZRANGEBYSCORE it below issued_before (exclusive). Nothing for a
 * token or token id. Returns the number of commands appended; the ids are in
 * the reply of the last one.
 */
size_t gw_revoke_plan_lookup(const gw_revoke_selector_t *sel, int64_t now, gw_redis_cmds_t *cmds);
/*
 * Collects the ids to revoke into targets (appending): the selector's own id
 * (expiry now + GW_REVOKE_MAX_LIFETIME when unknown), or the ids in reply (the
 * last lookup reply; NULL is read as empty). Skips expired ids and malformed
 * members. Returns 0, or -1 when reply is an error or not an array (err says
 * why).
 */
int gw_revoke_collect(const gw_revoke_selector_t *sel, const redisReply *reply, int64_t now, gw_revoke_targets_t *targets,
                      char *err, size_t errlen);
/*
 * Appends the write commands for targets: per batch of GW_REVOKE_BATCH,
 * MULTI, ZADD sasgw:revoked GT e id..., PUBLISH sasgw:revocations "id e"...,
 * EXEC; the last batch trims sasgw:revoked before EXEC. With no target, a
 * lone trim. Returns the number of commands appended.
 */
size_t gw_revoke_plan_write(const gw_revoke_targets_t *targets, int64_t now, gw_redis_cmds_t *cmds);
/*
 * Checks one reply of the plan: 0 when it is neither an error (at any depth,
 * as EXEC nests the queued commands' replies) nor a nil EXEC; -1 with Redis's
 * message in err otherwise. A NULL reply is an error ("no reply").
 */
int gw_revoke_reply_ok(const redisReply *reply, char *err, size_t errlen);

/* ---- events ---- */

/* The payload for sasgw:events after a key change: {"type":"keys","account":A}. Returns buf. */
const char *gw_event_keys(const char *account, char *buf, size_t cap);
/* ... after a stored access policy change: {"type":"policies","account":A,"container":C}. Returns buf. */
const char *gw_event_policies(const char *account, const char *container, char *buf, size_t cap);

#endif
