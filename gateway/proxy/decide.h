/*
 * decide.h - the validating reverse proxy's decision (DESIGN §5), without
 * sockets: on the `proxy:` listeners, one path per storage account,
 * `/{account}`; both fronts - relay.c (HTTP/1.1) and h2.c (HTTP/2 on nghttp2),
 * both streaming - decide with gw_proxy_decide(): DESIGN §3's
 * order with the worker's keyring snapshot, then the revocation set, and
 * either refuse with Azure's XML error (azure_error.h) or pass the request on
 * (in origin mode with every SAS parameter stripped from the query). The
 * decision is a pure function of its inputs (no h2o handler, no app) so tests
 * and the fuzzer drive it as it is.
 */
#ifndef SASGW_PROXY_DECIDE_H
#define SASGW_PROXY_DECIDE_H

#include <stddef.h>
#include <sys/socket.h>

#include "sasgw/core/config.h"
#include "sasgw/core/keyring.h"
#include "picohttp.h"
#include "sasgw/revocation/revset.h"
#include "sasgw/signer.h"

/* ---- the decision, without sockets ---- */

/*
 * One request header as received: name and value bytes, any case. The relay
 * passes picohttpparser's array as it is; the HTTP/2 path builds the same
 * shape from the stream's header list.
 */
typedef struct phr_header gw_proxy_header_t;

/* A request as the proxy sees it. */
typedef struct st_gw_proxy_request_t {
    const char *method;
    size_t method_len;
    const char *path; /* raw request target: path and optional "?query" */
    size_t path_len;
    int is_https;                /* came in on a TLS listener */
    const struct sockaddr *peer; /* the socket peer (NULL: unknown) */
    const char *xff;             /* X-Forwarded-For (all headers joined by ", "), NULL when absent */
    size_t xff_len;
    const gw_proxy_header_t *headers; /* every header (NULL when num_headers is 0) */
    size_t num_headers;
} gw_proxy_request_t;

/* What the decision reads besides the request. */
typedef struct st_gw_proxy_env_t {
    const gw_config_t *conf;     /* proxy.start_skew, expiry_skew, trusted_proxies, debug */
    const gw_keyring_t *keyring; /* the worker's snapshot */
    gw_revset_t *revset;         /* NULL: no revocation check */
    int revset_reader;
    int revocation_stale; /* 1: the set is older than max_staleness and fail_open is off */
    sas_time_t now;
} gw_proxy_env_t;

typedef enum en_gw_proxy_verdict_t {
    GW_PROXY_FORWARD = 0, /* pass the request on (see forward_path) */
    GW_PROXY_REFUSE       /* answer status with the Azure error below */
} gw_proxy_verdict_t;

typedef struct st_gw_proxy_decision_t {
    gw_proxy_verdict_t verdict;
    int status;                          /* 403, 404, 400, 503 when refused */
    const char *code;                    /* Azure error code ("AuthenticationFailed", ...) when refused */
    sas_error_t err;                     /* reason and sentence (AuthenticationErrorDetail), never key material */
    const gw_keyring_account_t *account; /* the account addressed, when known */
    char token_id[SAS_TOKEN_ID_LEN + 1]; /* "" until the token parsed */
    int have_client_ip;
    sas_ip_t client_ip;
    /*
     * the path to forward: == the request's path in passthrough mode, stripped of SAS parameters in origin mode; in
     * resign mode stripped too and on the upstream account (/{upstream_account}/... path style, /... host style)
     */
    const char *forward_path;
    size_t forward_path_len;
    /*
     * c without w on an operation that writes a whole blob (SAS_OP_CREATES):
     * the backend must only create, so the request goes upstream with
     * If-None-Match: * (add_if_none_match: the client did not send it itself).
     */
    int create_only;
    int add_if_none_match;
    /*
     * Origin mode: the signed response headers (rscc rscd rsce rscl rsct),
     * which replace the origin's Cache-Control, Content-Disposition,
     * Content-Encoding, Content-Language and Content-Type. name is lower case;
     * value points into override_buf (decoded, NUL-terminated).
     */
    size_t num_overrides;
    struct {
        const char *name;
        const char *value;
        size_t value_len;
    } overrides[5];
    char override_buf[SAS_MAX_QUERY + 8];
    /*
     * Resign mode, a request with x-ms-copy-source naming a blob of a resign
     * account: the header's new value, the source on its backend with a
     * service SAS (sp=r, se = now + 1 h) signed by that account's storage key
     * (points into copy_source_buf); NULL when the header goes as received.
     */
    const char *copy_source;
    size_t copy_source_len;
    char copy_source_buf[SAS_MAX_PATH + 2048];
    /* the string to sign, only when conf->proxy.debug and the signature did not match ("" otherwise) */
    char sts[SAS_MAX_STS];
    size_t sts_len;
} gw_proxy_decision_t;

/*
 * Decides one request. buf (cap bytes, at least the request's path_len + 32)
 * holds the rewritten path in origin and resign modes; forward_path points into buf or into
 * req->path. Allocates nothing. Always fills *d.
 */
gw_proxy_verdict_t gw_proxy_decide(const gw_proxy_env_t *env, const gw_proxy_request_t *req, gw_proxy_decision_t *d, char *buf,
                                   size_t cap);

/*
 * Verifies the resource named by an x-ms-copy-source header (url, len bytes,
 * as received): an absolute http or https URL, path style
 * "/{account}/{container}/{blob}" or host style "{account}.host/{container}/{blob}".
 * When either reading names an account of env->keyring, the URL's own SAS
 * must pass the whole pipeline for that account as a read of exactly that
 * blob, snapshot or version: signature with its keys, times, stored access
 * policy, spr against the URL's scheme, sip against the client (as req sees
 * it), Get Blob's permission r, revocation; every such reading must pass.
 * A URL outside every served account passes only with
 * proxy.allow_external_copy_sources. Returns 0, or -1 with *d set to a 403
 * CannotVerifyCopySource refusal (503 ServerBusy when the revocation list is
 * stale).
 */
int gw_proxy_check_copy_source(const gw_proxy_env_t *env, const gw_proxy_request_t *req, const char *url, size_t len,
                               gw_proxy_decision_t *d);

/*
 * The rules of an operation (op, found for the request with req_flags) that
 * the backend's own checks do not cover, on a decision that passed steps 1-8:
 * a request with x-ms-copy-source (SAS_REQ_COPY_SOURCE) must be an operation
 * that names a source, else 403 CannotVerifyCopySource (the header would make
 * the backend read a resource nobody authorized); an operation that writes a
 * whole blob (SAS_OP_CREATES) allowed by perms holding c but not w is
 * create-only: d->create_only is set, and a client's If-Match, or an
 * If-None-Match other than "*", is refused (403
 * AuthorizationPermissionMismatch: it could overwrite), while its own
 * If-None-Match: * spares adding one (d->add_if_none_match). Returns 0, or -1
 * with *d refused.
 */
int gw_proxy_check_op_rules(const sas_operation_t *op, sas_perm_t perms, unsigned req_flags, const gw_proxy_request_t *req,
                            gw_proxy_decision_t *d);

#endif
