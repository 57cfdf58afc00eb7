/*
 * fuzz_sasdef.c - libFuzzer target: the two readers of a managed-storage SAS
 * definition (vault_sasdefs.c). The input's first byte picks the sasType
 * (bit 0) and how much of the rest is the validityPeriod (bits 1-5, up to 31
 * bytes); the remainder is the templateUri, read for account "acct1".
 * Invariants: a refusal always says why (one line, no signature bytes); an
 * accepted duration lies in 1 s .. VAULT_SASDEF_VALIDITY_MAX; an accepted
 * template has permissions valid for its kind, a service template names a
 * container (and a blob exactly when it is sr=b), an account template has
 * ss and srt and no container; reading twice gives the same answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/signer.h"
#include "sasgw/vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static vault_sasdef_template_t t1, t2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    vault_sasdef_type_t type = (data[0] & 1) ? VAULT_SASDEF_ACCOUNT : VAULT_SASDEF_SERVICE;
    size_t dlen = (size_t)(data[0] >> 1) & 31;
    data++, size--;
    if (dlen > size)
        dlen = size;

    /* the duration */
    char dur[32], err[512];
    memcpy(dur, data, dlen);
    dur[dlen] = '\0';
    int64_t secs = -1;
    err[0] = '\0';
    if (vault_sasdef_parse_duration(dur, &secs, err, sizeof(err)) == 0)
        check(secs >= 1 && secs <= VAULT_SASDEF_VALIDITY_MAX, "an accepted duration is in bounds");
    else
        check(err[0] != '\0' && strchr(err, '\n') == NULL, "a refused duration says why in one line");

    /* the template */
    char *uri = malloc(size - dlen + 1);
    memcpy(uri, data + dlen, size - dlen);
    uri[size - dlen] = '\0';
    err[0] = '\0';
    int rc = vault_sasdef_template_parse(uri, "acct1", type, &t1, err, sizeof(err));
    char err2[512];
    int rc2 = vault_sasdef_template_parse(uri, "acct1", type, &t2, err2, sizeof(err2));
    check(rc == rc2, "reading twice gives the same answer");
    if (rc != 0) {
        check(err[0] != '\0' && strcmp(err, err2) == 0, "a refusal says why, the same each time");
        /* the signature's value, when it occurs nowhere else in the input, never appears in the sentence */
        const char *sig = strstr(uri, "&sig=");
        if (sig != NULL) {
            sig += 5;
            size_t n = strcspn(sig, "&#");
            if (n >= 16 && n < 256) {
                char value[256];
                memcpy(value, sig, n);
                value[n] = '\0';
                const char *first = strstr(uri, value);
                if (first == sig && strstr(sig + 1, value) == NULL)
                    check(strstr(err, value) == NULL, "a refusal never echoes the signature");
            }
        }
        free(uri);
        return 0;
    }
    check(t1.sas_type == type, "the kind is the one asked for");
    check(t1.permissions[0] != '\0', "an accepted template grants permissions");
    check(strcmp(t1.permissions, t2.permissions) == 0, "same permissions each time");
    sas_kind_t kind = type == VAULT_SASDEF_ACCOUNT ? SAS_KIND_ACCOUNT : SAS_KIND_SERVICE;
    check(t1.tok.kind == kind, "the token's kind matches");
    check((sas_letters(t1.permissions) & ~sas_perm_valid(kind, t1.tok.sr)) == 0, "permissions are valid for the resource");
    if (type == VAULT_SASDEF_SERVICE) {
        check(t1.container != NULL, "a service template names a container");
        check((t1.blob != NULL) == (t1.tok.sr == SAS_SR_BLOB), "a blob exactly for sr=b");
        check(t1.tok.sr == SAS_SR_BLOB || t1.tok.sr == SAS_SR_CONTAINER, "only sr=b or sr=c");
    } else {
        check(t1.container == NULL, "an account template names no container");
        check(t1.services[0] != '\0' && t1.resource_types[0] != '\0', "an account template has ss and srt");
    }
    free(uri);
    return 0;
}
