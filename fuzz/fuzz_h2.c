/*
 * fuzz_h2.c - libFuzzer target over the proxy's HTTP/2 front (gateway/proxy/h2.c):
 * the input is what a client sends on a cleartext HTTP/2 connection (the
 * client preface is added when the input does not start with "PRI"), fed to
 * the nghttp2 server session through a real socket on an h2o loop. Streams are
 * decided with the real decision on a fixed environment (the keyring of
 * fuzz_proxy: devstoreaccount1 passthrough, originacct origin, built from a
 * real vault); forwarded ones go to 127.0.0.1:1, which refuses (502). Must
 * never crash, leak or hit undefined behaviour, and the connection must end
 * when the client closes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define gw_proxy_count_refusal fuzz_count_refusal
#define gw_server_count_request fuzz_count_request
#include "h2.c"
#include "upstream.c"

#include "sasgw/core/keyring.h"
#include "sasgw/vault.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static gw_config_t *conf;
static gw_keyring_t *keyring;
static gw_proxy_env_t env;
static struct gw_relay relay;
static struct gw_backend backends[2];
static struct gw_relay_thread *rt;

static const char conf_text[] = "vault: { path: /nonexistent/vault.db }\n"
                                "policy: conf/policy.yaml\n"
                                "proxy:\n"
                                "  listen: [{ address: 127.0.0.1, port: 1 }]\n"
                                "  public_base_url: http://127.0.0.1:1\n"
                                "  http2_max_body: 100000\n"
                                "  debug: true\n"
                                "accounts:\n"
                                "  devstoreaccount1: { mode: passthrough, backend: \"http://127.0.0.1:1\" }\n"
                                "  originacct: { mode: origin, backend: \"http://127.0.0.1:1\" }\n";

void fuzz_count_refusal(gw_proxy_t *proxy, const char *code)
{
    (void)proxy;
    (void)code;
}

void fuzz_count_request(gw_server_t *server, gw_service_t service, const char *route, int status, int64_t usec)
{
    (void)server;
    (void)service;
    (void)route;
    (void)status;
    (void)usec;
}

static void setup_relay(void)
{
    static const char *const names[] = {"devstoreaccount1", "originacct"};
    const char *why;
    relay.conf = conf;
    relay.backends = backends;
    relay.num_backends = 2;
    for (size_t i = 0; i != 2; i++) {
        backends[i].account = sg_strdup(names[i]);
        if (gw_backend_parse(&backends[i].up, "http://127.0.0.1:1", &why) != 0)
            abort();
        backends[i].prefix_len = 0;
        struct sockaddr_in *sin = (struct sockaddr_in *)&backends[i].addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(1);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        backends[i].addrlen = sizeof(*sin);
    }
    rt = sg_calloc(1, sizeof(*rt));
    rt->relay = &relay;
    rt->loop = h2o_evloop_create();
    h2o_timeout_init(rt->loop, &rt->client_timeout, GW_UPSTREAM_CLIENT_TIMEOUT_MS);
    h2o_timeout_init(rt->loop, &rt->io_timeout, 5000);
    h2o_timeout_init(rt->loop, &rt->pool_timeout, GW_UPSTREAM_POOL_IDLE_MS);
    h2o_timeout_init(rt->loop, &rt->linger_timeout, GW_UPSTREAM_LINGER_MS);
    rt->idle = sg_calloc(3, sizeof(*rt->idle));
    rt->num_idle = sg_calloc(3, sizeof(*rt->num_idle));
    for (size_t i = 0; i != 2; i++)
        h2o_linklist_init_anchor(&rt->idle[i]);
    h2o_linklist_init_anchor(&rt->conns);
    h2o_linklist_init_anchor(&rt->h2_conns);
    env = (gw_proxy_env_t){.conf = conf, .keyring = keyring, .now = 1700000000};
    rt->fixed_env = &env;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/sasgw-fuzz-h2-XXXXXX", path[128], audit[128], cmd[160], err[256];
    uint8_t key[64], mk[VAULT_MASTER_KEY_LEN];
    size_t keylen;
    vault_keysource_t ks = {0};

    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/vault.db", dir);
    snprintf(audit, sizeof(audit), "%s/audit.log", dir);
    memset(mk, 7, sizeof(mk));
    vault_keysource_set_master(&ks, mk);
    vault_t *v = NULL;
    if (vault_create(path, &ks, audit, err, sizeof(err)) != 0 ||
        (v = vault_open(path, &ks, audit, NULL, err, sizeof(err))) == NULL) {
        fprintf(stderr, "fuzz_h2: %s\n", err);
        abort();
    }
    vault_keysource_wipe(&ks);
    sg_b64_decode(DEV_KEY, strlen(DEV_KEY), key, sizeof(key), &keylen);
    vault_account_add(v, NULL, "devstoreaccount1", key, keylen, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, err, sizeof(err));
    vault_account_add(v, NULL, "originacct", key, keylen, NULL, 0, NULL, VAULT_MODE_ORIGIN, err, sizeof(err));
    vault_policy_t pol = {.account = "devstoreaccount1", .container = "photos", .id = "readers", .expiry = 4102444800};
    strcpy(pol.permissions, "rl");
    vault_policy_put(v, NULL, &pol, err, sizeof(err));
    if ((conf = gw_config_parse("fuzz.yaml", conf_text, strlen(conf_text), err, sizeof(err))) == NULL ||
        (keyring = gw_keyring_build(v, conf, 1, err, sizeof(err))) == NULL) {
        fprintf(stderr, "fuzz_h2: %s\n", err);
        abort();
    }
    vault_close(v);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    setup_relay();
    if (system(cmd) != 0)
        abort();
    return 0;
}

static void drain(int fd)
{
    char buf[65536];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    int sv[2];
    if (size > 256 * 1024)
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    h2o_socket_t *sock = h2o_evloop_socket_create(rt->loop, sv[0], 0);
    struct sockaddr_storage peer = {0};
    int has_preface = size >= 3 && memcmp(data, "PRI", 3) == 0;
    if (!has_preface && write(sv[1], preface, sizeof(preface) - 1) != (ssize_t)(sizeof(preface) - 1))
        abort();
    gw_h2_accept(rt, sock, 0, &peer, 0);
    size_t off = 0;
    for (int i = 0; i != 200 && (off != size || i < 20); i++) {
        if (off != size) {
            ssize_t n = write(sv[1], data + off, size - off);
            if (n > 0)
                off += (size_t)n;
        }
        h2o_evloop_run(rt->loop, 0);
        drain(sv[1]);
        if (h2o_linklist_is_empty(&rt->h2_conns))
            break;
    }
    shutdown(sv[1], SHUT_WR);
    for (int i = 0; i != 20 && !h2o_linklist_is_empty(&rt->h2_conns); i++) {
        h2o_evloop_run(rt->loop, 0);
        drain(sv[1]);
    }
    gw_h2_close_all(rt);
    while (!h2o_linklist_is_empty(&rt->idle[0]))
        gw_upstream_destroy(H2O_STRUCT_FROM_MEMBER(struct gw_upstream, link, rt->idle[0].next));
    h2o_evloop_run(rt->loop, 0); /* lets h2o free the closed sockets */
    close(sv[1]);
    return 0;
}
