/*
 * fuzz_proxy.c - libFuzzer target over the proxy's decision (gw_proxy_decide):
 * the input is one flags byte (bits 0-2: method, bit 3: TLS, bit 4: stale
 * revocation list, bit 5: the peer is a trusted proxy), a raw request target
 * (path and query), '\n', an X-Forwarded-For value, and then request headers,
 * each "\nname:value" (up to 32; x-ms-copy-source, x-http-method,
 * if-none-match... as the relay would pass them). Every header value is also
 * checked as a copy source on its own. The keyring is built
 * once from a real vault in a temporary directory (devstoreaccount1 with
 * Azurite's key, passthrough; originacct, origin; mediaacct, resign over
 * devstoreaccount1, its tokens signed with edge keys; a stored access policy),
 * and a few ids are revoked. Must never crash, leak or hit undefined
 * behaviour; a forwarded request must keep its path (resign: on the upstream
 * account), hold only URI bytes (no '#'), and, in origin and resign modes,
 * carry no sig; create-only and response overrides come only with what allows
 * them; a re-authorized copy source only in resign mode, of URI bytes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sasgw/core/client_addr.h"
#include "sasgw/common.h"
#include "sasgw/core/config.h"
#include "sasgw/core/keyring.h"
#include "azure_error.h"
#include "decide.h"
#include "sasgw/revocation/revset.h"
#include "sasgw/vault.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static gw_config_t *conf;
static gw_keyring_t *keyring;
static gw_revset_t *revset;
static int reader;

static const char conf_text[] = "vault: { path: /nonexistent/vault.db }\n"
                                "policy: conf/policy.yaml\n"
                                "proxy:\n"
                                "  listen: [{ address: 127.0.0.1, port: 1 }]\n"
                                "  public_base_url: http://127.0.0.1:1\n"
                                "  trusted_proxies: [10.0.0.0/8, \"::1\"]\n"
                                "  debug: true\n"
                                "accounts:\n"
                                "  devstoreaccount1: { mode: passthrough, backend: \"http://127.0.0.1:10000\" }\n"
                                "  originacct: { mode: origin, backend: \"http://127.0.0.1:9000\" }\n"
                                "  mediaacct: { mode: resign, backend: \"http://127.0.0.1:10000\", upstream_account: devstoreaccount1 }\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/sasgw-fuzz-proxy-XXXXXX", path[128], audit[128], cmd[160], err[256];
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
        fprintf(stderr, "fuzz_proxy: %s\n", err);
        abort();
    }
    vault_keysource_wipe(&ks);
    sg_b64_decode(DEV_KEY, strlen(DEV_KEY), key, sizeof(key), &keylen);
    vault_account_add(v, NULL, "devstoreaccount1", key, keylen, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, err, sizeof(err));
    vault_account_add(v, NULL, "originacct", key, keylen, NULL, 0, NULL, VAULT_MODE_ORIGIN, err, sizeof(err));
    vault_account_add(v, NULL, "mediaacct", key, keylen, NULL, 0, NULL, VAULT_MODE_RESIGN, err, sizeof(err));
    uint8_t edge[64]; /* a fixed edge1, so the seeds can carry valid tokens: 64 bytes of 'B' (base64 QkJC...) */
    memset(edge, 'B', sizeof(edge));
    vault_account_import_key(v, NULL, "mediaacct", VAULT_SLOT_EDGE1, edge, sizeof(edge), NULL, err, sizeof(err));
    vault_policy_t pol = {.account = "devstoreaccount1", .container = "photos", .id = "readers", .expiry = 4102444800};
    strcpy(pol.permissions, "rl");
    vault_policy_put(v, NULL, &pol, err, sizeof(err));
    if ((conf = gw_config_parse("fuzz.yaml", conf_text, strlen(conf_text), err, sizeof(err))) == NULL ||
        (keyring = gw_keyring_build(v, conf, 1, err, sizeof(err))) == NULL) {
        fprintf(stderr, "fuzz_proxy: %s\n", err);
        abort();
    }
    vault_close(v);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        abort();
    revset = gw_revset_create();
    reader = gw_revset_register_reader(revset);
    for (int i = 0; i != 64; i++) {
        uint8_t id[GW_REVSET_ID_LEN];
        memset(id, i, sizeof(id));
        gw_revset_add(revset, id, 4102444800);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS", "get", ""};
    static gw_proxy_decision_t d;
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    const char *nl = memchr(in, '\n', len);
    size_t target_len = nl != NULL ? (size_t)(nl - in) : len;
    const char *xff = nl != NULL ? nl + 1 : NULL;
    size_t xff_len = nl != NULL ? len - target_len - 1 : 0;
    const char *hdrs = xff != NULL ? memchr(xff, '\n', xff_len) : NULL;
    size_t hdrs_len = 0;
    if (hdrs != NULL) {
        hdrs_len = xff_len - (size_t)(hdrs - xff);
        xff_len = (size_t)(hdrs - xff);
    }

    /* exact-size copies so ASan sees any over-read */
    char *target = sg_alloc(target_len + 1);
    memcpy(target, in, target_len);
    target[target_len] = '\0';
    char *x = NULL;
    if (xff != NULL) {
        x = sg_alloc(xff_len + 1);
        memcpy(x, xff, xff_len);
    }
    /* the headers: one exact-size copy, "\nname:value" lines */
    gw_proxy_header_t headers[32];
    size_t num_headers = 0;
    char *h = hdrs_len != 0 ? sg_alloc(hdrs_len) : NULL;
    if (h != NULL)
        memcpy(h, hdrs, hdrs_len);
    for (size_t at = 1; h != NULL && at <= hdrs_len && num_headers != 32;) {
        const char *line = h + at, *end = memchr(line, '\n', hdrs_len - at);
        size_t ll = end != NULL ? (size_t)(end - line) : hdrs_len - at;
        const char *colon = memchr(line, ':', ll);
        headers[num_headers++] = (gw_proxy_header_t){.name = line,
                                                     .name_len = colon != NULL ? (size_t)(colon - line) : ll,
                                                     .value = colon != NULL ? colon + 1 : line + ll,
                                                     .value_len = colon != NULL ? ll - (size_t)(colon - line) - 1 : 0};
        at += ll + 1;
    }
    struct sockaddr_in peer = {.sin_family = AF_INET};
    inet_pton(AF_INET, flags & 0x20 ? "10.1.1.1" : "127.0.0.1", &peer.sin_addr);
    const char *method = methods[flags & 7];
    gw_proxy_env_t env = {.conf = conf,
                          .keyring = keyring,
                          .revset = revset,
                          .revset_reader = reader,
                          .revocation_stale = (flags & 0x10) != 0,
                          .now = (sas_time_t)1800000000 * SAS_TIME_SECOND};
    gw_proxy_request_t r = {.method = method,
                            .method_len = strlen(method),
                            .path = target,
                            .path_len = target_len,
                            .is_https = (flags & 8) != 0,
                            .peer = (struct sockaddr *)&peer,
                            .xff = x,
                            .xff_len = xff_len,
                            .headers = headers,
                            .num_headers = num_headers};
    size_t cap = target_len + 32;
    char *buf = sg_alloc(cap);
    if (gw_proxy_decide(&env, &r, &d, buf, cap) == GW_PROXY_FORWARD) {
        const char *q = memchr(target, '?', target_len);
        size_t plen = q != NULL ? (size_t)(q - target) : target_len;
        int resign = d.account->mode == GW_ACCOUNT_RESIGN;
        /* resign: "/mediaacct..." goes on as "/devstoreaccount1..." */
        size_t fplen = resign ? plen - 10 + 17 : plen;
        if (resign && (plen < 10 || d.forward_path_len < fplen || memcmp(d.forward_path, "/devstoreaccount1", 17) != 0 ||
                       memcmp(d.forward_path + 17, target + 10, plen - 10) != 0))
            abort();
        if (!resign && (d.forward_path_len < plen || memcmp(d.forward_path, target, plen) != 0))
            abort();
        if ((d.account->mode == GW_ACCOUNT_ORIGIN || resign) && d.forward_path_len > fplen) {
            /* no sig parameter survives */
            const char *fq = d.forward_path + fplen + 1;
            size_t fl = d.forward_path_len - fplen - 1;
            if ((fl >= 4 && memcmp(fq, "sig=", 4) == 0) || memmem(fq, fl, "&sig=", 5) != NULL)
                abort();
        }
        /* what goes on holds URI bytes only; overrides only towards an origin; create-only only for a write */
        for (size_t i = 0; i != d.forward_path_len; i++)
            if (d.forward_path[i] == '#' || (unsigned char)d.forward_path[i] <= ' ' || (unsigned char)d.forward_path[i] >= 0x7f)
                abort();
        if ((d.num_overrides != 0 && d.account->mode != GW_ACCOUNT_ORIGIN && !resign) || d.num_overrides > 5)
            abort();
        if (d.copy_source != NULL && !resign)
            abort();
        for (size_t i = 0; d.copy_source != NULL && i != d.copy_source_len; i++)
            if (d.copy_source[i] == '#' || (unsigned char)d.copy_source[i] <= ' ' || (unsigned char)d.copy_source[i] >= 0x7f)
                abort();
        if (d.add_if_none_match && (!d.create_only || strcmp(method, "PUT") != 0))
            abort();
    } else {
        char xml[4096];
        gw_proxy_error_xml(xml, sizeof(xml), d.code, "m", d.err.message, d.sts, d.sts_len);
    }
    /* the helpers on their own */
    sas_ip_t ip;
    gw_client_addr(conf, (struct sockaddr *)&peer, x, xff_len, &ip);
    static const char *const no_params[] = {NULL};
    static const sas_operation_t copy = {
        "Copy Blob", 'o', SAS_PERM('c') | SAS_PERM('w'), SAS_PERM('c') | SAS_PERM('w'), SAS_OP_NAMES_SOURCE | SAS_OP_CREATES,
        no_params};
    gw_proxy_check_op_rules(&copy, SAS_PERM('c'), flags & 0x40 ? SAS_REQ_COPY_SOURCE : 0, &r, &d);
    for (size_t i = 0; i != num_headers; i++) {
        char *v = sg_alloc(headers[i].value_len + 1); /* exact size */
        memcpy(v, headers[i].value, headers[i].value_len);
        if (gw_proxy_check_copy_source(&env, &r, v, headers[i].value_len, &d) == 0 && (flags & 0x10) != 0)
            abort(); /* a stale list verifies nothing */
        free(v);
    }
    free(h);
    free(buf);
    free(x);
    free(target);
    return 0;
}
