/*
 * revset.c - lock-free set of revoked token ids with epoch-based reclamation
 * (see revset.h).
 *
 * A table is open addressing with linear probing over slots of two 64-bit
 * words (the id) and the expiry. The first word doubles as the "occupied"
 * mark: the writer stores the second word and the expiry first, then the
 * first word with release order, so a reader that sees a non-zero first word
 * (acquire) also sees the rest. An id whose first word is zero is stored as 1:
 * it then shares a slot identity only with an id equal in the other 64 bits
 * whose first word is 1 (a 2^-128 event for SHA-256-derived ids).
 * Token ids are SHA-256 output, so the first word serves as the hash.
 */
#include "sasgw/revocation/revset.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

struct slot {
    _Atomic uint64_t w0; /* 0 = empty */
    _Atomic uint64_t w1;
    _Atomic int64_t expiry;
};

struct table {
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t count;
    uint64_t retired_at; /* epoch at which the table stopped being current */
    struct table *next_retired;
    struct slot slots[];
};

struct reader {
    _Atomic uint64_t epoch; /* 0 = outside any lookup */
    char pad[64 - sizeof(uint64_t)];
};

struct gw_revset {
    _Atomic(struct table *) current;
    _Atomic uint64_t epoch; /* starts at 1 */
    _Atomic int nreaders;
    struct table *retired; /* writer only */
    struct reader readers[GW_REVSET_MAX_READERS];
};

struct gw_revset_builder {
    struct table *table;
};

#define MIN_CAPACITY 1024

static struct table *table_new(size_t capacity)
{
    size_t cap = MIN_CAPACITY;
    while (cap < capacity)
        cap <<= 1;
    struct table *t = sg_calloc(1, sizeof(*t) + cap * sizeof(struct slot));
    t->mask = cap - 1;
    return t;
}

static size_t table_bytes(const struct table *t)
{
    return sizeof(*t) + (t->mask + 1) * sizeof(struct slot);
}

static void split_id(const uint8_t id[GW_REVSET_ID_LEN], uint64_t *w0, uint64_t *w1)
{
    memcpy(w0, id, 8);
    memcpy(w1, id + 8, 8);
    if (*w0 == 0)
        *w0 = 1;
}

/* Capacity that keeps count ids at most half full. */
static size_t capacity_for(size_t count)
{
    return count * 2 + 1;
}

/* Inserts into a table that is not yet visible to readers or is the current one (writer only). Returns 1 if added. */
static int table_put(struct table *t, uint64_t w0, uint64_t w1, int64_t expiry)
{
    for (size_t i = (size_t)w0 & t->mask;; i = (i + 1) & t->mask) {
        struct slot *s = &t->slots[i];
        uint64_t cur = atomic_load_explicit(&s->w0, memory_order_relaxed);
        if (cur == 0) {
            atomic_store_explicit(&s->w1, w1, memory_order_relaxed);
            atomic_store_explicit(&s->expiry, expiry, memory_order_relaxed);
            atomic_store_explicit(&s->w0, w0, memory_order_release);
            t->count++;
            return 1;
        }
        if (cur == w0 && atomic_load_explicit(&s->w1, memory_order_relaxed) == w1) {
            if (atomic_load_explicit(&s->expiry, memory_order_relaxed) < expiry)
                atomic_store_explicit(&s->expiry, expiry, memory_order_relaxed);
            return 0;
        }
    }
}

/*
 * Copies the ids of src that expire at or after keep_from, except the one
 * (drop0, drop1) when drop0 is not 0, into a new table sized for extra more.
 */
static struct table *table_rebuild_except(const struct table *src, int64_t keep_from, size_t extra, uint64_t drop0, uint64_t drop1)
{
    struct table *t = table_new(capacity_for(src->count + extra));
    for (size_t i = 0; i <= src->mask; i++) {
        const struct slot *s = &src->slots[i];
        uint64_t w0 = atomic_load_explicit(&s->w0, memory_order_relaxed);
        uint64_t w1 = atomic_load_explicit(&s->w1, memory_order_relaxed);
        int64_t exp = atomic_load_explicit(&s->expiry, memory_order_relaxed);
        if (w0 != 0 && exp >= keep_from && !(w0 == drop0 && w1 == drop1))
            table_put(t, w0, w1, exp);
    }
    return t;
}

/* Copies the ids of src that expire at or after keep_from into a new table sized for extra more. */
static struct table *table_rebuild(const struct table *src, int64_t keep_from, size_t extra)
{
    return table_rebuild_except(src, keep_from, extra, 0, 0);
}

/* Frees retired tables that no reader can still be probing. */
static void reclaim(gw_revset_t *set)
{
    uint64_t oldest = UINT64_MAX;
    int n = atomic_load(&set->nreaders);
    for (int i = 0; i < n; i++) {
        uint64_t e = atomic_load(&set->readers[i].epoch);
        if (e != 0 && e < oldest)
            oldest = e;
    }
    struct table **p = &set->retired;
    while (*p != NULL) {
        struct table *t = *p;
        /* a reader that announced an epoch >= retired_at loaded the pointer after the swap */
        if (oldest >= t->retired_at) {
            *p = t->next_retired;
            free(t);
        } else {
            p = &t->next_retired;
        }
    }
}

/* Publishes t as the current table and retires the previous one (writer only). */
static void publish(gw_revset_t *set, struct table *t)
{
    struct table *old = atomic_exchange(&set->current, t);
    old->retired_at = atomic_fetch_add(&set->epoch, 1) + 1;
    old->next_retired = set->retired;
    set->retired = old;
    reclaim(set);
}

gw_revset_t *gw_revset_create(void)
{
    gw_revset_t *set = sg_calloc(1, sizeof(*set));
    atomic_init(&set->current, table_new(MIN_CAPACITY));
    atomic_init(&set->epoch, 1);
    return set;
}

void gw_revset_destroy(gw_revset_t *set)
{
    if (set == NULL)
        return;
    free(atomic_load(&set->current));
    while (set->retired != NULL) {
        struct table *t = set->retired;
        set->retired = t->next_retired;
        free(t);
    }
    free(set);
}

int gw_revset_register_reader(gw_revset_t *set)
{
    int i = atomic_fetch_add(&set->nreaders, 1);
    if (i >= GW_REVSET_MAX_READERS) {
        atomic_fetch_sub(&set->nreaders, 1);
        return -1;
    }
    return i;
}

int gw_revset_contains(gw_revset_t *set, int reader, const uint8_t id[GW_REVSET_ID_LEN])
{
    uint64_t w0, w1;
    int found = 0;
    split_id(id, &w0, &w1);

    /* announce the epoch before loading the table (both sequentially consistent: store then load) */
    atomic_store(&set->readers[reader].epoch, atomic_load(&set->epoch));
    const struct table *t = atomic_load(&set->current);
    for (size_t i = (size_t)w0 & t->mask;; i = (i + 1) & t->mask) {
        uint64_t cur = atomic_load_explicit(&t->slots[i].w0, memory_order_acquire);
        if (cur == 0)
            break;
        if (cur == w0 && atomic_load_explicit(&t->slots[i].w1, memory_order_relaxed) == w1) {
            found = 1;
            break;
        }
    }
    atomic_store_explicit(&set->readers[reader].epoch, 0, memory_order_release);
    return found;
}

void gw_revset_add(gw_revset_t *set, const uint8_t id[GW_REVSET_ID_LEN], int64_t expiry)
{
    uint64_t w0, w1;
    split_id(id, &w0, &w1);
    struct table *t = atomic_load(&set->current);
    /* grow before the table passes three quarters: readers keep probing the old one meanwhile */
    if ((t->count + 1) * 4 > (t->mask + 1) * 3) {
        struct table *bigger = table_rebuild(t, INT64_MIN, t->count + 1);
        table_put(bigger, w0, w1, expiry);
        publish(set, bigger);
        return;
    }
    table_put(t, w0, w1, expiry);
    reclaim(set);
}

size_t gw_revset_trim(gw_revset_t *set, int64_t now)
{
    struct table *t = atomic_load(&set->current);
    struct table *fresh = table_rebuild(t, now, 0);
    size_t dropped = t->count - fresh->count;
    if (dropped == 0) {
        free(fresh);
        reclaim(set);
        return 0;
    }
    publish(set, fresh);
    return dropped;
}

int gw_revset_remove(gw_revset_t *set, const uint8_t id[GW_REVSET_ID_LEN])
{
    uint64_t w0, w1;
    split_id(id, &w0, &w1);
    struct table *t = atomic_load(&set->current);
    struct table *fresh = table_rebuild_except(t, INT64_MIN, 0, w0, w1);
    if (fresh->count == t->count) {
        free(fresh);
        reclaim(set);
        return 0;
    }
    publish(set, fresh);
    return 1;
}

size_t gw_revset_size(gw_revset_t *set)
{
    return atomic_load(&set->current)->count;
}

size_t gw_revset_memory(gw_revset_t *set)
{
    size_t n = sizeof(*set) + table_bytes(atomic_load(&set->current));
    for (const struct table *t = set->retired; t != NULL; t = t->next_retired)
        n += table_bytes(t);
    return n;
}

gw_revset_builder_t *gw_revset_builder_create(size_t expected)
{
    gw_revset_builder_t *b = sg_alloc(sizeof(*b));
    b->table = table_new(capacity_for(expected));
    return b;
}

void gw_revset_builder_add(gw_revset_builder_t *b, const uint8_t id[GW_REVSET_ID_LEN], int64_t expiry)
{
    uint64_t w0, w1;
    split_id(id, &w0, &w1);
    if ((b->table->count + 1) * 4 > (b->table->mask + 1) * 3) {
        struct table *bigger = table_rebuild(b->table, INT64_MIN, b->table->count + 1);
        free(b->table);
        b->table = bigger;
    }
    table_put(b->table, w0, w1, expiry);
}

void gw_revset_builder_destroy(gw_revset_builder_t *b)
{
    if (b == NULL)
        return;
    free(b->table);
    free(b);
}

void gw_revset_swap(gw_revset_t *set, gw_revset_builder_t *b)
{
    publish(set, b->table);
    free(b);
}
