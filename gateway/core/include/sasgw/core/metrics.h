/*
 * sasgw/core/metrics.h - a small Prometheus registry: counters, gauges and histograms,
 * each a family with fixed label names whose series are created on first use.
 *
 * Updating never takes a lock: a series is found in a lock-free hash table
 * (created under a mutex the first time a label set is seen, never removed
 * until the registry is destroyed), and its values are spread over per-thread
 * shards of relaxed atomics so worker threads do not share cache lines. A
 * series pointer stays valid for the life of the registry, so hot paths
 * resolve it once (gw_metrics_series()) and then update it directly.
 *
 * Family names, help texts and label names must be string literals or outlive
 * the registry. Label values are copied.
 */
#ifndef SASGW_GATEWAY_METRICS_H
#define SASGW_GATEWAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define GW_METRICS_MAX_LABELS 4
#define GW_METRICS_MAX_BUCKETS 24

typedef struct st_gw_metrics_t gw_metrics_t;
typedef struct st_gw_metric_t gw_metric_t; /* a family: one name, one type, fixed label names */
typedef struct st_gw_series_t gw_series_t; /* one label set of a family */

/* Creates an empty registry. */
gw_metrics_t *gw_metrics_create(void);
/* Frees the registry with all its families and series; no other thread may use it any more. */
void gw_metrics_destroy(gw_metrics_t *metrics);

/*
 * Chooses the shard the calling thread updates (the server gives worker i
 * shard i). Threads that never call it use shard 0, which is still correct,
 * only shared.
 */
void gw_metrics_set_thread_shard(unsigned shard);

/*
 * Registers a family. label_names has num_labels entries (at most
 * GW_METRICS_MAX_LABELS). Registering a name twice returns the existing family
 * when its type and labels agree, and aborts otherwise (a programming error).
 * Not for hot paths: call these while setting up.
 */
gw_metric_t *gw_metrics_counter(gw_metrics_t *metrics, const char *name, const char *help, size_t num_labels,
                                const char *const *label_names);
gw_metric_t *gw_metrics_gauge(gw_metrics_t *metrics, const char *name, const char *help, size_t num_labels,
                              const char *const *label_names);
/* buckets: num_buckets upper bounds in increasing order (the +Inf bucket is implicit). */
gw_metric_t *gw_metrics_histogram(gw_metrics_t *metrics, const char *name, const char *help, size_t num_labels,
                                  const char *const *label_names, const double *buckets, size_t num_buckets);

/* Buckets for request latencies in seconds: 0.5 ms to 10 s. */
extern const double gw_metrics_latency_buckets[];
extern const size_t gw_metrics_num_latency_buckets;

/*
 * Returns the series of metric with these label values (as many as the
 * family has label names; NULL when it has none), creating it on first use.
 * The pointer stays valid until gw_metrics_destroy().
 */
gw_series_t *gw_metrics_series(gw_metric_t *metric, const char *const *label_values);

/* Counters: adds n. */
void gw_series_inc(gw_series_t *series, uint64_t n);
/* Gauges: sets, or adds delta (may be negative). */
void gw_series_set(gw_series_t *series, double value);
void gw_series_add(gw_series_t *series, double delta);
/* Histograms: records one observation. */
void gw_series_observe(gw_series_t *series, double value);

/* Shorthands: look the series up, then update it. */
void gw_metrics_inc(gw_metric_t *counter, const char *const *label_values, uint64_t n);
void gw_metrics_set(gw_metric_t *gauge, const char *const *label_values, double value);
void gw_metrics_observe(gw_metric_t *histogram, const char *const *label_values, double value);

/*
 * Registers cb to run before every rendering, so gauges that are cheaper to
 * compute on demand (the age of a key) are fresh. cb runs on the thread that
 * renders, while no other collector runs.
 */
void gw_metrics_on_collect(gw_metrics_t *metrics, void (*cb)(gw_metrics_t *metrics, void *data), void *data);

/*
 * Renders every family in the Prometheus text exposition format (version
 * 0.0.4), families in registration order, series in creation order. Returns a
 * malloc'd NUL-terminated string (the caller frees it) and sets *len.
 */
char *gw_metrics_render(gw_metrics_t *metrics, size_t *len);

#endif
