/*
 * kv_parse.c - the Key Vault API's parsing of untrusted bytes (kv_parse.h):
 * routes, queries, JSON bodies, paging tokens and base64url.
 */
#include "kv_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"
#include "sasgw/core/http.h"

static int is_name_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

static int is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Splits path into at most max segments after the leading '/'. Returns the count, or -1 when there are more. */
static int split(const char *path, size_t len, const char **seg, size_t *seglen, int max)
{
    int n = 0;
    size_t i = 1;
    if (len == 0 || path[0] != '/')
        return -1;
    while (1) {
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        if (n == max)
            return -1;
        seg[n] = path + start;
        seglen[n] = i - start;
        n++;
        if (i >= len)
            break;
        i++; /* the '/': a trailing one yields a last, empty segment */
    }
    return n;
}

static int seg_is(const char *seg, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(seg, lit, len) == 0;
}

static int copy_name(const char *seg, size_t len, kv_route_t *out)
{
    if (len == 0 || len > VAULT_NAME_MAX)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!is_name_char(seg[i]))
            return -1;
    memcpy(out->name, seg, len);
    out->name[len] = '\0';
    return 0;
}

static int copy_version(const char *seg, size_t len, kv_route_t *out)
{
    if (len >= sizeof(out->version))
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(seg[i]))
            return -1;
    memcpy(out->version, seg, len);
    out->version[len] = '\0';
    return 0;
}

#define METHOD(m) (method_len == strlen(m) && memcmp(method, m, method_len) == 0)

kv_route_result_t kv_parse_route(const char *method, size_t method_len, const char *path, size_t path_len, kv_route_t *out)
{
    const char *seg[4];
    size_t sl[4];
    memset(out, 0, sizeof(*out));
    if (path_len >= 8 && memcmp(path, "/storage", 8) == 0 && (path_len == 8 || path[8] == '/')) {
        out->op = KV_OP_STORAGE;
        return KV_ROUTE_OK;
    }
    int n = split(path, path_len, seg, sl, 4);
    if (n < 1)
        return KV_ROUTE_NOT_FOUND;
    /* a trailing '/' after a collection is the collection */
    if (n == 2 && sl[1] == 0 && (seg_is(seg[0], sl[0], "secrets") || seg_is(seg[0], sl[0], "deletedsecrets")))
        n = 1;

    if (seg_is(seg[0], sl[0], "secrets")) {
        if (n == 1) {
            if (!METHOD("GET"))
                return KV_ROUTE_METHOD_NOT_ALLOWED;
            out->op = KV_OP_SECRET_LIST;
            return KV_ROUTE_OK;
        }
        /* POST /secrets/restore; any other method on it names a secret called restore */
        if (n == 2 && seg_is(seg[1], sl[1], "restore") && METHOD("POST")) {
            out->op = KV_OP_SECRET_RESTORE;
            return KV_ROUTE_OK;
        }
        if (n > 3)
            return KV_ROUTE_NOT_FOUND;
        if (copy_name(seg[1], sl[1], out) != 0) {
            out->op = METHOD("GET") ? KV_OP_SECRET_GET : KV_OP_NONE;
            return KV_ROUTE_BAD_NAME;
        }
        if (n == 2) {
            if (METHOD("PUT"))
                out->op = KV_OP_SECRET_SET;
            else if (METHOD("GET"))
                out->op = KV_OP_SECRET_GET;
            else if (METHOD("DELETE"))
                out->op = KV_OP_SECRET_DELETE;
            else
                return KV_ROUTE_METHOD_NOT_ALLOWED;
            return KV_ROUTE_OK;
        }
        if (seg_is(seg[2], sl[2], "versions") && METHOD("GET")) {
            out->op = KV_OP_SECRET_VERSIONS;
            return KV_ROUTE_OK;
        }
        if (seg_is(seg[2], sl[2], "backup")) {
            if (!METHOD("POST"))
                return KV_ROUTE_METHOD_NOT_ALLOWED;
            out->op = KV_OP_SECRET_BACKUP;
            return KV_ROUTE_OK;
        }
        if (!METHOD("GET") && !METHOD("PATCH"))
            return KV_ROUTE_METHOD_NOT_ALLOWED;
        out->op = METHOD("GET") ? KV_OP_SECRET_GET : KV_OP_SECRET_UPDATE;
        if (copy_version(seg[2], sl[2], out) != 0)
            return KV_ROUTE_BAD_NAME;
        return KV_ROUTE_OK;
    }
    if (seg_is(seg[0], sl[0], "deletedsecrets")) {
        if (n == 1) {
            if (!METHOD("GET"))
                return KV_ROUTE_METHOD_NOT_ALLOWED;
            out->op = KV_OP_DELETED_LIST;
            return KV_ROUTE_OK;
        }
        if (n > 3 || (n == 3 && !seg_is(seg[2], sl[2], "recover")))
            return KV_ROUTE_NOT_FOUND;
        if (copy_name(seg[1], sl[1], out) != 0)
            return KV_ROUTE_BAD_NAME;
        if (n == 3) {
            if (!METHOD("POST"))
                return KV_ROUTE_METHOD_NOT_ALLOWED;
            out->op = KV_OP_DELETED_RECOVER;
            return KV_ROUTE_OK;
        }
        if (METHOD("GET"))
            out->op = KV_OP_DELETED_GET;
        else if (METHOD("DELETE"))
            out->op = KV_OP_DELETED_PURGE;
        else
            return KV_ROUTE_METHOD_NOT_ALLOWED;
        return KV_ROUTE_OK;
    }
    return KV_ROUTE_NOT_FOUND;
}

/* ---------------------------------------------------------------- query */

int kv_parse_query(const char *query, size_t len, kv_query_t *out, char *err, size_t errlen)
{
    sg_query_iter_t it;
    const char *name, *value;
    size_t nlen, vlen;
    int seen_api = 0, seen_max = 0, seen_skip = 0;
    char buf[256];

    memset(out, 0, sizeof(*out));
    sg_query_init(&it, query != NULL ? query : "", query != NULL ? len : 0);
    while (sg_query_next(&it, &name, &nlen, &value, &vlen)) {
        int *seen = NULL;
        char nbuf[16];
        long nl = nlen < sizeof(nbuf) ? sg_pct_decode(nbuf, name, nlen, SG_PCT_PLUS_SPACE, NULL) : -1;
        /* names as sent or percent-encoded (the JS SDK sends api%2Dversion) */
        if (nl == 11 && memcmp(nbuf, "api-version", 11) == 0)
            seen = &seen_api;
        else if (nl == 10 && memcmp(nbuf, "maxresults", 10) == 0)
            seen = &seen_max;
        else if (nl == 10 && memcmp(nbuf, "$skiptoken", 10) == 0)
            seen = &seen_skip;
        else
            continue;
        if (*seen) {
            snprintf(err, errlen, "the query parameter %.*s is given more than once", (int)nl, nbuf);
            return -1;
        }
        *seen = 1;
        if (vlen >= sizeof(buf)) {
            snprintf(err, errlen, "the query parameter %.*s is too long", (int)nl, nbuf);
            return -1;
        }
        long dlen = sg_pct_decode(buf, value, vlen, SG_PCT_PLUS_SPACE, NULL);
        if (dlen < 0) {
            snprintf(err, errlen, "the query parameter %.*s is not validly percent-encoded", (int)nl, nbuf);
            return -1;
        }
        buf[dlen] = '\0';
        if ((size_t)dlen != strlen(buf)) {
            snprintf(err, errlen, "the query parameter %.*s holds a NUL byte", (int)nl, nbuf);
            return -1;
        }
        if (seen == &seen_api) {
            if (dlen != 3 || buf[0] != '7' || buf[1] != '.' || buf[2] < '3' || buf[2] > '6') {
                snprintf(err, errlen,
                         "The specified version (%.20s) is not recognized. Consider using the latest supported "
                         "version (7.6); this vault accepts 7.3 to 7.6.",
                         buf);
                /* never echo more than a short, printable prefix */
                for (char *p = err; *p != '\0'; p++)
                    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                        *p = '?';
                return -1;
            }
            memcpy(out->api_version, buf, 4);
        } else if (seen == &seen_max) {
            unsigned v = 0;
            if (dlen == 0 || dlen > 2 || strspn(buf, "0123456789") != (size_t)dlen || (v = (unsigned)atoi(buf)) < 1 || v > 25) {
                snprintf(err, errlen, "%s", "maxresults must be an integer from 1 to 25");
                return -1;
            }
            out->maxresults = v;
        } else {
            memcpy(out->skiptoken, buf, (size_t)dlen + 1);
        }
    }
    if (!seen_api) {
        snprintf(err, errlen, "%s", "The api-version query parameter is missing (this vault accepts 7.3 to 7.6)");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- bodies */

json_t *kv_parse_json(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t e;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (doc == NULL) {
        gw_http_json_error_message(&e, err, errlen);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        snprintf(err, errlen, "%s", "the request body must be a JSON object");
        return NULL;
    }
    return doc;
}

/* A member's name, short and printable, for messages. */
static void member_name(const char *key, char *out, size_t cap)
{
    size_t i = 0;
    for (; key[i] != '\0' && i + 1 < cap && i < 40; i++)
        out[i] = (unsigned char)key[i] < 0x20 || (unsigned char)key[i] >= 0x7f ? '?' : key[i];
    out[i] = '\0';
}

/* An integer time in 0..253402300799 (or null: *has set, *t 0). */
static int parse_time(json_t *v, const char *what, int *has, int64_t *t, char *err, size_t errlen)
{
    *has = 1;
    if (json_is_null(v)) {
        *t = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 253402300799) {
        snprintf(err, errlen, "attributes.%s must be an integer number of seconds since 1970 (or null)", what);
        return -1;
    }
    *t = json_integer_value(v);
    return 0;
}

static int parse_attributes(json_t *attrs, kv_body_t *out, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    char name[48];
    if (json_is_null(attrs))
        return 0;
    if (!json_is_object(attrs)) {
        snprintf(err, errlen, "%s", "attributes must be an object");
        return -1;
    }
    json_object_foreach(attrs, key, v)
    {
        if (strcmp(key, "enabled") == 0) {
            if (json_is_null(v))
                continue;
            if (!json_is_boolean(v)) {
                snprintf(err, errlen, "%s", "attributes.enabled must be true or false");
                return -1;
            }
            out->has_enabled = 1;
            out->enabled = json_is_true(v);
        } else if (strcmp(key, "nbf") == 0) {
            if (parse_time(v, "nbf", &out->has_nbf, &out->nbf, err, errlen) != 0)
                return -1;
        } else if (strcmp(key, "exp") == 0) {
            if (parse_time(v, "exp", &out->has_exp, &out->exp, err, errlen) != 0)
                return -1;
        } else {
            member_name(key, name, sizeof(name));
            snprintf(err, errlen, "attributes has an unknown member '%s' (enabled, nbf, exp)", name);
            return -1;
        }
    }
    return 0;
}

static int parse_tags(json_t *tags, kv_body_t *out, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    out->has_tags = 1;
    out->ntags = 0;
    if (json_is_null(tags))
        return 0;
    if (!json_is_object(tags)) {
        snprintf(err, errlen, "%s", "tags must be an object of strings");
        return -1;
    }
    if (json_object_size(tags) > KV_MAX_TAGS) {
        snprintf(err, errlen, "a secret may carry at most %d tags", KV_MAX_TAGS);
        return -1;
    }
    json_object_foreach(tags, key, v)
    {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(err, errlen, "%s", "tag values must be strings without NUL characters");
            return -1;
        }
        if (key[0] == '\0' || strlen(key) > 256 || json_string_length(v) > 256) {
            snprintf(err, errlen, "%s", "tag names must be 1 to 256 characters and tag values at most 256");
            return -1;
        }
        /* vault_tag_t holds char *: the vault only reads them */
        out->tags[out->ntags].key = (char *)(uintptr_t)key;
        out->tags[out->ntags].value = (char *)(uintptr_t)json_string_value(v);
        out->ntags++;
    }
    return 0;
}

int kv_parse_body(json_t *body, int for_update, kv_body_t *out, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    char name[48];

    memset(out, 0, sizeof(*out));
    if (!json_is_object(body)) {
        snprintf(err, errlen, "%s", "the request body must be a JSON object");
        return -1;
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "value") == 0 && !for_update) {
            if (!json_is_string(v)) {
                snprintf(err, errlen, "%s", "value must be a string");
                return -1;
            }
            out->value = json_string_value(v);
            out->value_len = json_string_length(v);
        } else if (strcmp(key, "contentType") == 0) {
            if (json_is_null(v))
                continue;
            if (!json_is_string(v) || json_string_length(v) > 255 || strlen(json_string_value(v)) != json_string_length(v)) {
                snprintf(err, errlen, "%s", "contentType must be a string of at most 255 characters");
                return -1;
            }
            out->has_content_type = 1;
            out->content_type = json_string_value(v);
        } else if (strcmp(key, "tags") == 0) {
            if (parse_tags(v, out, err, errlen) != 0)
                return -1;
        } else if (strcmp(key, "attributes") == 0) {
            if (parse_attributes(v, out, err, errlen) != 0)
                return -1;
        } else {
            member_name(key, name, sizeof(name));
            snprintf(err, errlen, "the request body has an unknown member '%s' (%s)", name,
                     for_update ? "contentType, tags, attributes" : "value, contentType, tags, attributes");
            return -1;
        }
    }
    if (!for_update && out->value == NULL) {
        snprintf(err, errlen, "%s", "value is required");
        return -1;
    }
    if (out->value_len > VAULT_SECRET_MAX) {
        snprintf(err, errlen, "the secret value is larger than %d bytes", VAULT_SECRET_MAX);
        return -1;
    }
    if (out->has_nbf && out->has_exp && out->nbf != 0 && out->exp != 0 && out->nbf >= out->exp) {
        snprintf(err, errlen, "%s", "attributes.nbf must be earlier than attributes.exp");
        return -1;
    }
    return 0;
}

int kv_parse_restore_body(json_t *body, const char **value, size_t *len, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    char name[48];
    *value = NULL;
    if (!json_is_object(body)) {
        snprintf(err, errlen, "%s", "the request body must be a JSON object");
        return -1;
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "value") != 0) {
            member_name(key, name, sizeof(name));
            snprintf(err, errlen, "the request body has an unknown member '%s' (value)", name);
            return -1;
        }
        if (!json_is_string(v)) {
            snprintf(err, errlen, "%s", "value must be a string");
            return -1;
        }
        *value = json_string_value(v);
        *len = json_string_length(v);
    }
    if (*value == NULL) {
        snprintf(err, errlen, "%s", "value is required");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- tokens and base64url */

long kv_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t padded = (len + 3) / 4 * 4;
    char *std = sg_alloc(padded + 1);
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/')
            c = '!'; /* the standard alphabet's own characters are not base64url */
        std[i] = c;
    }
    for (size_t i = len; i < padded; i++)
        std[i] = '=';
    size_t n = 0;
    int rc = sg_b64_decode(std, padded, out, cap, &n);
    free(std);
    return rc != 0 ? -1 : (long)n;
}

void kv_token_encode(char kind, const char *pos, char *out)
{
    uint8_t raw[140];
    size_t n = strlen(pos);
    if (n > sizeof(raw) - 1)
        n = sizeof(raw) - 1;
    raw[0] = (uint8_t)kind;
    memcpy(raw + 1, pos, n);
    sg_b64url_encode(raw, n + 1, out);
}

int kv_token_decode(const char *token, char kind, char *pos, size_t poscap)
{
    uint8_t raw[160];
    size_t len = strlen(token);
    if (len == 0 || len > KV_TOKEN_MAX)
        return -1;
    long n = kv_b64url_decode(token, len, raw, sizeof(raw));
    if (n < 2 || raw[0] != (uint8_t)kind || (size_t)n > poscap)
        return -1;
    for (long i = 1; i < n; i++)
        if (!is_name_char((char)raw[i]))
            return -1;
    memcpy(pos, raw + 1, (size_t)n - 1);
    pos[n - 1] = '\0';
    return 0;
}
