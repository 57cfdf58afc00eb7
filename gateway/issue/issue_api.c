/*
 * issue_api.c - POST /v1/sas and POST /v1/sas/account (see issue_api.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sasgw/common.h"
#include "sasgw/core/http.h"
#include "sasgw/issue.h"
#include "sasgw/core/keyring.h"
#include "sasgw/core/keyring_live.h"
#include "sasgw/revocation/plan.h"
#include "sas_request.h"
#include "sasgw/signer.h"

/*
 * Each worker trims the index keys it writes on its first mint and then every
 * INDEX_TRIM_EVERY mints, rather than on every one: the trims are what keep
 * the sets bounded, and readers skip expired ids anyway, so trimming every
 * write would only double Redis's work on the mint path.
 */
#define INDEX_TRIM_EVERY 64
/*
 * Unique mints (docs/redis.md): a candidate whose id is taken is signed again
 * with its start moved back by the shift Redis hands out (or, when the caller
 * fixed the start, its expiry moved earlier), at most MINT_MAX_SHIFT seconds
 * and MINT_MAX_CLAIMS claims per mint; beyond, 409 token_conflict.
 */
#define MINT_MAX_SHIFT 86400
#define MINT_MAX_CLAIMS 8

struct issue_api;

struct route {
    struct issue_api *api;
    gw_sas_request_kind_t kind;
};

/* Registered once per server and kept for the life of the process (routes hold pointers into it). */
struct issue_api {
    gw_app_t *app;
    struct route routes[2];
    gw_series_t *mints_ok, *mints_invalid, *mints_denied, *mints_not_found, *mints_error;
    gw_series_t *index_failures;
};

struct mint_job;

/* Lives in req->pool: tells the job when the request is gone. */
struct req_guard {
    struct mint_job *job;
};

/*
 * A mint waiting for its issuance-index claim, then for its audit record to
 * become durable. Heap: it may outlive the request.
 */
struct mint_job {
    struct issue_api *api;
    h2o_req_t *req; /* NULL once the request is gone */
    struct req_guard *guard;
    char *body; /* the 201 body of the current candidate (holds the token: wiped on free) */
    size_t body_len;
    gw_thread_t *thread;
    /* what a candidate is signed from, kept across the hop to Redis */
    json_t *request;         /* the request body (r borrows from it), referenced */
    gw_sas_request_t r;      /* as parsed */
    gw_keyring_t *keyring;   /* retained: sk points into it */
    gw_keyring_signing_t sk; /* the key every candidate is signed with */
    const char *protocol;    /* the decision's (a static string) */
    gw_sas_request_kind_t kind;
    sas_time_t now; /* when the request was read */
    int64_t shift;  /* seconds the current candidate is moved back */
    int claims;     /* claims sent so far */
    int by_source;  /* 1 once Redis answered NOSCRIPT: send the script itself */
    /* for the issuance index */
    char principal[80];
    char account[32];
    char container[72]; /* "" for an account SAS */
    char first_id[SAS_TOKEN_ID_LEN + 1];
    char token_id[SAS_TOKEN_ID_LEN + 1];
    int64_t issued, expiry, first_expiry; /* unix seconds */
    gw_redis_cmds_t cmds;
};

/* ------------------------------------------------------------------ helpers */

/* Appends s percent-encoded (everything but A-Z a-z 0-9 - _ . ~, and '/' when keep_slash) to buf at *o. */
static void append_encoded(char *buf, size_t *o, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~' || (keep_slash && c == '/')) {
            buf[(*o)++] = (char)c;
        } else {
            buf[(*o)++] = '%';
            buf[(*o)++] = hex[c >> 4];
            buf[(*o)++] = hex[c & 15];
        }
    }
}

/* The object named in audit records: account[/container[/blob]]. In req->pool. */
static const char *audit_object(h2o_req_t *req, const gw_sas_request_t *r)
{
    if (r == NULL || r->account == NULL)
        return "";
    size_t n = strlen(r->account) + (r->container ? strlen(r->container) : 0) + (r->blob ? strlen(r->blob) : 0) + 3;
    char *s = h2o_mem_alloc_pool(&req->pool, n);
    snprintf(s, n, "%s%s%s%s%s", r->account, r->container ? "/" : "", r->container ? r->container : "", r->blob ? "/" : "",
             r->blob ? r->blob : "");
    return s;
}

/* Audits a refusal (fire and forget) and sends the error. */
static void refuse(struct issue_api *api, h2o_req_t *req, const char *principal, const gw_sas_request_t *r, int status,
                   const char *code, const char *message, const char *field, const char *rule, gw_series_t *counter)
{
    vault_actor_t actor;
    gw_app_actor(api->app, req, principal, &actor);
    vault_audit_record_t rec = {.principal = principal,
                                .op = "sas.refuse",
                                .object = audit_object(req, r),
                                .result = "refused",
                                .client = actor.client,
                                .request_id = actor.request_id,
                                .reason = message};
    gw_app_audit_submit(api->app, req, &rec, NULL, NULL);
    gw_series_inc(counter, 1);
    if (rule == NULL) {
        gw_http_send_error(req, status, code, message, field);
        return;
    }
    json_t *err = json_pack("{s:s,s:s,s:s}", "code", code, "message", message, "rule", rule);
    if (field != NULL)
        json_object_set_new(err, "field", json_string(field));
    gw_http_send_json(req, status, json_pack("{s:o}", "error", err));
}

/* ------------------------------------------------------------------ completing a mint */

static void on_req_gone(void *p)
{
    struct req_guard *guard = p;
    if (guard->job != NULL)
        guard->job->req = NULL;
}

/* Detaches the job from its request (when still there) and frees it. */
static void free_job(struct mint_job *job)
{
    if (job->req != NULL)
        job->guard->job = NULL;
    sg_free_secret(job->body, job->body_len);
    json_decref(job->request);
    gw_keyring_release(job->keyring);
    gw_redis_cmds_clear(&job->cmds);
    free(job);
}

/* The audit record is durable (ok) or could not be written: answer. On the request's loop. */
static void on_audited(int ok, void *data)
{
    struct mint_job *job = data;
    struct issue_api *api = job->api;
    h2o_req_t *req = job->req;

    if (req != NULL) {
        if (ok) {
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
            gw_http_send(req, 201, "application/json; charset=utf-8", job->body, job->body_len);
        } else {
            gw_http_send_error(req, 500, "audit_failed", "the audit record could not be written; no token was issued", NULL);
        }
    }
    gw_series_inc(ok ? api->mints_ok : api->mints_error, 1);
    free_job(job);
}

/*
 * Signs the job's current candidate: the request moved back by job->shift
 * seconds (its start, or its expiry when the caller fixed the start), and
 * builds the 201 body (token, url at the proxy, token_id, expires_on, key)
 * into job->body. Needs the request (its pool). Returns SAS_OK, or the
 * signer's reason with serr filled.
 */
static sas_reason_t sign_candidate(struct mint_job *job, h2o_req_t *req, sas_error_t *serr)
{
    const gw_config_t *conf = gw_app_config(job->api->app);
    const gw_sas_request_t *r = &job->r;
    sas_time_t start = r->start, expiry = r->expiry, back = (sas_time_t)job->shift * SAS_TIME_SECOND;
    char start_text[SAS_TIME_TEXT_MAX], expiry_text[SAS_TIME_TEXT_MAX];
    if (r->start_given)
        expiry -= back;
    else
        start -= back;
    sas_time_format(start, start_text);
    sas_time_format(expiry, expiry_text);

    sas_mint_t m = {.account = r->account,
                    .permissions = r->permissions,
                    .start = start_text,
                    .expiry = expiry_text,
                    .ip = r->ip,
                    .protocol = job->protocol};
    if (job->kind == GW_SAS_REQUEST_SERVICE) {
        m.container = r->container;
        m.blob = r->blob;
        m.snapshot = r->snapshot;
        m.version_id = r->version_id;
        m.identifier = r->policy;
        m.cache_control = r->response_headers.cache_control;
        m.content_disposition = r->response_headers.content_disposition;
        m.content_encoding = r->response_headers.content_encoding;
        m.content_language = r->response_headers.content_language;
        m.content_type = r->response_headers.content_type;
    } else {
        m.services = r->services;
        m.resource_types = r->resource_types;
    }
    char token[SAS_MAX_QUERY + 1];
    sas_minted_t minted;
    sas_reason_t reason = sas_mint(&m, job->sk.key, token, sizeof(token), NULL, 0, &minted, serr);
    if (reason != SAS_OK)
        return reason;

    /* the URL at the proxy: base/account[/container[/blob]]?token */
    const char *base = conf->proxy.public_base_url != NULL ? conf->proxy.public_base_url : "";
    size_t cap = strlen(base) +
                 3 * (strlen(r->account) + (r->container ? strlen(r->container) : 0) + (r->blob ? strlen(r->blob) : 0)) +
                 minted.query_len + 8;
    char *url = h2o_mem_alloc_pool(&req->pool, cap);
    size_t o = (size_t)sprintf(url, "%s/%s", base, r->account);
    if (r->container != NULL) {
        url[o++] = '/';
        append_encoded(url, &o, r->container, 0);
    }
    if (r->blob != NULL) {
        url[o++] = '/';
        append_encoded(url, &o, r->blob, 1);
    }
    url[o++] = '?';
    memcpy(url + o, token, minted.query_len + 1);

    json_t *res = json_pack("{s:s,s:s,s:s,s:s,s:s}", "token", token, "url", url, "token_id", minted.token_id, "expires_on",
                            expiry_text, "key", job->sk.slot_name);
    sg_free_secret(job->body, job->body_len);
    job->body = json_dumps(res, JSON_COMPACT);
    job->body_len = strlen(job->body);
    json_decref(res);
    sg_wipe(token, minted.query_len);
    sg_wipe(url, o + minted.query_len);
    memcpy(job->token_id, minted.token_id, sizeof(job->token_id));
    job->expiry = (int64_t)(expiry / SAS_TIME_SECOND);
    return SAS_OK;
}

static void send_claim(struct mint_job *job);

/* Refuses the mint with 503 index_unavailable (audited as refused; the token never leaves) and frees the job. */
static void fail_unindexed(struct mint_job *job, const char *why)
{
    struct issue_api *api = job->api;
    gw_series_inc(api->index_failures, 1);
    if (job->req != NULL) {
        char msg[384];
        snprintf(msg, sizeof(msg), "the issuance index could not be written (%s): no token was issued", why);
        refuse(api, job->req, job->principal, &job->r, 503, "index_unavailable", msg, NULL, NULL, api->mints_error);
    } else {
        gw_series_inc(api->mints_error, 1);
    }
    free_job(job);
}

/*
 * The claim's reply: claimed and indexed (audit, then answer), taken (sign
 * the next candidate and claim again, within MINT_MAX_SHIFT and
 * MINT_MAX_CLAIMS), or failed (503). A client gone meanwhile ends the mint:
 * no token leaves, the index entry (if any) names a token nobody holds.
 */
static void on_claim(gw_redis_t *client, redisReply *reply, const char *err, void *data)
{
    struct mint_job *job = data;
    struct issue_api *api = job->api;
    char why[256];
    int64_t shift;

    if (reply == NULL) {
        snprintf(why, sizeof(why), "Redis: %s", err != NULL ? err : "no reply");
        fail_unindexed(job, why);
        return;
    }
    gw_index_claim_t claim = gw_index_claim_result(reply, &shift, why, sizeof(why));
    if (claim == GW_INDEX_NOSCRIPT && !job->by_source) {
        /* a Redis that never saw the script (first mint, or restarted): once more with its source */
        job->by_source = 1;
        send_claim(job);
        return;
    }
    if (claim != GW_INDEX_CLAIMED) {
        fail_unindexed(job, claim == GW_INDEX_NOSCRIPT ? "Redis: NOSCRIPT after EVAL" : why);
        return;
    }
    if (job->req == NULL) {
        gw_series_inc(api->mints_error, 1);
        free_job(job);
        return;
    }
    h2o_req_t *req = job->req;
    if (shift == 0) {
        vault_actor_t actor;
        gw_app_actor(api->app, req, job->principal, &actor);
        vault_audit_record_t rec = {.principal = job->principal,
                                    .op = "sas.issue",
                                    .object = audit_object(req, &job->r),
                                    .result = "ok",
                                    .client = actor.client,
                                    .request_id = actor.request_id,
                                    .token_id = job->token_id};
        gw_app_audit_submit(api->app, req, &rec, on_audited, job);
        return;
    }

    /* taken: the next candidate, moved back by the shift Redis handed out */
    sas_time_t back = (sas_time_t)shift * SAS_TIME_SECOND;
    int fits = job->r.start_given ? job->r.expiry - back > job->now && job->r.expiry - back > job->r.start : 1;
    sas_error_t serr;
    if (shift > MINT_MAX_SHIFT || job->claims >= MINT_MAX_CLAIMS || !fits) {
        refuse(api, req, job->principal, &job->r, 409, "token_conflict",
               "as many identical tokens as can be told apart were minted already; change a field or retry in a second", NULL, NULL,
               api->mints_error);
        free_job(job);
        return;
    }
    job->shift = shift;
    if (sign_candidate(job, req, &serr) != SAS_OK) {
        refuse(api, req, job->principal, &job->r, 400, "invalid_request", serr.message, NULL, NULL, api->mints_invalid);
        free_job(job);
        return;
    }
    send_claim(job);
}

/*
 * Claims the current candidate's id and writes its issuance-index entry
 * (gw_index_plan_claim, one EVAL on the thread's Redis client), trimming
 * the index keys now and then (INDEX_TRIM_EVERY). A client that is not
 * connected, or refuses the command, fails the mint (503).
 */
static void send_claim(struct mint_job *job)
{
    static _Thread_local unsigned mints_on_thread;
    struct issue_api *api = job->api;
    gw_redis_t *redis = gw_app_thread_redis(api->app, job->thread);
    if (redis == NULL || gw_redis_state(redis) != GW_REDIS_CONNECTED) {
        char why[256];
        snprintf(why, sizeof(why), "Redis is not connected%s%s", redis != NULL && gw_redis_last_error(redis)[0] ? ": " : "",
                 redis != NULL ? gw_redis_last_error(redis) : "");
        fail_unindexed(job, why);
        return;
    }
    gw_index_entry_t e = {.token_id = job->token_id,
                          .first_id = job->first_id,
                          .principal = job->principal,
                          .account = job->account,
                          .container = job->container,
                          .issued = job->issued,
                          .expiry = job->expiry,
                          .first_expiry = job->first_expiry,
                          .skew = (int64_t)gw_app_config(api->app)->proxy.expiry_skew,
                          .trim = mints_on_thread++ % INDEX_TRIM_EVERY == 0};
    gw_redis_cmds_clear(&job->cmds);
    gw_index_plan_claim(&e, !job->by_source, &job->cmds);
    job->claims++;
    const gw_redis_cmd_t *c = &job->cmds.v[0];
    if (gw_redis_command_argv(redis, on_claim, job, c->argc, (const char **)(void *)c->argv, c->argvlen) != 0)
        fail_unindexed(job, "Redis refused the command");
}

/* ------------------------------------------------------------------ the handler */

static int on_mint(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    struct route *route = data;
    struct issue_api *api = route->api;
    gw_app_t *app = api->app;
    const gw_config_t *conf = gw_app_config(app);
    gw_sas_request_t r;
    gw_sas_request_error_t perr;
    sas_time_t now = sas_time_now();

    /* who asks */
    const policy_principal_t *principal = gw_app_authenticate(app, req, NULL);
    if (principal == NULL)
        return 0;
    const char *who = policy_principal_name(principal);

    /* what is asked */
    json_t *body = gw_http_read_json(req, conf->issuer.max_body);
    if (body == NULL) {
        gw_series_inc(api->mints_invalid, 1);
        return 0;
    }
    if (gw_sas_request_parse(&r, body, route->kind, now, conf->issuer.clock_skew, &perr) != 0) {
        refuse(api, req, who, NULL, 400, "invalid_request", perr.message, perr.field[0] != '\0' ? perr.field : NULL, NULL,
               api->mints_invalid);
        json_decref(body);
        return 0;
    }

    /* may it */
    char client[INET6_ADDRSTRLEN + 1];
    if (gw_http_client_address(req, conf, NULL, client, sizeof(client)) != 0)
        client[0] = '\0';
    policy_request_t preq = {.kind = route->kind == GW_SAS_REQUEST_SERVICE ? POLICY_SAS_SERVICE : POLICY_SAS_ACCOUNT,
                             .account = r.account,
                             .container = r.container,
                             .blob = r.blob,
                             .permissions = r.permissions,
                             .ttl = r.ttl,
                             .protocol = r.protocol,
                             .client_ip = client[0] != '\0' ? client : NULL,
                             .services = r.services,
                             .resource_types = r.resource_types};
    policy_decision_t dec;
    if (policy_decide(principal, &preq, &dec) != 0) {
        refuse(api, req, who, &r, 403, "PolicyDenied", dec.message, dec.field, dec.rule, api->mints_denied);
        json_decref(body);
        return 0;
    }

    /* the signing key */
    gw_keyring_t *kr = gw_keyring_thread_current(gw_app_keyring(app), gw_thread_of(req));
    gw_keyring_signing_t sk;
    if (gw_keyring_signing_key(kr, r.account, strlen(r.account), &sk) != 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "no storage account %s with an active key in the vault", r.account);
        refuse(api, req, who, &r, 404, "AccountNotFound", msg, "account", NULL, api->mints_not_found);
        json_decref(body);
        return 0;
    }

    /* sign the first candidate; it is answered once its id is claimed in the index and its audit record is durable */
    struct mint_job *job = sg_calloc(1, sizeof(*job));
    job->api = api;
    job->thread = gw_thread_of(req);
    job->request = body; /* the reference taken by gw_http_read_json */
    job->r = r;
    job->keyring = gw_keyring_retain(kr);
    job->sk = sk;
    job->protocol = dec.protocol;
    job->kind = route->kind;
    job->now = now;
    snprintf(job->principal, sizeof(job->principal), "%s", who);
    snprintf(job->account, sizeof(job->account), "%s", r.account);
    snprintf(job->container, sizeof(job->container), "%s", route->kind == GW_SAS_REQUEST_SERVICE ? r.container : "");
    job->issued = (int64_t)(now / SAS_TIME_SECOND);
    sas_error_t serr;
    sas_reason_t reason = sign_candidate(job, req, &serr);
    if (reason != SAS_OK) {
        const char *msg = reason == SAS_R_BUFFER_TOO_SMALL
                              ? "the token would be longer than the proxy accepts; shorten response_headers"
                              : serr.message;
        refuse(api, req, who, &r, 400, "invalid_request", msg, NULL, NULL, api->mints_invalid);
        free_job(job);
        return 0;
    }
    memcpy(job->first_id, job->token_id, sizeof(job->first_id));
    job->first_expiry = job->expiry;
    job->req = req;
    job->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*job->guard), on_req_gone);
    job->guard->job = job;
    send_claim(job);
    return 0;
}

/* ------------------------------------------------------------------ registration */

static const char *const result_label[] = {"result"};

int gw_issue_api_register(gw_server_t *server, gw_app_t *app)
{
    struct issue_api *api = sg_calloc(1, sizeof(*api));
    gw_metrics_t *metrics = gw_server_metrics(server);

    api->app = app;
    gw_metric_t *mints = gw_metrics_counter(metrics, "sasgw_mints_total", "Token mint requests, by result", 1, result_label);
    api->mints_ok = gw_metrics_series(mints, (const char *[]){"ok"});
    api->mints_invalid = gw_metrics_series(mints, (const char *[]){"invalid"});
    api->mints_denied = gw_metrics_series(mints, (const char *[]){"denied"});
    api->mints_not_found = gw_metrics_series(mints, (const char *[]){"not_found"});
    api->mints_error = gw_metrics_series(mints, (const char *[]){"error"});
    api->index_failures = gw_metrics_series(
        gw_metrics_counter(metrics, "sasgw_issuance_index_failures_total", "Issuance index writes to Redis that failed", 0, NULL),
        NULL);

    api->routes[0] = (struct route){api, GW_SAS_REQUEST_SERVICE};
    api->routes[1] = (struct route){api, GW_SAS_REQUEST_ACCOUNT};
    if (gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/sas", on_mint, &api->routes[0]) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/sas/account", on_mint, &api->routes[1]) != 0)
        return -1;
    return 0;
}
