/*
 * sas_verify.c - steps 2 to 6 of DESIGN §3 (step 7 lives in sas_operation.c),
 * and sas_verify(), which runs them in order. Nothing here allocates.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "sasgw/common.h"
#include "internal.h"

void sas_verify_ctx_init(sas_verify_ctx_t *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->now = sas_time_now();
    ctx->start_skew = 300 * SAS_TIME_SECOND;
    ctx->expiry_skew = 0;
    ctx->method = SAS_METHOD_GET;
    ctx->is_https = 1;
}

sas_reason_t sas_check_resource(const sas_token_t *tok, const sas_resource_t *res, sas_error_t *err)
{
    if (res->account.base == NULL)
        return sas__fail(err, SAS_R_RESOURCE_MISMATCH, "the path names no account");
    if (tok->kind == SAS_KIND_ACCOUNT)
        return SAS_OK;
    if (res->container.base == NULL)
        return sas__fail(err, SAS_R_RESOURCE_MISMATCH, "sr=%s covers a container or blob; the path names none",
                         sas__sr_name(tok->sr));
    switch (tok->sr) {
    case SAS_SR_CONTAINER:
        return SAS_OK;
    case SAS_SR_BLOB:
        if (res->blob.base == NULL)
            return sas__fail(err, SAS_R_RESOURCE_MISMATCH, "sr=b covers one blob; the path names a container");
        return SAS_OK;
    case SAS_SR_SNAPSHOT:
        if (res->blob.base == NULL || res->snapshot.base == NULL || res->version_id.base != NULL)
            return sas__fail(err, SAS_R_RESOURCE_MISMATCH,
                             "sr=bs covers one blob snapshot; the request needs a blob path and snapshot=");
        return SAS_OK;
    case SAS_SR_VERSION:
        if (res->blob.base == NULL || res->version_id.base == NULL || res->snapshot.base != NULL)
            return sas__fail(err, SAS_R_RESOURCE_MISMATCH,
                             "sr=bv covers one blob version; the request needs a blob path and versionid=");
        return SAS_OK;
    default:
        return sas__fail(err, SAS_R_RESOURCE_MISMATCH, "no signed resource");
    }
}

sas_reason_t sas__check_version(const sas_token_t *tok, sas_error_t *err)
{
    const sas_str_t *sv = &tok->f[SAS_F_SV];
    char q[24];
    int lo = sas__version_cmp(sv->base, sv->len, SAS_VERSION_MIN);
    if (lo == -2)
        return sas__fail(err, SAS_R_UNSUPPORTED_VERSION, "invalid sv=%s", sas__quote(q, sizeof(q), sv->base, sv->len));
    if (lo < 0 || sas__version_cmp(sv->base, sv->len, SAS_VERSION_MAX) > 0)
        return sas__fail(err, SAS_R_UNSUPPORTED_VERSION, "sv=%s not supported (%s to %s)", sv->base, SAS_VERSION_MIN,
                         SAS_VERSION_MAX);
    if (tok->f[SAS_F_SES].base != NULL && sas__version_cmp(sv->base, sv->len, SAS_VERSION_WITH_SES) < 0)
        return sas__fail(err, SAS_R_INVALID_PARAM, "ses needs sv=%s or later", SAS_VERSION_WITH_SES);
    return SAS_OK;
}

/* a + b without overflow, for caller-chosen skews */
static sas_time_t add_sat(sas_time_t a, sas_time_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN + 1 - b)
        return INT64_MIN + 1;
    return a + b;
}

/* The window check shared by steps 3 and 5. The texts name the bounds as the token or policy gave them. */
static sas_reason_t check_window(const sas_grant_t *g, const char *start_text, const char *expiry_text, sas_time_t now,
                                 sas_time_t start_skew, sas_time_t expiry_skew, sas_error_t *err)
{
    char t[SAS_TIME_TEXT_MAX];
    if (g->start != SAS_TIME_NONE && g->start > add_sat(now, start_skew)) {
        if (start_text == NULL)
            sas_time_format(g->start, t), start_text = t;
        return sas__fail(err, SAS_R_NOT_YET_VALID, "not valid before %s", start_text);
    }
    if (g->expiry != SAS_TIME_NONE && now >= add_sat(g->expiry, expiry_skew)) {
        if (expiry_text == NULL)
            sas_time_format(g->expiry, t), expiry_text = t;
        return sas__fail(err, SAS_R_EXPIRED, "expired at %s", expiry_text);
    }
    return SAS_OK;
}

sas_reason_t sas_check_times(const sas_token_t *tok, sas_time_t now, sas_time_t start_skew, sas_time_t expiry_skew,
                             sas_grant_t *grant, sas_error_t *err)
{
    const sas_str_t *st = &tok->f[SAS_F_ST], *se = &tok->f[SAS_F_SE];
    sas_reason_t r;
    char q[48];

    if ((r = sas__check_version(tok, err)) != SAS_OK)
        return r;
    grant->perms = tok->perms;
    grant->start = SAS_TIME_NONE;
    grant->expiry = SAS_TIME_NONE;
    grant->key_index = 0;
    grant->op = NULL;
    /* a start is rounded up and an expiry down, so a sub-microsecond fraction never widens the window */
    if (st->base != NULL && sas__time_parse_round(st->base, st->len, 1, &grant->start) != 0)
        return sas__fail(err, SAS_R_BAD_TIME, "invalid st=%s", sas__quote(q, sizeof(q), st->base, st->len));
    if (se->base != NULL && sas__time_parse_round(se->base, se->len, 0, &grant->expiry) != 0)
        return sas__fail(err, SAS_R_BAD_TIME, "invalid se=%s", sas__quote(q, sizeof(q), se->base, se->len));
    if (se->base == NULL && tok->f[SAS_F_SI].base == NULL)
        return sas__fail(err, SAS_R_MISSING_EXPIRY, "missing se (and no stored access policy si)");
    return check_window(grant, st->base, se->base, now, start_skew, expiry_skew, err);
}

sas_reason_t sas_check_signature(const sas_token_t *tok, const sas_resource_t *res, const sas_key_t *const *keys, size_t nkeys,
                                 size_t *matched, sas_error_t *err)
{
    char sts[SAS_MAX_STS];
    uint8_t mac[SAS_SIG_LEN];
    long n;

    if (nkeys == 0)
        return sas__fail(err, SAS_R_NO_KEY, "no key for account %s", res->account.base != NULL ? res->account.base : "?");
    if ((n = sas_string_to_sign(tok, res, sts, sizeof(sts))) < 0)
        return sas__fail(err, SAS_R_SIGNATURE_MISMATCH, "signature mismatch (no string to sign)");
    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i] == NULL || !keys[i]->ready)
            continue;
        sas_hmac(keys[i], sts, (size_t)n, mac);
        if (sg_ct_equal(mac, tok->sig, SAS_SIG_LEN)) {
            if (matched != NULL)
                *matched = i;
            return SAS_OK;
        }
    }
    return sas__fail(err, SAS_R_SIGNATURE_MISMATCH, "signature mismatch");
}

sas_reason_t sas_apply_policy(const sas_token_t *tok, const sas_policy_t *policy, sas_time_t now, sas_time_t start_skew,
                              sas_time_t expiry_skew, sas_grant_t *grant, sas_error_t *err)
{
    const sas_str_t *si = &tok->f[SAS_F_SI];
    char q[72];

    if (si->base == NULL) {
        if (grant->perms == 0)
            return sas__fail(err, SAS_R_NO_PERMISSIONS, "no permissions: sp is missing and no stored access policy (si) is named");
        return SAS_OK;
    }
    sas__quote(q, sizeof(q), si->base, si->len);
    if (policy == NULL)
        return sas__fail(err, SAS_R_POLICY_NOT_FOUND, "stored access policy %s not found", q);

    /* the policy supplies what the token leaves out and limits what it sets */
    if (tok->f[SAS_F_SP].base == NULL)
        grant->perms = policy->permissions;
    else if (policy->permissions != 0)
        grant->perms &= policy->permissions;
    if (policy->start != SAS_TIME_NONE && (grant->start == SAS_TIME_NONE || policy->start > grant->start))
        grant->start = policy->start;
    if (policy->expiry != SAS_TIME_NONE && (grant->expiry == SAS_TIME_NONE || policy->expiry < grant->expiry))
        grant->expiry = policy->expiry;

    if (grant->expiry == SAS_TIME_NONE)
        return sas__fail(err, SAS_R_MISSING_EXPIRY, "no expiry in the token or in stored access policy %s", q);
    if (grant->perms == 0)
        return sas__fail(err, SAS_R_NO_PERMISSIONS, "no permissions granted by sp and stored access policy %s", q);
    return check_window(grant, NULL, NULL, now, start_skew, expiry_skew, err);
}

sas_reason_t sas_check_network(const sas_token_t *tok, int is_https, const sas_ip_t *client_ip, sas_error_t *err)
{
    if (tok->https_only && !is_https)
        return sas__fail(err, SAS_R_PROTOCOL_MISMATCH, "spr=https but the request came over http");
    if (tok->has_ip) {
        char addr[INET6_ADDRSTRLEN] = "unknown";
        if (client_ip != NULL && sas_ip_range_contains(&tok->ip, client_ip))
            return SAS_OK;
        if (client_ip != NULL &&
            inet_ntop(client_ip->family == 4 ? AF_INET : AF_INET6, client_ip->addr, addr, sizeof(addr)) == NULL)
            strcpy(addr, "invalid");
        return sas__fail(err, SAS_R_IP_MISMATCH, "client address %s not allowed by sip=%s", addr, tok->f[SAS_F_SIP].base);
    }
    return SAS_OK;
}

sas_reason_t sas_verify(const sas_verify_ctx_t *ctx, const sas_token_t *tok, const sas_resource_t *res, sas_grant_t *grant,
                        sas_error_t *err)
{
    sas_grant_t g;
    sas_policy_t policy;
    const sas_policy_t *found = NULL;
    sas_ip_t ip;
    const sas_ip_t *client = ctx->client_ip;
    sas_reason_t r;

    /* 2. resource; 3. times */
    if ((r = sas_check_resource(tok, res, err)) != SAS_OK ||
        (r = sas_check_times(tok, ctx->now, ctx->start_skew, ctx->expiry_skew, &g, err)) != SAS_OK)
        return r;
    /* 4. signature, with the string to sign for debugging when it does not match */
    if ((r = sas_check_signature(tok, res, ctx->keys, ctx->nkeys, &g.key_index, err)) != SAS_OK) {
        if (r == SAS_R_SIGNATURE_MISMATCH && ctx->sts != NULL && ctx->sts_cap != 0 &&
            sas_string_to_sign(tok, res, ctx->sts, ctx->sts_cap) < 0)
            ctx->sts[0] = '\0';
        return r;
    }
    /* 5. stored access policy */
    if (tok->f[SAS_F_SI].base != NULL && ctx->lookup_policy != NULL &&
        ctx->lookup_policy(ctx->data, res, tok->f[SAS_F_SI].base, tok->f[SAS_F_SI].len, &policy) == 0)
        found = &policy;
    if ((r = sas_apply_policy(tok, found, ctx->now, ctx->start_skew, ctx->expiry_skew, &g, err)) != SAS_OK)
        return r;
    /* 6. protocol and client address (looked up only when sip asks for it) */
    if (tok->has_ip && client == NULL && ctx->client_addr != NULL && ctx->client_addr(ctx->data, &ip) == 0)
        client = &ip;
    if ((r = sas_check_network(tok, ctx->is_https, client, err)) != SAS_OK)
        return r;
    /* a second resource the request names is authorized by its own token */
    if ((ctx->req_flags & SAS_REQ_COPY_SOURCE) && ctx->check_source != NULL && (r = ctx->check_source(ctx->data, err)) != SAS_OK)
        return r;
    /* 7. operation */
    if ((r = sas_check_operation(tok, res, ctx->method, ctx->req_flags, &g, err)) != SAS_OK)
        return r;
    if (grant != NULL)
        *grant = g;
    if (err != NULL) {
        err->reason = SAS_OK;
        err->message[0] = '\0';
    }
    return SAS_OK;
}
