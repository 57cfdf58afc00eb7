/*
 * sasgw/core/server.h - the sasgw server core: h2o listeners for its services (the
 * issuer, the proxy and the Key Vault API), worker threads each with its own event loop and
 * SO_REUSEPORT listening sockets, graceful shutdown and reload on signals,
 * built-in routes (/healthz, /readyz, /metrics) and the hooks other modules
 * plug into.
 *
 * Life of a server:
 *
 *     gw_server_t *server = gw_server_create(conf, 0);
 *     gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/sas", on_mint, api);
 *     gw_server_on_setup(server, setup_proxy_paths, proxy);    // raw h2o configuration
 *     gw_server_add_thread_module(server, redis_init, redis_dispose, NULL);
 *     gw_server_add_readiness_check(server, "redis", redis_ready, NULL);
 *     gw_server_on_reload(server, reload_policy, api);
 *     if (gw_server_start(server, err, sizeof(err)) != 0) ...   // binds, prints, spawns workers
 *     gw_server_wait(server);       // signals; returns after a graceful shutdown
 *     gw_server_destroy(server);
 *
 * Everything registered must be registered before gw_server_start(); the
 * registration functions are not thread-safe and abort when called later.
 *
 * Requests to a service are matched in this order: paths registered by setup
 * hooks on the service's hostconf (h2o's prefix match, in registration order),
 * then the service's route table at "/" (exact patterns, see http.h), then a
 * 404 JSON error. A path that matches a route pattern with another method gets
 * 405 with an Allow header.
 */
#ifndef SASGW_GATEWAY_SERVER_H
#define SASGW_GATEWAY_SERVER_H

#include <h2o.h>

#include "sasgw/core/config.h"
#include "sasgw/core/http.h"
#include "sasgw/core/metrics.h"

typedef enum en_gw_service_t {
    GW_SERVICE_ISSUER = 1,  /* the issuing and admin API */
    GW_SERVICE_PROXY = 2,   /* the validating reverse proxy */
    GW_SERVICE_KEYVAULT = 3 /* the Key Vault-compatible API (gateway/keyvault), when `keyvault:` is configured */
} gw_service_t;

typedef struct st_gw_server_t gw_server_t;
typedef struct st_gw_thread_t gw_thread_t;

/* How long a graceful shutdown waits for in-flight requests before closing what is left. */
#define GW_SERVER_SHUTDOWN_GRACE_MS 5000

/*
 * Creates a server for conf (which must outlive it). num_threads overrides
 * conf->threads when non-zero; with both 0 there is one worker per core.
 * Registers the built-in routes and metrics. Binds nothing yet.
 */
gw_server_t *gw_server_create(const gw_config_t *conf, unsigned num_threads);
/* Frees the server; after gw_server_wait() returned, or when gw_server_start() failed or was never called. */
void gw_server_destroy(gw_server_t *server);

const gw_config_t *gw_server_config(gw_server_t *server);
gw_metrics_t *gw_server_metrics(gw_server_t *server);
size_t gw_server_num_threads(gw_server_t *server);
/*
 * h2o's global configuration of a service (each service has its own, built by
 * gw_server_start()), e.g. to adjust limits in a setup hook.
 */
h2o_globalconf_t *gw_server_globalconf(gw_server_t *server, gw_service_t service);

/*
 * A route handler: runs on the request's loop thread, must send a response
 * (now or later) and return 0. match holds the decoded pattern parameters; it
 * lives on the stack, so copy what must outlive the call (the values
 * themselves are in req->pool).
 */
typedef int (*gw_route_cb)(h2o_req_t *req, const gw_route_match_t *match, void *data);

/*
 * Adds a route to a service's route table: method ("GET", "POST", ...) and a
 * pattern per http.h. Routes match in registration order. Returns 0, or -1
 * when the pattern is malformed. The pattern doubles as the `route` label of
 * the HTTP metrics.
 */
int gw_server_add_route(gw_server_t *server, gw_service_t service, const char *method, const char *pattern, gw_route_cb cb,
                        void *data);

/*
 * A setup hook: called once per service present in the configuration while
 * gw_server_start() builds h2o's configuration, before the route table is
 * registered at "/". Use it to register paths on the service's hostconf
 * (h2o_config_register_path(), h2o_create_handler(), and behind a handler
 * h2o_proxy_register_reverse_proxy() on the same pathconf). Returns 0, or -1
 * after writing a sentence into err, which makes gw_server_start() fail.
 */
typedef int (*gw_setup_cb)(gw_server_t *server, gw_service_t service, h2o_hostconf_t *hostconf, void *data, char *err,
                           size_t errlen);
void gw_server_on_setup(gw_server_t *server, gw_setup_cb cb, void *data);

/*
 * A per-thread module: init runs on each worker thread after its h2o context
 * exists and before it accepts connections; what it returns is that thread's
 * instance (gw_thread_module()). dispose (may be NULL) runs on the same
 * thread during shutdown, after the listeners closed, before the loop is
 * destroyed. Returns the module's slot.
 */
typedef void *(*gw_thread_init_cb)(gw_thread_t *thread, void *data);
typedef void (*gw_thread_dispose_cb)(gw_thread_t *thread, void *instance, void *data);
size_t gw_server_add_thread_module(gw_server_t *server, gw_thread_init_cb init, gw_thread_dispose_cb dispose, void *data);

/*
 * A readiness check for GET /readyz: returns 1 when ready, or 0 after writing
 * why it is not into why (never a secret). Called on whichever worker thread
 * serves the request, so it must be thread-safe (read atomics or a lock).
 */
typedef int (*gw_readiness_cb)(void *data, char *why, size_t whylen);
void gw_server_add_readiness_check(gw_server_t *server, const char *name, gw_readiness_cb cb, void *data);

/*
 * A reload hook, run on worker thread 0's loop when the process gets SIGHUP
 * (or gw_server_reload() is called). Hooks run in registration order; a hook
 * that fails should log why and keep the old state in force.
 */
typedef void (*gw_reload_cb)(gw_server_t *server, void *data);
void gw_server_on_reload(gw_server_t *server, gw_reload_cb cb, void *data);

/*
 * Builds the h2o configuration, opens the TLS contexts, binds every listener
 * once per worker thread (SO_REUSEPORT), prints one line per listener and
 * starts the workers. Blocks SIGTERM, SIGINT and SIGHUP in the calling thread
 * (workers inherit the mask) and ignores SIGPIPE. Returns 0, or -1 after
 * writing a sentence into err (nothing is left running then).
 */
int gw_server_start(gw_server_t *server, char *err, size_t errlen);

/* The socket address of a `listen:` entry (its address is numeric, checked by the config loader). Returns its length. */
socklen_t gw_listen_sockaddr(const gw_listen_config_t *l, struct sockaddr_storage *ss);

/*
 * Waits for SIGTERM/SIGINT (or gw_server_stop()), handling SIGHUP meanwhile,
 * then shuts down gracefully: listeners close, idle connections close,
 * in-flight requests get up to GW_SERVER_SHUTDOWN_GRACE_MS to finish, thread
 * modules are disposed and the workers joined. Returns 0.
 */
int gw_server_wait(gw_server_t *server);
/* Asks gw_server_wait() to shut down; callable from any thread, or a signal handler. */
void gw_server_stop(gw_server_t *server);
/* Runs the reload hooks on worker thread 0 as SIGHUP would; callable from any thread. */
void gw_server_reload(gw_server_t *server);

/*
 * Runs fn(thread, arg) on every worker's loop thread. When all have run, done
 * (may be NULL) is called with arg on the thread that ran last, so arg may be
 * freed there. Callable from any thread once the server started; returns -1
 * (and runs nothing) when the server is not running.
 */
typedef void (*gw_thread_fn)(gw_thread_t *thread, void *arg);
int gw_server_broadcast(gw_server_t *server, gw_thread_fn fn, void *arg, void (*done)(void *arg));
/* Runs fn(thread, arg) on one worker's loop thread. Returns -1 when the server is not running. */
int gw_thread_run(gw_thread_t *thread, gw_thread_fn fn, void *arg);

/*
 * An acceptor: takes over every connection accepted on the service's
 * listeners instead of h2o (which gets them when no acceptor is set). It runs
 * on the worker's loop; ctx is the listener's h2o accept context (its ssl_ctx
 * is the listener's TLS context or NULL), to hand a connection back to h2o
 * with h2o_accept() or h2o_http2_accept(). The server counts the connection
 * until the socket closes, whoever closes it.
 */
typedef void (*gw_accept_cb)(gw_thread_t *thread, h2o_accept_ctx_t *ctx, h2o_socket_t *sock, void *data);
void gw_server_set_acceptor(gw_server_t *server, gw_service_t service, gw_accept_cb cb, void *data);
/*
 * 1 when the listener whose accept context (as an acceptor receives it) is
 * ctx offers HTTP/2: issuer listeners always, proxy listeners with `http2:
 * true`. TLS contexts of the others offer ALPN http/1.1 alone.
 */
int gw_server_accept_http2(const h2o_accept_ctx_t *ctx);

/*
 * A shutdown hook: runs on every worker's loop when a graceful shutdown
 * begins (after the listeners closed), to close idle connections the module
 * owns; the loop then runs until every accepted connection closed or the grace
 * period ended.
 */
void gw_server_on_shutdown(gw_server_t *server, gw_thread_fn cb, void *data);

/*
 * Counts one request in the HTTP metrics (sasgw_http_requests_total and
 * sasgw_http_request_duration_seconds) for connections h2o does not serve.
 * route as for gw_http_set_route_label(); usec < 0 leaves the duration out.
 */
void gw_server_count_request(gw_server_t *server, gw_service_t service, const char *route, int status, int64_t usec);

/* Worker threads. */
gw_thread_t *gw_server_thread(gw_server_t *server, size_t index);
gw_server_t *gw_thread_server(gw_thread_t *thread);
size_t gw_thread_index(gw_thread_t *thread);
h2o_evloop_t *gw_thread_loop(gw_thread_t *thread);
/*
 * An h2o context on the thread's loop (that of its first enabled service: each
 * service has one), for what any context serves: its multithread queue, its
 * hostinfo receiver.
 */
h2o_context_t *gw_thread_context(gw_thread_t *thread);
/* The instance the module in this slot returned from its init on this thread. */
void *gw_thread_module(gw_thread_t *thread, size_t slot);
/* The worker thread that serves req. */
gw_thread_t *gw_thread_of(h2o_req_t *req);

#endif
