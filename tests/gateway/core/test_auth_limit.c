/*
 * Tests gateway/core/auth_limit.c: the fixed window per client, Retry-After,
 * clients kept apart (IPv6 by /64), bounded memory under many clients
 * (the most suspicious kept), and counts from several threads at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "auth_limit.h"
#include "sasgw/core/client_addr.h"

static uint64_t key_of(const char *text)
{
    sas_ip_t ip;
    assert_int_equal(sas_ip_parse(&ip, text, strlen(text)), 0);
    return gw_client_key(&ip);
}

static void limits_within_the_window(void **state)
{
    gw_auth_limit_t *l = gw_auth_limit_create(3, 60);
    uint64_t a = key_of("192.0.2.1"), b = key_of("192.0.2.2"), t = 1000;
    for (int i = 0; i != 3; i++) {
        assert_int_equal(gw_auth_limit_check(l, a, t), 0);
        gw_auth_limit_failed(l, a, t);
    }
    /* the limit reached: refused until the window opened at t ends */
    assert_int_equal(gw_auth_limit_check(l, a, t), 60);
    assert_int_equal(gw_auth_limit_check(l, a, t + 59), 1);
    assert_int_equal(gw_auth_limit_check(l, a, t + 60), 0);
    /* another client is not affected */
    assert_int_equal(gw_auth_limit_check(l, b, t), 0);
    /* a new window after the end */
    gw_auth_limit_failed(l, a, t + 60);
    assert_int_equal(gw_auth_limit_check(l, a, t + 61), 0);
    gw_auth_limit_failed(l, a, t + 61);
    gw_auth_limit_failed(l, a, t + 62);
    assert_int_equal(gw_auth_limit_check(l, a, t + 62), 58);
    gw_auth_limit_destroy(l);
}

static void ipv6_by_prefix_and_unknown_clients(void **state)
{
    gw_auth_limit_t *l = gw_auth_limit_create(1, 10);
    gw_auth_limit_failed(l, key_of("2001:db8:1:2::1"), 5);
    assert_int_equal(gw_auth_limit_check(l, key_of("2001:db8:1:2::ffff"), 5), 10);
    assert_int_equal(gw_auth_limit_check(l, key_of("2001:db8:1:3::1"), 5), 0);
    /* the key 0 (unknown) is never limited */
    gw_auth_limit_failed(l, 0, 5);
    gw_auth_limit_failed(l, 0, 5);
    assert_int_equal(gw_auth_limit_check(l, 0, 5), 0);
    gw_auth_limit_destroy(l);
    /* limit 0: no limit */
    l = gw_auth_limit_create(0, 10);
    for (int i = 0; i != 100; i++)
        gw_auth_limit_failed(l, key_of("192.0.2.1"), 5);
    assert_int_equal(gw_auth_limit_check(l, key_of("192.0.2.1"), 5), 0);
    gw_auth_limit_destroy(l);
}

/* Far more clients than slots, each failing once: an attacker over the limit stays refused. */
static void many_clients_evict_the_least_suspicious(void **state)
{
    gw_auth_limit_t *l = gw_auth_limit_create(5, 600);
    uint64_t attacker = key_of("198.51.100.1");
    for (int i = 0; i != 5; i++)
        gw_auth_limit_failed(l, attacker, 100);
    for (uint32_t i = 0; i != 4 * GW_AUTH_LIMIT_SLOTS; i++) {
        sas_ip_t ip = {.family = 4, .addr = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}};
        gw_auth_limit_failed(l, gw_client_key(&ip), 100);
    }
    assert_int_not_equal(gw_auth_limit_check(l, attacker, 101), 0);
    gw_auth_limit_destroy(l);
}

struct hammer {
    gw_auth_limit_t *l;
    uint64_t key;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i != 1000; i++)
        gw_auth_limit_failed(h->l, h->key, 50);
    return NULL;
}

/* Four threads counting one client: every failure counts (no slot is being claimed then). */
static void threads_count_together(void **state)
{
    gw_auth_limit_t *l = gw_auth_limit_create(4000, 600);
    struct hammer h = {l, key_of("203.0.113.4")};
    gw_auth_limit_failed(l, h.key, 50);
    pthread_t tids[4];
    for (int i = 0; i != 4; i++)
        assert_int_equal(pthread_create(&tids[i], NULL, hammer_main, &h), 0);
    for (int i = 0; i != 4; i++)
        pthread_join(tids[i], NULL);
    /* 4001 failures: over the limit of 4000; 3999 would not be */
    assert_int_not_equal(gw_auth_limit_check(l, h.key, 50), 0);
    gw_auth_limit_destroy(l);
    l = gw_auth_limit_create(4002, 600);
    h.l = l;
    gw_auth_limit_failed(l, h.key, 50);
    for (int i = 0; i != 4; i++)
        assert_int_equal(pthread_create(&tids[i], NULL, hammer_main, &h), 0);
    for (int i = 0; i != 4; i++)
        pthread_join(tids[i], NULL);
    assert_int_equal(gw_auth_limit_check(l, h.key, 50), 0);
    gw_auth_limit_failed(l, h.key, 50);
    assert_int_not_equal(gw_auth_limit_check(l, h.key, 50), 0);
    gw_auth_limit_destroy(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_within_the_window),
        cmocka_unit_test(ipv6_by_prefix_and_unknown_clients),
        cmocka_unit_test(many_clients_evict_the_least_suspicious),
        cmocka_unit_test(threads_count_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
