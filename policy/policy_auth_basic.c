/*
 * policy_auth_basic.c - HTTP Basic authentication of client secrets. Only the
 * SHA-256 of each secret is stored; the presented secret's hash is compared in
 * constant time, and an unknown client id is compared against a dummy hash so
 * that it takes the same path as a wrong secret.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>


#include "sasgw/common.h"

/* Longest base64 credential accepted: client ids and secrets are short. */
#define MAX_CREDENTIAL_B64 1024

static int refuse(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return -1;
}

int policy_authenticate_basic(const policy_t *policy, const char *authorization, const policy_principal_t **out, char *err,
                              size_t errlen)
{
    uint8_t cred[SG_B64_DECODED_MAX(MAX_CREDENTIAL_B64)], digest[32];
    const policy_principal_t *found = NULL;
    const char *p;
    size_t len, n = 0;

    *out = NULL;
    /* "Basic" SP credentials */
    if (authorization == NULL || strncasecmp(authorization, "Basic ", 6) != 0)
        return refuse(err, errlen, "expected Basic credentials");
    for (p = authorization + 6; *p == ' '; p++)
        ;
    len = strnlen(p, MAX_CREDENTIAL_B64 + 1);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len == 0 || len > MAX_CREDENTIAL_B64 || sg_b64_decode(p, len, cred, sizeof(cred), &n) != 0) {
        sg_wipe(cred, sizeof(cred));
        return refuse(err, errlen, "malformed Basic credentials (expected base64 of client_id:secret)");
    }
    uint8_t *colon = memchr(cred, ':', n);
    if (colon == NULL || colon == cred) {
        sg_wipe(cred, sizeof(cred));
        return refuse(err, errlen, "malformed Basic credentials (expected base64 of client_id:secret)");
    }
    size_t idlen = (size_t)(colon - cred);

    /* hash the secret whether or not the client exists */
    sg_sha256(colon + 1, n - idlen - 1, digest);

    /* look at every principal: no early exit on a match */
    for (size_t i = 0; i < policy->nprincipals; i++) {
        const policy_principal_t *pr = &policy->principals[i];
        size_t nlen = strlen(pr->name);
        int match = pr->has_basic && nlen == idlen && sg_ct_equal(pr->name, cred, idlen);
        if (match && found == NULL)
            found = pr;
    }
    int ok = sg_ct_equal(digest, found != NULL ? found->secret_sha256 : policy->dummy_sha256, sizeof(digest)) & (found != NULL);
    sg_wipe(cred, sizeof(cred));
    sg_wipe(digest, sizeof(digest));
    if (!ok)
        return refuse(err, errlen, "unknown client id or wrong secret");
    *out = found;
    return 0;
}
