/*
 * Tests gateway/proxy/h2.c, the proxy's HTTP/2 front: a refusal answered on
 * HEADERS with the stream's window never opened and RST_STREAM(NO_ERROR)
 * after it, forwarding over the upstream pool (the head, chunked framing of a
 * body without content-length, Expect: 100-continue answered by us), the
 * response streamed back with origin-mode overrides (cookie crumbs joined,
 * hop-by-hop and Connection-named headers dropped), 502 when the backend is
 * down, a client RST_STREAM or disconnect closing the upstream, graceful
 * shutdown (GOAWAY, the stream in flight finished), connection-specific
 * headers (PROTOCOL_ERROR), too many header fields (431), CONTINUATION,
 * PING floods and rapid reset (GOAWAY ENHANCE_YOUR_CALM).
 *
 * As test_relay.c: the test includes h2.c and upstream.c, a client
 * connection is one end of a socketpair on a real h2o loop, the upstream
 * another socketpair put in the pool. The client is a real nghttp2 client
 * session (or raw frames, for what a well-behaved client cannot send). The
 * decision, the per-thread environment and two counters are renamed to test
 * functions; everything else is h2.c as built.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#define gw_proxy_decide test_decide
#define gw_proxy_thread_env test_thread_env
#define gw_proxy_count_refusal test_count_refusal
#define gw_server_count_request test_count_request
#include "h2.c"
#include "upstream.c"

/* ---- the renamed functions ---- */

static gw_proxy_verdict_t verdict;
static size_t decided, refusals, counted;
static const char *override_ct; /* origin mode: a signed content-type */
static gw_keyring_account_t account = {.name = "acct", .name_len = 4};

gw_proxy_verdict_t test_decide(const gw_proxy_env_t *env, const gw_proxy_request_t *req, gw_proxy_decision_t *d, char *buf,
                               size_t cap)
{
    (void)env;
    (void)buf;
    (void)cap;
    decided++;
    memset(d, 0, offsetof(gw_proxy_decision_t, override_buf));
    d->sts[0] = '\0';
    d->verdict = verdict;
    d->account = &account;
    if (verdict != GW_PROXY_FORWARD) {
        d->status = 403;
        d->code = "AuthenticationFailed";
        snprintf(d->err.message, sizeof(d->err.message), "refused by the test");
        return verdict;
    }
    d->forward_path = req->path;
    d->forward_path_len = req->path_len;
    if (override_ct != NULL) {
        d->overrides[0].name = "content-type";
        d->overrides[0].value = override_ct;
        d->overrides[0].value_len = strlen(override_ct);
        d->num_overrides = 1;
    }
    return verdict;
}

void test_thread_env(gw_proxy_t *proxy, gw_thread_t *thread, gw_proxy_env_t *env)
{
    (void)proxy;
    (void)thread;
    memset(env, 0, sizeof(*env));
}

void test_count_refusal(gw_proxy_t *proxy, const char *code)
{
    (void)proxy;
    (void)code;
    refusals++;
}

void test_count_request(gw_server_t *server, gw_service_t service, const char *route, int status, int64_t usec)
{
    (void)server;
    (void)service;
    (void)route;
    (void)status;
    (void)usec;
    counted++;
}

/* ---- one worker, its client and upstream ends ---- */

static struct gw_relay relay;
static struct gw_backend backend;
static struct gw_relay_thread *rt;
static int client_fd = -1, upstream_fd = -1;
static char up_got[1 << 20];
static size_t up_got_len;
static int up_eof;

/* what the client session saw */
static nghttp2_session *cs;
static int status, informational, rst_code, goaway_code, closed_streams;
static char body[1 << 16], res_headers[4096];
static size_t body_len, res_headers_len, data_sent;
static char raw[1 << 20]; /* raw mode: the server's bytes */
static size_t raw_len;
static int raw_eof;

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int setup(void **state)
{
    (void)state;
    memset(&relay, 0, sizeof(relay));
    memset(&backend, 0, sizeof(backend));
    static gw_config_t conf;
    memset(&conf, 0, sizeof(conf));
    conf.proxy.http2_max_body = GW_CONFIG_DEFAULT_HTTP2_MAX_BODY;
    relay.conf = &conf;
    backend.account = "acct";
    backend.up.host = "127.0.0.1";
    backend.up.path = "";
    backend.up.authority = "backend.test";
    struct sockaddr_in *sin = (struct sockaddr_in *)&backend.addr;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(1); /* nothing listens: a fresh connection is refused */
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    backend.addrlen = sizeof(*sin);
    relay.backends = &backend;
    relay.num_backends = 1;
    rt = sg_calloc(1, sizeof(*rt));
    rt->relay = &relay;
    rt->loop = h2o_evloop_create();
    h2o_timeout_init(rt->loop, &rt->client_timeout, GW_UPSTREAM_CLIENT_TIMEOUT_MS);
    h2o_timeout_init(rt->loop, &rt->io_timeout, 5000);
    h2o_timeout_init(rt->loop, &rt->pool_timeout, GW_UPSTREAM_POOL_IDLE_MS);
    h2o_timeout_init(rt->loop, &rt->linger_timeout, GW_UPSTREAM_LINGER_MS);
    rt->idle = sg_calloc(2, sizeof(*rt->idle));
    rt->num_idle = sg_calloc(2, sizeof(*rt->num_idle));
    h2o_linklist_init_anchor(&rt->idle[0]);
    h2o_linklist_init_anchor(&rt->conns);
    h2o_linklist_init_anchor(&rt->h2_conns);
    verdict = GW_PROXY_REFUSE;
    decided = refusals = counted = 0;
    override_ct = NULL;
    up_got_len = body_len = res_headers_len = data_sent = raw_len = 0;
    up_eof = raw_eof = 0;
    status = informational = rst_code = goaway_code = -1;
    closed_streams = 0;
    client_fd = upstream_fd = -1;
    cs = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_h2_close_all(rt);
    while (!h2o_linklist_is_empty(&rt->idle[0]))
        gw_upstream_destroy(H2O_STRUCT_FROM_MEMBER(struct gw_upstream, link, rt->idle[0].next));
    for (int i = 0; i != 8; i++)
        h2o_evloop_run(rt->loop, 0);
    if (cs != NULL)
        nghttp2_session_del(cs);
    if (client_fd >= 0)
        close(client_fd);
    if (upstream_fd >= 0)
        close(upstream_fd);
    h2o_timeout_dispose(rt->loop, &rt->client_timeout);
    h2o_timeout_dispose(rt->loop, &rt->io_timeout);
    h2o_timeout_dispose(rt->loop, &rt->pool_timeout);
    h2o_timeout_dispose(rt->loop, &rt->linger_timeout);
    h2o_evloop_destroy(rt->loop);
    free(rt->idle);
    free(rt->num_idle);
    free(rt);
    return 0;
}

/* An idle upstream connection of backend 0 in the pool. */
static void pooled_upstream(void)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    nonblock(sv[0]);
    nonblock(sv[1]);
    upstream_fd = sv[1];
    struct gw_upstream *up = sg_calloc(1, sizeof(*up));
    up->sock = h2o_evloop_socket_create(rt->loop, sv[0], 0);
    up->sock->data = up;
    up->rt = rt;
    gw_upstream_release(up);
}

/* ---- the client ---- */

static ssize_t client_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user_data)
{
    ssize_t n = write(client_fd, data, len);
    if (n < 0 && errno == EAGAIN)
        return NGHTTP2_ERR_WOULDBLOCK;
    return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int client_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen, const uint8_t *value,
                         size_t valuelen, uint8_t flags, void *user_data)
{
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        int st = atoi((const char *)value);
        if (st < 200)
            informational = st;
        else
            status = st;
    }
    res_headers_len += (size_t)snprintf(res_headers + res_headers_len, sizeof(res_headers) - res_headers_len, "%.*s: %.*s\n",
                                        (int)namelen, name, (int)valuelen, value);
    return 0;
}

static int client_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user_data)
{
    if (body_len + len <= sizeof(body)) {
        memcpy(body + body_len, data, len);
        body_len += len;
    }
    return 0;
}

static int client_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *user_data)
{
    if (frame->hd.type == NGHTTP2_RST_STREAM)
        rst_code = (int)frame->rst_stream.error_code;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        goaway_code = (int)frame->goaway.error_code;
    return 0;
}

static int client_frame_send(nghttp2_session *s, const nghttp2_frame *frame, void *user_data)
{
    if (frame->hd.type == NGHTTP2_DATA)
        data_sent += frame->hd.length;
    return 0;
}

static int client_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user_data)
{
    closed_streams++;
    return 0;
}

/* A client connection as relay.c hands one to h2.c, and a client session on the other end. */
static void connect_client(int with_session)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    nonblock(sv[0]);
    nonblock(sv[1]);
    client_fd = sv[1];
    struct sockaddr_storage peer = {0};
    ((struct sockaddr_in *)&peer)->sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.1", &((struct sockaddr_in *)&peer)->sin_addr);
    gw_h2_accept(rt, h2o_evloop_socket_create(rt->loop, sv[0], 0), 0, &peer, sizeof(struct sockaddr_in));
    if (!with_session)
        return;
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, client_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, client_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, client_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, client_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, client_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, client_stream_close);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_send_header_block_length(opt, 256 * 1024); /* to send what the server must refuse */
    assert_int_equal(nghttp2_session_client_new2(&cs, cb, NULL, opt), 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry big = {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20};
    nghttp2_submit_settings(cs, NGHTTP2_FLAG_NONE, &big, 1);
}

static void drain_upstream(void)
{
    ssize_t n;
    while (upstream_fd >= 0 && up_got_len < sizeof(up_got) && (n = read(upstream_fd, up_got + up_got_len, sizeof(up_got) - up_got_len)) >= 0) {
        if (n == 0) {
            up_eof = 1;
            break;
        }
        up_got_len += (size_t)n;
    }
}

/* Runs the loop and both ends for a few turns. */
static void turn(int turns)
{
    for (int i = 0; i != turns; i++) {
        if (cs != NULL)
            nghttp2_session_send(cs);
        h2o_evloop_run(rt->loop, 1);
        char buf[65536];
        ssize_t n;
        while ((n = read(client_fd, buf, sizeof(buf))) > 0) {
            if (cs != NULL) {
                nghttp2_session_mem_recv(cs, (const uint8_t *)buf, (size_t)n);
            } else if (raw_len + (size_t)n <= sizeof(raw)) {
                memcpy(raw + raw_len, buf, (size_t)n);
                raw_len += (size_t)n;
            }
        }
        if (n == 0)
            raw_eof = 1;
        drain_upstream();
    }
}

static void up_write(const char *s)
{
    assert_int_equal(write(upstream_fd, s, strlen(s)), (ssize_t)strlen(s));
}

#define NVS(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE}

/* a request body served from memory */
static size_t upload_left;
static ssize_t upload_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags, nghttp2_data_source *src,
                           void *user_data)
{
    size_t n = length < upload_left ? length : upload_left;
    memset(buf, 'u', n);
    upload_left -= n;
    if (upload_left == 0)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* ---- refusals ---- */

static void refusal_answers_before_the_body_and_never_opens_the_window(void **state)
{
    (void)state;
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "PUT"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"),
                        NVS(":path", "/acct/c/b?sig=x"), NVS("content-length", "4194304"), NVS("expect", "100-continue")};
    upload_left = 4 * 1024 * 1024;
    nghttp2_data_provider dp = {.read_callback = upload_read};
    assert_true(nghttp2_submit_request(cs, NULL, nva, 6, &dp, NULL) > 0);
    turn(40);
    assert_int_equal(status, 403);
    assert_int_equal(informational, -1); /* no 100 for a refused request */
    assert_non_null(strstr(res_headers, "x-ms-error-code: AuthenticationFailed"));
    assert_non_null(strstr(res_headers, "content-type: application/xml"));
    assert_non_null(strstr(body, "<Code>AuthenticationFailed</Code>"));
    assert_int_equal(rst_code, NGHTTP2_NO_ERROR);
    /* at most the initial stream window was ever sent: the refusal never opened it */
    assert_true(data_sent <= H2_STREAM_WINDOW);
    assert_int_equal(refusals, 1);
    assert_int_equal(up_got_len, 0);
    assert_int_equal(counted, 1);
    /* the connection serves the next stream (its window came back) */
    nghttp2_nv get[] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b")};
    status = -1;
    assert_true(nghttp2_submit_request(cs, NULL, get, 4, NULL, NULL) > 0);
    turn(10);
    assert_int_equal(status, 403);
}

static void an_account_without_backend_is_404(void **state)
{
    (void)state;
    verdict = GW_PROXY_FORWARD;
    account.name = "other"; /* decided, but not routed by this relay */
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/other/c/b")};
    assert_true(nghttp2_submit_request(cs, NULL, nva, 4, NULL, NULL) > 0);
    turn(10);
    account.name = "acct";
    assert_int_equal(status, 404);
    assert_non_null(strstr(body, "<Code>ResourceNotFound</Code>"));
    assert_int_equal(refusals, 1);
}

static void a_header_list_over_64k_is_431(void **state)
{
    (void)state;
    static char v[2][36 * 1024];
    connect_client(1);
    memset(v, 'a', sizeof(v));
    nghttp2_nv nva[] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b"),
                        {(uint8_t *)"x-a", (uint8_t *)v[0], 3, sizeof(v[0]), NGHTTP2_NV_FLAG_NONE},
                        {(uint8_t *)"x-b", (uint8_t *)v[1], 3, sizeof(v[1]), NGHTTP2_NV_FLAG_NONE}};
    assert_true(nghttp2_submit_request(cs, NULL, nva, 6, NULL, NULL) > 0);
    turn(10);
    assert_int_equal(status, 431);
    assert_int_equal(decided, 0);
}

static void too_many_header_fields_is_431(void **state)
{
    (void)state;
    connect_client(1);
    nghttp2_nv nva[130];
    char names[120][8];
    size_t n = 0;
    nva[n++] = (nghttp2_nv)NVS(":method", "GET");
    nva[n++] = (nghttp2_nv)NVS(":scheme", "http");
    nva[n++] = (nghttp2_nv)NVS(":authority", "proxy.test");
    nva[n++] = (nghttp2_nv)NVS(":path", "/acct/c/b");
    for (int i = 0; i != 120; i++) {
        snprintf(names[i], sizeof(names[i]), "x-%d", i);
        nva[n++] = (nghttp2_nv){(uint8_t *)names[i], (uint8_t *)"v", strlen(names[i]), 1, NGHTTP2_NV_FLAG_NONE};
    }
    assert_true(nghttp2_submit_request(cs, NULL, nva, n, NULL, NULL) > 0);
    turn(10);
    assert_int_equal(status, 431);
    assert_int_equal(decided, 0);
}

static void connection_specific_headers_are_a_protocol_error(void **state)
{
    (void)state;
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b"),
                        NVS("transfer-encoding", "chunked")};
    assert_true(nghttp2_submit_request(cs, NULL, nva, 5, NULL, NULL) > 0);
    turn(10);
    assert_int_equal(rst_code, NGHTTP2_PROTOCOL_ERROR);
    assert_int_equal(status, -1);
    assert_int_equal(decided, 0);
}

/* ---- forwarding ---- */

static void forwards_and_streams_the_response_back(void **state)
{
    (void)state;
    verdict = GW_PROXY_FORWARD;
    override_ct = "text/plain";
    pooled_upstream();
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b"),
                        NVS("x-forwarded-for", "10.0.0.1"), NVS("cookie", "a=1"), NVS("te", "trailers"), NVS("cookie", "b=2")};
    assert_true(nghttp2_submit_request(cs, NULL, nva, 8, NULL, NULL) > 0);
    turn(10);
    up_got[up_got_len] = '\0';
    assert_non_null(strstr(up_got, "GET /acct/c/b HTTP/1.1\r\nhost: backend.test\r\n"));
    assert_non_null(strstr(up_got, "x-forwarded-for: 10.0.0.1, 192.0.2.1\r\n"));
    assert_null(strstr(up_got, "te:"));
    assert_non_null(strstr(up_got, "\r\ncookie: a=1; b=2\r\n")); /* crumbs joined (RFC 9113 8.2.3) */
    assert_null(strstr(strstr(up_got, "cookie:") + 1, "cookie:"));
    assert_null(strstr(up_got, "proxy.test"));
    up_write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
             "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    turn(10);
    assert_int_equal(status, 200);
    assert_int_equal(body_len, 11);
    assert_memory_equal(body, "hello world", 11);
    assert_non_null(strstr(res_headers, "content-type: text/plain\n"));
    assert_null(strstr(res_headers, "octet-stream"));
    assert_null(strstr(res_headers, "x-hop"));
    assert_null(strstr(res_headers, "transfer-encoding"));
    assert_int_equal(rt->num_idle[0], 1); /* back in the pool */
    assert_int_equal(counted, 1);
}

static void cookie_crumbs_are_joined_while_the_head_buffer_grows(void **state)
{
    (void)state;
    static char c[3][601], want[2000];
    verdict = GW_PROXY_FORWARD;
    pooled_upstream();
    connect_client(1);
    nghttp2_nv nva[8] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b"),
                         NVS("cookie", "")};
    for (int i = 0; i != 3; i++) {
        memset(c[i], 'a' + i, 600);
        nva[5 + i] = (nghttp2_nv){(uint8_t *)"cookie", (uint8_t *)c[i], 6, 600, NGHTTP2_NV_FLAG_NONE};
    }
    assert_true(nghttp2_submit_request(cs, NULL, nva, 8, NULL, NULL) > 0);
    turn(10);
    up_got[up_got_len] = '\0';
    snprintf(want, sizeof(want), "\r\ncookie: ; %s; %s; %s\r\n", c[0], c[1], c[2]); /* an empty crumb stays a crumb */
    assert_non_null(strstr(up_got, want));
    assert_int_equal(decided, 1);
}

static void a_body_without_length_goes_chunked_after_100_continue(void **state)
{
    (void)state;
    verdict = GW_PROXY_FORWARD;
    pooled_upstream();
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "PUT"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b"),
                        NVS("expect", "100-continue")};
    upload_left = 300 * 1024; /* more than the stream window: it opens as the upstream takes it */
    nghttp2_data_provider dp = {.read_callback = upload_read};
    assert_true(nghttp2_submit_request(cs, NULL, nva, 5, &dp, NULL) > 0);
    turn(60);
    assert_int_equal(informational, 100);
    up_got[up_got_len] = '\0';
    assert_non_null(strstr(up_got, "PUT /acct/c/b HTTP/1.1\r\n"));
    assert_non_null(strstr(up_got, "transfer-encoding: chunked\r\n"));
    assert_null(strstr(up_got, "expect"));
    assert_int_equal(upload_left, 0);
    assert_true(up_got_len > 300 * 1024);
    assert_memory_equal(up_got + up_got_len - 5, "0\r\n\r\n", 5);
    up_write("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    turn(10);
    assert_int_equal(status, 201);
}

static void a_dead_backend_is_502(void **state)
{
    (void)state;
    verdict = GW_PROXY_FORWARD;
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b")};
    assert_true(nghttp2_submit_request(cs, NULL, nva, 4, NULL, NULL) > 0);
    turn(20);
    assert_int_equal(status, 502);
    assert_non_null(strstr(body, "<Code>BadGateway</Code>"));
}

static void a_client_reset_closes_the_upstream(void **state)
{
    (void)state;
    verdict = GW_PROXY_FORWARD;
    pooled_upstream();
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "PUT"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b"),
                        NVS("content-length", "100000000")};
    upload_left = 100000000;
    nghttp2_data_provider dp = {.read_callback = upload_read};
    int32_t id = nghttp2_submit_request(cs, NULL, nva, 5, &dp, NULL);
    assert_true(id > 0);
    turn(5);
    assert_true(up_got_len > 0);
    nghttp2_submit_rst_stream(cs, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    turn(10);
    assert_true(up_eof);                  /* the backend sees the upload end unfinished */
    assert_int_equal(rt->num_idle[0], 0); /* never back to the pool mid-body */
}

static void a_client_leaving_closes_its_upstreams(void **state)
{
    (void)state;
    verdict = GW_PROXY_FORWARD;
    pooled_upstream();
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "PUT"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b"),
                        NVS("content-length", "100000000")};
    upload_left = 100000000;
    nghttp2_data_provider dp = {.read_callback = upload_read};
    assert_true(nghttp2_submit_request(cs, NULL, nva, 5, &dp, NULL) > 0);
    turn(5);
    assert_true(up_got_len > 0);
    close(client_fd);
    client_fd = -1;
    nghttp2_session_del(cs);
    cs = NULL;
    for (int i = 0; i != 10 && !up_eof; i++) {
        h2o_evloop_run(rt->loop, 1);
        drain_upstream();
    }
    assert_true(up_eof);
    assert_true(h2o_linklist_is_empty(&rt->h2_conns));
    assert_int_equal(rt->num_idle[0], 0);
}

static void graceful_shutdown_finishes_the_stream_in_flight(void **state)
{
    (void)state;
    verdict = GW_PROXY_FORWARD;
    pooled_upstream();
    connect_client(1);
    nghttp2_nv nva[] = {NVS(":method", "GET"), NVS(":scheme", "http"), NVS(":authority", "proxy.test"), NVS(":path", "/acct/c/b")};
    int32_t id = nghttp2_submit_request(cs, NULL, nva, 4, NULL, NULL);
    assert_true(id > 0);
    turn(5);
    assert_true(up_got_len > 0);
    rt->shutting_down = 1;
    gw_h2_shutdown(rt);
    turn(3);
    assert_int_equal(goaway_code, NGHTTP2_NO_ERROR);
    assert_false(h2o_linklist_is_empty(&rt->h2_conns)); /* the stream is still being answered */
    up_write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
    turn(5);
    assert_int_equal(status, 200);
    assert_int_equal(body_len, 4);
    assert_memory_equal(body, "done", 4);
    assert_true(h2o_linklist_is_empty(&rt->h2_conns)); /* then the connection closes */
    assert_int_equal(rt->num_idle[0], 0);               /* and its upstream is not pooled while shutting down */
    rt->shutting_down = 0;
}

/* ---- floods (raw frames) ---- */

static size_t frame(char *out, int type, int flags, uint32_t id, const void *payload, size_t len)
{
    out[0] = (char)(len >> 16);
    out[1] = (char)(len >> 8);
    out[2] = (char)len;
    out[3] = (char)type;
    out[4] = (char)flags;
    out[5] = (char)(id >> 24);
    out[6] = (char)(id >> 16);
    out[7] = (char)(id >> 8);
    out[8] = (char)id;
    memcpy(out + 9, payload, len);
    return 9 + len;
}

/* HPACK: the static table's :method GET (2), :scheme http (6), :path / (4), and a literal :authority. */
static const char get_block[] = "\x82\x86\x84\x01\x04host";

/* Finds a GOAWAY in the server's bytes; returns its error code or -1. */
static int raw_goaway(void)
{
    for (size_t at = 0; at + 9 <= raw_len;) {
        size_t len = ((size_t)(uint8_t)raw[at] << 16) | ((size_t)(uint8_t)raw[at + 1] << 8) | (uint8_t)raw[at + 2];
        if (at + 9 + len > raw_len)
            break;
        if (raw[at + 3] == NGHTTP2_GOAWAY && len >= 8)
            return (int)(((uint32_t)(uint8_t)raw[at + 13] << 24) | ((uint32_t)(uint8_t)raw[at + 14] << 16) |
                         ((uint32_t)(uint8_t)raw[at + 15] << 8) | (uint8_t)raw[at + 16]);
        at += 9 + len;
    }
    return -1;
}

static void send_raw(const char *p, size_t len)
{
    while (len != 0) {
        ssize_t n = write(client_fd, p, len);
        if (n < 0) {
            assert_true(errno == EAGAIN);
            turn(1);
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void a_continuation_flood_ends_the_connection(void **state)
{
    (void)state;
    static char buf[1 << 16];
    size_t n = 0;
    connect_client(0);
    memcpy(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    n = 24;
    n += frame(buf + n, NGHTTP2_SETTINGS, 0, 0, "", 0);
    n += frame(buf + n, NGHTTP2_HEADERS, 0, 1, get_block, sizeof(get_block) - 1);
    char lit[64];
    memcpy(lit, "\x00\x01x\x38", 4); /* literal x: 56 bytes */
    memset(lit + 4, 'a', 56);
    for (int i = 0; i != 2 * H2_MAX_HEADER_FRAMES; i++)
        n += frame(buf + n, NGHTTP2_CONTINUATION, 0, 1, lit, 60);
    send_raw(buf, n);
    turn(20);
    assert_int_equal(raw_goaway(), NGHTTP2_ENHANCE_YOUR_CALM);
    assert_true(raw_eof);
    assert_int_equal(decided, 0);
}

static void rapid_reset_ends_the_connection(void **state)
{
    (void)state;
    static char buf[1 << 20];
    size_t n = 0;
    connect_client(0);
    memcpy(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    n = 24;
    n += frame(buf + n, NGHTTP2_SETTINGS, 0, 0, "", 0);
    for (uint32_t i = 0; i != 2 * H2_RST_BURST + 50; i++) {
        n += frame(buf + n, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 2 * i + 1, get_block, sizeof(get_block) - 1);
        n += frame(buf + n, NGHTTP2_RST_STREAM, 0, 2 * i + 1, "\x00\x00\x00\x08", 4);
    }
    send_raw(buf, n);
    turn(30);
    assert_int_equal(raw_goaway(), NGHTTP2_ENHANCE_YOUR_CALM);
    assert_true(raw_eof);
    assert_true(decided < 2 * H2_RST_BURST + 50);
}

static void a_ping_flood_ends_the_connection(void **state)
{
    (void)state;
    static char buf[1 << 16];
    size_t n = 0;
    connect_client(0);
    memcpy(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    n = 24;
    n += frame(buf + n, NGHTTP2_SETTINGS, 0, 0, "", 0);
    for (int i = 0; i != H2_MAX_OUTBOUND_ACK + 500; i++)
        n += frame(buf + n, NGHTTP2_PING, 0, 0, "12345678", 8);
    send_raw(buf, n);
    turn(20);
    assert_int_equal(raw_goaway(), NGHTTP2_ENHANCE_YOUR_CALM);
    assert_true(raw_eof);
}

static void a_polite_ping_is_answered(void **state)
{
    (void)state;
    static char buf[256];
    size_t n = 0;
    connect_client(0);
    memcpy(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    n = 24;
    n += frame(buf + n, NGHTTP2_SETTINGS, 0, 0, "", 0);
    n += frame(buf + n, NGHTTP2_PING, 0, 0, "12345678", 8);
    send_raw(buf, n);
    turn(5);
    assert_int_equal(raw_goaway(), -1);
    assert_false(raw_eof);
    assert_non_null(memmem(raw, raw_len, "\x00\x00\x08\x06\x01\x00\x00\x00\x00" "12345678", 17)); /* PING ACK */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(refusal_answers_before_the_body_and_never_opens_the_window, setup, teardown),
        cmocka_unit_test_setup_teardown(an_account_without_backend_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(a_header_list_over_64k_is_431, setup, teardown),
        cmocka_unit_test_setup_teardown(too_many_header_fields_is_431, setup, teardown),
        cmocka_unit_test_setup_teardown(connection_specific_headers_are_a_protocol_error, setup, teardown),
        cmocka_unit_test_setup_teardown(forwards_and_streams_the_response_back, setup, teardown),
        cmocka_unit_test_setup_teardown(cookie_crumbs_are_joined_while_the_head_buffer_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(a_body_without_length_goes_chunked_after_100_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(a_dead_backend_is_502, setup, teardown),
        cmocka_unit_test_setup_teardown(a_client_reset_closes_the_upstream, setup, teardown),
        cmocka_unit_test_setup_teardown(a_client_leaving_closes_its_upstreams, setup, teardown),
        cmocka_unit_test_setup_teardown(graceful_shutdown_finishes_the_stream_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(a_continuation_flood_ends_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(rapid_reset_ends_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(a_ping_flood_ends_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(a_polite_ping_is_answered, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
