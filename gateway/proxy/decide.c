/*
 * decide.c - the proxy's decision (decide.h): DESIGN §3's order as a pure
 * function of the request and the environment - account lookup, stale check,
 * sas_verify(), revocation, the forward rewrite - with the copy-source
 * verification and the operation rules. No socket, no h2o handler, no app:
 * tests and the fuzzer drive it as it is, and both front ends (h2.c, relay.c)
 * call it.
 */
#include "decide.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "resign.h"
#include "sasgw/common.h"
#include "sasgw/core/client_addr.h"

/* ---- query parameters ---- */

/*
 * Writes into out (cap bytes) the parameters of a raw query (with or without
 * its '?') for which keep(name, name_len, data) says 1, in order and as sent,
 * joined by '&'; stops before one that does not fit. Returns the length.
 */
static size_t filter_query(const char *query, size_t len, int (*keep)(const char *, size_t, const void *), const void *data,
                           char *out, size_t cap)
{
    size_t n = 0;
    sg_query_iter_t it;
    const char *name, *value;
    size_t name_len, value_len;
    if (len != 0 && *query == '?')
        query++, len--;
    sg_query_init(&it, query, len);
    while (sg_query_next(&it, &name, &name_len, &value, &value_len)) {
        size_t plen = (size_t)(value + value_len - name);
        if (plen != 0 && keep(name, name_len, data)) {
            if (n + (n != 0) + plen > cap)
                break;
            if (n != 0)
                out[n++] = '&';
            memcpy(out + n, name, plen);
            n += plen;
        }
    }
    return n;
}

/* ---- the decision ---- */

static void refuse(gw_proxy_decision_t *d, int status, const char *code, sas_reason_t reason, const char *message)
{
    d->verdict = GW_PROXY_REFUSE;
    d->status = status;
    d->code = code;
    d->err.reason = reason;
    snprintf(d->err.message, sizeof(d->err.message), "%s", message);
}

/* A refusal for a signer reason: the request's shape (path, spelling, repeats) is 400, the token's verdict 403. */
static void refuse_signer(gw_proxy_decision_t *d, const sas_error_t *err)
{
    int query_shape = err->reason == SAS_R_DUPLICATE_PARAM || err->reason == SAS_R_NONCANONICAL_PARAM;
    d->verdict = GW_PROXY_REFUSE;
    d->status = err->reason == SAS_R_BAD_PATH || query_shape ? 400 : 403;
    d->code = err->reason == SAS_R_BAD_PATH ? "InvalidUri"
              : query_shape                 ? "InvalidQueryParameterValue"
                                            : sas_reason_azure_code(err->reason);
    if (d->code == NULL)
        d->code = "AuthenticationFailed";
    if (&d->err != err)
        d->err = *err;
}

/* ---- the request's own bytes ---- */

/* Case-insensitive equality of s (len bytes) with a lower-case literal. */
static int name_is(const char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && strncasecmp(s, lit, len) == 0;
}

/* s (len bytes) without leading and trailing spaces and tabs. */
static void trim(const char **s, size_t *len)
{
    while (*len != 0 && (**s == ' ' || **s == '\t'))
        (*s)++, (*len)--;
    while (*len != 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* 1 for the bytes RFC 3986 allows in a path or a query: unreserved, sub-delims, ':', '@', '/', '?' and the '%' of %XX. */
static int is_target_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL);
}

/*
 * Checks bytes (len) as the path and query of a request target: RFC 3986's
 * characters only (a raw '#', space, quote, '\', '{', non-ASCII... would be
 * read differently by the backend than by the decision), and every '%' the
 * start of %XX. Returns 0, or -1 after writing why into err.
 */
static int check_target_bytes(const char *t, size_t len, sas_error_t *err)
{
    for (size_t i = 0; i != len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '#') {
            err->reason = SAS_R_BAD_PATH;
            snprintf(err->message, sizeof(err->message), "a raw '#' at byte %zu of the request target (a fragment is never sent)",
                     i);
            return -1;
        }
        if (!is_target_byte(c)) {
            err->reason = SAS_R_BAD_PATH;
            snprintf(err->message, sizeof(err->message),
                     "byte 0x%02x at %zu of the request target is not a URI character (RFC 3986): percent-encode it", c, i);
            return -1;
        }
        if (c == '%' && (i + 2 >= len || sg_hexval(t[i + 1]) < 0 || sg_hexval(t[i + 2]) < 0)) {
            err->reason = SAS_R_BAD_PATH;
            snprintf(err->message, sizeof(err->message), "'%%' at byte %zu of the request target does not start %%XX", i);
            return -1;
        }
    }
    return 0;
}

/* What the headers of a request add to its operation. */
struct header_facts {
    unsigned req_flags; /* SAS_REQ_* */
    const char *copy_source;
    size_t copy_source_len;
};

/*
 * Reads the headers that change which operation the backend performs or what
 * it reads: a method override (x-http-method, x-http-method-override,
 * x-method-override) is refused with 400 (the decided method is the request
 * line's), x-ms-copy-source-authorization with 403 CannotVerifyCopySource
 * (the backend would read the source with a credential sasgw never saw);
 * x-ms-copy-source and x-ms-requires-sync at most once each, the latter
 * "true" or "false". Returns 0 and fills *out, or -1 with *d refused.
 */
static int read_headers(const gw_proxy_request_t *req, struct header_facts *out, gw_proxy_decision_t *d)
{
    int seen_sync = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i != req->num_headers; i++) {
        const gw_proxy_header_t *h = req->headers + i;
        const char *v = h->value;
        size_t vlen = h->value_len;
        if (name_is(h->name, h->name_len, "x-http-method") || name_is(h->name, h->name_len, "x-http-method-override") ||
            name_is(h->name, h->name_len, "x-method-override")) {
            refuse(d, 400, "UnsupportedHeader", SAS_R_OPERATION_NOT_ALLOWED, "");
            snprintf(d->err.message, sizeof(d->err.message),
                     "a method override (%.*s) is not accepted: the method is the request's", (int)h->name_len, h->name);
            return -1;
        }
        if (name_is(h->name, h->name_len, "x-ms-copy-source-authorization")) {
            refuse(d, 403, "CannotVerifyCopySource", SAS_R_OPERATION_NOT_ALLOWED,
                   "x-ms-copy-source-authorization is not accepted: a copy source must carry its own SAS");
            return -1;
        }
        if (name_is(h->name, h->name_len, "x-ms-copy-source")) {
            if (out->copy_source != NULL) {
                refuse(d, 400, "InvalidHeaderValue", SAS_R_OPERATION_NOT_ALLOWED, "x-ms-copy-source given more than once");
                return -1;
            }
            trim(&v, &vlen);
            out->copy_source = v;
            out->copy_source_len = vlen;
            out->req_flags |= SAS_REQ_COPY_SOURCE;
        } else if (name_is(h->name, h->name_len, "x-ms-requires-sync")) {
            trim(&v, &vlen);
            if (seen_sync++ || !(name_is(v, vlen, "true") || name_is(v, vlen, "false"))) {
                refuse(d, 400, "InvalidHeaderValue", SAS_R_OPERATION_NOT_ALLOWED,
                       "x-ms-requires-sync must be given once, as true or false");
                return -1;
            }
            if (name_is(v, vlen, "true"))
                out->req_flags |= SAS_REQ_REQUIRES_SYNC;
        }
    }
    return 0;
}

/* ---- the pipeline ---- */

/* What the callbacks of sas_verify() read and write for one verification. */
struct verify_data {
    const gw_proxy_env_t *env;
    const gw_proxy_request_t *req;
    const gw_keyring_account_t *account; /* whose stored access policies apply */
    /* the request's decision, which gets the client address and a copy-source refusal (NULL when verifying a copy source) */
    gw_proxy_decision_t *d;
    const char *copy_source; /* x-ms-copy-source as received (trimmed) */
    size_t copy_source_len;
    int source_refused; /* 1: the copy source was refused and *d says how */
};

/* Step 5's lookup: the account's stored access policy si on the resource's container (none without a container). */
static int on_lookup_policy(void *data, const sas_resource_t *res, const char *si, size_t si_len, sas_policy_t *out)
{
    const struct verify_data *v = data;
    if (res->container.base == NULL)
        return -1;
    return gw_keyring_find_policy(v->account, res->container.base, res->container.len, si, si_len, out);
}

/* Step 6's client address (trusted proxies and X-Forwarded-For as configured), recorded in the decision when there is one. */
static int on_client_addr(void *data, sas_ip_t *out)
{
    struct verify_data *v = data;
    int found = gw_client_addr(v->env->conf, v->req->peer, v->req->xff, v->req->xff_len, out) == 0;
    if (v->d != NULL) {
        v->d->have_client_ip = found;
        if (found)
            v->d->client_ip = *out;
    }
    return found ? 0 : -1;
}

/*
 * The copy source, between steps 6 and 7 of the request's own verification:
 * gw_proxy_check_copy_source() refuses into the decision, whose status and
 * code then stand (source_refused), not the signer's mapping of the reason.
 */
static sas_reason_t on_check_source(void *data, sas_error_t *err)
{
    struct verify_data *v = data;
    if (gw_proxy_check_copy_source(v->env, v->req, v->copy_source, v->copy_source_len, v->d) == 0)
        return SAS_OK;
    v->source_refused = 1;
    if (err != NULL && err != &v->d->err)
        *err = v->d->err;
    return v->d->err.reason != SAS_OK ? v->d->err.reason : SAS_R_OPERATION_NOT_ALLOWED;
}

/*
 * The context every verification of the proxy runs sas_verify() with: the
 * environment's clock and skews, account a's keys and stored access
 * policies, the client address looked up only for a token with sip. The
 * caller sets method, req_flags, is_https and what else it needs; *v must
 * outlive the call to sas_verify().
 */
static void init_verify(sas_verify_ctx_t *ctx, struct verify_data *v, const gw_proxy_env_t *env, const gw_proxy_request_t *req,
                        const gw_keyring_account_t *a, gw_proxy_decision_t *d)
{
    const gw_config_t *conf = env->conf;
    memset(v, 0, sizeof(*v));
    v->env = env;
    v->req = req;
    v->account = a;
    v->d = d;
    sas_verify_ctx_init(ctx);
    ctx->now = env->now;
    ctx->start_skew = (sas_time_t)(conf != NULL ? conf->proxy.start_skew : GW_CONFIG_DEFAULT_START_SKEW) * SAS_TIME_SECOND;
    ctx->expiry_skew = (sas_time_t)(conf != NULL ? conf->proxy.expiry_skew : GW_CONFIG_DEFAULT_EXPIRY_SKEW) * SAS_TIME_SECOND;
    ctx->keys = a->key_ptrs;
    ctx->nkeys = a->nkeys;
    ctx->lookup_policy = on_lookup_policy;
    ctx->client_addr = on_client_addr;
    ctx->data = v;
}

/* ---- copy sources ---- */

static void refuse_source(gw_proxy_decision_t *d, sas_reason_t reason, const char *what)
{
    refuse(d, 403, "CannotVerifyCopySource", reason, "");
    snprintf(d->err.message, sizeof(d->err.message), "copy source: %.240s", what);
}

/*
 * One reading of a copy source: path (raw, "/{account}/...") and query (raw,
 * without '?') against account a. Returns 0 when its SAS grants a read of
 * exactly that blob, or -1 with *d refused.
 */
static int verify_source(const gw_proxy_env_t *env, const gw_proxy_request_t *req, const gw_keyring_account_t *a, const char *path,
                         size_t path_len, const char *query, size_t query_len, int is_https, gw_proxy_decision_t *d)
{
    sas_token_t tok;
    sas_resource_t res;
    sas_grant_t grant;
    sas_error_t err;
    sas_verify_ctx_t ctx;
    struct verify_data v;
    uint8_t digest[SHA256_DIGEST_LENGTH];

    if (query_len == 0) {
        refuse_source(d, SAS_R_MISSING_PARAM, "the source URL carries no SAS");
        return -1;
    }
    if (sas_token_parse(&tok, query, query_len, &err) != SAS_OK ||
        sas_resource_from_path(&res, path, path_len, &tok, &err) != SAS_OK)
        goto Refused;
    if (res.account.len != a->name_len || memcmp(res.account.base, a->name, a->name_len) != 0) {
        refuse_source(d, SAS_R_BAD_PATH, "the account segment is encoded");
        return -1;
    }
    if (res.blob.base == NULL) {
        refuse_source(d, SAS_R_RESOURCE_MISMATCH, "the source URL does not name a blob");
        return -1;
    }
    if (tok.f[SAS_F_COMP].base != NULL || tok.f[SAS_F_RESTYPE].base != NULL || tok.f[SAS_F_DELETETYPE].base != NULL) {
        refuse_source(d, SAS_R_OPERATION_NOT_ALLOWED, "the source URL selects an operation (comp, restype or deletetype)");
        return -1;
    }
    if (a->nkeys == 0) {
        refuse_source(d, SAS_R_NO_KEY, "the source account has no active key");
        return -1;
    }
    /* steps 2-7 as a Get Blob of exactly that resource, over the URL's own scheme */
    init_verify(&ctx, &v, env, req, a, NULL);
    ctx.method = SAS_METHOD_GET;
    ctx.is_https = is_https;
    if (sas_verify(&ctx, &tok, &res, &grant, &err) != SAS_OK)
        goto Refused;
    if ((grant.perms & SAS_PERM('r')) == 0) {
        refuse_source(d, SAS_R_PERMISSION_MISMATCH, "permission r not granted");
        return -1;
    }
    sg_sha256(tok.sig, SAS_SIG_LEN, digest);
    if (env->revset != NULL && gw_revset_contains(env->revset, env->revset_reader, digest)) {
        char id[SAS_TOKEN_ID_LEN + 1], msg[64];
        sg_b64url_encode(digest, GW_REVSET_ID_LEN, id);
        id[SAS_TOKEN_ID_LEN] = '\0';
        snprintf(msg, sizeof(msg), "token %s has been revoked", id);
        refuse_source(d, SAS_R_REVOKED, msg);
        return -1;
    }
    return 0;
Refused:
    refuse_source(d, err.reason, err.message);
    return -1;
}

/* The served account whose name is s (len bytes, any case), or NULL. */
static const gw_keyring_account_t *served_account(const gw_proxy_env_t *env, const char *s, size_t len)
{
    char lower[64];
    if (len == 0 || len >= sizeof(lower))
        return NULL;
    for (size_t i = 0; i != len; i++)
        lower[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    return gw_keyring_find(env->keyring, lower, len);
}

/* 1 when authority (len bytes) is the host[:port] of a served account's backend (any case). */
static int is_backend_authority(const gw_proxy_env_t *env, const char *authority, size_t len)
{
    for (size_t i = 0; i != gw_keyring_num_accounts(env->keyring); i++) {
        const gw_backend_t *b = gw_keyring_account_at(env->keyring, i)->upstream;
        if (b != NULL && strlen(b->authority) == len && strncasecmp(b->authority, authority, len) == 0)
            return 1;
    }
    return 0;
}

/*
 * 1 when a path (raw) reads the same to any server: no empty, "." or ".."
 * segment, no '\', no percent-encoded '.', '/' or '\', no '%' in its first
 * segment. An external copy source must pass this, or a backend that
 * normalizes could read it as a served account's blob.
 */
static int is_plain_path(const char *p, size_t len)
{
    const char *first_end = memchr(p + 1, '/', len - 1);
    if (memchr(p + 1, '%', (size_t)((first_end != NULL ? first_end : p + len) - p - 1)) != NULL || memchr(p, '\\', len) != NULL)
        return 0;
    for (size_t i = 0; i != len; i++) {
        if (p[i] == '%' && i + 2 < len &&
            (strncasecmp(p + i, "%2e", 3) == 0 || strncasecmp(p + i, "%2f", 3) == 0 || strncasecmp(p + i, "%5c", 3) == 0))
            return 0;
        if (p[i] != '/')
            continue;
        const char *seg = p + i + 1, *end = memchr(seg, '/', len - i - 1);
        size_t sl = (size_t)((end != NULL ? end : p + len) - seg);
        if ((sl == 0 && end != NULL) || (sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
    }
    return 1;
}

int gw_proxy_check_copy_source(const gw_proxy_env_t *env, const gw_proxy_request_t *req, const char *url, size_t len,
                               gw_proxy_decision_t *d)
{
    int is_https;
    const char *p, *end = url + len;
    char buf[SAS_MAX_PATH + 72];

    if (env->revocation_stale) {
        refuse(d, 503, "ServerBusy", SAS_R_REVOKED, "the revocation list is stale (Redis unreachable beyond max_staleness)");
        return -1;
    }
    /* an absolute http(s) URL of URI characters, without userinfo or fragment */
    if (len > 7 && strncasecmp(url, "http://", 7) == 0)
        is_https = 0, p = url + 7;
    else if (len > 8 && strncasecmp(url, "https://", 8) == 0)
        is_https = 1, p = url + 8;
    else {
        refuse_source(d, SAS_R_BAD_PATH, "x-ms-copy-source is not an absolute http or https URL");
        return -1;
    }
    const char *auth = p;
    while (p != end && *p != '/' && *p != '?' && *p != '#')
        p++;
    const char *auth_end = p;
    if (auth == auth_end || memchr(auth, '@', (size_t)(auth_end - auth)) != NULL || p == end || *p != '/') {
        refuse_source(d, SAS_R_BAD_PATH, "the source URL has no host, has user information, or no path");
        return -1;
    }
    for (const char *c = auth; c != auth_end; c++)
        if (!is_target_byte((unsigned char)*c) && *c != '[' && *c != ']') {
            refuse_source(d, SAS_R_BAD_PATH, "the source URL's host holds a byte that is not a URI character");
            return -1;
        }
    sas_error_t err;
    if (check_target_bytes(p, (size_t)(end - p), &err) != 0) {
        refuse_source(d, err.reason, err.message);
        return -1;
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    size_t path_len = (size_t)((q != NULL ? q : end) - p);
    const char *query = q != NULL ? q + 1 : "";
    size_t query_len = q != NULL ? (size_t)(end - q - 1) : 0;

    /* host style: the first label of a host name ({account}.blob.core.windows.net, ...) */
    int served = 0;
    const char *host = auth, *host_end = auth_end;
    if (*host != '[') {
        const char *colon = memchr(host, ':', (size_t)(host_end - host));
        if (colon != NULL)
            host_end = colon;
        const char *dot = memchr(host, '.', (size_t)(host_end - host));
        const gw_keyring_account_t *a = dot != NULL ? served_account(env, host, (size_t)(dot - host)) : NULL;
        if (a != NULL) {
            served = 1;
            if (path_len + a->name_len + 1 > sizeof(buf)) {
                refuse_source(d, SAS_R_BAD_PATH, "the source path is too long");
                return -1;
            }
            buf[0] = '/';
            memcpy(buf + 1, a->name, a->name_len);
            memcpy(buf + 1 + a->name_len, p, path_len);
            if (verify_source(env, req, a, buf, 1 + a->name_len + path_len, query, query_len, is_https, d) != 0)
                return -1;
        }
    }
    /* path style: /{account}/{container}/{blob} (Azurite, emulators) */
    const char *seg = p + 1, *seg_end = memchr(seg, '/', path_len - 1);
    const gw_keyring_account_t *a = served_account(env, seg, (size_t)((seg_end != NULL ? seg_end : p + path_len) - seg));
    if (a != NULL) {
        served = 1;
        if (verify_source(env, req, a, p, path_len, query, query_len, is_https, d) != 0)
            return -1;
    }
    if (served)
        return 0;
    if (env->conf == NULL || !env->conf->proxy.allow_external_copy_sources) {
        refuse_source(d, SAS_R_RESOURCE_MISMATCH,
                      "the source lies outside every account this proxy serves (proxy.allow_external_copy_sources is off)");
        return -1;
    }
    /* external only when no server could read it as one of ours */
    if (is_backend_authority(env, auth, (size_t)(auth_end - auth)) || !is_plain_path(p, path_len)) {
        refuse_source(d, SAS_R_BAD_PATH,
                      "the source names a served backend, or its path is not plain (dot or empty segments, encodings)");
        return -1;
    }
    return 0;
}

int gw_proxy_check_op_rules(const sas_operation_t *op, sas_perm_t perms, unsigned req_flags, const gw_proxy_request_t *req,
                            gw_proxy_decision_t *d)
{
    d->create_only = 0;
    d->add_if_none_match = 0;
    if ((req_flags & SAS_REQ_COPY_SOURCE) && (op == NULL || (op->flags & SAS_OP_NAMES_SOURCE) == 0)) {
        refuse(d, 403, "CannotVerifyCopySource", SAS_R_OPERATION_NOT_ALLOWED, "");
        snprintf(d->err.message, sizeof(d->err.message), "x-ms-copy-source on %s, which reads no source",
                 op != NULL ? op->name : "this operation");
        return -1;
    }
    if (op == NULL || (op->flags & SAS_OP_CREATES) == 0 || (perms & SAS_PERM('c')) == 0 || (perms & SAS_PERM('w')) != 0)
        return 0;
    /* c without w: create only */
    int star = 0;
    for (size_t i = 0; i != req->num_headers; i++) {
        const gw_proxy_header_t *h = req->headers + i;
        const char *v = h->value;
        size_t vlen = h->value_len;
        trim(&v, &vlen);
        int inm = name_is(h->name, h->name_len, "if-none-match");
        if (inm && vlen == 1 && v[0] == '*') {
            star = 1;
        } else if (inm || name_is(h->name, h->name_len, "if-match")) {
            refuse(d, 403, "AuthorizationPermissionMismatch", SAS_R_PERMISSION_MISMATCH,
                   "permission c creates only: If-Match, or If-None-Match other than *, needs w");
            return -1;
        }
    }
    d->create_only = 1;
    d->add_if_none_match = !star;
    return 0;
}

/* ---- origin mode ---- */

/* The operation-selecting parameters: forwarded in origin mode whatever the operation. */
static int is_selecting_name(const char *name, size_t len)
{
    for (int f = SAS_F__SAS_COUNT; f != SAS_F__COUNT; f++)
        if (name_is(name, len, sas_field_name((sas_field_t)f)) && memcmp(name, sas_field_name((sas_field_t)f), len) == 0)
            return 1;
    return 0;
}

/* origin mode keeps a parameter whose exact name selects the operation, or one the operation (data, may be NULL) defines */
static int keep_for_origin(const char *name, size_t len, const void *data)
{
    const sas_operation_t *op = data;
    return len != 0 && (is_selecting_name(name, len) || (op != NULL && sas_operation_defines(op, name, len)));
}

/* Origin mode: the signed response headers of tok, copied into d. */
static void set_overrides(gw_proxy_decision_t *d, const sas_token_t *tok)
{
    static const char *const names[] = {"cache-control", "content-disposition", "content-encoding", "content-language",
                                        "content-type"};
    size_t used = 0;
    d->num_overrides = 0;
    for (int i = 0; i != 5; i++) {
        const sas_str_t *v = &tok->f[SAS_F_RSCC + i];
        if (v->base == NULL || used + v->len + 1 > sizeof(d->override_buf))
            continue;
        memcpy(d->override_buf + used, v->base, v->len);
        d->override_buf[used + v->len] = '\0';
        d->overrides[d->num_overrides].name = names[i];
        d->overrides[d->num_overrides].value = d->override_buf + used;
        d->overrides[d->num_overrides].value_len = v->len;
        d->num_overrides++;
        used += v->len + 1;
    }
}

/* ---- resign mode ---- */

/*
 * Resign mode: the copy source (url, len bytes, already verified by
 * gw_proxy_check_copy_source) re-authorized for the backend when it names a
 * blob of a resign account: its URL on that account's backend and upstream
 * account, with the raw container and blob path and the snapshot or versionid
 * as sent, and a fresh service SAS (sr=b/bs/bv, sp=r, se = now + 1 h) signed
 * with the account's first storage key. A source of any other account (its
 * token verifies at its own backend) or an external one is left as it is.
 * Returns 0 (d->copy_source set or left NULL), or -1 with *d refused.
 */
static int resign_copy_source(const gw_proxy_env_t *env, const char *url, size_t len, gw_proxy_decision_t *d)
{
    const char *p = url, *end = url + len;
    if (len > 8 && strncasecmp(url, "https://", 8) == 0)
        p += 8;
    else if (len > 7 && strncasecmp(url, "http://", 7) == 0)
        p += 7;
    else
        return 0;
    const char *auth = p;
    while (p != end && *p != '/')
        p++;
    const char *q = memchr(p, '?', (size_t)(end - p));
    size_t path_len = (size_t)((q != NULL ? q : end) - p);
    const char *query = q != NULL ? q + 1 : "";
    size_t query_len = q != NULL ? (size_t)(end - q - 1) : 0;
    if (path_len < 2)
        return 0;

    /* the served account it names: the path's first segment, else the host's first label (as the check read it) */
    const gw_keyring_account_t *a = NULL;
    const char *rest = NULL; /* the raw path after the account: "/{container}/{blob}" */
    const char *seg = p + 1, *seg_end = memchr(seg, '/', path_len - 1);
    if (seg_end != NULL && (a = served_account(env, seg, (size_t)(seg_end - seg))) != NULL)
        rest = seg_end;
    const char *dot = memchr(auth, '.', (size_t)(p - auth));
    const gw_keyring_account_t *host_a = dot != NULL && *auth != '[' ? served_account(env, auth, (size_t)(dot - auth)) : NULL;
    if (host_a != NULL && host_a->mode == GW_ACCOUNT_RESIGN) {
        if (a != NULL && a != host_a) {
            refuse_source(d, SAS_R_RESOURCE_MISMATCH, "the source URL names two accounts of this proxy");
            return -1;
        }
        if (a == NULL)
            a = host_a, rest = p;
    }
    if (a == NULL || a->mode != GW_ACCOUNT_RESIGN)
        return 0;
    if (a->nupstream_keys == 0 || a->upstream == NULL) {
        refuse_source(d, SAS_R_NO_KEY, "the source account has no storage key or backend to authorize the copy upstream");
        return -1;
    }

    /* container and blob, decoded for the signature; snapshot or versionid as sent */
    char path[SAS_MAX_PATH + 72];
    size_t rest_len = (size_t)(p + path_len - rest);
    if (1 + a->name_len + rest_len > sizeof(path)) {
        refuse_source(d, SAS_R_BAD_PATH, "the source path is too long");
        return -1;
    }
    path[0] = '/';
    memcpy(path + 1, a->name, a->name_len);
    memcpy(path + 1 + a->name_len, rest, rest_len);
    sas_token_t tok;
    sas_resource_t res;
    sas_error_t err;
    if (sas_token_parse(&tok, query, query_len, &err) != SAS_OK ||
        sas_resource_from_path(&res, path, 1 + a->name_len + rest_len, &tok, &err) != SAS_OK || res.blob.base == NULL) {
        refuse_source(d, SAS_R_BAD_PATH, "the source cannot be re-authorized for the backend");
        return -1;
    }
    const char *extra = NULL; /* "snapshot=..." or "versionid=..." as sent */
    size_t extra_len = 0;
    sg_query_iter_t it;
    const char *name, *value;
    size_t name_len, value_len;
    sg_query_init(&it, query, query_len);
    while (sg_query_next(&it, &name, &name_len, &value, &value_len))
        if (name_is(name, name_len, "snapshot") || name_is(name, name_len, "versionid"))
            extra = name, extra_len = (size_t)(value + value_len - name);

    /* NUL-terminated copies for the mint */
    char upstream[SAS_SK_ACCOUNT_MAX + 1], container[64], expiry[32], blob[SAS_MAX_PATH + 1], snapshot[128], version_id[128];
    if (a->upstream_account_len >= sizeof(upstream) || res.container.len >= sizeof(container) || res.blob.len >= sizeof(blob) ||
        res.snapshot.len >= sizeof(snapshot) || res.version_id.len >= sizeof(version_id)) {
        refuse_source(d, SAS_R_BAD_PATH, "the source names a resource too long to re-authorize");
        return -1;
    }
    memcpy(upstream, a->upstream_account, a->upstream_account_len + 1);
    memcpy(container, res.container.base, res.container.len);
    container[res.container.len] = '\0';
    memcpy(blob, res.blob.base, res.blob.len);
    blob[res.blob.len] = '\0';
    memcpy(snapshot, res.snapshot.base != NULL ? res.snapshot.base : "", res.snapshot.len);
    snapshot[res.snapshot.len] = '\0';
    memcpy(version_id, res.version_id.base != NULL ? res.version_id.base : "", res.version_id.len);
    version_id[res.version_id.len] = '\0';
    time_t se = (time_t)(env->now / SAS_TIME_SECOND) + 3600;
    struct tm tm;
    gmtime_r(&se, &tm);
    strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%SZ", &tm);
    sas_mint_t m = {.account = upstream,
                    .container = container,
                    .blob = blob,
                    .snapshot = snapshot,
                    .version_id = version_id,
                    .permissions = "r",
                    .expiry = expiry};
    char sas[1024];
    if (sas_mint(&m, &a->upstream_keys[0].key, sas, sizeof(sas), NULL, 0, NULL, &err) != SAS_OK) {
        refuse_source(d, err.reason, "the source cannot be re-authorized for the backend");
        return -1;
    }

    /* {scheme}://{authority}{path}[/{upstream}]{rest}?[extra&]{sas} */
    const gw_backend_t *b = a->upstream;
    int n = snprintf(d->copy_source_buf, sizeof(d->copy_source_buf), "%s://%s%s%s%s%.*s?%.*s%s%s", b->tls ? "https" : "http",
                     b->authority, b->path, gw_resign_host_style(a) ? "" : "/", gw_resign_host_style(a) ? "" : upstream,
                     (int)rest_len, rest, (int)extra_len, extra != NULL ? extra : "", extra != NULL ? "&" : "", sas);
    if (n < 0 || (size_t)n >= sizeof(d->copy_source_buf)) {
        refuse_source(d, SAS_R_BAD_PATH, "the re-authorized source URL is too long");
        return -1;
    }
    d->copy_source = d->copy_source_buf;
    d->copy_source_len = (size_t)n;
    return 0;
}

/*
 * Resign mode: the path on the upstream account into buf (cap bytes): the
 * request path (path_len bytes, "/{account}[/...]") with its account segment
 * replaced by "/{upstream_account}" (path style) or removed (host style; an
 * account-level request goes to "/"). Returns the length, or 0 when it does
 * not fit.
 */
static size_t resign_path(const gw_keyring_account_t *a, const char *path, size_t path_len, char *buf, size_t cap)
{
    const char *rest = path + 1 + a->name_len;
    size_t rest_len = path_len - 1 - a->name_len, n = 0;
    int host = gw_resign_host_style(a);
    if ((host ? 1 : 1 + a->upstream_account_len) + rest_len + 1 > cap)
        return 0;
    if (!host) {
        buf[n++] = '/';
        memcpy(buf + n, a->upstream_account, a->upstream_account_len);
        n += a->upstream_account_len;
    }
    memcpy(buf + n, rest, rest_len);
    n += rest_len;
    if (n == 0)
        buf[n++] = '/';
    return n;
}

gw_proxy_verdict_t gw_proxy_decide(const gw_proxy_env_t *env, const gw_proxy_request_t *req, gw_proxy_decision_t *d, char *buf,
                                   size_t cap)
{
    sas_token_t tok;
    sas_resource_t res;
    sas_grant_t grant;
    sas_error_t *err = &d->err;
    sas_verify_ctx_t ctx;
    struct verify_data v;

    d->verdict = GW_PROXY_REFUSE;
    d->status = 403;
    d->code = NULL;
    d->err.reason = SAS_OK;
    d->err.message[0] = '\0';
    d->account = NULL;
    d->token_id[0] = '\0';
    d->have_client_ip = 0;
    d->forward_path = req->path;
    d->forward_path_len = req->path_len;
    d->sts[0] = '\0';
    d->sts_len = 0;
    d->create_only = 0;
    d->add_if_none_match = 0;
    d->num_overrides = 0;
    d->copy_source = NULL;
    d->copy_source_len = 0;

    /* the target is forwarded byte for byte: only URI characters, no fragment */
    if (check_target_bytes(req->path, req->path_len, err) != 0) {
        refuse_signer(d, err);
        return d->verdict;
    }

    /* split the request target */
    const char *q = memchr(req->path, '?', req->path_len);
    size_t path_len = q != NULL ? (size_t)(q - req->path) : req->path_len;
    const char *query = q != NULL ? q + 1 : "";
    size_t query_len = q != NULL ? req->path_len - path_len - 1 : 0;

    /* the account: first segment, as sent (account names need no encoding) */
    if (path_len < 2 || req->path[0] != '/') {
        refuse(d, 400, "InvalidUri", SAS_R_BAD_PATH, "the path does not name an account");
        return d->verdict;
    }
    const char *seg = req->path + 1, *seg_end = memchr(seg, '/', path_len - 1);
    size_t seg_len = seg_end != NULL ? (size_t)(seg_end - seg) : path_len - 1;
    d->account = gw_keyring_find(env->keyring, seg, seg_len);
    if (d->account == NULL) {
        refuse(d, 404, "ResourceNotFound", SAS_R_RESOURCE_MISMATCH, "no such storage account on this proxy");
        return d->verdict;
    }

    /* headers that change the operation or name a second resource */
    struct header_facts hf;
    if (read_headers(req, &hf, d) != 0)
        return d->verdict;

    /* a stale revocation list refuses everything (fail closed) */
    if (env->revocation_stale) {
        refuse(d, 503, "ServerBusy", SAS_R_REVOKED, "the revocation list is stale (Redis unreachable beyond max_staleness)");
        return d->verdict;
    }

    /* 1. parse, and split the path */
    if (sas_token_parse(&tok, query, query_len, err) != SAS_OK ||
        sas_resource_from_path(&res, req->path, path_len, &tok, err) != SAS_OK) {
        refuse_signer(d, err);
        return d->verdict;
    }
    if (res.account.len != d->account->name_len || memcmp(res.account.base, d->account->name, res.account.len) != 0) {
        refuse(d, 400, "InvalidUri", SAS_R_BAD_PATH, "the account segment is encoded");
        return d->verdict;
    }
    /* the token id, for refusals and revocation */
    uint8_t digest[SHA256_DIGEST_LENGTH];
    sg_sha256(tok.sig, SAS_SIG_LEN, digest);
    sg_b64url_encode(digest, GW_REVSET_ID_LEN, d->token_id);
    d->token_id[SAS_TOKEN_ID_LEN] = '\0';

    /* 2-7: resource, times, signature with every active key version, stored access policy, protocol and client address, copy
     * source, operation */
    init_verify(&ctx, &v, env, req, d->account, d);
    ctx.method = sas_method_parse(req->method, req->method_len);
    ctx.req_flags = hf.req_flags;
    ctx.is_https = req->is_https;
    ctx.check_source = on_check_source;
    v.copy_source = hf.copy_source;
    v.copy_source_len = hf.copy_source_len;
    if (env->conf != NULL && env->conf->proxy.debug) {
        ctx.sts = d->sts;
        ctx.sts_cap = sizeof(d->sts);
    }
    if (sas_verify(&ctx, &tok, &res, &grant, err) != SAS_OK) {
        if (v.source_refused)
            return d->verdict;
        if (err->reason == SAS_R_NO_KEY) {
            refuse(d, 403, "AuthenticationFailed", SAS_R_NO_KEY, "the account has no active key");
            return d->verdict;
        }
        d->sts_len = strlen(d->sts);
        refuse_signer(d, err);
        return d->verdict;
    }
    /* 8. revocation */
    if (env->revset != NULL && gw_revset_contains(env->revset, env->revset_reader, digest)) {
        refuse(d, 403, "AuthenticationFailed", SAS_R_REVOKED, "");
        snprintf(d->err.message, sizeof(d->err.message), "token %s has been revoked", d->token_id);
        return d->verdict;
    }
    /* what the backend's checks would not hold: a source read by an operation without one, create-only */
    if (gw_proxy_check_op_rules(grant.op, grant.perms, hf.req_flags, req, d) != 0)
        return d->verdict;

    /*
     * forward: origin and resign modes keep only the operation's parameters and apply the signed response headers;
     * resign also moves the path to the upstream account and re-authorizes a copy source
     */
    int resign = d->account->mode == GW_ACCOUNT_RESIGN;
    if (d->account->mode == GW_ACCOUNT_ORIGIN || resign) {
        /* a batch's sub-requests travel in its body, and an origin checks none of them */
        if (grant.op->flags & SAS_OP_BATCH) {
            refuse(d, 403, "AuthorizationPermissionMismatch", SAS_R_OPERATION_NOT_ALLOWED,
                   resign ? "Blob Batch is not forwarded in resign mode: its sub-requests would not be verified"
                          : "Blob Batch is not forwarded to an origin: its sub-requests would reach it unchecked");
            return d->verdict;
        }
        if (resign && d->account->nupstream_keys == 0) {
            refuse(d, 403, "AuthenticationFailed", SAS_R_NO_KEY, "the account has no active storage key to authorize the request upstream");
            return d->verdict;
        }
        if (resign && hf.copy_source != NULL && resign_copy_source(env, hf.copy_source, hf.copy_source_len, d) != 0)
            return d->verdict;
        if (cap < path_len + 1) {
            refuse(d, 400, "InvalidUri", SAS_R_QUERY_TOO_LONG, "request target too long");
            return d->verdict;
        }
        size_t n = path_len;
        if (resign)
            n = resign_path(d->account, req->path, path_len, buf, cap);
        else
            memcpy(buf, req->path, path_len);
        if (n == 0) {
            refuse(d, 400, "InvalidUri", SAS_R_QUERY_TOO_LONG, "request target too long");
            return d->verdict;
        }
        if (query_len != 0) {
            /* only what selects the operation or the operation defines: nothing the origin might read otherwise */
            size_t kept = filter_query(query, query_len, keep_for_origin, grant.op, buf + n + 1, cap - n - 1);
            if (kept != 0) {
                buf[n] = '?';
                n += 1 + kept;
            }
        }
        d->forward_path = buf;
        d->forward_path_len = n;
        set_overrides(d, &tok);
    }
    d->verdict = GW_PROXY_FORWARD;
    d->status = 0;
    return d->verdict;
}
