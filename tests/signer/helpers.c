/* helpers.c - see helpers.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

json_t *vec_load(void)
{
    const char *src = getenv("SASGW_SOURCE_DIR");
    char path[4096], line[16384];
    snprintf(path, sizeof(path), "%s/../shared/vectors/azure-sdk-sas.jsonl", src != NULL ? src : ".");
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    json_t *all = json_array();
    while (fgets(line, sizeof(line), fp) != NULL) {
        json_error_t e;
        if (line[0] == '\n')
            continue;
        json_t *v = json_loads(line, 0, &e);
        if (v == NULL)
            fail_msg("%s: %s", path, e.text);
        json_array_append_new(all, v);
    }
    fclose(fp);
    return all;
}

const char *vec_str(const json_t *v, const char *key)
{
    return json_string_value(json_object_get(v, key));
}

const char *vec_time(const json_t *v, const char *key, char *out)
{
    const char *s = vec_str(v, key), *dot;
    if (s == NULL)
        return NULL;
    if ((dot = strchr(s, '.')) != NULL && strlen(s) < 40)
        snprintf(out, 40, "%.*sZ", (int)(dot - s), s);
    else
        snprintf(out, 40, "%s", s);
    return out;
}

void vec_mint_params(const json_t *v, sas_mint_t *m, char bufs[2][40])
{
    memset(m, 0, sizeof(*m));
    m->version = vec_str(v, "version");
    m->account = vec_str(v, "account");
    m->container = vec_str(v, "container");
    m->blob = vec_str(v, "blob");
    m->snapshot = vec_str(v, "snapshot");
    m->services = vec_str(v, "services");
    m->resource_types = vec_str(v, "resourceTypes");
    m->permissions = vec_str(v, "permissions");
    m->start = vec_time(v, "start", bufs[0]);
    m->expiry = vec_time(v, "expiry", bufs[1]);
    m->ip = vec_str(v, "ip");
    m->protocol = vec_str(v, "protocol");
    m->identifier = vec_str(v, "identifier");
    m->encryption_scope = vec_str(v, "encryptionScope");
    m->cache_control = vec_str(v, "cacheControl");
    m->content_disposition = vec_str(v, "contentDisposition");
    m->content_encoding = vec_str(v, "contentEncoding");
    m->content_language = vec_str(v, "contentLanguage");
    m->content_type = vec_str(v, "contentType");
}

static void enc(const char *in, char *out, size_t cap, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *in != '\0'; in++) {
        unsigned char c = (unsigned char)*in;
        assert_true(o + 4 < cap);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(keep, c) != NULL) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

void enc_path(const char *in, char *out, size_t cap)
{
    enc(in, out, cap, "-_.~/");
}

void enc_query(const char *in, char *out, size_t cap)
{
    enc(in, out, cap, "-_.!~*'()");
}

void req_init(req_t *r)
{
    memset(r, 0, sizeof(*r));
    r->method = SAS_METHOD_GET;
    r->is_https = 1;
    r->now = T("2026-01-01T00:00:00Z");
    r->start_skew = SAS_TIME_NONE;
}

static int lookup(void *data, const sas_resource_t *res, const char *si, size_t len, sas_policy_t *out)
{
    const sas_policy_t *p = data;
    if (p == NULL)
        return -1;
    *out = *p;
    return 0;
}

sas_reason_t req_verify(const req_t *r, sas_error_t *err, sas_grant_t *grant)
{
    sas_token_t tok;
    sas_resource_t res;
    sas_verify_ctx_t ctx;
    sas_ip_t ip;
    sas_reason_t reason;

    if ((reason = sas_token_parse(&tok, r->query, strlen(r->query), err)) != SAS_OK)
        return reason;
    if ((reason = sas_resource_from_path(&res, r->path, strlen(r->path), &tok, err)) != SAS_OK)
        return reason;
    sas_verify_ctx_init(&ctx);
    ctx.now = r->now;
    if (r->start_skew != SAS_TIME_NONE)
        ctx.start_skew = r->start_skew;
    ctx.method = r->method;
    ctx.req_flags = r->req_flags;
    ctx.is_https = r->is_https;
    if (r->client_ip != NULL) {
        assert_int_equal(sas_ip_parse(&ip, r->client_ip, strlen(r->client_ip)), 0);
        ctx.client_ip = &ip;
    }
    ctx.keys = r->keys;
    ctx.nkeys = r->nkeys;
    ctx.lookup_policy = lookup;
    ctx.data = (void *)(uintptr_t)r->policy;
    return sas_verify(&ctx, &tok, &res, grant, err);
}

sas_time_t T(const char *s)
{
    sas_time_t t;
    if (sas_time_parse(s, strlen(s), &t) != 0)
        fail_msg("bad time literal %s", s);
    return t;
}

const sas_key_t *test_key(void)
{
    static sas_key_t key;
    if (!key.ready)
        assert_int_equal(sas_key_init_base64(&key, TEST_KEY_B64, strlen(TEST_KEY_B64)), 0);
    return &key;
}

sas_reason_t mint_verify(const sas_mint_t *m, req_t *r, const char *extra, char *query, size_t cap, sas_error_t *err)
{
    static const sas_key_t *keys[1];
    sas_error_t merr;
    size_t n;
    if (sas_mint(m, test_key(), query, cap, NULL, 0, NULL, &merr) != SAS_OK)
        fail_msg("mint refused: %s", merr.message);
    n = strlen(query);
    if (extra != NULL && *extra != '\0')
        snprintf(query + n, cap - n, "&%s", extra);
    if (r->keys == NULL) {
        keys[0] = test_key();
        r->keys = keys;
        r->nkeys = 1;
    }
    r->query = query;
    return req_verify(r, err, NULL);
}
