/*
 * proxy.h - the proxy's insides shared by its files: the proxy of a server
 * (setup.c), the HTTP/1.1 relay (relay.c) and the HTTP/2 front (h2.c) on the
 * relay's sockets, both forwarding through upstream.h, deciding through
 * decide.h and refusing in azure_error.h's dialect.
 */
#ifndef SASGW_PROXY_PROXY_H
#define SASGW_PROXY_PROXY_H

#include <pthread.h>
#include <stddef.h>

#include "azure_error.h"
#include "decide.h"
#include "sasgw/core/app.h"
#include "sasgw/core/keyring_live.h"
#include "sasgw/core/metrics.h"
#include "sasgw/core/server.h"
#include "sasgw/proxy.h"
#include "sasgw/revocation/subscriber.h"

typedef struct st_gw_proxy_t gw_proxy_t;

/* The proxy of a server: one per gw_proxy_setup(). */
struct st_gw_proxy_t {
    gw_server_t *server;
    gw_app_t *app;
    const gw_config_t *conf;
    gw_keyring_live_t *keyring;
    gw_revocation_t *revocation;
    size_t module_slot;
    size_t threads_alive;
    pthread_mutex_t lock; /* threads_alive */
    gw_metric_t *decisions;
};

/* ---- for both fronts (relay.c, h2.c), on a worker thread ---- */

/* The decision environment of this worker now: its keyring snapshot, revocation set and reader, staleness, clock. */
void gw_proxy_thread_env(gw_proxy_t *proxy, gw_thread_t *thread, gw_proxy_env_t *env);
/* Counts a refusal in sasgw_proxy_refusals_total{code}. */
void gw_proxy_count_refusal(gw_proxy_t *proxy, const char *code);

#endif
