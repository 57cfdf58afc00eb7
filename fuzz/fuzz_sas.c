/*
 * fuzz_sas.c - libFuzzer target over the signer's verify path: the input is
 * one flags byte (method, https, client address, request flags, time), a raw
 * URL path, '\n', and a raw query string. It is parsed
 * and verified in full (fixed keys and time, a stored access policy for any
 * si), then its string to sign, token id and a re-mint from its fields are
 * exercised. Must never crash, leak or hit undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sasgw/signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lookup(void *data, const sas_resource_t *res, const char *si, size_t len, sas_policy_t *out)
{
    if (len > 0 && si[0] == 'x')
        return -1; /* some policies do not exist */
    out->start = SAS_TIME_NONE;
    out->expiry = (sas_time_t)1798761600 * SAS_TIME_SECOND; /* 2027-01-01 */
    out->permissions = SAS_PERM('r') | SAS_PERM('w') | SAS_PERM('l');
    return 0;
}

/* The client address as the proxy finds it when a token has sip. */
static int client_addr(void *data, sas_ip_t *out)
{
    (void)data;
    return sas_ip_parse(out, "10.0.0.9", 8);
}

static const sas_key_t *the_keys(void)
{
    static sas_key_t keys[2];
    static const char k1[] = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    if (!keys[0].ready) {
        sas_key_init_base64(&keys[0], k1, strlen(k1));
        sas_key_init(&keys[1], (const uint8_t *)"second key", 10);
    }
    return keys;
}

/* Mints again from the parsed fields: whatever parses must either mint or be refused cleanly. */
static void remint(const sas_token_t *tok, const sas_resource_t *res)
{
    static char query[SAS_MAX_QUERY * 3 + 1], sts[SAS_MAX_STS];
    sas_mint_t m;
    sas_error_t err;
    memset(&m, 0, sizeof(m));
    m.version = tok->f[SAS_F_SV].base;
    m.account = res->account.base;
    m.container = res->container.base;
    m.blob = tok->sr == SAS_SR_CONTAINER ? NULL : res->blob.base;
    m.snapshot = tok->sr == SAS_SR_SNAPSHOT ? res->snapshot.base : NULL;
    m.version_id = tok->sr == SAS_SR_VERSION ? res->version_id.base : NULL;
    m.services = tok->f[SAS_F_SS].base;
    m.resource_types = tok->f[SAS_F_SRT].base;
    m.permissions = tok->f[SAS_F_SP].base;
    m.start = tok->f[SAS_F_ST].base;
    m.expiry = tok->f[SAS_F_SE].base;
    m.ip = tok->f[SAS_F_SIP].base;
    m.protocol = tok->f[SAS_F_SPR].base;
    m.identifier = tok->f[SAS_F_SI].base;
    m.encryption_scope = tok->f[SAS_F_SES].base;
    m.cache_control = tok->f[SAS_F_RSCC].base;
    m.content_disposition = tok->f[SAS_F_RSCD].base;
    m.content_encoding = tok->f[SAS_F_RSCE].base;
    m.content_language = tok->f[SAS_F_RSCL].base;
    m.content_type = tok->f[SAS_F_RSCT].base;
    if (sas_mint(&m, &the_keys()[0], query, sizeof(query), sts, sizeof(sts), NULL, &err) == SAS_OK) {
        /* what was minted parses again (unless encoding made it longer than a query may be) */
        static sas_token_t again;
        sas_reason_t r = sas_token_parse(&again, query, strlen(query), &err);
        if (r != SAS_OK && r != SAS_R_QUERY_TOO_LONG)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sas_token_t tok;
    static sas_resource_t res;
    static char sts[SAS_MAX_STS], debug_sts[SAS_MAX_STS];
    static const sas_method_t methods[4] = {SAS_METHOD_GET, SAS_METHOD_PUT, SAS_METHOD_DELETE, SAS_METHOD_HEAD};
    const sas_key_t *keys = the_keys(), *key_ptrs[2] = {&keys[0], &keys[1]};
    sas_verify_ctx_t ctx;
    sas_grant_t grant;
    sas_error_t err;
    sas_ip_t ip;
    char id[SAS_TOKEN_ID_LEN + 1];

    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const char *in = (const char *)data + 1, *nl = memchr(in, '\n', size - 1);
    size_t path_len = nl != NULL ? (size_t)(nl - in) : size - 1;
    const char *query = nl != NULL ? nl + 1 : in + size - 1;
    size_t query_len = nl != NULL ? size - 1 - path_len - 1 : 0;

    /* the small parsers on their own */
    sas_time_t t;
    sas_ip_range_t range;
    (void)sas_time_parse(query, query_len, &t);
    (void)sas_ip_range_parse(&range, query, query_len);
    (void)sas_method_parse(in, path_len);

    if (sas_token_parse(&tok, query, query_len, &err) != SAS_OK)
        return 0;
    sas_token_id(&tok, id);
    if (sas_resource_from_path(&res, in, path_len, &tok, &err) != SAS_OK)
        return 0;
    long sts_len = sas_string_to_sign(&tok, &res, sts, sizeof(sts));

    sas_verify_ctx_init(&ctx);
    ctx.now = (sas_time_t)1767225600 * SAS_TIME_SECOND +
              (sas_time_t)(flags >> 4) * 86400 * 30 * SAS_TIME_SECOND; /* 2026-01-01 + months */
    ctx.method = (flags & 0x23) == 0x20 ? SAS_METHOD_POST : methods[flags & 3];
    ctx.req_flags = ((flags & 0x40) ? SAS_REQ_COPY_SOURCE : 0) | ((flags & 0x80) ? SAS_REQ_REQUIRES_SYNC : 0);
    ctx.is_https = (flags >> 2) & 1;
    if (flags & 8) {
        sas_ip_parse(&ip, (flags & 16) ? "2001:db8::7" : "10.0.0.7", (flags & 16) ? 11 : 8);
        ctx.client_ip = &ip;
    } else if (flags & 16) {
        ctx.client_addr = client_addr; /* the proxy's way: looked up only for sip */
    }
    ctx.keys = key_ptrs;
    ctx.nkeys = 2;
    ctx.lookup_policy = lookup;
    ctx.sts = debug_sts;
    ctx.sts_cap = sizeof(debug_sts);
    debug_sts[0] = '\0';
    sas_reason_t r = sas_verify(&ctx, &tok, &res, &grant, &err);
    /* the debug string to sign is written on a signature mismatch only, and then is the string to sign */
    if (r == SAS_R_SIGNATURE_MISMATCH ? strcmp(debug_sts, sts_len >= 0 ? sts : "") != 0 : debug_sts[0] != '\0')
        __builtin_trap();
    if (r != SAS_OK && (err.message[0] == '\0' || sas_reason_azure_code(r) == NULL))
        __builtin_trap(); /* every refusal has a sentence and an Azure code */
    if (r == SAS_OK) {
        /* an allowed request has its operation; one that names a copy source came with x-ms-copy-source, and back */
        const sas_operation_t *op = grant.op;
        if (op == NULL || op->name == NULL || op->params == NULL || !sas_operation_defines(op, "timeout", 7) ||
            ((op->flags & SAS_OP_NAMES_SOURCE) != 0) != ((ctx.req_flags & SAS_REQ_COPY_SOURCE) != 0) ||
            op != sas_operation_find(&tok, &res, ctx.method, ctx.req_flags))
            __builtin_trap();
    }

    remint(&tok, &res);
    return 0;
}
