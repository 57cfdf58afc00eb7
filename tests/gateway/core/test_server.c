/*
 * Tests gateway/core/server.c in-process: two services on their own listeners, the
 * route table (404, 405 + Allow, parameters), built-in routes, readiness
 * checks, setup hooks, thread modules, broadcasts, reload on SIGHUP, metrics,
 * and a clean shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sasgw/core/server.h"
#include "testutil.h"

static gw_config_t *conf;
static gw_server_t *server;
static pthread_t waiter;
static uint16_t issuer_port, proxy_port;
static atomic_int not_ready, reloads, inits, disposes, broadcast_runs, broadcast_done;

static int on_echo(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    h2o_iovec_t id = gw_http_request_id(req);
    h2o_iovec_t again = gw_http_request_id(req);
    assert_ptr_equal(id.base, again.base);
    int *instance = gw_thread_module(gw_thread_of(req), (size_t)(uintptr_t)data);
    gw_http_send_json(req, 200,
                      json_pack("{s:s, s:s, s:i}", "name", gw_route_param(match, "name").base, "id", id.base, "thread", *instance));
    return 0;
}

static int on_body(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    json_t *body = gw_http_read_json(req, 32);
    if (body == NULL)
        return 0;
    gw_http_send_json(req, 201, body);
    return 0;
}

static int readiness(void *data, char *why, size_t whylen)
{
    if (!atomic_load(&not_ready))
        return 1;
    snprintf(why, whylen, "flaky is down");
    return 0;
}

static void *module_init(gw_thread_t *thread, void *data)
{
    int *instance = malloc(sizeof(int));
    *instance = (int)gw_thread_index(thread);
    atomic_fetch_add(&inits, 1);
    return instance;
}

static void module_dispose(gw_thread_t *thread, void *instance, void *data)
{
    assert_int_equal(*(int *)instance, (int)gw_thread_index(thread));
    free(instance);
    atomic_fetch_add(&disposes, 1);
}

static void on_reload(gw_server_t *s, void *data)
{
    atomic_fetch_add(&reloads, 1);
}

static int on_proxy_req(h2o_handler_t *self, h2o_req_t *req)
{
    gw_http_set_route_label(req, "proxy");
    gw_http_send(req, 200, "text/plain", H2O_STRLIT("proxied"));
    return 0;
}

static int setup(gw_server_t *s, gw_service_t service, h2o_hostconf_t *hostconf, void *data, char *err, size_t errlen)
{
    if (service == GW_SERVICE_PROXY) {
        h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/acct", 0);
        h2o_create_handler(pathconf, sizeof(h2o_handler_t))->on_req = on_proxy_req;
    }
    return 0;
}

static void *wait_server(void *arg)
{
    gw_server_wait(server);
    return NULL;
}

static int start(void **state)
{
    char text[512], err[512];
    issuer_port = tu_free_port();
    proxy_port = tu_free_port();
    snprintf(text, sizeof(text),
             "vault: {path: /nonexistent/vault.db}\npolicy: /nonexistent/policy.yaml\nthreads: 2\n"
             "issuer: {listen: [{address: 127.0.0.1, port: %u}]}\n"
             "proxy: {listen: [{address: 127.0.0.1, port: %u}], public_base_url: 'http://127.0.0.1:%u'}\n",
             issuer_port, proxy_port, proxy_port);
    if ((conf = gw_config_parse("test.yaml", text, strlen(text), err, sizeof(err))) == NULL)
        fail_msg("%s", err);
    server = gw_server_create(conf, 0);
    assert_int_equal(gw_server_num_threads(server), 2);
    size_t slot = gw_server_add_thread_module(server, module_init, module_dispose, NULL);
    assert_int_equal(gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", "/v1/echo/{name}", on_echo, (void *)(uintptr_t)slot), 0);
    assert_int_equal(gw_server_add_route(server, GW_SERVICE_ISSUER, "PUT", "/v1/echo/{name}", on_echo, (void *)(uintptr_t)slot), 0);
    assert_int_equal(gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/body", on_body, NULL), 0);
    assert_int_equal(gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "bad", on_body, NULL), -1);
    gw_server_add_readiness_check(server, "flaky", readiness, NULL);
    gw_server_on_reload(server, on_reload, NULL);
    gw_server_on_setup(server, setup, NULL);
    if (gw_server_start(server, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(atomic_load(&inits), 2);
    pthread_create(&waiter, NULL, wait_server, NULL);
    return 0;
}

static int stop(void **state)
{
    gw_server_stop(server);
    pthread_join(waiter, NULL);
    assert_int_equal(atomic_load(&disposes), 2);
    gw_server_destroy(server);
    gw_config_free(conf);
    return 0;
}

static void serves_builtin_routes(void **state)
{
    struct tu_response res;
    char buf[256];
    assert_int_equal(tu_http(issuer_port, "GET", "/healthz", NULL, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "ok\n");
    assert_int_equal(tu_http(issuer_port, "HEAD", "/healthz", NULL, &res), 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.body_len, 0);
    assert_int_equal(tu_http(issuer_port, "GET", "/readyz", NULL, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{\"ready\":true,\"failed\":[]}");
    atomic_store(&not_ready, 1);
    assert_int_equal(tu_http(issuer_port, "GET", "/readyz", NULL, &res), 0);
    assert_int_equal(res.status, 503);
    assert_string_equal(res.body, "{\"ready\":false,\"failed\":[{\"check\":\"flaky\",\"reason\":\"flaky is down\"}]}");
    atomic_store(&not_ready, 0);
    assert_int_equal(tu_http(issuer_port, "GET", "/metrics", NULL, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(tu_header(&res, "content-type", buf, sizeof(buf)), "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(res.body, "# TYPE sasgw_http_requests_total counter\n"));
    assert_non_null(strstr(res.body, "sasgw_http_requests_total{service=\"issuer\",route=\"/readyz\",status=\"503\"} 1\n"));
    assert_non_null(strstr(res.body, "# TYPE sasgw_http_request_duration_seconds histogram\n"));
    assert_non_null(strstr(res.body, "sasgw_http_request_duration_seconds_count{service=\"issuer\",route=\"/healthz\"} 2\n"));
}

static void routes_and_errors(void **state)
{
    struct tu_response res;
    char buf[256];
    assert_int_equal(tu_http(issuer_port, "GET", "/v1/echo/a%20b?x=1", NULL, &res), 0);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(res.body, "\"name\":\"a b\""));
    assert_non_null(tu_header(&res, "x-request-id", buf, sizeof(buf)));
    assert_non_null(strstr(res.body, buf));

    assert_int_equal(tu_http(issuer_port, "DELETE", "/v1/echo/x", NULL, &res), 0);
    assert_int_equal(res.status, 405);
    assert_string_equal(tu_header(&res, "allow", buf, sizeof(buf)), "GET, HEAD, PUT");
    assert_string_equal(tu_header(&res, "content-type", buf, sizeof(buf)), "application/json; charset=utf-8");
    assert_non_null(strstr(res.body, "{\"error\":{\"code\":\"method_not_allowed\",\"message\":"));

    assert_int_equal(tu_http(issuer_port, "GET", "/v1/nothing", NULL, &res), 0);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.body, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such resource\"}}");

    assert_int_equal(tu_http(issuer_port, "POST", "/v1/body", "{\"a\":1}", &res), 0);
    assert_int_equal(res.status, 201);
    assert_string_equal(res.body, "{\"a\":1}");
    assert_int_equal(tu_http(issuer_port, "POST", "/v1/body", "{\"a\":\"0123456789012345678901234567890123456789\"}", &res), 0);
    assert_int_equal(res.status, 413);
    assert_non_null(strstr(res.body, "\"code\":\"body_too_large\""));
    assert_int_equal(tu_http(issuer_port, "POST", "/v1/body", "{\"a\":", &res), 0);
    assert_int_equal(res.status, 400);
    assert_non_null(strstr(res.body, "\"code\":\"invalid_json\""));
    assert_int_equal(tu_http(issuer_port, "POST", "/v1/body", "{\"a\":1,\"a\":2}", &res), 0);
    assert_int_equal(res.status, 400);
}

static void services_are_separate(void **state)
{
    struct tu_response res;
    assert_int_equal(tu_http(proxy_port, "GET", "/acct/container/blob", NULL, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "proxied");
    assert_int_equal(tu_http(proxy_port, "GET", "/healthz", NULL, &res), 0);
    assert_int_equal(res.status, 404);
    assert_int_equal(tu_http(issuer_port, "GET", "/acct/x", NULL, &res), 0);
    assert_int_equal(res.status, 404);
    assert_int_equal(tu_http(issuer_port, "GET", "/metrics", NULL, &res), 0);
    assert_non_null(strstr(res.body, "sasgw_http_requests_total{service=\"proxy\",route=\"proxy\",status=\"200\"} 1\n"));
    assert_non_null(strstr(res.body, "sasgw_http_requests_total{service=\"proxy\",route=\"unmatched\",status=\"404\"} 1\n"));
}

static void count_run(gw_thread_t *thread, void *arg)
{
    assert_ptr_equal(gw_thread_server(thread), server);
    assert_ptr_equal(gw_thread_context(thread)->loop, gw_thread_loop(thread));
    atomic_fetch_add(&broadcast_runs, 1);
}

static void count_done(void *arg)
{
    /* both broadcast runs are done (the single gw_thread_run may or may not be) */
    if (atomic_load(&broadcast_runs) >= 2)
        atomic_fetch_add(&broadcast_done, 1);
}

static void broadcasts_and_reloads(void **state)
{
    assert_int_equal(gw_server_broadcast(server, count_run, NULL, count_done), 0);
    assert_int_equal(gw_thread_run(gw_server_thread(server, 1), count_run, NULL), 0);
    uint64_t deadline = tu_now_ms() + 2000;
    while ((atomic_load(&broadcast_runs) != 3 || atomic_load(&broadcast_done) != 1) && tu_now_ms() < deadline)
        usleep(1000);
    assert_int_equal(atomic_load(&broadcast_runs), 3);
    assert_int_equal(atomic_load(&broadcast_done), 1);

    kill(getpid(), SIGHUP);
    deadline = tu_now_ms() + 2000;
    while (atomic_load(&reloads) == 0 && tu_now_ms() < deadline)
        usleep(1000);
    assert_int_equal(atomic_load(&reloads), 1);
    gw_server_reload(server);
    deadline = tu_now_ms() + 2000;
    while (atomic_load(&reloads) == 1 && tu_now_ms() < deadline)
        usleep(1000);
    assert_int_equal(atomic_load(&reloads), 2);
}

static void reports_bind_errors(void **state)
{
    char text[256], err[512];
    snprintf(text, sizeof(text), "vault: {}\npolicy: p\nissuer: {listen: [{address: 127.0.0.1, port: %u}]}\n", issuer_port);
    gw_config_t *c = gw_config_parse("taken.yaml", text, strlen(text), err, sizeof(err));
    assert_non_null(c);
    gw_server_t *s = gw_server_create(c, 1);
    gw_listen_config_t *l = (gw_listen_config_t *)c->issuer.listen;
    free(l->address);
    l->address = strdup("192.0.2.1"); /* not an address of this host */
    assert_int_equal(gw_server_start(s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot listen on 192.0.2.1:"));
    gw_server_destroy(s);
    gw_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_builtin_routes),  cmocka_unit_test(routes_and_errors),   cmocka_unit_test(services_are_separate),
        cmocka_unit_test(broadcasts_and_reloads), cmocka_unit_test(reports_bind_errors),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
