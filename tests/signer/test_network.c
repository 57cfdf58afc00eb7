/*
 * Tests step 6: spr against the request's scheme and sip (one address or a
 * range, IPv4 or IPv6) against the client address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

static sas_reason_t with(const char *protocol, const char *ip, int is_https, const char *client, sas_error_t *err)
{
    sas_mint_t m;
    req_t r;
    char query[SAS_MAX_QUERY];
    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.container = "c1";
    m.blob = "a.txt";
    m.permissions = "r";
    m.expiry = "2026-02-01T00:00:00Z";
    m.protocol = protocol;
    m.ip = ip;
    req_init(&r);
    r.path = "/acct/c1/a.txt";
    r.is_https = is_https;
    r.client_ip = client;
    return mint_verify(&m, &r, NULL, query, sizeof(query), err);
}

static void protocol(void **state)
{
    sas_error_t err;
    assert_int_equal(with("https", NULL, 1, NULL, &err), SAS_OK);
    assert_int_equal(with("https", NULL, 0, NULL, &err), SAS_R_PROTOCOL_MISMATCH);
    assert_string_equal(err.message, "spr=https but the request came over http");
    assert_string_equal(sas_reason_azure_code(err.reason), "AuthorizationProtocolMismatch");
    assert_int_equal(with("https,http", NULL, 0, NULL, &err), SAS_OK);
    assert_int_equal(with("https,http", NULL, 1, NULL, &err), SAS_OK);
    assert_int_equal(with(NULL, NULL, 0, NULL, &err), SAS_OK);
}

static void ipv4(void **state)
{
    sas_error_t err;
    assert_int_equal(with(NULL, "10.0.0.1", 1, "10.0.0.1", &err), SAS_OK);
    assert_int_equal(with(NULL, "10.0.0.1", 1, "10.0.0.2", &err), SAS_R_IP_MISMATCH);
    assert_string_equal(err.message, "client address 10.0.0.2 not allowed by sip=10.0.0.1");
    assert_string_equal(sas_reason_azure_code(err.reason), "AuthorizationSourceIPMismatch");
    assert_int_equal(with(NULL, "192.168.0.1-192.168.0.255", 1, "192.168.0.1", &err), SAS_OK);
    assert_int_equal(with(NULL, "192.168.0.1-192.168.0.255", 1, "192.168.0.255", &err), SAS_OK);
    assert_int_equal(with(NULL, "192.168.0.1-192.168.0.255", 1, "192.168.0.77", &err), SAS_OK);
    assert_int_equal(with(NULL, "192.168.0.1-192.168.0.255", 1, "192.168.0.0", &err), SAS_R_IP_MISMATCH);
    assert_int_equal(with(NULL, "192.168.0.1-192.168.0.255", 1, "192.168.1.0", &err), SAS_R_IP_MISMATCH);
    assert_int_equal(with(NULL, "10.0.0.0-10.255.255.255", 1, "10.200.3.4", &err), SAS_OK);
    assert_int_equal(with(NULL, "10.0.0.0-10.255.255.255", 1, "11.0.0.0", &err), SAS_R_IP_MISMATCH);
    /* an IPv4-mapped IPv6 client is its IPv4 address */
    assert_int_equal(with(NULL, "10.0.0.1", 1, "::ffff:10.0.0.1", &err), SAS_OK);
    /* unknown client address */
    assert_int_equal(with(NULL, "10.0.0.1", 1, NULL, &err), SAS_R_IP_MISMATCH);
    assert_string_equal(err.message, "client address unknown not allowed by sip=10.0.0.1");
    /* an IPv6 client never matches an IPv4 sip */
    assert_int_equal(with(NULL, "10.0.0.1", 1, "2001:db8::1", &err), SAS_R_IP_MISMATCH);
    /* no sip: any client */
    assert_int_equal(with(NULL, NULL, 1, "203.0.113.9", &err), SAS_OK);
}

static void ipv6(void **state)
{
    sas_error_t err;
    assert_int_equal(with(NULL, "2001:db8::1", 1, "2001:db8::1", &err), SAS_OK);
    assert_int_equal(with(NULL, "2001:db8::1", 1, "2001:0db8:0000::0001", &err), SAS_OK);
    assert_int_equal(with(NULL, "2001:db8::1", 1, "2001:db8::2", &err), SAS_R_IP_MISMATCH);
    assert_string_equal(err.message, "client address 2001:db8::2 not allowed by sip=2001:db8::1");
    assert_int_equal(with(NULL, "2001:db8::-2001:db8::ffff", 1, "2001:db8::abcd", &err), SAS_OK);
    assert_int_equal(with(NULL, "2001:db8::-2001:db8::ffff", 1, "2001:db8::1:0", &err), SAS_R_IP_MISMATCH);
    assert_int_equal(with(NULL, "2001:db8::-2001:db8::ffff", 1, "10.0.0.1", &err), SAS_R_IP_MISMATCH);
}

static void range_parsing(void **state)
{
    sas_ip_range_t r;
    sas_ip_t ip;
    assert_int_equal(sas_ip_range_parse(&r, "1.2.3.4", 7), 0);
    assert_int_equal(r.lo.family, 4);
    assert_memory_equal(&r.lo, &r.hi, sizeof(r.lo));
    assert_int_equal(sas_ip_range_parse(&r, "1.2.3.4-1.2.3.4", 15), 0);
    assert_int_equal(sas_ip_range_parse(&r, "1.2.3.5-1.2.3.4", 15), -1);
    assert_int_equal(sas_ip_range_parse(&r, "::1-::", 6), -1);
    assert_int_equal(sas_ip_range_parse(&r, "-1.2.3.4", 8), -1);
    assert_int_equal(sas_ip_range_parse(&r, "1.2.3.4-1.2.3.9-1.2.3.10", 24), -1);
    assert_int_equal(sas_ip_parse(&ip, "1.2.3", 5), -1);
    assert_int_equal(sas_ip_parse(&ip, "01.2.3.4", 8), -1);
    assert_int_equal(sas_ip_parse(&ip, " 1.2.3.4", 8), -1);
    assert_int_equal(sas_ip_parse(&ip, "1.2.3.4\0", 8), -1);
    assert_int_equal(sas_ip_parse(&ip, "::ffff:1.2.3.4", 14), 0);
    assert_int_equal(ip.family, 4);
    assert_memory_equal(ip.addr, "\x01\x02\x03\x04", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(protocol),
        cmocka_unit_test(ipv4),
        cmocka_unit_test(ipv6),
        cmocka_unit_test(range_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
