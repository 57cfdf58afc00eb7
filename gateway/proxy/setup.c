/*
 * setup.c - the proxy's setup (sasgw/proxy.h): the proxy of a server, its
 * per-thread state (the revocation reader slot), the decision environment of
 * a worker, the refusal counter, and the registration of the relay (relay.c,
 * which hands HTTP/2 connections to h2.c) and of the revocation subscriber.
 */
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>

#include "relay.h"
#include "sasgw/common.h"
#include "sasgw/revocation/subscriber.h"

/* Per worker thread. */
struct proxy_thread {
    int reader; /* revset reader slot */
};

void gw_proxy_thread_env(gw_proxy_t *proxy, gw_thread_t *thread, gw_proxy_env_t *env)
{
    struct proxy_thread *pt = gw_thread_module(thread, proxy->module_slot);
    *env = (gw_proxy_env_t){.conf = proxy->conf,
                            .keyring = gw_keyring_thread_current(proxy->keyring, thread),
                            .revset = proxy->revocation != NULL ? gw_revocation_set(proxy->revocation) : NULL,
                            .revset_reader = pt->reader,
                            .revocation_stale = proxy->revocation != NULL && !proxy->conf->revocation.fail_open &&
                                                gw_revocation_stale(proxy->revocation),
                            .now = sas_time_now()};
}

void gw_proxy_count_refusal(gw_proxy_t *proxy, const char *code)
{
    gw_series_inc(gw_metrics_series(proxy->decisions, (const char *[]){code}), 1);
}

static void *on_thread_init(gw_thread_t *thread, void *data)
{
    gw_proxy_t *proxy = data;
    struct proxy_thread *pt = sg_calloc(1, sizeof(*pt));
    pt->reader = proxy->revocation != NULL ? gw_revset_register_reader(gw_revocation_set(proxy->revocation)) : -1;
    if (proxy->revocation != NULL && pt->reader < 0) {
        fprintf(stderr, "sasgw: proxy: too many revocation readers\n");
        abort();
    }
    pthread_mutex_lock(&proxy->lock);
    proxy->threads_alive++;
    pthread_mutex_unlock(&proxy->lock);
    return pt;
}

/* The last worker to stop takes the revocation thread down with it. */
static void on_thread_dispose(gw_thread_t *thread, void *instance, void *data)
{
    gw_proxy_t *proxy = data;
    free(instance);
    pthread_mutex_lock(&proxy->lock);
    int last = --proxy->threads_alive == 0;
    pthread_mutex_unlock(&proxy->lock);
    if (last) {
        gw_revocation_destroy(proxy->revocation);
        proxy->revocation = NULL;
    }
}

int gw_proxy_setup(gw_server_t *server, gw_app_t *app, char *err, size_t errlen)
{
    static const char *const decision_labels[] = {"code"};
    const gw_config_t *conf = gw_app_config(app);
    if (!conf->proxy.enabled)
        return 0;
    gw_proxy_t *proxy = sg_calloc(1, sizeof(*proxy));
    proxy->server = server;
    proxy->app = app;
    proxy->conf = conf;
    proxy->keyring = gw_app_keyring(app);
    pthread_mutex_init(&proxy->lock, NULL);
    proxy->decisions = gw_metrics_counter(gw_server_metrics(server), "sasgw_proxy_refusals_total",
                                          "Requests the proxy refused, by Azure error code.", 1, decision_labels);
    if ((proxy->revocation = gw_revocation_create(conf, gw_server_metrics(server), proxy->keyring, err, errlen)) == NULL)
        return -1;
    if (gw_revocation_start(proxy->revocation, err, errlen) != 0)
        return -1;
    gw_server_add_readiness_check(server, "revocation", gw_revocation_ready, proxy->revocation);
    proxy->module_slot = gw_server_add_thread_module(server, on_thread_init, on_thread_dispose, proxy);
    return gw_relay_setup(server, proxy, app, err, errlen);
}
