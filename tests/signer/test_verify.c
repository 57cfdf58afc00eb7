/*
 * Tests sas_verify() as the proxy drives it: the client address looked up
 * only for a token with sip, the stored access policy through the lookup,
 * the copy-source check between steps 6 and 7 and only for a request naming
 * one, the string to sign written only on a signature mismatch, and the
 * grant (permissions, window, matched key, operation) on success.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

/* What the callbacks saw and answer. */
struct probe {
    int addr_calls, policy_calls, source_calls;
    const char *client;         /* the address client_addr finds; NULL: unknown */
    const sas_policy_t *policy; /* what the lookup finds; NULL: none */
    sas_reason_t source;        /* what the copy-source check answers */
    char si[16];                /* the si the lookup was asked for */
};

static int on_addr(void *data, sas_ip_t *out)
{
    struct probe *p = data;
    p->addr_calls++;
    return p->client != NULL && sas_ip_parse(out, p->client, strlen(p->client)) == 0 ? 0 : -1;
}

static int on_policy(void *data, const sas_resource_t *res, const char *si, size_t si_len, sas_policy_t *out)
{
    struct probe *p = data;
    p->policy_calls++;
    snprintf(p->si, sizeof(p->si), "%.*s", (int)si_len, si);
    if (p->policy == NULL)
        return -1;
    *out = *p->policy;
    return 0;
}

static sas_reason_t on_source(void *data, sas_error_t *err)
{
    struct probe *p = data;
    p->source_calls++;
    if (p->source != SAS_OK && err != NULL) {
        err->reason = p->source;
        snprintf(err->message, sizeof(err->message), "copy source refused");
    }
    return p->source;
}

/* The token of a test: a blob SAS on /acct/c1/a.txt, valid through January 2026, with what m adds. */
static void base_mint(sas_mint_t *m)
{
    memset(m, 0, sizeof(*m));
    m->account = "acct";
    m->container = "c1";
    m->blob = "a.txt";
    m->permissions = "rw";
    m->expiry = "2026-02-01T00:00:00Z";
}

/* One verification. */
struct run {
    sas_token_t tok;
    sas_resource_t res;
    sas_verify_ctx_t ctx;
    struct probe probe;
    const sas_key_t *keys[2];
    sas_grant_t grant;
    sas_error_t err;
    char sts[SAS_MAX_STS];
};

/* Mints *m with test_key(), parses it against path and sets r->ctx up as the proxy does (every callback, the sts buffer). */
static void setup_run(struct run *r, const sas_mint_t *m, const char *path)
{
    char query[SAS_MAX_QUERY];
    sas_error_t err;
    memset(r, 0, sizeof(*r));
    assert_int_equal(sas_mint(m, test_key(), query, sizeof(query), NULL, 0, NULL, &err), SAS_OK);
    assert_int_equal(sas_token_parse(&r->tok, query, strlen(query), &err), SAS_OK);
    assert_int_equal(sas_resource_from_path(&r->res, path, strlen(path), &r->tok, &err), SAS_OK);
    r->keys[0] = test_key();
    r->keys[1] = test_key();
    sas_verify_ctx_init(&r->ctx);
    r->ctx.now = T("2026-01-01T00:00:00Z");
    r->ctx.keys = r->keys;
    r->ctx.nkeys = 1;
    r->ctx.client_addr = on_addr;
    r->ctx.lookup_policy = on_policy;
    r->ctx.check_source = on_source;
    r->ctx.data = &r->probe;
    r->ctx.sts = r->sts;
    r->ctx.sts_cap = sizeof(r->sts);
    r->probe.client = "10.0.0.1";
    memset(r->sts, 'x', sizeof(r->sts) - 1); /* untouched unless written */
}

static sas_reason_t run(struct run *r)
{
    return sas_verify(&r->ctx, &r->tok, &r->res, &r->grant, &r->err);
}

static void client_address_only_for_sip(void **state)
{
    static struct run r;
    sas_mint_t m;

    /* no sip: never looked up */
    base_mint(&m);
    setup_run(&r, &m, "/acct/c1/a.txt");
    assert_int_equal(run(&r), SAS_OK);
    assert_int_equal(r.probe.addr_calls, 0);

    /* sip: looked up once, and matched */
    m.ip = "10.0.0.0-10.0.0.255";
    setup_run(&r, &m, "/acct/c1/a.txt");
    assert_int_equal(run(&r), SAS_OK);
    assert_int_equal(r.probe.addr_calls, 1);

    /* an address outside sip */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.probe.client = "10.0.1.1";
    assert_int_equal(run(&r), SAS_R_IP_MISMATCH);
    assert_string_equal(r.err.message, "client address 10.0.1.1 not allowed by sip=10.0.0.0-10.0.0.255");

    /* the address cannot be found: refused as unknown */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.probe.client = NULL;
    assert_int_equal(run(&r), SAS_R_IP_MISMATCH);
    assert_int_equal(r.probe.addr_calls, 1);
    assert_string_equal(r.err.message, "client address unknown not allowed by sip=10.0.0.0-10.0.0.255");

    /* a given client_ip wins over the callback */
    sas_ip_t ip;
    setup_run(&r, &m, "/acct/c1/a.txt");
    assert_int_equal(sas_ip_parse(&ip, "10.0.0.9", 8), 0);
    r.ctx.client_ip = &ip;
    r.probe.client = "192.168.0.1";
    assert_int_equal(run(&r), SAS_OK);
    assert_int_equal(r.probe.addr_calls, 0);

    /* a refusal before step 6 never looks it up */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.now = T("2026-03-01T00:00:00Z");
    assert_int_equal(run(&r), SAS_R_EXPIRED);
    assert_int_equal(r.probe.addr_calls, 0);

    /* no callback and no client_ip: unknown */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.client_addr = NULL;
    assert_int_equal(run(&r), SAS_R_IP_MISMATCH);
}

static void policy_through_lookup(void **state)
{
    static struct run r;
    sas_mint_t m;
    sas_policy_t p = {.start = SAS_TIME_NONE, .expiry = T("2026-01-15T00:00:00Z"), .permissions = SAS_PERM('r')};

    /* no si: never looked up */
    base_mint(&m);
    setup_run(&r, &m, "/acct/c1/a.txt");
    assert_int_equal(run(&r), SAS_OK);
    assert_int_equal(r.probe.policy_calls, 0);

    /* si: the lookup's policy supplies expiry and limits permissions */
    base_mint(&m);
    m.permissions = NULL;
    m.expiry = NULL;
    m.identifier = "pol1";
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.probe.policy = &p;
    assert_int_equal(run(&r), SAS_OK);
    assert_int_equal(r.probe.policy_calls, 1);
    assert_string_equal(r.probe.si, "pol1");
    assert_int_equal(r.grant.perms, SAS_PERM('r'));
    assert_true(r.grant.expiry == p.expiry);

    /* the lookup finds nothing */
    setup_run(&r, &m, "/acct/c1/a.txt");
    assert_int_equal(run(&r), SAS_R_POLICY_NOT_FOUND);
    assert_string_equal(r.err.message, "stored access policy pol1 not found");

    /* no lookup at all: not found either */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.lookup_policy = NULL;
    assert_int_equal(run(&r), SAS_R_POLICY_NOT_FOUND);
}

static void copy_source_between_network_and_operation(void **state)
{
    static struct run r;
    sas_mint_t m;
    base_mint(&m);
    m.permissions = "r";

    /* no copy source in the request: never called */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.method = SAS_METHOD_PUT;
    assert_int_equal(run(&r), SAS_R_PERMISSION_MISMATCH);
    assert_int_equal(r.probe.source_calls, 0);

    /* its refusal comes before step 7's (PUT with sp=r would be refused there) */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.method = SAS_METHOD_PUT;
    r.ctx.req_flags = SAS_REQ_COPY_SOURCE;
    r.probe.source = SAS_R_OPERATION_NOT_ALLOWED;
    assert_int_equal(run(&r), SAS_R_OPERATION_NOT_ALLOWED);
    assert_int_equal(r.probe.source_calls, 1);
    assert_string_equal(r.err.message, "copy source refused");

    /* accepted, step 7 still decides */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.method = SAS_METHOD_PUT;
    r.ctx.req_flags = SAS_REQ_COPY_SOURCE;
    assert_int_equal(run(&r), SAS_R_PERMISSION_MISMATCH);
    assert_int_equal(r.probe.source_calls, 1);

    /* a refusal at step 6 comes first: never called */
    m.protocol = "https";
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.method = SAS_METHOD_PUT;
    r.ctx.req_flags = SAS_REQ_COPY_SOURCE;
    r.ctx.is_https = 0;
    r.probe.source = SAS_R_OPERATION_NOT_ALLOWED;
    assert_int_equal(run(&r), SAS_R_PROTOCOL_MISMATCH);
    assert_int_equal(r.probe.source_calls, 0);

    /* no callback: the caller's to check */
    base_mint(&m);
    m.permissions = "w";
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.method = SAS_METHOD_PUT;
    r.ctx.req_flags = SAS_REQ_COPY_SOURCE;
    r.ctx.check_source = NULL;
    assert_int_equal(run(&r), SAS_OK);
    assert_string_equal(r.grant.op->name, "Copy Blob or Put Blob From URL");
}

static void string_to_sign_on_mismatch_only(void **state)
{
    static struct run r;
    static char want[SAS_MAX_STS];
    sas_mint_t m;
    sas_key_t other;
    const sas_key_t *wrong[1] = {&other};
    base_mint(&m);
    sas_key_init(&other, (const uint8_t *)"another key", 11);

    /* a mismatch writes the string the signature was checked against */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.keys = wrong;
    assert_int_equal(run(&r), SAS_R_SIGNATURE_MISMATCH);
    long n = sas_string_to_sign(&r.tok, &r.res, want, sizeof(want));
    assert_true(n > 0);
    assert_int_equal(strlen(r.sts), (size_t)n);
    assert_string_equal(r.sts, want);

    /* a blob the token does not name is a mismatch too, over that blob's string to sign */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.res.blob.base = "b.txt"; /* as if the path had named another blob: the token still covers "a.txt" only */
    r.res.blob.len = 5;
    assert_int_equal(run(&r), SAS_R_SIGNATURE_MISMATCH);
    assert_non_null(strstr(r.sts, "/blob/acct/c1/b.txt\n"));

    /* other outcomes leave the buffer alone */
    setup_run(&r, &m, "/acct/c1/a.txt");
    assert_int_equal(run(&r), SAS_OK);
    assert_int_equal(r.sts[0], 'x');
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.now = T("2026-03-01T00:00:00Z");
    assert_int_equal(run(&r), SAS_R_EXPIRED);
    assert_int_equal(r.sts[0], 'x');
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.nkeys = 0;
    assert_int_equal(run(&r), SAS_R_NO_KEY);
    assert_int_equal(r.sts[0], 'x');

    /* no buffer: nothing written, same reason */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.keys = wrong;
    r.ctx.sts = NULL;
    assert_int_equal(run(&r), SAS_R_SIGNATURE_MISMATCH);
    assert_int_equal(r.sts[0], 'x');

    /* a buffer too small for it: left empty, never a prefix */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.keys = wrong;
    r.ctx.sts_cap = 8;
    assert_int_equal(run(&r), SAS_R_SIGNATURE_MISMATCH);
    assert_string_equal(r.sts, "");
    sas_key_dispose(&other);
}

static void grant_names_key_and_operation(void **state)
{
    static struct run r;
    sas_mint_t m;
    sas_key_t other;
    base_mint(&m);
    sas_key_init(&other, (const uint8_t *)"another key", 11);

    /* the second key version matched */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.keys[0] = &other;
    r.ctx.nkeys = 2;
    r.ctx.method = SAS_METHOD_PUT;
    assert_int_equal(run(&r), SAS_OK);
    assert_int_equal(r.grant.key_index, 1);
    assert_non_null(r.grant.op);
    assert_string_equal(r.grant.op->name, "Put Blob");
    assert_int_equal(r.grant.perms, SAS_PERM('r') | SAS_PERM('w'));
    assert_true(r.grant.start == SAS_TIME_NONE);
    assert_true(r.grant.expiry == T("2026-02-01T00:00:00Z"));
    assert_int_equal(r.err.reason, SAS_OK);
    assert_string_equal(r.err.message, "");

    /* a refusal leaves *grant alone */
    setup_run(&r, &m, "/acct/c1/a.txt");
    r.ctx.method = SAS_METHOD_DELETE;
    memset(&r.grant, 0xa5, sizeof(r.grant));
    assert_int_equal(run(&r), SAS_R_PERMISSION_MISMATCH);
    assert_int_equal(r.grant.key_index, (size_t)0xa5a5a5a5a5a5a5a5ull);

    /* grant and err may be NULL */
    setup_run(&r, &m, "/acct/c1/a.txt");
    assert_int_equal(sas_verify(&r.ctx, &r.tok, &r.res, NULL, NULL), SAS_OK);
    r.ctx.method = SAS_METHOD_DELETE;
    r.ctx.req_flags = SAS_REQ_COPY_SOURCE;
    r.probe.source = SAS_R_OPERATION_NOT_ALLOWED;
    assert_int_equal(sas_verify(&r.ctx, &r.tok, &r.res, NULL, NULL), SAS_R_OPERATION_NOT_ALLOWED);
    sas_key_dispose(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_address_only_for_sip),
        cmocka_unit_test(policy_through_lookup),
        cmocka_unit_test(copy_source_between_network_and_operation),
        cmocka_unit_test(string_to_sign_on_mismatch_only),
        cmocka_unit_test(grant_names_key_and_operation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
