/*
 * http1.c - HTTP/1.x message heads of the streaming relay (see http1.h).
 * picohttpparser splits the bytes into lines and fields; the checks here
 * decide the body's framing and refuse every shape on which two parsers could
 * disagree about where a message ends.
 */
#include <string.h>

#include "http1.h"

/* What the header fields of a head say about framing and the connection. */
struct scan {
    size_t cl_count; /* Content-Length fields (all byte-identical once trimmed) */
    const char *cl;
    size_t cl_len;
    uint64_t cl_value;
    size_t te_count; /* Transfer-Encoding fields */
    const char *te;  /* the last one, trimmed */
    size_t te_len;
    int te_last_chunked; /* the last coding of all of them is "chunked" */
    size_t host_count;
    int conn_close;
    int conn_keepalive;
    int expect_continue;
    int expect_other;
    int upgrade;
};

/* Hop-by-hop headers: HOP_BOTH ones are never forwarded either way, HOP_REQUEST ones are set by the relay upstream. */
#define HOP_BOTH 1
#define HOP_REQUEST 2

static const struct {
    const char *name;
    int kind;
} hop_headers[] = {
    {"connection", HOP_BOTH},
    {"keep-alive", HOP_BOTH},
    {"proxy-connection", HOP_BOTH},
    {"te", HOP_BOTH},
    {"trailer", HOP_BOTH},
    {"transfer-encoding", HOP_BOTH},
    {"upgrade", HOP_BOTH},
    {"proxy-authorization", HOP_REQUEST},
    {"proxy-authenticate", HOP_REQUEST},
    {"host", HOP_REQUEST},
    {"content-length", HOP_REQUEST},
    {"expect", HOP_REQUEST},
    {"x-forwarded-for", HOP_REQUEST},
    {"x-forwarded-proto", HOP_REQUEST},
};

/* RFC 9110 tchar: the bytes of a token (methods, header names, list elements). */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return 1;
    default:
        return 0;
    }
}

int gw_http1_is_token(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i != len; ++i)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

int gw_http1_is_field_value(const char *s, size_t len)
{
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

int gw_http1_is_visible(const char *s, size_t len)
{
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int eq_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i != alen; ++i)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* 1 when s (len bytes, any case) is the lower-case literal lit. */
static int eq_lit(const char *s, size_t len, const char *lit)
{
    return eq_nocase(s, len, lit, strlen(lit));
}

static void trim_ows(const char **s, size_t *len)
{
    while (*len != 0 && (**s == ' ' || **s == '\t')) {
        ++*s;
        --*len;
    }
    while (*len != 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        --*len;
}

/* Walks the comma-separated elements of a list value; empty elements are returned as such (RFC 9110 §5.6.1). */
struct list_iter {
    const char *p, *end;
    int done;
};

static void list_init(struct list_iter *it, const char *value, size_t len)
{
    it->p = value;
    it->end = value + len;
    it->done = 0;
}

static int list_next(struct list_iter *it, const char **elem, size_t *elem_len)
{
    if (it->done)
        return 0;
    const char *comma = memchr(it->p, ',', (size_t)(it->end - it->p));
    const char *stop = comma != NULL ? comma : it->end;
    *elem = it->p;
    *elem_len = (size_t)(stop - it->p);
    trim_ows(elem, elem_len);
    if (comma != NULL)
        it->p = comma + 1;
    else
        it->done = 1;
    return 1;
}

/* 1 when one of the head's Connection fields lists name (any case) as a token. */
static int named_by_connection(const gw_http1_head_t *h, const char *name, size_t name_len)
{
    for (size_t i = 0; i != h->num_headers; ++i) {
        if (!eq_lit(h->headers[i].name, h->headers[i].name_len, "connection"))
            continue;
        struct list_iter it;
        const char *e;
        size_t elen;
        list_init(&it, h->headers[i].value, h->headers[i].value_len);
        while (list_next(&it, &e, &elen))
            if (eq_nocase(e, elen, name, name_len))
                return 1;
    }
    return 0;
}

/* 1..19 digits and nothing else: no sign, no inner space, no list. 19 digits always fit in uint64_t. */
static int parse_content_length(const char *s, size_t len, uint64_t *value)
{
    uint64_t v = 0;

    if (len == 0 || len > 19)
        return -1;
    for (size_t i = 0; i != len; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *value = v;
    return 0;
}

/*
 * Checks every header field of h (names are tokens, values have no control
 * bytes, no obsolete line folding, Content-Length well formed and, when
 * repeated, byte-identical) and collects what decides framing into s.
 * Returns 0, or -1 when the head must be refused.
 */
static int scan_headers(const gw_http1_head_t *h, struct scan *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i != h->num_headers; ++i) {
        const struct phr_header *f = &h->headers[i];
        const char *v = f->value;
        size_t vlen = f->value_len;
        struct list_iter it;
        const char *e;
        size_t elen;

        /* a NULL name is a folded continuation line (obs-fold) */
        if (f->name == NULL || !gw_http1_is_token(f->name, f->name_len) || !gw_http1_is_field_value(v, vlen))
            return -1;
        trim_ows(&v, &vlen);
        switch (lower((unsigned char)f->name[0])) {
        case 'c':
            if (eq_lit(f->name, f->name_len, "content-length")) {
                if (s->cl_count != 0) {
                    if (vlen != s->cl_len || memcmp(v, s->cl, vlen) != 0)
                        return -1;
                } else if (parse_content_length(v, vlen, &s->cl_value) != 0) {
                    return -1;
                }
                s->cl = v;
                s->cl_len = vlen;
                ++s->cl_count;
            } else if (eq_lit(f->name, f->name_len, "connection")) {
                list_init(&it, v, vlen);
                while (list_next(&it, &e, &elen)) {
                    if (eq_lit(e, elen, "close"))
                        s->conn_close = 1;
                    else if (eq_lit(e, elen, "keep-alive"))
                        s->conn_keepalive = 1;
                }
            }
            break;
        case 'e':
            if (eq_lit(f->name, f->name_len, "expect")) {
                if (eq_lit(v, vlen, "100-continue"))
                    s->expect_continue = 1;
                else
                    s->expect_other = 1;
            }
            break;
        case 'h':
            if (eq_lit(f->name, f->name_len, "host"))
                ++s->host_count;
            break;
        case 't':
            if (eq_lit(f->name, f->name_len, "transfer-encoding")) {
                ++s->te_count;
                s->te = v;
                s->te_len = vlen;
                /* the last non-empty coding of all the fields, which are one list */
                list_init(&it, v, vlen);
                while (list_next(&it, &e, &elen))
                    if (elen != 0)
                        s->te_last_chunked = eq_lit(e, elen, "chunked");
            }
            break;
        case 'u':
            if (eq_lit(f->name, f->name_len, "upgrade"))
                s->upgrade = 1;
            break;
        }
    }
    return 0;
}

static int keepalive_of(int minor_version, const struct scan *s)
{
    if (s->conn_close)
        return 0;
    return minor_version == 1 || s->conn_keepalive;
}

/*
 * Whether a head phr refused (-1) has more header lines than
 * GW_HTTP1_MAX_HEADERS: phr says -1 for that too, and the client deserves 431.
 * Counts the lines after the first up to a blank one (a partial last line
 * counts: phr refuses as soon as it starts).
 */
static int too_many_headers(const char *buf, size_t len)
{
    size_t lines = 0, i = 0;

    if (len != 0 && buf[0] == '\n')
        i = 1;
    else if (len > 1 && buf[0] == '\r' && buf[1] == '\n')
        i = 2;
    /* skip the start line */
    while (i != len && buf[i] != '\n')
        ++i;
    if (i == len)
        return 0;
    ++i;
    while (i != len && buf[i] != '\n' && !(buf[i] == '\r' && i + 1 != len && buf[i + 1] == '\n')) {
        if (++lines > GW_HTTP1_MAX_HEADERS)
            return 1;
        while (i != len && buf[i] != '\n')
            ++i;
        if (i != len)
            ++i;
    }
    return 0;
}

static void reset_head(gw_http1_head_t *out)
{
    out->method = NULL;
    out->method_len = 0;
    out->target = NULL;
    out->target_len = 0;
    out->status = 0;
    out->reason = NULL;
    out->reason_len = 0;
    out->minor_version = -1;
    out->num_headers = GW_HTTP1_MAX_HEADERS;
    out->head_len = 0;
    out->body = GW_HTTP1_BODY_NONE;
    out->content_length = 0;
    out->keepalive = 0;
    out->expect_continue = 0;
    out->upgrade = 0;
}

long gw_http1_parse_request(const char *buf, size_t len, uint64_t max_body, gw_http1_head_t *out)
{
    /* phr never sees more than the largest head, so a longer one reads as incomplete */
    size_t avail = len < GW_HTTP1_MAX_HEAD ? len : GW_HTTP1_MAX_HEAD;
    struct scan s;
    int ret;

    reset_head(out);
    ret = phr_parse_request(buf, avail, &out->method, &out->method_len, &out->target, &out->target_len, &out->minor_version,
                            out->headers, &out->num_headers, 0);
    if (ret == -2) {
        out->num_headers = 0;
        return len > GW_HTTP1_MAX_HEAD ? -431 : 0;
    }
    if (ret < 0) {
        out->num_headers = 0;
        return too_many_headers(buf, avail) ? -431 : -400;
    }
    out->head_len = (size_t)ret;

    /* request line: a token method, origin form, exactly "HTTP/1.0" or "HTTP/1.1" (phr versions differ on "HTTP/1.01") */
    if (out->method_len > 32 || !gw_http1_is_token(out->method, out->method_len))
        return -400;
    if (out->target_len == 0 || out->target[0] != '/' || !gw_http1_is_visible(out->target, out->target_len))
        return -400;
    if (out->minor_version != 0 && out->minor_version != 1)
        return -400;
    const char *after_version = out->target + out->target_len + sizeof(" HTTP/1.x") - 1;
    if (*after_version != '\r' && *after_version != '\n')
        return -400;

    if (scan_headers(out, &s) != 0)
        return -400;

    /* framing: chunked alone, or a Content-Length, or nothing */
    if (s.te_count != 0) {
        if (s.te_count > 1 || s.cl_count != 0 || out->minor_version == 0)
            return -400;
        if (!eq_lit(s.te, s.te_len, "chunked"))
            return -501;
        out->body = GW_HTTP1_BODY_CHUNKED;
    } else if (s.cl_count != 0) {
        out->body = GW_HTTP1_BODY_LENGTH;
        out->content_length = s.cl_value;
    }
    if (out->minor_version == 1 ? s.host_count != 1 : s.host_count > 1)
        return -400;
    if (s.expect_other)
        return -417;
    if (out->body == GW_HTTP1_BODY_LENGTH && out->content_length > max_body)
        return -413;

    out->keepalive = keepalive_of(out->minor_version, &s);
    /* an HTTP/1.0 client cannot wait for 100 Continue; RFC 9110 §10.1.1 says ignore it */
    out->expect_continue = s.expect_continue && out->minor_version == 1;
    out->upgrade = s.upgrade;
    return ret;
}

long gw_http1_parse_response(const char *buf, size_t len, int method_is_head, gw_http1_head_t *out)
{
    size_t avail = len < GW_HTTP1_MAX_HEAD ? len : GW_HTTP1_MAX_HEAD;
    struct scan s;
    int ret;

    reset_head(out);
    ret = phr_parse_response(buf, avail, &out->minor_version, &out->status, &out->reason, &out->reason_len, out->headers,
                             &out->num_headers, 0);
    if (ret == -2) {
        out->num_headers = 0;
        return len > GW_HTTP1_MAX_HEAD ? -1 : 0;
    }
    if (ret < 0) {
        out->num_headers = 0;
        return -1;
    }
    out->head_len = (size_t)ret;

    /* status line: exactly "HTTP/1.x ddd " (phr versions differ on "HTTP/1.01" and "0200") */
    if (out->minor_version != 0 && out->minor_version != 1)
        return -1;
    if (!(buf[8] == ' ' && buf[9] >= '0' && buf[9] <= '9' && buf[10] >= '0' && buf[10] <= '9' && buf[11] >= '0' && buf[11] <= '9' &&
          buf[12] == ' '))
        return -1;
    if (out->status < 100 || out->status > 599 || out->status == 101)
        return -1;

    if (scan_headers(out, &s) != 0)
        return -1;
    out->upgrade = s.upgrade;
    out->keepalive = keepalive_of(out->minor_version, &s);
    if (out->status < 200)
        return ret;

    if (method_is_head || out->status == 204 || out->status == 304) {
        out->body = GW_HTTP1_BODY_NONE;
        out->content_length = s.cl_value;
    } else if (s.te_count != 0) {
        out->body = s.te_last_chunked ? GW_HTTP1_BODY_CHUNKED : GW_HTTP1_BODY_CLOSE;
    } else if (s.cl_count != 0) {
        out->body = GW_HTTP1_BODY_LENGTH;
        out->content_length = s.cl_value;
    } else {
        out->body = GW_HTTP1_BODY_CLOSE;
    }
    /* faulty framing (RFC 9112 §6.1, §6.3): Transfer-Encoding with Content-Length or in HTTP/1.0 ends the connection */
    if (out->body == GW_HTTP1_BODY_CLOSE || (s.te_count != 0 && (s.cl_count != 0 || out->minor_version == 0)))
        out->keepalive = 0;
    return ret;
}

static int hop_kind(const char *name, size_t len)
{
    for (size_t i = 0; i != sizeof(hop_headers) / sizeof(hop_headers[0]); ++i)
        if (eq_lit(name, len, hop_headers[i].name))
            return hop_headers[i].kind;
    return 0;
}

int gw_http1_is_hop_header(const char *name, size_t len)
{
    return hop_kind(name, len) != 0;
}

/* An output buffer that never writes past cap and remembers that something did not fit. */
struct out_buf {
    char *p;
    size_t cap;
    size_t len;
    int overflow;
};

static void put(struct out_buf *b, const char *s, size_t n)
{
    if (b->overflow || n > b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    if (n != 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_str(struct out_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_u64(struct out_buf *b, uint64_t v)
{
    char digits[20];
    size_t n = sizeof(digits);

    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(b, digits + n, sizeof(digits) - n);
}

static void put_header(struct out_buf *b, const struct phr_header *f)
{
    put(b, f->name, f->name_len);
    put(b, ": ", 2);
    put(b, f->value, f->value_len);
    put(b, "\r\n", 2);
}

static size_t finish(struct out_buf *b)
{
    return b->overflow ? 0 : b->len;
}

/* Methods are case-sensitive (RFC 9110 §9.1). */
static int is_method(const gw_http1_head_t *req, const char *method)
{
    return req->method_len == strlen(method) && memcmp(req->method, method, req->method_len) == 0;
}

size_t gw_http1_write_upstream_request(char *out, size_t cap, const gw_http1_head_t *req, const char *prefix, size_t prefix_len,
                                       const char *target, size_t target_len, const char *host_header, const char *peer_text,
                                       int is_https)
{
    struct out_buf b = {out, cap, 0, 0};
    int have_peer = peer_text != NULL && peer_text[0] != '\0';
    size_t xff_count = 0;

    /* what the relay supplies must not break the head: origin form, no control bytes */
    if (prefix_len + target_len == 0 || (prefix_len != 0 ? prefix[0] : target[0]) != '/' || !gw_http1_is_visible(prefix, prefix_len) ||
        !gw_http1_is_visible(target, target_len) || host_header == NULL || !gw_http1_is_field_value(host_header, strlen(host_header)) ||
        (have_peer && !gw_http1_is_field_value(peer_text, strlen(peer_text))))
        return 0;

    /* request line and Host */
    put(&b, req->method, req->method_len);
    put(&b, " ", 1);
    put(&b, prefix, prefix_len);
    put(&b, target, target_len);
    put_str(&b, " HTTP/1.1\r\nhost: ");
    put_str(&b, host_header);
    put(&b, "\r\n", 2);

    /* end-to-end headers in order */
    for (size_t i = 0; i != req->num_headers; ++i) {
        const struct phr_header *f = &req->headers[i];
        if (eq_lit(f->name, f->name_len, "x-forwarded-for")) {
            const char *v = f->value;
            size_t vlen = f->value_len;
            trim_ows(&v, &vlen);
            if (vlen != 0)
                ++xff_count;
        }
        if (gw_http1_is_hop_header(f->name, f->name_len) || named_by_connection(req, f->name, f->name_len))
            continue;
        put_header(&b, f);
    }

    /* framing as the client sent it; a bodyless PUT/POST/PATCH still says its length, as Azure wants one */
    switch (req->body) {
    case GW_HTTP1_BODY_LENGTH:
        put_str(&b, "content-length: ");
        put_u64(&b, req->content_length);
        put(&b, "\r\n", 2);
        break;
    case GW_HTTP1_BODY_CHUNKED:
        put_str(&b, "transfer-encoding: chunked\r\n");
        break;
    default:
        if (is_method(req, "PUT") || is_method(req, "POST") || is_method(req, "PATCH"))
            put_str(&b, "content-length: 0\r\n");
        break;
    }

    /* X-Forwarded-For: the client's chain (its fields joined), then the peer */
    if (xff_count != 0 || have_peer) {
        const char *sep = "";
        put_str(&b, "x-forwarded-for: ");
        for (size_t i = 0; i != req->num_headers; ++i) {
            const struct phr_header *f = &req->headers[i];
            const char *v = f->value;
            size_t vlen = f->value_len;
            if (!eq_lit(f->name, f->name_len, "x-forwarded-for"))
                continue;
            trim_ows(&v, &vlen);
            if (vlen == 0)
                continue;
            put_str(&b, sep);
            put(&b, v, vlen);
            sep = ", ";
        }
        if (have_peer) {
            put_str(&b, sep);
            put_str(&b, peer_text);
        }
        put(&b, "\r\n", 2);
    }
    put_str(&b, is_https ? "x-forwarded-proto: https\r\n" : "x-forwarded-proto: http\r\n");
    put(&b, "\r\n", 2);
    return finish(&b);
}

static const struct {
    int status;
    const char *reason;
} standard_reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

/* The reason phrase for a response whose upstream sent none ("" for codes without a registered one). */
static const char *standard_reason(int status)
{
    for (size_t i = 0; i != sizeof(standard_reasons) / sizeof(standard_reasons[0]); ++i)
        if (standard_reasons[i].status == status)
            return standard_reasons[i].reason;
    return "";
}

size_t gw_http1_write_client_response(char *out, size_t cap, const gw_http1_head_t *res, int chunked_out, int keepalive)
{
    struct out_buf b = {out, cap, 0, 0};
    int drop_length = chunked_out || res->body == GW_HTTP1_BODY_CHUNKED || res->body == GW_HTTP1_BODY_CLOSE;

    if (res->status < 100 || res->status > 599)
        return 0;
    /* a Transfer-Encoding overrides any Content-Length beside it (RFC 9112 §6.3), which then must not go on */
    for (size_t i = 0; i != res->num_headers && !drop_length; ++i)
        if (eq_lit(res->headers[i].name, res->headers[i].name_len, "transfer-encoding"))
            drop_length = 1;

    /* status line */
    put_str(&b, "HTTP/1.1 ");
    put_u64(&b, (uint64_t)res->status);
    put(&b, " ", 1);
    if (res->reason_len != 0)
        put(&b, res->reason, res->reason_len);
    else
        put_str(&b, standard_reason(res->status));
    put(&b, "\r\n", 2);

    /* end-to-end headers in order */
    for (size_t i = 0; i != res->num_headers; ++i) {
        const struct phr_header *f = &res->headers[i];
        /* Content-Length delimits what the relay sends: kept or dropped by the framing alone, whatever Connection says */
        if (eq_lit(f->name, f->name_len, "content-length")) {
            if (drop_length)
                continue;
        } else if (hop_kind(f->name, f->name_len) == HOP_BOTH || named_by_connection(res, f->name, f->name_len)) {
            continue;
        }
        put_header(&b, f);
    }

    if (chunked_out)
        put_str(&b, "transfer-encoding: chunked\r\n");
    put_str(&b, keepalive ? "connection: keep-alive\r\n\r\n" : "connection: close\r\n\r\n");
    return finish(&b);
}
