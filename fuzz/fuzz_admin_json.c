/*
 * fuzz_admin_json.c - libFuzzer target: the input is an admin API request
 * body. It is loaded as the server loads it (JSON_REJECT_DUPLICATES, one
 * object) and handed to every body parser of the admin API: revocation,
 * key import, stored access policy, secret, SAS definition. A revocation that parses is
 * then planned (lookup, collect, write) as the API would run it.
 * Invariants: a refusal always says why; an accepted revocation passes its
 * own check and plans at least one write command; an accepted key is 16 to
 * 64 bytes; accepted permissions are valid; secret values stay in bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

/* A refusal names no field or a short one, and always has a message. */
static void refused(const gw_json_error_t *e)
{
    check(e->message[0] != '\0', "a refusal has a message");
    check(e->field == NULL || e->field == e->field_buf, "the field lives in the error");
}

static void revocation(json_t *doc)
{
    gw_revoke_selector_t sel;
    gw_json_error_t e;
    if (gw_admin_parse_revocation(doc, &sel, &e) != 0) {
        refused(&e);
        return;
    }
    const char *field;
    char err[256];
    check(gw_revoke_selector_check(&sel, &field, err, sizeof(err)) == 0, "an accepted selector checks");
    const int64_t now = 1800000000;
    gw_redis_cmds_t cmds = {0};
    gw_revoke_targets_t targets = {0};
    size_t n = gw_revoke_plan_lookup(&sel, now, 5, &cmds);
    check(n == 0 || n == 3 || n == 4 || n == 6, "lookup plans nothing or one MULTI/EXEC");
    check(gw_revoke_collect(&sel, NULL, now, 5, &targets, err, sizeof(err)) == 0, "collect accepts an empty reply");
    check(targets.n <= 1, "at most the selector's own id");
    check(gw_revoke_plan_write(&targets, now, &cmds) >= 1, "write plans at least the trim");
    for (size_t i = 0; i < cmds.n; i++)
        for (int a = 0; a < cmds.v[i].argc; a++)
            check(strlen(cmds.v[i].argv[a]) == cmds.v[i].argvlen[a], "argument lengths match");
    char buf[200];
    gw_revoke_selector_describe(&sel, buf, sizeof(buf));
    gw_redis_cmds_clear(&cmds);
    gw_revoke_targets_clear(&targets);
}

static void key_import(json_t *doc)
{
    uint8_t key[VAULT_KEY_MAX];
    size_t len = 0;
    gw_json_error_t e;
    if (gw_admin_parse_key_import(doc, key, &len, &e) != 0) {
        refused(&e);
        return;
    }
    check(len >= VAULT_KEY_MIN && len <= VAULT_KEY_MAX, "key length in bounds");
}

static void stored_policy(json_t *doc)
{
    vault_policy_t p;
    gw_json_error_t e;
    memset(&p, 0, sizeof(p));
    if (gw_admin_parse_policy(doc, &p, &e) != 0) {
        refused(&e);
        return;
    }
    check(vault_valid_permissions(p.permissions), "permissions valid");
    check(p.start == 0 || p.expiry == 0 || p.start < p.expiry, "start before expiry");
}

static void secret(json_t *doc)
{
    gw_secret_body_t s;
    gw_json_error_t e;
    if (gw_admin_parse_secret(doc, &s, &e) != 0) {
        refused(&e);
        gw_secret_body_dispose(&s);
        return;
    }
    check(s.value != NULL && s.value_len <= VAULT_SECRET_MAX, "value in bounds");
    check(s.in.ntags <= 15, "at most 15 tags");
    gw_secret_body_dispose(&s);
}

/* A SAS definition body: an accepted one has every required string within its vault bound. */
static void sasdef(json_t *doc)
{
    gw_sasdef_body_t b;
    gw_json_error_t e;
    if (gw_admin_parse_sasdef(doc, &b, &e) != 0) {
        refused(&e);
    } else {
        check(b.in.template_uri != NULL && strlen(b.in.template_uri) <= VAULT_SASDEF_TEMPLATE_MAX, "template within bounds");
        check(b.in.validity != NULL && strlen(b.in.validity) < VAULT_SASDEF_VALIDITY_TEXT_MAX, "validity within bounds");
        check(b.in.sas_type == VAULT_SASDEF_SERVICE || b.in.sas_type == VAULT_SASDEF_ACCOUNT, "a known sas type");
        check(b.in.ntags <= 15, "at most 15 tags");
    }
    gw_sasdef_body_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return 0;
    revocation(doc);
    key_import(doc);
    stored_policy(doc);
    secret(doc);
    sasdef(doc);
    /* non-objects are refused by every parser */
    json_decref(doc);
    return 0;
}
