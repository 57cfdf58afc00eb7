/*
 * sas_operation.c - step 7 of DESIGN §3: which Blob service operation a
 * request performs (method, the operation-selecting query values, the
 * resource level, request facts such as x-ms-copy-source) and which
 * permissions a service SAS and an account SAS need for it. One data table,
 * following Azure's "Create a service SAS" / "Create an account SAS" pages
 * and Azurite's OperationBlobSASPermission.ts / OperationAccountSASPermission.ts;
 * docs/operations.md shows it as a table and says where it differs.
 */
#include <string.h>

#include "internal.h"

#define P(c) SAS_PERM(c)
#define M(m) (1u << (m))
#define GET M(SAS_METHOD_GET)
#define HEAD M(SAS_METHOD_HEAD)
#define PUT M(SAS_METHOD_PUT)
#define DELETE M(SAS_METHOD_DELETE)
#define POST M(SAS_METHOD_POST)

/* Resource modifiers a request may carry in its query (snapshot=, versionid=). */
#define SNAP 1u
#define VER 2u

#define COPY SAS_REQ_COPY_SOURCE
#define SYNC SAS_REQ_REQUIRES_SYNC
#define SOURCE SAS_OP_NAMES_SOURCE
#define CREATES SAS_OP_CREATES

/* What Get Account Information accepts from an account SAS (Azurite: any of these letters, at any level). */
#define ACCOUNT_INFO (P('r') | P('c') | P('d') | P('l') | P('p') | P('u') | P('w'))
/* What a Blob Batch may carry: Delete Blob (d; a version x; permanently y) and Set Blob Tier (w). */
#define BATCH_ALL (P('d') | P('w') | P('x') | P('y'))

/* The query names each operation defines besides the selecting ones (comp, restype, snapshot, versionid, deletetype). */
static const char *const p_timeout[] = {"timeout", NULL};
static const char *const p_list_containers[] = {"prefix", "marker", "maxresults", "include", "timeout", NULL};
static const char *const p_find[] = {"where", "marker", "maxresults", "timeout", NULL};
static const char *const p_list_blobs[] = {"prefix", "delimiter", "marker", "maxresults", "include", "showonly", "timeout", NULL};
static const char *const p_block[] = {"blockid", "timeout", NULL};
static const char *const p_block_list[] = {"blocklisttype", "timeout", NULL};
static const char *const p_page_ranges[] = {"prevsnapshot", "marker", "maxresults", "timeout", NULL};
static const char *const p_abort_copy[] = {"copyid", "timeout", NULL};

/*
 * One row: a request shape and the operation it selects. A request matches
 * when its method is in methods, its level is op.level, comp, restype and
 * deletetype equal the row's (NULL: absent), its SAS_REQ_* flags equal req,
 * and its snapshot/versionid modifiers are within allow (and one of need,
 * when need is set). Rows are disjoint, so the first match is the only one.
 */
struct row {
    unsigned methods;
    const char *restype, *comp, *deletetype;
    unsigned req;
    unsigned need, allow;
    sas_operation_t op;
};

/* name, level, service SAS letters (any of), account SAS letters (any of), flags, params */
#define OP(name, level, svc, acct, flags, params)                                                                                  \
    {                                                                                                                              \
        name, level, svc, acct, flags, params, 0, 0, 0                                                                             \
    }

static const struct row rows[] = {
    /* the account (service level): an account SAS only */
    {GET, NULL, "list", NULL, 0, 0, 0, OP("List Containers", 's', 0, P('l'), 0, p_list_containers)},
    {GET, "service", "properties", NULL, 0, 0, 0, OP("Get Blob Service Properties", 's', 0, P('r'), 0, p_timeout)},
    {PUT, "service", "properties", NULL, 0, 0, 0, OP("Set Blob Service Properties", 's', 0, P('w'), 0, p_timeout)},
    {GET, "service", "stats", NULL, 0, 0, 0, OP("Get Blob Service Stats", 's', 0, P('r'), 0, p_timeout)},
    {GET | HEAD, "account", "properties", NULL, 0, 0, 0, OP("Get Account Information", 's', 0, ACCOUNT_INFO, 0, p_timeout)},
    {GET, NULL, "blobs", NULL, 0, 0, 0, {"Find Blobs by Tags", 's', 0, P('f'), 0, p_find, 0, 0, P('o')}},
    {POST, NULL, "batch", NULL, 0, 0, 0, {"Blob Batch", 's', 0, BATCH_ALL, SAS_OP_BATCH, p_timeout, 0, BATCH_ALL, P('o')}},

    /* a container: what a service SAS may not do there has service letters 0 */
    {PUT, "container", NULL, NULL, 0, 0, 0, OP("Create Container", 'c', 0, P('c') | P('w'), 0, p_timeout)},
    {GET | HEAD, "container", NULL, NULL, 0, 0, 0, OP("Get Container Properties", 'c', 0, P('r'), 0, p_timeout)},
    {GET | HEAD, "container", "metadata", NULL, 0, 0, 0, OP("Get Container Metadata", 'c', 0, P('r'), 0, p_timeout)},
    {PUT, "container", "metadata", NULL, 0, 0, 0, OP("Set Container Metadata", 'c', 0, P('w'), 0, p_timeout)},
    {PUT, "container", "lease", NULL, 0, 0, 0, OP("Lease Container", 'c', 0, P('w'), 0, p_timeout)},
    {DELETE, "container", NULL, NULL, 0, 0, 0, OP("Delete Container", 'c', 0, P('d'), 0, p_timeout)},
    {GET, "container", "list", NULL, 0, 0, 0, OP("List Blobs", 'c', P('l'), P('l'), 0, p_list_blobs)},
    {GET, "container", "blobs", NULL, 0, 0, 0, OP("Find Blobs by Tags in Container", 'c', P('f'), P('f'), 0, p_find)},
    {POST,
     "container",
     "batch",
     NULL,
     0,
     0,
     0,
     {"Blob Batch (container)", 'c', BATCH_ALL, BATCH_ALL, SAS_OP_BATCH, p_timeout, BATCH_ALL, BATCH_ALL, P('o')}},
    {GET | HEAD, "account", "properties", NULL, 0, 0, 0, OP("Get Account Information", 'c', P('r'), ACCOUNT_INFO, 0, p_timeout)},

    /* a blob: reading */
    {GET, NULL, NULL, NULL, 0, 0, SNAP | VER, OP("Get Blob", 'o', P('r'), P('r'), 0, p_timeout)},
    {HEAD, NULL, NULL, NULL, 0, 0, SNAP | VER, OP("Get Blob Properties", 'o', P('r'), P('r'), 0, p_timeout)},
    {GET | HEAD, NULL, "metadata", NULL, 0, 0, SNAP | VER, OP("Get Blob Metadata", 'o', P('r'), P('r'), 0, p_timeout)},
    {GET, NULL, "blocklist", NULL, 0, 0, SNAP | VER, OP("Get Block List", 'o', P('r'), P('r'), 0, p_block_list)},
    {GET, NULL, "pagelist", NULL, 0, 0, SNAP | VER, OP("Get Page Ranges", 'o', P('r'), P('r'), 0, p_page_ranges)},
    {GET, NULL, "tags", NULL, 0, 0, SNAP | VER, OP("Get Blob Tags", 'o', P('t'), P('t'), 0, p_timeout)},
    {POST, NULL, "query", NULL, 0, 0, SNAP, OP("Query Blob Contents", 'o', P('r'), P('r'), 0, p_timeout)},
    {GET | HEAD, "account", "properties", NULL, 0, 0, 0, OP("Get Account Information", 'o', P('r'), ACCOUNT_INFO, 0, p_timeout)},

    /* a blob: writing a whole blob (c creates only) */
    {PUT, NULL, NULL, NULL, 0, 0, 0, OP("Put Blob", 'o', P('c') | P('w'), P('c') | P('w'), CREATES, p_timeout)},
    {PUT, NULL, NULL, NULL, COPY, 0, 0,
     OP("Copy Blob or Put Blob From URL", 'o', P('c') | P('w'), P('c') | P('w'), SOURCE | CREATES, p_timeout)},
    {PUT, NULL, NULL, NULL, COPY | SYNC, 0, 0,
     OP("Copy Blob From URL", 'o', P('c') | P('w'), P('c') | P('w'), SOURCE | CREATES, p_timeout)},
    {PUT, NULL, "incrementalcopy", NULL, COPY, 0, 0,
     OP("Incremental Copy Blob", 'o', P('c') | P('w'), P('c') | P('w'), SOURCE | CREATES, p_timeout)},
    {PUT, NULL, "blocklist", NULL, 0, 0, 0, OP("Put Block List", 'o', P('c') | P('w'), P('w'), CREATES, p_timeout)},
    {PUT, NULL, "snapshot", NULL, 0, 0, 0, OP("Snapshot Blob", 'o', P('c') | P('w'), P('c') | P('w'), 0, p_timeout)},

    /* a blob: writing parts of one */
    {PUT, NULL, "block", NULL, 0, 0, 0, OP("Put Block", 'o', P('c') | P('w'), P('w'), 0, p_block)},
    {PUT, NULL, "block", NULL, COPY, 0, 0, OP("Put Block From URL", 'o', P('c') | P('w'), P('w'), SOURCE, p_block)},
    {PUT, NULL, "page", NULL, 0, 0, 0, OP("Put Page", 'o', P('w'), P('w'), 0, p_timeout)},
    {PUT, NULL, "page", NULL, COPY, 0, 0, OP("Put Page From URL", 'o', P('w'), P('w'), SOURCE, p_timeout)},
    {PUT, NULL, "appendblock", NULL, 0, 0, 0, OP("Append Block", 'o', P('a') | P('w'), P('a') | P('w'), 0, p_timeout)},
    {PUT, NULL, "appendblock", NULL, COPY, 0, 0,
     OP("Append Block From URL", 'o', P('a') | P('w'), P('a') | P('w'), SOURCE, p_timeout)},
    {PUT, NULL, "seal", NULL, 0, 0, 0, OP("Append Blob Seal", 'o', P('w'), P('w'), 0, p_timeout)},

    /* a blob: its properties, metadata, lease, tier, tags, copy, deletion state, immutability */
    {PUT, NULL, "properties", NULL, 0, 0, 0, OP("Set Blob Properties", 'o', P('w'), P('w'), 0, p_timeout)},
    {PUT, NULL, "metadata", NULL, 0, 0, 0, OP("Set Blob Metadata", 'o', P('w'), P('w'), 0, p_timeout)},
    {PUT, NULL, "lease", NULL, 0, 0, 0, OP("Lease Blob", 'o', P('w'), P('w'), 0, p_timeout)},
    {PUT, NULL, "copy", NULL, 0, 0, 0, OP("Abort Copy Blob", 'o', P('w'), P('w'), 0, p_abort_copy)},
    {PUT, NULL, "tier", NULL, 0, 0, SNAP | VER, OP("Set Blob Tier", 'o', P('w'), P('w'), 0, p_timeout)},
    {PUT, NULL, "tags", NULL, 0, 0, VER, OP("Set Blob Tags", 'o', P('t'), P('t'), 0, p_timeout)},
    {PUT, NULL, "undelete", NULL, 0, 0, 0, OP("Undelete Blob", 'o', P('w'), P('w'), 0, p_timeout)},
    {PUT, NULL, "immutabilityPolicies", NULL, 0, 0, SNAP | VER,
     OP("Set Blob Immutability Policy", 'o', P('i'), P('i'), 0, p_timeout)},
    {DELETE, NULL, "immutabilityPolicies", NULL, 0, 0, SNAP | VER,
     OP("Delete Blob Immutability Policy", 'o', P('i'), P('i'), 0, p_timeout)},
    {PUT, NULL, "legalhold", NULL, 0, 0, SNAP | VER, OP("Set Blob Legal Hold", 'o', P('i'), P('i'), 0, p_timeout)},

    /* a blob: deleting (the base blob or a snapshot: d; a version: x; permanently, a snapshot or version: y) */
    {DELETE, NULL, NULL, NULL, 0, 0, SNAP, OP("Delete Blob", 'o', P('d'), P('d'), 0, p_timeout)},
    {DELETE, NULL, NULL, NULL, 0, VER, VER, OP("Delete Blob (version)", 'o', P('x'), P('x'), 0, p_timeout)},
    {DELETE, NULL, NULL, "permanent", 0, SNAP | VER, SNAP | VER, OP("Delete Blob (permanent)", 'o', P('y'), P('y'), 0, p_timeout)},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* 1 when v holds exactly want, or both are absent (want NULL). */
static int value_is(const sas_str_t *v, const char *want)
{
    if (want == NULL)
        return v->base == NULL;
    size_t n = strlen(want);
    return v->base != NULL && v->len == n && memcmp(v->base, want, n) == 0;
}

static char level_of(const sas_resource_t *res)
{
    return res->blob.base != NULL ? 'o' : res->container.base != NULL ? 'c' : 's';
}

const sas_operation_t *sas_operation_find(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method,
                                          unsigned req_flags)
{
    char level = level_of(res);
    unsigned mods = (res->snapshot.base != NULL ? SNAP : 0) | (res->version_id.base != NULL ? VER : 0);

    if (method <= SAS_METHOD_OTHER || method > SAS_METHOD_POST)
        return NULL;
    req_flags &= SAS_REQ_COPY_SOURCE | SAS_REQ_REQUIRES_SYNC;
    for (size_t i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        if ((r->methods & M(method)) == 0 || r->op.level != level || r->req != req_flags)
            continue;
        if ((mods & ~r->allow) != 0 || (r->need != 0 && (mods & r->need) == 0))
            continue;
        if (value_is(&tok->f[SAS_F_COMP], r->comp) && value_is(&tok->f[SAS_F_RESTYPE], r->restype) &&
            value_is(&tok->f[SAS_F_DELETETYPE], r->deletetype))
            return &r->op;
    }
    return NULL;
}

const sas_operation_t *sas_operation_at(size_t i)
{
    return i < NROWS ? &rows[i].op : NULL;
}

int sas_operation_defines(const sas_operation_t *op, const char *name, size_t len)
{
    for (const char *const *p = op->params; *p != NULL; p++)
        if (strlen(*p) == len && memcmp(*p, name, len) == 0)
            return 1;
    return 0;
}

/* Writes the letters of set as "c or w" (joiner " or ") or "d, w, x and y" (joiner ", ", last " and ") into out[64]. */
static void describe(sas_perm_t set, int all, char *out)
{
    size_t n = 0, count = 0, seen = 0;
    for (char c = 'a'; c <= 'z'; c++)
        count += (set & SAS_PERM(c)) != 0;
    for (char c = 'a'; c <= 'z'; c++) {
        if ((set & SAS_PERM(c)) == 0)
            continue;
        if (seen != 0) {
            const char *join = !all ? " or " : seen + 1 == count ? " and " : ", ";
            memcpy(out + n, join, strlen(join));
            n += strlen(join);
        }
        out[n++] = c;
        seen++;
    }
    out[n] = '\0';
}

/* The sp the refusal quotes: as sent, or (from a stored access policy) as granted. */
static const char *granted_text(const sas_token_t *tok, const sas_grant_t *grant, char *buf)
{
    if (tok->f[SAS_F_SP].base != NULL && tok->f[SAS_F_SI].base == NULL)
        return tok->f[SAS_F_SP].base;
    sas_perm_format(tok->kind, grant->perms, buf);
    return buf;
}

sas_reason_t sas_check_operation(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method, unsigned req_flags,
                                 sas_grant_t *grant, sas_error_t *err)
{
    char need[64], have[32], q[48];
    const sas_operation_t *op = sas_operation_find(tok, res, method, req_flags);
    int account = tok->kind == SAS_KIND_ACCOUNT;

    grant->op = op;
    if (op == NULL) {
        const sas_str_t *comp = &tok->f[SAS_F_COMP];
        return sas__fail(err, SAS_R_OPERATION_NOT_ALLOWED, "operation %s%s%s on %s is not allowed with a SAS",
                         sas_method_name(method), comp->base != NULL ? " comp=" : "",
                         comp->base != NULL ? sas__quote(q, sizeof(q), comp->base, comp->len) : "",
                         res->blob.base != NULL        ? "a blob"
                         : res->container.base != NULL ? "a container"
                                                       : "the account");
    }
    sas_perm_t any = account ? op->account_any : op->service_any, all = account ? op->account_all : op->service_all;
    if (any == 0 && all == 0)
        return sas__fail(err, SAS_R_OPERATION_NOT_ALLOWED, "%s is not allowed with %s SAS%s", op->name,
                         account ? "an account" : "a service", account ? "" : " (an account SAS may do it)");

    /* the token's scope: ss and srt, or for a batch the whole container */
    if (account) {
        sas_perm_t srt = op->account_srt != 0 ? op->account_srt : SAS_PERM(op->level);
        if ((tok->services & SAS_PERM('b')) == 0)
            return sas__fail(err, SAS_R_SERVICE_MISMATCH, "service b not granted by ss=%s", tok->f[SAS_F_SS].base);
        if ((tok->resource_types & srt) != srt) {
            describe(srt, 1, need);
            return sas__fail(err, SAS_R_RESOURCE_TYPE_MISMATCH, "resource type %s not granted by srt=%s", need,
                             tok->f[SAS_F_SRT].base);
        }
    } else if ((op->flags & SAS_OP_BATCH) != 0 && tok->sr != SAS_SR_CONTAINER) {
        return sas__fail(err, SAS_R_OPERATION_NOT_ALLOWED, "%s needs a container SAS (sr=c): its sub-requests may name any blob",
                         op->name);
    }

    /* the letters */
    if ((grant->perms & any) == 0) {
        describe(any, 0, need);
        if (tok->f[SAS_F_SI].base != NULL)
            return sas__fail(err, SAS_R_PERMISSION_MISMATCH, "permission %s not granted by sp=%s (with stored access policy %s)",
                             need, granted_text(tok, grant, have),
                             sas__quote(q, sizeof(q), tok->f[SAS_F_SI].base, tok->f[SAS_F_SI].len));
        return sas__fail(err, SAS_R_PERMISSION_MISMATCH, "permission %s not granted by sp=%s", need,
                         granted_text(tok, grant, have));
    }
    if ((grant->perms & all) != all) {
        describe(all, 1, need);
        return sas__fail(err, SAS_R_PERMISSION_MISMATCH, "%s needs permissions %s, all of them; sp=%s grants fewer", op->name, need,
                         granted_text(tok, grant, have));
    }
    return SAS_OK;
}
