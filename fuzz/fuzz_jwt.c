/*
 * fuzz_jwt.c - libFuzzer target: the input is a bearer token (and, the same
 * bytes, an Authorization header value) presented to the demo policy
 * (conf/policy.yaml, run from the source tree's root) at a fixed time.
 * Invariants: success always yields a principal, failure never does and
 * always says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2023-11-14: the seed tokens are valid then (they expire in 2100) */
#define FUZZ_NOW 1700000000

static policy_t *demo;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static void load_demo(void)
{
    char err[512];
    if ((demo = policy_load("conf/policy.yaml", err, sizeof(err))) == NULL) {
        fprintf(stderr, "fuzz_jwt: run from the source tree's root: %s\n", err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const policy_principal_t *pr;
    char err[256];
    if (demo == NULL)
        load_demo();
    if (size > 2 * POLICY_MAX_TOKEN_LEN)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    pr = NULL;
    err[0] = '\0';
    if (policy_authenticate_bearer(demo, s, FUZZ_NOW, &pr, err, sizeof(err)) == 0)
        check(pr != NULL, "bearer: success yields a principal");
    else
        check(pr == NULL && err[0] != '\0', "bearer: failure says why");

    pr = NULL;
    err[0] = '\0';
    if (policy_authenticate(demo, s, FUZZ_NOW, &pr, err, sizeof(err)) == 0)
        check(pr != NULL, "header: success yields a principal");
    else
        check(pr == NULL && err[0] != '\0', "header: failure says why");
    free(s);
    return 0;
}
