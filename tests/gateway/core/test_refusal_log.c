/*
 * Tests gateway/core/refusal_log.c: refusals coalesced per client and reason
 * into one record with count, first and last; clients beyond the table
 * counted under "*"; nothing lost at flush or at destroy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/core/client_addr.h"
#include "refusal_log.h"

struct seen {
    size_t n;
    struct {
        char client[64], reason[256], object[64], first[32], last[32];
        uint64_t count;
    } recs[GW_REFUSAL_LOG_ENTRIES + 16];
};

static void on_record(const vault_audit_record_t *rec, void *data)
{
    struct seen *s = data;
    assert_true(s->n < sizeof(s->recs) / sizeof(s->recs[0]));
    assert_string_equal(rec->principal, "anonymous");
    assert_string_equal(rec->op, "auth");
    assert_string_equal(rec->result, "refused");
    snprintf(s->recs[s->n].client, sizeof(s->recs[s->n].client), "%s", rec->client != NULL ? rec->client : "(none)");
    snprintf(s->recs[s->n].reason, sizeof(s->recs[s->n].reason), "%s", rec->reason);
    snprintf(s->recs[s->n].object, sizeof(s->recs[s->n].object), "%s", rec->object);
    snprintf(s->recs[s->n].first, sizeof(s->recs[s->n].first), "%s", rec->first);
    snprintf(s->recs[s->n].last, sizeof(s->recs[s->n].last), "%s", rec->last);
    s->recs[s->n].count = rec->count;
    s->n++;
}

static uint64_t key_of(const char *text)
{
    sas_ip_t ip;
    assert_int_equal(sas_ip_parse(&ip, text, strlen(text)), 0);
    return gw_client_key(&ip);
}

static void coalesces_per_client_and_reason(void **state)
{
    struct seen *s = calloc(1, sizeof(*s));
    char err[128];
    gw_refusal_log_t *log = gw_refusal_log_create(3600, on_record, s, err, sizeof(err));
    assert_non_null(log);
    uint64_t a = key_of("192.0.2.1"), b = key_of("2001:db8::7");
    for (int i = 0; i != 300; i++)
        gw_refusal_log_add(log, a, GW_REFUSAL_REJECTED, "/v1/sas", i == 0 ? "unknown client id or wrong secret" : "other words",
                           "req-1", 1767225600 + i / 100);
    gw_refusal_log_add(log, a, GW_REFUSAL_RATE_LIMITED, "/v1/sas", NULL, "req-2", 1767225600);
    gw_refusal_log_add(log, b, GW_REFUSAL_NO_CREDENTIALS, "/v1/accounts", NULL, NULL, 1767225600);
    gw_refusal_log_add(log, 0, GW_REFUSAL_MALFORMED, "/v1/sas", NULL, NULL, 1767225600);
    assert_int_equal(s->n, 0); /* nothing before the interval ends */
    gw_refusal_log_flush(log);
    assert_int_equal(s->n, 4);
    assert_string_equal(s->recs[0].client, "192.0.2.1");
    assert_int_equal(s->recs[0].count, 300);
    assert_string_equal(s->recs[0].reason, "credentials rejected (first: unknown client id or wrong secret)");
    assert_string_equal(s->recs[0].object, "/v1/sas");
    assert_string_equal(s->recs[0].first, "2026-01-01T00:00:00Z");
    assert_string_equal(s->recs[0].last, "2026-01-01T00:00:02Z");
    assert_int_equal(s->recs[1].count, 1);
    assert_string_equal(s->recs[1].reason, "too many failed authentications from this client");
    assert_string_equal(s->recs[2].client, "2001:db8::/64");
    assert_string_equal(s->recs[2].object, "/v1/accounts");
    assert_string_equal(s->recs[3].client, "(none)");
    /* a new interval starts empty */
    gw_refusal_log_flush(log);
    assert_int_equal(s->n, 4);
    gw_refusal_log_add(log, a, GW_REFUSAL_REJECTED, "/v1/sas", "x", NULL, 1767225700);
    gw_refusal_log_destroy(log); /* emits what is left */
    assert_int_equal(s->n, 5);
    assert_int_equal(s->recs[4].count, 1);
    free(s);
}

static void clients_beyond_the_table_go_to_one_entry(void **state)
{
    struct seen *s = calloc(1, sizeof(*s));
    char err[128];
    gw_refusal_log_t *log = gw_refusal_log_create(3600, on_record, s, err, sizeof(err));
    uint64_t total = 3 * GW_REFUSAL_LOG_ENTRIES;
    for (uint32_t i = 0; i != total; i++) {
        sas_ip_t ip = {.family = 4, .addr = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i}};
        gw_refusal_log_add(log, gw_client_key(&ip), GW_REFUSAL_REJECTED, "/v1/sas", "d", NULL, 1767225600);
    }
    gw_refusal_log_flush(log);
    assert_true(s->n <= GW_REFUSAL_LOG_ENTRIES + 1);
    uint64_t sum = 0;
    int star = 0;
    for (size_t i = 0; i != s->n; i++) {
        sum += s->recs[i].count;
        star += strcmp(s->recs[i].client, "*") == 0;
    }
    assert_int_equal(sum, total);
    assert_int_equal(star, 1);
    gw_refusal_log_destroy(log);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coalesces_per_client_and_reason),
        cmocka_unit_test(clients_beyond_the_table_go_to_one_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
