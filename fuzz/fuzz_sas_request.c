/*
 * fuzz_sas_request.c - libFuzzer target: the input is the body of
 * POST /v1/sas (first byte even) or POST /v1/sas/account (odd), the rest the
 * JSON text. Invariants: a refusal always names a reason (and a field that
 * is valid UTF-8, so it can be sent back in JSON); an accepted request has
 * an account, permissions in canonical order, start < expiry, a lifetime
 * within bounds, and can be signed by the signer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sas_request.h"
#include "sasgw/signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a fixed clock keeps runs reproducible: 2026-01-01T00:00:00Z */
    const sas_time_t now = (sas_time_t)1767225600 * SAS_TIME_SECOND;
    gw_sas_request_t r;
    gw_sas_request_error_t err;
    json_t *root;

    if (size < 1)
        return 0;
    gw_sas_request_kind_t kind = (data[0] & 1) ? GW_SAS_REQUEST_ACCOUNT : GW_SAS_REQUEST_SERVICE;
    if (gw_sas_request_parse_text(&r, &root, (const char *)data + 1, size - 1, kind, now, 300, &err) != 0) {
        check(root == NULL, "no document on failure");
        check(err.message[0] != '\0', "a refusal has a reason");
        json_t *field = json_string(err.field);
        json_t *message = json_string(err.message);
        check(field != NULL && message != NULL, "field and message are valid UTF-8");
        json_decref(field);
        json_decref(message);
        return 0;
    }
    check(r.account != NULL && r.permissions[0] != '\0', "account and permissions");
    check(r.start < r.expiry, "start before expiry");
    check(r.ttl >= 1 && r.ttl <= GW_SAS_MAX_TTL, "ttl within bounds");
    check(kind == GW_SAS_REQUEST_ACCOUNT || r.container != NULL, "a service SAS has a container");

    /* the signer accepts what the parser accepted */
    static const uint8_t keybytes[64] = {1, 2, 3};
    sas_key_t key;
    sas_key_init(&key, keybytes, sizeof(keybytes));
    sas_mint_t m = {.account = r.account, .permissions = r.permissions, .start = r.start_text, .expiry = r.expiry_text,
                    .ip = r.ip, .protocol = r.protocol != NULL ? r.protocol : "https"};
    if (kind == GW_SAS_REQUEST_SERVICE) {
        m.container = r.container;
        m.blob = r.blob;
        m.snapshot = r.snapshot;
        m.version_id = r.version_id;
        m.identifier = r.policy;
        m.cache_control = r.response_headers.cache_control;
        m.content_disposition = r.response_headers.content_disposition;
        m.content_encoding = r.response_headers.content_encoding;
        m.content_language = r.response_headers.content_language;
        m.content_type = r.response_headers.content_type;
    } else {
        m.services = r.services;
        m.resource_types = r.resource_types;
    }
    /* the issuing API's buffer: a token longer than the proxy accepts is refused (400), nothing else may be */
    static char query[SAS_MAX_QUERY + 1];
    sas_error_t serr;
    sas_reason_t reason = sas_mint(&m, &key, query, sizeof(query), NULL, 0, NULL, &serr);
    if (reason != SAS_OK && reason != SAS_R_BUFFER_TOO_SMALL)
        fprintf(stderr, "sas_mint refused an accepted request: %s\n", serr.message);
    check(reason == SAS_OK || reason == SAS_R_BUFFER_TOO_SMALL, "the signer signs an accepted request");
    sas_key_dispose(&key);
    json_decref(root);
    return 0;
}
