/*
 * sas_request.h - the strict reading of the bodies of POST /v1/sas (a
 * service SAS: blob, snapshot, version or container) and POST /v1/sas/account
 * (an account SAS), DESIGN §4.
 *
 * A body is one JSON object (duplicate keys refused by the JSON reader).
 * Every member has one type; an unknown member, a member of the wrong type,
 * a string over its bound or a value that cannot be is refused with the
 * member's name (dotted for response_headers.*) and a sentence. Nothing is
 * guessed: a number is not a string, "1" is not 1, null is not absent.
 *
 *   POST /v1/sas          account, container, blob?, permissions, expires_in | expires_on, start?, ip?,
 *                         protocol?, snapshot?, version_id?, policy?, response_headers?
 *                         response_headers: {cache_control?, content_disposition?, content_encoding?,
 *                                            content_language?, content_type?}
 *   POST /v1/sas/account  account, services, resource_types, permissions, expires_in | expires_on,
 *                         start?, ip?, protocol?
 *
 * Times (expires_on, start, snapshot) are strings Azure accepts
 * (sas_time_parse); expires_in is an integer number of seconds. The token's
 * lifetime (expiry - now) is 1 s to GW_SAS_MAX_TTL; start defaults to now
 * minus the configured clock skew and must lie before the expiry.
 * permissions are letters valid for the resource (each at most once, any
 * order); the parsed request holds them in canonical order.
 */
#ifndef SASGW_GATEWAY_SAS_REQUEST_H
#define SASGW_GATEWAY_SAS_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sasgw/signer.h"

/* The longest lifetime of a minted token (7 days, docs/redis.md's trim horizon). */
#define GW_SAS_MAX_TTL (7 * 86400)
/* Bounds of the string members, in bytes. */
#define GW_SAS_BLOB_MAX 1024           /* Azure's limit for a blob name */
#define GW_SAS_TIME_TEXT_MAX 64        /* expires_on, start */
#define GW_SAS_SNAPSHOT_MAX 40         /* snapshot, version_id (the signer's bound) */
#define GW_SAS_IP_MAX 100              /* ip: an address or "lo-hi" */
#define GW_SAS_RESPONSE_HEADER_MAX 512 /* each response_headers value (the signer's bound) */
/*
 * A request within these bounds may still make a token longer than
 * SAS_MAX_QUERY (long non-ASCII response headers): the signer refuses it
 * (SAS_R_BUFFER_TOO_SMALL) and the API answers 400.
 */

typedef enum en_gw_sas_request_kind_t {
    GW_SAS_REQUEST_SERVICE = 0, /* POST /v1/sas */
    GW_SAS_REQUEST_ACCOUNT      /* POST /v1/sas/account */
} gw_sas_request_kind_t;

/*
 * A parsed request. String members point into the JSON object passed to
 * gw_sas_request_parse() (valid while it is referenced) or into the struct's
 * own buffers; NULL when absent.
 */
typedef struct st_gw_sas_request_t {
    gw_sas_request_kind_t kind;
    const char *account;
    const char *container;      /* service SAS */
    const char *blob;           /* NULL: a container SAS (unless snapshot/version_id... which need blob) */
    const char *snapshot;       /* as given */
    const char *version_id;     /* as given */
    const char *policy;         /* stored access policy id (si) */
    const char *ip;             /* sip, as given */
    const char *protocol;       /* "https", "https,http" or NULL (the grant decides) */
    const char *services;       /* account SAS: ss letters, as given */
    const char *resource_types; /* account SAS: srt letters, as given */
    struct {
        const char *cache_control, *content_disposition, *content_encoding, *content_language, *content_type;
    } response_headers;
    sas_sr_t sr;                         /* service SAS: SAS_SR_BLOB, _SNAPSHOT, _VERSION or _CONTAINER */
    sas_perm_t perms;                    /* the permissions as a set */
    char permissions[32];                /* ... in canonical order (racwdxyltfmeopi, or the account order) */
    sas_time_t start, expiry;            /* microseconds; start is always set (default: now - clock skew) */
    int start_given;                     /* 1 when the caller fixed start */
    uint64_t ttl;                        /* seconds from now until expiry, rounded up */
    char start_text[SAS_TIME_TEXT_MAX];  /* YYYY-MM-DDThh:mm:ssZ, as signed */
    char expiry_text[SAS_TIME_TEXT_MAX]; /* YYYY-MM-DDThh:mm:ssZ, as signed */
} gw_sas_request_t;

/*
 * Why a body was refused: the member ("" when the body as a whole:
 * "permissions", "response_headers.content_type", or an unknown member's name
 * as sent, cut at 64 bytes) and a sentence.
 */
typedef struct st_gw_sas_request_error_t {
    char field[96];
    char message[256];
} gw_sas_request_error_t;

/*
 * Reads body (a JSON object) as a request of kind, at time now with the
 * issuer's clock skew (seconds). Returns 0 and fills *out, or -1 and fills
 * *err. Allocates nothing; out's strings borrow from body.
 */
int gw_sas_request_parse(gw_sas_request_t *out, json_t *body, gw_sas_request_kind_t kind, sas_time_t now, unsigned clock_skew,
                         gw_sas_request_error_t *err);

/*
 * Parses len bytes of JSON text (duplicate keys refused; the text must be one
 * object) and then the request, as gw_sas_request_parse(). On success *root
 * receives the JSON document the request borrows from (json_decref() it
 * after use); on failure *root is NULL. For tests and the fuzzer.
 */
int gw_sas_request_parse_text(gw_sas_request_t *out, json_t **root, const char *text, size_t len, gw_sas_request_kind_t kind,
                              sas_time_t now, unsigned clock_skew, gw_sas_request_error_t *err);

#endif
