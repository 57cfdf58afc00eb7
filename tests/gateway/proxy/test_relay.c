/*
 * Tests gateway/proxy/relay.c's own decisions: request framing and
 * keep-alive, the refusal path (kept or dropped connection, the refused body
 * read and dropped), 100-continue, the response framing, origin-mode
 * overrides, X-Forwarded-For joining, the upstream pool. The test includes
 * relay.c (h2o's habit) to reach its statics.
 *
 * Exchanges run for real: a client connection is one end of a socketpair
 * registered on a real h2o event loop as the relay's accept would; the test
 * writes the request bytes at the other end and runs the loop until the
 * answer is read. The upstream is another socketpair, put in the worker's
 * idle pool, where the relay takes it. Four names relay.c calls are renamed
 * to test functions: the decision (tested in test_decide.c; here the test
 * says the verdict), the per-thread environment it needs, and two metric
 * counters that need a whole server. Everything else is relay.c as built.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "relay.c"
#include "upstream.c"

/* ---- the renamed functions ---- */

static gw_proxy_verdict_t verdict; /* what test_decide answers */
static size_t decided, refusals, counted;
static const char *overrides[2][2]; /* name, value pairs test_decide returns (origin mode) */
static gw_keyring_account_t account = {.name = "acct", .name_len = 4};
static char last_xff[4096];

gw_proxy_verdict_t test_decide(const gw_proxy_env_t *env, const gw_proxy_request_t *req, gw_proxy_decision_t *d, char *buf,
                               size_t cap)
{
    (void)env;
    (void)buf;
    (void)cap;
    decided++;
    memset(d, 0, offsetof(gw_proxy_decision_t, override_buf));
    d->sts[0] = '\0';
    snprintf(last_xff, sizeof(last_xff), "%.*s", (int)req->xff_len, req->xff != NULL ? req->xff : "");
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
    for (size_t i = 0; i != 2 && overrides[i][0] != NULL; i++) {
        d->overrides[i].name = overrides[i][0];
        d->overrides[i].value = overrides[i][1];
        d->overrides[i].value_len = strlen(overrides[i][1]);
        d->num_overrides++;
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
static int client_fd = -1, upstream_fd = -1; /* the test's ends */
static char got[1 << 16], up_got[1 << 16];
static size_t got_len, up_got_len;
static int got_eof;

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int setup(void **state)
{
    (void)state;
    memset(&relay, 0, sizeof(relay));
    memset(&backend, 0, sizeof(backend));
    backend.account = "acct";
    backend.up.host = "127.0.0.1";
    backend.up.path = "";
    backend.up.authority = "backend.test";
    relay.backends = &backend;
    relay.num_backends = 1;
    rt = sg_calloc(1, sizeof(*rt));
    rt->relay = &relay;
    rt->loop = h2o_evloop_create();
    h2o_timeout_init(rt->loop, &rt->client_timeout, CLIENT_TIMEOUT_MS);
    h2o_timeout_init(rt->loop, &rt->io_timeout, 5000);
    h2o_timeout_init(rt->loop, &rt->pool_timeout, POOL_IDLE_MS);
    h2o_timeout_init(rt->loop, &rt->linger_timeout, LINGER_MS);
    rt->idle = sg_calloc(2, sizeof(*rt->idle));
    rt->num_idle = sg_calloc(2, sizeof(*rt->num_idle));
    h2o_linklist_init_anchor(&rt->idle[0]);
    h2o_linklist_init_anchor(&rt->conns);
    h2o_linklist_init_anchor(&rt->h2_conns);
    verdict = GW_PROXY_REFUSE;
    account.name = "acct";
    decided = refusals = counted = 0;
    memset(overrides, 0, sizeof(overrides));
    got_len = up_got_len = 0;
    got_eof = 0;
    client_fd = upstream_fd = -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    while (!h2o_linklist_is_empty(&rt->conns))
        close_conn(H2O_STRUCT_FROM_MEMBER(struct conn, link, rt->conns.next));
    while (!h2o_linklist_is_empty(&rt->idle[0]))
        gw_upstream_destroy(H2O_STRUCT_FROM_MEMBER(struct gw_upstream, link, rt->idle[0].next));
    for (int i = 0; i != 8; i++)
        h2o_evloop_run(rt->loop, 0); /* lets h2o free the closed sockets */
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

/* A client connection, as on_accept makes one for a cleartext listener (no HTTP/2 on it). */
static struct conn *accept_client(void)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    nonblock(sv[0]);
    nonblock(sv[1]);
    client_fd = sv[1];
    struct conn *c = sg_calloc(1, sizeof(*c));
    c->sock = h2o_evloop_socket_create(rt->loop, sv[0], 0);
    c->rt = rt;
    c->timeout.cb = on_conn_timeout;
    strcpy(c->peer_text, "192.0.2.1");
    reset_exchange(c);
    h2o_linklist_insert(&rt->conns, &c->link);
    c->sock->data = c;
    set_timeout(c, &rt->client_timeout);
    c->state = ST_PREFACE;
    h2o_socket_read_start(c->sock, on_client_read);
    return c;
}

/* An idle upstream connection of backend 0 in the pool, as pool_put leaves one. */
static struct gw_upstream *pooled_upstream(void)
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
    return up;
}

static void send_all(int fd, const char *s, size_t len)
{
    while (len != 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0) {
            assert_true(errno == EAGAIN);
            h2o_evloop_run(rt->loop, 1);
            continue;
        }
        s += n;
        len -= (size_t)n;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

static void drain(int fd, char *buf, size_t *len, int *eof)
{
    for (;;) {
        ssize_t n = read(fd, buf + *len, (1 << 16) - 1 - *len);
        if (n > 0) {
            *len += (size_t)n;
            buf[*len] = '\0';
            continue;
        }
        if (n == 0 && eof != NULL)
            *eof = 1;
        return;
    }
}

/*
 * Runs the loop for about ms milliseconds and at least 20 turns (a loaded
 * machine does not cut an exchange short), less once the client end saw EOF,
 * collecting what both ends receive.
 */
static void run(int ms)
{
    struct timeval start;
    gettimeofday(&start, NULL);
    for (int turns = 0; (turns < 20 || usec_since(&start) < (int64_t)ms * 1000) && !got_eof; turns++) {
        h2o_evloop_run(rt->loop, 5);
        if (client_fd >= 0)
            drain(client_fd, got, &got_len, &got_eof);
        if (upstream_fd >= 0)
            drain(upstream_fd, up_got, &up_got_len, NULL);
    }
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static int num_conns(void)
{
    int n = 0;
    for (h2o_linklist_t *l = rt->conns.next; l != &rt->conns; l = l->next)
        n++;
    return n;
}

static struct conn *only_conn(void)
{
    assert_int_equal(num_conns(), 1);
    return H2O_STRUCT_FROM_MEMBER(struct conn, link, rt->conns.next);
}

/* ---- pure pieces ---- */

static void framing_codes_and_sentences(void **state)
{
    (void)state;
    assert_string_equal(framing_code(413), "RequestBodyTooLarge");
    assert_string_equal(framing_code(417), "UnsupportedHeader");
    assert_string_equal(framing_code(501), "UnsupportedHeader");
    assert_string_equal(framing_code(400), "InvalidInput");
    assert_string_equal(framing_code(431), "InvalidInput");
    assert_non_null(strstr(framing_message(413), "too large"));
    assert_non_null(strstr(framing_message(417), "100-continue"));
    assert_non_null(strstr(framing_message(431), "64 KiB"));
    assert_non_null(strstr(framing_message(501), "chunked"));
    assert_non_null(strstr(framing_message(400), "not valid HTTP/1.1"));
}

static void finds_backends_by_exact_account(void **state)
{
    (void)state;
    struct gw_backend bs[2] = {{.account = "alpha"}, {.account = "beta"}};
    struct gw_relay r = {.backends = bs, .num_backends = 2};
    assert_int_equal(gw_relay_find_backend(&r, "alpha"), 0);
    assert_int_equal(gw_relay_find_backend(&r, "beta"), 1);
    assert_int_equal(gw_relay_find_backend(&r, "bet"), -1);
    assert_int_equal(gw_relay_find_backend(&r, "betax"), -1);
    assert_int_equal(gw_relay_find_backend(&r, "ALPHA"), -1);
    r.num_backends = 0;
    assert_int_equal(gw_relay_find_backend(&r, "alpha"), -1);
}

static gw_http1_head_t head;

static void parse(const char *s)
{
    assert_int_equal(gw_http1_parse_request(s, strlen(s), GW_RELAY_MAX_BODY, &head), (long)strlen(s));
}

static void joins_forwarded_for_lines(void **state)
{
    (void)state;
    const char *out;
    size_t len;

    parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    join_xff(rt, &head, &out, &len);
    assert_null(out);
    assert_int_equal(len, 0);

    parse("GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\nHost: a\r\nx-forwarded-FOR: 10.0.0.2, 10.0.0.3\r\n\r\n");
    join_xff(rt, &head, &out, &len);
    assert_int_equal(len, strlen("10.0.0.1, 10.0.0.2, 10.0.0.3"));
    assert_memory_equal(out, "10.0.0.1, 10.0.0.2, 10.0.0.3", len);

    /* one line that fits exactly (n + 2 + len < 4096), then one that does not: "?", a hop that does not parse */
    static char req[16384];
    char v[4096];
    memset(v, '1', sizeof(v));
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: %.*s\r\n\r\n", (int)sizeof(rt->xff) - 3, v);
    parse(req);
    join_xff(rt, &head, &out, &len);
    assert_int_equal(len, sizeof(rt->xff) - 3);
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: %.*s\r\n\r\n", (int)sizeof(rt->xff) - 2, v);
    parse(req);
    join_xff(rt, &head, &out, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(out, "?", 1);
    /* two lines that only together are too long */
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: %.*s\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n", 4090, v);
    parse(req);
    join_xff(rt, &head, &out, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(out, "?", 1);
}

static void adds_lines_before_the_blank_line(void **state)
{
    (void)state;
    char buf[64] = "HTTP/1.1 200 OK\r\n\r\n";
    size_t len = strlen(buf);
    size_t n = gw_upstream_add_lines(buf, len, sizeof(buf), H2O_STRLIT("a: 1\r\n"));
    assert_int_equal(n, len + 6);
    assert_memory_equal(buf, "HTTP/1.1 200 OK\r\na: 1\r\n\r\n", n);
    /* exactly full fits; one byte more does not; a head shorter than a blank line is refused */
    char small[25] = "HTTP/1.1 200 OK\r\n\r\n";
    assert_int_equal(gw_upstream_add_lines(small, 19, 25, H2O_STRLIT("a: 1\r\n")), 25);
    assert_int_equal(gw_upstream_add_lines(small, 19, 24, H2O_STRLIT("a: 1\r\n")), 0);
    assert_int_equal(gw_upstream_add_lines(buf, 3, sizeof(buf), H2O_STRLIT("a: 1\r\n")), 0);
}

static void keeps_and_applies_overrides(void **state)
{
    (void)state;
    struct conn c = {0};
    static gw_proxy_decision_t d;
    memset(&d, 0, sizeof(d));
    c.req.overrides = gw_upstream_overrides(&d, &c.req.overrides_len);
    assert_null(c.req.overrides);

    d.num_overrides = 2;
    d.overrides[0].name = "content-type";
    d.overrides[0].value = "text/plainX";
    d.overrides[0].value_len = 10; /* not NUL-terminated at value_len */
    d.overrides[1].name = "cache-control";
    d.overrides[1].value = "no-store";
    d.overrides[1].value_len = 8;
    c.req.overrides = gw_upstream_overrides(&d, &c.req.overrides_len);
    const char *want = "content-type: text/plain\r\ncache-control: no-store\r\n";
    assert_int_equal(c.req.overrides_len, strlen(want));
    assert_memory_equal(c.req.overrides, want, strlen(want));

    const char *res = "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 0\r\nCache-Control: max-age=1\r\n"
                      "Content-Typex: keep\r\nContent: keep\r\nETag: e\r\n\r\n";
    assert_true(gw_http1_parse_response(res, strlen(res), 0, &head) > 0);
    drop_overridden(&c, &head);
    /* a name that is a prefix of an override's, or has one as its prefix, stays */
    assert_int_equal(head.num_headers, 4);
    assert_memory_equal(head.headers[0].name, "Content-Length", 14);
    assert_memory_equal(head.headers[1].name, "Content-Typex", 13);
    assert_memory_equal(head.headers[2].name, "Content", 7);
    assert_memory_equal(head.headers[3].name, "ETag", 4);
    free(c.req.overrides);
}

/* ---- the refusal path, on a real loop ---- */

static const char *get = "GET /acct/c/b HTTP/1.1\r\nHost: a\r\n\r\n";

static void refusal_keeps_a_bodyless_connection(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, get);
    run(100);
    assert_int_equal(refusals, 1);
    assert_non_null(strstr(got, "HTTP/1.1 403 "));
    assert_non_null(strstr(got, "connection: keep-alive\r\n"));
    assert_non_null(strstr(got, "</Error>"));
    assert_false(got_eof);
    assert_int_equal(only_conn()->state, ST_HEAD);
    assert_int_equal(counted, 1);
    /* the same connection answers the next request */
    send_str(client_fd, get);
    run(100);
    assert_int_equal(occurrences(got, "HTTP/1.1 403 "), 2);
    assert_int_equal(num_conns(), 1);
}

static void refusal_of_a_head_request_has_no_body(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, "HEAD /acct/c/b HTTP/1.1\r\nHost: a\r\n\r\n");
    run(100);
    assert_non_null(strstr(got, "HTTP/1.1 403 "));
    assert_non_null(strstr(got, "content-length: "));
    assert_null(strstr(got, "<Error>"));
    assert_true(got_len >= 4 && memcmp(got + got_len - 4, "\r\n\r\n", 4) == 0);
}

static void refusal_honours_connection_close(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, "GET /acct/c/b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    run(300);
    assert_non_null(strstr(got, "connection: close\r\n"));
    assert_true(got_eof);
    assert_int_equal(num_conns(), 0);
}

static void refusal_reads_and_drops_a_length_body(void **state)
{
    (void)state;
    accept_client();
    /* the refused request's body (which looks like a request) and then the next request */
    send_str(client_fd, "PUT /acct/c/b HTTP/1.1\r\nHost: a\r\nContent-Length: 32\r\n\r\n");
    run(50);
    assert_non_null(strstr(got, "connection: keep-alive\r\n"));
    struct conn *c = only_conn();
    assert_int_equal(c->state, ST_BODY);
    assert_true(c->req.discard);
    send_str(client_fd, "GET /evil HTTP/1.1\r\nHost: a\r\n\r\n");
    send_str(client_fd, "X");
    send_str(client_fd, get);
    run(100);
    assert_int_equal(decided, 2); /* the body was not read as a request */
    assert_int_equal(occurrences(got, "HTTP/1.1 403 "), 2);
    assert_int_equal(only_conn()->req.discarded, 0); /* a new exchange */
    assert_false(got_eof);
}

static void refusal_reads_and_drops_a_chunked_body(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, "POST /acct/c/b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n3;x=y\r\nGET\r\n0\r\nTrailer: t\r\n\r\n");
    send_str(client_fd, get);
    run(150);
    assert_int_equal(decided, 2);
    assert_int_equal(occurrences(got, "HTTP/1.1 403 "), 2);
    assert_int_equal(occurrences(got, "connection: keep-alive\r\n"), 2);
    assert_false(got_eof);
}

static void refusal_closes_on_a_malformed_chunk(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, "POST /acct/c/b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    run(50);
    assert_non_null(strstr(got, "connection: keep-alive\r\n")); /* said before the body showed its coding */
    send_str(client_fd, "zz\r\nhello\r\n");
    send_str(client_fd, get);
    run(300);
    assert_int_equal(decided, 1);
    assert_int_equal(occurrences(got, "HTTP/1.1 403 "), 1);
    assert_true(got_eof); /* lingered: the write side is shut */
}

static void refusal_with_expect_continue_closes(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, "PUT /acct/c/b HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    run(300);
    assert_null(strstr(got, "100 Continue"));
    assert_non_null(strstr(got, "HTTP/1.1 403 "));
    assert_non_null(strstr(got, "connection: close\r\n"));
    assert_true(got_eof);
}

static void refusal_with_expect_continue_and_no_body_keeps(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, "PUT /acct/c/b HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n");
    run(100);
    assert_non_null(strstr(got, "connection: keep-alive\r\n"));
    assert_int_equal(only_conn()->state, ST_HEAD);
}

static void refusal_of_a_body_beyond_discard_max_closes(void **state)
{
    (void)state;
    char req[256];
    /* exactly DISCARD_MAX is still read and dropped; one byte more is not */
    accept_client();
    snprintf(req, sizeof(req), "PUT /acct/c/b HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", DISCARD_MAX);
    send_str(client_fd, req);
    run(50);
    assert_non_null(strstr(got, "connection: keep-alive\r\n"));
    assert_true(only_conn()->req.discard);
    teardown(state);
    setup(state);

    accept_client();
    snprintf(req, sizeof(req), "PUT /acct/c/b HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", DISCARD_MAX + 1);
    send_str(client_fd, req);
    run(300);
    assert_non_null(strstr(got, "connection: close\r\n"));
    assert_true(got_eof);
}

static void chunked_refusal_stops_after_discard_max(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, "POST /acct/c/b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    run(50);
    static char chunk[65536 + 16];
    int n = snprintf(chunk, sizeof(chunk), "10000\r\n");
    memset(chunk + n, 'x', 65536);
    memcpy(chunk + n + 65536, "\r\n", 2);
    for (int i = 0; i != DISCARD_MAX / 65536 + 2 && !got_eof; i++) {
        if (write(client_fd, chunk, (size_t)n + 65538) < 0)
            break;
        run(5);
    }
    run(300);
    assert_true(got_eof);
}

static void framing_error_answers_and_closes(void **state)
{
    (void)state;
    accept_client();
    send_str(client_fd, "PUT /acct/c/b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello");
    run(300);
    assert_int_equal(decided, 0);
    assert_non_null(strstr(got, "HTTP/1.1 400 "));
    assert_non_null(strstr(got, "x-ms-error-code: InvalidInput\r\n"));
    assert_non_null(strstr(got, "connection: close\r\n"));
    assert_true(got_eof);
}

/* ---- forwarding, with the upstream from the pool ---- */

/* A client whose requests are forwarded, and one idle upstream connection in the pool for them. */
static void forwarding_client(void)
{
    pooled_upstream();
    verdict = GW_PROXY_FORWARD;
    accept_client();
}

static void forwards_and_keeps_both_connections(void **state)
{
    (void)state;
    forwarding_client();
    send_str(client_fd, "GET /acct/c/b HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n");
    run(50);
    assert_string_equal(last_xff, "1.1.1.1, 2.2.2.2");
    assert_int_equal(rt->num_idle[0], 0);
    assert_non_null(strstr(up_got, "GET /acct/c/b HTTP/1.1\r\n"));
    assert_non_null(strstr(up_got, "backend.test"));
    send_str(upstream_fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    run(100);
    assert_null(strstr(got, "100 Continue")); /* 1xx from the upstream is not passed on */
    assert_non_null(strstr(got, "HTTP/1.1 200 OK\r\n"));
    assert_true(got_len >= 2 && memcmp(got + got_len - 2, "ok", 2) == 0);
    assert_int_equal(rt->num_idle[0], 1); /* back in the pool */
    assert_int_equal(only_conn()->state, ST_HEAD);
    /* the next request reuses it */
    up_got_len = 0;
    send_str(client_fd, "HEAD /acct/c/b HTTP/1.1\r\nHost: a\r\n\r\n");
    run(50);
    assert_int_equal(rt->num_idle[0], 0);
    assert_non_null(strstr(up_got, "HEAD /acct/c/b HTTP/1.1\r\n"));
    send_str(upstream_fd, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"); /* HEAD: no body follows */
    run(100);
    assert_int_equal(occurrences(got, "HTTP/1.1 200 OK\r\n"), 2);
    assert_int_equal(rt->num_idle[0], 1);
}

static void unrouted_account_is_404(void **state)
{
    (void)state;
    account.name = "other";
    forwarding_client();
    send_str(client_fd, get);
    run(100);
    assert_non_null(strstr(got, "HTTP/1.1 404 "));
    assert_non_null(strstr(got, "ResourceNotFound"));
    assert_int_equal(up_got_len, 0);
    assert_non_null(strstr(got, "connection: keep-alive\r\n"));
}

static void sends_100_continue_then_the_body(void **state)
{
    (void)state;
    forwarding_client();
    send_str(client_fd, "PUT /acct/c/b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    run(50);
    assert_string_equal(got, "HTTP/1.1 100 Continue\r\n\r\n");
    assert_null(strstr(up_got, "xpect")); /* the expectation is ours, not the backend's */
    send_str(client_fd, "hello");
    run(50);
    assert_true(up_got_len >= 5 && memcmp(up_got + up_got_len - 5, "hello", 5) == 0);
    send_str(upstream_fd, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    run(100);
    assert_non_null(strstr(got, "HTTP/1.1 201 Created\r\n"));
    assert_int_equal(only_conn()->state, ST_HEAD);
    assert_int_equal(rt->num_idle[0], 1);
}

static void early_answer_drops_keepalive(void **state)
{
    (void)state;
    forwarding_client();
    send_str(client_fd, "PUT /acct/c/b HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc");
    run(50);
    send_str(upstream_fd, "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n");
    run(300);
    assert_non_null(strstr(got, "HTTP/1.1 413 Too Large\r\n"));
    assert_non_null(strstr(got, "connection: close\r\n"));
    assert_true(got_eof);
    assert_int_equal(rt->num_idle[0], 0); /* the upstream did not get the whole body: not reused */
}

static void overrides_apply_to_2xx_only(void **state)
{
    (void)state;
    pooled_upstream();
    verdict = GW_PROXY_FORWARD;
    overrides[0][0] = "content-type";
    overrides[0][1] = "text/x-signed";
    accept_client();
    send_str(client_fd, get);
    run(50);
    send_str(upstream_fd, "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nContent-Length: 0\r\n\r\n");
    run(100);
    assert_non_null(strstr(got, "content-type: text/x-signed\r\n"));
    assert_null(strstr(got, "a/b"));
    got_len = 0;
    got[0] = '\0';
    send_str(client_fd, get);
    run(50);
    send_str(upstream_fd, "HTTP/1.1 404 Not Found\r\nContent-Type: a/b\r\nContent-Length: 0\r\n\r\n");
    run(100);
    assert_non_null(strstr(got, "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strstr(got, "a/b"));
    assert_null(strstr(got, "text/x-signed"));
}

static void chunked_response_to_http10_closes(void **state)
{
    (void)state;
    forwarding_client();
    send_str(client_fd, "GET /acct/c/b HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
    run(50);
    send_str(upstream_fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    run(300);
    assert_null(strstr(got, "hunked"));
    assert_true(got_len >= 2 && memcmp(got + got_len - 2, "ok", 2) == 0);
    assert_true(got_eof);
    assert_int_equal(rt->num_idle[0], 1); /* the upstream's side ended cleanly */
}

static void chunked_response_rechunked_for_http11(void **state)
{
    (void)state;
    forwarding_client();
    send_str(client_fd, get);
    run(50);
    send_str(upstream_fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    run(100);
    assert_non_null(strstr(got, "transfer-encoding: chunked\r\n"));
    assert_true(got_len >= 5 && memcmp(got + got_len - 5, "0\r\n\r\n", 5) == 0);
    assert_int_equal(only_conn()->state, ST_HEAD);
}

static void shutting_down_closes_after_the_exchange(void **state)
{
    (void)state;
    forwarding_client();
    send_str(client_fd, get);
    run(50);
    rt->shutting_down = 1;
    send_str(upstream_fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    run(300);
    rt->shutting_down = 0;
    assert_non_null(strstr(got, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(got, "connection: close\r\n"));
    assert_true(got_eof);
    assert_int_equal(rt->num_idle[0], 0); /* not pooled either */
}

static void refusal_while_shutting_down_closes(void **state)
{
    (void)state;
    accept_client();
    rt->shutting_down = 1;
    send_str(client_fd, get);
    run(300);
    rt->shutting_down = 0;
    assert_non_null(strstr(got, "connection: close\r\n"));
    assert_true(got_eof);
}

/* ---- the pool ---- */

/* Gives c an upstream from the pool as start_upstream does, ready to be put back. */
static void take_upstream(struct conn *c)
{
    struct gw_upstream *up = pooled_upstream();
    h2o_linklist_unlink(&up->link);
    rt->num_idle[0]--;
    h2o_timeout_unlink(&up->idle_timeout);
    c->up = up;
    up->owner = c;
}

static void pool_put_rules(void **state)
{
    (void)state;
    struct conn *c = accept_client();
    take_upstream(c);
    pool_put(c);
    assert_null(c->up);
    assert_int_equal(rt->num_idle[0], 1);

    /* unread bytes on it: closed */
    close(upstream_fd);
    take_upstream(c);
    h2o_buffer_reserve(&c->up->sock->input, 1);
    c->up->sock->input->size = 1;
    pool_put(c);
    assert_int_equal(rt->num_idle[0], 1);

    /* shutting down: closed */
    close(upstream_fd);
    take_upstream(c);
    rt->shutting_down = 1;
    pool_put(c);
    rt->shutting_down = 0;
    assert_int_equal(rt->num_idle[0], 1);

    /* a full pool: closed */
    close(upstream_fd);
    take_upstream(c);
    rt->num_idle[0] = GW_UPSTREAM_POOL_MAX;
    pool_put(c);
    assert_int_equal(rt->num_idle[0], GW_UPSTREAM_POOL_MAX);
    rt->num_idle[0] = 1;
    close(upstream_fd);
    upstream_fd = -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(framing_codes_and_sentences, setup, teardown),
        cmocka_unit_test_setup_teardown(finds_backends_by_exact_account, setup, teardown),
        cmocka_unit_test_setup_teardown(joins_forwarded_for_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(adds_lines_before_the_blank_line, setup, teardown),
        cmocka_unit_test_setup_teardown(keeps_and_applies_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_keeps_a_bodyless_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_of_a_head_request_has_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_honours_connection_close, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_reads_and_drops_a_length_body, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_reads_and_drops_a_chunked_body, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_closes_on_a_malformed_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_with_expect_continue_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_with_expect_continue_and_no_body_keeps, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_of_a_body_beyond_discard_max_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(chunked_refusal_stops_after_discard_max, setup, teardown),
        cmocka_unit_test_setup_teardown(framing_error_answers_and_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(forwards_and_keeps_both_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(unrouted_account_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(sends_100_continue_then_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown(early_answer_drops_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(overrides_apply_to_2xx_only, setup, teardown),
        cmocka_unit_test_setup_teardown(chunked_response_to_http10_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(chunked_response_rechunked_for_http11, setup, teardown),
        cmocka_unit_test_setup_teardown(shutting_down_closes_after_the_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(refusal_while_shutting_down_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(pool_put_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
