/*
 * policy_auth.c - dispatches an Authorization header value to the Basic or
 * the Bearer authenticator by its scheme.
 */
#include "internal.h"

#include <stdio.h>
#include <strings.h>

int policy_authenticate(const policy_t *policy, const char *authorization, int64_t now, const policy_principal_t **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    if (authorization == NULL || authorization[0] == '\0') {
        snprintf(err, errlen, "no credentials (Basic or Bearer)");
        return -1;
    }
    if (strncasecmp(authorization, "Basic ", 6) == 0)
        return policy_authenticate_basic(policy, authorization, out, err, errlen);
    if (strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *token = authorization + 7;
        while (*token == ' ')
            token++;
        return policy_authenticate_bearer(policy, token, now, out, err, errlen);
    }
    snprintf(err, errlen, "unsupported authorization scheme (Basic or Bearer)");
    return -1;
}
