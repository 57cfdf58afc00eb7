/* Tests gateway/core/metrics.c: the exposition format, label escaping, histograms, and concurrent updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/core/metrics.h"

static void renders_counters_and_gauges(void **state)
{
    static const char *const labels[] = {"result"};
    gw_metrics_t *m = gw_metrics_create();
    gw_metric_t *mints = gw_metrics_counter(m, "sasgw_mints_total", "Tokens minted,\nby result.", 1, labels);
    gw_metric_t *age = gw_metrics_gauge(m, "sasgw_key_age_seconds", "Age of the newest key.", 0, NULL);
    assert_ptr_equal(gw_metrics_counter(m, "sasgw_mints_total", "again", 1, labels), mints);
    gw_metrics_inc(mints, (const char *[]){"ok"}, 2);
    gw_metrics_inc(mints, (const char *[]){"denied \"x\"\\\n"}, 1);
    gw_metrics_inc(mints, (const char *[]){"ok"}, 1);
    gw_series_set(gw_metrics_series(age, NULL), 12.5);
    gw_series_add(gw_metrics_series(age, NULL), -2.5);

    size_t len;
    char *text = gw_metrics_render(m, &len);
    assert_int_equal(strlen(text), len);
    assert_string_equal(text, "# HELP sasgw_mints_total Tokens minted,\\nby result.\n"
                              "# TYPE sasgw_mints_total counter\n"
                              "sasgw_mints_total{result=\"ok\"} 3\n"
                              "sasgw_mints_total{result=\"denied \\\"x\\\"\\\\\\n\"} 1\n"
                              "# HELP sasgw_key_age_seconds Age of the newest key.\n"
                              "# TYPE sasgw_key_age_seconds gauge\n"
                              "sasgw_key_age_seconds 10\n");
    free(text);
    gw_metrics_destroy(m);
}

static void renders_histograms(void **state)
{
    static const char *const labels[] = {"route"};
    static const double buckets[] = {0.1, 1};
    gw_metrics_t *m = gw_metrics_create();
    gw_metric_t *h = gw_metrics_histogram(m, "lat_seconds", "Latency.", 1, labels, buckets, 2);
    gw_series_t *s = gw_metrics_series(h, (const char *[]){"/v1/sas"});
    gw_series_observe(s, 0.05);
    gw_series_observe(s, 0.1);
    gw_series_observe(s, 0.5);
    gw_series_observe(s, 7);
    size_t len;
    char *text = gw_metrics_render(m, &len);
    assert_string_equal(text, "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n"
                              "lat_seconds_bucket{route=\"/v1/sas\",le=\"0.1\"} 2\n"
                              "lat_seconds_bucket{route=\"/v1/sas\",le=\"1\"} 3\n"
                              "lat_seconds_bucket{route=\"/v1/sas\",le=\"+Inf\"} 4\n"
                              "lat_seconds_sum{route=\"/v1/sas\"} 7.65\n"
                              "lat_seconds_count{route=\"/v1/sas\"} 4\n");
    free(text);
    gw_metrics_destroy(m);
}

static void on_collect(gw_metrics_t *m, void *data)
{
    gw_metrics_set(data, NULL, 42);
}

static void runs_collectors(void **state)
{
    gw_metrics_t *m = gw_metrics_create();
    gw_metric_t *g = gw_metrics_gauge(m, "g", "G.", 0, NULL);
    gw_metrics_on_collect(m, on_collect, g);
    size_t len;
    char *text = gw_metrics_render(m, &len);
    assert_non_null(strstr(text, "\ng 42\n"));
    free(text);
    gw_metrics_destroy(m);
}

struct worker {
    gw_metric_t *counter, *histogram;
    unsigned shard;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char label[8];
    gw_metrics_set_thread_shard(w->shard);
    for (int i = 0; i != 20000; i++) {
        label[0] = (char)('a' + i % 5);
        label[1] = '\0';
        gw_metrics_inc(w->counter, (const char *[]){label}, 1);
        gw_metrics_observe(w->histogram, (const char *[]){label}, 0.25);
    }
    return NULL;
}

static void counts_across_threads(void **state)
{
    static const char *const labels[] = {"k"};
    gw_metrics_t *m = gw_metrics_create();
    struct worker workers[8];
    pthread_t tids[8];
    gw_metric_t *c = gw_metrics_counter(m, "c_total", "C.", 1, labels);
    gw_metric_t *h = gw_metrics_histogram(m, "h", "H.", 1, labels, gw_metrics_latency_buckets, gw_metrics_num_latency_buckets);
    for (unsigned i = 0; i != 8; i++) {
        workers[i] = (struct worker){c, h, i};
        pthread_create(tids + i, NULL, hammer, workers + i);
    }
    for (unsigned i = 0; i != 8; i++)
        pthread_join(tids[i], NULL);
    size_t len;
    char *text = gw_metrics_render(m, &len);
    for (char k = 'a'; k != 'f'; k++) {
        char line[64];
        snprintf(line, sizeof(line), "c_total{k=\"%c\"} 32000\n", k);
        assert_non_null(strstr(text, line));
        snprintf(line, sizeof(line), "h_sum{k=\"%c\"} 8000\n", k);
        assert_non_null(strstr(text, line));
        snprintf(line, sizeof(line), "h_count{k=\"%c\"} 32000\n", k);
        assert_non_null(strstr(text, line));
    }
    free(text);
    gw_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_counters_and_gauges),
        cmocka_unit_test(renders_histograms),
        cmocka_unit_test(runs_collectors),
        cmocka_unit_test(counts_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
