/*
 * admin_json.h - strict parsing of the admin API's JSON bodies: each body is
 * one object whose fields are all known and of the right type; anything else
 * is refused naming the field (the caller answers 400 with it). Pure: no
 * I/O, no clock (callers pass now where a default depends on it).
 *
 * Times are accepted as unix seconds (an integer) or as text in the forms
 * vault_time_parse() knows ("2026-01-02", "2026-01-02T03:04:05Z", ...).
 */
#ifndef SASGW_GATEWAY_ADMIN_JSON_H
#define SASGW_GATEWAY_ADMIN_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sasgw/revocation/plan.h"
#include "sasgw/vault.h"

/* Why a body was refused: the field (NULL when the body as a whole) and a sentence without any value from it. */
typedef struct st_gw_json_error_t {
    const char *field; /* NULL, or points to field_buf: valid as long as the error (not the document) lives */
    char field_buf[72];
    char message[256];
} gw_json_error_t;

/*
 * Checks that body is an object whose keys are all in allowed (a
 * NULL-terminated list). Returns 0, or -1 naming the first unknown key.
 */
int gw_json_only(json_t *body, const char *const *allowed, gw_json_error_t *e);
/*
 * Reads an optional time field: absent or null leaves *out alone and returns
 * 0; an integer >= 0 or a time string sets *out; anything else returns -1.
 */
int gw_json_time(json_t *body, const char *field, int64_t *out, gw_json_error_t *e);

/*
 * POST /v1/revocations: exactly one of {token_id [, expiry]}, {token},
 * {principal}, {account [, container], issued_before}. Fills and checks sel.
 */
int gw_admin_parse_revocation(json_t *body, gw_revoke_selector_t *sel, gw_json_error_t *e);

/*
 * PUT /v1/accounts/{a}/keys/{slot}: {value} with value the base64 of a 16-64
 * byte key, decoded into key (VAULT_KEY_MAX bytes; the caller wipes it).
 */
int gw_admin_parse_key_import(json_t *body, uint8_t *key, size_t *key_len, gw_json_error_t *e);

/*
 * PUT .../policies/{id}: {start?, expiry?, permissions?} into p->start,
 * p->expiry, p->permissions (other members untouched). An expiry must come
 * after the start.
 */
int gw_admin_parse_policy(json_t *body, vault_policy_t *p, gw_json_error_t *e);

/* PUT /v1/secrets/{name}: what the body holds. Strings point into the document. */
typedef struct st_gw_secret_body_t {
    const char *value;
    size_t value_len;
    vault_secret_input_t in;
    vault_tag_t *tags; /* in.tags; free with gw_secret_body_dispose */
} gw_secret_body_t;

/*
 * {value, content_type?, tags?, nbf?, exp?, enabled?}: value a string of at
 * most VAULT_SECRET_MAX bytes, content_type a string of at most 255, tags an
 * object of at most 15 string values (keys 1-256, values 0-256 characters),
 * enabled a boolean, nbf before exp.
 */
int gw_admin_parse_secret(json_t *body, gw_secret_body_t *out, gw_json_error_t *e);
void gw_secret_body_dispose(gw_secret_body_t *s);

/* PUT /v1/accounts/{a}/sas-definitions/{name}: what the body holds (account and name are the caller's). */
typedef struct st_gw_sasdef_body_t {
    vault_sasdef_input_t in;
    vault_tag_t *tags; /* in.tags; free with gw_sasdef_body_dispose */
} gw_sasdef_body_t;

/*
 * {template_uri, sas_type: "service"|"account", validity_period, enabled?,
 * tags?}: strings within their vault bounds (the vault then checks the
 * template and the duration), enabled a boolean (default true), tags as for
 * secrets.
 */
int gw_admin_parse_sasdef(json_t *body, gw_sasdef_body_t *out, gw_json_error_t *e);
void gw_sasdef_body_dispose(gw_sasdef_body_t *s);

#endif
