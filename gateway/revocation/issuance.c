/*
 * issuance.c - the mint the wings share (see sasgw/revocation/issuance.h):
 * decide, sign, claim the token id in the issuance index, audit, answer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"
#include "sasgw/core/keyring.h"
#include "sasgw/core/keyring_live.h"
#include "sasgw/revocation/issuance.h"
#include "sasgw/revocation/plan.h"

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

struct st_gw_issuance_t {
    gw_app_t *app;
    gw_series_t *mints_ok, *mints_invalid, *mints_denied, *mints_not_found, *mints_error;
    gw_series_t *index_failures;
};

/*
 * A mint waiting for its issuance-index claim, then for its audit record to
 * become durable. Heap: it may outlive its caller (cb NULL once cancelled).
 */
struct st_gw_mint_t {
    gw_issuance_t *iss;
    gw_mint_cb cb; /* NULL once cancelled */
    void *data;
    gw_thread_t *thread;
    /* what a candidate is signed from, kept across the hop to Redis */
    gw_mint_request_t r; /* its strings are copies, in owned[] */
    char *owned[16];
    size_t nowned;
    gw_keyring_t *keyring;   /* retained: sk points into it */
    gw_keyring_signing_t sk; /* the key every candidate is signed with */
    const char *protocol;    /* the decision's (a static string) */
    sas_time_t now;          /* when the request was read */
    int64_t shift;           /* seconds the current candidate is moved back */
    int claims;              /* claims sent so far */
    int by_source;           /* 1 once Redis answered NOSCRIPT: send the script itself */
    /* the current candidate (token and url hold the token: wiped on free) */
    char *token, *url;
    size_t token_len, url_len;
    char expires_on[SAS_TIME_TEXT_MAX];
    /* for the audit record and the issuance index */
    char *client, *request_id, *object;
    char principal[80];
    char account[32];
    char container[72]; /* "" for an account SAS */
    char first_id[SAS_TOKEN_ID_LEN + 1];
    char token_id[SAS_TOKEN_ID_LEN + 1];
    int64_t issued, expiry, first_expiry; /* unix seconds */
    gw_redis_cmds_t cmds;
};

/* ------------------------------------------------------------------ helpers */

static char *dup_or_null(const char *s)
{
    return s != NULL ? sg_strdup(s) : NULL;
}

/* A copy of s (NULL stays NULL) that the job frees. */
static const char *own(gw_mint_t *job, const char *s)
{
    if (s == NULL)
        return NULL;
    return job->owned[job->nowned++] = sg_strdup(s);
}

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

/* The object named in audit records: account[/container[/blob]], malloc'd ("" when r is NULL). */
static char *audit_object(const gw_mint_request_t *r)
{
    if (r == NULL || r->account == NULL)
        return sg_strdup("");
    size_t n = strlen(r->account) + (r->container ? strlen(r->container) : 0) + (r->blob ? strlen(r->blob) : 0) + 3;
    char *s = sg_alloc(n);
    snprintf(s, n, "%s%s%s%s%s", r->account, r->container ? "/" : "", r->container ? r->container : "", r->blob ? "/" : "",
             r->blob ? r->blob : "");
    return s;
}

/* Audits a refusal (fire and forget). */
static void audit_refusal(gw_issuance_t *iss, const char *principal, const char *client, const char *request_id, const char *object,
                          const char *message)
{
    vault_audit_record_t rec = {.principal = principal,
                                .op = "sas.refuse",
                                .object = object,
                                .result = "refused",
                                .client = client != NULL && client[0] != '\0' ? client : NULL,
                                .request_id = request_id,
                                .reason = message};
    gw_app_audit_submit_on(iss->app, NULL, &rec, NULL, NULL);
}

/* Tells the caller (when still there) of a refusal. */
static void answer_refusal(gw_mint_t *job, int status, const char *code, const char *message, const char *field, const char *rule)
{
    if (job->cb == NULL)
        return;
    gw_mint_result_t res = {.status = status, .code = code, .message = message, .field = field, .rule = rule};
    job->cb(&res, job->data);
}

/* Audits a refusal of a running mint, counts it and tells the caller (when still there). */
static void refuse(gw_mint_t *job, int status, const char *code, const char *message, const char *field, const char *rule,
                   gw_series_t *counter)
{
    audit_refusal(job->iss, job->principal, job->client, job->request_id, job->object, message);
    gw_series_inc(counter, 1);
    answer_refusal(job, status, code, message, field, rule);
}

static void free_job(gw_mint_t *job)
{
    for (size_t i = 0; i != job->nowned; i++)
        free(job->owned[i]);
    free(job->client);
    free(job->request_id);
    free(job->object);
    sg_free_secret(job->token, job->token_len);
    sg_free_secret(job->url, job->url_len);
    gw_keyring_release(job->keyring);
    gw_redis_cmds_clear(&job->cmds);
    free(job);
}

/* ------------------------------------------------------------------ completing a mint */

/* The audit record is durable (ok) or could not be written: answer. On the mint's loop. */
static void on_audited(int ok, void *data)
{
    gw_mint_t *job = data;
    gw_issuance_t *iss = job->iss;

    if (job->cb != NULL) {
        if (ok) {
            gw_mint_result_t res = {.status = 201,
                                    .token = job->token,
                                    .url = job->url,
                                    .token_id = job->token_id,
                                    .expires_on = job->expires_on,
                                    .key = job->sk.slot_name};
            job->cb(&res, job->data);
        } else {
            answer_refusal(job, 500, "audit_failed", "the audit record could not be written; no token was issued", NULL, NULL);
        }
    }
    gw_series_inc(ok ? iss->mints_ok : iss->mints_error, 1);
    free_job(job);
}

/*
 * Signs the job's current candidate: the request moved back by job->shift
 * seconds (its start, or its expiry when the caller fixed the start), and
 * keeps its token, url at the proxy, token_id and expires_on in the job.
 * Returns SAS_OK, or the signer's reason with serr filled.
 */
static sas_reason_t sign_candidate(gw_mint_t *job, sas_error_t *serr)
{
    const gw_config_t *conf = gw_app_config(job->iss->app);
    const gw_mint_request_t *r = &job->r;
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
    if (r->kind == GW_MINT_SERVICE) {
        m.container = r->container;
        m.blob = r->blob;
        m.snapshot = r->snapshot;
        m.version_id = r->version_id;
        m.identifier = r->policy;
        m.cache_control = r->cache_control;
        m.content_disposition = r->content_disposition;
        m.content_encoding = r->content_encoding;
        m.content_language = r->content_language;
        m.content_type = r->content_type;
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
    char *url = sg_alloc(cap);
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

    sg_free_secret(job->token, job->token_len);
    sg_free_secret(job->url, job->url_len);
    job->token = sg_strdup(token);
    job->token_len = minted.query_len + 1;
    job->url = url;
    job->url_len = cap;
    sg_wipe(token, minted.query_len);
    memcpy(job->expires_on, expiry_text, sizeof(job->expires_on));
    memcpy(job->token_id, minted.token_id, sizeof(job->token_id));
    job->expiry = (int64_t)(expiry / SAS_TIME_SECOND);
    return SAS_OK;
}

static int send_claim(gw_mint_t *job);

/* Refuses the mint with 503 index_unavailable (audited as refused; the token never leaves) and frees the job. */
static void fail_unindexed(gw_mint_t *job, const char *why)
{
    gw_issuance_t *iss = job->iss;
    gw_series_inc(iss->index_failures, 1);
    if (job->cb != NULL) {
        char msg[384];
        snprintf(msg, sizeof(msg), "the issuance index could not be written (%s): no token was issued", why);
        refuse(job, 503, "index_unavailable", msg, NULL, NULL, iss->mints_error);
    } else {
        gw_series_inc(iss->mints_error, 1);
    }
    free_job(job);
}

/*
 * The claim's reply: claimed and indexed (audit, then answer), taken (sign
 * the next candidate and claim again, within MINT_MAX_SHIFT and
 * MINT_MAX_CLAIMS), or failed (503). A caller gone meanwhile ends the mint:
 * no token leaves, the index entry (if any) names a token nobody holds.
 */
static void on_claim(gw_redis_t *client, redisReply *reply, const char *err, void *data)
{
    gw_mint_t *job = data;
    gw_issuance_t *iss = job->iss;
    char why[256];
    int64_t shift;
    (void)client;

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
    if (job->cb == NULL) {
        gw_series_inc(iss->mints_error, 1);
        free_job(job);
        return;
    }
    if (shift == 0) {
        vault_audit_record_t rec = {.principal = job->principal,
                                    .op = "sas.issue",
                                    .object = job->object,
                                    .result = "ok",
                                    .client = job->client != NULL && job->client[0] != '\0' ? job->client : NULL,
                                    .request_id = job->request_id,
                                    .token_id = job->token_id};
        gw_app_audit_submit_on(iss->app, job->thread, &rec, on_audited, job);
        return;
    }

    /* taken: the next candidate, moved back by the shift Redis handed out */
    sas_time_t back = (sas_time_t)shift * SAS_TIME_SECOND;
    int fits = job->r.start_given ? job->r.expiry - back > job->now && job->r.expiry - back > job->r.start : 1;
    sas_error_t serr;
    if (shift > MINT_MAX_SHIFT || job->claims >= MINT_MAX_CLAIMS || !fits) {
        refuse(job, 409, "token_conflict",
               "as many identical tokens as can be told apart were minted already; change a field or retry in a second", NULL, NULL,
               iss->mints_error);
        free_job(job);
        return;
    }
    job->shift = shift;
    if (sign_candidate(job, &serr) != SAS_OK) {
        refuse(job, 400, "invalid_request", serr.message, NULL, NULL, iss->mints_invalid);
        free_job(job);
        return;
    }
    send_claim(job);
}

/*
 * Claims the current candidate's id and writes its issuance-index entry
 * (gw_index_plan_claim, one EVAL on the thread's Redis client), trimming
 * the index keys now and then (INDEX_TRIM_EVERY). A client that is not
 * connected, or refuses the command, fails the mint (503) and frees the
 * job: returns -1 then, 0 when the claim is on its way.
 */
static int send_claim(gw_mint_t *job)
{
    static _Thread_local unsigned mints_on_thread;
    gw_issuance_t *iss = job->iss;
    gw_redis_t *redis = gw_app_thread_redis(iss->app, job->thread);
    if (redis == NULL || gw_redis_state(redis) != GW_REDIS_CONNECTED) {
        char why[256];
        snprintf(why, sizeof(why), "Redis is not connected%s%s", redis != NULL && gw_redis_last_error(redis)[0] ? ": " : "",
                 redis != NULL ? gw_redis_last_error(redis) : "");
        fail_unindexed(job, why);
        return -1;
    }
    gw_index_entry_t e = {.token_id = job->token_id,
                          .first_id = job->first_id,
                          .principal = job->principal,
                          .account = job->account,
                          .container = job->container,
                          .issued = job->issued,
                          .expiry = job->expiry,
                          .first_expiry = job->first_expiry,
                          .skew = (int64_t)gw_app_config(iss->app)->proxy.expiry_skew,
                          .trim = mints_on_thread++ % INDEX_TRIM_EVERY == 0};
    gw_redis_cmds_clear(&job->cmds);
    gw_index_plan_claim(&e, !job->by_source, &job->cmds);
    job->claims++;
    const gw_redis_cmd_t *c = &job->cmds.v[0];
    if (gw_redis_command_argv(redis, on_claim, job, c->argc, (const char **)(void *)c->argv, c->argvlen) != 0) {
        fail_unindexed(job, "Redis refused the command");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ starting a mint */

/* A job holding copies of r and who's strings; nothing signed yet. */
static gw_mint_t *job_new(gw_issuance_t *iss, const gw_mint_caller_t *who, const gw_mint_request_t *r, sas_time_t now,
                          gw_mint_cb cb, void *data)
{
    gw_mint_t *job = sg_calloc(1, sizeof(*job));
    job->iss = iss;
    job->cb = cb;
    job->data = data;
    job->thread = who->thread;
    job->r = *r;
    job->r.account = own(job, r->account);
    job->r.container = own(job, r->container);
    job->r.blob = own(job, r->blob);
    job->r.snapshot = own(job, r->snapshot);
    job->r.version_id = own(job, r->version_id);
    job->r.policy = own(job, r->policy);
    job->r.ip = own(job, r->ip);
    job->r.protocol = own(job, r->protocol);
    job->r.services = own(job, r->services);
    job->r.resource_types = own(job, r->resource_types);
    job->r.cache_control = own(job, r->cache_control);
    job->r.content_disposition = own(job, r->content_disposition);
    job->r.content_encoding = own(job, r->content_encoding);
    job->r.content_language = own(job, r->content_language);
    job->r.content_type = own(job, r->content_type);
    job->r.permissions = own(job, r->permissions);
    job->client = dup_or_null(who->client);
    job->request_id = dup_or_null(who->request_id);
    job->object = audit_object(r);
    job->now = now;
    snprintf(job->principal, sizeof(job->principal), "%s", policy_principal_name(who->principal));
    snprintf(job->account, sizeof(job->account), "%s", r->account);
    snprintf(job->container, sizeof(job->container), "%s", r->kind == GW_MINT_SERVICE && r->container ? r->container : "");
    job->issued = (int64_t)(now / SAS_TIME_SECOND);
    return job;
}

gw_mint_t *gw_issuance_mint(gw_issuance_t *iss, const gw_mint_caller_t *who, const gw_mint_request_t *r, sas_time_t now,
                            gw_mint_cb cb, void *data)
{
    gw_app_t *app = iss->app;
    gw_mint_t *job = job_new(iss, who, r, now, cb, data);

    /* may it */
    policy_request_t preq = {.kind = r->kind == GW_MINT_SERVICE ? POLICY_SAS_SERVICE : POLICY_SAS_ACCOUNT,
                             .account = r->account,
                             .container = r->container,
                             .blob = r->blob,
                             .permissions = r->permissions,
                             .ttl = r->ttl,
                             .protocol = r->protocol,
                             .client_ip = who->client != NULL && who->client[0] != '\0' ? who->client : NULL,
                             .services = r->services,
                             .resource_types = r->resource_types};
    policy_decision_t dec;
    if (policy_decide(who->principal, &preq, &dec) != 0) {
        refuse(job, 403, "PolicyDenied", dec.message, dec.field, dec.rule, iss->mints_denied);
        free_job(job);
        return NULL;
    }

    /* the signing key */
    gw_keyring_t *kr = gw_keyring_thread_current(gw_app_keyring(app), who->thread);
    if (gw_keyring_signing_key(kr, r->account, strlen(r->account), &job->sk) != 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "no storage account %s with an active key in the vault", r->account);
        refuse(job, 404, "AccountNotFound", msg, "account", NULL, iss->mints_not_found);
        free_job(job);
        return NULL;
    }
    job->keyring = gw_keyring_retain(kr);
    job->protocol = dec.protocol;

    /* sign the first candidate; it is answered once its id is claimed in the index and its audit record is durable */
    sas_error_t serr;
    sas_reason_t reason = sign_candidate(job, &serr);
    if (reason != SAS_OK) {
        const char *msg = reason == SAS_R_BUFFER_TOO_SMALL
                              ? "the token would be longer than the proxy accepts; shorten response_headers"
                              : serr.message;
        refuse(job, 400, "invalid_request", msg, NULL, NULL, iss->mints_invalid);
        free_job(job);
        return NULL;
    }
    memcpy(job->first_id, job->token_id, sizeof(job->first_id));
    job->first_expiry = job->expiry;
    /* a claim that cannot be sent (Redis down) fails the mint at once: the caller was answered then */
    return send_claim(job) == 0 ? job : NULL;
}

void gw_mint_cancel(gw_mint_t *m)
{
    m->cb = NULL;
}

void gw_issuance_refuse_invalid(gw_issuance_t *iss, const gw_mint_caller_t *who, const char *message)
{
    if (message != NULL)
        audit_refusal(iss, policy_principal_name(who->principal), who->client, who->request_id, "", message);
    gw_series_inc(iss->mints_invalid, 1);
}

/* ------------------------------------------------------------------ registration */

static const char *const result_label[] = {"result"};

gw_issuance_t *gw_issuance_create(gw_app_t *app, gw_metrics_t *metrics)
{
    gw_issuance_t *iss = sg_calloc(1, sizeof(*iss));
    iss->app = app;
    gw_metric_t *mints = gw_metrics_counter(metrics, "sasgw_mints_total", "Token mint requests, by result", 1, result_label);
    iss->mints_ok = gw_metrics_series(mints, (const char *[]){"ok"});
    iss->mints_invalid = gw_metrics_series(mints, (const char *[]){"invalid"});
    iss->mints_denied = gw_metrics_series(mints, (const char *[]){"denied"});
    iss->mints_not_found = gw_metrics_series(mints, (const char *[]){"not_found"});
    iss->mints_error = gw_metrics_series(mints, (const char *[]){"error"});
    iss->index_failures = gw_metrics_series(
        gw_metrics_counter(metrics, "sasgw_issuance_index_failures_total", "Issuance index writes to Redis that failed", 0, NULL),
        NULL);
    return iss;
}
