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

/* The letters an operation needs (any one suffices) and the level it acts on. */
struct op {
    sas_perm_t any;
    char level; /* 'o': a blob, 'c': a container */
    const char *name;
};

static int is(const sas_str_t *v, const char *s)
{
    return v->base != NULL && v->len == strlen(s) && memcmp(v->base, s, v->len) == 0;
}

/* Classifies the request; returns 0, or -1 when no SAS may perform it (the table's "anything else"). */
static int classify(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method, struct op *op)
{
    const sas_str_t *comp = &tok->f[SAS_F_COMP], *restype = &tok->f[SAS_F_RESTYPE];
    const sas_str_t *deletetype = &tok->f[SAS_F_DELETETYPE];
    int no_comp = comp->base == NULL;

    if (res->container.base == NULL)
        return -1;
    if (res->blob.base == NULL) {
        /* container level: listing its blobs only */
        if (method == SAS_METHOD_GET && is(restype, "container") && is(comp, "list")) {
            *op = (struct op){SAS_PERM('l'), 'c', "list blobs"};
            return 0;
        }
        return -1;
    }
    if (restype->base != NULL)
        return -1;
    op->level = 'o';
    switch (method) {
    case SAS_METHOD_GET:
    case SAS_METHOD_HEAD:
        if (no_comp || is(comp, "blocklist") || is(comp, "metadata")) {
            op->any = SAS_PERM('r');
            op->name = no_comp ? "read blob" : is(comp, "blocklist") ? "get block list" : "get metadata";
            return 0;
        }
        if (method == SAS_METHOD_GET && is(comp, "tags")) {
            op->any = SAS_PERM('t');
            op->name = "get tags";
            return 0;
        }
        return -1;
    case SAS_METHOD_PUT:
        if (no_comp || is(comp, "block") || is(comp, "blocklist") || is(comp, "page")) {
            op->any = SAS_PERM('c') | SAS_PERM('w');
            op->name = no_comp                 ? "put blob"
                       : is(comp, "block")     ? "put block"
                       : is(comp, "blocklist") ? "put block list"
                                               : "put page";
            return 0;
        }
        if (is(comp, "appendblock")) {
            op->any = SAS_PERM('a') | SAS_PERM('w');
            op->name = "append block";
            return 0;
        }
        if (is(comp, "metadata") || is(comp, "properties") || is(comp, "lease")) {
            op->any = SAS_PERM('w');
            op->name = is(comp, "metadata") ? "set metadata" : is(comp, "properties") ? "set properties" : "lease blob";
            return 0;
        }
        if (is(comp, "tags")) {
            op->any = SAS_PERM('t');
            op->name = "set tags";
            return 0;
        }
        return -1;
    case SAS_METHOD_DELETE:
        if (!no_comp)
            return -1;
        if (deletetype->base != NULL) {
            if (!is(deletetype, "permanent"))
                return -1;
            op->any = SAS_PERM('y');
            op->name = "permanently delete";
            return 0;
        }
        if (tok->f[SAS_F_VERSIONID].base != NULL) {
            op->any = SAS_PERM('x');
            op->name = "delete version";
            return 0;
        }
        op->any = SAS_PERM('d');
        op->name = "delete blob";
        return 0;
    default:
        return -1;
    }
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

sas_reason_t sas_check_operation(const sas_token_t *tok, const sas_resource_t *res, sas_method_t method, const sas_grant_t *grant,
                                 sas_error_t *err)
{
    struct op op;
    char need[64], have[32], q[48];

    if (classify(tok, res, method, &op) != 0) {
        const sas_str_t *comp = &tok->f[SAS_F_COMP];
        return sas__fail(err, SAS_R_OPERATION_NOT_ALLOWED, "operation %s%s%s on %s is not allowed with a SAS",
                         sas_method_name(method), comp->base != NULL ? " comp=" : "",
                         comp->base != NULL ? sas__quote(q, sizeof(q), comp->base, comp->len) : "",
                         res->blob.base != NULL        ? "a blob"
                         : res->container.base != NULL ? "a container"
                                                       : "the account");
    }
    if (tok->kind == SAS_KIND_ACCOUNT) {
        if ((tok->services & SAS_PERM('b')) == 0)
            return sas__fail(err, SAS_R_SERVICE_MISMATCH, "service b not granted by ss=%s", tok->f[SAS_F_SS].base);
        if ((tok->resource_types & SAS_PERM(op.level)) == 0)
            return sas__fail(err, SAS_R_RESOURCE_TYPE_MISMATCH, "resource type %c not granted by srt=%s", op.level,
                             tok->f[SAS_F_SRT].base);
    }
    if ((grant->perms & op.any) == 0) {
        describe(op.any, need);
        sas_perm_format(tok->kind, grant->perms, have);
        if (tok->f[SAS_F_SI].base != NULL)
            return sas__fail(err, SAS_R_PERMISSION_MISMATCH, "permission %s not granted by sp=%s (with stored access policy %s)",
                             need, have, sas__quote(q, sizeof(q), tok->f[SAS_F_SI].base, tok->f[SAS_F_SI].len));
        return sas__fail(err, SAS_R_PERMISSION_MISMATCH, "permission %s not granted by sp=%s", need,
                         tok->f[SAS_F_SP].base != NULL ? tok->f[SAS_F_SP].base : have);
    }
    return SAS_OK;
}
