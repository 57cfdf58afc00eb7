/*
 * sas_path.c - what a request addresses: a path-style URL path
 * /{account}/{container}/{blob...} split and decoded into a sas_resource_t,
 * refusing the encodings that would let a token reach further than it says.
 */
#include <string.h>

#include "sasgw/common.h"
#include "internal.h"

#define NAME_MAX_LEN 63
#define EXTRA_MAX_LEN 64 /* snapshot and version id */

static sas_reason_t bad(sas_error_t *err, const char *what)
{
    return sas__fail(err, SAS_R_BAD_PATH, "%s", what);
}

/* Reserves len + 1 bytes of the arena; NULL when full. */
static char *reserve(sas_resource_t *res, size_t len)
{
    if (len + 1 > sizeof(res->arena) - res->used)
        return NULL;
    char *p = res->arena + res->used;
    res->used += len + 1;
    return p;
}

static sas_reason_t store(sas_resource_t *res, sas_str_t *dst, const char *s, size_t len, sas_error_t *err)
{
    char *p = reserve(res, len);
    if (p == NULL)
        return bad(err, "path too long");
    memcpy(p, s, len);
    p[len] = '\0';
    *dst = (sas_str_t){p, len};
    return SAS_OK;
}

static sas_reason_t check_account(const sas_str_t *a, sas_error_t *err)
{
    if (a->len == 0 || a->len > NAME_MAX_LEN)
        return bad(err, "invalid account name");
    for (size_t i = 0; i < a->len; i++) {
        char c = a->base[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return bad(err, "invalid account name");
    }
    return SAS_OK;
}

static sas_reason_t check_container(const sas_str_t *c, sas_error_t *err)
{
    if (c->len == 0 || c->len > NAME_MAX_LEN)
        return bad(err, "invalid container name");
    for (size_t i = 0; i < c->len; i++) {
        char ch = c->base[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || (ch == '$' && i == 0)))
            return bad(err, "invalid container name");
    }
    return SAS_OK;
}

/* Checks a decoded blob name in place: reads '\' as '/', then refuses empty, "." and ".." segments, controls, bad UTF-8. */
static sas_reason_t check_blob(sas_resource_t *res, sas_error_t *err)
{
    const sas_str_t *b = &res->blob;
    char *s = res->arena + (b->base - res->arena);
    size_t seg = 0;
    if (b->len == 0)
        return bad(err, "empty blob name");
    if (sas__has_control(s, b->len))
        return bad(err, "control character or NUL in blob name");
    if (!sas__utf8_valid(s, b->len))
        return bad(err, "blob name is not valid UTF-8");
    for (size_t i = 0; i <= b->len; i++) {
        if (i < b->len && s[i] == '\\')
            s[i] = '/';
        if (i == b->len || s[i] == '/') {
            size_t n = i - seg;
            if (n == 0)
                return bad(err, "empty segment in blob name");
            if ((n == 1 && s[seg] == '.') || (n == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                return bad(err, "'.' or '..' segment in path");
            seg = i + 1;
        }
    }
    return SAS_OK;
}

static sas_reason_t check_extra(const char *s, size_t len, const char *what, sas_error_t *err)
{
    if (len > EXTRA_MAX_LEN || sas__has_control(s, len) || !sas__utf8_valid(s, len))
        return sas__fail(err, SAS_R_BAD_PATH, "invalid %s", what);
    return SAS_OK;
}

static sas_reason_t add_extras(sas_resource_t *res, const char *snapshot, size_t snap_len, const char *version_id, size_t ver_len,
                               sas_error_t *err)
{
    sas_reason_t r;
    if (snapshot != NULL && snap_len != 0) {
        if ((r = check_extra(snapshot, snap_len, "snapshot", err)) != SAS_OK ||
            (r = store(res, &res->snapshot, snapshot, snap_len, err)) != SAS_OK)
            return r;
    }
    if (version_id != NULL && ver_len != 0) {
        if ((r = check_extra(version_id, ver_len, "version id", err)) != SAS_OK ||
            (r = store(res, &res->version_id, version_id, ver_len, err)) != SAS_OK)
            return r;
    }
    return SAS_OK;
}

/* Decodes one raw path segment into the arena (appending to a blob name being built when append). */
static sas_reason_t decode_segment(sas_resource_t *res, const char *s, size_t len, sas_error_t *err)
{
    if (len == 0)
        return bad(err, "empty path segment");
    for (size_t i = 0; i + 2 < len; i++)
        if (s[i] == '%' && ((s[i + 1] == '2' && (s[i + 2] == 'F' || s[i + 2] == 'f')) ||
                            (s[i + 1] == '5' && (s[i + 2] == 'C' || s[i + 2] == 'c'))))
            return bad(err, "encoded '/' or '\\' in path");
    if (len > sizeof(res->arena) - res->used - 1)
        return bad(err, "path too long");
    unsigned seen;
    long n = sg_pct_decode(res->arena + res->used, s, len, 0, &seen);
    if (n < 0)
        return bad(err, "bad percent-encoding in path");
    if (seen & SG_PCT_HELD_CONTROL)
        return bad(err, "control character or NUL in path");
    res->used += (size_t)n;
    return SAS_OK;
}

sas_reason_t sas_resource_from_path(sas_resource_t *res, const char *path, size_t len, const sas_token_t *tok, sas_error_t *err)
{
    const char *p = path, *end = path + len;
    sas_reason_t r;
    int part = 0;

    memset(res, 0, offsetof(sas_resource_t, arena));
    if (len > SAS_MAX_PATH)
        return bad(err, "path too long");
    if (len == 0 || *p != '/')
        return bad(err, "path does not start with '/'");
    p++;

    while (p <= end) {
        const char *slash = memchr(p, '/', (size_t)(end - p)), *seg_end = slash != NULL ? slash : end;
        size_t start = res->used;
        if (part < 2) {
            /* account, then container: single segments */
            if ((r = decode_segment(res, p, (size_t)(seg_end - p), err)) != SAS_OK)
                return r;
            sas_str_t *dst = part == 0 ? &res->account : &res->container;
            *dst = (sas_str_t){res->arena + start, res->used - start};
            res->arena[res->used++] = '\0';
            if ((r = part == 0 ? check_account(dst, err) : check_container(dst, err)) != SAS_OK)
                return r;
            part++;
            /* "/{account}" and "/{account}/" both address the account (List Containers, ...) */
            if (slash == NULL || (part == 1 && slash + 1 == end))
                break;
            p = slash + 1;
            continue;
        }
        /* blob: every remaining segment, joined by '/' */
        for (;;) {
            if ((r = decode_segment(res, p, (size_t)(seg_end - p), err)) != SAS_OK)
                return r;
            if (seg_end == end)
                break;
            if (res->used + 1 >= sizeof(res->arena))
                return bad(err, "path too long");
            res->arena[res->used++] = '/';
            p = seg_end + 1;
            slash = memchr(p, '/', (size_t)(end - p));
            seg_end = slash != NULL ? slash : end;
        }
        res->blob = (sas_str_t){res->arena + start, res->used - start};
        res->arena[res->used++] = '\0';
        if ((r = check_blob(res, err)) != SAS_OK)
            return r;
        break;
    }

    if (tok != NULL) {
        const sas_str_t *snap = &tok->f[SAS_F_SNAPSHOT], *ver = &tok->f[SAS_F_VERSIONID];
        if ((r = add_extras(res, snap->base, snap->len, ver->base, ver->len, err)) != SAS_OK)
            return r;
    }
    return SAS_OK;
}

sas_reason_t sas_resource_init(sas_resource_t *res, const char *account, const char *container, const char *blob,
                               const char *snapshot, const char *version_id, sas_error_t *err)
{
    sas_reason_t r;

    memset(res, 0, offsetof(sas_resource_t, arena));
    if (account == NULL)
        return bad(err, "invalid account name");
    if ((r = store(res, &res->account, account, strlen(account), err)) != SAS_OK ||
        (r = check_account(&res->account, err)) != SAS_OK)
        return r;
    if (container != NULL) {
        if ((r = store(res, &res->container, container, strlen(container), err)) != SAS_OK ||
            (r = check_container(&res->container, err)) != SAS_OK)
            return r;
    }
    if (blob != NULL) {
        if (container == NULL)
            return bad(err, "a blob needs a container");
        if ((r = store(res, &res->blob, blob, strlen(blob), err)) != SAS_OK || (r = check_blob(res, err)) != SAS_OK)
            return r;
    }
    return add_extras(res, snapshot, snapshot != NULL ? strlen(snapshot) : 0, version_id,
                      version_id != NULL ? strlen(version_id) : 0, err);
}
