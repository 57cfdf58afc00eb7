/*
 * subscriber.c - the Redis thread that keeps the proxy's revoked-id set
 * (sasgw/revocation/subscriber.h).
 *
 * The thread owns two blocking hiredis connections: the subscriber, read
 * with poll() so the thread also wakes for its timers (PING, trim, stale
 * flag, stop), and a short-lived command connection for each full load. A
 * pipe wakes the thread when it must stop.
 */
#define _GNU_SOURCE
#include "sasgw/revocation/subscriber.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sasgw/common.h"
#include "sasgw/core/redis.h"
#include "sasgw/revocation/plan.h"

#define CHANNEL_REVOCATIONS GW_REVOCATIONS_CHANNEL
#define CHANNEL_EVENTS GW_EVENTS_CHANNEL
#define KEY_REVOKED GW_REVOKED_KEY
#define TICK_MS 100
#define PONG_TIMEOUT_MS 3000
#define CONNECT_TIMEOUT_MS 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

struct st_gw_revocation_t {
    char *host;
    uint16_t port;
    char *password;
    int64_t max_staleness_ms;
    gw_revset_t *set;
    gw_keyring_live_t *keyring;
    gw_metrics_t *metrics;

    atomic_int stale;
    _Atomic int64_t last_good_ms; /* 0: never */
    atomic_uint_fast64_t reloads;
    atomic_int connected;
    int wake[2]; /* pipe: a byte means stop */
    pthread_t tid;
    int started;

    pthread_mutex_t lock; /* last_error */
    char last_error[256];

    gw_series_t *m_size, *m_reloads, *m_messages, *m_staleness, *m_connected;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 2, 3))) static void set_error(gw_revocation_t *rv, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    pthread_mutex_lock(&rv->lock);
    vsnprintf(rv->last_error, sizeof(rv->last_error), fmt, args);
    pthread_mutex_unlock(&rv->lock);
    va_end(args);
}

/* Recomputes the stale flag from the last known good time. */
static void update_stale(gw_revocation_t *rv)
{
    int64_t good = atomic_load(&rv->last_good_ms);
    int stale = good == 0 || now_ms() - good > rv->max_staleness_ms;
    if (atomic_exchange_explicit(&rv->stale, stale, memory_order_relaxed) != stale)
        fprintf(stderr, "sasgw: revocation: list %s\n", stale ? "STALE: refusing tokens (fail closed unless fail_open)" : "fresh");
}

/* Sleeps ms, waking early on stop. Returns 1 when asked to stop. */
static int nap(gw_revocation_t *rv, int ms)
{
    struct pollfd p = {rv->wake[0], POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

/* Decodes a 22-character base64url token id into 16 bytes. Returns 0 or -1. */
static int decode_token_id(const char *s, size_t len, uint8_t out[GW_REVSET_ID_LEN])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t v[SAS_TOKEN_ID_LEN];
    if (len != SAS_TOKEN_ID_LEN)
        return -1;
    for (size_t i = 0; i != len; i++) {
        const char *p = s[i] != '\0' ? strchr(alphabet, s[i]) : NULL;
        if (p == NULL)
            return -1;
        v[i] = (uint8_t)(p - alphabet);
    }
    size_t o = 0;
    for (size_t i = 0; i + 4 <= 20; i += 4) {
        uint32_t w = (uint32_t)v[i] << 18 | (uint32_t)v[i + 1] << 12 | (uint32_t)v[i + 2] << 6 | v[i + 3];
        out[o++] = (uint8_t)(w >> 16);
        out[o++] = (uint8_t)(w >> 8);
        out[o++] = (uint8_t)w;
    }
    /* the last two characters carry one byte; its 4 low bits must be zero */
    if ((v[21] & 0x0f) != 0)
        return -1;
    out[o] = (uint8_t)(v[20] << 2 | v[21] >> 4);
    return 0;
}

/*
 * Reads a message of sasgw:revocations (gw_revoke_parse_message): the id's 16
 * bytes, its score (GW_REVOKE_FOREVER: kept until removed) and whether it
 * announces a removal. Returns 0 or -1.
 */
static int parse_revocation(const char *s, size_t len, uint8_t id[GW_REVSET_ID_LEN], int64_t *until, int *removed)
{
    char text[SAS_TOKEN_ID_LEN + 1];
    if (gw_revoke_parse_message(s, len, text, until, removed) != 0)
        return -1;
    return decode_token_id(text, SAS_TOKEN_ID_LEN, id);
}

/*
 * Loads the whole of sasgw:revoked (ZSCAN pages; expired members skipped)
 * into a builder and swaps it in. Returns 0, or -1 with the error recorded.
 */
static int full_load(gw_revocation_t *rv)
{
    char err[160];
    redisContext *c = gw_redis_connect_blocking(rv->host, rv->port, rv->password, CONNECT_TIMEOUT_MS, err, sizeof(err));
    if (c == NULL) {
        set_error(rv, "load: %s", err);
        return -1;
    }
    struct timeval tv = {5, 0};
    redisSetTimeout(c, tv);
    int64_t now = now_ms() / 1000;
    redisReply *card = redisCommand(c, "ZCARD %s", KEY_REVOKED);
    size_t expected = card != NULL && card->type == REDIS_REPLY_INTEGER ? (size_t)card->integer : 0;
    if (card != NULL)
        freeReplyObject(card);
    gw_revset_builder_t *b = gw_revset_builder_create(expected);
    char cursor[32] = "0";
    size_t loaded = 0;
    do {
        redisReply *r = redisCommand(c, "ZSCAN %s %s COUNT %d", KEY_REVOKED, cursor, GW_REVOCATION_SCAN_COUNT);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            set_error(rv, "load: %s", r == NULL ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected ZSCAN reply");
            if (r != NULL)
                freeReplyObject(r);
            gw_revset_builder_destroy(b);
            redisFree(c);
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        redisReply *items = r->element[1];
        for (size_t i = 0; i + 1 < items->elements; i += 2) {
            uint8_t id[GW_REVSET_ID_LEN];
            redisReply *m = items->element[i], *s = items->element[i + 1];
            int64_t expiry;
            if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING || decode_token_id(m->str, m->len, id) != 0 ||
                gw_revoke_parse_score(s->str, s->len, &expiry) != 0)
                continue;
            if (expiry < now)
                continue;
            gw_revset_builder_add(b, id, expiry);
            loaded++;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redisFree(c);
    gw_revset_swap(rv->set, b);
    atomic_fetch_add(&rv->reloads, 1);
    if (rv->m_reloads != NULL)
        gw_series_inc(rv->m_reloads, 1);
    fprintf(stderr, "sasgw: revocation: loaded %zu revoked id%s\n", loaded, loaded == 1 ? "" : "s");
    return 0;
}

/* One reply read on the subscriber connection. Returns 1 when it proves the connection alive. */
static int on_reply(gw_revocation_t *rv, redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING)
        return 0;
    const char *kind = r->element[0]->str;
    if (strcmp(kind, "pong") == 0)
        return 1;
    if (strcmp(kind, "message") != 0 || r->elements != 3 || r->element[2]->type != REDIS_REPLY_STRING)
        return 0;
    if (rv->m_messages != NULL)
        gw_series_inc(rv->m_messages, 1);
    if (strcmp(r->element[1]->str, CHANNEL_REVOCATIONS) == 0) {
        uint8_t id[GW_REVSET_ID_LEN];
        int64_t until;
        int removed;
        if (parse_revocation(r->element[2]->str, r->element[2]->len, id, &until, &removed) != 0)
            fprintf(stderr, "sasgw: revocation: ignoring a malformed message on %s\n", CHANNEL_REVOCATIONS);
        else if (removed)
            gw_revset_remove(rv->set, id);
        else
            gw_revset_add(rv->set, id, until);
    } else if (strcmp(r->element[1]->str, CHANNEL_EVENTS) == 0) {
        if (rv->keyring != NULL)
            gw_keyring_live_poke(rv->keyring, NULL);
    }
    return 1;
}

/* Subscribes, loads, then follows the channels until the connection fails or stop. Returns 1 on stop. */
static int session(gw_revocation_t *rv)
{
    char err[160];
    redisContext *c = gw_redis_connect_blocking(rv->host, rv->port, rv->password, CONNECT_TIMEOUT_MS, err, sizeof(err));
    if (c == NULL) {
        set_error(rv, "%s", err);
        return 0;
    }
    struct timeval tv = {2, 0};
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "SUBSCRIBE %s %s", CHANNEL_REVOCATIONS, CHANNEL_EVENTS);
    if (r != NULL) {
        freeReplyObject(r);
        r = NULL;
        if (redisGetReply(c, (void **)&r) == REDIS_OK && r != NULL) {
            freeReplyObject(r);
        } else {
            r = NULL;
        }
    }
    if (r == NULL && c->err != 0) {
        set_error(rv, "subscribe: %s", c->errstr);
        redisFree(c);
        return 0;
    }
    if (full_load(rv) != 0) {
        redisFree(c);
        return 0;
    }
    int64_t t = now_ms(), last_ping = t, last_trim = t, ping_sent = 0;
    atomic_store(&rv->last_good_ms, t);
    atomic_store(&rv->connected, 1);
    update_stale(rv);
    fprintf(stderr, "sasgw: revocation: following %s and %s on %s:%u\n", CHANNEL_REVOCATIONS, CHANNEL_EVENTS, rv->host, rv->port);

    int stop = 0;
    for (;;) {
        struct pollfd p[2] = {{c->fd, POLLIN, 0}, {rv->wake[0], POLLIN, 0}};
        int n = poll(p, 2, TICK_MS);
        if (n > 0 && p[1].revents != 0) {
            stop = 1;
            break;
        }
        if (n > 0 && p[0].revents != 0) {
            if (redisBufferRead(c) != REDIS_OK) {
                set_error(rv, "subscriber: %s", c->errstr[0] != '\0' ? c->errstr : "connection lost");
                break;
            }
            void *reply;
            int alive = 0;
            while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply != NULL) {
                alive |= on_reply(rv, reply);
                freeReplyObject(reply);
            }
            if (c->err != 0) {
                set_error(rv, "subscriber: %s", c->errstr);
                break;
            }
            if (alive) {
                atomic_store(&rv->last_good_ms, now_ms());
                ping_sent = 0;
            }
        }
        t = now_ms();
        if (t - last_ping >= GW_REVOCATION_PING_MS) {
            int done = 0;
            last_ping = t;
            if (ping_sent == 0)
                ping_sent = t;
            if (redisAppendCommand(c, "PING") != REDIS_OK)
                break;
            while (!done)
                if (redisBufferWrite(c, &done) != REDIS_OK)
                    break;
            if (!done) {
                set_error(rv, "subscriber: %s", c->errstr);
                break;
            }
        }
        if (ping_sent != 0 && t - ping_sent > PONG_TIMEOUT_MS) {
            set_error(rv, "%s", "subscriber: no answer to PING");
            break;
        }
        if (t - last_trim >= GW_REVOCATION_TRIM_MS) {
            last_trim = t;
            size_t dropped = gw_revset_trim(rv->set, t / 1000);
            if (dropped != 0)
                fprintf(stderr, "sasgw: revocation: trimmed %zu expired id%s\n", dropped, dropped == 1 ? "" : "s");
        }
        update_stale(rv);
    }
    atomic_store(&rv->connected, 0);
    redisFree(c);
    if (!stop)
        fprintf(stderr, "sasgw: revocation: lost Redis (%s); reconnecting, the list stays trusted for %lld s\n", rv->last_error,
                (long long)(rv->max_staleness_ms / 1000));
    return stop;
}

static void *run_thread(void *arg)
{
    gw_revocation_t *rv = arg;
    int backoff = BACKOFF_MIN_MS;
    for (;;) {
        int64_t before = atomic_load(&rv->last_good_ms);
        if (session(rv))
            break;
        if (atomic_load(&rv->last_good_ms) != before)
            backoff = BACKOFF_MIN_MS; /* it worked for a while: retry quickly */
        /* wait, keeping the stale flag current */
        for (int waited = 0; waited < backoff; waited += TICK_MS) {
            update_stale(rv);
            if (nap(rv, TICK_MS))
                return NULL;
        }
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    return NULL;
}

static void on_collect(gw_metrics_t *metrics, void *data)
{
    gw_revocation_t *rv = data;
    gw_series_set(rv->m_size, (double)gw_revset_size(rv->set));
    gw_series_set(rv->m_staleness, gw_revocation_staleness(rv));
    gw_series_set(rv->m_connected, atomic_load(&rv->connected));
}

gw_revocation_t *gw_revocation_create(const gw_config_t *conf, gw_metrics_t *metrics, gw_keyring_live_t *keyring, char *err,
                                      size_t errlen)
{
    gw_revocation_t *rv = sg_calloc(1, sizeof(*rv));
    rv->host = sg_strdup(conf->redis.host);
    rv->port = conf->redis.port;
    if (conf->redis.password_file != NULL &&
        (rv->password = gw_redis_read_password_file(conf->redis.password_file, err, errlen)) == NULL) {
        free(rv->host);
        free(rv);
        return NULL;
    }
    rv->max_staleness_ms = (int64_t)conf->revocation.max_staleness * 1000;
    rv->set = gw_revset_create();
    rv->keyring = keyring;
    rv->metrics = metrics;
    atomic_init(&rv->stale, 1);
    atomic_init(&rv->last_good_ms, 0);
    atomic_init(&rv->reloads, 0);
    atomic_init(&rv->connected, 0);
    pthread_mutex_init(&rv->lock, NULL);
    snprintf(rv->last_error, sizeof(rv->last_error), "not loaded yet");
    rv->wake[0] = rv->wake[1] = -1;
    if (pipe2(rv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
        gw_revocation_destroy(rv);
        return NULL;
    }
    if (metrics != NULL) {
        rv->m_size = gw_metrics_series(
            gw_metrics_gauge(metrics, "sasgw_revocation_set_size", "Revoked token ids held in memory.", 0, NULL), NULL);
        rv->m_reloads = gw_metrics_series(
            gw_metrics_counter(metrics, "sasgw_revocation_reloads_total", "Full loads of the revocation list from Redis.", 0, NULL),
            NULL);
        rv->m_messages = gw_metrics_series(gw_metrics_counter(metrics, "sasgw_revocation_messages_total",
                                                              "Messages received on sasgw:revocations and sasgw:events.", 0, NULL),
                                           NULL);
        rv->m_staleness = gw_metrics_series(gw_metrics_gauge(metrics, "sasgw_revocation_staleness_seconds",
                                                             "Seconds since the revocation list was last known good.", 0, NULL),
                                            NULL);
        rv->m_connected = gw_metrics_series(gw_metrics_gauge(metrics, "sasgw_revocation_connected",
                                                             "1 while the revocation subscriber is connected to Redis.", 0, NULL),
                                            NULL);
        gw_metrics_on_collect(metrics, on_collect, rv);
    }
    return rv;
}

int gw_revocation_start(gw_revocation_t *rv, char *err, size_t errlen)
{
    if (pthread_create(&rv->tid, NULL, run_thread, rv) != 0) {
        snprintf(err, errlen, "cannot start the revocation thread: %s", strerror(errno));
        return -1;
    }
    rv->started = 1;
    return 0;
}

void gw_revocation_destroy(gw_revocation_t *rv)
{
    if (rv == NULL)
        return;
    if (rv->started) {
        ssize_t w = write(rv->wake[1], "x", 1);
        (void)w;
        pthread_join(rv->tid, NULL);
    }
    if (rv->wake[0] != -1) {
        close(rv->wake[0]);
        close(rv->wake[1]);
    }
    gw_revset_destroy(rv->set);
    free(rv->host);
    if (rv->password != NULL)
        sg_free_secret_str(rv->password);
    pthread_mutex_destroy(&rv->lock);
    free(rv);
}

gw_revset_t *gw_revocation_set(gw_revocation_t *rv)
{
    return rv->set;
}

int gw_revocation_stale(gw_revocation_t *rv)
{
    return atomic_load_explicit(&rv->stale, memory_order_relaxed);
}

double gw_revocation_staleness(gw_revocation_t *rv)
{
    int64_t good = atomic_load(&rv->last_good_ms);
    return good == 0 ? 1e9 : (double)(now_ms() - good) / 1000.0;
}

uint64_t gw_revocation_num_reloads(gw_revocation_t *rv)
{
    return atomic_load(&rv->reloads);
}

int gw_revocation_ready(void *data, char *why, size_t whylen)
{
    gw_revocation_t *rv = data;
    if (!gw_revocation_stale(rv))
        return 1;
    pthread_mutex_lock(&rv->lock);
    if (atomic_load(&rv->last_good_ms) == 0)
        snprintf(why, whylen, "revocation list not loaded yet (%s)", rv->last_error);
    else
        snprintf(why, whylen, "revocation list stale for %.0f s (%s)", gw_revocation_staleness(rv), rv->last_error);
    pthread_mutex_unlock(&rv->lock);
    return 0;
}
