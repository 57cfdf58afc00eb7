/* Tests gateway/core/http.c: route patterns and parameter decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/core/http.h"

static int match(const char *pattern, const char *path, h2o_mem_pool_t *pool, gw_route_match_t *m)
{
    return gw_route_match(pattern, path, strlen(path), pool, m);
}

static void matches_routes(void **state)
{
    h2o_mem_pool_t pool;
    gw_route_match_t m;
    h2o_mem_init_pool(&pool);

    assert_true(match("/", "/", &pool, &m));
    assert_false(match("/", "/x", &pool, &m));
    assert_true(match("/healthz", "/healthz", &pool, &m));
    assert_int_equal(m.num_params, 0);
    assert_false(match("/healthz", "/healthz/", &pool, &m));
    assert_false(match("/healthz", "/health", &pool, &m));
    assert_false(match("/healthz", "/healthzz", &pool, &m));
    assert_true(match("/v1/accounts/{account}/keys/{slot}", "/v1/accounts/devstoreaccount1/keys/key2", &pool, &m));
    assert_int_equal(m.num_params, 2);
    assert_string_equal(gw_route_param(&m, "account").base, "devstoreaccount1");
    assert_string_equal(gw_route_param(&m, "slot").base, "key2");
    assert_null(gw_route_param(&m, "nope").base);
    assert_false(match("/v1/accounts/{account}/keys/{slot}", "/v1/accounts//keys/key2", &pool, &m));
    assert_false(match("/v1/accounts/{account}/keys/{slot}", "/v1/accounts/a/keys", &pool, &m));
    assert_false(match("/v1/accounts/{account}/keys/{slot}", "/v1/accounts/a/keys/b/c", &pool, &m));

    /* parameters are percent-decoded, and unsafe ones refused */
    assert_true(match("/v1/secrets/{name}", "/v1/secrets/a%20b%C3%A9", &pool, &m));
    assert_string_equal(gw_route_param(&m, "name").base, "a b\xc3\xa9");
    assert_false(match("/v1/secrets/{name}", "/v1/secrets/a%2Fb", &pool, &m));
    assert_false(match("/v1/secrets/{name}", "/v1/secrets/..", &pool, &m));
    assert_false(match("/v1/secrets/{name}", "/v1/secrets/%2e%2e", &pool, &m));
    assert_false(match("/v1/secrets/{name}", "/v1/secrets/a%00", &pool, &m));
    assert_false(match("/v1/secrets/{name}", "/v1/secrets/a%2", &pool, &m));
    assert_false(match("/v1/secrets/{name}", "/v1/secrets/a%zz", &pool, &m));
    h2o_mem_clear_pool(&pool);
}

static void checks_patterns(void **state)
{
    assert_int_equal(gw_route_pattern_check("/"), 0);
    assert_int_equal(gw_route_pattern_check("/v1/sas"), 0);
    assert_int_equal(gw_route_pattern_check("/v1/{a}/{b}"), 0);
    assert_int_equal(gw_route_pattern_check("v1"), -1);
    assert_int_equal(gw_route_pattern_check("/v1/"), -1);
    assert_int_equal(gw_route_pattern_check("/v1//x"), -1);
    assert_int_equal(gw_route_pattern_check("/{}"), -1);
    assert_int_equal(gw_route_pattern_check("/{a"), -1);
    assert_int_equal(gw_route_pattern_check("/a{b}"), -1);
    assert_int_equal(gw_route_pattern_check("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}"), -1);
    assert_string_equal(gw_http_reason(413), "Payload Too Large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_routes),
        cmocka_unit_test(checks_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
