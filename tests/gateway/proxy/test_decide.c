/*
 * Tests gateway/proxy/proxy.c's decision (gw_proxy_decide) and gateway/core/keyring.c's
 * snapshots without sockets: a real vault in a temporary directory, tokens
 * minted with the signer, requests as the proxy would see them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "sasgw/core/config.h"
#include "sasgw/core/keyring.h"
#include "azure_error.h"
#include "decide.h"
#include "sasgw/revocation/revset.h"
#include "sasgw/signer.h"
#include "sasgw/vault.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

struct fixture {
    char dir[64];
    vault_t *vault;
    gw_config_t *conf;
    gw_keyring_t *kr;
    gw_revset_t *revset;
    int reader;
    sas_key_t key;
    struct sockaddr_in peer;
};

static const char conf_text[] = "vault: { path: /nonexistent/vault.db }\n"
                                "policy: conf/policy.yaml\n"
                                "proxy:\n"
                                "  listen: [{ address: 127.0.0.1, port: 1 }]\n"
                                "  public_base_url: http://127.0.0.1:1\n"
                                "  trusted_proxies: [10.0.0.0/8, \"::1\"]\n"
                                "accounts:\n"
                                "  devstoreaccount1: { mode: passthrough, backend: \"http://127.0.0.1:10000\" }\n"
                                "  originacct: { mode: origin, backend: \"http://127.0.0.1:9000\" }\n"
                                "  yamlonly: { mode: origin, backend: \"http://127.0.0.1:9001\" }\n";

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    char err[256];
    uint8_t key[64], mk[VAULT_MASTER_KEY_LEN];
    size_t keylen;
    vault_keysource_t ks = {0};

    snprintf(f->dir, sizeof(f->dir), "/tmp/sasgw-test-proxy-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[128], audit[128];
    snprintf(path, sizeof(path), "%s/vault.db", f->dir);
    snprintf(audit, sizeof(audit), "%s/audit.log", f->dir);
    sg_random(mk, sizeof(mk));
    vault_keysource_set_master(&ks, mk);
    assert_int_equal(vault_create(path, &ks, audit, err, sizeof(err)), 0);
    f->vault = vault_open(path, &ks, audit, NULL, err, sizeof(err));
    vault_keysource_wipe(&ks);
    assert_non_null(f->vault);
    assert_int_equal(sg_b64_decode(DEV_KEY, strlen(DEV_KEY), key, sizeof(key), &keylen), 0);
    assert_int_equal(vault_account_add(f->vault, NULL, "devstoreaccount1", key, keylen, NULL, 0, "http://ignored:1",
                                       VAULT_MODE_ORIGIN, err, sizeof(err)),
                     0);
    assert_int_equal(
        vault_account_add(f->vault, NULL, "originacct", key, keylen, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, err, sizeof(err)), 0);
    vault_policy_t pol = {.account = "devstoreaccount1", .container = "photos", .id = "readers", .start = 0, .expiry = 4102444800};
    strcpy(pol.permissions, "rl");
    assert_int_equal(vault_policy_put(f->vault, NULL, &pol, err, sizeof(err)), 0);

    f->conf = gw_config_parse("test.yaml", conf_text, strlen(conf_text), err, sizeof(err));
    if (f->conf == NULL)
        fail_msg("%s", err);
    f->kr = gw_keyring_build(f->vault, f->conf, vault_generation(f->vault), err, sizeof(err));
    assert_non_null(f->kr);
    f->revset = gw_revset_create();
    f->reader = gw_revset_register_reader(f->revset);
    assert_int_equal(sas_key_init_base64(&f->key, DEV_KEY, strlen(DEV_KEY)), 0);
    f->peer.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &f->peer.sin_addr);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    gw_keyring_release(f->kr);
    gw_revset_destroy(f->revset);
    gw_config_free(f->conf);
    vault_close(f->vault);
    sas_key_dispose(&f->key);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Mints a blob SAS for /account/container/blob into out. */
static void mint(struct fixture *f, const char *account, const char *container, const char *blob, const char *perms, const char *ip,
                 const char *si, char *out, size_t cap)
{
    sas_mint_t m = {.account = account,
                    .container = container,
                    .blob = blob,
                    .permissions = perms,
                    .expiry = si != NULL ? NULL : "2099-01-01T00:00:00Z",
                    .ip = ip,
                    .identifier = si};
    sas_error_t err;
    if (sas_mint(&m, &f->key, out, cap, NULL, 0, NULL, &err) != SAS_OK)
        fail_msg("mint: %s", err.message);
}

static gw_proxy_verdict_t decide_full(struct fixture *f, const char *method, const char *target, const char *xff,
                                      const gw_proxy_header_t *headers, size_t num_headers, gw_proxy_decision_t *d, char *buf,
                                      size_t cap)
{
    gw_proxy_env_t env = {
        .conf = f->conf, .keyring = f->kr, .revset = f->revset, .revset_reader = f->reader, .now = sas_time_now()};
    gw_proxy_request_t r = {.method = method,
                            .method_len = strlen(method),
                            .path = target,
                            .path_len = strlen(target),
                            .peer = (struct sockaddr *)&f->peer,
                            .xff = xff,
                            .xff_len = xff != NULL ? strlen(xff) : 0,
                            .headers = headers,
                            .num_headers = num_headers};
    gw_proxy_verdict_t v = gw_proxy_decide(&env, &r, d, buf, cap);
    if (getenv("DEBUG_DECIDE") != NULL)
        fprintf(stderr, "%s %s: %d %s %s\n", method, target, d->status, d->code != NULL ? d->code : "", d->err.message);
    return v;
}

static gw_proxy_verdict_t decide(struct fixture *f, const char *method, const char *target, const char *xff, gw_proxy_decision_t *d,
                                 char *buf, size_t cap)
{
    return decide_full(f, method, target, xff, NULL, 0, d, buf, cap);
}

static gw_proxy_decision_t d;
static char target[16384], buf[16384], sas[4096];

static void valid_passthrough(void **state)
{
    struct fixture *f = *state;
    mint(f, "devstoreaccount1", "photos", "a.txt", "rw", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_ptr_equal(d.forward_path, target);
    assert_int_equal(strlen(d.token_id), SAS_TOKEN_ID_LEN);
    /* the YAML's mode wins over the vault's */
    assert_int_equal(d.account->mode, GW_ACCOUNT_PASSTHROUGH);
    assert_string_equal(d.account->backend, "http://127.0.0.1:10000");
    /* missing permission */
    assert_int_equal(decide(f, "DELETE", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 403);
    assert_string_equal(d.code, "AuthorizationPermissionMismatch");
}

static void origin_strips_sas(void **state)
{
    struct fixture *f = *state;
    mint(f, "originacct", "docs", "a b.txt", "rw", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/originacct/docs/a%%20b.txt?comp=metadata&%s&x=1", sas);
    assert_int_equal(decide(f, "PUT", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_int_equal(d.account->mode, GW_ACCOUNT_ORIGIN);
    assert_string_equal(d.account->backend, "http://127.0.0.1:9000");
    /* only what selects the operation goes on: an unknown x=1 could mean anything to the origin */
    assert_memory_equal(d.forward_path, "/originacct/docs/a%20b.txt?comp=metadata", d.forward_path_len);
    assert_int_equal(d.forward_path_len, strlen("/originacct/docs/a%20b.txt?comp=metadata"));
    /* nothing but the SAS: no '?' left */
    snprintf(target, sizeof(target), "/originacct/docs/a%%20b.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_int_equal(d.forward_path_len, strlen("/originacct/docs/a%20b.txt"));
}

static void bad_input(void **state)
{
    struct fixture *f = *state;
    mint(f, "devstoreaccount1", "photos", "a.txt", "r", NULL, NULL, sas, sizeof(sas));
    /* a huge query */
    int n = snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s&pad=", sas);
    memset(target + n, 'x', 6000);
    target[n + 6000] = '\0';
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_QUERY_TOO_LONG);
    /* repeated parameters */
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s&sp=r", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_DUPLICATE_PARAM);
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s&comp=tags&COMP=tags", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    /* encoded slashes, dot segments, backslashes */
    static const char *const paths[] = {"/devstoreaccount1/photos%2Fa.txt",        "/devstoreaccount1/photos/x/../a.txt",
                                        "/devstoreaccount1/photos/./a.txt",        "/devstoreaccount1/photos/%2e%2e/a.txt",
                                        "/devstoreaccount1/photos/x%5C..%5Ca.txt", "/devstoreaccount1//a.txt",
                                        "/devstoreaccount1/photos/a%00.txt",       "/devstore%61ccount1/photos/a.txt"};
    for (size_t i = 0; i != sizeof(paths) / sizeof(paths[0]); i++) {
        snprintf(target, sizeof(target), "%s?%s", paths[i], sas);
        assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
        assert_true(d.status == 400 || d.status == 403 || d.status == 404);
    }
    /* no query, no path, unknown account */
    assert_int_equal(decide(f, "GET", "/devstoreaccount1/photos/a.txt", NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(decide(f, "GET", "/", NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    snprintf(target, sizeof(target), "/nosuch/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 404);
    /* an account only in the YAML has no key */
    snprintf(target, sizeof(target), "/yamlonly/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_NO_KEY);
    /* an unsupported method */
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "POST", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
}

static void xff_handling(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_in trusted = {.sin_family = AF_INET};
    inet_pton(AF_INET, "10.1.2.3", &trusted.sin_addr);

    /* the walk itself is tested in test_client_addr.c; here: sip against the XFF client, through the decision */
    mint(f, "devstoreaccount1", "photos", "a.txt", "r", "1.2.3.0-1.2.3.255", NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, "1.2.3.4", &d, buf, sizeof(buf)), GW_PROXY_REFUSE); /* peer not trusted */
    assert_string_equal(d.code, "AuthorizationSourceIPMismatch");
    struct sockaddr_in saved = f->peer;
    f->peer = trusted;
    assert_int_equal(decide(f, "GET", target, "1.2.3.4, 10.9.9.9", &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_int_equal(decide(f, "GET", target, "8.8.8.8", &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    f->peer = saved;
}

static void revoked_and_stale(void **state)
{
    struct fixture *f = *state;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    mint(f, "devstoreaccount1", "photos", "r.txt", "r", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/r.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    sas_token_t *tok = sg_alloc(sizeof(*tok));
    const char *q = strchr(target, '?') + 1;
    assert_int_equal(sas_token_parse(tok, q, strlen(q), NULL), SAS_OK);
    SHA256(tok->sig, SAS_SIG_LEN, digest);
    free(tok);
    gw_revset_add(f->revset, digest, 4102444800);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_REVOKED);
    assert_non_null(strstr(d.err.message, d.token_id));
    /* stale list: 503 */
    gw_proxy_env_t env = {.conf = f->conf,
                          .keyring = f->kr,
                          .revset = f->revset,
                          .revset_reader = f->reader,
                          .revocation_stale = 1,
                          .now = sas_time_now()};
    gw_proxy_request_t r = {.method = "GET", .method_len = 3, .path = target, .path_len = strlen(target)};
    assert_int_equal(gw_proxy_decide(&env, &r, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 503);
    assert_string_equal(d.code, "ServerBusy");
}

static void stored_policy_and_signing_key(void **state)
{
    struct fixture *f = *state;
    /* si supplies permissions and expiry */
    mint(f, "devstoreaccount1", "photos", "p.txt", NULL, NULL, "readers", sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/p.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_int_equal(decide(f, "PUT", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    mint(f, "devstoreaccount1", "other", "p.txt", NULL, NULL, "readers", sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/other/p.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_POLICY_NOT_FOUND);

    gw_keyring_signing_t sk;
    assert_int_equal(gw_keyring_signing_key(f->kr, "devstoreaccount1", 16, &sk), 0);
    assert_int_equal(sk.slot, 1);
    assert_string_equal(sk.slot_name, "key1");
    assert_int_equal(sk.version, 1);
    assert_int_equal(gw_keyring_signing_key(f->kr, "yamlonly", 8, &sk), -1);
    assert_int_equal(gw_keyring_signing_key(f->kr, "nosuch", 6, &sk), -1);
    const gw_keyring_account_t *a = gw_keyring_find(f->kr, "devstoreaccount1", 16);
    assert_non_null(a);
    assert_int_equal(a->nkeys, 2); /* key1 and the generated key2 */
    assert_int_equal(gw_keyring_num_accounts(f->kr), 3);
}

static void rotation_retires_old_key(void **state)
{
    struct fixture *f = *state;
    char err[256];
    mint(f, "devstoreaccount1", "photos", "k.txt", "r", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/k.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_int_equal(vault_account_rotate(f->vault, NULL, "devstoreaccount1", 1, NULL, err, sizeof(err)), 0);
    gw_keyring_t *next = gw_keyring_build(f->vault, f->conf, vault_generation(f->vault), err, sizeof(err));
    assert_non_null(next);
    assert_true(gw_keyring_generation(next) > gw_keyring_generation(f->kr));
    gw_keyring_release(f->kr);
    f->kr = next;
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_SIGNATURE_MISMATCH);
    gw_keyring_signing_t sk;
    assert_int_equal(gw_keyring_signing_key(f->kr, "devstoreaccount1", 16, &sk), 0);
    assert_int_equal(sk.version, 2);
}

static void error_xml(void **state)
{
    char out[1024];
    size_t n = gw_proxy_error_xml(out, sizeof(out), "AuthenticationFailed", "m<&>", "d\"'", "a\nb", 3);
    assert_int_equal(n, strlen(out));
    assert_string_equal(out,
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>m&lt;&amp;&gt;"
                        "</Message><AuthenticationErrorDetail>d&quot;&apos; String to sign used was: a\\nb"
                        "</AuthenticationErrorDetail></Error>");
    /* truncation stays terminated */
    n = gw_proxy_error_xml(out, 40, "AuthenticationFailed", "m", "d", NULL, 0);
    assert_true(n < 40);
    assert_int_equal(strlen(out), n);
}

/* ---- issue 9: what the backend will really do ---- */

static gw_proxy_verdict_t decide_h(struct fixture *f, const char *method, const char *t, const gw_proxy_header_t *headers, size_t n,
                                   gw_proxy_decision_t *out)
{
    return decide_full(f, method, t, NULL, headers, n, out, buf, sizeof(buf));
}

#define HDR(n, v) ((gw_proxy_header_t){.name = (n), .name_len = strlen(n), .value = (v), .value_len = strlen(v)})

static char src[32768], sas2[4096];

/* The source URL http://127.0.0.1:10000/devstoreaccount1/{container}/{blob}[?sas] (path style, as Azurite reads it). */
static const char *source_url(const char *container, const char *blob, const char *query)
{
    snprintf(src, sizeof(src), "http://127.0.0.1:10000/devstoreaccount1/%s/%s%s%s", container, blob, query != NULL ? "?" : "",
             query != NULL ? query : "");
    return src;
}

static int check_source(struct fixture *f, const gw_config_t *conf, const char *url)
{
    gw_proxy_env_t env = {.conf = conf, .keyring = f->kr, .revset = f->revset, .revset_reader = f->reader, .now = sas_time_now()};
    gw_proxy_request_t r = {.method = "PUT", .method_len = 3, .path = "/", .path_len = 1, .peer = (struct sockaddr *)&f->peer};
    return gw_proxy_check_copy_source(&env, &r, url, strlen(url), &d);
}

static void method_override_and_copy_authorization_refused(void **state)
{
    struct fixture *f = *state;
    static const char *const overrides[] = {"X-HTTP-Method", "x-http-method-override", "X-Method-Override"};
    mint(f, "devstoreaccount1", "photos", "a.txt", "r", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s", sas);
    for (size_t i = 0; i != 3; i++) {
        gw_proxy_header_t h = HDR(overrides[i], "DELETE");
        assert_int_equal(decide_h(f, "GET", target, &h, 1, &d), GW_PROXY_REFUSE);
        assert_int_equal(d.status, 400);
        assert_string_equal(d.code, "UnsupportedHeader");
    }
    gw_proxy_header_t ca = HDR("x-ms-copy-source-authorization", "Bearer abc");
    assert_int_equal(decide_h(f, "GET", target, &ca, 1, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 403);
    assert_string_equal(d.code, "CannotVerifyCopySource");
    /* x-ms-copy-source twice, x-ms-requires-sync neither true nor false */
    gw_proxy_header_t two[] = {HDR("x-ms-copy-source", "http://a/b/c/d"), HDR("X-Ms-Copy-Source", "http://a/b/c/d")};
    assert_int_equal(decide_h(f, "PUT", target, two, 2, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 400);
    gw_proxy_header_t sync = HDR("x-ms-requires-sync", "yes");
    assert_int_equal(decide_h(f, "PUT", target, &sync, 1, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 400);
    /* ordinary headers change nothing */
    gw_proxy_header_t ok[] = {HDR("x-ms-version", "2025-01-05"), HDR("x-ms-requires-sync", "false")};
    assert_int_equal(decide_h(f, "GET", target, ok, 2, &d), GW_PROXY_FORWARD);
}

static void copy_attack_refused(void **state)
{
    struct fixture *f = *state;
    /* a write SAS on photos/x, a copy source naming a private blob without (or with a foreign) SAS */
    mint(f, "devstoreaccount1", "photos", "x", "cw", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/x?%s", sas);
    mint(f, "devstoreaccount1", "private", "other", "r", NULL, NULL, sas2, sizeof(sas2));
    const char *sources[] = {"http://127.0.0.1:10000/devstoreaccount1/private/secret",
                             "https://devstoreaccount1.blob.core.windows.net/private/secret",
                             "HTTP://DEVSTOREACCOUNT1.blob.core.windows.net/private/secret?sv=2020-12-06",
                             NULL,
                             "http://127.0.0.1:10000/devstoreaccount1/private/secret#frag",
                             "file:///etc/passwd",
                             "http://user@127.0.0.1:10000/devstoreaccount1/private/secret",
                             "https://elsewhere.example/x/y",
                             "/devstoreaccount1/private/secret",
                             ""};
    char other[8192];
    snprintf(other, sizeof(other), "http://127.0.0.1:10000/devstoreaccount1/private/secret?%s", sas2);
    sources[3] = other; /* a SAS for another blob */
    for (size_t i = 0; i != sizeof(sources) / sizeof(sources[0]); i++) {
        gw_proxy_header_t h = HDR("x-ms-copy-source", sources[i]);
        assert_int_equal(decide_h(f, "PUT", target, &h, 1, &d), GW_PROXY_REFUSE);
        assert_int_equal(d.status, 403);
        assert_string_equal(d.code, "CannotVerifyCopySource");
        /* the same with comp=block (Put Block From URL) and x-ms-requires-sync (Copy Blob From URL) */
        gw_proxy_header_t hs[] = {h, HDR("x-ms-requires-sync", "true")};
        assert_int_equal(decide_h(f, "PUT", target, hs, 2, &d), GW_PROXY_REFUSE);
        assert_string_equal(d.code, "CannotVerifyCopySource");
    }
}

static void copy_source_pipeline(void **state)
{
    struct fixture *f = *state;
    char err[256];
    uint8_t digest[SHA256_DIGEST_LENGTH];

    /* a read SAS for exactly that blob: path style and host style */
    mint(f, "devstoreaccount1", "private", "secret", "r", NULL, NULL, sas2, sizeof(sas2));
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", sas2)), 0);
    snprintf(src, sizeof(src), "https://devstoreaccount1.blob.core.windows.net/private/secret?%s", sas2);
    assert_int_equal(check_source(f, f->conf, src), 0);
    /* ... but not for another blob, nor selecting another operation, nor with a raw '#' */
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret2", sas2)), -1);
    assert_string_equal(d.code, "CannotVerifyCopySource");
    snprintf(target, sizeof(target), "comp=tags&%s", sas2);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", target)), -1);
    snprintf(target, sizeof(target), "COMP=tags&%s", sas2);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", target)), -1);
    snprintf(target, sizeof(target), "%s#x", sas2);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", target)), -1);
    /* a container SAS with r covers the blob; write-only or list-only does not */
    mint(f, "devstoreaccount1", "private", NULL, "rl", NULL, NULL, sas2, sizeof(sas2));
    assert_int_equal(check_source(f, f->conf, source_url("private", "any/blob.txt", sas2)), 0);
    mint(f, "devstoreaccount1", "private", NULL, "lw", NULL, NULL, sas2, sizeof(sas2));
    assert_int_equal(check_source(f, f->conf, source_url("private", "any/blob.txt", sas2)), -1);
    assert_int_equal(d.err.reason, SAS_R_PERMISSION_MISMATCH);
    /* a stored access policy supplies r */
    mint(f, "devstoreaccount1", "photos", "p.txt", NULL, NULL, "readers", sas2, sizeof(sas2));
    assert_int_equal(check_source(f, f->conf, source_url("photos", "p.txt", sas2)), 0);
    /* a wrong key, an expired token */
    sas_key_t other;
    assert_int_equal(sas_key_init_base64(&other, "AAAA", 4), 0);
    sas_mint_t m = {.account = "devstoreaccount1",
                    .container = "private",
                    .blob = "secret",
                    .permissions = "r",
                    .expiry = "2099-01-01T00:00:00Z"};
    assert_int_equal(sas_mint(&m, &other, sas2, sizeof(sas2), NULL, 0, NULL, NULL), SAS_OK);
    sas_key_dispose(&other);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", sas2)), -1);
    assert_int_equal(d.err.reason, SAS_R_SIGNATURE_MISMATCH);
    m.start = "2020-01-01T00:00:00Z";
    m.expiry = "2020-01-02T00:00:00Z";
    assert_int_equal(sas_mint(&m, &f->key, sas2, sizeof(sas2), NULL, 0, NULL, NULL), SAS_OK);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", sas2)), -1);
    assert_int_equal(d.err.reason, SAS_R_EXPIRED);
    /* a snapshot SAS covers that snapshot only */
    m = (sas_mint_t){.account = "devstoreaccount1",
                     .container = "private",
                     .blob = "secret",
                     .permissions = "r",
                     .expiry = "2099-01-01T00:00:00Z",
                     .snapshot = "2026-01-01T00:00:00.0000000Z"};
    assert_int_equal(sas_mint(&m, &f->key, sas2, sizeof(sas2), NULL, 0, NULL, NULL), SAS_OK);
    snprintf(target, sizeof(target), "snapshot=2026-01-01T00%%3A00%%3A00.0000000Z&%s", sas2);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", target)), 0);
    snprintf(target, sizeof(target), "snapshot=2026-02-01T00%%3A00%%3A00.0000000Z&%s", sas2);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", target)), -1);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", sas2)), -1);
    /* revoked */
    mint(f, "devstoreaccount1", "private", "secret", "r", NULL, NULL, sas2, sizeof(sas2));
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", sas2)), 0);
    sas_token_t *tok = sg_alloc(sizeof(*tok));
    assert_int_equal(sas_token_parse(tok, sas2, strlen(sas2), NULL), SAS_OK);
    SHA256(tok->sig, SAS_SIG_LEN, digest);
    free(tok);
    gw_revset_add(f->revset, digest, 4102444800);
    assert_int_equal(check_source(f, f->conf, source_url("private", "secret", sas2)), -1);
    assert_int_equal(d.err.reason, SAS_R_REVOKED);
    assert_string_equal(d.code, "CannotVerifyCopySource");
    /* outside every served account: only when the configuration allows it */
    assert_int_equal(check_source(f, f->conf, "https://elsewhere.blob.core.windows.net/c/b?sv=x"), -1);
    static const char allow_text[] = "vault: { path: /nonexistent/vault.db }\n"
                                     "policy: conf/policy.yaml\n"
                                     "proxy:\n"
                                     "  listen: [{ address: 127.0.0.1, port: 1 }]\n"
                                     "  public_base_url: http://127.0.0.1:1\n"
                                     "  allow_external_copy_sources: true\n";
    gw_config_t *allow = gw_config_parse("allow.yaml", allow_text, strlen(allow_text), err, sizeof(err));
    assert_non_null(allow);
    assert_int_equal(check_source(f, allow, "https://elsewhere.blob.core.windows.net/c/b?sv=x"), 0);
    /* ... which never lets a served account's blob through without its SAS */
    assert_int_equal(check_source(f, allow, "http://127.0.0.1:10000/devstoreaccount1/private/secret"), -1);
    assert_int_equal(check_source(f, allow, "https://devstoreaccount1.blob.core.windows.net/private/secret"), -1);
    assert_int_equal(check_source(f, allow, "ftp://elsewhere/c/b"), -1);
    /* ... nor a path a backend could normalize into one, nor the backend's own host */
    static const char *const tricks[] = {"http://elsewhere/devstore%61ccount1/private/secret",
                                         "http://elsewhere//devstoreaccount1/private/secret",
                                         "http://elsewhere/x/../devstoreaccount1/private/secret",
                                         "http://elsewhere/./devstoreaccount1/p/s",
                                         "http://elsewhere/x%2F..%2Fdevstoreaccount1/p/s",
                                         "http://elsewhere/x%5cdevstoreaccount1/p/s",
                                         "http://127.0.0.1:10000/unknown/p/s",
                                         "http://127.0.0.1:10000/Devstoreaccount1/p/s"};
    for (size_t i = 0; i != sizeof(tricks) / sizeof(tricks[0]); i++)
        assert_int_equal(check_source(f, allow, tricks[i]), -1);
    assert_int_equal(check_source(f, allow, "http://elsewhere/c/b%20c.txt?sv=x"), 0);
    gw_config_free(allow);
}

static void op_rules(void **state)
{
    (void)state;
    static const char *const no_params[] = {NULL};
    const sas_operation_t copy = {
        "Copy Blob", 'o', SAS_PERM('c') | SAS_PERM('w'), SAS_PERM('c') | SAS_PERM('w'), SAS_OP_NAMES_SOURCE | SAS_OP_CREATES,
        no_params};
    const sas_operation_t put_block_url = {
        "Put Block From URL", 'o', SAS_PERM('c') | SAS_PERM('w'), SAS_PERM('c') | SAS_PERM('w'), SAS_OP_NAMES_SOURCE, no_params};
    const sas_operation_t metadata = {"Set Blob Metadata", 'o', SAS_PERM('w'), SAS_PERM('w'), 0, no_params};
    gw_proxy_request_t r = {.method = "PUT", .method_len = 3, .path = "/", .path_len = 1};
    sas_perm_t c = SAS_PERM('c'), cw = SAS_PERM('c') | SAS_PERM('w');

    /* a source only on an operation that reads one */
    assert_int_equal(gw_proxy_check_op_rules(&copy, cw, SAS_REQ_COPY_SOURCE, &r, &d), 0);
    assert_int_equal(d.create_only, 0);
    assert_int_equal(gw_proxy_check_op_rules(&metadata, cw, SAS_REQ_COPY_SOURCE, &r, &d), -1);
    assert_string_equal(d.code, "CannotVerifyCopySource");
    assert_int_equal(gw_proxy_check_op_rules(NULL, cw, SAS_REQ_COPY_SOURCE, &r, &d), -1);
    assert_int_equal(gw_proxy_check_op_rules(&metadata, cw, 0, &r, &d), 0);
    /* c without w creates only */
    assert_int_equal(gw_proxy_check_op_rules(&copy, c, SAS_REQ_COPY_SOURCE, &r, &d), 0);
    assert_int_equal(d.create_only, 1);
    assert_int_equal(d.add_if_none_match, 1);
    assert_int_equal(gw_proxy_check_op_rules(&put_block_url, c, SAS_REQ_COPY_SOURCE, &r, &d), 0);
    assert_int_equal(d.create_only, 0);
    assert_int_equal(gw_proxy_check_op_rules(&copy, SAS_PERM('w'), 0, &r, &d), 0);
    assert_int_equal(d.create_only, 0);
    gw_proxy_header_t star = HDR("If-None-Match", " * ");
    r.headers = &star;
    r.num_headers = 1;
    assert_int_equal(gw_proxy_check_op_rules(&copy, c, 0, &r, &d), 0);
    assert_int_equal(d.create_only, 1);
    assert_int_equal(d.add_if_none_match, 0);
    gw_proxy_header_t conflicting[] = {HDR("if-match", "\"0x1\""), HDR("If-None-Match", "\"0x1\"")};
    for (size_t i = 0; i != 2; i++) {
        r.headers = conflicting + i;
        assert_int_equal(gw_proxy_check_op_rules(&copy, c, 0, &r, &d), -1);
        assert_int_equal(d.status, 403);
        assert_string_equal(d.code, "AuthorizationPermissionMismatch");
        /* with w, the client's own conditions are its business */
        assert_int_equal(gw_proxy_check_op_rules(&copy, cw, 0, &r, &d), 0);
    }
}

static void create_only_put_blob(void **state)
{
    struct fixture *f = *state;
    mint(f, "devstoreaccount1", "photos", "new.txt", "c", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/new.txt?%s", sas);
    assert_int_equal(decide_h(f, "PUT", target, NULL, 0, &d), GW_PROXY_FORWARD);
    assert_int_equal(d.create_only, 1);
    assert_int_equal(d.add_if_none_match, 1);
    gw_proxy_header_t im = HDR("If-Match", "*");
    assert_int_equal(decide_h(f, "PUT", target, &im, 1, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 403);
    /* a block may be staged with c: it overwrites nothing */
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/new.txt?comp=block&blockid=QUE%%3D&%s", sas);
    assert_int_equal(decide_h(f, "PUT", target, NULL, 0, &d), GW_PROXY_FORWARD);
    assert_int_equal(d.create_only, 0);
    mint(f, "devstoreaccount1", "photos", "new.txt", "cw", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/new.txt?%s", sas);
    assert_int_equal(decide_h(f, "PUT", target, NULL, 0, &d), GW_PROXY_FORWARD);
    assert_int_equal(d.create_only, 0);
}

/* A copy whose source carries its own valid read SAS is forwarded. */
static void copy_with_verified_source(void **state)
{
    struct fixture *f = *state;
    sas_token_t *tok = sg_alloc(sizeof(*tok));
    sas_resource_t *res = sg_alloc(sizeof(*res));
    mint(f, "devstoreaccount1", "photos", "x", "cw", NULL, NULL, sas, sizeof(sas));
    assert_int_equal(sas_token_parse(tok, sas, strlen(sas), NULL), SAS_OK);
    assert_int_equal(sas_resource_init(res, "devstoreaccount1", "photos", "x", NULL, NULL, NULL), SAS_OK);
    const sas_operation_t *op = sas_operation_find(tok, res, SAS_METHOD_PUT, SAS_REQ_COPY_SOURCE);
    free(tok);
    free(res);
    assert_non_null(op);
    assert_true(op->flags & SAS_OP_NAMES_SOURCE);
    /* not the source another test revoked: another blob */
    mint(f, "devstoreaccount1", "private", "secret-copied", "r", NULL, NULL, sas2, sizeof(sas2));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/x?%s", sas);
    gw_proxy_header_t h = HDR("x-ms-copy-source", source_url("private", "secret-copied", sas2));
    assert_int_equal(decide_h(f, "PUT", target, &h, 1, &d), GW_PROXY_FORWARD);
    mint(f, "devstoreaccount1", "photos", "x", "c", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/x?%s", sas);
    assert_int_equal(decide_h(f, "PUT", target, &h, 1, &d), GW_PROXY_FORWARD);
    assert_int_equal(d.create_only, 1);
}

/* A GET of t without headers is refused with status and code. */
static void refused_with(struct fixture *f, const char *t, int status, const char *code)
{
    assert_int_equal(decide_h(f, "GET", t, NULL, 0, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, status);
    assert_string_equal(d.code, code);
}

static void target_hygiene(void **state)
{
    struct fixture *f = *state;
    mint(f, "devstoreaccount1", "photos", "a.txt", "rt", NULL, NULL, sas, sizeof(sas));
    static const char *const bad_bytes[] = {"/devstoreaccount1/photos/a.txt#frag?", "/devstoreaccount1/photos/a b.txt?",
                                            "/devstoreaccount1/photos/a\"b.txt?",   "/devstoreaccount1/photos/a\\b.txt?",
                                            "/devstoreaccount1/photos/a\x80.txt?",  "/devstoreaccount1/photos/a{.txt?",
                                            "/devstoreaccount1/photos/a%zz.txt?",   "/devstoreaccount1/photos/a.txt?x=%4"};
    for (size_t i = 0; i != sizeof(bad_bytes) / sizeof(bad_bytes[0]); i++) {
        snprintf(target, sizeof(target), "%s%s", bad_bytes[i], sas);
        refused_with(f, target, 400, "InvalidUri");
    }
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s#x", sas);
    assert_int_equal(decide_h(f, "GET", target, NULL, 0, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 400);
    /* SAS and operation names spelled otherwise than Azure, and repeats: 400 */
    static const char *const spellings[] = {"COMP=tags&",           "c%6Fmp=tags&",         "Comp=tags&",
                                            "comp=tags&comp=tags&", "comp=tags&COMP=tags&", "RESTYPE=container&",
                                            "Snapshot=x&",          "versionId=x&",         "DeleteType=permanent&"};
    for (size_t i = 0; i != sizeof(spellings) / sizeof(spellings[0]); i++) {
        snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s%s", spellings[i], sas);
        refused_with(f, target, 400, "InvalidQueryParameterValue");
    }
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s&SP=r", sas);
    assert_int_equal(decide_h(f, "GET", target, NULL, 0, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 400);
    assert_int_equal(d.err.reason, SAS_R_DUPLICATE_PARAM); /* sp twice, once spelled otherwise */
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?RESTYPE=x&%s", sas);
    assert_int_equal(decide_h(f, "GET", target, NULL, 0, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_NONCANONICAL_PARAM);
    /* what Azure spells so passes; unknown names of any spelling are the backend's */
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?comp=tags&Foo=%%41&%s", sas);
    assert_int_equal(decide_h(f, "GET", target, NULL, 0, &d), GW_PROXY_FORWARD);
    assert_ptr_equal(d.forward_path, target);
}

static void origin_forwards_only_the_operation(void **state)
{
    struct fixture *f = *state;
    sas_mint_t m = {.account = "originacct",
                    .container = "docs",
                    .blob = "a.txt",
                    .permissions = "rw",
                    .expiry = "2099-01-01T00:00:00Z",
                    .cache_control = "no-store",
                    .content_disposition = "attachment; filename=\"a.txt\"",
                    .content_type = "text/plain; charset=utf-8"};
    assert_int_equal(sas_mint(&m, &f->key, sas, sizeof(sas), NULL, 0, NULL, NULL), SAS_OK);
    snprintf(target, sizeof(target), "/originacct/docs/a.txt?timeout=5&%s&x=1&comp=metadata&restype=&snapshotx=1", sas);
    assert_int_equal(decide_h(f, "PUT", target, NULL, 0, &d), GW_PROXY_FORWARD);
    assert_int_equal(d.forward_path_len, strlen("/originacct/docs/a.txt?timeout=5&comp=metadata&restype="));
    assert_memory_equal(d.forward_path, "/originacct/docs/a.txt?timeout=5&comp=metadata&restype=", d.forward_path_len);
    snprintf(target, sizeof(target), "/originacct/docs/a.txt?%s&x=1", sas);
    assert_int_equal(decide_h(f, "GET", target, NULL, 0, &d), GW_PROXY_FORWARD);
    assert_int_equal(d.forward_path_len, strlen("/originacct/docs/a.txt"));
    /* the signed response headers */
    assert_int_equal(d.num_overrides, 3);
    assert_string_equal(d.overrides[0].name, "cache-control");
    assert_string_equal(d.overrides[0].value, "no-store");
    assert_string_equal(d.overrides[1].name, "content-disposition");
    assert_string_equal(d.overrides[1].value, "attachment; filename=\"a.txt\"");
    assert_string_equal(d.overrides[2].name, "content-type");
    assert_int_equal(d.overrides[2].value_len, strlen("text/plain; charset=utf-8"));
    /* passthrough: the backend applies them itself */
    m.account = "devstoreaccount1";
    assert_int_equal(sas_mint(&m, &f->key, sas, sizeof(sas), NULL, 0, NULL, NULL), SAS_OK);
    snprintf(target, sizeof(target), "/devstoreaccount1/docs/a.txt?%s", sas);
    assert_int_equal(decide_h(f, "GET", target, NULL, 0, &d), GW_PROXY_FORWARD);
    assert_int_equal(d.num_overrides, 0);
    /* a batch carries its sub-requests in the body: forwarded to a backend that checks them, never to an origin */
    mint(f, "devstoreaccount1", "docs", NULL, "dwxy", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/docs?restype=container&comp=batch&%s", sas);
    assert_int_equal(decide_h(f, "POST", target, NULL, 0, &d), GW_PROXY_FORWARD);
    mint(f, "originacct", "docs", NULL, "dwxy", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/originacct/docs?restype=container&comp=batch&%s", sas);
    assert_int_equal(decide_h(f, "POST", target, NULL, 0, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 403);
    assert_string_equal(d.code, "AuthorizationPermissionMismatch");
}

/*
 * The decision runs sas_verify() with the proxy's callbacks; the outcomes of
 * the order it had before stand: times before the key check, the client
 * address read only for sip, the copy source between the network and the
 * operation, the string to sign only under proxy.debug and on a mismatch.
 */
static void one_pipeline(void **state)
{
    struct fixture *f = *state;
    sas_mint_t m = {.account = "yamlonly", .container = "photos", .blob = "a.txt", .permissions = "r"};

    /* an account without keys: an expired token is expired, a current one meets the missing key */
    m.start = "2020-01-01T00:00:00Z";
    m.expiry = "2020-01-02T00:00:00Z";
    assert_int_equal(sas_mint(&m, &f->key, sas, sizeof(sas), NULL, 0, NULL, NULL), SAS_OK);
    snprintf(target, sizeof(target), "/yamlonly/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_EXPIRED);
    mint(f, "yamlonly", "photos", "a.txt", "r", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/yamlonly/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 403);
    assert_string_equal(d.code, "AuthenticationFailed");
    assert_int_equal(d.err.reason, SAS_R_NO_KEY);
    assert_string_equal(d.err.message, "the account has no active key");

    /* the client address: not read without sip (even with X-Forwarded-For), read and kept with it */
    mint(f, "devstoreaccount1", "photos", "a.txt", "r", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, "1.2.3.4", &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_int_equal(d.have_client_ip, 0);
    mint(f, "devstoreaccount1", "photos", "a.txt", "r", "127.0.0.1", NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_int_equal(d.have_client_ip, 1);
    assert_int_equal(d.client_ip.family, 4);
    assert_memory_equal(d.client_ip.addr, "\x7f\0\0\x01", 4);

    /* a copy source's refusal comes before the operation's (sp=r cannot write), and after the network's */
    mint(f, "devstoreaccount1", "photos", "x", "r", NULL, NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/x?%s", sas);
    gw_proxy_header_t h = HDR("x-ms-copy-source", "http://127.0.0.1:10000/devstoreaccount1/private/secret");
    assert_int_equal(decide_h(f, "PUT", target, NULL, 0, &d), GW_PROXY_REFUSE);
    assert_string_equal(d.code, "AuthorizationPermissionMismatch");
    assert_int_equal(decide_h(f, "PUT", target, &h, 1, &d), GW_PROXY_REFUSE);
    assert_int_equal(d.status, 403);
    assert_string_equal(d.code, "CannotVerifyCopySource");
    assert_string_equal(d.err.message, "copy source: the source URL carries no SAS");
    m = (sas_mint_t){.account = "devstoreaccount1",
                     .container = "photos",
                     .blob = "x",
                     .permissions = "cw",
                     .protocol = "https",
                     .expiry = "2099-01-01T00:00:00Z"};
    assert_int_equal(sas_mint(&m, &f->key, sas, sizeof(sas), NULL, 0, NULL, NULL), SAS_OK);
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/x?%s", sas);
    assert_int_equal(decide_h(f, "PUT", target, &h, 1, &d), GW_PROXY_REFUSE);
    assert_string_equal(d.code, "AuthorizationProtocolMismatch");

    /* the string to sign: only with proxy.debug, only on a signature mismatch */
    sas_key_t other;
    assert_int_equal(sas_key_init_base64(&other, "AAAA", 4), 0);
    m = (sas_mint_t){.account = "devstoreaccount1",
                     .container = "photos",
                     .blob = "a.txt",
                     .permissions = "r",
                     .expiry = "2099-01-01T00:00:00Z"};
    assert_int_equal(sas_mint(&m, &other, sas, sizeof(sas), NULL, 0, NULL, NULL), SAS_OK);
    sas_key_dispose(&other);
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(d.sts_len, 0);
    f->conf->proxy.debug = 1;
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(d.sts_len, strlen(d.sts));
    assert_non_null(strstr(d.sts, "\n/blob/devstoreaccount1/photos/a.txt\n"));
    mint(f, "devstoreaccount1", "photos", "a.txt", "r", "10.9.9.9", NULL, sas, sizeof(sas));
    snprintf(target, sizeof(target), "/devstoreaccount1/photos/a.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_REFUSE);
    assert_int_equal(d.err.reason, SAS_R_IP_MISMATCH);
    assert_int_equal(d.sts_len, 0);
    assert_string_equal(d.sts, "");
    f->conf->proxy.debug = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_passthrough),
        cmocka_unit_test(origin_strips_sas),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(xff_handling),
        cmocka_unit_test(revoked_and_stale),
        cmocka_unit_test(stored_policy_and_signing_key),
        cmocka_unit_test(method_override_and_copy_authorization_refused),
        cmocka_unit_test(copy_attack_refused),
        cmocka_unit_test(copy_source_pipeline),
        cmocka_unit_test(op_rules),
        cmocka_unit_test(create_only_put_blob),
        cmocka_unit_test(copy_with_verified_source),
        cmocka_unit_test(target_hygiene),
        cmocka_unit_test(origin_forwards_only_the_operation),
        cmocka_unit_test(one_pipeline),
        /* rotates the fixture's key: last */
        cmocka_unit_test(error_xml),
        cmocka_unit_test(rotation_retires_old_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
