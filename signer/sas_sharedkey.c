/*
 * sas_sharedkey.c - Azure "Authorize with Shared Key" (Blob service,
 * x-ms-version >= 2015-02-21): the string to sign of a request, its
 * Authorization value, and checking one. signer.h says what is covered and
 * what is refused; docs/sharedkey.md says why.
 *
 * Everything is written straight into the caller's buffer. The x-ms-*
 * headers are put in order by an insertion sort of their indices (at most
 * SAS_SK_MAX_HEADERS bytes on the stack); the query parameters, at most
 * SAS_SK_MAX_PARAMS, by repeated selection over the raw query (each round
 * picks the smallest name above the last one written), and their values are
 * decoded piece by piece into the output.
 */
#include <string.h>

#include "sasgw/common.h"
#include "internal.h"

#define NONE ((size_t)-1)

/* The headers whose values make the first twelve lines, in the order the service reads them. */
enum {
    H_CONTENT_ENCODING,
    H_CONTENT_LANGUAGE,
    H_CONTENT_LENGTH,
    H_CONTENT_MD5,
    H_CONTENT_TYPE,
    H_DATE,
    H_IF_MODIFIED_SINCE,
    H_IF_MATCH,
    H_IF_NONE_MATCH,
    H_IF_UNMODIFIED_SINCE,
    H_RANGE,
    H__COUNT
};
/* clang-format off */
#define NAME(s) {s, sizeof(s) - 1}
static const struct {
    const char *s;
    size_t len;
} std_names[H__COUNT] = {
    NAME("content-encoding"), NAME("content-language"), NAME("content-length"), NAME("content-md5"),
    NAME("content-type"), NAME("date"), NAME("if-modified-since"), NAME("if-match"), NAME("if-none-match"),
    NAME("if-unmodified-since"), NAME("range"),
};
#undef NAME
/* clang-format on */

/* ---- output ------------------------------------------------------------ */

typedef struct st_sk_out_t {
    char *p;
    size_t cap; /* bytes usable before the NUL */
    size_t len;
    int full;
} sk_out_t;

static void put(sk_out_t *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (o->full || n > o->cap - o->len) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void putc1(sk_out_t *o, char c)
{
    if (o->full || o->len == o->cap) {
        o->full = 1;
        return;
    }
    o->p[o->len++] = c;
}

/* ---- character classes ------------------------------------------------- */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/*
 * Byte classes, one bit each: ALNUM [A-Za-z0-9]; TCHAR an HTTP token byte;
 * PATH a byte a path may carry raw (0x21-0x7e but " # < > ? ` { } \);
 * QNAME a query name byte (unreserved); QVALUE a raw query value byte every
 * reader decodes alike (unreserved, "!$'()*,;:@/?" and '%').
 */
enum { ALNUM = 1, TCHAR = 2, PATH = 4, QNAME = 8, QVALUE = 16 };
#define A_ (ALNUM | TCHAR | PATH | QNAME | QVALUE)
/* clang-format off */
static const unsigned char byte_class[256] = {
    ['!'] = TCHAR | PATH | QVALUE, ['#'] = TCHAR, ['$'] = TCHAR | PATH | QVALUE, ['%'] = TCHAR | PATH | QVALUE,
    ['&'] = TCHAR | PATH, ['\''] = TCHAR | PATH | QVALUE, ['('] = PATH | QVALUE, [')'] = PATH | QVALUE,
    ['*'] = TCHAR | PATH | QVALUE, ['+'] = TCHAR | PATH, [','] = PATH | QVALUE, ['-'] = TCHAR | PATH | QNAME | QVALUE,
    ['.'] = TCHAR | PATH | QNAME | QVALUE, ['/'] = PATH | QVALUE, [':'] = PATH | QVALUE, [';'] = PATH | QVALUE,
    ['='] = PATH, ['?'] = QVALUE, ['@'] = PATH | QVALUE, ['['] = PATH, [']'] = PATH, ['^'] = TCHAR | PATH,
    ['_'] = TCHAR | PATH | QNAME | QVALUE, ['`'] = TCHAR, ['|'] = TCHAR | PATH, ['~'] = TCHAR | PATH | QNAME | QVALUE,
    ['0'] = A_, ['1'] = A_, ['2'] = A_, ['3'] = A_, ['4'] = A_, ['5'] = A_, ['6'] = A_, ['7'] = A_, ['8'] = A_, ['9'] = A_,
    ['A'] = A_, ['B'] = A_, ['C'] = A_, ['D'] = A_, ['E'] = A_, ['F'] = A_, ['G'] = A_,
    ['H'] = A_, ['I'] = A_, ['J'] = A_, ['K'] = A_, ['L'] = A_, ['M'] = A_,
    ['N'] = A_, ['O'] = A_, ['P'] = A_, ['Q'] = A_, ['R'] = A_, ['S'] = A_, ['T'] = A_,
    ['U'] = A_, ['V'] = A_, ['W'] = A_, ['X'] = A_, ['Y'] = A_, ['Z'] = A_,
    ['a'] = A_, ['b'] = A_, ['c'] = A_, ['d'] = A_, ['e'] = A_, ['f'] = A_, ['g'] = A_,
    ['h'] = A_, ['i'] = A_, ['j'] = A_, ['k'] = A_, ['l'] = A_, ['m'] = A_,
    ['n'] = A_, ['o'] = A_, ['p'] = A_, ['q'] = A_, ['r'] = A_, ['s'] = A_, ['t'] = A_,
    ['u'] = A_, ['v'] = A_, ['w'] = A_, ['x'] = A_, ['y'] = A_, ['z'] = A_,
};
/* clang-format on */
#undef A_

static int is(unsigned cls, int c)
{
    return (byte_class[(unsigned char)c] & cls) != 0;
}

static int eq_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int is_xms(const sas_sk_header_t *h)
{
    return h->name_len >= 5 && eq_nocase(h->name, 5, "x-ms-", 5);
}

/* The header's value with leading and trailing SP / HTAB removed. */
static void trimmed(const sas_sk_header_t *h, const char **v, size_t *n)
{
    const char *s = h->value, *e = h->value + h->value_len;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *v = s;
    *n = (size_t)(e - s);
}

/* ---- the SDK's header order -------------------------------------------- */

/*
 * SharedKeyComparator of @azure/storage-blob (the service's en-US culture
 * order) over lower-cased HTTP tokens: three levels of weights; a character of
 * weight 0 is skipped at that level. Level 1 orders punctuation, digits, then
 * letters and ignores '\'' and '-'; level 2 weighs upper-case letters only (so
 * it never decides between lower-cased names); level 3 weighs only '\'' and
 * '-', and there a difference in position decides at once.
 */
/* clang-format off */
static const unsigned short primary_weight[128] = {
    ['!'] = 0x71c, ['#'] = 0x71f, ['$'] = 0x721, ['%'] = 0x723, ['&'] = 0x725, ['*'] = 0x72d, ['.'] = 0x733,
    ['^'] = 0x743, ['_'] = 0x744, ['`'] = 0x748, ['|'] = 0x74c, ['~'] = 0x750, ['+'] = 0x803,
    ['0'] = 0xd03, ['1'] = 0xd1a, ['2'] = 0xd1c, ['3'] = 0xd1e, ['4'] = 0xd20,
    ['5'] = 0xd22, ['6'] = 0xd24, ['7'] = 0xd26, ['8'] = 0xd28, ['9'] = 0xd2a,
    ['a'] = 0xe02, ['b'] = 0xe09, ['c'] = 0xe0a, ['d'] = 0xe1a, ['e'] = 0xe21, ['f'] = 0xe23, ['g'] = 0xe25,
    ['h'] = 0xe2c, ['i'] = 0xe32, ['j'] = 0xe35, ['k'] = 0xe36, ['l'] = 0xe48, ['m'] = 0xe51,
    ['n'] = 0xe70, ['o'] = 0xe7c, ['p'] = 0xe7e, ['q'] = 0xe89, ['r'] = 0xe8a, ['s'] = 0xe91, ['t'] = 0xe99,
    ['u'] = 0xe9f, ['v'] = 0xea2, ['w'] = 0xea4, ['x'] = 0xea6, ['y'] = 0xea7, ['z'] = 0xea9,
};
/* clang-format on */

/* c is a lower-cased HTTP token byte (below 128). */
static unsigned weight(int level, int c)
{
    if (level == 0)
        return primary_weight[c & 0x7f];
    if (level == 1)
        return c >= 'A' && c <= 'Z' ? 0x12 : 0;
    return c == '\'' ? 0x8012 : c == '-' ? 0x8212 : 0;
}

/* 1 when header name a sorts before b (both lower-cased on the fly). */
static int name_less(const char *a, size_t alen, const char *b, size_t blen)
{
    /*
     * A common prefix walks in step at every level (equal bytes, equal
     * weights, i == j throughout), so every level may start after it.
     */
    size_t p = 0, n = alen < blen ? alen : blen;
    while (p < n && lower((unsigned char)a[p]) == lower((unsigned char)b[p]))
        p++;
    size_t i = p, j = p;
    int level = 0;
    while (level < 3) {
        if (level == 2 && i != j)
            return i > j;
        unsigned w1 = i < alen ? weight(level, lower((unsigned char)a[i])) : 1;
        unsigned w2 = j < blen ? weight(level, lower((unsigned char)b[j])) : 1;
        if (w1 == 1 && w2 == 1) {
            i = j = p;
            level++;
        } else if (w1 == w2) {
            i++;
            j++;
        } else if (w1 == 0) {
            i++;
        } else if (w2 == 0) {
            j++;
        } else {
            return w1 < w2;
        }
    }
    return 0;
}

/* ---- checks ------------------------------------------------------------ */

static sas_reason_t check_value(const sas_sk_header_t *h, sas_error_t *err)
{
    const char *v;
    size_t n;
    char q[48];
    trimmed(h, &v, &n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "header %s holds a control or non-ASCII byte",
                             sas__quote(q, sizeof(q), h->name, h->name_len));
    return SAS_OK;
}

/*
 * Finds the eleven standard headers (std[k] = index or NONE), counts the
 * x-ms-* ones, and applies every header rule of signer.h.
 */
static sas_reason_t check_headers(const sas_sk_request_t *req, size_t std[H__COUNT], size_t *nxms, sas_error_t *err)
{
    char q[48];
    sas_reason_t r;
    if (req->num_headers > SAS_SK_MAX_HEADERS)
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "more than %d headers", SAS_SK_MAX_HEADERS);
    if (req->num_headers != 0 && req->headers == NULL)
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "no headers given");
    for (size_t k = 0; k < H__COUNT; k++)
        std[k] = NONE;
    *nxms = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const sas_sk_header_t *h = &req->headers[i];
        if ((h->name == NULL && h->name_len != 0) || (h->value == NULL && h->value_len != 0))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "header without bytes");
        size_t k = is_xms(h) ? H__COUNT : 0;
        while (k < H__COUNT && !eq_nocase(h->name, h->name_len, std_names[k].s, std_names[k].len))
            k++;
        if (k < H__COUNT) {
            if (std[k] != NONE)
                return sas__fail(err, SAS_R_INVALID_ARGUMENT, "header %s given twice", std_names[k].s);
            std[k] = i;
        } else if (is_xms(h)) {
            for (size_t c = 0; c < h->name_len; c++)
                if (!is(TCHAR, h->name[c]))
                    return sas__fail(err, SAS_R_INVALID_ARGUMENT, "header name %s is not a token",
                                     sas__quote(q, sizeof(q), h->name, h->name_len));
            /* metadata names are C# identifiers (Azure refuses others); with '-' or '\'' Azurite would sort them otherwise */
            if (h->name_len >= 10 && eq_nocase(h->name, 10, "x-ms-meta-", 10)) {
                int ok = h->name_len > 10 && !(h->name[10] >= '0' && h->name[10] <= '9');
                for (size_t c = 10; ok && c < h->name_len; c++)
                    ok = is(ALNUM, h->name[c]) || h->name[c] == '_';
                if (!ok)
                    return sas__fail(err, SAS_R_INVALID_ARGUMENT, "metadata name %s is not an identifier",
                                     sas__quote(q, sizeof(q), h->name, h->name_len));
            }
            ++*nxms; /* a repeat is found once they are sorted (sort_xms()) */
        } else {
            continue;
        }
        if ((r = check_value(h, err)) != SAS_OK)
            return r;
        if (eq_nocase(h->name, h->name_len, "x-ms-version", 12)) {
            const char *v;
            size_t n;
            trimmed(h, &v, &n);
            int c = sas__version_cmp(v, n, "2015-02-21");
            if (c == -2 || c < 0)
                return sas__fail(err, SAS_R_INVALID_ARGUMENT, "x-ms-version %s: Shared Key signing needs 2015-02-21 or later",
                                 sas__quote(q, sizeof(q), v, n));
        }
    }
    if (std[H_CONTENT_LENGTH] != NONE) {
        const char *v;
        size_t n;
        trimmed(&req->headers[std[H_CONTENT_LENGTH]], &v, &n);
        int ok = n >= 1 && n <= 20 && !(n > 1 && v[0] == '0');
        for (size_t i = 0; ok && i < n; i++)
            ok = v[i] >= '0' && v[i] <= '9';
        if (!ok)
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "Content-Length %s is not a canonical decimal",
                             sas__quote(q, sizeof(q), v, n));
    }
    return SAS_OK;
}

static sas_reason_t check_path(const char *p, size_t n, sas_error_t *err)
{
    if (p == NULL || n == 0 || p[0] != '/')
        return sas__fail(err, SAS_R_BAD_PATH, "the path does not start with '/'");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!is(PATH, c))
            return sas__fail(err, SAS_R_BAD_PATH, "the path holds byte 0x%02x, which a request line does not carry raw", c);
        if (c == '%' && (i + 2 >= n || sg_hexval((unsigned char)p[i + 1]) < 0 || sg_hexval((unsigned char)p[i + 2]) < 0))
            return sas__fail(err, SAS_R_BAD_PATH, "bad percent-encoding in the path");
    }
    /* "." and ".." segments, raw or encoded, are resolved by URL parsers: which one is signed? */
    for (size_t s = 1; s <= n;) {
        size_t e = s, dots = 0, other = 0;
        while (e < n && p[e] != '/') {
            if (p[e] == '.') {
                dots++;
                e++;
            } else if (p[e] == '%' && p[e + 1] == '2' && lower((unsigned char)p[e + 2]) == 'e') {
                dots++;
                e += 3;
            } else {
                other++;
                e++;
            }
        }
        if (other == 0 && (dots == 1 || dots == 2))
            return sas__fail(err, SAS_R_BAD_PATH, "the path holds a dot segment");
        s = e + 1;
    }
    return SAS_OK;
}

/*
 * How many raw bytes of value[at..len) to decode next, at most max: the cut
 * never splits a %XX nor a UTF-8 sequence (it lands before an ASCII byte or a
 * %XX that is not a continuation byte), so each piece decodes and validates on
 * its own. 0 when no such cut exists (only in invalid UTF-8).
 */
static size_t chunk_len(const char *v, size_t len, size_t at, size_t max)
{
    if (len - at <= max)
        return len - at;
    for (size_t e = at + max; e > at; e--) {
        if (v[e - 1] == '%' || (e - at >= 2 && v[e - 2] == '%'))
            continue;
        if (v[e] == '%') {
            int b = sg_hexval((unsigned char)v[e + 1]) << 4 | sg_hexval((unsigned char)v[e + 2]);
            if (b >= 0x80 && b < 0xc0)
                continue;
        }
        return e - at;
    }
    return 0;
}

#define CHUNK 96

/* Checks every parameter (and that it decodes); counts them. */
static sas_reason_t check_query(const char *query, size_t len, size_t *count, sas_error_t *err)
{
    sg_query_iter_t it;
    const char *name, *value;
    size_t nlen, vlen, n = 0;
    char q[48];
    if (query == NULL && len != 0)
        return sas__fail(err, SAS_R_MALFORMED_QUERY, "query without bytes");
    sg_query_init(&it, query, len);
    while (sg_query_next(&it, &name, &nlen, &value, &vlen)) {
        if (++n > SAS_SK_MAX_PARAMS)
            return sas__fail(err, SAS_R_MALFORMED_QUERY, "more than %d query parameters", SAS_SK_MAX_PARAMS);
        if (nlen == 0)
            return sas__fail(err, SAS_R_MALFORMED_QUERY, "an empty query parameter name");
        for (size_t i = 0; i < nlen; i++)
            if (!is(QNAME, name[i]))
                return sas__fail(err, SAS_R_MALFORMED_QUERY, "query parameter name %s is not plain",
                                 sas__quote(q, sizeof(q), name, nlen));
        if (value == name + nlen || vlen == 0)
            return sas__fail(err, SAS_R_MALFORMED_QUERY, "query parameter %s has no value (SDKs sign that differently)",
                             sas__quote(q, sizeof(q), name, nlen));
        for (size_t i = 0; i < vlen; i++)
            if (!is(QVALUE, value[i]))
                return sas__fail(err, SAS_R_MALFORMED_QUERY, "query parameter %s holds a raw 0x%02x",
                                 sas__quote(q, sizeof(q), name, nlen), (unsigned char)value[i]);
        /* decode piece by piece: no control byte, valid UTF-8 */
        for (size_t at = 0, step; at < vlen; at += step) {
            char chunk[CHUNK];
            unsigned holds = 0;
            long d;
            if ((step = chunk_len(value, vlen, at, sizeof(chunk))) == 0 ||
                (d = sg_pct_decode(chunk, value + at, step, 0, &holds)) < 0 || (holds & SG_PCT_HELD_CONTROL) ||
                ((holds & SG_PCT_HELD_NON_ASCII) && !sas__utf8_valid(chunk, (size_t)d)))
                return sas__fail(err, SAS_R_MALFORMED_QUERY,
                                 "query parameter %s: bad percent-encoding, a control byte or invalid UTF-8",
                                 sas__quote(q, sizeof(q), name, nlen));
        }
        /* a name given twice, in any case */
        sg_query_iter_t it2;
        const char *n2, *v2;
        size_t n2len, v2len;
        sg_query_init(&it2, query, len);
        while (sg_query_next(&it2, &n2, &n2len, &v2, &v2len) && n2 != name)
            if (eq_nocase(n2, n2len, name, nlen))
                return sas__fail(err, SAS_R_DUPLICATE_PARAM, "query parameter %s given twice",
                                 sas__quote(q, sizeof(q), name, nlen));
    }
    *count = n;
    return SAS_OK;
}

/* Bytewise order of lower-cased names (JavaScript's default sort on ASCII). */
static int param_less(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        int x = lower((unsigned char)a[i]), y = lower((unsigned char)b[i]);
        if (x != y)
            return x < y;
    }
    return alen < blen;
}

/* ---- the string to sign ------------------------------------------------ */

static void put_lower(sk_out_t *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        o->p[o->len + i] = (char)lower((unsigned char)s[i]);
    o->len += n;
}

/*
 * Sorts the indices of the x-ms-* headers into order[] (insertion sort, the
 * SDK's comparator) and refuses a name given twice in any case: equal names
 * compare equal to everything alike, so a repeat ends up next to its twin.
 */
static sas_reason_t sort_xms(const sas_sk_request_t *req, uint8_t *order, size_t *count, sas_error_t *err)
{
    const sas_sk_header_t *hs = req->headers;
    size_t m = 0;
    char q[48];
    for (size_t i = 0; i < req->num_headers; i++) {
        if (!is_xms(&hs[i]))
            continue;
        size_t at = m++;
        while (at > 0 && name_less(hs[i].name, hs[i].name_len, hs[order[at - 1]].name, hs[order[at - 1]].name_len)) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = (uint8_t)i;
    }
    for (size_t k = 1; k < m; k++) {
        const sas_sk_header_t *a = &hs[order[k - 1]], *b = &hs[order[k]];
        if (eq_nocase(a->name, a->name_len, b->name, b->name_len))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "header %s given twice", sas__quote(q, sizeof(q), b->name, b->name_len));
    }
    *count = m;
    return SAS_OK;
}

sas_reason_t sas_sk_canonicalize(const sas_sk_request_t *req, const char *account, size_t account_len, char *out, size_t cap,
                                 size_t *len, sas_error_t *err)
{
    size_t std[H__COUNT], nxms = 0, nparams = 0, m = 0;
    uint8_t order[SAS_SK_MAX_HEADERS];
    sas_reason_t r;
    sk_out_t o;

    if (len != NULL)
        *len = 0;
    if (out == NULL || cap == 0)
        return sas__fail(err, SAS_R_BUFFER_TOO_SMALL, "no output buffer");
    out[0] = '\0';
    if (req == NULL)
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "no request");

    /* check everything before writing anything */
    if (req->method == NULL || req->method_len == 0 || req->method_len > 16)
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "invalid method");
    for (size_t i = 0; i < req->method_len; i++)
        if (req->method[i] < 'A' || req->method[i] > 'Z')
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "invalid method");
    if (account == NULL || account_len == 0 || account_len > SAS_SK_ACCOUNT_MAX)
        return sas__fail(err, SAS_R_INVALID_ARGUMENT, "invalid account name");
    for (size_t i = 0; i < account_len; i++)
        if (!((account[i] >= 'a' && account[i] <= 'z') || (account[i] >= '0' && account[i] <= '9')))
            return sas__fail(err, SAS_R_INVALID_ARGUMENT, "invalid account name");
    if ((r = check_headers(req, std, &nxms, err)) != SAS_OK || (r = sort_xms(req, order, &m, err)) != SAS_OK ||
        (r = check_path(req->path, req->path_len, err)) != SAS_OK ||
        (r = check_query(req->query, req->query_len, &nparams, err)) != SAS_OK) {
        out[0] = '\0';
        return r;
    }

    o = (sk_out_t){out, cap - 1, 0, 0};
    /* VERB and the eleven standard headers, one line each */
    put(&o, req->method, req->method_len);
    putc1(&o, '\n');
    for (size_t k = 0; k < H__COUNT; k++) {
        if (std[k] != NONE) {
            const char *v;
            size_t n;
            trimmed(&req->headers[std[k]], &v, &n);
            if (!(k == H_CONTENT_LENGTH && n == 1 && v[0] == '0'))
                put(&o, v, n);
        }
        putc1(&o, '\n');
    }

    /* CanonicalizedHeaders: x-ms-* in the SDK's order */
    for (size_t k = 0; k < m; k++) {
        const sas_sk_header_t *h = &req->headers[order[k]];
        const char *v;
        size_t n;
        put_lower(&o, h->name, h->name_len);
        putc1(&o, ':');
        trimmed(h, &v, &n);
        put(&o, v, n);
        putc1(&o, '\n');
    }

    /* CanonicalizedResource: /account/path, then the parameters by name */
    putc1(&o, '/');
    put(&o, account, account_len);
    put(&o, req->path, req->path_len);
    const char *lname = NULL;
    size_t lname_len = 0;
    for (size_t round = 0; round < nparams; round++) {
        sg_query_iter_t it;
        const char *name, *value, *bname = NULL, *bvalue = NULL;
        size_t nlen, vlen, bname_len = 0, bvalue_len = 0;
        sg_query_init(&it, req->query, req->query_len);
        while (sg_query_next(&it, &name, &nlen, &value, &vlen)) {
            if (lname != NULL && !param_less(lname, lname_len, name, nlen))
                continue;
            if (bname == NULL || param_less(name, nlen, bname, bname_len)) {
                bname = name, bname_len = nlen;
                bvalue = value, bvalue_len = vlen;
            }
        }
        putc1(&o, '\n');
        put_lower(&o, bname, bname_len);
        putc1(&o, ':');
        /* decode piece by piece, as checked above */
        for (size_t at = 0, n; at < bvalue_len; at += n) {
            char chunk[CHUNK];
            n = chunk_len(bvalue, bvalue_len, at, sizeof(chunk));
            put(&o, chunk, (size_t)sg_pct_decode(chunk, bvalue + at, n, 0, NULL));
        }
        lname = bname, lname_len = bname_len;
    }

    if (o.full) {
        out[0] = '\0';
        return sas__fail(err, SAS_R_BUFFER_TOO_SMALL, "the string to sign does not fit in %zu bytes", cap);
    }
    out[o.len] = '\0';
    if (len != NULL)
        *len = o.len;
    return SAS_OK;
}

size_t sas_sk_string_to_sign(const sas_sk_request_t *req, const char *account, size_t account_len, char *out, size_t cap)
{
    size_t len;
    return sas_sk_canonicalize(req, account, account_len, out, cap, &len, NULL) == SAS_OK ? len : 0;
}

size_t sas_sk_authorization(const sas_sk_request_t *req, const char *account, size_t account_len, const sas_key_t *key,
                            char *sts_buf, size_t sts_cap, char *out, size_t cap)
{
    uint8_t mac[SAS_SIG_LEN];
    size_t n, need;
    if (out != NULL && cap != 0)
        out[0] = '\0';
    if (key == NULL || !key->ready || out == NULL)
        return 0;
    if ((n = sas_sk_string_to_sign(req, account, account_len, sts_buf, sts_cap)) == 0)
        return 0;
    need = 10 + account_len + 1 + SAS_SIG_B64_LEN;
    if (cap <= need)
        return 0;
    sas_hmac(key, sts_buf, n, mac);
    memcpy(out, "SharedKey ", 10);
    memcpy(out + 10, account, account_len);
    out[10 + account_len] = ':';
    sg_b64_encode(mac, sizeof(mac), out + 11 + account_len);
    out[need] = '\0';
    sg_wipe(mac, sizeof(mac));
    return need;
}

int sas_sk_verify(const sas_sk_request_t *req, const char *account, size_t account_len, const sas_key_t *const *keys, size_t nkeys,
                  const char *authorization, size_t auth_len, char *sts_buf, size_t sts_cap)
{
    uint8_t want[SAS_SIG_LEN + 2], mac[SAS_SIG_LEN];
    size_t n, wlen = 0;
    int ok = 0;

    /* "SharedKey " account ":" signature, exactly */
    if (authorization == NULL || account == NULL || keys == NULL || account_len > SAS_SK_ACCOUNT_MAX ||
        auth_len != 10 + account_len + 1 + SAS_SIG_B64_LEN || memcmp(authorization, "SharedKey ", 10) != 0 ||
        memcmp(authorization + 10, account, account_len) != 0 || authorization[10 + account_len] != ':')
        return 0;
    if (sg_b64_decode(authorization + 11 + account_len, SAS_SIG_B64_LEN, want, sizeof(want), &wlen) != 0 || wlen != SAS_SIG_LEN)
        return 0;
    if ((n = sas_sk_string_to_sign(req, account, account_len, sts_buf, sts_cap)) == 0)
        return 0;
    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i] == NULL || !keys[i]->ready)
            continue;
        sas_hmac(keys[i], sts_buf, n, mac);
        ok |= sg_ct_equal(mac, want, SAS_SIG_LEN);
    }
    sg_wipe(mac, sizeof(mac));
    return ok;
}
