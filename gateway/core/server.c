/*
 * server.c - listeners, worker threads, signals, the route table and the
 * built-in routes of sasgw's services (server.h): the issuer, the proxy and
 * the Key Vault API (whose Key Vault bodies are bounded like the issuer's).
 *
 * Each service has its own h2o globalconf holding its one hostconf, so that
 * limits h2o applies before any handler runs differ per service: the
 * issuer's max_request_entity_size is issuer.max_body (h2o answers 413 to a
 * larger HTTP/1.1 body before buffering it, and resets an HTTP/2 stream whose
 * body grows past it); the proxy's connections are all taken by its acceptor
 * (relay.c and nghttp2 in h2.c), which bound bodies themselves. Every listener's accept context points at the hostconf of its
 * service only, so a request is served by the service of the socket it came
 * in on, whatever its Host header says. Each worker thread owns an event
 * loop, an h2o context per enabled service on that loop, and its own
 * listening socket per listener (SO_REUSEPORT: the kernel spreads connections). Signals
 * are blocked in every thread and taken synchronously by gw_server_wait()
 * with sigtimedwait(), so no work happens in a signal handler; work for the
 * loops travels through h2o's multithread queues.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sasgw/common.h"
#include "sasgw/core/server.h"
#include "sasgw/core/tls.h"

#define NUM_SERVICES 3
#define LISTEN_BACKLOG 1024

struct route {
    gw_service_t service;
    char *method;
    char *pattern;
    gw_route_cb cb;
    void *data;
};

struct setup_hook {
    gw_setup_cb cb;
    void *data;
};

struct thread_module {
    gw_thread_init_cb init;
    gw_thread_dispose_cb dispose;
    void *data;
};

struct readiness_check {
    char *name;
    gw_readiness_cb cb;
    void *data;
};

struct reload_hook {
    gw_reload_cb cb;
    void *data;
};

struct acceptor {
    gw_accept_cb cb;
    void *data;
};

struct shutdown_hook {
    gw_thread_fn cb;
    void *data;
};

/* A listener of the configuration, shared by the workers. */
struct listener_config {
    gw_service_t service;
    const gw_listen_config_t *conf;
    SSL_CTX *ssl_ctx;
};

/* A worker's listening socket. */
struct listener {
    gw_thread_t *thread;
    gw_service_t service;
    int http2; /* HTTP/2 is offered (issuer listeners always; proxy listeners with http2, the default with TLS) */
    int fd;
    h2o_socket_t *sock;
    h2o_accept_ctx_t accept_ctx;
};

/* A worker's h2o context for one service (on the worker's loop, with the service's globalconf). */
struct service_context {
    h2o_context_t super;
    gw_thread_t *thread;
    int ready; /* initialised: the service is enabled */
};

struct st_gw_thread_t {
    struct service_context contexts[NUM_SERVICES];
    gw_server_t *server;
    size_t index;
    pthread_t tid;
    h2o_evloop_t *loop;
    h2o_multithread_receiver_t receiver;
    struct listener *listeners;
    void **modules;
    size_t num_connections;
    int shutting_down;
    uint64_t shutdown_deadline;
    int contexts_disposed; /* dispose_contexts() ran */
};

struct st_gw_server_t {
    const gw_config_t *conf;
    size_t num_threads;
    gw_metrics_t *metrics;
    gw_metric_t *http_requests, *http_duration;
    H2O_VECTOR(struct route) routes;
    H2O_VECTOR(struct setup_hook) setup_hooks;
    H2O_VECTOR(struct thread_module) modules;
    H2O_VECTOR(struct readiness_check) readiness;
    H2O_VECTOR(struct reload_hook) reload_hooks;
    H2O_VECTOR(struct shutdown_hook) shutdown_hooks;
    struct acceptor acceptors[NUM_SERVICES];

    /* built by gw_server_start() */
    int started;
    h2o_globalconf_t globalconfs[NUM_SERVICES]; /* one per service, like hosts */
    int globalconf_ready[NUM_SERVICES];
    h2o_hostconf_t *hosts[NUM_SERVICES][2]; /* NULL-terminated, one hostconf per service */
    struct listener_config *listeners;
    size_t num_listeners;
    gw_thread_t *threads;

    /* start-up handshake with the workers */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t num_ready;
    int running; /* tasks accepted (under lock) */

    atomic_int stop_requested;
};

/* A function to run on a loop thread. */
struct task {
    h2o_multithread_message_t super;
    gw_thread_fn fn;
    void *arg;
    struct broadcast *broadcast;
};

struct broadcast {
    atomic_size_t remaining;
    void (*done)(void *arg);
    void *arg;
};

/* The route table of a service, registered at "/". */
struct router {
    h2o_handler_t super;
    gw_server_t *server;
    gw_service_t service;
};

/* Counts every request of a pathconf in the HTTP metrics. */
struct metrics_logger {
    h2o_logger_t super;
    gw_server_t *server;
    const char *service;
    const char *default_route;
};

static const char *service_name(gw_service_t service)
{
    return service == GW_SERVICE_ISSUER ? "issuer" : service == GW_SERVICE_PROXY ? "proxy" : "keyvault";
}

static size_t service_index(gw_service_t service)
{
    return service == GW_SERVICE_ISSUER ? 0 : service == GW_SERVICE_PROXY ? 1 : 2;
}

static void must_not_be_started(gw_server_t *server, const char *what)
{
    if (server->started) {
        fprintf(stderr, "sasgw: %s called after gw_server_start()\n", what);
        abort();
    }
}

/* built-in routes */

static int on_healthz(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_http_send(req, 200, "text/plain; charset=utf-8", H2O_STRLIT("ok\n"));
    return 0;
}

static int on_readyz(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_server_t *server = data;
    json_t *failed = json_array();
    for (size_t i = 0; i != server->readiness.size; i++) {
        struct readiness_check *check = server->readiness.entries + i;
        char why[256] = "";
        if (!check->cb(check->data, why, sizeof(why)))
            json_array_append_new(failed,
                                  json_pack("{s:s, s:s}", "check", check->name, "reason", why[0] != '\0' ? why : "not ready"));
    }
    int ready = json_array_size(failed) == 0;
    gw_http_send_json(req, ready ? 200 : 503, json_pack("{s:b, s:o}", "ready", ready, "failed", failed));
    return 0;
}

static int on_metrics(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_server_t *server = data;
    size_t len;
    char *text = gw_metrics_render(server->metrics, &len);
    gw_http_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return 0;
}

gw_server_t *gw_server_create(const gw_config_t *conf, unsigned num_threads)
{
    static const char *const request_labels[] = {"service", "route", "status"};
    static const char *const duration_labels[] = {"service", "route"};
    gw_server_t *server = sg_calloc(1, sizeof(*server));

    server->conf = conf;
    server->num_threads = num_threads != 0 ? num_threads : conf->threads;
    if (server->num_threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        server->num_threads = cores > 0 ? (size_t)cores : 1;
    }
    if (server->num_threads > GW_CONFIG_MAX_THREADS)
        server->num_threads = GW_CONFIG_MAX_THREADS;
    server->metrics = gw_metrics_create();
    server->http_requests = gw_metrics_counter(server->metrics, "sasgw_http_requests_total",
                                               "HTTP requests served, by service, route and status.", 3, request_labels);
    server->http_duration = gw_metrics_histogram(server->metrics, "sasgw_http_request_duration_seconds",
                                                 "Time from the first byte of a request to the last byte of its response.", 2,
                                                 duration_labels, gw_metrics_latency_buckets, gw_metrics_num_latency_buckets);
    pthread_mutex_init(&server->lock, NULL);
    pthread_cond_init(&server->cond, NULL);
    atomic_init(&server->stop_requested, 0);

    gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", "/healthz", on_healthz, server);
    gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", "/readyz", on_readyz, server);
    gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", "/metrics", on_metrics, server);
    return server;
}

const gw_config_t *gw_server_config(gw_server_t *server)
{
    return server->conf;
}

gw_metrics_t *gw_server_metrics(gw_server_t *server)
{
    return server->metrics;
}

size_t gw_server_num_threads(gw_server_t *server)
{
    return server->num_threads;
}

h2o_globalconf_t *gw_server_globalconf(gw_server_t *server, gw_service_t service)
{
    return &server->globalconfs[service_index(service)];
}

int gw_server_add_route(gw_server_t *server, gw_service_t service, const char *method, const char *pattern, gw_route_cb cb,
                        void *data)
{
    must_not_be_started(server, "gw_server_add_route");
    if (gw_route_pattern_check(pattern) != 0)
        return -1;
    h2o_vector_reserve(NULL, &server->routes, server->routes.size + 1);
    server->routes.entries[server->routes.size++] = (struct route){service, sg_strdup(method), sg_strdup(pattern), cb, data};
    return 0;
}

void gw_server_on_setup(gw_server_t *server, gw_setup_cb cb, void *data)
{
    must_not_be_started(server, "gw_server_on_setup");
    h2o_vector_reserve(NULL, &server->setup_hooks, server->setup_hooks.size + 1);
    server->setup_hooks.entries[server->setup_hooks.size++] = (struct setup_hook){cb, data};
}

size_t gw_server_add_thread_module(gw_server_t *server, gw_thread_init_cb init, gw_thread_dispose_cb dispose, void *data)
{
    must_not_be_started(server, "gw_server_add_thread_module");
    h2o_vector_reserve(NULL, &server->modules, server->modules.size + 1);
    server->modules.entries[server->modules.size] = (struct thread_module){init, dispose, data};
    return server->modules.size++;
}

void gw_server_add_readiness_check(gw_server_t *server, const char *name, gw_readiness_cb cb, void *data)
{
    must_not_be_started(server, "gw_server_add_readiness_check");
    h2o_vector_reserve(NULL, &server->readiness, server->readiness.size + 1);
    server->readiness.entries[server->readiness.size++] = (struct readiness_check){sg_strdup(name), cb, data};
}

void gw_server_set_acceptor(gw_server_t *server, gw_service_t service, gw_accept_cb cb, void *data)
{
    must_not_be_started(server, "gw_server_set_acceptor");
    server->acceptors[service_index(service)] = (struct acceptor){cb, data};
}

void gw_server_on_shutdown(gw_server_t *server, gw_thread_fn cb, void *data)
{
    must_not_be_started(server, "gw_server_on_shutdown");
    h2o_vector_reserve(NULL, &server->shutdown_hooks, server->shutdown_hooks.size + 1);
    server->shutdown_hooks.entries[server->shutdown_hooks.size++] = (struct shutdown_hook){cb, data};
}

void gw_server_on_reload(gw_server_t *server, gw_reload_cb cb, void *data)
{
    must_not_be_started(server, "gw_server_on_reload");
    h2o_vector_reserve(NULL, &server->reload_hooks, server->reload_hooks.size + 1);
    server->reload_hooks.entries[server->reload_hooks.size++] = (struct reload_hook){cb, data};
}

/* the router */

static int method_is(h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

static int on_router_req(h2o_handler_t *_self, h2o_req_t *req)
{
    struct router *self = (struct router *)_self;
    gw_server_t *server = self->server;
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *first_pattern = NULL;
    char allow[256];
    size_t allow_len = 0;
    int is_head = method_is(req, "HEAD");

    allow[0] = '\0';
    for (size_t i = 0; i != server->routes.size; i++) {
        struct route *route = server->routes.entries + i;
        gw_route_match_t match;
        if (route->service != self->service || !gw_route_match(route->pattern, req->path.base, path_len, &req->pool, &match))
            continue;
        if (method_is(req, route->method) || (is_head && strcmp(route->method, "GET") == 0)) {
            gw_http_set_route_label(req, route->pattern);
            return route->cb(req, &match, route->data);
        }
        /* the path exists with other methods: collect them for Allow */
        if (first_pattern == NULL)
            first_pattern = route->pattern;
        const char *methods[2] = {route->method, strcmp(route->method, "GET") == 0 ? "HEAD" : NULL};
        for (size_t m = 0; m != 2 && methods[m] != NULL; m++) {
            size_t len = strlen(methods[m]);
            int dup = 0;
            for (const char *p = allow; (p = strstr(p, methods[m])) != NULL; p += len)
                if ((p == allow || p[-1] == ' ') && (p[len] == ',' || p[len] == '\0'))
                    dup = 1;
            if (!dup && allow_len + len + 3 < sizeof(allow))
                allow_len +=
                    (size_t)snprintf(allow + allow_len, sizeof(allow) - allow_len, "%s%s", allow_len ? ", " : "", methods[m]);
        }
    }
    if (first_pattern != NULL) {
        char msg[sizeof(allow) + 64];
        gw_http_set_route_label(req, first_pattern);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, h2o_strdup(&req->pool, allow, allow_len).base,
                       allow_len);
        snprintf(msg, sizeof(msg), "this resource does not support %.*s (allowed: %s)",
                 (int)(req->method.len > 16 ? 16 : req->method.len), req->method.base, allow);
        gw_http_send_error(req, 405, "method_not_allowed", msg, NULL);
        return 0;
    }
    gw_http_send_error(req, 404, "not_found", "no such resource", NULL);
    return 0;
}

/* metrics of every request */

static void count_request(gw_server_t *server, const char *service, const char *route, int status, int64_t usec)
{
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    gw_metrics_inc(server->http_requests, (const char *[]){service, route, code}, 1);
    if (usec >= 0)
        gw_metrics_observe(server->http_duration, (const char *[]){service, route}, (double)usec / 1e6);
}

void gw_server_count_request(gw_server_t *server, gw_service_t service, const char *route, int status, int64_t usec)
{
    count_request(server, service_name(service), route, status, usec);
}

static void on_log_access(h2o_logger_t *_self, h2o_req_t *req)
{
    struct metrics_logger *self = (struct metrics_logger *)_self;
    const char *route = gw_http_route_label(req);
    struct timeval now;

    /* h2o's timestamps are cached per loop iteration: measure the end with the real clock */
    gettimeofday(&now, NULL);
    count_request(self->server, self->service, route != NULL ? route : self->default_route, req->res.status,
                  h2o_timeval_subtract(&req->timestamps.request_begin_at, &now));
}

static void add_logger(gw_server_t *server, h2o_pathconf_t *pathconf, gw_service_t service, const char *default_route)
{
    struct metrics_logger *logger = (struct metrics_logger *)h2o_create_logger(pathconf, sizeof(*logger));
    logger->super.log_access = on_log_access;
    logger->server = server;
    logger->service = service_name(service);
    logger->default_route = default_route;
}

/*
 * h2o refuses an issuer body over max_request_entity_size (issuer.max_body)
 * itself, before any handler ran, with a text/plain 413 on the hostconf's
 * fallback path (HTTP/1.1; HTTP/2 resets the stream instead). This filter,
 * on that path, makes it the JSON error the handlers send for the same
 * reason (body_too_large): it swaps the body and its Content-Type.
 */
struct body_too_large_filter {
    h2o_filter_t super;
    size_t max_body;
};

struct body_too_large_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body; /* in req->pool */
    int sent;
};

static void on_body_too_large_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    struct body_too_large_ostream *self = (struct body_too_large_ostream *)_self;
    int first = !self->sent;
    self->sent = 1;
    h2o_ostream_send_next(&self->super, req, first ? &self->body : NULL, first, state);
}

static void on_body_too_large_setup(h2o_filter_t *_self, h2o_req_t *req, h2o_ostream_t **slot)
{
    struct body_too_large_filter *self = (struct body_too_large_filter *)_self;
    ssize_t ct;
    if (req->res.status == 413 && (ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) != -1 &&
        h2o_memis(req->res.headers.entries[ct].value.base, req->res.headers.entries[ct].value.len,
                  H2O_STRLIT("text/plain; charset=utf-8"))) {
        char msg[96];
        gw_http_body_too_large_message(self->max_body, msg, sizeof(msg));
        struct body_too_large_ostream *o = (struct body_too_large_ostream *)h2o_add_ostream(req, sizeof(*o), slot);
        o->super.do_send = on_body_too_large_send;
        o->body = gw_http_error_body(&req->pool, "body_too_large", msg, NULL);
        o->sent = 0;
        req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json; charset=utf-8"));
        req->res.content_length = o->body.len;
        slot = &o->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

/* Unknown paths on a hostconf whose "/" was taken by a setup hook's handler that declined. */
static int on_fallback_req(h2o_handler_t *self, h2o_req_t *req)
{
    gw_http_send_error(req, 404, "not_found", "no such resource", NULL);
    return 0;
}

static int build_globalconf(gw_server_t *server, char *err, size_t errlen)
{
    static const gw_service_t services[] = {GW_SERVICE_ISSUER, GW_SERVICE_PROXY, GW_SERVICE_KEYVAULT};
    const gw_config_t *conf = server->conf;

    for (size_t s = 0; s != NUM_SERVICES; s++) {
        gw_service_t service = services[s];
        if (!(service == GW_SERVICE_ISSUER  ? conf->issuer.enabled
              : service == GW_SERVICE_PROXY ? conf->proxy.enabled
                                            : conf->keyvault.enabled))
            continue;
        h2o_globalconf_t *globalconf = &server->globalconfs[s];
        h2o_config_init(globalconf);
        server->globalconf_ready[s] = 1;
        globalconf->server_name = h2o_iovec_init(H2O_STRLIT("sasgw"));
        /* the issuer's bodies are small JSON documents: h2o refuses larger ones before buffering them */
        if (service == GW_SERVICE_ISSUER)
            globalconf->max_request_entity_size = conf->issuer.max_body;
        /* Key Vault bodies are small JSON documents too (a secret value is at most 25 KiB) */
        if (service == GW_SERVICE_KEYVAULT)
            globalconf->max_request_entity_size = GW_CONFIG_DEFAULT_MAX_BODY;
        h2o_hostconf_t *hostconf =
            h2o_config_register_host(globalconf, h2o_iovec_init(service_name(service), strlen(service_name(service))), 65535);
        server->hosts[s][0] = hostconf;
        server->hosts[s][1] = NULL;

        /* other modules' paths first: h2o takes the first prefix that matches */
        for (size_t i = 0; i != server->setup_hooks.size; i++)
            if (server->setup_hooks.entries[i].cb(server, service, hostconf, server->setup_hooks.entries[i].data, err, errlen) != 0)
                return -1;
        size_t num_hook_paths = hostconf->paths.size;

        /* the route table at "/" (only when no hook took "/" itself) */
        int root_taken = 0;
        for (size_t i = 0; i != num_hook_paths; i++)
            if (hostconf->paths.entries[i].path.len == 1)
                root_taken = 1;
        if (!root_taken) {
            h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
            struct router *router = (struct router *)h2o_create_handler(pathconf, sizeof(*router));
            router->super.on_req = on_router_req;
            router->server = server;
            router->service = service;
            add_logger(server, pathconf, service, "unmatched");
        }
        h2o_create_handler(&hostconf->fallback_path, sizeof(h2o_handler_t))->on_req = on_fallback_req;
        if (service == GW_SERVICE_ISSUER) {
            struct body_too_large_filter *f =
                (struct body_too_large_filter *)h2o_create_filter(&hostconf->fallback_path, sizeof(*f));
            f->super.on_setup_ostream = on_body_too_large_setup;
            f->max_body = conf->issuer.max_body;
        }
        add_logger(server, &hostconf->fallback_path, service, "unmatched");
        for (size_t i = 0; i != num_hook_paths; i++)
            add_logger(server, hostconf->paths.entries + i, service, hostconf->paths.entries[i].path.base);
    }
    return 0;
}

/* sockets */

socklen_t gw_listen_sockaddr(const gw_listen_config_t *l, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, l->address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(l->port);
        return sizeof(*sin);
    }
    inet_pton(AF_INET6, l->address, &sin6->sin6_addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(l->port);
    return sizeof(*sin6);
}

static int open_listener(const gw_listen_config_t *l, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = gw_listen_sockaddr(l, &ss);
    int fd, on = 1;
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        goto Error;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
        goto Error;
    if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
        goto Error;
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
        goto Error;
    return fd;
Error:
    snprintf(err, errlen, "cannot listen on %s%s%s:%u: %s", strchr(l->address, ':') ? "[" : "", l->address,
             strchr(l->address, ':') ? "]" : "", l->port, strerror(errno));
    if (fd != -1)
        close(fd);
    return -1;
}

/* tasks on loop threads */

static void on_tasks(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    gw_thread_t *thread = H2O_STRUCT_FROM_MEMBER(gw_thread_t, receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        struct task *task = H2O_STRUCT_FROM_MEMBER(struct task, super.link, messages->next);
        h2o_linklist_unlink(&task->super.link);
        task->fn(thread, task->arg);
        if (task->broadcast != NULL && atomic_fetch_sub_explicit(&task->broadcast->remaining, 1, memory_order_acq_rel) == 1) {
            if (task->broadcast->done != NULL)
                task->broadcast->done(task->broadcast->arg);
            free(task->broadcast);
        }
        free(task);
    }
}

/* Frees tasks that can no longer run (none should be left once the workers stopped); a broadcast's done still runs. */
static void discard_tasks(h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        struct task *task = H2O_STRUCT_FROM_MEMBER(struct task, super.link, messages->next);
        h2o_linklist_unlink(&task->super.link);
        if (task->broadcast != NULL && atomic_fetch_sub_explicit(&task->broadcast->remaining, 1, memory_order_acq_rel) == 1) {
            if (task->broadcast->done != NULL)
                task->broadcast->done(task->broadcast->arg);
            free(task->broadcast);
        }
        free(task);
    }
}

static void send_task(gw_thread_t *thread, gw_thread_fn fn, void *arg, struct broadcast *broadcast)
{
    struct task *task = sg_calloc(1, sizeof(*task));
    task->fn = fn;
    task->arg = arg;
    task->broadcast = broadcast;
    h2o_multithread_send_message(&thread->receiver, &task->super);
}

int gw_server_broadcast(gw_server_t *server, gw_thread_fn fn, void *arg, void (*done)(void *arg))
{
    pthread_mutex_lock(&server->lock);
    if (!server->running) {
        pthread_mutex_unlock(&server->lock);
        return -1;
    }
    struct broadcast *broadcast = sg_calloc(1, sizeof(*broadcast));
    atomic_init(&broadcast->remaining, server->num_threads);
    broadcast->done = done;
    broadcast->arg = arg;
    for (size_t i = 0; i != server->num_threads; i++)
        send_task(server->threads + i, fn, arg, broadcast);
    pthread_mutex_unlock(&server->lock);
    return 0;
}

int gw_thread_run(gw_thread_t *thread, gw_thread_fn fn, void *arg)
{
    gw_server_t *server = thread->server;
    pthread_mutex_lock(&server->lock);
    int running = server->running;
    if (running)
        send_task(thread, fn, arg, NULL);
    pthread_mutex_unlock(&server->lock);
    return running ? 0 : -1;
}

static void run_reload_hooks(gw_thread_t *thread, void *arg)
{
    gw_server_t *server = thread->server;
    for (size_t i = 0; i != server->reload_hooks.size; i++)
        server->reload_hooks.entries[i].cb(server, server->reload_hooks.entries[i].data);
    fprintf(stderr, "sasgw: reload done (%zu hook%s)\n", server->reload_hooks.size, server->reload_hooks.size == 1 ? "" : "s");
}

void gw_server_reload(gw_server_t *server)
{
    if (server->threads != NULL)
        gw_thread_run(server->threads, run_reload_hooks, NULL);
}

/* Stops accepting, asks h2o to close idle connections, and lets the loop drain. */
static void begin_shutdown(gw_thread_t *thread, void *arg)
{
    for (size_t i = 0; i != thread->server->num_listeners; i++) {
        struct listener *listener = thread->listeners + i;
        if (listener->sock != NULL) {
            h2o_socket_read_stop(listener->sock);
            h2o_socket_close(listener->sock);
            listener->sock = NULL;
            listener->fd = -1;
        }
    }
    for (size_t s = 0; s != NUM_SERVICES; s++)
        if (thread->contexts[s].ready)
            h2o_context_request_shutdown(&thread->contexts[s].super);
    for (size_t i = 0; i != thread->server->shutdown_hooks.size; i++)
        thread->server->shutdown_hooks.entries[i].cb(thread, thread->server->shutdown_hooks.entries[i].data);
    thread->shutting_down = 1;
    thread->shutdown_deadline = h2o_now(thread->loop) + GW_SERVER_SHUTDOWN_GRACE_MS;
}

/* workers */

/*
 * Drops the thread's pending tasks and disposes its h2o contexts (each
 * service's), unless connections are left open. Runs on the worker itself
 * as the last thing it does: h2o's socket buffers point at thread-local
 * prototypes of the thread that made them (h2o_socket_buffer_prototype),
 * so the sockets of the contexts' queues must be closed while that thread
 * lives. gw_server_destroy() does it for a worker that did not.
 */
static void dispose_contexts(gw_thread_t *thread)
{
    if (thread->contexts_disposed)
        return;
    thread->contexts_disposed = 1;
    discard_tasks(&thread->receiver._messages);
    h2o_multithread_unregister_receiver(gw_thread_context(thread)->queue, &thread->receiver);
    for (size_t s = 0; thread->num_connections == 0 && s != NUM_SERVICES; s++) {
        if (!thread->contexts[s].ready)
            continue;
        /* h2o 2.2 leaves its HTTP/2 graceful-shutdown timer linked; it must go before the timeouts are disposed */
        h2o_timeout_unlink(&thread->contexts[s].super.http2._graceful_shutdown_timeout);
        h2o_context_dispose(&thread->contexts[s].super);
    }
}

static void on_connection_close(void *data)
{
    gw_thread_t *thread = data;
    thread->num_connections--;
}

int gw_server_accept_http2(const h2o_accept_ctx_t *ctx)
{
    const struct listener *l = (const struct listener *)((const char *)ctx - offsetof(struct listener, accept_ctx));
    return l->http2;
}

static void on_accept(h2o_socket_t *listener_sock, const char *err)
{
    struct listener *listener = listener_sock->data;
    if (err != NULL)
        return;
    for (size_t i = 0; i != 16; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener_sock);
        if (sock == NULL)
            break;
        listener->thread->num_connections++;
        sock->on_close.cb = on_connection_close;
        sock->on_close.data = listener->thread;
        struct acceptor *a = &listener->thread->server->acceptors[service_index(listener->service)];
        if (a->cb != NULL)
            a->cb(listener->thread, &listener->accept_ctx, sock, a->data);
        else
            h2o_accept(&listener->accept_ctx, sock);
    }
}

static void *run_worker(void *_thread)
{
    gw_thread_t *thread = _thread;
    gw_server_t *server = thread->server;

    gw_metrics_set_thread_shard((unsigned)thread->index);
    for (size_t s = 0; s != NUM_SERVICES; s++) {
        if (!server->globalconf_ready[s])
            continue;
        h2o_context_init(&thread->contexts[s].super, thread->loop, &server->globalconfs[s]);
        thread->contexts[s].thread = thread;
        thread->contexts[s].ready = 1;
    }
    h2o_multithread_register_receiver(gw_thread_context(thread)->queue, &thread->receiver, on_tasks);
    thread->modules = sg_calloc(server->modules.size + 1, sizeof(void *));
    for (size_t i = 0; i != server->modules.size; i++)
        thread->modules[i] = server->modules.entries[i].init(thread, server->modules.entries[i].data);
    for (size_t i = 0; i != server->num_listeners; i++) {
        struct listener *listener = thread->listeners + i;
        size_t s = service_index(server->listeners[i].service);
        listener->accept_ctx.ctx = &thread->contexts[s].super;
        listener->accept_ctx.hosts = server->hosts[s];
        listener->accept_ctx.ssl_ctx = server->listeners[i].ssl_ctx;
        listener->sock = h2o_evloop_socket_create(thread->loop, listener->fd, H2O_SOCKET_FLAG_DONT_READ);
        listener->sock->data = listener;
        h2o_socket_read_start(listener->sock, on_accept);
    }

    /* tell gw_server_start() this worker is up */
    pthread_mutex_lock(&server->lock);
    server->num_ready++;
    pthread_cond_broadcast(&server->cond);
    pthread_mutex_unlock(&server->lock);

    while (!thread->shutting_down || (thread->num_connections != 0 && h2o_now(thread->loop) < thread->shutdown_deadline))
        h2o_evloop_run(thread->loop, thread->shutting_down ? 50 : INT32_MAX);

    /* shut down: modules, then whatever the loop still has to close */
    for (size_t i = server->modules.size; i-- != 0;)
        if (server->modules.entries[i].dispose != NULL)
            server->modules.entries[i].dispose(thread, thread->modules[i], server->modules.entries[i].data);
    for (int i = 0; i != 4; i++)
        h2o_evloop_run(thread->loop, 0);
    dispose_contexts(thread);
    return NULL;
}

static void print_listener(const struct listener_config *l)
{
    int v6 = strchr(l->conf->address, ':') != NULL;
    fprintf(stderr, "sasgw: %s listening on %s://%s%s%s:%u\n", service_name(l->service), l->ssl_ctx != NULL ? "https" : "http",
            v6 ? "[" : "", l->conf->address, v6 ? "]" : "", l->conf->port);
}

int gw_server_start(gw_server_t *server, char *err, size_t errlen)
{
    const gw_config_t *conf = server->conf;
    sigset_t set;

    must_not_be_started(server, "gw_server_start");
    server->started = 1;
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (build_globalconf(server, err, errlen) != 0)
        return -1;

    /* listeners and their TLS contexts */
    server->num_listeners = conf->issuer.num_listen + conf->proxy.num_listen + conf->keyvault.num_listen;
    server->listeners = sg_calloc(server->num_listeners + 1, sizeof(*server->listeners));
    for (size_t i = 0; i != server->num_listeners; i++) {
        struct listener_config *l = server->listeners + i;
        size_t np = conf->issuer.num_listen + conf->proxy.num_listen;
        int issuer = i < conf->issuer.num_listen, keyvault = i >= np;
        l->service = issuer ? GW_SERVICE_ISSUER : keyvault ? GW_SERVICE_KEYVAULT : GW_SERVICE_PROXY;
        l->conf = issuer     ? conf->issuer.listen + i
                  : keyvault ? conf->keyvault.listen + (i - np)
                             : conf->proxy.listen + (i - conf->issuer.num_listen);
        if (l->conf->tls_certificate != NULL &&
            (l->ssl_ctx = gw_tls_listener_ctx(l->conf, issuer || keyvault || l->conf->http2, err, errlen)) == NULL)
            return -1;
    }

    /* every worker binds its own socket per listener, here, so that errors surface before anything runs */
    server->threads = sg_calloc(server->num_threads, sizeof(*server->threads));
    for (size_t t = 0; t != server->num_threads; t++) {
        gw_thread_t *thread = server->threads + t;
        thread->server = server;
        thread->index = t;
        thread->listeners = sg_calloc(server->num_listeners + 1, sizeof(*thread->listeners));
        for (size_t i = 0; i != server->num_listeners; i++) {
            thread->listeners[i].thread = thread;
            thread->listeners[i].service = server->listeners[i].service;
            thread->listeners[i].http2 = server->listeners[i].service != GW_SERVICE_PROXY || server->listeners[i].conf->http2;
            if ((thread->listeners[i].fd = open_listener(server->listeners[i].conf, err, errlen)) == -1)
                return -1;
        }
    }
    for (size_t i = 0; i != server->num_listeners; i++)
        print_listener(server->listeners + i);

    /* start the workers and wait until each accepts */
    for (size_t t = 0; t != server->num_threads; t++) {
        gw_thread_t *thread = server->threads + t;
        thread->loop = h2o_evloop_create();
        h2o_multithread_create_thread(&thread->tid, NULL, run_worker, thread);
    }
    pthread_mutex_lock(&server->lock);
    while (server->num_ready != server->num_threads)
        pthread_cond_wait(&server->cond, &server->lock);
    server->running = 1;
    pthread_mutex_unlock(&server->lock);
    fprintf(stderr, "sasgw: serving with %zu worker thread%s\n", server->num_threads, server->num_threads == 1 ? "" : "s");
    return 0;
}

void gw_server_stop(gw_server_t *server)
{
    atomic_store(&server->stop_requested, 1);
}

int gw_server_wait(gw_server_t *server)
{
    sigset_t set;
    struct timespec tick = {0, 100 * 1000 * 1000};
    const char *why = "stop requested";

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    while (!atomic_load(&server->stop_requested)) {
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGHUP) {
            fprintf(stderr, "sasgw: SIGHUP: reloading\n");
            gw_server_reload(server);
        } else if (sig == SIGTERM || sig == SIGINT) {
            why = sig == SIGTERM ? "SIGTERM" : "SIGINT";
            break;
        }
    }
    fprintf(stderr, "sasgw: %s: shutting down (in-flight requests get up to %d ms)\n", why, GW_SERVER_SHUTDOWN_GRACE_MS);

    /* no task after the shutdown task */
    pthread_mutex_lock(&server->lock);
    for (size_t i = 0; i != server->num_threads; i++)
        send_task(server->threads + i, begin_shutdown, NULL, NULL);
    server->running = 0;
    pthread_mutex_unlock(&server->lock);

    size_t left = 0;
    for (size_t i = 0; i != server->num_threads; i++) {
        pthread_join(server->threads[i].tid, NULL);
        left += server->threads[i].num_connections;
    }
    if (left != 0)
        fprintf(stderr, "sasgw: closed %zu connection%s that did not finish in time\n", left, left == 1 ? "" : "s");
    fprintf(stderr, "sasgw: stopped\n");
    return 0;
}

void gw_server_destroy(gw_server_t *server)
{
    if (server == NULL)
        return;
    for (size_t t = 0; server->threads != NULL && t != server->num_threads; t++) {
        gw_thread_t *thread = server->threads + t;
        if (thread->loop != NULL)
            dispose_contexts(thread); /* a worker that ran and is joined, if it did not itself */
        for (size_t i = 0; thread->listeners != NULL && i != server->num_listeners; i++)
            if (thread->listeners[i].fd > 0 && thread->listeners[i].sock == NULL && thread->loop == NULL)
                close(thread->listeners[i].fd);
        free(thread->listeners);
        free(thread->modules);
    }
    for (size_t i = 0; server->listeners != NULL && i != server->num_listeners; i++)
        if (server->listeners[i].ssl_ctx != NULL)
            SSL_CTX_free(server->listeners[i].ssl_ctx);
    free(server->listeners);
    /* handlers own timers on the workers' loops (the reverse proxy's socket pool): dispose them before the loops */
    for (size_t s = 0; s != NUM_SERVICES; s++)
        if (server->globalconf_ready[s])
            h2o_config_dispose(&server->globalconfs[s]);
    for (size_t t = 0; server->threads != NULL && t != server->num_threads; t++)
        if (server->threads[t].loop != NULL && server->threads[t].num_connections == 0)
            h2o_evloop_destroy(server->threads[t].loop);
    free(server->threads);
    for (size_t i = 0; i != server->routes.size; i++) {
        free(server->routes.entries[i].method);
        free(server->routes.entries[i].pattern);
    }
    free(server->routes.entries);
    free(server->setup_hooks.entries);
    free(server->modules.entries);
    for (size_t i = 0; i != server->readiness.size; i++)
        free(server->readiness.entries[i].name);
    free(server->readiness.entries);
    free(server->reload_hooks.entries);
    free(server->shutdown_hooks.entries);
    gw_metrics_destroy(server->metrics);
    pthread_mutex_destroy(&server->lock);
    pthread_cond_destroy(&server->cond);
    free(server);
}

gw_thread_t *gw_server_thread(gw_server_t *server, size_t index)
{
    return index < server->num_threads && server->threads != NULL ? server->threads + index : NULL;
}

gw_server_t *gw_thread_server(gw_thread_t *thread)
{
    return thread->server;
}

size_t gw_thread_index(gw_thread_t *thread)
{
    return thread->index;
}

h2o_evloop_t *gw_thread_loop(gw_thread_t *thread)
{
    return thread->loop;
}

h2o_context_t *gw_thread_context(gw_thread_t *thread)
{
    for (size_t s = 0; s != NUM_SERVICES; s++)
        if (thread->contexts[s].ready)
            return &thread->contexts[s].super;
    return NULL;
}

void *gw_thread_module(gw_thread_t *thread, size_t slot)
{
    return slot < thread->server->modules.size ? thread->modules[slot] : NULL;
}

gw_thread_t *gw_thread_of(h2o_req_t *req)
{
    return ((struct service_context *)req->conn->ctx)->thread;
}

/*
 * h2o 2.2 keeps per-thread caches of freed buffers (h2o_mem_alloc_recycle)
 * that die with their thread, and never frees a multithread queue. Both are
 * h2o's, bounded, and reported by LeakSanitizer when an ASan build exits;
 * this hook (read by the sanitizer runtime, unused otherwise) names them.
 */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\nleak:h2o_multithread_create_queue\n";
}
