/*
 * sharedkey_origin - a small Azure-like origin for bench/proxy.sh's resign
 * mode: every request must carry a Shared Key Authorization that
 * sas_sk_verify() accepts for the account named on the command line (key:
 * Azurite's well-known devstoreaccount1 key unless --key says otherwise).
 * GET answers 200 with a fixed body of --size bytes, HEAD its headers, PUT
 * 201, DELETE 202, anything else 200, all three without a body (a request
 * body is read and dropped); a bad or missing signature gets 403 with
 * Azure's error shape.
 *
 * Plain sockets: one epoll loop per thread, each with its own SO_REUSEPORT
 * listener; HTTP/1.1 keep-alive and pipelining; request heads up to 16 KiB
 * parsed with the picohttpparser that libh2o exports; request bodies only
 * with Content-Length (Transfer-Encoding gets 501), "Expect: 100-continue"
 * answered with 100 Continue when the signature holds. On SIGINT or SIGTERM it
 * prints "verified=N refused=M" on stderr and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sasgw/common.h"
#include "sasgw/signer.h"
#include "picohttp.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define HEAD_MAX 16384
#define MAX_HEADERS 100

static const char usage[] =
    "usage: sharedkey_origin --port PORT --account NAME --size BYTES [--host ADDR] [--threads N] [--key BASE64]\n"
    "\n"
    "An origin that checks Azure Shared Key on every request (signer's sas_sk_verify()).\n"
    "  --port PORT      TCP port to listen on (required)\n"
    "  --account NAME   the storage account the Authorization must name (required)\n"
    "  --size BYTES     body length of every GET answer (required)\n"
    "  --host ADDR      IPv4 address to bind (default 127.0.0.1)\n"
    "  --threads N      event loops, each with its own SO_REUSEPORT listener (default: online CPUs)\n"
    "  --key BASE64     account key (default: Azurite's well-known devstoreaccount1 key)\n"
    "GET -> 200 with BYTES bytes; HEAD -> 200 headers only; PUT -> 201, DELETE -> 202, others -> 200, empty;\n"
    "a missing or wrong signature -> 403. SIGINT/SIGTERM: prints verified=N refused=M, exits 0.\n";

static struct {
    struct sockaddr_in addr;
    const char *account;
    size_t account_len;
    sas_key_t key;
    char *body;
    size_t size;
} cfg;

static atomic_ulong n_verified, n_refused;
static volatile sig_atomic_t stopping;

typedef struct st_conn_t {
    int fd;
    size_t in_len;
    size_t drain;   /* request body bytes still to drop */
    size_t out_len; /* response head bytes pending, from out_off */
    size_t out_off;
    size_t body_left;    /* response body bytes pending after the head */
    int close_after;     /* close once the response is out */
    int expect_continue; /* the request asked for 100-continue */
    char out[512];
    char in[HEAD_MAX];
    char sts[SAS_MAX_STS + HEAD_MAX];
} conn_t;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int find_header(const struct phr_header *h, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Queues the answer; c->expect_continue first sends "100 Continue" (a verified request's body then follows). */
static void respond(conn_t *c, int status, const char *reason, size_t length, int with_body, const char *body)
{
    int interim = c->expect_continue && status < 300;
    c->out_off = 0;
    c->out_len = (size_t)snprintf(
        c->out, sizeof(c->out), "%sHTTP/1.1 %d %s\r\nContent-Length: %zu\r\nx-ms-version: 2026-10-06\r\n%s%s%s\r\n%s",
        interim ? "HTTP/1.1 100 Continue\r\n\r\n" : "", status, reason, length,
        status < 300 ? "ETag: \"0x8DE12345678ABCD\"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n" : "",
        body != NULL ? "Content-Type: application/xml\r\n" : "", c->close_after ? "Connection: close\r\n" : "",
        body != NULL ? body : "");
    c->body_left = with_body && body == NULL ? length : 0;
}

/* Handles one parsed request head; returns 0, or -1 to close without answering. */
static int on_request(conn_t *c, const char *method, size_t method_len, const char *path, size_t path_len, int minor,
                      struct phr_header *h, size_t nh)
{
    sas_sk_header_t sk[MAX_HEADERS];
    int i;
    c->close_after = minor == 0;
    c->expect_continue =
        (i = find_header(h, nh, "expect", 6)) >= 0 && h[i].value_len == 12 && strncasecmp(h[i].value, "100-continue", 12) == 0;
    if ((i = find_header(h, nh, "connection", 10)) >= 0) {
        if (h[i].value_len == 5 && strncasecmp(h[i].value, "close", 5) == 0)
            c->close_after = 1;
        else if (h[i].value_len == 10 && strncasecmp(h[i].value, "keep-alive", 10) == 0)
            c->close_after = 0;
    }
    if (find_header(h, nh, "transfer-encoding", 17) >= 0) {
        c->close_after = 1;
        respond(c, 501, "Not Implemented", 0, 0, NULL);
        return 0;
    }
    if ((i = find_header(h, nh, "content-length", 14)) >= 0) {
        char num[24];
        char *end;
        if (h[i].value_len == 0 || h[i].value_len >= sizeof(num))
            return -1;
        memcpy(num, h[i].value, h[i].value_len);
        num[h[i].value_len] = '\0';
        unsigned long long n = strtoull(num, &end, 10);
        if (*end != '\0' || num[0] < '0' || num[0] > '9')
            return -1;
        c->drain = (size_t)n;
    }
    for (size_t k = 0; k < nh; k++) {
        if (h[k].name == NULL) /* an obsolete folded line */
            return -1;
        sk[k] = (sas_sk_header_t){h[k].name, h[k].name_len, h[k].value, h[k].value_len};
    }
    const char *q = memchr(path, '?', path_len);
    sas_sk_request_t req = {method,
                            method_len,
                            path,
                            q != NULL ? (size_t)(q - path) : path_len,
                            q != NULL ? q + 1 : "",
                            q != NULL ? path_len - (size_t)(q - path) - 1 : 0,
                            sk,
                            nh};
    const sas_key_t *keys[1] = {&cfg.key};
    int ok = (i = find_header(h, nh, "authorization", 13)) >= 0 &&
             sas_sk_verify(&req, cfg.account, cfg.account_len, keys, 1, h[i].value, h[i].value_len, c->sts, sizeof(c->sts));
    if (!ok) {
        static const char denied[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
                                     "<Message>Server failed to authenticate the request.</Message></Error>";
        atomic_fetch_add_explicit(&n_refused, 1, memory_order_relaxed);
        if (c->expect_continue && c->drain > 0)
            c->close_after = 1; /* the client may or may not send the body it announced */
        respond(c, 403, "Server failed to authenticate the request", sizeof(denied) - 1, 1, denied);
        return 0;
    }
    atomic_fetch_add_explicit(&n_verified, 1, memory_order_relaxed);
    if (method_len == 3 && memcmp(method, "GET", 3) == 0)
        respond(c, 200, "OK", cfg.size, 1, NULL);
    else if (method_len == 4 && memcmp(method, "HEAD", 4) == 0)
        respond(c, 200, "OK", cfg.size, 0, NULL);
    else if (method_len == 3 && memcmp(method, "PUT", 3) == 0)
        respond(c, 201, "Created", 0, 0, NULL);
    else if (method_len == 6 && memcmp(method, "DELETE", 6) == 0)
        respond(c, 202, "Accepted", 0, 0, NULL);
    else
        respond(c, 200, "OK", 0, 0, NULL);
    return 0;
}

/* Writes what is pending; returns 1 when all is out, 0 when the socket is full, -1 on error. */
static int flush_out(conn_t *c)
{
    while (c->out_len > 0 || c->body_left > 0) {
        struct iovec iov[2];
        int n = 0;
        if (c->out_len > 0)
            iov[n++] = (struct iovec){c->out + c->out_off, c->out_len};
        if (c->body_left > 0)
            iov[n++] = (struct iovec){cfg.body + (cfg.size - c->body_left), c->body_left};
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno == EINTR ? flush_out(c) : -1;
        size_t left = (size_t)w, from_head = left < c->out_len ? left : c->out_len;
        c->out_off += from_head, c->out_len -= from_head, left -= from_head;
        c->body_left -= left;
    }
    return 1;
}

/* Parses and answers what the input holds, as far as output allows. Returns -1 to close. */
static int process(conn_t *c)
{
    for (;;) {
        int f = flush_out(c);
        if (f < 0)
            return -1;
        if (f == 0)
            return 0; /* wait for EPOLLOUT before reading the next request */
        if (c->close_after)
            return -1;
        if (c->drain > 0) {
            size_t d = c->drain < c->in_len ? c->drain : c->in_len;
            memmove(c->in, c->in + d, c->in_len - d);
            c->in_len -= d, c->drain -= d;
            if (c->drain > 0)
                return 0;
        }
        if (c->in_len == 0)
            return 0;
        const char *method, *path;
        size_t method_len, path_len, nh = MAX_HEADERS;
        int minor;
        struct phr_header h[MAX_HEADERS];
        int r = phr_parse_request(c->in, c->in_len, &method, &method_len, &path, &path_len, &minor, h, &nh, 0);
        if (r == -2) {
            if (c->in_len == sizeof(c->in)) {
                c->close_after = 1;
                respond(c, 431, "Request Header Fields Too Large", 0, 0, NULL);
                continue;
            }
            return 0;
        }
        if (r < 0 || on_request(c, method, method_len, path, path_len, minor, h, nh) != 0) {
            c->close_after = 1;
            respond(c, 400, "Bad Request", 0, 0, NULL);
            c->in_len = 0;
            continue;
        }
        memmove(c->in, c->in + r, c->in_len - (size_t)r);
        c->in_len -= (size_t)r;
    }
}

static int listener(void)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)&cfg.addr, sizeof(cfg.addr)) != 0 || listen(fd, 1024) != 0) {
        perror("sharedkey_origin: listen");
        exit(1);
    }
    return fd;
}

static void *loop(void *arg)
{
    int lfd = (int)(intptr_t)arg, ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[64];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    while (!stopping) {
        int n = epoll_wait(ep, evs, 64, 200);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd, one = 1;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    conn_t *nc = sg_calloc(1, sizeof(*nc));
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            /* edge-triggered: answer what is buffered, then read until the socket is empty */
            int dead = (evs[i].events & EPOLLERR) != 0;
            while (!dead) {
                if (process(c) != 0) {
                    dead = 1;
                    break;
                }
                if (c->in_len == sizeof(c->in))
                    break; /* a full head buffer waits for its answer to go out (EPOLLOUT) */
                ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
                if (r > 0)
                    c->in_len += (size_t)r;
                else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                    dead = 1;
                else if (errno != EINTR)
                    break;
            }
            if (dead) {
                close(c->fd);
                free(c);
            }
        }
    }
    close(ep);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *key = DEV_KEY;
    long port = -1, threads = sysconf(_SC_NPROCESSORS_ONLN);
    long long size = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (v == NULL)
            goto bad;
        i++;
        if (strcmp(a, "--port") == 0)
            port = strtol(v, &end, 10);
        else if (strcmp(a, "--size") == 0)
            size = strtoll(v, &end, 10);
        else if (strcmp(a, "--threads") == 0)
            threads = strtol(v, &end, 10);
        else if (strcmp(a, "--account") == 0)
            cfg.account = v;
        else if (strcmp(a, "--host") == 0)
            host = v;
        else if (strcmp(a, "--key") == 0)
            key = v;
        else
            goto bad;
        if (end != NULL && (*end != '\0' || end == v))
            goto bad;
    }
    if (port <= 0 || port > 65535 || size < 0 || size > (1LL << 30) || threads < 1 || threads > 256 || cfg.account == NULL)
        goto bad;
    cfg.account_len = strlen(cfg.account);
    cfg.addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &cfg.addr.sin_addr) != 1 || sas_key_init_base64(&cfg.key, key, strlen(key)) != 0)
        goto bad;
    cfg.size = (size_t)size;
    cfg.body = sg_alloc(cfg.size + 1);
    for (size_t i = 0; i < cfg.size; i++)
        cfg.body[i] = (char)('a' + i % 26);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pthread_t *t = sg_calloc((size_t)threads, sizeof(*t));
    for (long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, loop, (void *)(intptr_t)listener());
    fprintf(stderr, "sharedkey_origin: %s:%ld account %s, %lld-byte body, %ld threads\n", host, port, cfg.account, size, threads);
    for (long i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    fprintf(stderr, "verified=%lu refused=%lu\n", atomic_load(&n_verified), atomic_load(&n_refused));
    free(t);
    free(cfg.body);
    sas_key_dispose(&cfg.key);
    return 0;
bad:
    fputs(usage, stderr);
    return 2;
}
