/*
 * fuzz_keyvault.c - libFuzzer target: the input is a Key Vault API request
 * as the wing parses it: "METHOD PATH[?QUERY]\n" then the body. The route
 * (kv_parse_route), the query (kv_parse_query), the body as JSON
 * (kv_parse_json) and as each body kind (PUT, PATCH, restore), the paging
 * token and base64url decoders all run on it, as the router runs them.
 * Invariants: a route that parses names a valid secret name and version (or
 * none); an accepted query holds 7.3-7.6 and maxresults 0..25; an accepted
 * body's value, tags and times are in bounds; a refusal always says why; a
 * token that decodes re-encodes to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static void route(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    if (sp == NULL)
        return;
    size_t mlen = (size_t)(sp - line);
    const char *target = sp + 1;
    size_t tlen = len - mlen - 1;
    const char *q = memchr(target, '?', tlen);
    size_t plen = q != NULL ? (size_t)(q - target) : tlen;

    kv_route_t r;
    kv_route_result_t rr = kv_parse_route(line, mlen, target, plen, &r);
    if (rr == KV_ROUTE_OK && r.op != KV_OP_STORAGE) {
        check(r.op != KV_OP_NONE, "a route names an operation");
        check(r.name[0] == '\0' || vault_valid_secret_name(r.name), "a routed name is a valid secret name");
        check(strlen(r.version) <= 64, "a version is at most 64 characters");
        for (const char *c = r.version; *c != '\0'; c++)
            check((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'), "versions are alphanumeric");
    }

    kv_query_t kq;
    char err[320];
    err[0] = '\0';
    if (kv_parse_query(q != NULL ? q + 1 : NULL, q != NULL ? tlen - plen - 1 : 0, &kq, err, sizeof(err)) == 0) {
        check(strlen(kq.api_version) == 3 && kq.api_version[0] == '7' && kq.api_version[2] >= '3' && kq.api_version[2] <= '6',
              "an accepted api-version is 7.3-7.6");
        check(kq.maxresults <= 25, "maxresults at most 25");
        char pos[160];
        if (kv_token_decode(kq.skiptoken, 's', pos, sizeof(pos)) == 0) {
            char again[KV_TOKEN_MAX];
            kv_token_encode('s', pos, again);
            char back[160];
            check(kv_token_decode(again, 's', back, sizeof(back)) == 0 && strcmp(back, pos) == 0, "tokens round-trip");
        }
    } else {
        check(err[0] != '\0', "a refused query says why");
    }
}

static void body(const char *text, size_t len)
{
    char err[320];
    kv_body_t b;
    err[0] = '\0';
    json_t *doc = kv_parse_json(text, len, err, sizeof(err));
    if (doc == NULL) {
        check(err[0] != '\0', "a refused document says why");
        return;
    }
    for (int update = 0; update <= 1; update++) {
        err[0] = '\0';
        if (kv_parse_body(doc, update, &b, err, sizeof(err)) == 0) {
            check(update ? b.value == NULL : b.value != NULL, "value is required by PUT and refused by PATCH");
            check(b.value_len <= VAULT_SECRET_MAX, "the value is within bounds");
            check(b.ntags <= KV_MAX_TAGS, "at most 15 tags");
            for (size_t i = 0; i < b.ntags; i++)
                check(b.tags[i].key[0] != '\0' && strlen(b.tags[i].key) <= 256 && strlen(b.tags[i].value) <= 256, "tags bounded");
            check(!b.has_nbf || (b.nbf >= 0 && b.nbf <= 253402300799), "nbf in range");
            check(!b.has_exp || (b.exp >= 0 && b.exp <= 253402300799), "exp in range");
            check(b.content_type == NULL || strlen(b.content_type) <= 255, "content type bounded");
        } else {
            check(err[0] != '\0', "a refused body says why");
        }
    }
    const char *value;
    size_t vlen;
    err[0] = '\0';
    if (kv_parse_restore_body(doc, &value, &vlen, err, sizeof(err)) == 0) {
        uint8_t *out = malloc(vlen + 3);
        long n = kv_b64url_decode(value, vlen, out, vlen + 3);
        check(n < 0 || (size_t)n <= vlen, "base64url decodes shorter");
        free(out);
    } else {
        check(err[0] != '\0', "a refused restore body says why");
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t line = nl != NULL ? (size_t)(nl - text) : size;
    route(text, line);
    if (nl != NULL)
        body(nl + 1, size - line - 1);
    /* the whole input as a token and as base64url */
    char pos[160];
    if (size < 300) {
        char *tok = malloc(size + 1);
        memcpy(tok, data, size);
        tok[size] = '\0';
        (void)kv_token_decode(tok, 'v', pos, sizeof(pos));
        free(tok);
    }
    uint8_t out[512];
    (void)kv_b64url_decode(text, size < 600 ? size : 600, out, sizeof(out));
    return 0;
}
