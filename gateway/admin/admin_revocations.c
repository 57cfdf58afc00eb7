/*
 * admin_revocations.c - POST /v1/revocations (capability `revoke`):
 *   {token_id [, expiry]} | {token} | {principal} | {account [, container], issued_before}
 * The selector is expanded through the issuance index and written to Redis
 * as revoke_plan.h describes (ZADD sasgw:revoked + PUBLISH
 * sasgw:revocations in MULTI/EXEC, expired entries trimmed), on the request
 * thread's asynchronous Redis client: the loop never waits. Answers
 * 200 {"revoked": N, "token_ids": [...] (at most GW_REVOKE_RESPONSE_IDS),
 * "truncated": bool}; Redis unreachable or failing: 503 redis_unavailable.
 *
 * Each entry lives until the token's own end plus the proxy's expiry_skew
 * (revoke_plan.h): a {token_id} takes its expiry from the issuance index
 * (sasgw:issued); an end that is unknown keeps the entry until
 *   DELETE /v1/revocations/{token_id}   (capability `revoke`)
 * removes it: ZREM plus a "<id> removed" message, so every proxy drops it from
 * its in-memory set. Answers 200 {"token_id": ID, "removed": true}, or 404
 * not_found when the id was not on the list.
 *
 * Audit: one record (op "revoke", with its token_id) per revoked id, up to
 * GW_REVOKE_AUDIT_IDS, then one summary record; refusals and failures get a
 * record too. The job outlives the request if the client goes away: the
 * revocation still completes and is audited.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin_internal.h"
#include "sasgw/common.h"
#include "sasgw/revocation/plan.h"

#define GW_REVOKE_RESPONSE_IDS 1000
#define GW_REVOKE_AUDIT_IDS 100

struct revoke_job;

/* Lives in req->pool: tells the job when the request is gone. */
struct job_link {
    struct revoke_job *job;
};

struct revoke_job {
    gw_app_t *app;
    h2o_req_t *req; /* NULL once the client went away */
    struct job_link *link;
    gw_redis_t *redis;
    /* copies for the audit records, valid after the request is gone */
    char principal[GW_PRINCIPAL_MAX + 1];
    char client[64], request_id[80];
    char object[200];
    const char *op; /* "revoke" or "revocation.remove" */
    gw_revoke_selector_t sel;
    int64_t now, skew;
    int phase; /* 1 lookup, 2 write; 3 removal */
    int removed;
    gw_redis_cmds_t cmds;
    size_t pending;
    int failed;
    char err[256];
    gw_revoke_targets_t targets;
};

static void run_phase(struct revoke_job *job);

/* The request's pool is being cleared: detach. */
static void on_link_dispose(void *p)
{
    struct job_link *link = p;
    if (link->job != NULL) {
        link->job->req = NULL;
        link->job->link = NULL;
    }
}

/* Writes one audit record of the job. */
static void job_audit(struct revoke_job *job, const char *result, const char *reason, const char *token_id)
{
    char err[256];
    vault_audit_record_t rec = {.principal = job->principal,
                                .op = job->op,
                                .object = job->object,
                                .result = result,
                                .client = job->client[0] ? job->client : NULL,
                                .request_id = job->request_id[0] ? job->request_id : NULL,
                                .token_id = token_id,
                                .reason = reason};
    if (gw_app_audit(job->app, &rec, err, sizeof(err)) != 0)
        fprintf(stderr, "sasgw: admin: cannot write the audit record of a revocation: %s\n", err);
}

/* Finishes the job: audit, answer (when the client is still there), free. */
static void job_finish(struct revoke_job *job)
{
    if (job->failed) {
        job_audit(job, "error", job->err, NULL);
        if (job->req != NULL) {
            char msg[320];
            snprintf(msg, sizeof(msg), "the revocation could not be written to Redis: %s", job->err);
            gw_http_send_error(job->req, 503, "redis_unavailable", msg, NULL);
        }
    } else if (job->phase == 3) {
        job_audit(job, job->removed ? "ok" : "refused", job->removed ? NULL : "not on the revocation list", job->sel.token_id);
        if (job->req != NULL && job->removed) {
            gw_http_send_json(job->req, 200, json_pack("{s:s,s:b}", "token_id", job->sel.token_id, "removed", 1));
        } else if (job->req != NULL) {
            char msg[96];
            snprintf(msg, sizeof(msg), "token_id %s is not on the revocation list", job->sel.token_id);
            gw_http_send_error(job->req, 404, "not_found", msg, "token_id");
        }
    } else {
        size_t n = job->targets.n;
        for (size_t i = 0; i < n && i < GW_REVOKE_AUDIT_IDS; i++)
            job_audit(job, "ok", NULL, job->targets.v[i].token_id);
        char reason[160];
        if (n == 0 || n > GW_REVOKE_AUDIT_IDS) {
            snprintf(reason, sizeof(reason), "%zu token(s) revoked%s", n,
                     n > GW_REVOKE_AUDIT_IDS ? "; only the first ids have their own record" : "");
            job_audit(job, "ok", reason, NULL);
        }
        if (job->req != NULL) {
            json_t *ids = json_array();
            for (size_t i = 0; i < n && i < GW_REVOKE_RESPONSE_IDS; i++)
                json_array_append_new(ids, json_string(job->targets.v[i].token_id));
            gw_http_send_json(
                job->req, 200,
                json_pack("{s:I,s:o,s:b}", "revoked", (json_int_t)n, "token_ids", ids, "truncated", n > GW_REVOKE_RESPONSE_IDS));
        }
    }
    if (job->link != NULL)
        job->link->job = NULL;
    gw_redis_cmds_clear(&job->cmds);
    gw_revoke_targets_clear(&job->targets);
    free(job);
}

/* One reply of the current phase. Replies come in order, so the last one closes the phase. */
static void on_reply(gw_redis_t *client, redisReply *reply, const char *err, void *data)
{
    struct revoke_job *job = data;
    job->pending--;
    if (!job->failed) {
        if (reply == NULL) {
            job->failed = 1;
            snprintf(job->err, sizeof(job->err), "%s", err != NULL ? err : "no reply");
        } else if (job->phase == 1 && job->pending == 0) {
            if (gw_revoke_collect(&job->sel, reply, job->now, job->skew, &job->targets, job->err, sizeof(job->err)) != 0)
                job->failed = 1;
        } else if (job->phase == 3 && job->pending == 0) {
            int rc = gw_revoke_removed(reply, job->err, sizeof(job->err));
            job->failed = rc < 0;
            job->removed = rc == 1;
        } else if (gw_revoke_reply_ok(reply, job->err, sizeof(job->err)) != 0) {
            job->failed = 1;
        }
    }
    if (job->pending != 0)
        return;
    if (job->failed || job->phase != 1) {
        job_finish(job);
        return;
    }
    job->phase = 2;
    run_phase(job);
}

/* Plans and sends the commands of the current phase (the lookup may have none: then straight to writing). */
static void run_phase(struct revoke_job *job)
{
    gw_redis_cmds_clear(&job->cmds);
    if (job->phase == 3)
        gw_revoke_plan_remove(job->sel.token_id, &job->cmds);
    if (job->phase == 1) {
        if (gw_revoke_plan_lookup(&job->sel, job->now, job->skew, &job->cmds) == 0) {
            if (gw_revoke_collect(&job->sel, NULL, job->now, job->skew, &job->targets, job->err, sizeof(job->err)) != 0) {
                job->failed = 1;
                job_finish(job);
                return;
            }
            job->phase = 2;
        }
    }
    if (job->phase == 2)
        gw_revoke_plan_write(&job->targets, job->now, &job->cmds);

    for (size_t i = 0; i < job->cmds.n; i++) {
        if (gw_redis_state(job->redis) != GW_REDIS_CONNECTED ||
            gw_redis_command_argv(job->redis, on_reply, job, job->cmds.v[i].argc, (const char **)(void *)job->cmds.v[i].argv,
                                  job->cmds.v[i].argvlen) != 0) {
            job->failed = 1;
            snprintf(job->err, sizeof(job->err), "Redis is not connected%s%s", gw_redis_last_error(job->redis)[0] ? ": " : "",
                     gw_redis_last_error(job->redis));
            break;
        }
        job->pending++;
    }
    /* Commands sent before a failure still answer; the last answer finishes the job. */
    if (job->pending == 0)
        job_finish(job);
}

/*
 * Starts the job of an admin request on sel at phase (1: revoke, 3: remove
 * from the list), or refuses 503 when the thread's Redis client is not
 * connected. The response is sent by the job.
 */
static void start_job(gw_admin_req_t *r, const gw_revoke_selector_t *sel, int phase)
{
    h2o_req_t *req = r->req;
    gw_redis_t *redis = gw_app_redis(r->app, req);
    if (redis == NULL || gw_redis_state(redis) != GW_REDIS_CONNECTED) {
        char msg[256];
        snprintf(msg, sizeof(msg), "Redis is not reachable%s%s", redis != NULL && gw_redis_last_error(redis)[0] ? ": " : "",
                 redis != NULL ? gw_redis_last_error(redis) : "");
        gw_admin__refuse(r, 503, "redis_unavailable", msg, NULL, "revocations");
        return;
    }

    struct revoke_job *job = sg_calloc(1, sizeof(*job));
    job->app = r->app;
    job->req = req;
    job->redis = redis;
    job->sel = *sel;
    job->now = (int64_t)time(NULL);
    job->skew = (int64_t)gw_app_config(r->app)->proxy.expiry_skew;
    job->phase = phase;
    job->op = phase == 3 ? "revocation.remove" : "revoke";
    snprintf(job->principal, sizeof(job->principal), "%s", r->principal);
    snprintf(job->client, sizeof(job->client), "%s", r->actor.client != NULL ? r->actor.client : "");
    snprintf(job->request_id, sizeof(job->request_id), "%s", r->actor.request_id != NULL ? r->actor.request_id : "");
    gw_revoke_selector_describe(sel, job->object, sizeof(job->object));
    job->link = h2o_mem_alloc_shared(&req->pool, sizeof(*job->link), on_link_dispose);
    job->link->job = job;
    run_phase(job);
}

/* POST /v1/revocations */
static int on_revoke(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "revoke", "revoke") != 0)
        return 0;
    json_t *body = gw_admin__read_json(&r, "revocations");
    if (body == NULL)
        return 0;
    gw_revoke_selector_t sel;
    gw_json_error_t e;
    int rc = gw_admin_parse_revocation(body, &sel, &e);
    if (rc != 0) {
        gw_admin__bad_body(&r, &e, "revocations");
        json_decref(body);
        return 0;
    }
    json_decref(body);

    start_job(&r, &sel, 1);
    return 0;
}

/* DELETE /v1/revocations/{token_id} */
static int on_remove(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "revoke", "revocation.remove") != 0)
        return 0;
    const char *id = gw_admin__param(match, "token_id");
    gw_revoke_selector_t sel = {.by = GW_REVOKE_BY_TOKEN_ID};
    if (!gw_revoke_valid_token_id(id, strlen(id))) {
        gw_admin__refuse(&r, 400, "invalid_request", "a token id is 22 characters of A-Z a-z 0-9 - _", "token_id", "revocations");
        return 0;
    }
    memcpy(sel.token_id, id, SAS_TOKEN_ID_LEN + 1);
    start_job(&r, &sel, 3);
    return 0;
}

int gw_admin__register_revocations(gw_server_t *server, gw_app_t *app)
{
    if (gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/revocations", on_revoke, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "DELETE", "/v1/revocations/{token_id}", on_remove, app) != 0)
        return -1;
    return 0;
}
