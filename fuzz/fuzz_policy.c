/*
 * fuzz_policy.c - libFuzzer target: the input is a policy.yaml, loaded from
 * memory with key paths relative to conf/ (run from the source tree's root).
 * A policy that loads is then exercised: every principal decides a few
 * requests and is asked for every capability. Invariants: a failed load
 * always says why, with a file:line:column prefix for anything inside the
 * file; decisions always carry a rule and a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../policy/internal.h" /* the principals, to exercise policy_decide() on each */
#include "sasgw/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static void exercise(const policy_principal_t *pr)
{
    static const policy_request_t reqs[] = {
        {.account = "devstoreaccount1", .container = "demo", .blob = "users/p/x", .permissions = "r", .ttl = 60},
        {.account = "devstoreaccount1",
         .container = "demo",
         .permissions = "rl",
         .ttl = 3600,
         .protocol = "https,http",
         .client_ip = "127.0.0.1"},
        {.account = "acct1",
         .container = "c01",
         .blob = "a\\b/c",
         .permissions = "racwdxyltfmeopi",
         .ttl = 1,
         .client_ip = "2001:db8::1"},
        {.kind = POLICY_SAS_ACCOUNT,
         .account = "devstoreaccount1",
         .permissions = "rlu",
         .services = "b",
         .resource_types = "sco",
         .ttl = 900,
         .protocol = "https",
         .client_ip = "10.0.0.1"},
    };
    policy_decision_t d;
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        int rc = policy_decide(pr, &reqs[i], &d);
        check(rc == (d.granted ? 0 : -1), "decide: return value and granted agree");
        check(d.rule[0] != '\0' && strncmp(d.message, d.rule, strlen(d.rule)) == 0, "decide: rule and message");
        check(!d.granted || d.protocol != NULL, "decide: a grant names the protocol");
    }
    for (size_t i = 0; i < POLICY_CAPABILITY_COUNT; i++)
        (void)policy_principal_can(pr, policy_capabilities[i]);
    check(!policy_principal_can(pr, "no.such"), "can: unknown capability");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    err[0] = '\0';
    policy_t *p = policy_load_buffer("fuzz.yaml", "conf", (const char *)data, size, err, sizeof(err));
    if (p == NULL) {
        check(err[0] != '\0', "a failed load says why");
        check(strncmp(err, "fuzz.yaml:", 10) == 0, "errors name the file");
        return 0;
    }
    for (size_t i = 0; i < p->nprincipals; i++)
        exercise(&p->principals[i]);
    /* Basic with a known name and a wrong secret never authenticates */
    const policy_principal_t *pr = NULL;
    check(policy_authenticate(p, "Basic ZGVtby1hcHA6d3Jvbmc=", 0, &pr, err, sizeof(err)) == -1 && pr == NULL, "wrong secret");
    policy_release(policy_retain(p));
    policy_release(p);
    return 0;
}
