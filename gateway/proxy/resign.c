/*
 * resign.c - Shared Key on the request head a resign account sends upstream
 * (resign.h). Pure but for gw_resign_finish(), which swaps the relay's
 * malloc'd head.
 */
#include "resign.h"
#include "http1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sasgw/common.h"

#define MAX_KEPT (SAS_SK_MAX_HEADERS - 4)

/* Case-insensitive equality of s (len bytes) with a lower-case literal. */
static int name_is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/*
 * "Wed, 02 Dec 2026 04:40:00 GMT" (29 characters and a NUL) for unix seconds t
 * (clamped to 1970..9999), without the locale and without gmtime_r(), which
 * takes glibc's time zone lock on every call: days to a civil date as in
 * Howard Hinnant's days_from_civil inverse.
 */
static void rfc1123(int64_t t, char out[80])
{
    static const char days[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"}; /* 1970-01-01 was a Thursday */
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (t < 0 || t > 253402300799)
        t = 0;
    int64_t z = t / 86400, secs = t % 86400;
    const char *wday = days[z % 7];
    z += 719468;
    int64_t era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9, year = yoe + era * 400 + (month <= 2);
    char *o = out;
    memcpy(o, wday, 3), o += 3;
    *o++ = ',', *o++ = ' ';
    *o++ = (char)('0' + day / 10), *o++ = (char)('0' + day % 10), *o++ = ' ';
    memcpy(o, months[month - 1], 3), o += 3;
    *o++ = ' ';
    *o++ = (char)('0' + year / 1000), *o++ = (char)('0' + year / 100 % 10), *o++ = (char)('0' + year / 10 % 10);
    *o++ = (char)('0' + year % 10), *o++ = ' ';
    int64_t hms[3] = {secs / 3600, secs / 60 % 60, secs % 60};
    for (int i = 0; i != 3; i++) {
        *o++ = (char)('0' + hms[i] / 10), *o++ = (char)('0' + hms[i] % 10);
        *o++ = i != 2 ? ':' : ' ';
    }
    memcpy(o, "GMT", 4);
}

/* 1 when v (len bytes) is a version the signer knows: YYYY-MM-DD from SAS_VERSION_MIN to SAS_VERSION_MAX. */
static int supported_version(const char *v, size_t len)
{
    if (len != 10)
        return 0;
    for (size_t i = 0; i != 10; i++)
        if (i == 4 || i == 7 ? v[i] != '-' : (v[i] < '0' || v[i] > '9'))
            return 0;
    return memcmp(v, SAS_VERSION_MIN, 10) >= 0 && memcmp(v, SAS_VERSION_MAX, 10) <= 0;
}

/* Appends n bytes at *o in out (cap); sets *o past cap on overflow, writing nothing then. */
static void put(char *out, size_t cap, size_t *o, const void *s, size_t n)
{
    if (*o > cap || n > cap - *o) {
        *o = cap + 1;
        return;
    }
    memcpy(out + *o, s, n);
    *o += n;
}

size_t gw_resign_build(const char *in, size_t len, const gw_resign_params_t *p, char *out, size_t cap, char *sts, size_t sts_cap)
{
    sas_sk_header_t hdrs[SAS_SK_MAX_HEADERS];
    struct {
        const char *line;
        size_t len;
    } kept[MAX_KEPT];
    size_t nh = 0, nk = 0;
    const char *version = NULL;
    size_t version_len = 0;

    if (in == NULL || len < 4 || memcmp(in + len - 4, "\r\n\r\n", 4) != 0 || p == NULL || p->key == NULL)
        return 0;
    const char *end = in + len - 2; /* the final CRLF */

    /* request line: METHOD SP target SP HTTP/1.x CRLF */
    const char *eol = memchr(in, '\r', (size_t)(end - in));
    if (eol == NULL || eol[1] != '\n')
        return 0;
    const char *sp1 = memchr(in, ' ', (size_t)(eol - in));
    if (sp1 == NULL || sp1 == in)
        return 0;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
    if (sp2 == NULL || sp2 == target || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
        return 0;
    if (!gw_http1_is_token(in, (size_t)(sp1 - in)) || !gw_http1_is_visible(target, (size_t)(sp2 - target)))
        return 0;
    const char *q = memchr(target, '?', (size_t)(sp2 - target));
    sas_sk_request_t req = {.method = in,
                            .method_len = (size_t)(sp1 - in),
                            .path = target,
                            .path_len = (size_t)((q != NULL ? q : sp2) - target),
                            .query = q != NULL ? q + 1 : NULL,
                            .query_len = q != NULL ? (size_t)(sp2 - q - 1) : 0,
                            .headers = hdrs};

    /* header lines: name ":" OWS value OWS CRLF; the ones we set are dropped */
    for (const char *l = eol + 2; l != end + 2;) {
        if (l == end)
            break;
        const char *le = memchr(l, '\r', (size_t)(end - l));
        if (le == NULL || le[1] != '\n')
            return 0;
        const char *colon = memchr(l, ':', (size_t)(le - l));
        if (colon == NULL || colon == l)
            return 0;
        const char *v = colon + 1, *ve = le;
        if (!gw_http1_is_token(l, (size_t)(colon - l)) || !gw_http1_is_field_value(v, (size_t)(ve - v)))
            return 0;
        while (v != ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve != v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t nl = (size_t)(colon - l);
        int drop = name_is(l, nl, "authorization") || name_is(l, nl, "x-ms-date") ||
                   (p->copy_source != NULL && name_is(l, nl, "x-ms-copy-source"));
        if (name_is(l, nl, "x-ms-version")) {
            if (version != NULL)
                return 0; /* twice: which one would the service read? */
            if (supported_version(v, (size_t)(ve - v)))
                version = v, version_len = (size_t)(ve - v);
            drop = 1;
        }
        if (!drop) {
            if (nk == MAX_KEPT)
                return 0;
            kept[nk].line = l;
            kept[nk++].len = (size_t)(le + 2 - l);
            hdrs[nh++] = (sas_sk_header_t){l, nl, v, (size_t)(ve - v)};
        }
        l = le + 2;
    }

    /* the headers we add, signed as sent */
    char date[80];
    rfc1123(p->now, date);
    if (version == NULL)
        version = GW_RESIGN_VERSION, version_len = sizeof(GW_RESIGN_VERSION) - 1;
    if (p->copy_source != NULL) {
        if (!gw_http1_is_visible(p->copy_source, p->copy_source_len))
            return 0;
        hdrs[nh++] = (sas_sk_header_t){"x-ms-copy-source", 16, p->copy_source, p->copy_source_len};
    }
    hdrs[nh++] = (sas_sk_header_t){"x-ms-date", 9, date, strlen(date)};
    hdrs[nh++] = (sas_sk_header_t){"x-ms-version", 12, version, version_len};
    req.num_headers = nh;

    char auth[SAS_SK_AUTH_MAX];
    size_t auth_len = sas_sk_authorization(&req, p->account, p->account_len, p->key, sts, sts_cap, auth, sizeof(auth));
    if (auth_len == 0)
        return 0;

    /* write: request line, kept lines as received, then ours */
    size_t o = 0;
    put(out, cap, &o, in, (size_t)(eol + 2 - in));
    for (size_t i = 0; i != nk; i++)
        put(out, cap, &o, kept[i].line, kept[i].len);
    if (p->copy_source != NULL) {
        put(out, cap, &o, "x-ms-copy-source: ", 18);
        put(out, cap, &o, p->copy_source, p->copy_source_len);
        put(out, cap, &o, "\r\n", 2);
    }
    put(out, cap, &o, "x-ms-date: ", 11);
    put(out, cap, &o, date, strlen(date));
    put(out, cap, &o, "\r\nx-ms-version: ", 16);
    put(out, cap, &o, version, version_len);
    put(out, cap, &o, "\r\nauthorization: ", 17);
    put(out, cap, &o, auth, auth_len);
    put(out, cap, &o, "\r\n\r\n", 4);
    return o <= cap ? o : 0;
}

int gw_resign_host_style(const gw_keyring_account_t *a)
{
    const gw_backend_t *b = a->upstream;
    size_t n = a->upstream_account_len;
    return b != NULL && n != 0 && strlen(b->host) > n && strncasecmp(b->host, a->upstream_account, n) == 0 && b->host[n] == '.';
}

int gw_resign_finish(const gw_proxy_decision_t *d, char **head, size_t *len, int64_t now)
{
    const gw_keyring_account_t *a = d->account;
    if (a->nupstream_keys == 0)
        return GW_RESIGN_E_NO_KEY;
    gw_resign_params_t p = {.account = a->upstream_account,
                            .account_len = a->upstream_account_len,
                            .key = &a->upstream_keys[0].key,
                            .now = now,
                            .copy_source = d->copy_source,
                            .copy_source_len = d->copy_source_len};
    size_t cap = *len + GW_RESIGN_HEAD_EXTRA + d->copy_source_len, sts_cap = *len + d->copy_source_len + 1024;
    char small[8192], *sts = sts_cap <= sizeof(small) ? small : sg_alloc(sts_cap); /* the string to sign: scratch */
    char *out = sg_alloc(cap);
    size_t n = gw_resign_build(*head, *len, &p, out, cap, sts, sts_cap);
    if (sts != small)
        free(sts);
    if (n == 0) {
        free(out);
        return GW_RESIGN_E_UNSIGNABLE;
    }
    free(*head);
    *head = out;
    *len = n;
    return GW_RESIGN_OK;
}

void gw_resign_refuse(gw_proxy_decision_t *d, int rc)
{
    d->verdict = GW_PROXY_REFUSE;
    d->sts_len = 0;
    if (rc == GW_RESIGN_E_NO_KEY) {
        d->status = 403;
        d->code = "AuthenticationFailed";
        d->err.reason = SAS_R_NO_KEY;
        snprintf(d->err.message, sizeof(d->err.message), "the account has no active storage key to authorize the request upstream");
        return;
    }
    d->status = 400;
    d->code = "InvalidHeaderValue";
    d->err.reason = SAS_R_INVALID_ARGUMENT;
    snprintf(d->err.message, sizeof(d->err.message),
             "the request cannot be authorized upstream as it is (a header given twice, or a query two servers would read two ways)");
}
