/*
 * Tests gateway/proxy.c's decision (gw_proxy_decide) and gateway/keyring.c's
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

#include "common.h"
#include "config.h"
#include "keyring.h"
#include "proxy.h"
#include "revset.h"
#include "signer.h"
#include "vault.h"

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
    f->vault = vault_open(path, &ks, audit, err, sizeof(err));
    vault_keysource_wipe(&ks);
    assert_non_null(f->vault);
    assert_int_equal(sg_b64_decode(DEV_KEY, strlen(DEV_KEY), key, sizeof(key), &keylen), 0);
    assert_int_equal(vault_account_add(f->vault, NULL, "devstoreaccount1", key, keylen, NULL, 0, "http://ignored:1",
                                       VAULT_MODE_ORIGIN, err, sizeof(err)),
                     0);
    assert_int_equal(vault_account_add(f->vault, NULL, "originacct", key, keylen, NULL, 0, NULL, VAULT_MODE_PASSTHROUGH, err,
                                       sizeof(err)),
                     0);
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
static void mint(struct fixture *f, const char *account, const char *container, const char *blob, const char *perms,
                 const char *ip, const char *si, char *out, size_t cap)
{
    sas_mint_t m = {.account = account, .container = container, .blob = blob, .permissions = perms,
                    .expiry = si != NULL ? NULL : "2099-01-01T00:00:00Z", .ip = ip, .identifier = si};
    sas_error_t err;
    if (sas_mint(&m, &f->key, out, cap, NULL, 0, NULL, &err) != SAS_OK)
        fail_msg("mint: %s", err.message);
}

static gw_proxy_verdict_t decide(struct fixture *f, const char *method, const char *target, const char *xff, gw_proxy_decision_t *d,
                                 char *buf, size_t cap)
{
    gw_proxy_env_t env = {.conf = f->conf, .keyring = f->kr, .revset = f->revset, .revset_reader = f->reader, .now = sas_time_now()};
    gw_proxy_request_t r = {.method = method, .method_len = strlen(method), .path = target, .path_len = strlen(target),
                            .peer = (struct sockaddr *)&f->peer, .xff = xff, .xff_len = xff != NULL ? strlen(xff) : 0};
    return gw_proxy_decide(&env, &r, d, buf, cap);
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
    assert_memory_equal(d.forward_path, "/originacct/docs/a%20b.txt?comp=metadata&x=1", d.forward_path_len);
    assert_int_equal(d.forward_path_len, strlen("/originacct/docs/a%20b.txt?comp=metadata&x=1"));
    /* nothing but the SAS: no '?' left */
    snprintf(target, sizeof(target), "/originacct/docs/a%%20b.txt?%s", sas);
    assert_int_equal(decide(f, "GET", target, NULL, &d, buf, sizeof(buf)), GW_PROXY_FORWARD);
    assert_int_equal(d.forward_path_len, strlen("/originacct/docs/a%20b.txt"));
}

static void strip_sas(void **state)
{
    char out[256];
    const char *q = "sv=2020-12-06&comp=block&SIG=abc&blockid=QUJD&sp=r&skoid=1&rscd=x&&sr=b&se%3D=1&restype=container";
    size_t n = gw_proxy_strip_sas(q, strlen(q), out, sizeof(out));
    out[n] = '\0';
    assert_string_equal(out, "comp=block&blockid=QUJD&se%3D=1&restype=container");
    assert_int_equal(gw_proxy_strip_sas("sig=x", 5, out, sizeof(out)), 0);
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
    static const char *const paths[] = {"/devstoreaccount1/photos%2Fa.txt", "/devstoreaccount1/photos/x/../a.txt",
                                        "/devstoreaccount1/photos/./a.txt", "/devstoreaccount1/photos/%2e%2e/a.txt",
                                        "/devstoreaccount1/photos/x%5C..%5Ca.txt", "/devstoreaccount1//a.txt",
                                        "/devstoreaccount1/photos/a%00.txt", "/devstore%61ccount1/photos/a.txt"};
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
    gw_proxy_env_t env = {.conf = f->conf, .keyring = f->kr, .revset = f->revset, .revset_reader = f->reader, .revocation_stale = 1,
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
    assert_string_equal(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>m&lt;&amp;&gt;"
                             "</Message><AuthenticationErrorDetail>d&quot;&apos; String to sign used was: a\\nb"
                             "</AuthenticationErrorDetail></Error>");
    /* truncation stays terminated */
    n = gw_proxy_error_xml(out, 40, "AuthenticationFailed", "m", "d", NULL, 0);
    assert_true(n < 40);
    assert_int_equal(strlen(out), n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_passthrough), cmocka_unit_test(origin_strips_sas),    cmocka_unit_test(strip_sas),
        cmocka_unit_test(bad_input),         cmocka_unit_test(xff_handling),         cmocka_unit_test(revoked_and_stale),
        cmocka_unit_test(stored_policy_and_signing_key), cmocka_unit_test(rotation_retires_old_key), cmocka_unit_test(error_xml),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
