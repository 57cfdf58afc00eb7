/*
 * Tests the lifetime of a policy: retain/release across threads, and the
 * reload pattern (a bad file leaves the old policy in force and usable).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "jwt_mint.h"

#define DEMO_APP "Basic ZGVtby1hcHA6ZGVtby1zZWNyZXQ="

static void retain_release(void **state)
{
    policy_t *p = test_demo_policy();
    assert_ptr_equal(policy_retain(p), p);
    policy_release(p);
    /* still alive: one reference left */
    const policy_principal_t *pr = NULL;
    char err[256];
    assert_int_equal(policy_authenticate_basic(p, DEMO_APP, &pr, err, sizeof(err)), 0);
    policy_release(p);
    policy_release(NULL);
}

static void *use_policy(void *arg)
{
    policy_t *p = arg;
    for (int i = 0; i < 200; i++) {
        const policy_principal_t *pr = NULL;
        char err[256];
        policy_t *mine = policy_retain(p);
        if (policy_authenticate_basic(mine, DEMO_APP, &pr, err, sizeof(err)) != 0)
            return (void *)1;
        policy_request_t r = {.account = "devstoreaccount1", .container = "demo", .blob = "x", .permissions = "r", .ttl = 60};
        policy_decision_t d;
        if (policy_decide(pr, &r, &d) != 0)
            return (void *)1;
        policy_release(mine);
    }
    policy_release(p);
    return NULL;
}

static void shared_between_threads(void **state)
{
    pthread_t t[4];
    policy_t *p = test_demo_policy();
    for (int i = 0; i < 4; i++) {
        policy_retain(p);
        assert_int_equal(pthread_create(&t[i], NULL, use_policy, p), 0);
    }
    /* the creator lets go first: the threads keep it alive */
    policy_release(p);
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
}

static void bad_reload_keeps_the_old_policy(void **state)
{
    policy_t *current = test_demo_policy();
    char err[512];
    /* a request in flight holds its own reference */
    policy_t *in_flight = policy_retain(current);

    policy_t *next = test_policy_from("principals:\n  demo-app: { auth: { basic: {} } }\n", err, sizeof(err));
    assert_null(next);
    assert_non_null(strstr(err, "test.yaml:2:"));
    /* keep current */
    const policy_principal_t *pr = NULL;
    assert_int_equal(policy_authenticate_basic(current, DEMO_APP, &pr, err, sizeof(err)), 0);

    /* a good reload swaps; the old one lives until the last request lets go */
    next = test_policy_from("roles: { r: { admin: [revoke] } }\n", err, sizeof(err));
    assert_non_null(next);
    policy_t *old = current;
    current = next;
    policy_release(old);
    assert_int_equal(policy_authenticate_basic(in_flight, DEMO_APP, &pr, err, sizeof(err)), 0);
    assert_string_equal(policy_principal_name(pr), "demo-app");
    policy_release(in_flight);
    assert_int_equal(policy_authenticate_basic(current, DEMO_APP, &pr, err, sizeof(err)), -1);
    policy_release(current);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(retain_release),
        cmocka_unit_test(shared_between_threads),
        cmocka_unit_test(bad_reload_keeps_the_old_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
