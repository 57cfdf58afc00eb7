/*
 * sas_sign.c - the string to sign of each sv layout, and minting: explicit
 * fields in, an Azure-compatible query string out.
 */
#include <string.h>

#include "sasgw/common.h"
#include "internal.h"

struct out {
    char *p;
    size_t len, cap;
    int overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->overflow || n >= o->cap - o->len) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_field(struct out *o, const sas_str_t *v, int newline)
{
    if (v->base != NULL)
        put(o, v->base, v->len);
    if (newline)
        put(o, "\n", 1);
}

long sas_string_to_sign(const sas_token_t *tok, const sas_resource_t *res, char *buf, size_t cap)
{
    const sas_str_t *f = tok->f;
    struct out o = {buf, 0, cap, cap == 0};
    int cmp = sas__version_cmp(f[SAS_F_SV].base, f[SAS_F_SV].len, SAS_VERSION_WITH_SES);
    int with_ses = cmp >= 0;

    if (cmp == -2 || res->account.base == NULL)
        return -1;
    if (tok->kind == SAS_KIND_ACCOUNT) {
        /* account sp ss srt st se sip spr sv [ses] and a trailing newline */
        put_field(&o, &res->account, 1);
        put_field(&o, &f[SAS_F_SP], 1);
        put_field(&o, &f[SAS_F_SS], 1);
        put_field(&o, &f[SAS_F_SRT], 1);
        put_field(&o, &f[SAS_F_ST], 1);
        put_field(&o, &f[SAS_F_SE], 1);
        put_field(&o, &f[SAS_F_SIP], 1);
        put_field(&o, &f[SAS_F_SPR], 1);
        put_field(&o, &f[SAS_F_SV], 1);
        if (with_ses)
            put_field(&o, &f[SAS_F_SES], 1);
    } else {
        /* sp st se canonicalizedResource si sip spr sv sr snapshotTime|versionId [ses] rscc rscd rsce rscl rsct */
        static const sas_str_t none = {NULL, 0};
        const sas_str_t *extra = tok->sr == SAS_SR_SNAPSHOT ? &res->snapshot : tok->sr == SAS_SR_VERSION ? &res->version_id : &none;
        put_field(&o, &f[SAS_F_SP], 1);
        put_field(&o, &f[SAS_F_ST], 1);
        put_field(&o, &f[SAS_F_SE], 1);
        put(&o, "/blob/", 6);
        put_field(&o, &res->account, 0);
        put(&o, "/", 1);
        put_field(&o, &res->container, 0);
        if (tok->sr != SAS_SR_CONTAINER && res->blob.base != NULL) {
            put(&o, "/", 1);
            put_field(&o, &res->blob, 0);
        }
        put(&o, "\n", 1);
        put_field(&o, &f[SAS_F_SI], 1);
        put_field(&o, &f[SAS_F_SIP], 1);
        put_field(&o, &f[SAS_F_SPR], 1);
        put_field(&o, &f[SAS_F_SV], 1);
        put_field(&o, &f[SAS_F_SR], 1);
        put_field(&o, extra, 1);
        if (with_ses)
            put_field(&o, &f[SAS_F_SES], 1);
        put_field(&o, &f[SAS_F_RSCC], 1);
        put_field(&o, &f[SAS_F_RSCD], 1);
        put_field(&o, &f[SAS_F_RSCE], 1);
        put_field(&o, &f[SAS_F_RSCL], 1);
        put_field(&o, &f[SAS_F_RSCT], 0);
    }
    if (o.overflow)
        return -1;
    buf[o.len] = '\0';
    return (long)o.len;
}

/* Appends s percent-encoded as encodeURIComponent does (the Azure SDKs' form). */
static void put_encoded(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.!~*'()", c) != NULL) {
            put(o, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(o, e, 3);
        }
    }
}

/* Copies one mint argument into the token's arena after checking it. */
static sas_reason_t set_field(sas_token_t *tok, size_t *used, sas_field_t field, const char *value, sas_error_t *err)
{
    size_t len;
    if (value == NULL || (len = strlen(value)) == 0)
        return SAS_OK;
    if (len > sas__field_max(field))
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "%s too long (%zu bytes, limit %zu)", sas_field_name(field), len,
                         sas__field_max(field));
    if (sas__has_control(value, len) || !sas__utf8_valid(value, len))
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "%s holds a control character or invalid UTF-8", sas_field_name(field));
    memcpy(tok->arena + *used, value, len);
    tok->arena[*used + len] = '\0';
    tok->f[field] = (sas_str_t){tok->arena + *used, len};
    *used += len + 1;
    return SAS_OK;
}

static int given(const char *s)
{
    return s != NULL && *s != '\0';
}

sas_reason_t sas_mint(const sas_mint_t *m, const sas_key_t *key, char *query, size_t cap, char *sts, size_t sts_cap,
                      sas_minted_t *out, sas_error_t *err)
{
    sas_token_t tok;
    sas_resource_t res;
    char sts_buf[SAS_MAX_STS], sig_b64[SAS_SIG_B64_LEN + 1];
    size_t used = 0;
    sas_reason_t r;
    int account = given(m->services) || given(m->resource_types);
    const char *sr = NULL;

    memset(&tok, 0, offsetof(sas_token_t, arena));
    if (key == NULL || !key->ready)
        return sas__fail(err, SAS_R_NO_KEY, "no key to sign with");
    if (!given(m->account))
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "an account name is required");

    /* the resource, and sr for a service SAS */
    if (account) {
        if (given(m->container) || given(m->blob) || given(m->snapshot) || given(m->version_id))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "an account SAS names no container, blob, snapshot or version");
        if (given(m->identifier))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "an account SAS cannot use a stored access policy (identifier)");
        if (given(m->cache_control) || given(m->content_disposition) || given(m->content_encoding) || given(m->content_language) ||
            given(m->content_type))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "an account SAS cannot override response headers");
    } else {
        if (!given(m->container))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "a service SAS needs a container");
        if ((given(m->snapshot) || given(m->version_id)) && !given(m->blob))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "a snapshot or version needs a blob");
        if (given(m->snapshot) && given(m->version_id))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "give a snapshot or a version id, not both");
        sr = given(m->version_id) ? "bv" : given(m->snapshot) ? "bs" : given(m->blob) ? "b" : "c";
    }
    sas_error_t res_err;
    r = sas_resource_init(&res, m->account, given(m->container) ? m->container : NULL, given(m->blob) ? m->blob : NULL,
                          given(m->snapshot) ? m->snapshot : NULL, given(m->version_id) ? m->version_id : NULL, &res_err);
    if (r != SAS_OK)
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "%s", res_err.message);

    /* the signed fields */
    const struct {
        sas_field_t field;
        const char *value;
    } args[] = {
        {SAS_F_SV, given(m->version) ? m->version : SAS_VERSION_DEFAULT},
        {SAS_F_SS, m->services},
        {SAS_F_SRT, m->resource_types},
        {SAS_F_SPR, m->protocol},
        {SAS_F_ST, m->start},
        {SAS_F_SE, m->expiry},
        {SAS_F_SIP, m->ip},
        {SAS_F_SI, m->identifier},
        {SAS_F_SES, m->encryption_scope},
        {SAS_F_SR, sr},
        {SAS_F_SP, m->permissions},
        {SAS_F_RSCC, m->cache_control},
        {SAS_F_RSCD, m->content_disposition},
        {SAS_F_RSCE, m->content_encoding},
        {SAS_F_RSCL, m->content_language},
        {SAS_F_RSCT, m->content_type},
    };
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
        if ((r = set_field(&tok, &used, args[i].field, args[i].value, err)) != SAS_OK)
            return r;
    if (account && (!given(m->services) || !given(m->resource_types)))
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "an account SAS needs both services and resource types");
    if (!given(m->identifier) && (!given(m->permissions) || !given(m->expiry)))
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "permissions and expiry are required without an identifier");
    if ((r = sas__token_derive(&tok, 0, err)) != SAS_OK || (r = sas__check_version(&tok, err)) != SAS_OK)
        return r;
    for (int f = SAS_F_ST; f <= SAS_F_SE; f++) {
        sas_time_t t;
        if (tok.f[f].base != NULL && sas_time_parse(tok.f[f].base, tok.f[f].len, &t) != 0)
            return sas__fail(err, SAS_R_BAD_TIME, "invalid %s time '%s'", f == SAS_F_ST ? "start" : "expiry", tok.f[f].base);
    }

    /* sign */
    long n = sas_string_to_sign(&tok, &res, sts_buf, sizeof(sts_buf));
    if (n < 0)
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "cannot build the string to sign");
    sas_hmac(key, sts_buf, (size_t)n, tok.sig);
    sg_b64_encode(tok.sig, SAS_SIG_LEN, sig_b64);
    tok.f[SAS_F_SIG] = (sas_str_t){sig_b64, SAS_SIG_B64_LEN};

    /* the query, in the SDK's order, sig last */
    struct out q = {query, 0, cap, cap == 0};
    for (int f = 0; f < SAS_F__SAS_COUNT; f++) {
        if (tok.f[f].base == NULL)
            continue;
        if (q.len != 0)
            put(&q, "&", 1);
        put(&q, sas_field_name((sas_field_t)f), strlen(sas_field_name((sas_field_t)f)));
        put(&q, "=", 1);
        put_encoded(&q, tok.f[f].base, tok.f[f].len);
    }
    if (q.overflow)
        return sas__fail(err, SAS_R_BUFFER_TOO_SMALL, "the query does not fit in %zu bytes", cap);
    query[q.len] = '\0';
    if (sts != NULL) {
        if ((size_t)n >= sts_cap)
            return sas__fail(err, SAS_R_BUFFER_TOO_SMALL, "the string to sign does not fit in %zu bytes", sts_cap);
        memcpy(sts, sts_buf, (size_t)n + 1);
    }
    if (out != NULL) {
        out->query_len = q.len;
        out->sts_len = (size_t)n;
        memcpy(out->sig, tok.sig, SAS_SIG_LEN);
        sas_token_id_from_sig(tok.sig, out->token_id);
    }
    return SAS_OK;
}
