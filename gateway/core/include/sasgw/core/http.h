/*
 * sasgw/core/http.h - helpers for sasgw's request handlers on h2o: JSON responses and
 * errors in DESIGN §4's shape, bounded request bodies, route patterns,
 * query parameters, the request id and the client's address.
 *
 * Every function here runs on the loop thread that owns the request, and
 * allocates only from req->pool unless it says otherwise.
 *
 * Error codes used by the server core (handlers add their own, same style):
 *   not_found, method_not_allowed, body_too_large, invalid_json, not_ready
 */
#ifndef SASGW_GATEWAY_HTTP_H
#define SASGW_GATEWAY_HTTP_H

#include <h2o.h>
#include <jansson.h>
#include <sys/socket.h>

#include "sasgw/core/config.h"
#include "sasgw/signer.h"

#define GW_ROUTE_MAX_PARAMS 8

/* The reason phrase of a status code ("Not Found"); "Unknown" for codes it does not know. */
const char *gw_http_reason(int status);

/*
 * Sends body (len bytes, copied) as the whole response with this status and
 * Content-Type. HEAD requests get the headers only.
 */
void gw_http_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);
/*
 * Sends a JSON document (compact, UTF-8, "application/json; charset=utf-8").
 * Takes over the caller's reference to body: it is decref'ed here.
 */
void gw_http_send_json(h2o_req_t *req, int status, json_t *body);
/*
 * Sends {"error":{"code":code,"message":message,"field":field}}; field may be
 * NULL (then the key is left out). The strings are copied; message must never
 * hold a secret.
 */
void gw_http_send_error(h2o_req_t *req, int status, const char *code, const char *message, const char *field);

/* The body gw_http_send_error() sends, as JSON text in pool (for a response built elsewhere). */
h2o_iovec_t gw_http_error_body(h2o_mem_pool_t *pool, const char *code, const char *message, const char *field);
/* The sentence of body_too_large: "the request body is larger than max bytes". */
void gw_http_body_too_large_message(size_t max, char *buf, size_t len);

/*
 * Returns the request body in *body when it is at most max bytes. Otherwise
 * sends 413 body_too_large and returns -1: the handler must then return 0
 * without sending anything else. (h2o 2.2 buffers the whole body before the
 * handler runs, up to its globalconf max_request_entity_size, which server.c
 * sets to issuer.max_body on the issuer: a larger body never reaches here.)
 */
int gw_http_read_body(h2o_req_t *req, size_t max, h2o_iovec_t *body);
/*
 * Reads the body as one JSON object (duplicate keys refused). Returns a new
 * reference the caller decrefs, or NULL after sending 413 body_too_large or 400
 * invalid_json (with jansson's position in the message).
 */
json_t *gw_http_read_json(h2o_req_t *req, size_t max);
/*
 * Writes a sentence for a jansson parse error into out: where it is and what
 * kind of error, never the text jansson quotes from the input (it may hold a
 * secret, or a UTF-8 character cut in half).
 */
void gw_http_json_error_message(const json_error_t *error, char *out, size_t len);

/*
 * Route patterns: "/v1/accounts/{account}/keys/{slot}". A literal segment
 * matches itself; "{name}" matches one non-empty segment. The path must match
 * whole (no trailing '/'), the query string is ignored.
 */
typedef struct st_gw_route_match_t {
    size_t num_params;
    const char *names[GW_ROUTE_MAX_PARAMS]; /* point into the pattern, not NUL-terminated at '}'; use name_lens */
    size_t name_lens[GW_ROUTE_MAX_PARAMS];
    h2o_iovec_t values[GW_ROUTE_MAX_PARAMS]; /* percent-decoded, NUL-terminated, in req->pool */
} gw_route_match_t;

/*
 * Returns 1 when path (path_len bytes, up to but excluding '?') matches
 * pattern, filling *match (values decoded into pool); 0 when it does not
 * match, or when a parameter decodes to something unsafe (a NUL byte, "." or
 * "..", or contains '/').
 */
int gw_route_match(const char *pattern, const char *path, size_t path_len, h2o_mem_pool_t *pool, gw_route_match_t *match);
/* Checks a pattern when it is registered: returns 0, or -1 when malformed (not starting with '/', bad braces, too many params). */
int gw_route_pattern_check(const char *pattern);
/* The value of the parameter called name, or {NULL, 0}. */
h2o_iovec_t gw_route_param(const gw_route_match_t *match, const char *name);

/*
 * Finds the query parameter name in the request's query string and returns it
 * percent-decoded ('+' read as a space) in *value, NUL-terminated in
 * req->pool. Returns 1 when found, 0 when absent, -1 when malformed.
 */
int gw_http_query_param(h2o_req_t *req, const char *name, h2o_iovec_t *value);

/* The first value of a request header, or {NULL, 0}. */
h2o_iovec_t gw_http_header(h2o_req_t *req, const char *name);

/*
 * The request id: the client's X-Request-Id when it is 1-64 characters of
 * [A-Za-z0-9._-], else a fresh one. The first call also sets the
 * X-Request-Id response header; later calls return the same id. NUL-terminated.
 */
h2o_iovec_t gw_http_request_id(h2o_req_t *req);

/*
 * Every X-Forwarded-For line of req joined in order by ", " (in req->pool
 * when there are several), or {NULL, 0} when there is none.
 */
h2o_iovec_t gw_client_addr_forwarded_for(h2o_req_t *req);

/*
 * gw_client_addr() for an h2o request: its socket peer and every
 * X-Forwarded-For line. Returns 0 with *out filled, or -1 when unknown.
 */
int gw_client_addr_of_req(h2o_req_t *req, const gw_config_t *conf, sas_ip_t *out);

/*
 * The client's address as numeric text, by gw_client_addr_of_req()
 * (above): the socket peer, or behind conf's trusted_proxies (conf
 * may be NULL: none) the right-most untrusted hop of every X-Forwarded-For
 * line. Writes it into buf (at least INET6_ADDRSTRLEN bytes) and *ip (may be
 * NULL). Returns 0, or -1 when the address is unknown (buf then holds "").
 */
int gw_http_client_address(h2o_req_t *req, const gw_config_t *conf, sas_ip_t *ip, char *buf, size_t buflen);

/*
 * Names the route in the metrics (label `route` of sasgw_http_requests_total
 * and sasgw_http_request_duration_seconds). The server's router sets the
 * matched pattern itself; handlers registered on their own paths may call it.
 * label must outlive the request (a literal, or pool memory).
 */
void gw_http_set_route_label(h2o_req_t *req, const char *label);
/* The label set for this request, or NULL. */
const char *gw_http_route_label(h2o_req_t *req);

#endif
