/*
 * keyring_live.c - the live keyring (keyring_live.h): rebuilds snapshots from
 * the vault on its own thread and swaps them onto every worker.
 */
#include "sasgw/core/keyring_live.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sasgw/common.h"
#include "sasgw/core/server.h"
#include "sasgw/vault.h"

struct thread_state {
    gw_keyring_t *current;
};

struct st_gw_keyring_live_t {
    gw_server_t *server;
    const gw_config_t *conf;
    gw_keyring_vault_access_t access;
    size_t module_slot;
    pthread_mutex_t lock; /* guards current, poked, stop */
    pthread_cond_t cond;
    gw_keyring_t *current;
    int poked, stop, pending_broadcast;
    pthread_t tid;
    int thread_started;
    atomic_uint_fast64_t num_reloads;
    gw_metric_t *key_age; /* sasgw_key_age_seconds{account,slot} */
};

static void *on_thread_init(gw_thread_t *thread, void *data)
{
    gw_keyring_live_t *live = data;
    struct thread_state *ts = sg_calloc(1, sizeof(*ts));
    ts->current = gw_keyring_live_acquire(live);
    return ts;
}

static void on_thread_dispose(gw_thread_t *thread, void *instance, void *data)
{
    struct thread_state *ts = instance;
    gw_keyring_release(ts->current);
    free(ts);
}

struct swap {
    gw_keyring_live_t *live;
    gw_keyring_t *kr; /* one reference, dropped by on_swap_done */
};

static void on_swap(gw_thread_t *thread, void *arg)
{
    struct swap *swap = arg;
    struct thread_state *ts = gw_thread_module(thread, swap->live->module_slot);
    gw_keyring_t *old = ts->current;
    ts->current = gw_keyring_retain(swap->kr);
    gw_keyring_release(old);
}

static void on_swap_done(void *arg)
{
    struct swap *swap = arg;
    gw_keyring_release(swap->kr);
    free(swap);
}

/* Sends the newest snapshot to every worker. Returns 0, or -1 when the server does not run (yet). Lock held. */
static int broadcast_current(gw_keyring_live_t *live)
{
    struct swap *swap = sg_calloc(1, sizeof(*swap));
    swap->live = live;
    swap->kr = gw_keyring_retain(live->current);
    if (gw_server_broadcast(live->server, on_swap, swap, on_swap_done) != 0) {
        gw_keyring_release(swap->kr);
        free(swap);
        return -1;
    }
    return 0;
}

/* Rebuilds from the vault when its generation moved (or force). Keyring thread, lock not held. */
static void check_vault(gw_keyring_live_t *live, int force)
{
    char err[256] = "";
    vault_t *vault = live->access.lock(live->access.data);
    uint64_t gen = vault_generation(vault);
    pthread_mutex_lock(&live->lock);
    uint64_t have = gw_keyring_generation(live->current);
    pthread_mutex_unlock(&live->lock);
    gw_keyring_t *kr = NULL;
    if (force || gen != have)
        kr = gw_keyring_build(vault, live->conf, gen, err, sizeof(err));
    live->access.unlock(live->access.data);
    if (!(force || gen != have))
        return;
    if (kr == NULL) {
        fprintf(stderr, "sasgw: keyring: cannot rebuild from the vault, keeping generation %llu: %s\n", (unsigned long long)have,
                err);
        return;
    }
    pthread_mutex_lock(&live->lock);
    gw_keyring_t *old = live->current;
    live->current = kr;
    live->pending_broadcast = broadcast_current(live) != 0;
    pthread_mutex_unlock(&live->lock);
    gw_keyring_release(old);
    atomic_fetch_add(&live->num_reloads, 1);
    fprintf(stderr, "sasgw: keyring: generation %llu (%zu account%s)\n", (unsigned long long)gen, gw_keyring_num_accounts(kr),
            gw_keyring_num_accounts(kr) == 1 ? "" : "s");
}

static void *run_keyring_thread(void *arg)
{
    gw_keyring_live_t *live = arg;
    pthread_mutex_lock(&live->lock);
    while (!live->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t wait_ms = live->pending_broadcast ? 50 : GW_KEYRING_CHECK_MS;
        until.tv_sec += (time_t)(wait_ms / 1000);
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        int rc = 0;
        while (!live->stop && !live->poked && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&live->cond, &live->lock, &until);
        if (live->stop)
            break;
        int force = live->poked;
        live->poked = 0;
        if (live->pending_broadcast)
            live->pending_broadcast = broadcast_current(live) != 0;
        pthread_mutex_unlock(&live->lock);
        check_vault(live, force);
        pthread_mutex_lock(&live->lock);
    }
    pthread_mutex_unlock(&live->lock);
    return NULL;
}

/*
 * Metrics collector: sasgw_key_age_seconds{account,slot} is the age of the
 * newest active version of each key slot (a slot with none has no series
 * update). Runs before each /metrics rendering, on the rendering thread.
 */
static void collect_key_age(gw_metrics_t *metrics, void *data)
{
    gw_keyring_live_t *live = data;
    gw_keyring_t *kr = gw_keyring_live_acquire(live);
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i != gw_keyring_num_accounts(kr); i++) {
        const gw_keyring_account_t *a = gw_keyring_account_at(kr, i);
        int seen[VAULT_NUM_SLOTS + 1] = {0};
        /* keys are key1 (edge1) before key2 (edge2), newest first within a slot; a resign account's storage keys too */
        for (size_t k = 0; k != a->nkeys + a->nupstream_keys; k++) {
            const gw_keyring_key_t *key = k < a->nkeys ? &a->keys[k] : &a->upstream_keys[k - a->nkeys];
            if (key->slot < 1 || key->slot > VAULT_NUM_SLOTS || seen[key->slot] || key->created == 0)
                continue;
            seen[key->slot] = 1;
            gw_metrics_set(live->key_age, (const char *[]){a->name, vault_slot_name(key->slot)}, (double)(now - key->created));
        }
    }
    gw_keyring_release(kr);
}

gw_keyring_live_t *gw_keyring_live_create(gw_server_t *server, const gw_config_t *conf, const gw_keyring_vault_access_t *access,
                                          char *err, size_t errlen)
{
    gw_keyring_live_t *live = sg_calloc(1, sizeof(*live));
    live->server = server;
    live->conf = conf;
    live->access = *access;
    pthread_mutex_init(&live->lock, NULL);
    pthread_cond_init(&live->cond, NULL);
    atomic_init(&live->num_reloads, 1);

    vault_t *vault = access->lock(access->data);
    live->current = gw_keyring_build(vault, conf, vault_generation(vault), err, errlen);
    access->unlock(access->data);
    if (live->current == NULL) {
        pthread_mutex_destroy(&live->lock);
        pthread_cond_destroy(&live->cond);
        free(live);
        return NULL;
    }
    live->module_slot = gw_server_add_thread_module(server, on_thread_init, on_thread_dispose, live);
    if (pthread_create(&live->tid, NULL, run_keyring_thread, live) != 0) {
        snprintf(err, errlen, "cannot start the keyring thread: %s", strerror(errno));
        gw_keyring_release(live->current);
        free(live);
        return NULL;
    }
    live->thread_started = 1;
    live->key_age =
        gw_metrics_gauge(gw_server_metrics(server), "sasgw_key_age_seconds",
                         "Age of the newest active version of each account key slot", 2, (const char *[]){"account", "slot"});
    gw_metrics_on_collect(gw_server_metrics(server), collect_key_age, live);
    return live;
}

void gw_keyring_live_destroy(gw_keyring_live_t *live)
{
    if (live == NULL)
        return;
    pthread_mutex_lock(&live->lock);
    live->stop = 1;
    pthread_cond_signal(&live->cond);
    pthread_mutex_unlock(&live->lock);
    if (live->thread_started)
        pthread_join(live->tid, NULL);
    gw_keyring_release(live->current);
    pthread_mutex_destroy(&live->lock);
    pthread_cond_destroy(&live->cond);
    free(live);
}

gw_keyring_t *gw_keyring_thread_current(gw_keyring_live_t *live, gw_thread_t *thread)
{
    struct thread_state *ts = gw_thread_module(thread, live->module_slot);
    return ts->current;
}

gw_keyring_t *gw_keyring_live_acquire(gw_keyring_live_t *live)
{
    pthread_mutex_lock(&live->lock);
    gw_keyring_t *kr = gw_keyring_retain(live->current);
    pthread_mutex_unlock(&live->lock);
    return kr;
}

void gw_keyring_live_poke(gw_keyring_live_t *live, const char *account)
{
    (void)account;
    pthread_mutex_lock(&live->lock);
    live->poked = 1;
    pthread_cond_signal(&live->cond);
    pthread_mutex_unlock(&live->lock);
}

uint64_t gw_keyring_live_num_reloads(gw_keyring_live_t *live)
{
    return atomic_load(&live->num_reloads);
}
