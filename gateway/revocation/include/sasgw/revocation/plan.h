/*
 * sasgw/revocation/plan.h - what a revocation writes to Redis (docs/redis.md), as pure
 * functions shared by POST /v1/revocations and `sasgw revoke`: no I/O, no
 * clock. The caller runs the commands (async on the loop, or blocking in the
 * CLI) in three steps:
 *
 *     gw_revoke_selector_t sel;            (filled from JSON or argv, then checked)
 *     gw_revoke_plan_lookup(&sel, now, skew, &cmds);  // 0 commands, or MULTI ... EXEC
 *     ... run cmds; keep the reply of the last one ...
 *     gw_revoke_collect(&sel, last_reply, now, skew, &targets);
 *     gw_revoke_plan_write(&targets, now, &cmds);     // MULTI ZADD PUBLISH... EXEC per batch
 *     ... run cmds; gw_revoke_reply_ok() on every reply ...
 *
 * Semantics. A token id is added to `sasgw:revoked` with the token's own end
 * as score: its se (or, for a {token_id}, the expiry the issuance index
 * recorded at mint) plus the proxy's expiry skew, the last moment a proxy
 * could still accept it. A token whose end is unknown (a {token} without se,
 * whose stored access policy may be changed later; a {token_id} the index
 * does not know and given without expiry) is scored GW_REVOKE_FOREVER
 * (+inf): it stays until an admin removes it (gw_revoke_plan_remove). ZADD
 * GT: a later revocation never shortens an entry. Each id is published on
 * `sasgw:revocations` as "<id> <score>", in one MULTI/EXEC per batch of
 * GW_REVOKE_BATCH ids; the last batch also trims `sasgw:revoked` of ended
 * entries. Ended tokens are skipped: they are refused anyway.
 *
 * The issuance index (gw_index_plan_claim) is written by every mint before it
 * answers, in one script that also claims the token id: an id is minted once.
 */
#ifndef SASGW_GATEWAY_REVOKE_PLAN_H
#define SASGW_GATEWAY_REVOKE_PLAN_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "sasgw/signer.h"

#define GW_REVOKED_KEY "sasgw:revoked"
#define GW_REVOCATIONS_CHANNEL "sasgw:revocations"
#define GW_EVENTS_CHANNEL "sasgw:events"
#define GW_ISSUED_PREFIX "sasgw:issued:"
#define GW_ISSUED_AT_PREFIX "sasgw:issued-at:"
/* Every minted id -> its expiry (se, unix seconds): the claim that makes ids unique, and {token_id}'s expiry. */
#define GW_ISSUED_KEY "sasgw:issued"
/* Account SAS of an account by issue time: {account, container, issued_before} reaches them (they cover every container). */
#define GW_ISSUED_ACCOUNT_SAS_PREFIX "sasgw:issued-at-account:"
/* Per first candidate id: how many identical mints were asked for (the next start shift). */
#define GW_MINT_SEQ_PREFIX "sasgw:mint-seq:"
/* The score of an entry whose end is unknown: +inf in Redis, kept until removed. */
#define GW_REVOKE_FOREVER INT64_MAX
/* The payload word that announces a removal on sasgw:revocations: "<id> removed". */
#define GW_REVOKE_REMOVED "removed"

/* The longest lifetime of a minted token (docs/redis.md): 7 days; the issue-time index is trimmed past it. */
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
    int64_t expiry; /* the token's se, unix seconds; 0: unknown */
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
    int64_t until; /* the score: the token's end plus the expiry skew, or GW_REVOKE_FOREVER */
} gw_revoke_target_t;

typedef struct st_gw_revoke_targets_t {
    gw_revoke_target_t *v;
    size_t n, cap;
} gw_revoke_targets_t;

void gw_revoke_targets_clear(gw_revoke_targets_t *t);

/*
 * Appends to cmds the commands that find the token ids of sel, in one
 * MULTI/EXEC (skew: the proxy's expiry_skew, seconds; a token is alive while
 * now < its expiry + skew):
 *   {token_id}: ZSCORE sasgw:issued ID (the expiry recorded at mint);
 *   {principal}: trim `sasgw:issued:{P}` of ended ids, then ZRANGEBYSCORE it
 *     from now - skew (exclusive) WITHSCORES;
 *   {account [, container]}: trim `sasgw:issued-at:{K}` of entries issued
 *     more than GW_REVOKE_MAX_LIFETIME + skew ago, then ZRANGEBYSCORE it below
 *     issued_before (exclusive); with a container, the same on the account's
 *     account SAS (GW_ISSUED_ACCOUNT_SAS_PREFIX), which cover every container.
 * Nothing for a {token}. Returns the number of commands appended; the ids are
 * in the reply of the last one (EXEC).
 */
size_t gw_revoke_plan_lookup(const gw_revoke_selector_t *sel, int64_t now, int64_t skew, gw_redis_cmds_t *cmds);
/*
 * Collects the ids to revoke into targets (appending). reply is the EXEC
 * reply of the lookup (NULL is read as empty). For {token} and {token_id},
 * the selector's own id, scored by the later of its given expiry and the one
 * the index holds, plus skew; GW_REVOKE_FOREVER when neither is known. For
 * the others, the ids in the lookup's ranges, scored expiry + skew. Skips
 * ended ids and malformed members. Returns 0, or -1 when reply is an error,
 * an aborted EXEC or not the shape asked for (err says why).
 */
int gw_revoke_collect(const gw_revoke_selector_t *sel, const redisReply *reply, int64_t now, int64_t skew,
                      gw_revoke_targets_t *targets, char *err, size_t errlen);
/*
 * Appends the write commands for targets: per batch of GW_REVOKE_BATCH,
 * MULTI, ZADD sasgw:revoked GT score id..., PUBLISH sasgw:revocations
 * "id score"..., EXEC (score "+inf" for GW_REVOKE_FOREVER); the last batch
 * trims sasgw:revoked before EXEC. With no target, a lone trim. Returns the
 * number of commands appended.
 */
size_t gw_revoke_plan_write(const gw_revoke_targets_t *targets, int64_t now, gw_redis_cmds_t *cmds);
/*
 * Appends the commands that take id off the list: MULTI, ZREM sasgw:revoked
 * id, PUBLISH sasgw:revocations "id removed", EXEC. Returns 4.
 */
size_t gw_revoke_plan_remove(const char *token_id, gw_redis_cmds_t *cmds);
/* Reads the EXEC reply of gw_revoke_plan_remove: 1 removed, 0 the id was not on the list, -1 error (err). */
int gw_revoke_removed(const redisReply *reply, char *err, size_t errlen);

/* Writes a score as Redis reads it ("+inf" for GW_REVOKE_FOREVER). Returns buf (24 bytes are enough). */
const char *gw_revoke_score_text(int64_t score, char *buf, size_t cap);
/*
 * Reads a score of sasgw:revoked as Redis writes it ("1800000000",
 * "1.8e9", "inf", "+inf"): whole seconds, fraction dropped; +inf is
 * GW_REVOKE_FOREVER. Returns 0, or -1 for anything else (-inf, nan, text).
 */
int gw_revoke_parse_score(const char *s, size_t len, int64_t *out);
/*
 * Reads a message of sasgw:revocations: "<id> <score>" (*removed = 0),
 * "<id> removed" (*removed = 1), or a bare "<id>" (score unknown:
 * GW_REVOKE_FOREVER). id receives the 22 characters. Returns 0 or -1.
 */
int gw_revoke_parse_message(const char *s, size_t len, char id[SAS_TOKEN_ID_LEN + 1], int64_t *until, int *removed);

/* ---- the issuance index, written at mint ---- */

typedef struct st_gw_index_entry_t {
    const char *token_id; /* this candidate's id */
    const char *first_id; /* the id of the request's first candidate (names its mint counter) */
    const char *principal;
    const char *account;
    const char *container; /* NULL or "": an account SAS */
    int64_t issued;        /* unix seconds */
    int64_t expiry;        /* this candidate's se */
    int64_t first_expiry;  /* the first candidate's se: the counter lives until then */
    int64_t skew;          /* the proxy's expiry_skew */
    int trim;              /* also trim the index keys written */
} gw_index_entry_t;

/*
 * Appends one EVALSHA (by_sha 1: the script's SHA-1, the usual case) or EVAL
 * (by_sha 0: the script itself, after Redis answered NOSCRIPT) that claims
 * e->token_id and indexes it, atomically: when the id is neither in
 * sasgw:issued (ZADD NX) nor on the revocation list, it is added to
 * sasgw:issued (score expiry), sasgw:issued:{P} (expiry),
 * sasgw:issued-at:{A} and either sasgw:issued-at:{A}/{C} or, for an account
 * SAS, sasgw:issued-at-account:{A} (issue time, member "<id> <expiry>"), with
 * trims when e->trim; the reply is 0. Otherwise the id is taken: the script
 * increments sasgw:mint-seq:{first_id} (expiring after first_expiry + skew)
 * and replies with the new count, the shift the next candidate uses.
 * Returns 1 (commands appended).
 */
size_t gw_index_plan_claim(const gw_index_entry_t *e, int by_sha, gw_redis_cmds_t *cmds);

typedef enum en_gw_index_claim_t {
    GW_INDEX_CLAIM_ERROR = -1, /* err says why */
    GW_INDEX_CLAIMED = 0,      /* *shift 0: claimed and indexed; *shift > 0: taken, sign again shifted by that many seconds */
    GW_INDEX_NOSCRIPT = 1      /* Redis does not know the script yet: send the claim again with by_sha 0 */
} gw_index_claim_t;
/* Reads the claim's reply. */
gw_index_claim_t gw_index_claim_result(const redisReply *reply, int64_t *shift, char *err, size_t errlen);

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
