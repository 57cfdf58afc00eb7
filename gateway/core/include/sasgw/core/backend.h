/*
 * An account's backend: its URL, parsed once (moves to gateway/proxy/ in
 * phase 2). conf/sasgw.yaml's `accounts:` are parsed when the configuration
 * loads, the vault's backends when a keyring snapshot is built; the HTTP/1.1
 * relay and h2o's reverse proxy (HTTP/2) both read the parts from here.
 *
 * Accepted: http:// or https://, a host (letters, digits, '-', '.') or a
 * bracketed IPv6 address, an optional port 1-65534 (h2o reads 65535 as
 * none), an optional path. Refused:
 * user info, a query, a fragment, backslashes, spaces, control and non-ASCII
 * bytes. Trailing '/'s of the path are dropped: "http://h:1/p/" is "/p".
 */
#ifndef SASGW_GATEWAY_BACKEND_H
#define SASGW_GATEWAY_BACKEND_H

#include <stdint.h>

#include <h2o/string_.h> /* h2o/url.h uses it without including it */
#include <h2o/url.h>

typedef struct st_gw_backend_t {
    int tls;           /* 1 for https */
    char *host;        /* name or address, without brackets: for connect() and SNI */
    uint16_t port;     /* as written, else 80 (http) or 443 (https) */
    char port_text[8]; /* port in decimal */
    char *path;        /* "" or a path starting with '/', without a trailing '/' */
    char *authority;   /* host[:port] as written (brackets kept): the Host header sent upstream */
    h2o_url_t url;     /* the same for h2o's reverse proxy (path "/" when path is ""); points into this struct */
} gw_backend_t;

/*
 * Parses url into b. Returns 0, or -1 with *why set to a static phrase that
 * completes "the backend URL ..." (e.g. "has a port above 65535"); b then owns
 * nothing. Release with gw_backend_dispose().
 */
int gw_backend_parse(gw_backend_t *b, const char *url, const char **why);

/* Makes dst an independent copy of src (which stays valid). */
void gw_backend_copy(gw_backend_t *dst, const gw_backend_t *src);

/* Frees what b owns and zeroes it; a zeroed b is fine. */
void gw_backend_dispose(gw_backend_t *b);

#endif
