/*
 * sas_perm.c - permission algebra: which letters each resource type may
 * carry, parsing and formatting them. The operation table is sas_operation.c.
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
