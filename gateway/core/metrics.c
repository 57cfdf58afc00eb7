/*
 * metrics.c - the Prometheus registry of metrics.h.
 *
 * Each series holds its values in NUM_SHARDS cache-line-sized cells; a thread
 * adds to the cell of its shard with a relaxed atomic, and the renderer sums
 * the cells. Series are published into a fixed hash table with release stores
 * and read with acquire loads, so lookups never lock.
 */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"
#include "sasgw/core/metrics.h"

#define NUM_SHARDS 16
#define NUM_HASH 64
#define CELL_WORDS 8 /* uint64 per cache line */

const double gw_metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const size_t gw_metrics_num_latency_buckets = sizeof(gw_metrics_latency_buckets) / sizeof(gw_metrics_latency_buckets[0]);

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

struct st_gw_series_t {
    gw_metric_t *metric;
    _Atomic(gw_series_t *) hash_next;
    gw_series_t *order_next;
    uint64_t hash;
    char *label_values[GW_METRICS_MAX_LABELS];
    _Atomic uint64_t gauge_bits; /* gauges: the double's bits */
    /* counters: NUM_SHARDS cells of one word; histograms: NUM_SHARDS cells of `stride` words
     * (bucket counts, then +Inf, then the sum's bits); 64-byte aligned */
    _Atomic uint64_t *cells;
};

struct st_gw_metric_t {
    gw_metrics_t *registry;
    gw_metric_t *next;
    const char *name, *help;
    kind_t kind;
    size_t num_labels;
    const char *label_names[GW_METRICS_MAX_LABELS];
    double buckets[GW_METRICS_MAX_BUCKETS];
    size_t num_buckets;
    size_t stride; /* words per shard cell */
    _Atomic(gw_series_t *) table[NUM_HASH];
    gw_series_t *first, **last;
};

struct collector {
    void (*cb)(gw_metrics_t *, void *);
    void *data;
};

struct st_gw_metrics_t {
    pthread_mutex_t lock;        /* creation of families and series, rendering */
    pthread_mutex_t render_lock; /* one rendering (and its collectors) at a time */
    gw_metric_t *first, **last;
    struct collector *collectors;
    size_t num_collectors;
};

static _Thread_local unsigned thread_shard;

gw_metrics_t *gw_metrics_create(void)
{
    gw_metrics_t *m = sg_calloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->render_lock, NULL);
    m->last = &m->first;
    return m;
}

void gw_metrics_destroy(gw_metrics_t *m)
{
    if (m == NULL)
        return;
    while (m->first != NULL) {
        gw_metric_t *metric = m->first;
        m->first = metric->next;
        while (metric->first != NULL) {
            gw_series_t *s = metric->first;
            metric->first = s->order_next;
            for (size_t i = 0; i != metric->num_labels; i++)
                free(s->label_values[i]);
            free(s->cells);
            free(s);
        }
        free(metric);
    }
    free(m->collectors);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->render_lock);
    free(m);
}

void gw_metrics_set_thread_shard(unsigned shard)
{
    thread_shard = shard % NUM_SHARDS;
}

static gw_metric_t *register_family(gw_metrics_t *m, kind_t kind, const char *name, const char *help, size_t num_labels,
                                    const char *const *label_names, const double *buckets, size_t num_buckets)
{
    if (num_labels > GW_METRICS_MAX_LABELS || num_buckets > GW_METRICS_MAX_BUCKETS) {
        fprintf(stderr, "sasgw: metric %s: too many labels or buckets\n", name);
        abort();
    }
    pthread_mutex_lock(&m->lock);
    for (gw_metric_t *f = m->first; f != NULL; f = f->next) {
        if (strcmp(f->name, name) != 0)
            continue;
        int same = f->kind == kind && f->num_labels == num_labels && f->num_buckets == num_buckets;
        for (size_t i = 0; same && i != num_labels; i++)
            same = strcmp(f->label_names[i], label_names[i]) == 0;
        pthread_mutex_unlock(&m->lock);
        if (!same) {
            fprintf(stderr, "sasgw: metric %s registered twice with different types or labels\n", name);
            abort();
        }
        return f;
    }
    gw_metric_t *f = sg_calloc(1, sizeof(*f));
    f->registry = m;
    f->name = name;
    f->help = help;
    f->kind = kind;
    f->num_labels = num_labels;
    for (size_t i = 0; i != num_labels; i++)
        f->label_names[i] = label_names[i];
    for (size_t i = 0; i != num_buckets; i++) {
        f->buckets[i] = buckets[i];
        assert(i == 0 || buckets[i] > buckets[i - 1]);
    }
    f->num_buckets = num_buckets;
    f->stride = kind == KIND_HISTOGRAM ? (num_buckets + 2 + CELL_WORDS - 1) / CELL_WORDS * CELL_WORDS : CELL_WORDS;
    for (size_t i = 0; i != NUM_HASH; i++)
        atomic_init(&f->table[i], NULL);
    f->last = &f->first;
    *m->last = f;
    m->last = &f->next;
    pthread_mutex_unlock(&m->lock);
    return f;
}

gw_metric_t *gw_metrics_counter(gw_metrics_t *m, const char *name, const char *help, size_t num_labels,
                                const char *const *label_names)
{
    return register_family(m, KIND_COUNTER, name, help, num_labels, label_names, NULL, 0);
}

gw_metric_t *gw_metrics_gauge(gw_metrics_t *m, const char *name, const char *help, size_t num_labels,
                              const char *const *label_names)
{
    return register_family(m, KIND_GAUGE, name, help, num_labels, label_names, NULL, 0);
}

gw_metric_t *gw_metrics_histogram(gw_metrics_t *m, const char *name, const char *help, size_t num_labels,
                                  const char *const *label_names, const double *buckets, size_t num_buckets)
{
    return register_family(m, KIND_HISTOGRAM, name, help, num_labels, label_names, buckets, num_buckets);
}

static uint64_t hash_labels(size_t n, const char *const *values)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i != n; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p != '\0'; p++)
            h = (h ^ *p) * 1099511628211u;
        h = (h ^ 0xff) * 1099511628211u; /* separator: ("ab","c") differs from ("a","bc") */
    }
    return h;
}

static gw_series_t *find_series(gw_metric_t *f, uint64_t h, const char *const *values)
{
    for (gw_series_t *s = atomic_load_explicit(&f->table[h % NUM_HASH], memory_order_acquire); s != NULL;
         s = atomic_load_explicit(&s->hash_next, memory_order_acquire)) {
        if (s->hash != h)
            continue;
        size_t i;
        for (i = 0; i != f->num_labels; i++)
            if (strcmp(s->label_values[i], values[i]) != 0)
                break;
        if (i == f->num_labels)
            return s;
    }
    return NULL;
}

gw_series_t *gw_metrics_series(gw_metric_t *f, const char *const *values)
{
    uint64_t h = hash_labels(f->num_labels, values);
    gw_series_t *s;
    if ((s = find_series(f, h, values)) != NULL)
        return s;

    pthread_mutex_lock(&f->registry->lock);
    if ((s = find_series(f, h, values)) == NULL) {
        s = sg_calloc(1, sizeof(*s));
        s->metric = f;
        s->hash = h;
        for (size_t i = 0; i != f->num_labels; i++)
            s->label_values[i] = sg_strdup(values[i]);
        atomic_init(&s->gauge_bits, 0);
        size_t bytes = NUM_SHARDS * f->stride * sizeof(uint64_t);
        if ((s->cells = aligned_alloc(64, bytes)) == NULL) {
            fprintf(stderr, "sasgw: out of memory\n");
            abort();
        }
        for (size_t i = 0; i != NUM_SHARDS * f->stride; i++)
            atomic_init(&s->cells[i], 0);
        /* creation order for rendering, then publish to readers */
        *f->last = s;
        f->last = &s->order_next;
        atomic_init(&s->hash_next, atomic_load_explicit(&f->table[h % NUM_HASH], memory_order_relaxed));
        atomic_store_explicit(&f->table[h % NUM_HASH], s, memory_order_release);
    }
    pthread_mutex_unlock(&f->registry->lock);
    return s;
}

static inline _Atomic uint64_t *shard_cell(gw_series_t *s)
{
    return s->cells + (size_t)thread_shard * s->metric->stride;
}

void gw_series_inc(gw_series_t *s, uint64_t n)
{
    atomic_fetch_add_explicit(shard_cell(s), n, memory_order_relaxed);
}

static uint64_t double_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

static double bits_double(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static void add_double(_Atomic uint64_t *slot, double delta)
{
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(slot, &old, double_bits(bits_double(old) + delta), memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

void gw_series_set(gw_series_t *s, double value)
{
    atomic_store_explicit(&s->gauge_bits, double_bits(value), memory_order_relaxed);
}

void gw_series_add(gw_series_t *s, double delta)
{
    add_double(&s->gauge_bits, delta);
}

void gw_series_observe(gw_series_t *s, double value)
{
    gw_metric_t *f = s->metric;
    _Atomic uint64_t *cell = shard_cell(s);
    size_t i = 0;
    while (i != f->num_buckets && !(value <= f->buckets[i]))
        i++;
    atomic_fetch_add_explicit(cell + i, 1, memory_order_relaxed);
    add_double(cell + f->num_buckets + 1, value);
}

void gw_metrics_inc(gw_metric_t *counter, const char *const *values, uint64_t n)
{
    gw_series_inc(gw_metrics_series(counter, values), n);
}

void gw_metrics_set(gw_metric_t *gauge, const char *const *values, double value)
{
    gw_series_set(gw_metrics_series(gauge, values), value);
}

void gw_metrics_observe(gw_metric_t *histogram, const char *const *values, double value)
{
    gw_series_observe(gw_metrics_series(histogram, values), value);
}

void gw_metrics_on_collect(gw_metrics_t *m, void (*cb)(gw_metrics_t *, void *), void *data)
{
    pthread_mutex_lock(&m->render_lock);
    m->collectors = sg_realloc(m->collectors, (m->num_collectors + 1) * sizeof(*m->collectors));
    m->collectors[m->num_collectors++] = (struct collector){cb, data};
    pthread_mutex_unlock(&m->render_lock);
}

/* A growable output buffer. */
struct out {
    char *buf;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        assert(n >= 0);
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        o->cap = o->cap * 2 + (size_t)n;
        o->buf = sg_realloc(o->buf, o->cap);
    }
}

/* Label values escape backslash, double quote and newline; HELP texts backslash and newline. */
static void out_escaped(struct out *o, const char *s, int quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            out_printf(o, "\\\\");
        else if (*s == '\n')
            out_printf(o, "\\n");
        else if (*s == '"' && quote)
            out_printf(o, "\\\"");
        else
            out_printf(o, "%c", *s);
    }
}

/* A float in the exposition format: shortest round-tripping form, NaN, +Inf, -Inf. */
static void out_double(struct out *o, double v)
{
    if (isnan(v)) {
        out_printf(o, "NaN");
    } else if (isinf(v)) {
        out_printf(o, v > 0 ? "+Inf" : "-Inf");
    } else {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof(tmp), "%.17g", v);
        out_printf(o, "%s", tmp);
    }
}

/* Writes `{a="x",b="y"` plus the optional extra label, and the closing brace (nothing when there are no labels). */
static void out_labels(struct out *o, gw_series_t *s, const char *extra_name, const char *extra_value)
{
    gw_metric_t *f = s->metric;
    if (f->num_labels == 0 && extra_name == NULL)
        return;
    out_printf(o, "{");
    for (size_t i = 0; i != f->num_labels; i++) {
        out_printf(o, "%s%s=\"", i == 0 ? "" : ",", f->label_names[i]);
        out_escaped(o, s->label_values[i], 1);
        out_printf(o, "\"");
    }
    if (extra_name != NULL)
        out_printf(o, "%s%s=\"%s\"", f->num_labels == 0 ? "" : ",", extra_name, extra_value);
    out_printf(o, "}");
}

static void render_series(struct out *o, gw_series_t *s)
{
    gw_metric_t *f = s->metric;
    switch (f->kind) {
    case KIND_COUNTER: {
        uint64_t total = 0;
        for (size_t i = 0; i != NUM_SHARDS; i++)
            total += atomic_load_explicit(s->cells + i * f->stride, memory_order_relaxed);
        out_printf(o, "%s", f->name);
        out_labels(o, s, NULL, NULL);
        out_printf(o, " %llu\n", (unsigned long long)total);
        break;
    }
    case KIND_GAUGE:
        out_printf(o, "%s", f->name);
        out_labels(o, s, NULL, NULL);
        out_printf(o, " ");
        out_double(o, bits_double(atomic_load_explicit(&s->gauge_bits, memory_order_relaxed)));
        out_printf(o, "\n");
        break;
    case KIND_HISTOGRAM: {
        uint64_t cumulative = 0;
        double sum = 0;
        for (size_t b = 0; b <= f->num_buckets; b++) {
            for (size_t i = 0; i != NUM_SHARDS; i++)
                cumulative += atomic_load_explicit(s->cells + i * f->stride + b, memory_order_relaxed);
            char le[32];
            if (b == f->num_buckets)
                snprintf(le, sizeof(le), "+Inf");
            else
                snprintf(le, sizeof(le), "%g", f->buckets[b]);
            out_printf(o, "%s_bucket", f->name);
            out_labels(o, s, "le", le);
            out_printf(o, " %llu\n", (unsigned long long)cumulative);
        }
        for (size_t i = 0; i != NUM_SHARDS; i++)
            sum += bits_double(atomic_load_explicit(s->cells + i * f->stride + f->num_buckets + 1, memory_order_relaxed));
        out_printf(o, "%s_sum", f->name);
        out_labels(o, s, NULL, NULL);
        out_printf(o, " ");
        out_double(o, sum);
        out_printf(o, "\n%s_count", f->name);
        out_labels(o, s, NULL, NULL);
        out_printf(o, " %llu\n", (unsigned long long)cumulative);
        break;
    }
    }
}

char *gw_metrics_render(gw_metrics_t *m, size_t *len)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    struct out o = {sg_alloc(4096), 0, 4096};
    o.buf[0] = '\0';

    pthread_mutex_lock(&m->render_lock);
    for (size_t i = 0; i != m->num_collectors; i++)
        m->collectors[i].cb(m, m->collectors[i].data);
    pthread_mutex_lock(&m->lock);
    for (gw_metric_t *f = m->first; f != NULL; f = f->next) {
        out_printf(&o, "# HELP %s ", f->name);
        out_escaped(&o, f->help, 0);
        out_printf(&o, "\n# TYPE %s %s\n", f->name, type_names[f->kind]);
        for (gw_series_t *s = f->first; s != NULL; s = s->order_next)
            render_series(&o, s);
    }
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_unlock(&m->render_lock);
    *len = o.len;
    return o.buf;
}
