/*
 * auth_limit.c - the failed-authentication limiter (auth_limit.h).
 *
 * A slot holds a client key (0: free) and its state, packed in one 64-bit
 * word so that a count and its window change together: the window's start
 * in the high 32 bits (monotonic seconds, 0: none) and the failures within
 * it in the low 32 bits.
 */
#include "auth_limit.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "sasgw/common.h"

#define WAYS 8
#define NUM_BUCKETS (GW_AUTH_LIMIT_SLOTS / WAYS)
#define CLAIM_ATTEMPTS 4

struct slot {
    _Atomic uint64_t key;
    _Atomic uint64_t state;
};

struct st_gw_auth_limit_t {
    unsigned limit, window;
    uint64_t seed;
    struct slot slots[GW_AUTH_LIMIT_SLOTS];
};

gw_auth_limit_t *gw_auth_limit_create(unsigned limit, unsigned window)
{
    gw_auth_limit_t *l = sg_calloc(1, sizeof(*l));
    l->limit = limit;
    l->window = window != 0 ? window : 1;
    sg_random(&l->seed, sizeof(l->seed));
    for (size_t i = 0; i != GW_AUTH_LIMIT_SLOTS; i++) {
        atomic_init(&l->slots[i].key, 0);
        atomic_init(&l->slots[i].state, 0);
    }
    return l;
}

void gw_auth_limit_destroy(gw_auth_limit_t *limit)
{
    free(limit);
}

uint64_t gw_auth_limit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec + 1;
}

/* The first slot of client's bucket (splitmix64's finaliser over the seeded key). */
static struct slot *bucket_of(gw_auth_limit_t *l, uint64_t client)
{
    uint64_t h = client ^ l->seed;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    return l->slots + (h % NUM_BUCKETS) * WAYS;
}

static uint64_t start_of(uint64_t state)
{
    return state >> 32;
}

static uint32_t count_of(uint64_t state)
{
    return (uint32_t)state;
}

/* Whether state's window has ended (or never began) at now. */
static int expired(const gw_auth_limit_t *l, uint64_t state, uint64_t now)
{
    return start_of(state) == 0 || now >= start_of(state) + l->window;
}

/* The slot holding client, or NULL. */
static struct slot *find(gw_auth_limit_t *l, uint64_t client)
{
    struct slot *b = bucket_of(l, client);
    for (size_t i = 0; i != WAYS; i++)
        if (atomic_load_explicit(&b[i].key, memory_order_acquire) == client)
            return b + i;
    return NULL;
}

/* The slot holding client, claiming one of its bucket when there is none; NULL when every claim lost a race. */
static struct slot *find_or_claim(gw_auth_limit_t *l, uint64_t client, uint64_t now)
{
    struct slot *b = bucket_of(l, client);
    for (int attempt = 0; attempt != CLAIM_ATTEMPTS; attempt++) {
        struct slot *s;
        if ((s = find(l, client)) != NULL)
            return s;
        /* a free slot, else an ended window, else the fewest failures */
        struct slot *victim = NULL;
        uint64_t victim_key = 0, best = UINT64_MAX;
        for (size_t i = 0; i != WAYS; i++) {
            uint64_t key = atomic_load_explicit(&b[i].key, memory_order_acquire);
            uint64_t state = atomic_load_explicit(&b[i].state, memory_order_relaxed);
            uint64_t score = key == 0 ? 0 : expired(l, state, now) ? 1 : 2 + (uint64_t)count_of(state);
            if (score < best) {
                best = score;
                victim = b + i;
                victim_key = key;
            }
        }
        if (atomic_compare_exchange_strong_explicit(&victim->key, &victim_key, client, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            atomic_store_explicit(&victim->state, 0, memory_order_release);
            return victim;
        }
    }
    return NULL;
}

unsigned gw_auth_limit_check(gw_auth_limit_t *limit, uint64_t client, uint64_t now)
{
    if (limit == NULL || limit->limit == 0 || client == 0)
        return 0;
    struct slot *s = find(limit, client);
    if (s == NULL)
        return 0;
    uint64_t state = atomic_load_explicit(&s->state, memory_order_acquire);
    if (expired(limit, state, now) || count_of(state) < limit->limit)
        return 0;
    uint64_t left = start_of(state) + limit->window - now;
    return left != 0 ? (unsigned)left : 1;
}

void gw_auth_limit_failed(gw_auth_limit_t *limit, uint64_t client, uint64_t now)
{
    if (limit == NULL || limit->limit == 0 || client == 0)
        return;
    struct slot *s = find_or_claim(limit, client, now);
    if (s == NULL)
        return;
    uint64_t state = atomic_load_explicit(&s->state, memory_order_acquire), next;
    do {
        if (expired(limit, state, now))
            next = now << 32 | 1;
        else if (count_of(state) != UINT32_MAX)
            next = state + 1;
        else
            return;
    } while (!atomic_compare_exchange_weak_explicit(&s->state, &state, next, memory_order_acq_rel, memory_order_acquire));
}
