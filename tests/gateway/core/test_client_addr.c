/*
 * Tests gateway/core/client_addr.c: the X-Forwarded-For walk behind trusted
 * proxies that the proxy, the issuer and the failed-authentication limiter
 * share, malformed hops, and the per-client keys (IPv6 by /64).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "sasgw/core/client_addr.h"
#include "sasgw/core/config.h"

static const char conf_text[] = "vault: { path: v.db }\n"
                                "policy: p.yaml\n"
                                "proxy:\n"
                                "  listen: [{ address: 127.0.0.1, port: 1 }]\n"
                                "  public_base_url: http://127.0.0.1:1\n"
                                "  trusted_proxies: [10.0.0.0/8, \"::1\"]\n";

static int setup(void **state)
{
    char err[256];
    gw_config_t *conf = gw_config_parse("t.yaml", conf_text, sizeof(conf_text) - 1, err, sizeof(err));
    if (conf == NULL)
        fail_msg("%s", err);
    *state = conf;
    return 0;
}

static int teardown(void **state)
{
    gw_config_free(*state);
    return 0;
}

/* The client of a request from peer (an address text) with this X-Forwarded-For ("" into out when unknown). */
static int client_of(const gw_config_t *conf, const char *peer, const char *xff, char *out)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(peer, ':') != NULL) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, peer, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
    } else {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, peer, &((struct sockaddr_in *)&ss)->sin_addr), 1);
    }
    sas_ip_t ip;
    out[0] = '\0';
    int rc = gw_client_addr(conf, (struct sockaddr *)&ss, xff, xff != NULL ? strlen(xff) : 0, &ip);
    if (rc == 0)
        gw_client_addr_format(&ip, out);
    return rc;
}

static void untrusted_peer_ignores_xff(void **state)
{
    char text[GW_CLIENT_ADDR_TEXT_MAX];
    assert_int_equal(client_of(*state, "127.0.0.1", "1.2.3.4", text), 0);
    assert_string_equal(text, "127.0.0.1");
    assert_int_equal(client_of(*state, "127.0.0.1", "garbage", text), 0);
    assert_string_equal(text, "127.0.0.1");
    /* no configuration: no proxy is trusted */
    sas_ip_t ip;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
    assert_int_equal(gw_client_addr(NULL, (struct sockaddr *)&sin, "1.2.3.4", 7, &ip), 0);
    gw_client_addr_format(&ip, text);
    assert_string_equal(text, "10.1.2.3");
    /* an unknown peer */
    assert_int_equal(gw_client_addr(*state, NULL, NULL, 0, &ip), -1);
}

static void trusted_peer_walks_from_the_right(void **state)
{
    char text[GW_CLIENT_ADDR_TEXT_MAX];
    /* the right-most untrusted hop */
    assert_int_equal(client_of(*state, "10.1.2.3", "9.9.9.9, 1.2.3.4, 10.0.0.7", text), 0);
    assert_string_equal(text, "1.2.3.4");
    /* all trusted: the left-most */
    assert_int_equal(client_of(*state, "10.1.2.3", "10.0.0.1,10.0.0.2", text), 0);
    assert_string_equal(text, "10.0.0.1");
    /* absent or empty: the peer */
    assert_int_equal(client_of(*state, "10.1.2.3", NULL, text), 0);
    assert_string_equal(text, "10.1.2.3");
    assert_int_equal(client_of(*state, "10.1.2.3", "", text), 0);
    assert_string_equal(text, "10.1.2.3");
    /* an IPv6 trusted peer, an IPv4-mapped hop */
    assert_int_equal(client_of(*state, "::1", "::ffff:192.0.2.7", text), 0);
    assert_string_equal(text, "192.0.2.7");
    /* ports and brackets */
    assert_int_equal(client_of(*state, "10.1.2.3", "[2001:db8::1]:443, 5.6.7.8:80", text), 0);
    assert_string_equal(text, "5.6.7.8");
    assert_int_equal(client_of(*state, "10.1.2.3", " [2001:db8::1]:443 ", text), 0);
    assert_string_equal(text, "2001:db8::1");
    assert_int_equal(client_of(*state, "10.1.2.3", "[2001:db8::2]", text), 0);
    assert_string_equal(text, "2001:db8::2");
}

/* Two header lines arrive joined (gw_client_addr_forwarded_for): the last line's hop is the proxy's, not the first line's. */
static void joined_lines_are_one_list(void **state)
{
    char text[GW_CLIENT_ADDR_TEXT_MAX];
    /* the client sent "10.9.9.9" itself; the trusted proxy appended its peer on a second line */
    assert_int_equal(client_of(*state, "10.1.2.3", "10.9.9.9, 203.0.113.5", text), 0);
    assert_string_equal(text, "203.0.113.5");
}

static void malformed_hops(void **state)
{
    static const char *const bad[] = {
        "1.2.3.4, garbage", "garbage",          ",",
        "1.2.3.4,",         "[2001:db8::1",     "[2001:db8::1]x",
        "[2001:db8::1]:",   "[2001:db8::1]:8a", "1.2.3.4:80:90x",
        "999.1.1.1",        "1.2.3.4 5.6.7.8",  "0123456789012345678901234567890123456789012345678901234567890123456789",
    };
    char text[GW_CLIENT_ADDR_TEXT_MAX];
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); i++) {
        if (client_of(*state, "10.1.2.3", bad[i], text) != -1)
            fail_msg("'%s' gave %s", bad[i], text);
    }
    /* garbage left of the client's hop is never reached */
    assert_int_equal(client_of(*state, "10.1.2.3", "garbage, 1.2.3.4", text), 0);
    assert_string_equal(text, "1.2.3.4");
}

static void client_keys(void **state)
{
    sas_ip_t a, b;
    char text[GW_CLIENT_ADDR_TEXT_MAX];
    assert_int_equal(sas_ip_parse(&a, "127.0.0.1", 9), 0);
    assert_int_equal(sas_ip_parse(&b, "127.0.0.2", 9), 0);
    assert_int_not_equal(gw_client_key(&a), gw_client_key(&b));
    gw_client_key_format(gw_client_key(&a), text);
    assert_string_equal(text, "127.0.0.1");
    /* IPv6: one key per /64 */
    assert_int_equal(sas_ip_parse(&a, "2001:db8:1:2::1", 15), 0);
    assert_int_equal(sas_ip_parse(&b, "2001:db8:1:2:ffff::9", 20), 0);
    assert_int_equal(gw_client_key(&a), gw_client_key(&b));
    gw_client_key_format(gw_client_key(&a), text);
    assert_string_equal(text, "2001:db8:1:2::/64");
    assert_int_equal(sas_ip_parse(&b, "2001:db8:1:3::1", 15), 0);
    assert_int_not_equal(gw_client_key(&a), gw_client_key(&b));
    /* ::1 (the /64 of zeros) and 0.0.0.0 differ, and neither is 0 */
    assert_int_equal(sas_ip_parse(&a, "::1", 3), 0);
    assert_int_equal(sas_ip_parse(&b, "0.0.0.0", 7), 0);
    assert_int_not_equal(gw_client_key(&a), 0);
    assert_int_not_equal(gw_client_key(&a), gw_client_key(&b));
    gw_client_key_format(gw_client_key(&a), text);
    assert_string_equal(text, "::/64");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(untrusted_peer_ignores_xff),
        cmocka_unit_test(trusted_peer_walks_from_the_right),
        cmocka_unit_test(joined_lines_are_one_list),
        cmocka_unit_test(malformed_hops),
        cmocka_unit_test(client_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
