/* Tests gateway/core/config.c: the shipped configuration, defaults, and every kind of error with its place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "sasgw/core/config.h"

static gw_config_t *parse(const char *text, char *err, size_t errlen)
{
    return gw_config_parse("t.yaml", text, strlen(text), err, errlen);
}

#define MINIMAL "vault: {path: v.db}\npolicy: p.yaml\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: 8080}\n"

static void loads_shipped_config(void **state)
{
    char err[512];
    gw_config_t *conf = gw_config_load("conf/sasgw.yaml", err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    assert_string_equal(conf->vault.path, "var/vault.db");
    assert_string_equal(conf->vault.master_key_file, "var/master.key");
    assert_null(conf->vault.passphrase_file);
    assert_string_equal(conf->policy, "conf/policy.yaml");
    assert_int_equal(conf->threads, 0);
    assert_true(conf->issuer.enabled);
    assert_int_equal(conf->issuer.num_listen, 1);
    assert_string_equal(conf->issuer.listen[0].address, "127.0.0.1");
    assert_int_equal(conf->issuer.listen[0].port, 8080);
    assert_null(conf->issuer.listen[0].tls_certificate);
    assert_int_equal(conf->issuer.max_body, 65536);
    assert_int_equal(conf->issuer.clock_skew, 300);
    assert_int_equal(conf->issuer.auth_failures.limit, 20);
    assert_int_equal(conf->issuer.auth_failures.window, 60);
    assert_int_equal(conf->issuer.auth_failures.audit_interval, 60);
    assert_true(conf->proxy.enabled);
    assert_int_equal(conf->proxy.listen[0].port, 8000);
    assert_string_equal(conf->proxy.public_base_url, "http://127.0.0.1:8000");
    assert_int_equal(conf->proxy.start_skew, 300);
    assert_int_equal(conf->proxy.expiry_skew, 0);
    assert_int_equal(conf->proxy.upstream_timeout, 30);
    assert_int_equal(conf->proxy.num_trusted_proxies, 0);
    assert_false(conf->proxy.debug);
    assert_false(conf->proxy.allow_external_copy_sources);
    assert_int_equal(conf->proxy.http2_max_body, GW_CONFIG_DEFAULT_HTTP2_MAX_BODY);
    assert_false(conf->proxy.listen[0].http2);
    assert_int_equal(conf->num_accounts, 2);
    /* the demo's resign account over Azurite's devstoreaccount1 */
    const gw_account_config_t *a = gw_config_find_account(conf, "media", 5);
    assert_non_null(a);
    assert_int_equal(a->mode, GW_ACCOUNT_RESIGN);
    assert_string_equal(a->upstream_account, "devstoreaccount1");
    assert_int_equal(a->upstream.port, 10000);
    a = gw_config_find_account(conf, "devstoreaccount1", 16);
    assert_non_null(a);
    assert_int_equal(a->mode, GW_ACCOUNT_PASSTHROUGH);
    assert_string_equal(a->upstream.host, "127.0.0.1");
    assert_int_equal(a->upstream.port, 10000);
    assert_string_equal(a->upstream.path, "");
    assert_false(a->upstream.tls);
    assert_string_equal(conf->redis.host, "127.0.0.1");
    assert_int_equal(conf->redis.port, 6390);
    assert_null(conf->redis.password_file);
    assert_int_equal(conf->revocation.max_staleness, 30);
    assert_false(conf->revocation.fail_open);
    assert_string_equal(conf->audit.path, "var/audit.log");
    gw_config_free(conf);
}

static void applies_defaults(void **state)
{
    char err[512];
    gw_config_t *conf = parse("policy: p.yaml\nvault: {}\nissuer:\n  listen: [{address: '::1', port: 1}]\n", err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    assert_string_equal(conf->vault.path, "var/vault.db");
    assert_string_equal(conf->audit.path, "var/audit.log");
    assert_int_equal(conf->issuer.max_body, GW_CONFIG_DEFAULT_MAX_BODY);
    assert_int_equal(conf->issuer.auth_failures.limit, GW_CONFIG_DEFAULT_AUTH_FAILURE_LIMIT);
    assert_int_equal(conf->issuer.auth_failures.window, GW_CONFIG_DEFAULT_AUTH_FAILURE_WINDOW);
    assert_int_equal(conf->issuer.auth_failures.audit_interval, GW_CONFIG_DEFAULT_AUTH_FAILURE_AUDIT_INTERVAL);
    assert_false(conf->proxy.enabled);
    assert_int_equal(conf->redis.port, 6379);
    assert_string_equal(conf->redis.host, "127.0.0.1");
    assert_int_equal(conf->revocation.max_staleness, 30);
    assert_int_equal(conf->num_accounts, 0);
    gw_config_free(conf);
}

/* http2 on proxy listeners: true by default with TLS, false without; an explicit value wins. */
static void http2_defaults_to_on_for_tls_proxy_listeners(void **state)
{
    (void)state;
    static const char text[] = MINIMAL "proxy:\n  listen:\n    - {address: 127.0.0.1, port: 8000}\n"
                                       "    - {address: 127.0.0.1, port: 8443, tls: {certificate: c.pem, key: k.pem}}\n"
                                       "    - {address: 127.0.0.1, port: 8444, tls: {certificate: c.pem, key: k.pem}, http2: false}\n"
                                       "    - {address: 127.0.0.1, port: 8001, http2: true}\n"
                                       "  public_base_url: http://x\n";
    char err[512];
    gw_config_t *conf = parse(text, err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    assert_int_equal(conf->proxy.num_listen, 4);
    assert_int_equal(conf->proxy.listen[0].http2, 0);
    assert_int_equal(conf->proxy.listen[1].http2, 1);
    assert_int_equal(conf->proxy.listen[2].http2, 0);
    assert_int_equal(conf->proxy.listen[3].http2, 1);
    assert_int_equal(conf->issuer.listen[0].http2, 0);
    gw_config_free(conf);
}

static void reads_everything(void **state)
{
    static const char text[] = "vault:\n  path: /srv/sasgw/vault.db\n  passphrase_file: /run/pass\n"
                               "policy: p.yaml\nthreads: 4\n"
                               "issuer:\n  listen:\n    - address: 0.0.0.0\n      port: 8443\n"
                               "      tls: {certificate: c.pem, key: k.pem}\n  max_body: 1024\n  clock_skew: 0\n"
                               "proxy:\n  listen: [{address: 127.0.0.1, port: 8000}, {address: '::', port: 8000, http2: true}]\n"
                               "  public_base_url: https://storage.example:9443/base/\n  start_skew: 60\n  expiry_skew: 5\n"
                               "  upstream_timeout: 10\n  trusted_proxies: [10.0.0.0/8, '::1', 192.168.1.7]\n  debug: true\n"
                               "  allow_external_copy_sources: true\n  http2_max_body: 1048576\n"
                               "accounts:\n  acct1: {mode: origin, backend: 'https://[::1]:8443/prefix/'}\n"
                               "  acct2: {mode: passthrough, backend: http://blob.local}\n"
                               "  media: {mode: resign, backend: 'https://devstoreaccount1.blob.core.windows.net',"
                               " upstream_account: devstoreaccount1}\n  edge: {backend: http://azurite:10000, mode: resign}\n"
                               "redis: {host: redis.local, port: 6380, password_file: /run/redis.pass}\n"
                               "revocation: {max_staleness: 0, fail_open: true}\naudit: {path: /var/log/sasgw.audit}\n";
    char err[512];
    gw_config_t *conf = parse(text, err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    assert_string_equal(conf->vault.passphrase_file, "/run/pass");
    assert_int_equal(conf->threads, 4);
    assert_string_equal(conf->issuer.listen[0].tls_certificate, "c.pem");
    assert_string_equal(conf->issuer.listen[0].tls_key, "k.pem");
    assert_int_equal(conf->issuer.listen[0].line, 8);
    assert_int_equal(conf->issuer.max_body, 1024);
    assert_int_equal(conf->issuer.clock_skew, 0);
    assert_int_equal(conf->proxy.num_listen, 2);
    assert_string_equal(conf->proxy.public_base_url, "https://storage.example:9443/base");
    assert_int_equal(conf->proxy.upstream_timeout, 10);
    assert_true(conf->proxy.debug);
    assert_true(conf->proxy.allow_external_copy_sources);
    assert_int_equal(conf->proxy.http2_max_body, 1048576);
    assert_false(conf->proxy.listen[0].http2);
    assert_true(conf->proxy.listen[1].http2);
    assert_int_equal(conf->proxy.num_trusted_proxies, 3);
    const gw_account_config_t *a = gw_config_find_account(conf, "acct1", 5);
    assert_int_equal(a->mode, GW_ACCOUNT_ORIGIN);
    assert_true(a->upstream.tls);
    assert_string_equal(a->upstream.host, "::1");
    assert_int_equal(a->upstream.port, 8443);
    assert_string_equal(a->upstream.path, "/prefix");
    a = gw_config_find_account(conf, "acct2", 5);
    assert_int_equal(a->upstream.port, 80);
    assert_null(gw_config_find_account(conf, "acct3", 5));
    assert_null(a->upstream_account);
    a = gw_config_find_account(conf, "media", 5);
    assert_int_equal(a->mode, GW_ACCOUNT_RESIGN);
    assert_string_equal(a->upstream_account, "devstoreaccount1");
    assert_true(a->upstream.tls);
    a = gw_config_find_account(conf, "edge", 4);
    assert_int_equal(a->mode, GW_ACCOUNT_RESIGN);
    assert_null(a->upstream_account); /* the default: the account's own name (keyring.h) */
    assert_string_equal(conf->redis.host, "redis.local");
    assert_string_equal(conf->redis.password_file, "/run/redis.pass");
    assert_true(conf->revocation.fail_open);
    assert_string_equal(conf->audit.path, "/var/log/sasgw.audit");

    /* trusted proxies match by range and map IPv4 in IPv6 */
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
    assert_true(gw_config_is_trusted_proxy(conf, (struct sockaddr *)&sin));
    inet_pton(AF_INET, "192.168.1.8", &sin.sin_addr);
    assert_false(gw_config_is_trusted_proxy(conf, (struct sockaddr *)&sin));
    inet_pton(AF_INET6, "::ffff:192.168.1.7", &sin6.sin6_addr);
    assert_true(gw_config_is_trusted_proxy(conf, (struct sockaddr *)&sin6));
    inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
    assert_true(gw_config_is_trusted_proxy(conf, (struct sockaddr *)&sin6));
    inet_pton(AF_INET6, "::2", &sin6.sin6_addr);
    assert_false(gw_config_is_trusted_proxy(conf, (struct sockaddr *)&sin6));
    gw_config_free(conf);
}

/* issuer.auth_failures: every key, each with its default when left out. */
static void parses_auth_failures(void **state)
{
    char err[512];
    gw_config_t *conf = parse(MINIMAL "  auth_failures: {limit: 0, window: 86400, audit_interval: 1}\n", err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    assert_int_equal(conf->issuer.auth_failures.limit, 0);
    assert_int_equal(conf->issuer.auth_failures.window, 86400);
    assert_int_equal(conf->issuer.auth_failures.audit_interval, 1);
    gw_config_free(conf);
    conf = parse(MINIMAL "  auth_failures:\n    limit: 5\n", err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    assert_int_equal(conf->issuer.auth_failures.limit, 5);
    assert_int_equal(conf->issuer.auth_failures.window, GW_CONFIG_DEFAULT_AUTH_FAILURE_WINDOW);
    assert_int_equal(conf->issuer.auth_failures.audit_interval, GW_CONFIG_DEFAULT_AUTH_FAILURE_AUDIT_INTERVAL);
    gw_config_free(conf);
}

/* Each bad configuration, the place its error must name, and words it must contain. */
static const struct {
    const char *text, *place, *words;
} bad[] = {
    {MINIMAL "foo: 1\n", "t.yaml:6:1:", "unknown key 'foo'"},
    {MINIMAL "policy: q.yaml\n", "t.yaml:6:1:", "duplicate key 'policy'"},
    {"vault: {path: v.db}\nissuer:\n  listen: [{address: 127.0.0.1, port: 1}]\n", "t.yaml:1:1:", "required key 'policy'"},
    {"vault: {path: v.db}\npolicy: p\n", "t.yaml:1:1:", "'issuer' or a 'proxy'"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: abc}\n",
     "t.yaml:5:34:", "'port' must be a non-negative decimal integer"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: 0}\n",
     "t.yaml:5:34:", "between 1 and 65535"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: 70000}\n", "t.yaml:5:34:", "65535"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: '8080'}\n",
     "t.yaml:5:34:", "must be an integer, not a string"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {address: localhost, port: 1}\n",
     "t.yaml:5:17:", "numeric IPv4 or IPv6"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen: []\n", "t.yaml:4:11:", "at least one"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {port: 1}\n", "t.yaml:5:7:", "required key 'address'"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  max_body: 10\n", "t.yaml:4:3:", "required key 'listen'"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: 1, tls: {certificate: c.pem}}\n",
     "t.yaml:5:42:", "required key 'key'"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: 1, tls: true}\n",
     "t.yaml:5:42:", "'tls' must be a mapping"},
    {MINIMAL "  auth_failures: {limt: 1}\n",
     "t.yaml:6:19:", "unknown key 'limt' in 'auth_failures' (expected one of: limit, window, audit_interval)"},
    {MINIMAL "  auth_failures: {limit: 1000001}\n", "t.yaml:6:26:", "'limit' must be between 0 and 1000000"},
    {MINIMAL "  auth_failures: {limit: -1}\n", "t.yaml:6:26:", "'limit' must be a non-negative decimal integer"},
    {MINIMAL "  auth_failures: {window: 0}\n", "t.yaml:6:27:", "'window' must be between 1 and 86400"},
    {MINIMAL "  auth_failures: {audit_interval: 3601}\n", "t.yaml:6:35:", "'audit_interval' must be between 1 and 3600"},
    {MINIMAL "  auth_failures: {window: '60'}\n", "t.yaml:6:27:", "must be an integer, not a string"},
    {MINIMAL "  auth_failures: {limit: 1, limit: 2}\n", "t.yaml:6:29:", "duplicate key 'limit' in 'auth_failures'"},
    {MINIMAL "  auth_failures: 20\n", "t.yaml:6:18:", "'auth_failures' must be a mapping"},
    {MINIMAL "threads: -1\n", "t.yaml:6:10:", "'threads'"},
    {MINIMAL "threads: 1000\n", "t.yaml:6:10:", "between 0 and 256"},
    {MINIMAL "threads: 99999999999999999999999\n", "t.yaml:6:10:", "between 0 and 256"},
    {MINIMAL "revocation: {fail_open: yes}\n", "t.yaml:6:25:", "true or false"},
    {MINIMAL "revocation: {max_staleness: ~}\n", "t.yaml:6:29:", "must be an integer, not null"},
    {"vault: {path: v.db, master_key_file: a, passphrase_file: b}\npolicy: p\nissuer: {listen: [{address: 127.0.0.1, port: 1}]}\n",
     "t.yaml:1:8:", "not both"},
    {"vault: {path: ''}\npolicy: p\n", "t.yaml:1:15:", "must not be empty"},
    {"vault: {path: v.db}\npolicy: [a]\n", "t.yaml:2:9:", "'policy' must be a string, not a list"},
    {MINIMAL "accounts:\n  devstoreaccount1: {mode: bogus, backend: http://x}\n", "t.yaml:7:28:", "passthrough, origin or resign"},
    {MINIMAL "accounts:\n  media: {mode: resign, backend: http://x, upstream_account: Bad}\n", "t.yaml:7:62:",
     "'upstream_account' must be 3 to 24 lower-case letters and digits"},
    {MINIMAL "accounts:\n  media: {mode: resign, backend: http://x, upstream_account: ab}\n", "t.yaml:7:62:",
     "'upstream_account' must be 3 to 24"},
    {MINIMAL "accounts:\n  media: {mode: resign, backend: http://x, upstream_account: [a]}\n", "t.yaml:7:62:", "must be a string"},
    {MINIMAL "accounts:\n  media: {mode: origin, backend: http://x, upstream_account: abc}\n", "t.yaml:7:10:",
     "'upstream_account' is only for an account in mode resign"},
    {MINIMAL "accounts:\n  media: {upstream_account: abc, backend: http://x}\n", "t.yaml:7:10:", "required key 'mode'"},
    {MINIMAL "accounts:\n  devstoreaccount1: {mode: origin, backend: ftp://x}\n", "t.yaml:7:45:", "http:// or https://"},
    {MINIMAL "accounts:\n  devstoreaccount1: {mode: origin, backend: 'http://x:99999'}\n", "t.yaml:7:45:", "above 65535"},
    {MINIMAL "accounts:\n  devstoreaccount1: {mode: origin, backend: 'http://x/?a=b'}\n", "t.yaml:7:45:", "query"},
    {MINIMAL "accounts:\n  devstoreaccount1: {mode: origin, backend: 'http://'}\n", "t.yaml:7:45:", "no host"},
    {MINIMAL "accounts:\n  Dev: {mode: origin, backend: http://x}\n", "t.yaml:7:3:", "lower-case letters and digits"},
    {MINIMAL "accounts:\n  abc: {mode: origin}\n", "t.yaml:7:8:", "required key 'backend'"},
    {MINIMAL "accounts:\n  abc: {mode: origin, backend: http://x}\n  abc: {mode: origin, backend: http://y}\n",
     "t.yaml:8:3:", "duplicate account 'abc'"},
    {MINIMAL "accounts: [a]\n", "t.yaml:6:11:", "mapping of account names"},
    {MINIMAL "proxy:\n  listen: [{address: 127.0.0.1, port: 8000}]\n", "t.yaml:7:3:", "required key 'public_base_url'"},
    {MINIMAL "proxy:\n  listen: [{address: 127.0.0.1, port: 8000}]\n  public_base_url: '127.0.0.1:8000'\n",
     "t.yaml:8:20:", "http:// or https://"},
    {MINIMAL
     "proxy:\n  listen: [{address: 127.0.0.1, port: 8000}]\n  public_base_url: http://x\n  trusted_proxies: [10.0.0.0/33]\n",
     "t.yaml:9:21:", "CIDR"},
    {MINIMAL "proxy:\n  listen: [{address: 127.0.0.1, port: 8000}]\n  public_base_url: http://x\n  upstream_timeout: 0\n",
     "t.yaml:9:21:", "between 1 and 3600"},
    {MINIMAL "proxy:\n  listen: [{address: 127.0.0.1, port: 8080}]\n  public_base_url: http://x\n", "t.yaml:7:", "already used"},
    {MINIMAL "proxy:\n  listen: [{address: 127.0.0.1, port: 8000}]\n  public_base_url: http://x\n  http2_max_body: 1099511627777\n",
     "t.yaml:9:19:", "between 1 and 1099511627776"},
    {MINIMAL
     "proxy:\n  listen: [{address: 127.0.0.1, port: 8000}]\n  public_base_url: http://x\n  allow_external_copy_sources: 1\n",
     "t.yaml:9:32:", "true or false"},
    {MINIMAL "proxy:\n  listen: [{address: 127.0.0.1, port: 8000, http2: on}]\n  public_base_url: http://x\n",
     "t.yaml:7:", "true or false"},
    {"vault: {path: v.db}\npolicy: p\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: 1, http2: true}\n",
     "t.yaml:5:7:", "'http2' is a key of 'proxy.listen' entries only"},
    {MINIMAL "redis: {hots: x}\n", "t.yaml:6:9:", "unknown key 'hots' in 'redis' (expected one of: host, port, password_file)"},
    {MINIMAL "audit: yes\n", "t.yaml:6:8:", "'audit' must be a mapping"},
    {"vault: {path: v.db}\npolicy: p\nissuer: [\n", "t.yaml:4:1:", "did not find expected node content"},
    {"vault: {path: v.db\n", "t.yaml:", "flow mapping"},
    {"- a\n- b\n", "t.yaml:1:1:", "must be a mapping"},
    {"", "t.yaml:", "empty"},
    {"# only a comment\n", "t.yaml:", "empty"},
    {MINIMAL "---\nfoo: 1\n", "t.yaml:", "more than one YAML document"},
    /* aliases, anchors and tags are refused (the alias was accepted and resolved before the shared walker) */
    {"vault: &v {path: v.db}\npolicy: *v\n",
     "t.yaml:1:8:", "used again through an alias (*name); anchors and aliases are not supported"},
    {MINIMAL "audit: {path: &p a.log}\n", "t.yaml:6:15:", "anchors (&p) are not supported"},
    {MINIMAL "audit: {path: !!str a.log}\n", "t.yaml:6:15:", "tags (tag:yaml.org,2002:str) are not supported"},
    {"vault: {path: v.db}\npolicy: p\nissuer: {listen: [{address: &a 127.0.0.1, port: 1}, {address: *a, port: 2}]}\n",
     "t.yaml:3:29:", "used again through an alias"},
    {MINIMAL "---\nfoo: 1\n", "t.yaml:6:1:", "the file holds more than one YAML document"},
};

static void reports_errors_with_place(void **state)
{
    int failures = 0;
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512];
        gw_config_t *conf = parse(bad[i].text, err, sizeof(err));
        if (conf != NULL)
            fail_msg("case %zu was accepted:\n%s", i, bad[i].text);
        if (strncmp(err, bad[i].place, strlen(bad[i].place)) != 0 || strstr(err, bad[i].words) == NULL) {
            print_error("case %zu: got \"%s\", want \"%s ... %s\"\n", i, err, bad[i].place, bad[i].words);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void reports_missing_file(void **state)
{
    char err[512];
    assert_null(gw_config_load("/nonexistent/sasgw.yaml", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/sasgw.yaml: cannot open"));
}

static void parses_cidrs(void **state)
{
    gw_cidr_t c;
    assert_int_equal(gw_cidr_parse(&c, "10.0.0.0/8"), 0);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(gw_cidr_parse(&c, "fd00::/8"), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(gw_cidr_parse(&c, "1.2.3.4"), 0);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(gw_cidr_parse(&c, "1.2.3.4/"), -1);
    assert_int_equal(gw_cidr_parse(&c, "1.2.3.4/x"), -1);
    assert_int_equal(gw_cidr_parse(&c, "::/129"), -1);
    assert_int_equal(gw_cidr_parse(&c, "host/8"), -1);
    assert_int_equal(gw_cidr_parse(&c, ""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_shipped_config), cmocka_unit_test(applies_defaults),
        cmocka_unit_test(reads_everything),     cmocka_unit_test(reports_errors_with_place),
        cmocka_unit_test(http2_defaults_to_on_for_tls_proxy_listeners),
        cmocka_unit_test(parses_auth_failures), cmocka_unit_test(reports_missing_file),
        cmocka_unit_test(parses_cidrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
