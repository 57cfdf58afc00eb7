/*
 * kv_parse.h - the Key Vault API's parsing of untrusted bytes, pure (no h2o,
 * no app): the route of a method and path, the query (api-version,
 * maxresults, $skiptoken), the JSON bodies (strict: closed members, types
 * checked), paging tokens and base64url. The router and fuzz_keyvault call
 * these same functions.
 */
#ifndef SASGW_GATEWAY_KV_PARSE_H
#define SASGW_GATEWAY_KV_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sasgw/vault.h"

typedef enum en_kv_op_t {
    KV_OP_NONE = 0,
    KV_OP_SECRET_SET,      /* PUT    /secrets/{name} */
    KV_OP_SECRET_GET,      /* GET    /secrets/{name}[/{version}] */
    KV_OP_SECRET_UPDATE,   /* PATCH  /secrets/{name}/{version} */
    KV_OP_SECRET_LIST,     /* GET    /secrets */
    KV_OP_SECRET_VERSIONS, /* GET    /secrets/{name}/versions */
    KV_OP_SECRET_DELETE,   /* DELETE /secrets/{name} */
    KV_OP_SECRET_BACKUP,   /* POST   /secrets/{name}/backup */
    KV_OP_SECRET_RESTORE,  /* POST   /secrets/restore */
    KV_OP_DELETED_LIST,    /* GET    /deletedsecrets */
    KV_OP_DELETED_GET,     /* GET    /deletedsecrets/{name} */
    KV_OP_DELETED_RECOVER, /* POST   /deletedsecrets/{name}/recover */
    KV_OP_DELETED_PURGE,   /* DELETE /deletedsecrets/{name} */
    KV_OP_STORAGE          /* anything under /storage: kv_storage_route() */
} kv_op_t;

typedef enum en_kv_route_result_t {
    KV_ROUTE_OK = 0,
    KV_ROUTE_NOT_FOUND,          /* no such path: 404 */
    KV_ROUTE_METHOD_NOT_ALLOWED, /* a known path, another method: 405 */
    KV_ROUTE_BAD_NAME            /* a path naming a secret whose name or version is not valid: 400 BadParameter */
} kv_route_result_t;

typedef struct st_kv_route_t {
    kv_op_t op;
    char name[VAULT_NAME_MAX + 1]; /* "" when the route names none */
    char version[65];              /* "" = the newest */
} kv_route_t;

/*
 * Maps method and path (without the query; not decoded: names and versions
 * are [0-9a-zA-Z-], so a '%' is simply not valid) to an operation. A version
 * is 1 to 64 letters and digits ("" after a trailing '/' of GET or PATCH
 * /secrets/{name}/ means the newest). Fills *out unless NOT_FOUND.
 */
kv_route_result_t kv_parse_route(const char *method, size_t method_len, const char *path, size_t path_len, kv_route_t *out);

/* What the query carries. */
typedef struct st_kv_query_t {
    char api_version[8]; /* "7.3" .. "7.6" */
    unsigned maxresults; /* 1..25; 0 when absent */
    char skiptoken[256]; /* as sent (opaque), "" when absent */
} kv_query_t;

/*
 * Parses the query string (without '?'). api-version is required and one of
 * 7.3, 7.4, 7.5, 7.6 (Key Vault's "-preview" suffixes are refused too);
 * maxresults an integer 1..25; every parameter at most once; others are
 * ignored. Returns 0, or -1 with a sentence for BadParameter in err.
 */
int kv_parse_query(const char *query, size_t len, kv_query_t *out, char *err, size_t errlen);

/* A parsed body of PUT or PATCH. Strings point into the JSON document, which must outlive it. */
#define KV_MAX_TAGS 15
typedef struct st_kv_body_t {
    const char *value; /* PUT: required */
    size_t value_len;
    int has_content_type;
    const char *content_type;
    int has_tags;
    size_t ntags;
    vault_tag_t tags[KV_MAX_TAGS];
    int has_enabled, enabled;
    int has_nbf, has_exp;
    int64_t nbf, exp; /* unix seconds; 0 with has_ set: cleared (JSON null) */
} kv_body_t;

/*
 * Parses len bytes as one JSON object (duplicate keys refused). Returns a new
 * reference, or NULL with a sentence (never quoting the input) in err.
 */
json_t *kv_parse_json(const char *text, size_t len, char *err, size_t errlen);
/*
 * Checks a PUT body: {value: string (required), contentType?: string,
 * tags?: {string: string} (at most 15), attributes?: {enabled?: bool,
 * nbf?: int, exp?: int}}; null counts as absent; anything else is refused
 * (unknown member, wrong type). for_update 1: the PATCH body, where value is
 * refused. Returns 0, or -1 with err.
 */
int kv_parse_body(json_t *body, int for_update, kv_body_t *out, char *err, size_t errlen);
/* Checks a restore body {value: string} and points *value at it. Returns 0, or -1 with err. */
int kv_parse_restore_body(json_t *body, const char **value, size_t *len, char *err, size_t errlen);

/*
 * Paging tokens: opaque to the client, base64url of a kind letter and a
 * position ("s" + the last name returned, or "v" + the next index). The
 * encoder writes into out (at least KV_TOKEN_MAX bytes). The decoder checks
 * the kind and the position's syntax: 0 with the position in pos (name
 * NUL-terminated; index in *index), -1 when the token is not one of ours.
 */
#define KV_TOKEN_MAX 200
void kv_token_encode(char kind, const char *pos, char *out);
int kv_token_decode(const char *token, char kind, char *pos, size_t poscap);

/* base64url without padding (padding tolerated) of at most cap bytes into out. Returns the length, or -1. */
long kv_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
