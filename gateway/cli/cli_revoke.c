/*
 * cli_revoke.c - `sasgw revoke` (DESIGN §9): revokes tokens by writing to
 * Redis exactly what POST /v1/revocations writes (revoke_plan.h), over a
 * blocking hiredis connection.
 *
 *   sasgw revoke (--token-id ID [--expiry T] | --token SAS | --principal P |
 *                 --account A [--container C] --issued-before T | --remove ID)
 *                [--redis HOST:PORT] [-c conf/sasgw.yaml] [--audit-log PATH] [--json]
 *
 * Redis: --redis, else the `redis:` section of -c (with its password_file),
 * else 127.0.0.1:6379. Audit: a record (principal "cli", op "revoke") per
 * revoked id goes to --audit-log, else to the log -c names (audit.path, or
 * audit.log beside its vault); without either no record is written. The
 * audit log needs no master key, so none is asked for (--vault,
 * --master-key-file and --passphrase-file are accepted for symmetry with the
 * other commands; --vault only places the default audit log). Entries are
 * scored by the token's end plus the proxy's expiry_skew from -c (0 without
 * it); --remove takes one id off the list (DELETE /v1/revocations/{id}).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_redis.h"
#include "sasgw/common.h"
#include "sasgw/core/config.h"
#include "sasgw/core/redis.h"
#include "sasgw/revocation/plan.h"
#include "sasgw/vault.h"

#define AUDIT_IDS_MAX 100

static const char help[] = "usage: sasgw revoke (--token-id ID [--expiry T] | --token SAS | --principal P |\n"
                           "                     --account A [--container C] --issued-before T | --remove ID)\n"
                           "                    [--redis HOST:PORT] [-c conf/sasgw.yaml] [--audit-log PATH] [--json]\n"
                           "\n"
                           "Revokes tokens: adds their ids to the revocation list in Redis (sasgw:revoked)\n"
                           "and announces them on sasgw:revocations, so every proxy refuses them within\n"
                           "milliseconds. The same as POST /v1/revocations.\n"
                           "\n"
                           "  --token-id ID        one token by its id (22 characters); kept on the list until\n"
                           "                       its expiry as the issuance index recorded it at mint (or\n"
                           "                       --expiry T, whichever is later); unknown: until --remove\n"
                           "  --token SAS          one token given as its query string or whole URL; its id and\n"
                           "                       expiry (se) are read from it; without se (a stored access\n"
                           "                       policy supplies it): until --remove\n"
                           "  --principal P        every unexpired token issued to principal P\n"
                           "  --account A          every unexpired token for account A (only container C with\n"
                           "                       --container, and A's account SAS, which cover every\n"
                           "                       container) issued before --issued-before T\n"
                           "  --remove ID          take token id ID off the revocation list: every proxy serves\n"
                           "                       it again (exit 1 when it was not on the list)\n"
                           "  --redis HOST:PORT    Redis to write to (default: the config's, else 127.0.0.1:6379)\n"
                           "  -c, --config FILE    sasgw.yaml: Redis address and password file, audit log, and\n"
                           "                       proxy.expiry_skew (added to every entry's end; 0 without -c)\n"
                           "  --audit-log PATH     write the audit records there (principal \"cli\")\n"
                           "  --json               print {\"revoked\": N, \"token_ids\": [...]}\n"
                           "\n"
                           "Times T: unix seconds, or 2026-01-02, 2026-01-02T03:04:05Z, ...\n"
                           "Exit status: 0 revoked (also when nothing matched), 1 refused or Redis failed, 2 usage.\n";

/* Parses unix seconds or a vault time. 0 or -1. */
static int parse_time(const char *s, int64_t *out)
{
    if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s) && strlen(s) < 15) {
        *out = (int64_t)strtoll(s, NULL, 10);
        return 0;
    }
    return vault_time_parse(s, out) == 0 && *out >= 0 ? 0 : -1;
}

/* Sends every command of cmds, then reads every reply. *last receives the last reply (caller frees). 0 or -1. */
static int run_cmds(redisContext *c, const gw_redis_cmds_t *cmds, int check_all, redisReply **last, char *err, size_t errlen)
{
    *last = NULL;
    for (size_t i = 0; i < cmds->n; i++)
        if (redisAppendCommandArgv(c, cmds->v[i].argc, (const char **)(void *)cmds->v[i].argv, cmds->v[i].argvlen) != REDIS_OK) {
            snprintf(err, errlen, "cannot send to Redis: %s", c->errstr);
            return -1;
        }
    int rc = 0;
    for (size_t i = 0; i < cmds->n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK) {
            snprintf(err, errlen, "Redis did not answer: %s", c->errstr);
            return -1;
        }
        redisReply *reply = r;
        if (rc == 0 && (check_all || i + 1 < cmds->n) && gw_revoke_reply_ok(reply, err, errlen) != 0)
            rc = -1;
        if (i + 1 == cmds->n)
            *last = reply;
        else
            freeReplyObject(reply);
    }
    return rc;
}

/* Appends the audit records; failures are reported but do not undo the revocation. */
static void audit_revocation(const char *path, const gw_revoke_selector_t *sel, const gw_revoke_targets_t *t, const char *result,
                             const char *reason)
{
    char err[256], object[200];
    vault_audit_t *log = vault_audit_open(path, err, sizeof(err));
    if (log == NULL) {
        fprintf(stderr, "sasgw revoke: warning: no audit record written: %s\n", err);
        return;
    }
    gw_revoke_selector_describe(sel, object, sizeof(object));
    vault_audit_record_t rec = {.principal = "cli", .op = "revoke", .object = object, .result = result, .reason = reason};
    int ok = 1;
    for (size_t i = 0; t != NULL && i < t->n && i < AUDIT_IDS_MAX && ok; i++) {
        rec.token_id = t->v[i].token_id;
        ok = vault_audit_append(log, &rec, err, sizeof(err)) == 0;
    }
    if (ok && (t == NULL || t->n == 0 || t->n > AUDIT_IDS_MAX)) {
        char summary[160];
        rec.token_id = NULL;
        if (reason == NULL) {
            snprintf(summary, sizeof(summary), "%zu token(s) revoked%s", t != NULL ? t->n : 0,
                     t != NULL && t->n > AUDIT_IDS_MAX ? "; only the first ids have their own record" : "");
            rec.reason = summary;
        }
        ok = vault_audit_append(log, &rec, err, sizeof(err)) == 0;
    }
    if (!ok)
        fprintf(stderr, "sasgw revoke: warning: cannot write the audit record: %s\n", err);
    vault_audit_close(log);
}

/* Appends the audit record of a removal (op "revocation.remove"); failures are reported. */
static void audit_removal(const char *path, const gw_revoke_selector_t *sel, int removed)
{
    char err[256], object[64];
    vault_audit_t *log = vault_audit_open(path, err, sizeof(err));
    if (log == NULL) {
        fprintf(stderr, "sasgw revoke: warning: no audit record written: %s\n", err);
        return;
    }
    gw_revoke_selector_describe(sel, object, sizeof(object));
    vault_audit_record_t rec = {.principal = "cli",
                                .op = "revocation.remove",
                                .object = object,
                                .result = removed ? "ok" : "refused",
                                .token_id = sel->token_id,
                                .reason = removed ? NULL : "not on the revocation list"};
    if (vault_audit_append(log, &rec, err, sizeof(err)) != 0)
        fprintf(stderr, "sasgw revoke: warning: cannot write the audit record: %s\n", err);
    vault_audit_close(log);
}

int gw_cli_revoke(int argc, char **argv)
{
    static const char *const usage_tail = " (see 'sasgw revoke --help').\n";
    /* --master-key-file and --passphrase-file are accepted, unused */
    static const gw_arg_t table[] = {{"--token-id", NULL, GW_ARG_VALUE},
                                     {"--expiry", NULL, GW_ARG_VALUE},
                                     {"--remove", NULL, GW_ARG_VALUE},
                                     {"--token", NULL, GW_ARG_VALUE},
                                     {"--principal", NULL, GW_ARG_VALUE},
                                     {"--account", NULL, GW_ARG_VALUE},
                                     {"--container", NULL, GW_ARG_VALUE},
                                     {"--issued-before", NULL, GW_ARG_VALUE},
                                     {"--redis", NULL, GW_ARG_VALUE},
                                     {"--config", "-c", GW_ARG_VALUE},
                                     {"--audit-log", NULL, GW_ARG_VALUE},
                                     {"--vault", NULL, GW_ARG_VALUE},
                                     {"--master-key-file", NULL, GW_ARG_VALUE},
                                     {"--passphrase-file", NULL, GW_ARG_VALUE},
                                     {"--json", NULL, GW_ARG_FLAG},
                                     {NULL, NULL, GW_ARG_FLAG}};
    gw_args_t p;
    switch (gw_args_parse(&p, table, 0, 0, argc, argv)) {
    case GW_ARGS_OK:
        break;
    case GW_ARGS_HELP:
        fputs(help, stdout);
        return GW_EXIT_OK;
    case GW_ARGS_E_NEEDS_VALUE:
        fprintf(stderr, "sasgw revoke: option '%s' needs a value%s", p.bad, usage_tail);
        return GW_EXIT_USAGE;
    case GW_ARGS_E_REPEATED:
        fprintf(stderr, "sasgw revoke: option '%.*s' given twice%s", (int)p.bad_len, p.bad, usage_tail);
        return GW_EXIT_USAGE;
    case GW_ARGS_E_TOO_MANY:
        fprintf(stderr, "sasgw revoke: too many options%s", usage_tail);
        return GW_EXIT_USAGE;
    default: /* an unknown option, a flag with a value, a positional argument */
        fprintf(stderr, "sasgw revoke: unknown argument '%s'%s", p.bad, usage_tail);
        return GW_EXIT_USAGE;
    }
    const char *token_id = gw_args_value(&p, "--token-id"), *remove = gw_args_value(&p, "--remove"),
               *expiry = gw_args_value(&p, "--expiry"), *token = gw_args_value(&p, "--token"),
               *principal = gw_args_value(&p, "--principal"), *account = gw_args_value(&p, "--account"),
               *container = gw_args_value(&p, "--container"), *issued_before = gw_args_value(&p, "--issued-before"),
               *redis_addr = gw_args_value(&p, "--redis"), *config = gw_args_value(&p, "--config"),
               *audit_log = gw_args_value(&p, "--audit-log"), *vault_path = gw_args_value(&p, "--vault");
    int json = gw_args_has(&p, "--json");

    /* exactly one selector */
    int nsel = (token_id != NULL) + (token != NULL) + (principal != NULL) + (account != NULL) + (remove != NULL);
    if (nsel != 1) {
        fprintf(stderr, "sasgw revoke: give exactly one of --token-id, --token, --principal, --account, --remove%s", usage_tail);
        return GW_EXIT_USAGE;
    }
    if (expiry != NULL && token_id == NULL) {
        fprintf(stderr, "sasgw revoke: --expiry goes with --token-id%s", usage_tail);
        return GW_EXIT_USAGE;
    }
    if ((container != NULL || issued_before != NULL) && account == NULL) {
        fprintf(stderr, "sasgw revoke: --container and --issued-before go with --account%s", usage_tail);
        return GW_EXIT_USAGE;
    }
    if (account != NULL && issued_before == NULL) {
        fprintf(stderr, "sasgw revoke: --account needs --issued-before%s", usage_tail);
        return GW_EXIT_USAGE;
    }

    gw_revoke_selector_t sel;
    memset(&sel, 0, sizeof(sel));
    char err[512];
    if (token_id != NULL || remove != NULL) {
        const char *id = token_id != NULL ? token_id : remove;
        sel.by = GW_REVOKE_BY_TOKEN_ID;
        snprintf(sel.token_id, sizeof(sel.token_id), "%s", id);
        if (strlen(id) >= sizeof(sel.token_id))
            sel.token_id[0] = '\0';
        if (expiry != NULL && parse_time(expiry, &sel.expiry) != 0) {
            fprintf(stderr, "sasgw revoke: --expiry is not a time%s", usage_tail);
            return GW_EXIT_USAGE;
        }
    } else if (token != NULL) {
        if (gw_revoke_selector_from_token(&sel, token, strlen(token), err, sizeof(err)) != 0) {
            fprintf(stderr, "sasgw revoke: %s.\n", err);
            return GW_EXIT_REFUSED;
        }
    } else if (principal != NULL) {
        sel.by = GW_REVOKE_BY_PRINCIPAL;
        if (strlen(principal) < sizeof(sel.principal))
            snprintf(sel.principal, sizeof(sel.principal), "%s", principal);
    } else {
        sel.by = GW_REVOKE_BY_ISSUED;
        if (strlen(account) < sizeof(sel.account))
            snprintf(sel.account, sizeof(sel.account), "%s", account);
        if (container != NULL && strlen(container) < sizeof(sel.container))
            snprintf(sel.container, sizeof(sel.container), "%s", container);
        else if (container != NULL)
            snprintf(sel.container, sizeof(sel.container), "-");
        if (parse_time(issued_before, &sel.issued_before) != 0) {
            fprintf(stderr, "sasgw revoke: --issued-before is not a time%s", usage_tail);
            return GW_EXIT_USAGE;
        }
    }
    const char *field = NULL;
    if (gw_revoke_selector_check(&sel, &field, err, sizeof(err)) != 0) {
        fprintf(stderr, "sasgw revoke: %s: %s.\n", field != NULL ? field : "selector", err);
        return GW_EXIT_REFUSED;
    }

    /* where Redis and the audit log are */
    char *audit_path = NULL;
    gw_config_t *conf = NULL;
    if (config != NULL && (conf = gw_config_load(config, err, sizeof(err))) == NULL) {
        fprintf(stderr, "sasgw revoke: %s\n", err);
        return GW_EXIT_REFUSED;
    }
    int64_t skew = conf != NULL ? (int64_t)conf->proxy.expiry_skew : GW_CONFIG_DEFAULT_EXPIRY_SKEW;
    gw_cli_redis_t redis;
    int where = gw_cli_redis_resolve(&redis, redis_addr, conf, err, sizeof(err));
    if (where != GW_CLI_REDIS_OK) {
        if (where == GW_CLI_REDIS_BAD_ADDRESS)
            fprintf(stderr, "sasgw revoke: %s%s", err, usage_tail);
        else
            fprintf(stderr, "sasgw revoke: %s.\n", err);
        gw_cli_redis_clear(&redis);
        gw_config_free(conf);
        return where == GW_CLI_REDIS_BAD_ADDRESS ? GW_EXIT_USAGE : GW_EXIT_REFUSED;
    }
    if (audit_log != NULL)
        audit_path = sg_strdup(audit_log);
    else if (conf != NULL)
        audit_path = conf->audit.path != NULL ? sg_strdup(conf->audit.path) : vault_audit_default_path(conf->vault.path);
    else if (vault_path != NULL)
        audit_path = vault_audit_default_path(vault_path);
    gw_config_free(conf);

    /* run the plan */
    int rc = GW_EXIT_REFUSED;
    gw_redis_cmds_t cmds = {0};
    gw_revoke_targets_t targets = {0};
    redisReply *last = NULL;
    int64_t now = (int64_t)time(NULL);
    redisContext *c = gw_cli_redis_connect(&redis, 5000, err, sizeof(err));
    gw_cli_redis_clear(&redis);
    if (c == NULL)
        goto Fail;
    if (remove != NULL) {
        gw_revoke_plan_remove(sel.token_id, &cmds);
        int removed = run_cmds(c, &cmds, 0, &last, err, sizeof(err)) == 0 ? gw_revoke_removed(last, err, sizeof(err)) : -1;
        if (removed < 0)
            goto Fail;
        if (audit_path != NULL)
            audit_removal(audit_path, &sel, removed);
        if (json)
            printf("{\"token_id\":\"%s\",\"removed\":%s}\n", sel.token_id, removed ? "true" : "false");
        else if (removed)
            printf("removed %s from the revocation list\n", sel.token_id);
        else
            fprintf(stderr, "sasgw revoke: %s is not on the revocation list.\n", sel.token_id);
        rc = removed ? GW_EXIT_OK : GW_EXIT_REFUSED;
        goto Exit;
    }
    if (gw_revoke_plan_lookup(&sel, now, skew, &cmds) != 0 && run_cmds(c, &cmds, 0, &last, err, sizeof(err)) != 0)
        goto Fail;
    if (gw_revoke_collect(&sel, last, now, skew, &targets, err, sizeof(err)) != 0)
        goto Fail;
    freeReplyObject(last);
    last = NULL;
    gw_redis_cmds_clear(&cmds);
    gw_revoke_plan_write(&targets, now, &cmds);
    if (run_cmds(c, &cmds, 1, &last, err, sizeof(err)) != 0)
        goto Fail;

    if (audit_path != NULL)
        audit_revocation(audit_path, &sel, &targets, "ok", NULL);
    if (json) {
        json_t *ids = json_array();
        for (size_t i = 0; i < targets.n; i++)
            json_array_append_new(ids, json_string(targets.v[i].token_id));
        json_t *out = json_pack("{s:I,s:o}", "revoked", (json_int_t)targets.n, "token_ids", ids);
        json_dumpf(out, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(out);
    } else {
        printf("revoked %zu token(s)\n", targets.n);
        char score[24];
        for (size_t i = 0; i < targets.n; i++)
            printf("  %s  until %s\n", targets.v[i].token_id, gw_revoke_score_text(targets.v[i].until, score, sizeof(score)));
    }
    rc = GW_EXIT_OK;
    goto Exit;

Fail:
    fprintf(stderr, "sasgw revoke: %s.\n", err);
    if (audit_path != NULL)
        audit_revocation(audit_path, &sel, NULL, "error", err);
Exit:
    if (last != NULL)
        freeReplyObject(last);
    if (c != NULL)
        redisFree(c);
    gw_redis_cmds_clear(&cmds);
    gw_revoke_targets_clear(&targets);
    free(audit_path);
    return rc;
}
