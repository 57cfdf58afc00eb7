/*
 * refusal_log.c - coalesced audit records of unauthenticated refusals (refusal_log.h).
 *
 * Two tables take turns: refusals go into the current one under the mutex;
 * a flush swaps them (under the mutex, a pointer), then emits and clears the
 * other one outside it, so adding never waits for the audit queue.
 */
#include "refusal_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sasgw/core/client_addr.h"
#include "sasgw/common.h"

/* Probes of the open-addressing table before a refusal goes to its reason's "*" entry. */
#define MAX_PROBES 16

struct entry {
    uint64_t client;
    gw_refusal_kind_t kind;
    int used;
    uint64_t count;
    int64_t first, last;
    char object[64];
    char detail[160];
    char request_id[72];
};

struct table {
    struct entry entries[GW_REFUSAL_LOG_ENTRIES];
    struct entry other[GW_REFUSAL__COUNT];  /* clients beyond the table, per reason */
    uint16_t order[GW_REFUSAL_LOG_ENTRIES]; /* indices of the used entries, in the order they were opened */
    size_t num_used;
};

struct st_gw_refusal_log_t {
    unsigned interval;
    gw_refusal_log_emit_cb emit;
    void *data;
    pthread_mutex_t mu;       /* current, and the stop flag */
    pthread_mutex_t flushing; /* one flush at a time */
    pthread_cond_t cond;
    struct table *current, *spare;
    int stop, started;
    pthread_t tid;
};

static const char *const kind_sentence[GW_REFUSAL__COUNT] = {
    [GW_REFUSAL_NO_CREDENTIALS] = "no Authorization header",
    [GW_REFUSAL_MALFORMED] = "malformed Authorization header",
    [GW_REFUSAL_REJECTED] = "credentials rejected",
    [GW_REFUSAL_RATE_LIMITED] = "too many failed authentications from this client",
};

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* Opens e for its first refusal. */
static void open_entry(struct entry *e, uint64_t client, gw_refusal_kind_t kind, const char *object, const char *detail,
                       const char *request_id, int64_t now)
{
    e->client = client;
    e->kind = kind;
    e->used = 1;
    e->count = 0;
    e->first = now;
    copy_text(e->object, sizeof(e->object), object);
    copy_text(e->detail, sizeof(e->detail), detail);
    copy_text(e->request_id, sizeof(e->request_id), request_id);
}

void gw_refusal_log_add(gw_refusal_log_t *log, uint64_t client, gw_refusal_kind_t kind, const char *object, const char *detail,
                        const char *request_id, int64_t now)
{
    if (log == NULL || (unsigned)kind >= GW_REFUSAL__COUNT)
        return;
    uint64_t h = (client ^ ((uint64_t)kind << 61)) * 0x9e3779b97f4a7c15ull;
    pthread_mutex_lock(&log->mu);
    struct table *t = log->current;
    struct entry *e = NULL;
    for (size_t probe = 0; probe != MAX_PROBES; probe++) {
        size_t i = (size_t)((h >> 40) + probe) % GW_REFUSAL_LOG_ENTRIES;
        struct entry *c = t->entries + i;
        if (c->used && c->client == client && c->kind == kind) {
            e = c;
            break;
        }
        if (!c->used) {
            open_entry(c, client, kind, object, detail, request_id, now);
            t->order[t->num_used++] = (uint16_t)i;
            e = c;
            break;
        }
    }
    if (e == NULL) {
        e = t->other + kind;
        if (!e->used)
            open_entry(e, 0, kind, object, detail, request_id, now);
    }
    e->count++;
    e->last = now;
    pthread_mutex_unlock(&log->mu);
}

/* Emits e as one audit record. other: e counts clients beyond the table. */
static void emit_entry(gw_refusal_log_t *log, const struct entry *e, int other)
{
    char client[GW_CLIENT_ADDR_TEXT_MAX], reason[sizeof(e->detail) + 64], first[32], last[32];
    if (other)
        copy_text(client, sizeof(client), "*");
    else if (e->client != 0)
        gw_client_key_format(e->client, client);
    if (e->kind == GW_REFUSAL_REJECTED && e->detail[0] != '\0')
        snprintf(reason, sizeof(reason), "%s (first: %s)", kind_sentence[e->kind], e->detail);
    else
        copy_text(reason, sizeof(reason), kind_sentence[e->kind]);
    vault_time_format(e->first, first, sizeof(first));
    vault_time_format(e->last, last, sizeof(last));
    vault_audit_record_t rec = {.principal = "anonymous",
                                .op = "auth",
                                .object = e->object,
                                .result = "refused",
                                .client = other || e->client != 0 ? client : NULL,
                                .request_id = e->request_id[0] != '\0' ? e->request_id : NULL,
                                .reason = reason,
                                .count = e->count,
                                .first = first,
                                .last = last};
    log->emit(&rec, log->data);
}

void gw_refusal_log_flush(gw_refusal_log_t *log)
{
    if (log == NULL)
        return;
    pthread_mutex_lock(&log->flushing);
    pthread_mutex_lock(&log->mu);
    struct table *t = log->current;
    log->current = log->spare;
    log->spare = t;
    pthread_mutex_unlock(&log->mu);

    for (size_t i = 0; i != t->num_used; i++) {
        struct entry *e = t->entries + t->order[i];
        emit_entry(log, e, 0);
        e->used = 0;
    }
    t->num_used = 0;
    for (size_t k = 0; k != GW_REFUSAL__COUNT; k++) {
        if (t->other[k].used)
            emit_entry(log, t->other + k, 1);
        t->other[k].used = 0;
    }
    pthread_mutex_unlock(&log->flushing);
}

/* The log's thread: a flush at the end of every interval, until stopped. */
static void *flush_main(void *arg)
{
    gw_refusal_log_t *log = arg;
    pthread_mutex_lock(&log->mu);
    while (!log->stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += log->interval;
        while (!log->stop && pthread_cond_timedwait(&log->cond, &log->mu, &deadline) != ETIMEDOUT)
            ;
        if (log->stop)
            break;
        pthread_mutex_unlock(&log->mu);
        gw_refusal_log_flush(log);
        pthread_mutex_lock(&log->mu);
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

gw_refusal_log_t *gw_refusal_log_create(unsigned interval, gw_refusal_log_emit_cb emit, void *data, char *err, size_t errlen)
{
    gw_refusal_log_t *log = sg_calloc(1, sizeof(*log));
    log->interval = interval != 0 ? interval : 1;
    log->emit = emit;
    log->data = data;
    log->current = sg_calloc(1, sizeof(struct table));
    log->spare = sg_calloc(1, sizeof(struct table));
    pthread_mutex_init(&log->mu, NULL);
    pthread_mutex_init(&log->flushing, NULL);
    pthread_cond_init(&log->cond, NULL);
    if ((errno = pthread_create(&log->tid, NULL, flush_main, log)) != 0) {
        snprintf(err, errlen, "cannot start the refusal log's thread: %s", strerror(errno));
        gw_refusal_log_destroy(log);
        return NULL;
    }
    log->started = 1;
    return log;
}

void gw_refusal_log_destroy(gw_refusal_log_t *log)
{
    if (log == NULL)
        return;
    if (log->started) {
        pthread_mutex_lock(&log->mu);
        log->stop = 1;
        pthread_cond_signal(&log->cond);
        pthread_mutex_unlock(&log->mu);
        pthread_join(log->tid, NULL);
    }
    gw_refusal_log_flush(log);
    pthread_cond_destroy(&log->cond);
    pthread_mutex_destroy(&log->flushing);
    pthread_mutex_destroy(&log->mu);
    free(log->current);
    free(log->spare);
    free(log);
}
