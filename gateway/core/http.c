/*
 * http.c - response, body, routing and addressing helpers for handlers (http.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/core/client_addr.h"
#include "sasgw/common.h"
#include "sasgw/core/http.h"

#define ROUTE_ENV "SASGW_ROUTE"

const char *gw_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

void gw_http_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = gw_http_reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_send_inline(req, body, len);
}

void gw_http_send_json(h2o_req_t *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode the response\"}}";
        gw_http_send(req, 500, "application/json; charset=utf-8", oom, sizeof(oom) - 1);
        return;
    }
    gw_http_send(req, status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
}

/* {"error":{"code":code,"message":message[,"field":field]}} as a new reference. */
static json_t *error_document(const char *code, const char *message, const char *field)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (err != NULL && field != NULL)
        json_object_set_new(err, "field", json_string(field));
    return json_pack("{s:o}", "error", err);
}

void gw_http_send_error(h2o_req_t *req, int status, const char *code, const char *message, const char *field)
{
    gw_http_send_json(req, status, error_document(code, message, field));
}

h2o_iovec_t gw_http_error_body(h2o_mem_pool_t *pool, const char *code, const char *message, const char *field)
{
    json_t *doc = error_document(code, message, field);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL)
        return h2o_strdup(pool, H2O_STRLIT("{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode the response\"}}"));
    h2o_iovec_t body = h2o_strdup(pool, text, SIZE_MAX);
    free(text);
    return body;
}

void gw_http_body_too_large_message(size_t max, char *buf, size_t len)
{
    snprintf(buf, len, "the request body is larger than %zu bytes", max);
}

int gw_http_read_body(h2o_req_t *req, size_t max, h2o_iovec_t *body)
{
    if (req->entity.len > max) {
        char msg[96];
        gw_http_body_too_large_message(max, msg, sizeof(msg));
        gw_http_send_error(req, 413, "body_too_large", msg, NULL);
        return -1;
    }
    *body = req->entity.base != NULL ? req->entity : h2o_iovec_init("", 0);
    return 0;
}

void gw_http_json_error_message(const json_error_t *error, char *out, size_t len)
{
    const char *what;
    switch (json_error_code(error)) {
    case json_error_invalid_utf8:
        what = "invalid UTF-8";
        break;
    case json_error_premature_end_of_input:
        what = "the input ends too early";
        break;
    case json_error_end_of_input_expected:
        what = "extra data after the JSON value";
        break;
    case json_error_duplicate_key:
        what = "a member name appears twice";
        break;
    case json_error_numeric_overflow:
        what = "a number is out of range";
        break;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        what = "a NUL character";
        break;
    case json_error_invalid_syntax:
    default:
        what = "invalid syntax";
        break;
    }
    snprintf(out, len, "malformed JSON at line %d, column %d: %s", error->line, error->column, what);
}

json_t *gw_http_read_json(h2o_req_t *req, size_t max)
{
    h2o_iovec_t body;
    json_error_t error;
    json_t *json;
    if (gw_http_read_body(req, max, &body) != 0)
        return NULL;
    if (body.len == 0) {
        gw_http_send_error(req, 400, "invalid_json", "the request needs a JSON object as its body", NULL);
        return NULL;
    }
    if ((json = json_loadb(body.base, body.len, JSON_REJECT_DUPLICATES, &error)) == NULL) {
        char msg[256];
        gw_http_json_error_message(&error, msg, sizeof(msg));
        gw_http_send_error(req, 400, "invalid_json", msg, NULL);
        return NULL;
    }
    if (!json_is_object(json)) {
        json_decref(json);
        gw_http_send_error(req, 400, "invalid_json", "the body must be a JSON object", NULL);
        return NULL;
    }
    return json;
}

/* Percent-decodes len bytes into pool (NUL-terminated); plus_is_space for queries. Returns -1 on a bad escape or a NUL. */
static int decode(h2o_mem_pool_t *pool, const char *s, size_t len, int plus_is_space, h2o_iovec_t *out)
{
    char *dst = h2o_mem_alloc_pool(pool, len + 1);
    unsigned holds;
    long n = sg_pct_decode(dst, s, len, plus_is_space ? SG_PCT_PLUS_SPACE : 0, &holds);
    if (n < 0 || (holds & SG_PCT_HELD_NUL))
        return -1;
    dst[n] = '\0';
    *out = h2o_iovec_init(dst, (size_t)n);
    return 0;
}

int gw_route_pattern_check(const char *pattern)
{
    size_t params = 0;
    if (pattern[0] != '/')
        return -1;
    for (const char *p = pattern; *p != '\0';) {
        if (*p != '/')
            return -1;
        p++;
        const char *seg = p;
        while (*p != '\0' && *p != '/')
            p++;
        size_t len = (size_t)(p - seg);
        if (len == 0)
            return pattern[1] == '\0' ? 0 : -1; /* only "/" may end in '/' */
        if (seg[0] == '{') {
            if (len < 3 || seg[len - 1] != '}' || memchr(seg + 1, '{', len - 2) != NULL || memchr(seg + 1, '}', len - 2) != NULL)
                return -1;
            if (++params > GW_ROUTE_MAX_PARAMS)
                return -1;
        } else if (memchr(seg, '{', len) != NULL || memchr(seg, '}', len) != NULL) {
            return -1;
        }
    }
    return 0;
}

int gw_route_match(const char *pattern, const char *path, size_t path_len, h2o_mem_pool_t *pool, gw_route_match_t *match)
{
    const char *p = pattern, *q = path, *qend = path + path_len;
    match->num_params = 0;
    if (*p == '/' && p[1] == '\0')
        return path_len == 1 && path[0] == '/';
    while (*p != '\0') {
        if (*p != '/' || q == qend || *q != '/')
            return 0;
        p++;
        q++;
        const char *pseg = p, *qseg = q;
        while (*p != '\0' && *p != '/')
            p++;
        while (q != qend && *q != '/')
            q++;
        size_t plen = (size_t)(p - pseg), qlen = (size_t)(q - qseg);
        if (pseg[0] == '{') {
            h2o_iovec_t value;
            if (qlen == 0 || match->num_params == GW_ROUTE_MAX_PARAMS || decode(pool, qseg, qlen, 0, &value) != 0)
                return 0;
            if (strcmp(value.base, ".") == 0 || strcmp(value.base, "..") == 0 || memchr(value.base, '/', value.len) != NULL)
                return 0;
            match->names[match->num_params] = pseg + 1;
            match->name_lens[match->num_params] = plen - 2;
            match->values[match->num_params++] = value;
        } else if (plen != qlen || memcmp(pseg, qseg, plen) != 0) {
            return 0;
        }
    }
    return q == qend;
}

h2o_iovec_t gw_route_param(const gw_route_match_t *match, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i != match->num_params; i++)
        if (match->name_lens[i] == len && memcmp(match->names[i], name, len) == 0)
            return match->values[i];
    return h2o_iovec_init(NULL, 0);
}

int gw_http_query_param(h2o_req_t *req, const char *name, h2o_iovec_t *value)
{
    if (req->query_at == SIZE_MAX)
        return 0;
    sg_query_iter_t it;
    const char *key_raw, *v;
    size_t key_len, v_len, name_len = strlen(name);
    sg_query_init(&it, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    while (sg_query_next(&it, &key_raw, &key_len, &v, &v_len)) {
        h2o_iovec_t key;
        if (decode(&req->pool, key_raw, key_len, 1, &key) != 0)
            return -1;
        if (key.len == name_len && memcmp(key.base, name, name_len) == 0)
            return decode(&req->pool, v, v_len, 1, value) == 0 ? 1 : -1;
    }
    return 0;
}

h2o_iovec_t gw_http_header(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    return i >= 0 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

static int valid_request_id(h2o_iovec_t id)
{
    if (id.len == 0 || id.len > 64)
        return 0;
    for (size_t i = 0; i != id.len; i++) {
        char c = id.base[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

h2o_iovec_t gw_http_request_id(h2o_req_t *req)
{
    static _Thread_local char prefix[13];
    static _Thread_local uint64_t counter;
    ssize_t i;

    if ((i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1)) >= 0)
        return req->res.headers.entries[i].value;
    h2o_iovec_t id = gw_http_header(req, "x-request-id");
    if (valid_request_id(id)) {
        id = h2o_strdup(&req->pool, id.base, id.len);
    } else {
        /* a random per-thread prefix and a counter: unique without a syscall per request */
        if (prefix[0] == '\0') {
            uint8_t r[6];
            sg_random(r, sizeof(r));
            for (size_t j = 0; j != sizeof(r); j++)
                snprintf(prefix + 2 * j, 3, "%02x", r[j]);
        }
        char *buf = h2o_mem_alloc_pool(&req->pool, 32);
        int n = snprintf(buf, 32, "%s-%llx", prefix, (unsigned long long)++counter);
        id = h2o_iovec_init(buf, (size_t)n);
    }
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, id.base, id.len);
    return id;
}

h2o_iovec_t gw_client_addr_forwarded_for(h2o_req_t *req)
{
    h2o_iovec_t v = {NULL, 0};
    ssize_t i = -1;
    while ((i = h2o_find_header(&req->headers, H2O_TOKEN_X_FORWARDED_FOR, i)) != -1) {
        h2o_iovec_t h = req->headers.entries[i].value;
        if (v.base == NULL) {
            v = h;
        } else {
            char *s = h2o_mem_alloc_pool(&req->pool, v.len + 2 + h.len);
            memcpy(s, v.base, v.len);
            memcpy(s + v.len, ", ", 2);
            memcpy(s + v.len + 2, h.base, h.len);
            v = h2o_iovec_init(s, v.len + 2 + h.len);
        }
    }
    return v;
}

int gw_client_addr_of_req(h2o_req_t *req, const gw_config_t *conf, sas_ip_t *out)
{
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof(peer));
    if (req->conn->callbacks->get_peername == NULL || req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer) == 0)
        return -1;
    h2o_iovec_t xff = gw_client_addr_forwarded_for(req);
    return gw_client_addr(conf, (struct sockaddr *)&peer, xff.base, xff.len, out);
}

int gw_http_client_address(h2o_req_t *req, const gw_config_t *conf, sas_ip_t *ip, char *buf, size_t buflen)
{
    sas_ip_t addr;
    char text[GW_CLIENT_ADDR_TEXT_MAX];
    buf[0] = '\0';
    if (gw_client_addr_of_req(req, conf, &addr) != 0 || gw_client_addr_format(&addr, text) >= buflen)
        return -1;
    memcpy(buf, text, strlen(text) + 1);
    if (ip != NULL)
        *ip = addr;
    return 0;
}

void gw_http_set_route_label(h2o_req_t *req, const char *label)
{
    h2o_iovec_t *slot = h2o_req_getenv(req, H2O_STRLIT(ROUTE_ENV), 1);
    *slot = h2o_iovec_init(label, strlen(label));
}

const char *gw_http_route_label(h2o_req_t *req)
{
    h2o_iovec_t *slot = h2o_req_getenv(req, H2O_STRLIT(ROUTE_ENV), 0);
    return slot != NULL && slot->base != NULL ? slot->base : NULL;
}
