/*
 * sharedkey_sign - a test helper, not part of sasgw: reads requests as JSON
 * lines on stdin and prints, per line, the Authorization value signer/'s
 * sas_sk_authorization() gives, so an end-to-end test can send requests
 * signed by our code to a real Azurite (tests/e2e/sharedkey-azurite.test.mjs).
 *
 *   {"method":"PUT","path":"/devstoreaccount1/c/b","query":"comp=block&blockid=...",
 *    "account":"devstoreaccount1","key":"<base64>","headers":[["x-ms-date","..."],...]}
 *
 * Output, one line per input line: {"authorization":"SharedKey ...","string_to_sign":"..."}
 * or {"refused":"<reason name>","message":"..."}. Exit 0, or 2 on unreadable input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sasgw/signer.h"

#define MAX_LINE (1 << 20)
#define MAX_HEADERS SAS_SK_MAX_HEADERS

static char line[MAX_LINE], sts[65536];

static int sign_one(const json_t *in)
{
    static sas_sk_header_t headers[MAX_HEADERS + 1];
    const char *method = json_string_value(json_object_get(in, "method"));
    const char *path = json_string_value(json_object_get(in, "path"));
    const char *query = json_string_value(json_object_get(in, "query"));
    const char *account = json_string_value(json_object_get(in, "account"));
    const char *key_b64 = json_string_value(json_object_get(in, "key"));
    const json_t *hs = json_object_get(in, "headers");
    size_t nh = 0, i;
    json_t *pair;
    if (method == NULL || path == NULL || account == NULL || key_b64 == NULL || (hs != NULL && !json_is_array(hs)))
        return -1;
    json_array_foreach(hs, i, pair)
    {
        const json_t *n = json_array_get(pair, 0), *v = json_array_get(pair, 1);
        if (!json_is_string(n) || !json_is_string(v) || nh > MAX_HEADERS)
            return -1;
        headers[nh++] = (sas_sk_header_t){json_string_value(n), json_string_length(n), json_string_value(v), json_string_length(v)};
    }
    sas_sk_request_t req = {
        method, strlen(method), path, strlen(path), query != NULL ? query : "", query != NULL ? strlen(query) : 0, headers, nh};
    sas_key_t key;
    sas_error_t err;
    char auth[SAS_SK_AUTH_MAX];
    json_t *out;
    if (sas_key_init_base64(&key, key_b64, strlen(key_b64)) != 0)
        return -1;
    sas_reason_t r = sas_sk_canonicalize(&req, account, strlen(account), sts, sizeof(sts), NULL, &err);
    if (r != SAS_OK) {
        out = json_pack("{s:s,s:s}", "refused", sas_reason_name(r), "message", err.message);
    } else if (sas_sk_authorization(&req, account, strlen(account), &key, sts, sizeof(sts), auth, sizeof(auth)) == 0) {
        out = json_pack("{s:s,s:s}", "refused", "invalid_argument", "message", "no Authorization");
    } else {
        out = json_pack("{s:s,s:s}", "authorization", auth, "string_to_sign", sts);
    }
    sas_key_dispose(&key);
    char *text = json_dumps(out, JSON_COMPACT);
    puts(text);
    fflush(stdout);
    free(text);
    json_decref(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s < requests.jsonl   (see the comment at the top of sharedkey_sign.c)\n", argv[0]);
        return 2;
    }
    while (fgets(line, sizeof(line), stdin) != NULL) {
        json_error_t e;
        if (line[0] == '\n')
            continue;
        json_t *in = json_loads(line, 0, &e);
        if (in == NULL || sign_one(in) != 0) {
            fprintf(stderr, "sharedkey_sign: unreadable request: %s\n", in == NULL ? e.text : "missing or wrong members");
            json_decref(in);
            return 2;
        }
        json_decref(in);
    }
    return 0;
}
