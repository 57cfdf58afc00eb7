/*
 * The backend URL parser (see backend.h).
 */
#include "sasgw/core/backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sasgw/common.h"

/* Points b->url at b's own strings (after a parse or a copy). */
static void link_url(gw_backend_t *b)
{
    memset(&b->url, 0, sizeof(b->url));
    b->url.scheme = b->tls ? &H2O_URL_SCHEME_HTTPS : &H2O_URL_SCHEME_HTTP;
    b->url.authority = h2o_iovec_init(b->authority, strlen(b->authority));
    /* as h2o_url_parse() makes it: host without an IPv6 address's brackets, pointing into authority */
    b->url.host = h2o_iovec_init(b->authority + (b->authority[0] == '[' ? 1 : 0), strlen(b->host));
    b->url._port = b->port;
    b->url.path = b->path[0] != '\0' ? h2o_iovec_init(b->path, strlen(b->path)) : h2o_iovec_init(H2O_STRLIT("/"));
}

/* 1 when s (len bytes) is an IPv6 address in text form. */
static int is_ipv6(const char *s, size_t len)
{
    char tmp[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    if (len >= sizeof(tmp))
        return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return inet_pton(AF_INET6, tmp, &a6) == 1;
}

int gw_backend_parse(gw_backend_t *b, const char *url, const char **why)
{
    memset(b, 0, sizeof(*b));
    int tls;
    const char *p;
    if (strncmp(url, "http://", 7) == 0) {
        tls = 0;
        p = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        tls = 1;
        p = url + 8;
    } else {
        *why = "must start with http:// or https://";
        return -1;
    }
    if (strpbrk(url, "?#@ \t\r\n\\") != NULL) {
        *why = "must not contain user info, a query, a fragment, spaces or backslashes";
        return -1;
    }
    for (const unsigned char *c = (const unsigned char *)url; *c != '\0'; c++)
        if (*c < 0x20 || *c >= 0x7f) {
            *why = "must not contain control characters or non-ASCII bytes";
            return -1;
        }

    /* host: a bracketed IPv6 address, or letters, digits, '-' and '.' */
    const char *authority = p, *host_start = p, *host_end;
    if (*p == '[') {
        if ((host_end = strchr(p, ']')) == NULL) {
            *why = "has an unterminated IPv6 address";
            return -1;
        }
        host_start = p + 1;
        p = host_end + 1;
        if (!is_ipv6(host_start, (size_t)(host_end - host_start))) {
            *why = "has a malformed IPv6 address";
            return -1;
        }
    } else {
        while (*p != '\0' && *p != ':' && *p != '/')
            p++;
        host_end = p;
        for (const char *c = host_start; c != host_end; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.')) {
                *why = "has a malformed host";
                return -1;
            }
    }
    if (host_end == host_start) {
        *why = "has no host";
        return -1;
    }

    /* port: 1-65535 when written */
    unsigned long port = tls ? 443 : 80;
    if (*p == ':') {
        p++;
        if (*p < '0' || *p > '9') {
            *why = "has a malformed port";
            return -1;
        }
        port = 0;
        while (*p >= '0' && *p <= '9') {
            port = port * 10 + (unsigned long)(*p++ - '0');
            if (port > 65535) {
                *why = "has a port above 65535";
                return -1;
            }
        }
        if (port == 0) {
            *why = "has port 0";
            return -1;
        }
        if (port == 65535) {
            /* h2o's URLs use 65535 for "none written": its proxy would connect to 80 or 443 instead */
            *why = "has port 65535, which h2o's proxy cannot reach";
            return -1;
        }
    }
    if (*p != '\0' && *p != '/') {
        *why = "has a malformed port";
        return -1;
    }

    /* path: without its trailing '/'s */
    size_t path_len = strlen(p);
    while (path_len != 0 && p[path_len - 1] == '/')
        path_len--;
    b->tls = tls;
    b->host = sg_strndup(host_start, (size_t)(host_end - host_start));
    b->port = (uint16_t)port;
    snprintf(b->port_text, sizeof(b->port_text), "%lu", port);
    b->path = sg_strndup(p, path_len);
    b->authority = sg_strndup(authority, (size_t)(p - authority));
    link_url(b);
    return 0;
}

void gw_backend_copy(gw_backend_t *dst, const gw_backend_t *src)
{
    *dst = *src;
    dst->host = sg_strdup(src->host);
    dst->path = sg_strdup(src->path);
    dst->authority = sg_strdup(src->authority);
    link_url(dst);
}

void gw_backend_dispose(gw_backend_t *b)
{
    free(b->host);
    free(b->path);
    free(b->authority);
    memset(b, 0, sizeof(*b));
}
