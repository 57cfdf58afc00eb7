/*
 * Tests that a token stops verifying once anything it signs changes: each
 * signed field altered, removed or added, each bit of the signature flipped,
 * the resource changed, or the key not the account's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "helpers.h"

/* A blob SAS with every optional field. */
static void full_token(sas_mint_t *m)
{
    memset(m, 0, sizeof(*m));
    m->account = "acct";
    m->container = "photos";
    m->blob = "dir/cat.jpg";
    m->permissions = "rw";
    m->start = "2026-01-01T00:00:00Z";
    m->expiry = "2026-01-02T00:00:00Z";
    m->ip = "10.0.0.0-10.0.0.255";
    m->protocol = "https";
    m->encryption_scope = "scope-a";
    m->cache_control = "no-cache";
    m->content_disposition = "attachment";
    m->content_encoding = "gzip";
    m->content_language = "en";
    m->content_type = "text/plain";
}

static void base_req(req_t *r)
{
    req_init(r);
    r->path = "/acct/photos/dir/cat.jpg";
    r->now = T("2026-01-01T12:00:00Z");
    r->client_ip = "10.0.0.7";
}

/* Replaces (value != NULL), removes (value == NULL) or appends a parameter of a query. */
static void edit(const char *query, const char *name, const char *value, char *out, size_t cap)
{
    size_t n = strlen(name), o = 0;
    int found = 0;
    out[0] = '\0';
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        int match = (size_t)(end - p) > n && strncmp(p, name, n) == 0 && p[n] == '=';
        if (match) {
            found = 1;
            if (value != NULL)
                o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", o ? "&" : "", name, value);
        } else {
            o += (size_t)snprintf(out + o, cap - o, "%s%.*s", o ? "&" : "", (int)(end - p), p);
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    if (!found && value != NULL)
        snprintf(out + o, cap - o, "%s%s=%s", o ? "&" : "", name, value);
}

static void each_signed_field_changed(void **state)
{
    static const struct {
        const char *name, *value;
    } changes[] = {
        {"sv", "2025-01-05"},
        {"spr", "https%2Chttp"},
        {"st", "2025-12-31T23%3A59%3A59Z"},
        {"se", "2026-01-02T00%3A00%3A01Z"},
        {"sip", "10.0.0.0-10.0.0.254"},
        {"ses", "scope-b"},
        {"sr", "c"},
        {"sp", "wr"}, /* the same set in another order: signed as sent */
        {"sp", "r"},
        {"rscc", "no-store"},
        {"rscd", "inline"},
        {"rsce", "br"},
        {"rscl", "fr"},
        {"rsct", "text%2Fhtml"},
        {"si", "p1"},
    };
    sas_mint_t m;
    req_t r;
    char query[SAS_MAX_QUERY], edited[SAS_MAX_QUERY];
    sas_error_t err;
    sas_policy_t policy = {SAS_TIME_NONE, SAS_TIME_NONE, 0};

    full_token(&m);
    base_req(&r);
    assert_int_equal(mint_verify(&m, &r, NULL, query, sizeof(query), &err), SAS_OK);
    r.policy = &policy;
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        edit(query, changes[i].name, changes[i].value, edited, sizeof(edited));
        r.query = edited;
        sas_reason_t reason = req_verify(&r, &err, NULL);
        if (reason != SAS_R_SIGNATURE_MISMATCH)
            fail_msg("%s=%s: %s (%s)", changes[i].name, changes[i].value, sas_reason_name(reason), err.message);
        assert_string_equal(err.message, "signature mismatch");
    }
}

static void each_signed_field_removed(void **state)
{
    static const char *const names[] = {"sv", "spr",  "st",   "se",   "sip",  "ses",  "sr",
                                        "sp", "rscc", "rscd", "rsce", "rscl", "rsct", "sig"};
    sas_mint_t m;
    req_t r;
    char query[SAS_MAX_QUERY], edited[SAS_MAX_QUERY];
    sas_error_t err;

    full_token(&m);
    base_req(&r);
    assert_int_equal(mint_verify(&m, &r, NULL, query, sizeof(query), &err), SAS_OK);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        edit(query, names[i], NULL, edited, sizeof(edited));
        r.query = edited;
        if (req_verify(&r, &err, NULL) == SAS_OK)
            fail_msg("accepted without %s", names[i]);
    }
}

static void signed_field_added(void **state)
{
    sas_mint_t m;
    req_t r;
    char query[SAS_MAX_QUERY], edited[SAS_MAX_QUERY];
    sas_error_t err;

    memset(&m, 0, sizeof(m));
    m.account = "acct";
    m.container = "photos";
    m.blob = "dir/cat.jpg";
    m.permissions = "r";
    m.expiry = "2026-01-02T00:00:00Z";
    base_req(&r);
    assert_int_equal(mint_verify(&m, &r, NULL, query, sizeof(query), &err), SAS_OK);
    const char *adds[][2] = {
        {"st", "2026-01-01T00%3A00%3A00Z"}, {"rsct", "text%2Fhtml"}, {"ses", "x"}, {"spr", "https"}, {"sip", "10.0.0.7"}};
    for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++) {
        edit(query, adds[i][0], adds[i][1], edited, sizeof(edited));
        r.query = edited;
        assert_int_equal(req_verify(&r, &err, NULL), SAS_R_SIGNATURE_MISMATCH);
    }
}

static void signature_bits_flipped(void **state)
{
    sas_mint_t m;
    req_t r;
    char query[SAS_MAX_QUERY], edited[SAS_MAX_QUERY], b64[64], enc[96];
    sas_error_t err;
    sas_minted_t out;

    full_token(&m);
    base_req(&r);
    assert_int_equal(sas_mint(&m, test_key(), query, sizeof(query), NULL, 0, &out, &err), SAS_OK);
    assert_int_equal(mint_verify(&m, &r, NULL, query, sizeof(query), &err), SAS_OK);
    for (int bit = 0; bit < SAS_SIG_LEN * 8; bit++) {
        uint8_t sig[SAS_SIG_LEN];
        memcpy(sig, out.sig, sizeof(sig));
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        sg_b64_encode(sig, sizeof(sig), b64);
        enc_query(b64, enc, sizeof(enc));
        edit(query, "sig", enc, edited, sizeof(edited));
        r.query = edited;
        assert_int_equal(req_verify(&r, &err, NULL), SAS_R_SIGNATURE_MISMATCH);
    }
}

static void resource_changed(void **state)
{
    static const char *const paths[] = {"/acct/photos/dir/dog.jpg", "/acct/photos/dir/cat.jpg2", "/acct/photos/Dir/cat.jpg",
                                        "/acct/photo/dir/cat.jpg",  "/acct2/photos/dir/cat.jpg", "/acct/photos/dir/sub/cat.jpg"};
    sas_mint_t m;
    req_t r;
    char query[SAS_MAX_QUERY];
    sas_error_t err;

    full_token(&m);
    base_req(&r);
    assert_int_equal(mint_verify(&m, &r, NULL, query, sizeof(query), &err), SAS_OK);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        r.path = paths[i];
        assert_int_equal(req_verify(&r, &err, NULL), SAS_R_SIGNATURE_MISMATCH);
    }
}

static void keys_tried_in_turn(void **state)
{
    sas_mint_t m;
    req_t r;
    char query[SAS_MAX_QUERY];
    sas_error_t err;
    sas_grant_t grant;
    sas_key_t k1, k3;
    const sas_key_t *keys[3];

    full_token(&m);
    base_req(&r);
    sas_key_init(&k1, (const uint8_t *)"key one", 7);
    sas_key_init(&k3, (const uint8_t *)"key three", 9);
    keys[0] = &k1;
    keys[1] = &k3;
    keys[2] = test_key();
    r.keys = keys;
    r.nkeys = 3;
    assert_int_equal(mint_verify(&m, &r, NULL, query, sizeof(query), &err), SAS_OK);
    assert_int_equal(req_verify(&r, &err, &grant), SAS_OK);
    assert_int_equal(grant.key_index, 2);
    r.nkeys = 2; /* the signing key retired */
    assert_int_equal(req_verify(&r, &err, NULL), SAS_R_SIGNATURE_MISMATCH);
    r.nkeys = 0;
    assert_int_equal(req_verify(&r, &err, NULL), SAS_R_NO_KEY);
    sas_key_dispose(&k1);
    sas_key_dispose(&k3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_signed_field_changed), cmocka_unit_test(each_signed_field_removed),
        cmocka_unit_test(signed_field_added),        cmocka_unit_test(signature_bits_flipped),
        cmocka_unit_test(resource_changed),          cmocka_unit_test(keys_tried_in_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
