/*
 * Tests step 7, the operation table (signer/sas_operation.c), from one data
 * table of requests below. From each case the test generates: the operation
 * found (its name and flags); a service SAS (sr=c, and sr=b on a blob) and an
 * account SAS allowed with each letter the case names and refused with every
 * other letter alone; an account SAS refused without b in ss or without the
 * resource types the operation needs; the same request at the other levels
 * and with the other request flags selecting only what another case says.
 * Every row of the signer's table must be some case's answer, and requests
 * outside the table are refused whatever the token grants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

#define COPY SAS_REQ_COPY_SOURCE
#define SYNC SAS_REQ_REQUIRES_SYNC
#define SOURCE SAS_OP_NAMES_SOURCE
#define CREATES SAS_OP_CREATES
#define BATCH SAS_OP_BATCH

#define ACCT "/acct"
#define CONT "/acct/c1"
#define BLOB "/acct/c1/a.txt"
#define SNAP "snapshot=2026-01-01T00%3A00%3A00.0000000Z"
#define VER "versionid=2026-01-01T00%3A00%3A00.0000000Z"

struct op_case {
    const char *method, *path, *query; /* the request (query: its operation part, NULL for none) */
    unsigned req;                      /* SAS_REQ_* */
    const char *service;               /* a service SAS needs one of these letters; NULL: no service SAS may */
    const char *account;               /* an account SAS needs one of these; NULL: no account SAS may */
    const char *all;                   /* and every one of these (both kinds); NULL: none */
    const char *srt;                   /* an account SAS needs these resource types */
    unsigned flags;                    /* SAS_OP_* */
    const char *name;                  /* Azure's name of the operation */
    const char *mods;                  /* which of snapshot= (s) and versionid= (v) it accepts */
};

static const struct op_case cases[] = {
    /* the account */
    {"GET", ACCT, "comp=list", 0, NULL, "l", NULL, "s", 0, "List Containers", ""},
    {"GET", ACCT, "restype=service&comp=properties", 0, NULL, "r", NULL, "s", 0, "Get Blob Service Properties", ""},
    {"PUT", ACCT, "restype=service&comp=properties", 0, NULL, "w", NULL, "s", 0, "Set Blob Service Properties", ""},
    {"GET", ACCT, "restype=service&comp=stats", 0, NULL, "r", NULL, "s", 0, "Get Blob Service Stats", ""},
    {"GET", ACCT, "restype=account&comp=properties", 0, NULL, "rcdlpuw", NULL, "s", 0, "Get Account Information", ""},
    {"HEAD", ACCT, "restype=account&comp=properties", 0, NULL, "rcdlpuw", NULL, "s", 0, "Get Account Information", ""},
    {"GET", ACCT, "comp=blobs&where=%22a%22%3D%27b%27", 0, NULL, "f", NULL, "o", 0, "Find Blobs by Tags", ""},
    {"POST", ACCT, "comp=batch", 0, NULL, "dwxy", "dwxy", "o", BATCH, "Blob Batch", ""},
    /* a container */
    {"PUT", CONT, "restype=container", 0, NULL, "cw", NULL, "c", 0, "Create Container", ""},
    {"GET", CONT, "restype=container", 0, NULL, "r", NULL, "c", 0, "Get Container Properties", ""},
    {"HEAD", CONT, "restype=container", 0, NULL, "r", NULL, "c", 0, "Get Container Properties", ""},
    {"GET", CONT, "restype=container&comp=metadata", 0, NULL, "r", NULL, "c", 0, "Get Container Metadata", ""},
    {"HEAD", CONT, "restype=container&comp=metadata", 0, NULL, "r", NULL, "c", 0, "Get Container Metadata", ""},
    {"PUT", CONT, "restype=container&comp=metadata", 0, NULL, "w", NULL, "c", 0, "Set Container Metadata", ""},
    {"PUT", CONT, "restype=container&comp=lease", 0, NULL, "w", NULL, "c", 0, "Lease Container", ""},
    {"DELETE", CONT, "restype=container", 0, NULL, "d", NULL, "c", 0, "Delete Container", ""},
    {"GET", CONT, "restype=container&comp=list&prefix=a", 0, "l", "l", NULL, "c", 0, "List Blobs", ""},
    {"GET", CONT, "restype=container&comp=blobs", 0, "f", "f", NULL, "c", 0, "Find Blobs by Tags in Container", ""},
    {"POST", CONT, "restype=container&comp=batch", 0, "dwxy", "dwxy", "dwxy", "o", BATCH, "Blob Batch (container)", ""},
    {"GET", CONT, "restype=account&comp=properties", 0, "r", "rcdlpuw", NULL, "c", 0, "Get Account Information", ""},
    {"HEAD", CONT, "restype=account&comp=properties", 0, "r", "rcdlpuw", NULL, "c", 0, "Get Account Information", ""},
    /* a blob: reading */
    {"GET", BLOB, NULL, 0, "r", "r", NULL, "o", 0, "Get Blob", "sv"},
    {"GET", BLOB, SNAP, 0, "r", "r", NULL, "o", 0, "Get Blob", "sv"},
    {"GET", BLOB, VER, 0, "r", "r", NULL, "o", 0, "Get Blob", "sv"},
    {"HEAD", BLOB, NULL, 0, "r", "r", NULL, "o", 0, "Get Blob Properties", "sv"},
    {"HEAD", BLOB, VER, 0, "r", "r", NULL, "o", 0, "Get Blob Properties", "sv"},
    {"GET", BLOB, "comp=metadata", 0, "r", "r", NULL, "o", 0, "Get Blob Metadata", "sv"},
    {"HEAD", BLOB, "comp=metadata", 0, "r", "r", NULL, "o", 0, "Get Blob Metadata", "sv"},
    {"GET", BLOB, "comp=blocklist&blocklisttype=all", 0, "r", "r", NULL, "o", 0, "Get Block List", "sv"},
    {"GET", BLOB, "comp=pagelist", 0, "r", "r", NULL, "o", 0, "Get Page Ranges", "sv"},
    {"GET", BLOB, "comp=pagelist&prevsnapshot=2026-01-01T00%3A00%3A00.0000000Z", 0, "r", "r", NULL, "o", 0, "Get Page Ranges",
     "sv"},
    {"GET", BLOB, "comp=tags", 0, "t", "t", NULL, "o", 0, "Get Blob Tags", "sv"},
    {"POST", BLOB, "comp=query", 0, "r", "r", NULL, "o", 0, "Query Blob Contents", "s"},
    {"GET", BLOB, "restype=account&comp=properties", 0, "r", "rcdlpuw", NULL, "o", 0, "Get Account Information", ""},
    {"HEAD", BLOB, "restype=account&comp=properties", 0, "r", "rcdlpuw", NULL, "o", 0, "Get Account Information", ""},
    /* a blob: writing a whole one */
    {"PUT", BLOB, NULL, 0, "cw", "cw", NULL, "o", CREATES, "Put Blob", ""},
    {"PUT", BLOB, NULL, COPY, "cw", "cw", NULL, "o", SOURCE | CREATES, "Copy Blob or Put Blob From URL", ""},
    {"PUT", BLOB, NULL, COPY | SYNC, "cw", "cw", NULL, "o", SOURCE | CREATES, "Copy Blob From URL", ""},
    {"PUT", BLOB, "comp=incrementalcopy", COPY, "cw", "cw", NULL, "o", SOURCE | CREATES, "Incremental Copy Blob", ""},
    {"PUT", BLOB, "comp=blocklist", 0, "cw", "w", NULL, "o", CREATES, "Put Block List", ""},
    {"PUT", BLOB, "comp=snapshot", 0, "cw", "cw", NULL, "o", 0, "Snapshot Blob", ""},
    /* a blob: writing parts */
    {"PUT", BLOB, "comp=block&blockid=AAAA", 0, "cw", "w", NULL, "o", 0, "Put Block", ""},
    {"PUT", BLOB, "comp=block&blockid=AAAA", COPY, "cw", "w", NULL, "o", SOURCE, "Put Block From URL", ""},
    {"PUT", BLOB, "comp=page", 0, "w", "w", NULL, "o", 0, "Put Page", ""},
    {"PUT", BLOB, "comp=page", COPY, "w", "w", NULL, "o", SOURCE, "Put Page From URL", ""},
    {"PUT", BLOB, "comp=appendblock", 0, "aw", "aw", NULL, "o", 0, "Append Block", ""},
    {"PUT", BLOB, "comp=appendblock", COPY, "aw", "aw", NULL, "o", SOURCE, "Append Block From URL", ""},
    {"PUT", BLOB, "comp=seal", 0, "w", "w", NULL, "o", 0, "Append Blob Seal", ""},
    /* a blob: properties, metadata, lease, copy, tier, tags, deletion state, immutability */
    {"PUT", BLOB, "comp=properties", 0, "w", "w", NULL, "o", 0, "Set Blob Properties", ""},
    {"PUT", BLOB, "comp=metadata", 0, "w", "w", NULL, "o", 0, "Set Blob Metadata", ""},
    {"PUT", BLOB, "comp=lease", 0, "w", "w", NULL, "o", 0, "Lease Blob", ""},
    {"PUT", BLOB, "comp=copy&copyid=1", 0, "w", "w", NULL, "o", 0, "Abort Copy Blob", ""},
    {"PUT", BLOB, "comp=tier", 0, "w", "w", NULL, "o", 0, "Set Blob Tier", "sv"},
    {"PUT", BLOB, "comp=tier&" SNAP, 0, "w", "w", NULL, "o", 0, "Set Blob Tier", "sv"},
    {"PUT", BLOB, "comp=tags", 0, "t", "t", NULL, "o", 0, "Set Blob Tags", "v"},
    {"PUT", BLOB, "comp=tags&" VER, 0, "t", "t", NULL, "o", 0, "Set Blob Tags", "v"},
    {"PUT", BLOB, "comp=undelete", 0, "w", "w", NULL, "o", 0, "Undelete Blob", ""},
    {"PUT", BLOB, "comp=immutabilityPolicies", 0, "i", "i", NULL, "o", 0, "Set Blob Immutability Policy", "sv"},
    {"DELETE", BLOB, "comp=immutabilityPolicies", 0, "i", "i", NULL, "o", 0, "Delete Blob Immutability Policy", "sv"},
    {"PUT", BLOB, "comp=legalhold", 0, "i", "i", NULL, "o", 0, "Set Blob Legal Hold", "sv"},
    /* a blob: deleting */
    {"DELETE", BLOB, NULL, 0, "d", "d", NULL, "o", 0, "Delete Blob", "s"},
    {"DELETE", BLOB, SNAP, 0, "d", "d", NULL, "o", 0, "Delete Blob", "s"},
    {"DELETE", BLOB, VER, 0, "x", "x", NULL, "o", 0, "Delete Blob (version)", "v"},
    {"DELETE", BLOB, "deletetype=permanent&" SNAP, 0, "y", "y", NULL, "o", 0, "Delete Blob (permanent)", "sv"},
    {"DELETE", BLOB, "deletetype=permanent&" VER, 0, "y", "y", NULL, "o", 0, "Delete Blob (permanent)", "sv"},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Requests no SAS may make, whatever it grants. */
static const struct {
    const char *method, *path, *query;
    unsigned req;
} denied[] = {
    {"PATCH", BLOB, NULL, 0},
    {"GET", BLOB, "comp=list", 0},
    {"HEAD", BLOB, "comp=tags", 0},
    {"HEAD", BLOB, "comp=blocklist", 0},
    {"PUT", BLOB, "comp=Block", 0},
    {"PUT", BLOB, "comp=immutabilitypolicies", 0},
    {"PUT", BLOB, "comp=expiry", 0},
    {"PUT", BLOB, SNAP, 0},
    {"PUT", BLOB, "comp=metadata&" VER, 0},
    {"PUT", BLOB, "comp=tags&" SNAP, 0},
    {"DELETE", BLOB, "comp=tags", 0},
    {"DELETE", BLOB, "deletetype=soft", 0},
    {"DELETE", BLOB, "deletetype=permanent", 0},
    {"DELETE", BLOB, SNAP "&" VER, 0},
    {"POST", BLOB, NULL, 0},
    {"GET", BLOB, "restype=container&comp=list", 0},
    {"GET", BLOB, NULL, COPY},
    {"PUT", BLOB, "comp=properties", COPY},
    {"PUT", BLOB, NULL, SYNC},
    {"PUT", BLOB, "comp=incrementalcopy", 0},
    {"GET", CONT, NULL, 0},
    {"GET", CONT, "comp=list", 0},
    {"HEAD", CONT, "restype=container&comp=list", 0},
    {"GET", CONT, "restype=container&comp=acl", 0},
    {"PUT", CONT, "restype=container&comp=acl", 0},
    {"PUT", CONT, "restype=container&comp=undelete", 0},
    {"PUT", CONT, "restype=container&comp=rename", 0},
    {"DELETE", CONT, "restype=container&" SNAP, 0},
    {"GET", ACCT, NULL, 0},
    {"HEAD", ACCT, "comp=list", 0},
    {"POST", ACCT, "restype=service&comp=userdelegationkey", 0},
    {"PUT", ACCT, "restype=service&comp=properties", COPY},
};

static const char *const paths[] = {ACCT, CONT, BLOB};

/* The kind of token a run mints. */
struct token {
    const char *sr; /* "c" or "b" for a service SAS; NULL: an account SAS */
    const char *ss, *srt, *sp;
};

/*
 * Mints tok for account acct (a service SAS for container c1, or blob a.txt
 * with sr=b), then verifies method path?<sas>&query with req flags. *op
 * receives the operation when allowed.
 */
static sas_reason_t run(const struct token *t, const char *method, const char *path, const char *query, unsigned req,
                        const sas_operation_t **op, sas_error_t *err)
{
    sas_mint_t m;
    req_t r;
    sas_grant_t grant;
    static const sas_key_t *keys[1];
    char q[SAS_MAX_QUERY];
    sas_error_t merr;

    memset(&m, 0, sizeof(m));
    m.account = "acct";
    if (t->sr != NULL) {
        m.container = "c1";
        m.blob = strcmp(t->sr, "b") == 0 ? "a.txt" : NULL;
    } else {
        m.services = t->ss;
        m.resource_types = t->srt;
    }
    m.permissions = t->sp;
    m.expiry = "2026-02-01T00:00:00Z";
    if (sas_mint(&m, test_key(), q, sizeof(q), NULL, 0, NULL, &merr) != SAS_OK)
        fail_msg("mint refused: %s", merr.message);
    if (query != NULL)
        snprintf(q + strlen(q), sizeof(q) - strlen(q), "&%s", query);
    req_init(&r);
    r.method = sas_method_parse(method, strlen(method));
    r.req_flags = req;
    r.path = path;
    r.query = q;
    keys[0] = test_key();
    r.keys = keys;
    r.nkeys = 1;
    sas_reason_t reason = req_verify(&r, err, &grant);
    *op = reason == SAS_OK ? grant.op : NULL;
    return reason;
}

static char level_of(const char *path)
{
    size_t slashes = 0;
    for (; *path != '\0'; path++)
        slashes += *path == '/';
    return slashes == 1 ? 's' : slashes == 2 ? 'c' : 'o';
}

static const char *req_name(unsigned req)
{
    return req == 0 ? "" : req == COPY ? " +copy-source" : req == SYNC ? " +requires-sync" : " +copy-source +requires-sync";
}

/* Fails with the case and what happened unless got == want (and, when allowed, the operation is c's). */
static void expect(const struct op_case *c, const char *how, sas_reason_t want, sas_reason_t got, const sas_operation_t *op,
                   const sas_error_t *err)
{
    if (got != want)
        fail_msg("%s %s?%s%s with %s: %s (%s), want %s", c->method, c->path, c->query ? c->query : "", req_name(c->req), how,
                 sas_reason_name(got), got != SAS_OK ? err->message : "", sas_reason_name(want));
    if (got == SAS_OK) {
        if (strcmp(op->name, c->name) != 0 || op->level != level_of(c->path) || op->flags != c->flags)
            fail_msg("%s %s?%s%s with %s: operation %s (level %c, flags %u), want %s (flags %u)", c->method, c->path,
                     c->query ? c->query : "", req_name(c->req), how, op->name, op->level, op->flags, c->name, c->flags);
    }
}

/* Runs the request with token t (arguments as run()'s) and expects want, as expect() does. */
static void check(const struct op_case *c, const char *how, sas_reason_t want, const struct token *t, const char *method,
                  const char *path, const char *query, unsigned req)
{
    const sas_operation_t *op = NULL;
    sas_error_t err;
    sas_reason_t got = run(t, method, path, query, req, &op, &err);
    expect(c, how, want, got, op, &err);
}

/* Each letter alone: allowed when the case names it (and needs no other), refused otherwise. */
static void letters_alone(const struct op_case *c, const struct token *base, const char *order, const char *needs)
{
    for (const char *l = order; *l != '\0'; l++) {
        char sp[2] = {*l, '\0'}, how[64];
        struct token t = *base;
        sas_reason_t want;
        t.sp = sp;
        if (needs == NULL)
            want = SAS_R_OPERATION_NOT_ALLOWED;
        else if (strchr(needs, *l) != NULL && (c->all == NULL || strcmp(c->all, sp) == 0))
            want = SAS_OK;
        else
            want = SAS_R_PERMISSION_MISMATCH;
        snprintf(how, sizeof(how), "%s sp=%s", t.sr != NULL ? (t.sr[0] == 'b' ? "sr=b" : "sr=c") : "an account SAS", sp);
        check(c, how, want, &t, c->method, c->path, c->query, c->req);
    }
}

/* The letters a case needs all of: granted together they pass, each one left out fails. */
static void letters_all(const struct op_case *c, const struct token *base)
{
    char sp[32];
    struct token t = *base;
    const sas_operation_t *op;
    sas_error_t err;
    t.sp = c->all;
    check(c, "all its letters", SAS_OK, &t, c->method, c->path, c->query, c->req);
    for (size_t i = 0; c->all[i] != '\0'; i++) {
        snprintf(sp, sizeof(sp), "%.*s%s", (int)i, c->all, c->all + i + 1);
        t.sp = sp;
        check(c, "one letter short", SAS_R_PERMISSION_MISMATCH, &t, c->method, c->path, c->query, c->req);
        run(&t, c->method, c->path, c->query, c->req, &op, &err);
        assert_non_null(strstr(err.message, "all of them"));
    }
}

static void service_sas(void **state)
{
    for (size_t i = 0; i < NCASES; i++) {
        const struct op_case *c = &cases[i];
        struct token cont = {"c", NULL, NULL, NULL}, blob = {"b", NULL, NULL, NULL};
        if (level_of(c->path) == 's') {
            /* a service SAS names a container: the account is not its resource */
            cont.sp = SAS_PERM_ORDER_SERVICE;
            check(c, "sr=c", SAS_R_RESOURCE_MISMATCH, &cont, c->method, c->path, c->query, c->req);
            continue;
        }
        letters_alone(c, &cont, SAS_PERM_ORDER_SERVICE, c->service);
        if (c->all != NULL && c->service != NULL)
            letters_all(c, &cont);
        if (level_of(c->path) == 'o')
            letters_alone(c, &blob, "racwdxyti", c->service);
    }
}

static void account_sas(void **state)
{
    for (size_t i = 0; i < NCASES; i++) {
        const struct op_case *c = &cases[i];
        struct token t = {NULL, "b", "sco", NULL};
        char srt[4], how[48];
        letters_alone(c, &t, SAS_PERM_ORDER_ACCOUNT, c->account);
        if (c->all != NULL)
            letters_all(c, &t);
        /* the letters it needs, without b in ss */
        struct token nob = {NULL, "fqt", "sco", c->all != NULL ? c->all : (const char[]){c->account[0], '\0'}};
        check(c, "ss=fqt", SAS_R_SERVICE_MISMATCH, &nob, c->method, c->path, c->query, c->req);
        /* and without each resource type it needs */
        for (const char *need = c->srt; *need != '\0'; need++) {
            size_t n = 0;
            for (const char *l = "sco"; *l != '\0'; l++)
                if (*l != *need)
                    srt[n++] = *l;
            srt[n] = '\0';
            struct token lacking = nob;
            lacking.ss = "b";
            lacking.srt = srt;
            snprintf(how, sizeof(how), "srt=%s", srt);
            check(c, how, SAS_R_RESOURCE_TYPE_MISMATCH, &lacking, c->method, c->path, c->query, c->req);
        }
        /* exactly the resource types it needs suffice */
        struct token exact = nob;
        exact.ss = "b";
        exact.srt = c->srt;
        check(c, "exactly its srt", SAS_OK, &exact, c->method, c->path, c->query, c->req);
    }
}

/* The case with this request, or NULL. */
static const struct op_case *case_for(const char *method, const char *path, const char *query, unsigned req)
{
    for (size_t i = 0; i < NCASES; i++)
        if (strcmp(cases[i].method, method) == 0 && strcmp(cases[i].path, path) == 0 && cases[i].req == req &&
            ((cases[i].query == NULL && query == NULL) ||
             (cases[i].query != NULL && query != NULL && strcmp(cases[i].query, query) == 0)))
            return &cases[i];
    return NULL;
}

/* The same request at another level, or with other request flags, is another case's operation or none. */
static void other_levels_and_flags(void **state)
{
    static const unsigned reqs[] = {0, COPY, SYNC, COPY | SYNC};
    struct token all = {NULL, "b", "sco", SAS_PERM_ORDER_ACCOUNT};
    for (size_t i = 0; i < NCASES; i++) {
        const struct op_case *c = &cases[i];
        for (size_t p = 0; p < 3; p++) {
            for (size_t k = 0; k < 4; k++) {
                const sas_operation_t *op;
                sas_error_t err;
                char how[64];
                if (strcmp(paths[p], c->path) == 0 && reqs[k] == c->req)
                    continue;
                const struct op_case *other = case_for(c->method, paths[p], c->query, reqs[k]);
                struct op_case shifted = *c;
                shifted.path = paths[p];
                shifted.req = reqs[k];
                snprintf(how, sizeof(how), "every letter (moved from %s%s)", c->path, req_name(c->req));
                sas_reason_t got = run(&all, c->method, paths[p], c->query, reqs[k], &op, &err);
                if (other != NULL)
                    expect(other, how, SAS_OK, got, op, &err);
                else
                    expect(&shifted, how, SAS_R_OPERATION_NOT_ALLOWED, got, op, &err);
            }
        }
    }
}

/* Adding snapshot= or versionid= keeps the operation where it accepts them, selects another case's, or is refused. */
static void snapshots_and_versions(void **state)
{
    static const struct {
        char letter;
        const char *param;
    } mods[] = {{'s', SNAP}, {'v', VER}};
    struct token all = {NULL, "b", "sco", SAS_PERM_ORDER_ACCOUNT};
    for (size_t i = 0; i < NCASES; i++) {
        const struct op_case *c = &cases[i];
        if (c->query != NULL && (strstr(c->query, "snapshot=") != NULL || strstr(c->query, "versionid=") != NULL))
            continue;
        for (size_t k = 0; k < 2; k++) {
            char q[256];
            snprintf(q, sizeof(q), "%s%s%s", c->query != NULL ? c->query : "", c->query != NULL ? "&" : "", mods[k].param);
            const struct op_case *other = case_for(c->method, c->path, q, c->req);
            struct op_case with = *c;
            with.query = q;
            if (other != NULL)
                check(other, "every letter", SAS_OK, &all, c->method, c->path, q, c->req);
            else
                check(&with, "every letter", strchr(c->mods, mods[k].letter) != NULL ? SAS_OK : SAS_R_OPERATION_NOT_ALLOWED, &all,
                      c->method, c->path, q, c->req);
        }
    }
}

static void anything_else_denied(void **state)
{
    struct token acct = {NULL, "b", "sco", SAS_PERM_ORDER_ACCOUNT}, cont = {"c", NULL, NULL, SAS_PERM_ORDER_SERVICE};
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        struct op_case c = {denied[i].method, denied[i].path, denied[i].query, denied[i].req, NULL, NULL, NULL, "", 0, "-", ""};
        check(&c, "an account SAS with every letter", SAS_R_OPERATION_NOT_ALLOWED, &acct, c.method, c.path, c.query, c.req);
        /* a service SAS never reaches the account: the resource step refuses first */
        check(&c, "sr=c with every letter", level_of(c.path) == 's' ? SAS_R_RESOURCE_MISMATCH : SAS_R_OPERATION_NOT_ALLOWED, &cont,
              c.method, c.path, c.query, c.req);
        assert_string_equal(sas_reason_azure_code(SAS_R_OPERATION_NOT_ALLOWED), "AuthorizationPermissionMismatch");
    }
}

/* Every row of the signer's table is some case's answer: the cases cover the whole table. */
static void cases_cover_the_table(void **state)
{
    size_t n = 0;
    for (const sas_operation_t *op; (op = sas_operation_at(n)) != NULL; n++) {
        int found = 0;
        for (size_t i = 0; i < NCASES && !found; i++)
            found = strcmp(cases[i].name, op->name) == 0 && level_of(cases[i].path) == op->level;
        if (!found)
            fail_msg("table row %zu (%s, level %c) has no case", n, op->name, op->level);
        /* every operation defines timeout; none defines a SAS parameter or a selecting one */
        assert_true(sas_operation_defines(op, "timeout", 7));
        static const char *const never[] = {"sig", "sp", "sv", "comp", "restype", "snapshot", "versionid", "deletetype"};
        for (size_t k = 0; k < sizeof(never) / sizeof(never[0]); k++)
            assert_false(sas_operation_defines(op, never[k], strlen(never[k])));
        /* a row a service SAS may use needs letters a service SAS may carry; likewise for an account SAS */
        assert_int_equal(op->service_any & ~sas_perm_valid(SAS_KIND_SERVICE, SAS_SR_CONTAINER), 0);
        assert_int_equal(op->account_any & ~sas_perm_valid(SAS_KIND_ACCOUNT, SAS_SR_NONE), 0);
    }
    assert_true(n >= 50);
    assert_null(sas_operation_at(n));
}

/* docs/operations.md shows every operation of the table (a row "| name | ..." for each). */
static void documented(void **state)
{
    const char *src = getenv("SASGW_SOURCE_DIR");
    char path[4096], cell[128];
    static char doc[65536];
    snprintf(path, sizeof(path), "%s/docs/operations.md", src != NULL ? src : ".");
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    size_t n = fread(doc, 1, sizeof(doc) - 1, fp);
    fclose(fp);
    doc[n] = '\0';
    const sas_operation_t *op;
    for (size_t i = 0; (op = sas_operation_at(i)) != NULL; i++) {
        snprintf(cell, sizeof(cell), "\n| %s |", op->name);
        if (strstr(doc, cell) == NULL)
            fail_msg("%s does not list %s", path, op->name);
    }
}

static const sas_operation_t *find(const char *method, const char *path, const char *query, unsigned req)
{
    struct token t = {NULL, "b", "sco", SAS_PERM_ORDER_ACCOUNT};
    const sas_operation_t *op;
    sas_error_t err;
    assert_int_equal(run(&t, method, path, query, req, &op, &err), SAS_OK);
    return op;
}

static void defined_params(void **state)
{
    const sas_operation_t *op = find("PUT", BLOB, "comp=block&blockid=AAAA", 0);
    assert_true(sas_operation_defines(op, "blockid", 7));
    assert_false(sas_operation_defines(op, "BLOCKID", 7));
    assert_false(sas_operation_defines(op, "blockid", 6));
    assert_false(sas_operation_defines(op, "prefix", 6));
    op = find("GET", CONT, "restype=container&comp=list", 0);
    static const char *const list[] = {"prefix", "delimiter", "marker", "maxresults", "include", "showonly", "timeout"};
    for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++)
        assert_true(sas_operation_defines(op, list[i], strlen(list[i])));
    assert_false(sas_operation_defines(op, "blockid", 7));
    op = find("GET", BLOB, "comp=pagelist", 0);
    assert_true(sas_operation_defines(op, "prevsnapshot", 12));
    op = find("PUT", BLOB, "comp=copy", 0);
    assert_true(sas_operation_defines(op, "copyid", 6));
    op = find("GET", ACCT, "comp=blobs", 0);
    assert_true(sas_operation_defines(op, "where", 5));
    op = find("GET", BLOB, "comp=blocklist", 0);
    assert_true(sas_operation_defines(op, "blocklisttype", 13));
}

/* The issue's cases, one by one. */
static void issue_cases(void **state)
{
    const sas_operation_t *op;
    sas_error_t err;
    /* List Containers with an account SAS: srt=s, sp=l, at /acct and /acct/ */
    struct token list = {NULL, "b", "s", "l"};
    assert_int_equal(run(&list, "GET", "/acct", "comp=list", 0, &op, &err), SAS_OK);
    assert_string_equal(op->name, "List Containers");
    assert_int_equal(run(&list, "GET", "/acct/", "comp=list&prefix=a", 0, &op, &err), SAS_OK);
    assert_string_equal(op->name, "List Containers");
    struct token list_c = {NULL, "b", "c", "l"};
    assert_int_equal(run(&list_c, "GET", "/acct", "comp=list", 0, &op, &err), SAS_R_RESOURCE_TYPE_MISMATCH);
    assert_string_equal(err.message, "resource type s not granted by srt=c");
    /* Snapshot Blob with c alone, and with w alone */
    struct token c = {"b", NULL, NULL, "c"}, w = {"b", NULL, NULL, "w"}, r = {"b", NULL, NULL, "r"};
    assert_int_equal(run(&c, "PUT", BLOB, "comp=snapshot", 0, &op, &err), SAS_OK);
    assert_string_equal(op->name, "Snapshot Blob");
    assert_int_equal(run(&w, "PUT", BLOB, "comp=snapshot", 0, &op, &err), SAS_OK);
    assert_int_equal(run(&r, "PUT", BLOB, "comp=snapshot", 0, &op, &err), SAS_R_PERMISSION_MISMATCH);
    /* PUT ?COMP=tags under sp=t is not Put Blob: refused as not canonical (400) */
    struct token t = {"b", NULL, NULL, "t"};
    assert_int_equal(run(&t, "PUT", BLOB, "COMP=tags", 0, &op, &err), SAS_R_NONCANONICAL_PARAM);
    assert_int_equal(run(&t, "PUT", BLOB, "c%6Fmp=tags", 0, &op, &err), SAS_R_NONCANONICAL_PARAM);
    assert_int_equal(run(&t, "PUT", BLOB, "comp=tags&comp=tags", 0, &op, &err), SAS_R_DUPLICATE_PARAM);
    assert_int_equal(run(&t, "PUT", BLOB, "comp=tags&COMP=tags", 0, &op, &err), SAS_R_DUPLICATE_PARAM);
    assert_int_equal(run(&t, "PUT", BLOB, "comp=tags", 0, &op, &err), SAS_OK);
    assert_string_equal(op->name, "Set Blob Tags");
    /* a value is compared exactly: comp=Tags is no operation */
    assert_int_equal(run(&t, "PUT", BLOB, "comp=Tags", 0, &op, &err), SAS_R_OPERATION_NOT_ALLOWED);
    /* c alone creates only: the operations that write a whole blob say so */
    assert_int_equal(run(&c, "PUT", BLOB, NULL, COPY | SYNC, &op, &err), SAS_OK);
    assert_int_equal(op->flags, SAS_OP_NAMES_SOURCE | SAS_OP_CREATES);
}

static void messages(void **state)
{
    const sas_operation_t *op;
    sas_error_t err;
    struct token rd = {"b", NULL, NULL, "rd"}, cont = {"c", NULL, NULL, "dw"};
    assert_int_equal(run(&rd, "PUT", BLOB, "comp=metadata", 0, &op, &err), SAS_R_PERMISSION_MISMATCH);
    assert_string_equal(err.message, "permission w not granted by sp=rd");
    assert_int_equal(run(&rd, "PUT", BLOB, NULL, 0, &op, &err), SAS_R_PERMISSION_MISMATCH);
    assert_string_equal(err.message, "permission c or w not granted by sp=rd");
    assert_int_equal(run(&rd, "PATCH", BLOB, "comp=query", 0, &op, &err), SAS_R_OPERATION_NOT_ALLOWED);
    assert_string_equal(err.message, "operation OTHER comp=query on a blob is not allowed with a SAS");
    assert_int_equal(run(&cont, "PUT", CONT, "restype=container", 0, &op, &err), SAS_R_OPERATION_NOT_ALLOWED);
    assert_string_equal(err.message, "Create Container is not allowed with a service SAS (an account SAS may do it)");
    assert_int_equal(run(&cont, "POST", CONT, "restype=container&comp=batch", 0, &op, &err), SAS_R_PERMISSION_MISMATCH);
    assert_string_equal(err.message, "Blob Batch (container) needs permissions d, w, x and y, all of them; sp=dw grants fewer");
}

static void method_names(void **state)
{
    assert_int_equal(sas_method_parse("GET", 3), SAS_METHOD_GET);
    assert_int_equal(sas_method_parse("HEAD", 4), SAS_METHOD_HEAD);
    assert_int_equal(sas_method_parse("PUT", 3), SAS_METHOD_PUT);
    assert_int_equal(sas_method_parse("DELETE", 6), SAS_METHOD_DELETE);
    assert_int_equal(sas_method_parse("get", 3), SAS_METHOD_OTHER);
    assert_int_equal(sas_method_parse("POST", 4), SAS_METHOD_POST);
    assert_int_equal(sas_method_parse("GETX", 3), SAS_METHOD_GET);
    assert_int_equal(sas_method_parse("GE", 2), SAS_METHOD_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(service_sas),
        cmocka_unit_test(account_sas),
        cmocka_unit_test(other_levels_and_flags),
        cmocka_unit_test(snapshots_and_versions),
        cmocka_unit_test(anything_else_denied),
        cmocka_unit_test(cases_cover_the_table),
        cmocka_unit_test(documented),
        cmocka_unit_test(defined_params),
        cmocka_unit_test(issue_cases),
        cmocka_unit_test(messages),
        cmocka_unit_test(method_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
