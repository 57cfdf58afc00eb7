/*
 * resign.h - the upstream half of an account in mode `resign` (issue 12):
 * the proxy has verified the client's token (signed with an edge key) and
 * built the request head it forwards (gw_http1_write_upstream_request(), the
 * SAS stripped, the path on the upstream account); this module authorizes
 * that head for the Azure-compatible backend with Shared Key and the storage
 * key: it drops any Authorization, x-ms-date and x-ms-version the client
 * sent, adds x-ms-date (RFC 1123, now), x-ms-version (the client's when the
 * signer supports it, else GW_RESIGN_VERSION) and
 * "authorization: SharedKey {upstream_account}:{sig}" computed over exactly
 * the bytes sent (sas_sk_authorization(), signer.h). No I/O, no clock: the
 * caller passes now.
 */
#ifndef SASGW_PROXY_RESIGN_H
#define SASGW_PROXY_RESIGN_H

#include <stddef.h>
#include <stdint.h>

#include "decide.h"
#include "sasgw/core/keyring.h"
#include "sasgw/signer.h"

/* The x-ms-version sent when the client sent none, or one outside SAS_VERSION_MIN..SAS_VERSION_MAX. */
#define GW_RESIGN_VERSION "2025-01-05"

/* Bytes a head grows by at most, besides the new x-ms-copy-source value: x-ms-date, x-ms-version and authorization lines. */
#define GW_RESIGN_HEAD_EXTRA (sizeof("x-ms-date: Wed, 02 Dec 2026 04:40:00 GMT\r\n") + sizeof("x-ms-version: 2025-01-05\r\n") + \
                              sizeof("authorization: \r\n") + SAS_SK_AUTH_MAX + sizeof("x-ms-copy-source: \r\n"))

typedef struct st_gw_resign_params_t {
    const char *account; /* the storage account's name at the backend (upstream_account) */
    size_t account_len;
    const sas_key_t *key; /* its storage key (the keyring's upstream_keys[0]) */
    int64_t now;          /* unix seconds, for x-ms-date */
    /* a new value for x-ms-copy-source (the copy source re-authorized), or NULL to send the client's as it is */
    const char *copy_source;
    size_t copy_source_len;
} gw_resign_params_t;

/*
 * Writes into out (cap bytes) the request head in (len bytes: a request line,
 * header lines, the blank line, nothing after; the relay's built head)
 * authorized with Shared Key as described above. The request line and the
 * kept header lines are copied byte for byte in their order; x-ms-copy-source
 * (when replaced), x-ms-date, x-ms-version and authorization follow, then
 * the blank line. sts (sts_cap bytes) is scratch for the string to sign (it
 * holds it afterwards; len + 1024 bytes suffice). Returns the length written,
 * or 0 when in is not such a head (a malformed line, a control byte in a
 * value, more than SAS_SK_MAX_HEADERS - 4 headers), when the signer refuses
 * the request (a signed header twice, a query two SDKs would read two ways;
 * signer.h), or when out or sts is too small. Never writes past cap.
 */
size_t gw_resign_build(const char *in, size_t len, const gw_resign_params_t *p, char *out, size_t cap, char *sts, size_t sts_cap);

/*
 * 1 when the account's backend is host-style for its upstream account (the
 * host's first label is upstream_account, as in
 * https://{account}.blob.core.windows.net): the path sent upstream then has
 * no account segment. 0 for a path-style backend (Azurite, emulators:
 * /{upstream_account}/{container}/{blob}).
 */
int gw_resign_host_style(const gw_keyring_account_t *a);

/* Why gw_resign_finish() cannot authorize a head. */
enum { GW_RESIGN_OK = 0, GW_RESIGN_E_NO_KEY = -1, GW_RESIGN_E_UNSIGNABLE = -2 };

/*
 * The finishing step of a head for a resign account (d->account->mode ==
 * GW_ACCOUNT_RESIGN), for any front that builds an HTTP/1.1 head upstream:
 * re-authorizes *head (*len bytes, malloc'd) with gw_resign_build, the
 * decision's copy source rewrite and the account's first upstream key,
 * replacing *head and *len. Returns GW_RESIGN_OK, or GW_RESIGN_E_NO_KEY (the
 * account has no active storage key) / GW_RESIGN_E_UNSIGNABLE (the signer
 * refuses the request as it is); *head is then unchanged.
 */
int gw_resign_finish(const gw_proxy_decision_t *d, char **head, size_t *len, int64_t now);

/* Turns d into the refusal for an error rc of gw_resign_finish(): 403 AuthenticationFailed or 400 InvalidHeaderValue. */
void gw_resign_refuse(gw_proxy_decision_t *d, int rc);

#endif
