/*
 * Tests the signer against the 240 SAS made by the official Azure SDK, both
 * directions: minting reproduces stringToSign, sig and the query exactly; the
 * verifier accepts each query at a time inside its window.
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

static const char *query_param(const char *query, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        if ((size_t)(end - p) > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            snprintf(out, cap, "%.*s", (int)(end - p - n - 1), p + n + 1);
            return out;
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    return NULL;
}

static void mint_reproduces_every_vector(void **state)
{
    json_t *all = vec_load();
    size_t i;
    json_t *v;
    assert_int_equal(json_array_size(all), 240);
    json_array_foreach(all, i, v)
    {
        sas_mint_t m;
        char times[2][40], query[SAS_MAX_QUERY], sts[SAS_MAX_STS], sig[64];
        sas_key_t key;
        sas_minted_t out;
        sas_error_t err;
        const char *id = vec_str(v, "id"), *b64 = vec_str(v, "key");

        vec_mint_params(v, &m, times);
        assert_int_equal(sas_key_init_base64(&key, b64, strlen(b64)), 0);
        sas_reason_t r = sas_mint(&m, &key, query, sizeof(query), sts, sizeof(sts), &out, &err);
        if (r != SAS_OK)
            fail_msg("%s: mint refused: %s", id, err.message);
        if (strcmp(sts, vec_str(v, "stringToSign")) != 0)
            fail_msg("%s: string to sign differs:\n%s\n---\n%s", id, sts, vec_str(v, "stringToSign"));
        if (strcmp(query, vec_str(v, "query")) != 0)
            fail_msg("%s: query differs:\n%s\n%s", id, query, vec_str(v, "query"));
        /* the signature, compared decoded */
        assert_non_null(query_param(vec_str(v, "query"), "sig", sig, sizeof(sig)));
        char dec[64];
        long n = 0;
        size_t k = 0;
        for (size_t j = 0; sig[j] != '\0'; j++) {
            if (sig[j] == '%') {
                unsigned x;
                sscanf(sig + j + 1, "%2x", &x);
                dec[k++] = (char)x;
                j += 2;
            } else {
                dec[k++] = sig[j];
            }
        }
        uint8_t want[32];
        size_t wl;
        assert_int_equal(sg_b64_decode(dec, k, want, sizeof(want), &wl), 0);
        assert_int_equal(wl, 32);
        assert_memory_equal(out.sig, want, 32);
        assert_int_equal(out.query_len, strlen(query));
        assert_int_equal(out.sts_len, strlen(sts));
        assert_int_equal(strlen(out.token_id), SAS_TOKEN_ID_LEN);
        (void)n;
        sas_key_dispose(&key);
    }
    json_decref(all);
}

/* Picks a request the token's permissions allow. */
/*
 * Picks a request the vector's token may make; returns 0 when it may make none
 * (a snapshot token with only c: nothing writes a snapshot), after picking a
 * Put Blob that step 7 refuses.
 */
static int pick_operation(const json_t *v, sas_perm_t perms, req_t *r, char *path, size_t cap, char *query, size_t qcap)
{
    int possible = 1;
    const char *kind = vec_str(v, "kind"), *account = vec_str(v, "account");
    const char *container = vec_str(v, "container") != NULL ? vec_str(v, "container") : "c0";
    char blob[1024], extra[256] = "";

    if (vec_str(v, "blob") != NULL)
        enc_path(vec_str(v, "blob"), blob, sizeof(blob));
    else
        strcpy(blob, "some/blob.txt");
    if (vec_str(v, "snapshot") != NULL) {
        char e[128];
        enc_query(vec_str(v, "snapshot"), e, sizeof(e));
        snprintf(extra, sizeof(extra), "&snapshot=%s", e);
    }
    snprintf(path, cap, "/%s/%s/%s", account, container, blob);
    if (perms & SAS_PERM('r')) {
        r->method = SAS_METHOD_GET;
    } else if ((perms & SAS_PERM('w')) && vec_str(v, "snapshot") != NULL) {
        /* a snapshot is not written: Set Blob Tier is a w operation that takes snapshot= */
        r->method = SAS_METHOD_PUT;
        strcat(extra, "&comp=tier");
    } else if (perms & (SAS_PERM('w') | SAS_PERM('c'))) {
        r->method = SAS_METHOD_PUT;
        possible = vec_str(v, "snapshot") == NULL;
    } else if (perms & SAS_PERM('a')) {
        r->method = SAS_METHOD_PUT;
        strcat(extra, "&comp=appendblock");
    } else if (perms & SAS_PERM('d')) {
        r->method = SAS_METHOD_DELETE;
    } else if (perms & SAS_PERM('t')) {
        r->method = SAS_METHOD_GET;
        strcat(extra, "&comp=tags");
    } else if ((perms & SAS_PERM('l')) && strcmp(kind, "container") == 0) {
        r->method = SAS_METHOD_GET;
        snprintf(path, cap, "/%s/%s", account, container);
        strcat(extra, "&restype=container&comp=list");
    } else {
        fail_msg("%s: no operation for these permissions", vec_str(v, "id"));
    }
    snprintf(query, qcap, "%s%s", vec_str(v, "query"), extra);
    r->path = path;
    r->query = query;
    return possible;
}

static void verify_accepts_every_vector(void **state)
{
    json_t *all = vec_load();
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        char times[2][40], path[2048], query[SAS_MAX_QUERY], lo[64];
        sas_key_t key, other;
        const sas_key_t *keys[2] = {&other, &key};
        const char *id = vec_str(v, "id"), *b64 = vec_str(v, "key");
        const char *st = vec_time(v, "start", times[0]), *se = vec_time(v, "expiry", times[1]);
        sas_policy_t policy = {SAS_TIME_NONE, SAS_TIME_NONE, 0};
        sas_perm_t perms = 0;
        req_t r;
        sas_error_t err;
        sas_grant_t grant;

        assert_int_equal(sas_key_init_base64(&key, b64, strlen(b64)), 0);
        sas_key_init(&other, (const uint8_t *)"not the key", 11);
        req_init(&r);
        r.keys = keys;
        r.nkeys = 2; /* the matching key in the second slot */

        /* a time inside the window: just before se, with a start skew covering an inverted window */
        if (se != NULL)
            r.now = T(se) - SAS_TIME_SECOND;
        else if (st != NULL)
            r.now = T(st) + SAS_TIME_SECOND;
        if (st != NULL && T(st) > r.now)
            r.start_skew = T(st) - r.now + SAS_TIME_SECOND;
        /* a stored access policy supplies what the token leaves out */
        if (vec_str(v, "identifier") != NULL) {
            if (se == NULL)
                policy.expiry = r.now + 3600 * SAS_TIME_SECOND;
            if (vec_str(v, "permissions") == NULL)
                policy.permissions = SAS_PERM('r');
            r.policy = &policy;
        }
        if (vec_str(v, "permissions") != NULL)
            for (const char *p = vec_str(v, "permissions"); *p; p++)
                perms |= SAS_PERM(*p);
        else
            perms = SAS_PERM('r');
        if (vec_str(v, "ip") != NULL) {
            snprintf(lo, sizeof(lo), "%s", vec_str(v, "ip"));
            char *dash = strchr(lo, '-');
            if (dash != NULL)
                *dash = '\0';
            r.client_ip = lo;
        }
        int possible = pick_operation(v, perms, &r, path, sizeof(path), query, sizeof(query));

        sas_reason_t reason = req_verify(&r, &err, &grant);
        if (!possible) {
            /* every step before the operation passed, the signature included */
            if (reason != SAS_R_OPERATION_NOT_ALLOWED)
                fail_msg("%s: %s (%s), not operation_not_allowed", id, sas_reason_name(reason), err.message);
            continue;
        }
        if (reason != SAS_OK)
            fail_msg("%s: refused (%s): %s\n%s?%s", id, sas_reason_name(reason), err.message, r.path, r.query);
        assert_int_equal(grant.key_index, 1);

        /* the same request one second after the window is refused */
        if (se != NULL) {
            r.now = T(se);
            assert_int_equal(req_verify(&r, &err, NULL), SAS_R_EXPIRED);
        }
        /* and with only the wrong key */
        r.now = se != NULL ? T(se) - SAS_TIME_SECOND : r.now;
        r.nkeys = 1;
        assert_int_equal(req_verify(&r, &err, NULL), SAS_R_SIGNATURE_MISMATCH);
        sas_key_dispose(&key);
        sas_key_dispose(&other);
    }
    json_decref(all);
}

/* Parsing the SDK's query and rebuilding the string to sign gives the SDK's string. */
static void string_to_sign_from_query(void **state)
{
    json_t *all = vec_load();
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        sas_token_t tok;
        sas_resource_t res;
        sas_error_t err;
        char sts[SAS_MAX_STS];
        const char *q = vec_str(v, "query");
        assert_int_equal(sas_token_parse(&tok, q, strlen(q), &err), SAS_OK);
        assert_int_equal(sas_resource_init(&res, vec_str(v, "account"), vec_str(v, "container"), vec_str(v, "blob"),
                                           vec_str(v, "snapshot"), NULL, &err),
                         SAS_OK);
        long n = sas_string_to_sign(&tok, &res, sts, sizeof(sts));
        assert_true(n > 0);
        assert_string_equal(sts, vec_str(v, "stringToSign"));
    }
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mint_reproduces_every_vector),
        cmocka_unit_test(verify_accepts_every_vector),
        cmocka_unit_test(string_to_sign_from_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
