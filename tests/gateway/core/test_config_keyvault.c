/* Tests the keyvault: section of gateway/core/config.c: values, defaults (audience = the parent-domain resource), errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/core/config.h"

#define BASE "vault: {path: v.db}\npolicy: p.yaml\n"
#define ISSUER "issuer:\n  listen:\n    - {address: 127.0.0.1, port: 8080}\n"

static gw_config_t *parse(const char *text, char *err, size_t errlen)
{
    return gw_config_parse("t.yaml", text, strlen(text), err, errlen);
}

static void reads_the_section(void **state)
{
    char err[512];
    gw_config_t *conf = parse(BASE ISSUER "keyvault:\n"
                                          "  listen:\n"
                                          "    - {address: 127.0.0.1, port: 8443, tls: {certificate: c.pem, key: k.pem}}\n"
                                          "  public_url: https://vault.example.net:8443/\n"
                                          "  audience: https://example.net\n"
                                          "  authorization: https://login.example/tenant\n",
                              err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    assert_true(conf->keyvault.enabled);
    assert_int_equal(conf->keyvault.num_listen, 1);
    assert_int_equal(conf->keyvault.listen[0].port, 8443);
    assert_string_equal(conf->keyvault.listen[0].tls_certificate, "c.pem");
    assert_string_equal(conf->keyvault.public_url, "https://vault.example.net:8443");
    assert_string_equal(conf->keyvault.audience, "https://example.net");
    assert_string_equal(conf->keyvault.authorization, "https://login.example/tenant");
    gw_config_free(conf);
}

static void defaults(void **state)
{
    char err[512];
    /* a keyvault alone is a configuration; plain HTTP is allowed (tests) */
    gw_config_t *conf = parse(BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443}\n"
                                   "  public_url: https://kv.localhost:8443\n",
                              err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    assert_false(conf->issuer.enabled);
    assert_string_equal(conf->keyvault.audience, "https://localhost:8443");
    assert_null(conf->keyvault.authorization);
    assert_null(conf->keyvault.listen[0].tls_certificate);
    gw_config_free(conf);

    conf = parse(BASE ISSUER, err, sizeof(err));
    assert_non_null(conf);
    assert_false(conf->keyvault.enabled);
    assert_null(conf->keyvault.audience);
    gw_config_free(conf);
}

static void derives_the_resource(void **state)
{
    static const struct {
        const char *url, *resource;
    } cases[] = {
        {"https://myvault.vault.azure.net", "https://vault.azure.net"},
        {"https://kv.localhost:8443", "https://localhost:8443"},
        {"https://127.0.0.1:8443", "https://127.0.0.1:8443"}, /* an address: kept */
        {"https://[::1]:8443", "https://[::1]:8443"},
        {"https://localhost:8443", "https://localhost:8443"}, /* one label: kept */
        {"http://a.b", "http://b"},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = gw_config_keyvault_resource(cases[i].url);
        assert_string_equal(r, cases[i].resource);
        free(r);
    }
}

static void reports_errors(void **state)
{
    static const struct {
        const char *text, *words;
    } bad[] = {
        {BASE "keyvault:\n  public_url: https://a.b\n", "listen"},
        {BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443}\n", "public_url"},
        {BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443}\n  public_url: https://a.b/path\n", "without a path"},
        {BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443}\n  public_url: https://a.b?x=1\n", "public_url"},
        {BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443}\n  public_url: ftp://a.b\n", "public_url"},
        {BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443}\n  public_url: https://a.b\n  authorization: a.b\n",
         "http(s) URL"},
        {BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443}\n  public_url: https://a.b\n"
              "  authorization: 'https://a\"b'\n",
         "quote"},
        {BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443}\n  public_url: https://a.b\n  bogus: 1\n", "bogus"},
        {BASE "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8443, http2: true}\n  public_url: https://a.b\n", "http2"},
        {BASE ISSUER "keyvault:\n  listen:\n    - {address: 127.0.0.1, port: 8080}\n  public_url: https://a.b\n", "already used"},
    };
    int failures = 0;
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512];
        gw_config_t *conf = parse(bad[i].text, err, sizeof(err));
        if (conf != NULL) {
            gw_config_free(conf);
            fail_msg("case %zu was accepted:\n%s", i, bad[i].text);
        }
        if (strncmp(err, "t.yaml:", 7) != 0 || strstr(err, bad[i].words) == NULL) {
            print_error("case %zu: got \"%s\", want \"t.yaml:... %s\"\n", i, err, bad[i].words);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_the_section),
        cmocka_unit_test(defaults),
        cmocka_unit_test(derives_the_resource),
        cmocka_unit_test(reports_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
