/*
 * sas_perm.c - permission algebra (which letters each resource type may
 * carry) and the operation -> permission table of DESIGN §3 (step 7).
 */
#include <string.h>

#include "internal.h"

static sas_perm_t letters(const char *s)
{
    sas_perm_t p = 0;
    for (; *s != '\0'; s++)
        p |= SAS_PERM(*s);
    return p;
}

sas_perm_t sas_perm_valid(sas_kind_t kind, sas_sr_t sr)
{
    if (kind == SAS_KIND_ACCOUNT)
        return letters(SAS_PERM_ORDER_ACCOUNT);
    switch (sr) {
    case SAS_SR_CONTAINER:
        return letters(SAS_PERM_ORDER_SERVICE);
    case SAS_SR_BLOB:
    case SAS_SR_SNAPSHOT:
    case SAS_SR_VERSION:
        /* the SDKs sign snapshot and version tokens with the blob letters: list (l) and find (f) are container-only */
        return letters(SAS_PERM_ORDER_SERVICE) & ~(SAS_PERM('l') | SAS_PERM('f'));
    default:
        return 0;
    }
}

sas_reason_t sas_perm_parse(sas_kind_t kind, sas_sr_t sr, const char *s, size_t len, sas_perm_t *out, sas_error_t *err)
{
    sas_perm_t valid = sas_perm_valid(kind, sr), seen = 0;
    const char *what = kind == SAS_KIND_ACCOUNT ? "an account SAS" : "sr=";
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c < 'a' || c > 'z' || (valid & SAS_PERM(c)) == 0) {
            char q[8];
            return sas__fail(err, SAS_R_INVALID_PERMISSIONS, "permission '%s' is not valid for %s%s",
                             sas__quote(q, sizeof(q), &s[i], 1), what, kind == SAS_KIND_ACCOUNT ? "" : sas__sr_name(sr));
        }
        if (seen & SAS_PERM(c))
            return sas__fail(err, SAS_R_INVALID_PERMISSIONS, "permission %c repeated in sp", c);
        seen |= SAS_PERM(c);
    }
    *out = seen;
    return SAS_OK;
}

size_t sas_perm_format(sas_kind_t kind, sas_perm_t perms, char *out)
{
    const char *order = kind == SAS_KIND_ACCOUNT ? SAS_PERM_ORDER_ACCOUNT : SAS_PERM_ORDER_SERVICE;
    size_t n = 0;
    for (; *order != '\0'; order++)
        if (perms & SAS_PERM(*order))
            out[n++] = *order;
    out[n] = '\0';
    return n;
}

/*
 * The operations of today's table (DESIGN §3). Interim: one entry per name
 * the classifier below returns; the table of every Blob operation replaces it.
 */
#define P(c) SAS_PERM(c)
static const char *const no_params[] = {NULL};
enum {
    OP_READ, OP_BLOCKLIST_GET, OP_METADATA_GET, OP_TAGS_GET, OP_PUT_BLOB, OP_PUT_BLOCK, OP_PUT_BLOCKLIST, OP_PUT_PAGE,
    OP_APPEND, OP_METADATA_SET, OP_PROPERTIES_SET, OP_LEASE, OP_TAGS_SET, OP_DELETE_PERMANENT, OP_DELETE_VERSION, OP_DELETE,
    OP_LIST_BLOBS, OP__COUNT
};
static const sas_operation_t ops[OP__COUNT] = {
    [OP_READ] = {"Get Blob", 'o', P('r'), P('r'), 0, no_params},
    [OP_BLOCKLIST_GET] = {"Get Block List", 'o', P('r'), P('r'), 0, no_params},
    [OP_METADATA_GET] = {"Get Blob Metadata", 'o', P('r'), P('r'), 0, no_params},
    [OP_TAGS_GET] = {"Get Blob Tags", 'o', P('t'), P('t'), 0, no_params},
    [OP_PUT_BLOB] = {"Put Blob", 'o', P('c') | P('w'), P('c') | P('w'), SAS_OP_CREATES, no_params},
    [OP_PUT_BLOCK] = {"Put Block", 'o', P('c') | P('w'), P('c') | P('w'), 0, no_params},
    [OP_PUT_BLOCKLIST] = {"Put Block List", 'o', P('c') | P('w'), P('c') | P('w'), SAS_OP_CREATES, no_params},
    [OP_PUT_PAGE] = {"Put Page", 'o', P('c') | P('w'), P('c') | P('w'), 0, no_params},
    [OP_APPEND] = {"Append Block", 'o', P('a') | P('w'), P('a') | P('w'), 0, no_params},
    [OP_METADATA_SET] = {"Set Blob Metadata", 'o', P('w'), P('w'), 0, no_params},
    [OP_PROPERTIES_SET] = {"Set Blob Properties", 'o', P('w'), P('w'), 0, no_params},
    [OP_LEASE] = {"Lease Blob", 'o', P('w'), P('w'), 0, no_params},
    [OP_TAGS_SET] = {"Set Blob Tags", 'o', P('t'), P('t'), 0, no_params},
    [OP_DELETE_PERMANENT] = {"Delete Blob (permanent)", 'o', P('y'), P('y'), 0, no_params},
    [OP_DELETE_VERSION] = {"Delete Blob (version)", 'o', P('x'), P('x'), 0, no_params},
    [OP_DELETE] = {"Delete Blob", 'o', P('d'), P('d'), 0, no_params},
    [OP_LIST_BLOBS] = {"List Blobs", 'c', P('l'), P('l'), 0, no_params},
};
#undef P

static int is(const sas_str_t *v, const char *s)
{
    return v->base != NULL && v->len == strlen(s) && memcmp(v->base, s, v->len) == 0;
}

/* Classifies the request; returns the op index, or -1 when no SAS may perform it (the table's "anything else"). */
static int classify(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method)
{
    const sas_str_t *comp = &tok->f[SAS_F_COMP], *restype = &tok->f[SAS_F_RESTYPE];
    const sas_str_t *deletetype = &tok->f[SAS_F_DELETETYPE];
    int no_comp = comp->base == NULL;

    if (res->container.base == NULL)
        return -1;
    if (res->blob.base == NULL) {
        /* container level: listing its blobs only */
        if (method == SAS_METHOD_GET && is(restype, "container") && is(comp, "list"))
            return OP_LIST_BLOBS;
        return -1;
    }
    if (restype->base != NULL)
        return -1;
    switch (method) {
    case SAS_METHOD_GET:
    case SAS_METHOD_HEAD:
        if (no_comp)
            return OP_READ;
        if (is(comp, "blocklist"))
            return OP_BLOCKLIST_GET;
        if (is(comp, "metadata"))
            return OP_METADATA_GET;
        if (method == SAS_METHOD_GET && is(comp, "tags"))
            return OP_TAGS_GET;
        return -1;
    case SAS_METHOD_PUT:
        if (no_comp)
            return OP_PUT_BLOB;
        if (is(comp, "block"))
            return OP_PUT_BLOCK;
        if (is(comp, "blocklist"))
            return OP_PUT_BLOCKLIST;
        if (is(comp, "page"))
            return OP_PUT_PAGE;
        if (is(comp, "appendblock"))
            return OP_APPEND;
        if (is(comp, "metadata"))
            return OP_METADATA_SET;
        if (is(comp, "properties"))
            return OP_PROPERTIES_SET;
        if (is(comp, "lease"))
            return OP_LEASE;
        if (is(comp, "tags"))
            return OP_TAGS_SET;
        return -1;
    case SAS_METHOD_DELETE:
        if (!no_comp)
            return -1;
        if (deletetype->base != NULL)
            return is(deletetype, "permanent") ? OP_DELETE_PERMANENT : -1;
        if (tok->f[SAS_F_VERSIONID].base != NULL)
            return OP_DELETE_VERSION;
        return OP_DELETE;
    default:
        return -1;
    }
}

const sas_operation_t *sas_operation_find(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method,
                                          unsigned req_flags)
{
    if (req_flags & SAS_REQ_COPY_SOURCE)
        return NULL; /* interim: no copy operation is in the table yet */
    int i = classify(tok, res, method);
    return i < 0 ? NULL : &ops[i];
}

int sas_operation_defines(const sas_operation_t *op, const char *name, size_t len)
{
    for (const char *const *p = op->params; *p != NULL; p++)
        if (strlen(*p) == len && memcmp(*p, name, len) == 0)
            return 1;
    return 0;
}

/* "c or w" */
static void describe(sas_perm_t any, char *out)
{
    size_t n = 0;
    for (char c = 'a'; c <= 'z'; c++) {
        if ((any & SAS_PERM(c)) == 0)
            continue;
        if (n != 0) {
            memcpy(out + n, " or ", 4);
            n += 4;
        }
        out[n++] = c;
    }
    out[n] = '\0';
}

sas_reason_t sas_check_operation(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method, unsigned req_flags,
                                 sas_grant_t *grant, sas_error_t *err)
{
    char need[64], have[32], q[48];
    const sas_operation_t *op = sas_operation_find(tok, res, method, req_flags);

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
    sas_perm_t any = tok->kind == SAS_KIND_ACCOUNT ? op->account_any : op->service_any;
    if (tok->kind == SAS_KIND_ACCOUNT) {
        if ((tok->services & SAS_PERM('b')) == 0)
            return sas__fail(err, SAS_R_SERVICE_MISMATCH, "service b not granted by ss=%s", tok->f[SAS_F_SS].base);
        if ((tok->resource_types & SAS_PERM(op->level)) == 0)
            return sas__fail(err, SAS_R_RESOURCE_TYPE_MISMATCH, "resource type %c not granted by srt=%s", op->level,
                             tok->f[SAS_F_SRT].base);
    }
    if ((grant->perms & any) == 0) {
        describe(any, need);
        sas_perm_format(tok->kind, grant->perms, have);
        if (tok->f[SAS_F_SI].base != NULL)
            return sas__fail(err, SAS_R_PERMISSION_MISMATCH, "permission %s not granted by sp=%s (with stored access policy %s)",
                             need, have, sas__quote(q, sizeof(q), tok->f[SAS_F_SI].base, tok->f[SAS_F_SI].len));
        return sas__fail(err, SAS_R_PERMISSION_MISMATCH, "permission %s not granted by sp=%s", need,
                         tok->f[SAS_F_SP].base != NULL ? tok->f[SAS_F_SP].base : have);
    }
    return SAS_OK;
}
