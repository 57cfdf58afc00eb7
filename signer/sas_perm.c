/*
 * sas_perm.c - permission algebra: which letters each resource type may
 * carry, parsing and formatting them. The operation table is sas_operation.c.
 */
#include <string.h>

#include "internal.h"

sas_perm_t sas_letters(const char *s)
{
    sas_perm_t p = 0;
    for (; *s != '\0'; s++)
        if (*s >= 'a' && *s <= 'z')
            p |= SAS_PERM(*s);
    return p;
}

sas_letters_t sas_letters_check(sas_perm_t allowed, const char *s, size_t len, sas_perm_t *out, char *bad)
{
    sas_perm_t seen = 0;
    sas_letters_t r = len == 0 ? SAS_LETTERS_EMPTY : SAS_LETTERS_OK;
    char c = '\0';
    for (size_t i = 0; i < len && r == SAS_LETTERS_OK; i++) {
        c = s[i];
        if (c < 'a' || c > 'z' || (allowed & SAS_PERM(c)) == 0)
            r = SAS_LETTERS_UNKNOWN;
        else if (seen & SAS_PERM(c))
            r = SAS_LETTERS_REPEATED;
        else
            seen |= SAS_PERM(c);
    }
    if (r != SAS_LETTERS_OK) {
        if (bad != NULL)
            *bad = c;
        return r;
    }
    if (out != NULL)
        *out = seen;
    return SAS_LETTERS_OK;
}

sas_perm_t sas_perm_valid(sas_kind_t kind, sas_sr_t sr)
{
    if (kind == SAS_KIND_ACCOUNT)
        return sas_letters(SAS_PERM_ORDER_ACCOUNT);
    switch (sr) {
    case SAS_SR_CONTAINER:
        return sas_letters(SAS_PERM_ORDER_SERVICE);
    case SAS_SR_BLOB:
    case SAS_SR_SNAPSHOT:
    case SAS_SR_VERSION:
        /* the SDKs sign snapshot and version tokens with the blob letters: list (l) and find (f) are container-only */
        return sas_letters(SAS_PERM_ORDER_SERVICE) & ~(SAS_PERM('l') | SAS_PERM('f'));
    default:
        return 0;
    }
}

sas_reason_t sas_perm_parse(sas_kind_t kind, sas_sr_t sr, const char *s, size_t len, sas_perm_t *out, sas_error_t *err)
{
    const char *what = kind == SAS_KIND_ACCOUNT ? "an account SAS" : "sr=";
    char c = '\0';
    switch (sas_letters_check(sas_perm_valid(kind, sr), s, len, out, &c)) {
    case SAS_LETTERS_OK:
        return SAS_OK;
    case SAS_LETTERS_EMPTY:
        *out = 0;
        return SAS_OK;
    case SAS_LETTERS_UNKNOWN: {
        char q[8];
        return sas__fail(err, SAS_R_INVALID_PERMISSIONS, "permission '%s' is not valid for %s%s", sas__quote(q, sizeof(q), &c, 1),
                         what, kind == SAS_KIND_ACCOUNT ? "" : sas__sr_name(sr));
    }
    default:
        return sas__fail(err, SAS_R_INVALID_PERMISSIONS, "permission %c repeated in sp", c);
    }
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
