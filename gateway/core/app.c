/*
 * app.c - the application state of `sasgw serve` (see app.h): the vault
 * behind a mutex, the policy in force swapped under a lock, a Redis client
 * per worker thread, request authentication, and the audit thread that
 * group-commits audit records for the hot paths.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sasgw/core/app.h"
#include "auth_limit.h"
#include "sasgw/core/client_addr.h"
#include "sasgw/common.h"
#include "sasgw/core/http.h"
#include "sasgw/core/keyring.h"
#include "sasgw/core/keyring_live.h"
#include "refusal_log.h"

/* Longest Authorization header value looked at: a bearer token at its bound plus the scheme. */
#define AUTHORIZATION_MAX (POLICY_MAX_TOKEN_LEN + 16)

/* What the app keeps per worker thread (the thread module's instance). */
struct app_thread {
    gw_app_t *app;
    gw_thread_t *thread;
    gw_redis_t *redis;
    int connected;                        /* loop thread only */
    h2o_multithread_receiver_t completed; /* audit completions, delivered on this loop */
    int closed;                           /* under app->audit.mu: no more completions */
};

/* One queued audit record: a copy of the record's strings, and whom to tell once written. */
struct audit_item {
    h2o_multithread_message_t super;
    struct audit_item *next;
    struct app_thread *thread; /* NULL: fire and forget */
    gw_app_audit_cb done;
    void *data;
    int ok;
    vault_audit_record_t rec;
    char strings[];
};

struct st_gw_app_t {
    gw_server_t *server;
    const gw_config_t *conf;
    struct {
        pthread_mutex_t mu;
        vault_t *handle;
        _Atomic uint64_t generation;
    } vault;
    struct {
        pthread_mutex_t mu;
        policy_t *current;
    } policy;
    vault_audit_t *audit_log; /* the vault's (vault_audit_of) */
    gw_keyring_live_t *keyring;
    struct {
        pthread_mutex_t mu;
        pthread_cond_t cond;
        struct audit_item *head, **tail;
        int stop, started;
        pthread_t tid;
    } audit;
    size_t thread_slot;
    _Atomic size_t threads_alive; /* workers between the app's thread init and dispose */
    char *redis_password;
    _Atomic size_t redis_connected; /* worker clients connected now */
    struct {
        gw_metric_t *audit_records;  /* sasgw_audit_records_total{result} */
        gw_metric_t *policy_reloads; /* sasgw_policy_reloads_total{result} */
        gw_metric_t *auth_refusals;  /* sasgw_auth_refusals_total{reason} */
    } metrics;
    /* unauthenticated callers: failures per client (issuer.auth_failures), their refusals coalesced for the audit trail */
    gw_auth_limit_t *auth_limit;
    gw_refusal_log_t *refusals;
};

/* ------------------------------------------------------------------ vault */

vault_t *gw_app_vault_lock(gw_app_t *app)
{
    char err[256];
    int reloaded = 0;

    pthread_mutex_lock(&app->vault.mu);
    if (vault_reload_if_changed(app->vault.handle, &reloaded, err, sizeof(err)) != 0)
        fprintf(stderr, "sasgw: vault: cannot re-read the vault, keeping the state in memory: %s\n", err);
    atomic_store_explicit(&app->vault.generation, vault_generation(app->vault.handle), memory_order_release);
    return app->vault.handle;
}

void gw_app_vault_unlock(gw_app_t *app)
{
    /* a write through the handle moves the generation on */
    atomic_store_explicit(&app->vault.generation, vault_generation(app->vault.handle), memory_order_release);
    pthread_mutex_unlock(&app->vault.mu);
}

/* The live keyring's vault accessor (keyring_live.h): the app's vault mutex, data being the app. */
static struct vault *keyring_vault_lock(void *data)
{
    return gw_app_vault_lock(data);
}

static void keyring_vault_unlock(void *data)
{
    gw_app_vault_unlock(data);
}

int gw_app_with_vault(gw_app_t *app, gw_app_vault_fn fn, void *arg)
{
    vault_t *v = gw_app_vault_lock(app);
    int ret = fn(v, arg);
    gw_app_vault_unlock(app);
    return ret;
}

uint64_t gw_app_vault_generation(gw_app_t *app)
{
    return atomic_load_explicit(&app->vault.generation, memory_order_acquire);
}

/* ------------------------------------------------------------------ policy */

policy_t *gw_app_policy(gw_app_t *app)
{
    pthread_mutex_lock(&app->policy.mu);
    policy_t *p = policy_retain(app->policy.current);
    pthread_mutex_unlock(&app->policy.mu);
    return p;
}

int gw_app_reload_policy(gw_app_t *app, char *err, size_t errlen)
{
    char why[1024];
    policy_t *fresh = policy_load(app->conf->policy, why, sizeof(why));

    if (fresh == NULL) {
        fprintf(stderr, "sasgw: policy reload refused, the policy in force stays: %s\n", why);
        gw_metrics_inc(app->metrics.policy_reloads, (const char *[]){"error"}, 1);
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    pthread_mutex_lock(&app->policy.mu);
    policy_t *old = app->policy.current;
    app->policy.current = fresh;
    pthread_mutex_unlock(&app->policy.mu);
    policy_release(old);
    fprintf(stderr, "sasgw: policy reloaded from %s\n", app->conf->policy);
    gw_metrics_inc(app->metrics.policy_reloads, (const char *[]){"ok"}, 1);
    return 0;
}

/* SIGHUP: runs on worker 0's loop. */
static void on_reload(gw_server_t *server, void *data)
{
    char err[1024];
    gw_app_t *app = data;
    int ok = gw_app_reload_policy(app, err, sizeof(err)) == 0;
    vault_audit_record_t rec = {.principal = "signal",
                                .op = "policy.reload",
                                .object = app->conf->policy,
                                .result = ok ? "ok" : "error",
                                .reason = ok ? NULL : err};
    gw_app_audit_submit(app, NULL, &rec, NULL, NULL);
}

/* ------------------------------------------------------------------ audit */

/* Copies rec's strings behind the item. */
static struct audit_item *audit_item_new(const vault_audit_record_t *rec)
{
    const char *const src[] = {rec->principal,  rec->op,       rec->object, rec->result, rec->client,
                               rec->request_id, rec->token_id, rec->reason, rec->first,  rec->last};
    size_t total = 0;
    for (size_t i = 0; i != sizeof(src) / sizeof(src[0]); i++)
        if (src[i] != NULL)
            total += strlen(src[i]) + 1;
    struct audit_item *item = sg_calloc(1, sizeof(*item) + total);
    const char *dst[sizeof(src) / sizeof(src[0])];
    char *p = item->strings;
    for (size_t i = 0; i != sizeof(src) / sizeof(src[0]); i++) {
        if (src[i] == NULL) {
            dst[i] = NULL;
            continue;
        }
        size_t n = strlen(src[i]) + 1;
        memcpy(p, src[i], n);
        dst[i] = p;
        p += n;
    }
    item->rec = (vault_audit_record_t){.principal = dst[0],
                                       .op = dst[1],
                                       .object = dst[2],
                                       .result = dst[3],
                                       .client = dst[4],
                                       .request_id = dst[5],
                                       .token_id = dst[6],
                                       .reason = dst[7],
                                       .count = rec->count,
                                       .first = dst[8],
                                       .last = dst[9]};
    return item;
}

/*
 * Writes a batch of queued records and sets each item's ok: one
 * vault_audit_append_batch (one write, one fsync for all of them). When a
 * record of the batch is not valid (-2: nothing was written), the records
 * are appended one by one instead, so one bad record fails only itself.
 */
static void audit_write(gw_app_t *app, struct audit_item *batch, vault_audit_record_t **recs, size_t *cap)
{
    char err[256];
    size_t n = 0, ok = 0;
    for (struct audit_item *item = batch; item != NULL; item = item->next) {
        if (n == *cap) {
            *cap = *cap != 0 ? *cap * 2 : 64;
            *recs = sg_realloc(*recs, *cap * sizeof(**recs));
        }
        (*recs)[n++] = item->rec;
    }
    vault_err_t rc = vault_audit_append_batch(app->audit_log, *recs, n, err, sizeof(err));
    if (rc == VAULT_EINVAL && n > 1) {
        for (struct audit_item *item = batch; item != NULL; item = item->next) {
            item->ok = vault_audit_append(app->audit_log, &item->rec, err, sizeof(err)) == 0;
            if (!item->ok)
                fprintf(stderr, "sasgw: audit: cannot write a record (%s): %s\n", item->rec.op, err);
            ok += item->ok;
        }
    } else {
        if (rc != 0)
            fprintf(stderr, "sasgw: audit: cannot write %zu record%s (%s...): %s\n", n, n == 1 ? "" : "s", batch->rec.op, err);
        for (struct audit_item *item = batch; item != NULL; item = item->next)
            item->ok = rc == 0;
        ok = rc == 0 ? n : 0;
    }
    if (ok != 0)
        gw_metrics_inc(app->metrics.audit_records, (const char *[]){"ok"}, ok);
    if (ok != n)
        gw_metrics_inc(app->metrics.audit_records, (const char *[]){"error"}, n - ok);
}

/*
 * The audit thread (group commit): takes everything queued at once and
 * writes it as one batch (audit_write: one write, one fsync), then hands
 * each completion to its loop. Records queued while a batch is being
 * written form the next batch. A completion is sent only after the batch
 * holding its record is durable, or failed (ok 0).
 */
static void *audit_main(void *arg)
{
    gw_app_t *app = arg;
    vault_audit_record_t *recs = NULL;
    size_t cap = 0;

    pthread_mutex_lock(&app->audit.mu);
    for (;;) {
        while (app->audit.head == NULL && !app->audit.stop)
            pthread_cond_wait(&app->audit.cond, &app->audit.mu);
        if (app->audit.head == NULL)
            break;
        struct audit_item *batch = app->audit.head;
        app->audit.head = NULL;
        app->audit.tail = &app->audit.head;
        pthread_mutex_unlock(&app->audit.mu);

        audit_write(app, batch, &recs, &cap);

        pthread_mutex_lock(&app->audit.mu);
        for (struct audit_item *item = batch, *next; item != NULL; item = next) {
            next = item->next;
            if (item->thread != NULL && !item->thread->closed)
                h2o_multithread_send_message(&item->thread->completed, &item->super);
            else
                free(item); /* fire and forget, or the loop is gone (shutdown) */
        }
    }
    pthread_mutex_unlock(&app->audit.mu);
    free(recs);
    return NULL;
}

/* On a worker's loop: the records it queued are written (or failed). */
static void on_audit_completed(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        struct audit_item *item = H2O_STRUCT_FROM_MEMBER(struct audit_item, super.link, messages->next);
        h2o_linklist_unlink(&item->super.link);
        item->done(item->ok, item->data);
        free(item);
    }
}

void gw_app_audit_submit(gw_app_t *app, h2o_req_t *req, const vault_audit_record_t *rec, gw_app_audit_cb done, void *data)
{
    gw_app_audit_submit_on(app, done != NULL ? gw_thread_of(req) : NULL, rec, done, data);
}

void gw_app_audit_submit_on(gw_app_t *app, gw_thread_t *thread, const vault_audit_record_t *rec, gw_app_audit_cb done, void *data)
{
    struct audit_item *item = audit_item_new(rec);
    if (done != NULL) {
        item->thread = gw_thread_module(thread, app->thread_slot);
        item->done = done;
        item->data = data;
    }
    pthread_mutex_lock(&app->audit.mu);
    *app->audit.tail = item;
    app->audit.tail = &item->next;
    pthread_cond_signal(&app->audit.cond);
    pthread_mutex_unlock(&app->audit.mu);
}

int gw_app_audit(gw_app_t *app, const vault_audit_record_t *rec, char *err, size_t errlen)
{
    int ok = vault_audit_append(app->audit_log, rec, err, errlen) == 0;
    gw_metrics_inc(app->metrics.audit_records, (const char *[]){ok ? "ok" : "error"}, 1);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ requests */

/* Releases the policy a request retained (h2o_mem_alloc_shared dispose). */
static void release_request_policy(void *p)
{
    policy_release(*(policy_t **)p);
}

void gw_app_actor(gw_app_t *app, h2o_req_t *req, const char *principal, vault_actor_t *actor)
{
    char *addr = h2o_mem_alloc_pool(&req->pool, INET6_ADDRSTRLEN + 1);
    if (gw_http_client_address(req, app->conf, NULL, addr, INET6_ADDRSTRLEN + 1) != 0)
        addr[0] = '\0';
    actor->principal = principal;
    actor->client = addr[0] != '\0' ? addr : NULL;
    actor->request_id = gw_http_request_id(req).base;
}

/* Sends the 401 of a missing or rejected credential. */
static void send_unauthorized(h2o_req_t *req, const char *message)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("www-authenticate"), 0, NULL,
                          H2O_STRLIT("Basic realm=\"sasgw\", Bearer realm=\"sasgw\""));
    gw_http_send_error(req, 401, "unauthorized", message, NULL);
}

/* Queues the audit record of a refused request that names its principal (no waiting: nothing was granted). */
static void audit_refusal(gw_app_t *app, h2o_req_t *req, const char *principal, const char *op, const char *reason)
{
    vault_actor_t actor;
    gw_app_actor(app, req, principal, &actor);
    char *object = h2o_mem_alloc_pool(&req->pool, req->path_normalized.len + 1);
    memcpy(object, req->path_normalized.base, req->path_normalized.len);
    object[req->path_normalized.len] = '\0';
    vault_audit_record_t rec = {.principal = principal != NULL ? principal : "anonymous",
                                .op = op,
                                .object = object,
                                .result = "refused",
                                .client = actor.client,
                                .request_id = actor.request_id,
                                .reason = reason};
    gw_app_audit_submit(app, req, &rec, NULL, NULL);
}

/*
 * The client of req as the failure limit and the coalesced refusals count it
 * (gw_client_key): behind trusted proxies the X-Forwarded-For client, else,
 * and when a trusted proxy sent a malformed hop, the socket peer. 0 when unknown.
 */
static uint64_t client_key(gw_app_t *app, h2o_req_t *req)
{
    sas_ip_t ip;
    if (gw_client_addr_of_req(req, app->conf, &ip) != 0 && gw_client_addr_of_req(req, NULL, &ip) != 0)
        return 0;
    return gw_client_key(&ip);
}

static const char *const refusal_label[GW_REFUSAL__COUNT] = {
    [GW_REFUSAL_NO_CREDENTIALS] = "no_credentials",
    [GW_REFUSAL_MALFORMED] = "malformed",
    [GW_REFUSAL_REJECTED] = "rejected",
    [GW_REFUSAL_RATE_LIMITED] = "rate_limited",
};

/* Counts an unauthenticated refusal: in the metrics, and in the coalesced audit trail (refusal_log.h). */
static void count_refusal(gw_app_t *app, h2o_req_t *req, uint64_t client, gw_refusal_kind_t kind, const char *detail)
{
    const char *route = gw_http_route_label(req);
    gw_metrics_inc(app->metrics.auth_refusals, (const char *[]){refusal_label[kind]}, 1);
    gw_refusal_log_add(app->refusals, client, kind, route != NULL ? route : "", detail, gw_http_request_id(req).base,
                       (int64_t)time(NULL));
}

/* Sends the 429 of a client past issuer.auth_failures.limit, with Retry-After. */
static void send_rate_limited(h2o_req_t *req, unsigned retry_after)
{
    char value[16], msg[160];
    int n = snprintf(value, sizeof(value), "%u", retry_after);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, h2o_strdup(&req->pool, value, (size_t)n).base,
                   (size_t)n);
    snprintf(msg, sizeof(msg), "too many failed authentications from this client address; retry in %u s", retry_after);
    gw_http_send_error(req, 429, "too_many_auth_failures", msg, NULL);
}

/* The coalesced records, at the end of each interval: queued for the audit thread like any other record. */
static void on_refusal_record(const vault_audit_record_t *rec, void *data)
{
    gw_app_audit_submit(data, NULL, rec, NULL, NULL);
}

/* The issuer's refusals: 429 with Retry-After, or 401 naming both schemes. */
static void refuse_issuer(h2o_req_t *req, int status, const char *message, unsigned retry_after, void *data)
{
    (void)data;
    if (status == 429)
        send_rate_limited(req, retry_after);
    else
        send_unauthorized(req, message);
}

/*
 * gw_app_authenticate() and gw_app_authenticate_bearer(): audience NULL takes
 * any scheme policy_authenticate() knows, with each issuer's audience;
 * otherwise only a bearer JWT whose aud is audience.
 */
static const policy_principal_t *authenticate(gw_app_t *app, h2o_req_t *req, const char *audience, gw_app_auth_refuse_cb refuse,
                                              void *data, policy_t **policy_out)
{
    char err[256];
    const policy_principal_t *principal = NULL;
    h2o_iovec_t value = gw_http_header(req, "authorization");
    uint64_t client = client_key(app, req), now = gw_auth_limit_now();
    unsigned retry_after;

    if (policy_out != NULL)
        *policy_out = NULL;
    /* a client past its failures gets no credential checked, however good */
    if ((retry_after = gw_auth_limit_check(app->auth_limit, client, now)) != 0) {
        count_refusal(app, req, client, GW_REFUSAL_RATE_LIMITED, NULL);
        refuse(req, 429, "too many failed authentications from this client address", retry_after, data);
        return NULL;
    }
    /* no credential is not a failed attempt: it costs nothing and is how a client learns the schemes */
    if (value.base == NULL) {
        count_refusal(app, req, client, GW_REFUSAL_NO_CREDENTIALS, NULL);
        refuse(req, 401,
               audience != NULL ? "authentication required: send Authorization: Bearer"
                                : "authentication required: send Authorization: Basic or Bearer",
               0, data);
        return NULL;
    }
    if (value.len > AUTHORIZATION_MAX || memchr(value.base, '\0', value.len) != NULL ||
        (audience != NULL && (value.len < 7 || strncasecmp(value.base, "Bearer ", 7) != 0))) {
        gw_auth_limit_failed(app->auth_limit, client, now);
        count_refusal(app, req, client, GW_REFUSAL_MALFORMED, NULL);
        refuse(req, 401,
               audience != NULL ? "the Authorization header is not a bearer token, or too long"
                                : "the Authorization header is malformed or too long",
               0, data);
        return NULL;
    }
    char *text = h2o_mem_alloc_pool(&req->pool, value.len + 1);
    memcpy(text, value.base, value.len);
    text[value.len] = '\0';

    policy_t **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), release_request_policy);
    *slot = gw_app_policy(app);
    int rc = audience != NULL
                 ? policy_authenticate_bearer_for(*slot, text + 7, audience, (int64_t)time(NULL), &principal, err, sizeof(err))
                 : policy_authenticate(*slot, text, (int64_t)time(NULL), &principal, err, sizeof(err));
    if (rc != 0) {
        gw_auth_limit_failed(app->auth_limit, client, now);
        count_refusal(app, req, client, GW_REFUSAL_REJECTED, err);
        refuse(req, 401, err, 0, data);
        return NULL;
    }
    if (policy_out != NULL)
        *policy_out = *slot;
    return principal;
}

const policy_principal_t *gw_app_authenticate(gw_app_t *app, h2o_req_t *req, policy_t **policy_out)
{
    return authenticate(app, req, NULL, refuse_issuer, NULL, policy_out);
}

const policy_principal_t *gw_app_authenticate_bearer(gw_app_t *app, h2o_req_t *req, const char *audience,
                                                     gw_app_auth_refuse_cb refuse, void *data, policy_t **policy_out)
{
    return authenticate(app, req, audience, refuse, data, policy_out);
}

const policy_principal_t *gw_app_require(gw_app_t *app, h2o_req_t *req, const char *capability, const char *op)
{
    const policy_principal_t *principal = gw_app_authenticate(app, req, NULL);
    if (principal == NULL)
        return NULL;
    if (!policy_principal_can(principal, capability)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "principal %s lacks the capability %s", policy_principal_name(principal), capability);
        audit_refusal(app, req, policy_principal_name(principal), op, msg);
        gw_http_send_error(req, 403, "forbidden", msg, NULL);
        return NULL;
    }
    return principal;
}

/*
 * Ends the audit trail's writers: the refusal log emits what it holds into
 * the queue, then the audit thread writes everything queued and stops.
 * Called by the last worker to stop, so that the last records are written
 * while the server's metrics (which the audit thread counts in) still
 * exist, and by gw_app_destroy() when no worker ran. Idempotent; never
 * concurrent with itself (the main thread joins the workers first).
 */
static void stop_audit(gw_app_t *app)
{
    gw_refusal_log_destroy(app->refusals);
    app->refusals = NULL;
    if (app->audit.started) {
        pthread_mutex_lock(&app->audit.mu);
        app->audit.stop = 1;
        pthread_cond_signal(&app->audit.cond);
        pthread_mutex_unlock(&app->audit.mu);
        pthread_join(app->audit.tid, NULL);
        app->audit.started = 0;
    }
}

/* ------------------------------------------------------------------ Redis per thread */

static void on_redis_connect(gw_redis_t *client, void *data)
{
    struct app_thread *t = data;
    if (!t->connected) {
        t->connected = 1;
        atomic_fetch_add(&t->app->redis_connected, 1);
    }
}

static void on_redis_disconnect(gw_redis_t *client, const char *why, void *data)
{
    struct app_thread *t = data;
    if (t->connected) {
        t->connected = 0;
        atomic_fetch_sub(&t->app->redis_connected, 1);
    }
    if (gw_thread_index(t->thread) == 0)
        fprintf(stderr, "sasgw: redis: connection lost (%s), reconnecting\n", why);
}

static void *on_thread_init(gw_thread_t *thread, void *data)
{
    gw_app_t *app = data;
    struct app_thread *t = sg_calloc(1, sizeof(*t));
    gw_redis_options_t options;

    t->app = app;
    t->thread = thread;
    atomic_fetch_add(&app->threads_alive, 1);
    h2o_multithread_register_receiver(gw_thread_context(thread)->queue, &t->completed, on_audit_completed);
    gw_redis_options_from_config(&options, app->conf, app->redis_password);
    t->redis = gw_redis_create(gw_thread_loop(thread), &options);
    gw_redis_set_callbacks(t->redis, on_redis_connect, on_redis_disconnect, t);
    gw_redis_connect(t->redis);
    return t;
}

static void on_thread_dispose(gw_thread_t *thread, void *instance, void *data)
{
    gw_app_t *app = data;
    struct app_thread *t = instance;

    /* completions still on their way are dropped from now on */
    pthread_mutex_lock(&app->audit.mu);
    t->closed = 1;
    pthread_mutex_unlock(&app->audit.mu);
    h2o_multithread_unregister_receiver(gw_thread_context(thread)->queue, &t->completed);
    if (t->connected)
        atomic_fetch_sub(&app->redis_connected, 1);
    gw_redis_free(t->redis);
    free(t);
    /* the last worker to stop: no request is left to audit, the server (and its metrics) still exists */
    if (atomic_fetch_sub(&app->threads_alive, 1) == 1)
        stop_audit(app);
}

gw_redis_t *gw_app_thread_redis(gw_app_t *app, gw_thread_t *thread)
{
    struct app_thread *t = gw_thread_module(thread, app->thread_slot);
    return t->redis;
}

gw_redis_t *gw_app_redis(gw_app_t *app, h2o_req_t *req)
{
    return gw_app_thread_redis(app, gw_thread_of(req));
}

/* ------------------------------------------------------------------ readiness */

static int ready_vault(void *data, char *why, size_t whylen)
{
    gw_app_t *app = data;
    if (app->vault.handle == NULL) {
        snprintf(why, whylen, "the vault is not open");
        return 0;
    }
    return 1;
}

static int ready_redis(void *data, char *why, size_t whylen)
{
    gw_app_t *app = data;
    if (atomic_load(&app->redis_connected) == 0) {
        snprintf(why, whylen, "redis %s:%u is not reachable", app->conf->redis.host, (unsigned)app->conf->redis.port);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ life */

static const char *const result_label[] = {"result"};
static const char *const reason_label[] = {"reason"};

gw_app_t *gw_app_create(gw_server_t *server, const gw_config_t *conf, char *err, size_t errlen)
{
    char why[1024];
    vault_keysource_t ks;
    gw_app_t *app = sg_calloc(1, sizeof(*app));

    app->server = server;
    app->conf = conf;
    pthread_mutex_init(&app->vault.mu, NULL);
    pthread_mutex_init(&app->policy.mu, NULL);
    pthread_mutex_init(&app->audit.mu, NULL);
    pthread_cond_init(&app->audit.cond, NULL);
    app->audit.tail = &app->audit.head;
    atomic_init(&app->threads_alive, 0);
    gw_metrics_t *metrics = gw_server_metrics(server);
    app->metrics.audit_records =
        gw_metrics_counter(metrics, "sasgw_audit_records_total", "Audit records written by the server, by result", 1, result_label);
    app->metrics.policy_reloads = gw_metrics_counter(metrics, "sasgw_policy_reloads_total",
                                                     "Policy reloads (SIGHUP or admin API), by result", 1, result_label);
    app->metrics.auth_refusals =
        gw_metrics_counter(metrics, "sasgw_auth_refusals_total", "Unauthenticated requests refused, by reason", 1, reason_label);

    /* the vault and its audit log */
    memset(&ks, 0, sizeof(ks));
    if (vault_keysource_resolve(&ks, conf->vault.master_key_file, conf->vault.passphrase_file, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "cannot unseal the vault %s: %s", conf->vault.path, why);
        goto Error;
    }
    app->vault.handle = vault_open(conf->vault.path, &ks, conf->audit.path, NULL, why, sizeof(why));
    vault_keysource_wipe(&ks);
    if (app->vault.handle == NULL) {
        snprintf(err, errlen, "cannot open the vault %s: %s", conf->vault.path, why);
        goto Error;
    }
    atomic_init(&app->vault.generation, vault_generation(app->vault.handle));
    app->audit_log = vault_audit_of(app->vault.handle);

    /* the keys of every account, per thread */
    gw_keyring_vault_access_t access = {.lock = keyring_vault_lock, .unlock = keyring_vault_unlock, .data = app};
    if ((app->keyring = gw_keyring_live_create(server, app->conf, &access, why, sizeof(why))) == NULL) {
        snprintf(err, errlen, "cannot load the account keys: %s", why);
        goto Error;
    }

    /* the policy */
    if ((app->policy.current = policy_load(conf->policy, why, sizeof(why))) == NULL) {
        snprintf(err, errlen, "cannot load the policy: %s", why);
        goto Error;
    }

    /* Redis */
    if (conf->redis.password_file != NULL &&
        (app->redis_password = gw_redis_read_password_file(conf->redis.password_file, why, sizeof(why))) == NULL) {
        snprintf(err, errlen, "redis: %s", why);
        goto Error;
    }
    atomic_init(&app->redis_connected, 0);

    /* the audit thread */
    if ((errno = pthread_create(&app->audit.tid, NULL, audit_main, app)) != 0) {
        snprintf(err, errlen, "cannot start the audit thread: %s", strerror(errno));
        goto Error;
    }
    app->audit.started = 1;

    /* unauthenticated callers: the failure limit, and their refusals coalesced into the audit trail */
    app->auth_limit = gw_auth_limit_create(conf->issuer.auth_failures.limit, conf->issuer.auth_failures.window);
    if ((app->refusals =
             gw_refusal_log_create(conf->issuer.auth_failures.audit_interval, on_refusal_record, app, why, sizeof(why))) == NULL) {
        snprintf(err, errlen, "%s", why);
        goto Error;
    }

    app->thread_slot = gw_server_add_thread_module(server, on_thread_init, on_thread_dispose, app);
    gw_server_add_readiness_check(server, "vault", ready_vault, app);
    gw_server_add_readiness_check(server, "redis", ready_redis, app);
    gw_server_on_reload(server, on_reload, app);
    return app;

Error:
    gw_app_destroy(app);
    return NULL;
}

void gw_app_destroy(gw_app_t *app)
{
    if (app == NULL)
        return;
    stop_audit(app);
    gw_auth_limit_destroy(app->auth_limit);
    /* records queued after the audit thread stopped (a request cut off at the end of the shutdown grace) */
    for (struct audit_item *item = app->audit.head, *next; item != NULL; item = next) {
        next = item->next;
        free(item);
    }
    gw_keyring_live_destroy(app->keyring);
    policy_release(app->policy.current);
    vault_close(app->vault.handle);
    sg_free_secret_str(app->redis_password);
    pthread_cond_destroy(&app->audit.cond);
    pthread_mutex_destroy(&app->audit.mu);
    pthread_mutex_destroy(&app->policy.mu);
    pthread_mutex_destroy(&app->vault.mu);
    free(app);
}

const gw_config_t *gw_app_config(gw_app_t *app)
{
    return app->conf;
}

gw_server_t *gw_app_server(gw_app_t *app)
{
    return app->server;
}

gw_keyring_live_t *gw_app_keyring(gw_app_t *app)
{
    return app->keyring;
}

gw_metrics_t *gw_app_metrics(gw_app_t *app)
{
    return gw_server_metrics(app->server);
}
