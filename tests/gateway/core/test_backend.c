/*
 * Tests gateway/core/backend.c: the one parse of an account's backend URL, what it
 * hands h2o's reverse proxy (the same as h2o_url_parse() of the URL), every
 * refusal with its reason, copies, and the keyring carrying each account's
 * own parsed backend (from the YAML and from a vault string).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/core/backend.h"
#include "sasgw/core/config.h"
#include "sasgw/core/keyring.h"

/* Parses url, which must be accepted; fails the test with the reason otherwise. */
static void must_parse(gw_backend_t *b, const char *url)
{
    const char *why = NULL;
    if (gw_backend_parse(b, url, &why) != 0)
        fail_msg("'%s' refused: %s", url, why);
}

/* url must be refused with a reason containing want, leaving b owning nothing. */
static void must_refuse(const char *url, const char *want)
{
    gw_backend_t b;
    const char *why = NULL;
    if (gw_backend_parse(&b, url, &why) == 0)
        fail_msg("'%s' accepted (host '%s', path '%s')", url, b.host, b.path);
    assert_non_null(why);
    if (strstr(why, want) == NULL)
        fail_msg("'%s' refused with '%s', expected '%s'", url, why, want);
    assert_null(b.host);
    assert_null(b.path);
    assert_null(b.authority);
}

static void assert_iov_equal(h2o_iovec_t v, h2o_iovec_t want)
{
    if (v.len != want.len || memcmp(v.base, want.base, v.len) != 0)
        fail_msg("'%.*s' != '%.*s'", (int)v.len, v.base, (int)want.len, want.base);
}

static void assert_iov(h2o_iovec_t v, const char *want)
{
    assert_iov_equal(v, h2o_iovec_init(want, strlen(want)));
}

static void splits_the_parts(void **state)
{
    static const struct {
        const char *url;
        int tls;
        const char *host, *port_text, *path, *authority, *url_host, *url_path;
        uint16_t port;
    } cases[] = {
        {"http://127.0.0.1:10000", 0, "127.0.0.1", "10000", "", "127.0.0.1:10000", "127.0.0.1", "/", 10000},
        {"http://127.0.0.1:10000/", 0, "127.0.0.1", "10000", "", "127.0.0.1:10000", "127.0.0.1", "/", 10000},
        {"https://[::1]:8443/prefix/", 1, "::1", "8443", "/prefix", "[::1]:8443", "::1", "/prefix", 8443},
        {"https://[::1]", 1, "::1", "443", "", "[::1]", "::1", "/", 443},
        {"http://example.com", 0, "example.com", "80", "", "example.com", "example.com", "/", 80},
        {"https://Blob.Example-1.net/a/b//", 1, "Blob.Example-1.net", "443", "/a/b", "Blob.Example-1.net", "Blob.Example-1.net",
         "/a/b", 443},
        {"http://h:65534///", 0, "h", "65534", "", "h:65534", "h", "/", 65534},
        {"http://h:00080/x", 0, "h", "80", "/x", "h:00080", "h", "/x", 80},
        {"http://h/%2Fa", 0, "h", "80", "/%2Fa", "h", "h", "/%2Fa", 80},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); i++) {
        gw_backend_t b;
        must_parse(&b, cases[i].url);
        assert_int_equal(b.tls, cases[i].tls);
        assert_string_equal(b.host, cases[i].host);
        assert_int_equal(b.port, cases[i].port);
        assert_string_equal(b.port_text, cases[i].port_text);
        assert_string_equal(b.path, cases[i].path);
        assert_string_equal(b.authority, cases[i].authority);
        /* what h2o's reverse proxy gets */
        assert_ptr_equal(b.url.scheme, cases[i].tls ? &H2O_URL_SCHEME_HTTPS : &H2O_URL_SCHEME_HTTP);
        assert_iov(b.url.authority, cases[i].authority);
        assert_iov(b.url.host, cases[i].url_host);
        assert_iov(b.url.path, cases[i].url_path);
        assert_int_equal(h2o_url_get_port(&b.url), cases[i].port);
        gw_backend_dispose(&b);
        assert_null(b.host);
    }
}

/* For every accepted URL, the h2o_url_t equals what h2o_url_parse() made of it before (register_account's input). */
static void hands_h2o_what_h2o_url_parse_made(void **state)
{
    static const char *const urls[] = {"http://127.0.0.1:10000", "https://[::1]:8443/prefix", "http://example.com/a/b",
                                       "https://localhost:1", "http://[fe80::1%25]:9"};
    for (size_t i = 0; i != sizeof(urls) / sizeof(urls[0]); i++) {
        gw_backend_t b;
        const char *why;
        h2o_url_t h;
        if (gw_backend_parse(&b, urls[i], &why) != 0) {
            assert_string_equal(urls[i], "http://[fe80::1%25]:9"); /* a zone id is not an address inet_pton reads */
            continue;
        }
        assert_int_equal(h2o_url_parse(urls[i], SIZE_MAX, &h), 0);
        assert_ptr_equal(b.url.scheme, h.scheme);
        assert_iov_equal(b.url.authority, h.authority);
        assert_iov_equal(b.url.host, h.host);
        assert_iov_equal(b.url.path, h.path);
        assert_int_equal(h2o_url_get_port(&b.url), h2o_url_get_port(&h));
        gw_backend_dispose(&b);
    }
}

static void refuses_bad_urls(void **state)
{
    must_refuse("", "must start with http:// or https://");
    must_refuse("ftp://h", "must start with http:// or https://");
    must_refuse("HTTP://h", "must start with http:// or https://");
    must_refuse("//h", "must start with http:// or https://");
    must_refuse("http:/h", "must start with http:// or https://");
    /* user info, query, fragment, spaces, backslashes, control and non-ASCII bytes */
    must_refuse("http://user@h", "user info");
    must_refuse("http://user:pw@h:1", "user info");
    must_refuse("http://h@evil.example", "user info");
    must_refuse("http://h/p?x=1", "a query");
    must_refuse("http://h?", "a query");
    must_refuse("http://h/p#f", "a fragment");
    must_refuse("http://h/a b", "spaces");
    must_refuse("http://h\t", "spaces");
    must_refuse("http://h/\r\nX-Injected: 1", "spaces");
    must_refuse("http://h\\@evil", "backslashes");
    must_refuse("http://h/\x01", "control characters");
    must_refuse("http://h/\x7f", "control characters");
    must_refuse("http://h/caf\xc3\xa9", "non-ASCII");
    /* hosts */
    must_refuse("http://", "has no host");
    must_refuse("http:///p", "has no host");
    must_refuse("http://:80", "has no host");
    must_refuse("http://::1:80", "has no host");
    must_refuse("http://h_x", "malformed host");
    must_refuse("http://h%2e", "malformed host");
    must_refuse("http://[::1", "unterminated IPv6");
    must_refuse("http://[]:80", "malformed IPv6");
    must_refuse("http://[zz]:80", "malformed IPv6");
    must_refuse("http://[127.0.0.1]", "malformed IPv6");
    must_refuse("http://[::1]x", "malformed port");
    /* ports */
    must_refuse("http://h:", "malformed port");
    must_refuse("http://h:/p", "malformed port");
    must_refuse("http://h:-1", "malformed port");
    must_refuse("http://h:+1", "malformed port");
    must_refuse("http://h:12a", "malformed port");
    must_refuse("http://h:1:2", "malformed port");
    must_refuse("http://h:0", "has port 0");
    must_refuse("http://h:00", "has port 0");
    must_refuse("http://h:65535", "has port 65535");
    must_refuse("http://h:65536", "above 65535");
    must_refuse("http://h:99999999999999999999", "above 65535");
}

/* A copy owns its strings and its h2o_url_t points at them, not at the original's. */
static void copies_are_independent(void **state)
{
    gw_backend_t a, b;
    must_parse(&a, "https://[::1]:8443/prefix");
    gw_backend_copy(&b, &a);
    assert_ptr_not_equal(b.host, a.host);
    assert_ptr_equal(b.url.authority.base, b.authority);
    assert_ptr_equal(b.url.host.base, b.authority + 1);
    assert_ptr_equal(b.url.path.base, b.path);
    gw_backend_dispose(&a);
    assert_string_equal(b.host, "::1");
    assert_iov(b.url.host, "::1");
    assert_iov(b.url.path, "/prefix");
    assert_string_equal(b.port_text, "8443");
    gw_backend_dispose(&b);
    gw_backend_dispose(&b); /* a zeroed backend may be disposed again */
}

/*
 * The keyring's accounts (sorted by name) each point at their own parsed
 * backend: YAML accounts listed out of order, and a backend string the YAML
 * did not parse (as the vault's are) parsed at build, a bad one reported.
 */
static void keyring_carries_parsed_backends(void **state)
{
    static const char text[] = "vault: {path: v.db}\npolicy: p.yaml\nissuer:\n  listen:\n    - {address: 127.0.0.1, port: 8080}\n"
                               "accounts:\n"
                               "  zeta: {mode: origin, backend: 'http://127.0.0.1:9000/z/'}\n"
                               "  alpha: {mode: passthrough, backend: 'https://[::1]:8443'}\n"
                               "  mid: {mode: passthrough, backend: 'http://example.com'}\n";
    char err[512];
    gw_config_t *conf = gw_config_parse("t.yaml", text, strlen(text), err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    /* as if these two came from the vault: a string, not parsed yet */
    gw_backend_dispose(&conf->accounts[2].upstream);
    gw_backend_dispose(&conf->accounts[0].upstream);
    free(conf->accounts[0].backend);
    conf->accounts[0].backend = strdup("http://h:0");

    gw_keyring_t *kr = gw_keyring_build(NULL, conf, 1, err, sizeof(err));
    if (kr == NULL)
        fail_msg("%s", err);
    assert_int_equal(gw_keyring_num_accounts(kr), 3);
    const gw_keyring_account_t *alpha = gw_keyring_account_at(kr, 0), *mid = gw_keyring_account_at(kr, 1),
                               *zeta = gw_keyring_account_at(kr, 2);
    assert_string_equal(alpha->name, "alpha");
    assert_non_null(alpha->upstream);
    assert_true(alpha->upstream->tls);
    assert_string_equal(alpha->upstream->authority, "[::1]:8443");
    assert_string_equal(alpha->backend_error, "");
    assert_string_equal(mid->name, "mid");
    assert_non_null(mid->upstream);
    assert_string_equal(mid->upstream->host, "example.com");
    assert_int_equal(mid->upstream->port, 80);
    assert_string_equal(zeta->name, "zeta");
    assert_null(zeta->upstream);
    assert_string_equal(zeta->backend, "http://h:0");
    assert_string_equal(zeta->backend_error, "has port 0");
    gw_keyring_release(kr);
    gw_config_free(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_the_parts),
        cmocka_unit_test(hands_h2o_what_h2o_url_parse_made),
        cmocka_unit_test(refuses_bad_urls),
        cmocka_unit_test(copies_are_independent),
        cmocka_unit_test(keyring_carries_parsed_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
