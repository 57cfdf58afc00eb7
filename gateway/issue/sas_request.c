/*
 * sas_request.c - strict parsing of the POST /v1/sas and /v1/sas/account
 * bodies (see sas_request.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sasgw/core/http.h"
#include "sas_request.h"
#include "sasgw/vault.h"

/* One member the reader knows: its name and which request kinds take it. */
struct member {
    const char *name;
    unsigned kinds; /* bit 1 << gw_sas_request_kind_t */
};

#define SERVICE (1u << GW_SAS_REQUEST_SERVICE)
#define ACCOUNT (1u << GW_SAS_REQUEST_ACCOUNT)

static const struct member members[] = {
    {"account", SERVICE | ACCOUNT},
    {"container", SERVICE},
    {"blob", SERVICE},
    {"permissions", SERVICE | ACCOUNT},
    {"expires_in", SERVICE | ACCOUNT},
    {"expires_on", SERVICE | ACCOUNT},
    {"start", SERVICE | ACCOUNT},
    {"ip", SERVICE | ACCOUNT},
    {"protocol", SERVICE | ACCOUNT},
    {"snapshot", SERVICE},
    {"version_id", SERVICE},
    {"policy", SERVICE},
    {"response_headers", SERVICE},
    {"services", ACCOUNT},
    {"resource_types", ACCOUNT},
};

static const char *const response_header_members[] = {"cache_control", "content_disposition", "content_encoding",
                                                      "content_language", "content_type"};
static const char *const response_header_fields[] = {"response_headers.cache_control", "response_headers.content_disposition",
                                                     "response_headers.content_encoding", "response_headers.content_language",
                                                     "response_headers.content_type"};

__attribute__((format(printf, 3, 4))) static int fail(gw_sas_request_error_t *err, const char *field, const char *fmt, ...)
{
    va_list args;
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    va_start(args, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, args);
    va_end(args);
    return -1;
}

/* The static name of a known member (so err->field never points into the body). */
static const char *known_member(const char *key, gw_sas_request_kind_t kind, int *other_kind)
{
    *other_kind = 0;
    for (size_t i = 0; i != sizeof(members) / sizeof(members[0]); i++) {
        if (strcmp(members[i].name, key) == 0) {
            if ((members[i].kinds & (1u << kind)) != 0)
                return members[i].name;
            *other_kind = 1;
            return members[i].name;
        }
    }
    return NULL;
}

/* 1 when s holds a control character (C0 or DEL). jansson guarantees valid UTF-8 and no NUL. */
static int has_control(const char *s, size_t len)
{
    for (size_t i = 0; i != len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/*
 * Reads the optional string member name of obj into *out (NULL when absent):
 * a string of 1 to max bytes without control characters.
 */
static int get_string(json_t *obj, const char *name, size_t max, const char **out, gw_sas_request_error_t *err)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return fail(err, name, "%s must be a string", name);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0)
        return fail(err, name, "%s must not be empty", name);
    if (len > max)
        return fail(err, name, "%s is longer than %zu bytes", name, max);
    if (strlen(s) != len || has_control(s, len))
        return fail(err, name, "%s must not contain control characters", name);
    *out = s;
    return 0;
}

/* As get_string(), and the member must be present. */
static int need_string(json_t *obj, const char *name, size_t max, const char **out, gw_sas_request_error_t *err)
{
    if (get_string(obj, name, max, out, err) != 0)
        return -1;
    if (*out == NULL)
        return fail(err, name, "%s is required", name);
    return 0;
}

/* Letters of set (signer.h's check), each at most once; an empty string passes here (the policy refuses it). */
static int letters_ok(const char *s, const char *set)
{
    sas_letters_t r = sas_letters_check(sas_letters(set), s, strlen(s), NULL, NULL);
    return r == SAS_LETTERS_OK || r == SAS_LETTERS_EMPTY;
}

/* Parses a time member into *out; field names it. */
static int parse_time(const char *text, const char *field, sas_time_t *out, gw_sas_request_error_t *err)
{
    if (sas_time_parse(text, strlen(text), out) != 0)
        return fail(err, field, "%s is not a time (YYYY-MM-DDThh:mm:ssZ)", field);
    return 0;
}

/* expires_in | expires_on, start: the validity window. */
static int parse_window(gw_sas_request_t *out, json_t *body, sas_time_t now, unsigned clock_skew, gw_sas_request_error_t *err)
{
    json_t *in = json_object_get(body, "expires_in");
    const char *on_text, *start_text;

    if (get_string(body, "expires_on", GW_SAS_TIME_TEXT_MAX, &on_text, err) != 0)
        return -1;
    if (in != NULL && on_text != NULL)
        return fail(err, "expires_on", "give expires_in or expires_on, not both");
    if (in == NULL && on_text == NULL)
        return fail(err, "expires_in", "expires_in (seconds) or expires_on (a time) is required");
    if (in != NULL) {
        if (!json_is_integer(in))
            return fail(err, "expires_in", "expires_in must be an integer number of seconds");
        json_int_t secs = json_integer_value(in);
        if (secs < 1 || secs > GW_SAS_MAX_TTL)
            return fail(err, "expires_in", "expires_in must be 1 to %d seconds", GW_SAS_MAX_TTL);
        out->expiry = now - now % SAS_TIME_SECOND + (sas_time_t)secs * SAS_TIME_SECOND;
    } else {
        if (parse_time(on_text, "expires_on", &out->expiry, err) != 0)
            return -1;
        out->expiry -= out->expiry % SAS_TIME_SECOND; /* signed with seconds precision */
        if (out->expiry <= now)
            return fail(err, "expires_on", "expires_on lies in the past");
        if (out->expiry - now > (sas_time_t)GW_SAS_MAX_TTL * SAS_TIME_SECOND)
            return fail(err, "expires_on", "expires_on lies more than %d seconds ahead", GW_SAS_MAX_TTL);
    }
    sas_time_t left = out->expiry - now;
    out->ttl = (uint64_t)((left + SAS_TIME_SECOND - 1) / SAS_TIME_SECOND);

    if (get_string(body, "start", GW_SAS_TIME_TEXT_MAX, &start_text, err) != 0)
        return -1;
    out->start_given = start_text != NULL;
    if (start_text != NULL) {
        if (parse_time(start_text, "start", &out->start, err) != 0)
            return -1;
        out->start -= out->start % SAS_TIME_SECOND;
        if (out->start < now - (sas_time_t)GW_SAS_MAX_TTL * SAS_TIME_SECOND)
            return fail(err, "start", "start lies more than %d seconds in the past", GW_SAS_MAX_TTL);
    } else {
        out->start = now - now % SAS_TIME_SECOND - (sas_time_t)clock_skew * SAS_TIME_SECOND;
    }
    if (out->start >= out->expiry)
        return fail(err, "start", "start must lie before the expiry");
    sas_time_format(out->start, out->start_text);
    sas_time_format(out->expiry, out->expiry_text);
    return 0;
}

/* ip, protocol: the network constraints signed into the token. */
static int parse_network(gw_sas_request_t *out, json_t *body, gw_sas_request_error_t *err)
{
    sas_ip_range_t range;

    if (get_string(body, "ip", GW_SAS_IP_MAX, &out->ip, err) != 0)
        return -1;
    if (out->ip != NULL && sas_ip_range_parse(&range, out->ip, strlen(out->ip)) != 0)
        return fail(err, "ip", "ip must be an IPv4 or IPv6 address, or a range lo-hi of one family");
    if (get_string(body, "protocol", 16, &out->protocol, err) != 0)
        return -1;
    if (out->protocol != NULL && strcmp(out->protocol, "https") != 0 && strcmp(out->protocol, "https,http") != 0)
        return fail(err, "protocol", "protocol must be \"https\" or \"https,http\"");
    return 0;
}

/* response_headers: an object of the five rsc* overrides. */
static int parse_response_headers(gw_sas_request_t *out, json_t *body, gw_sas_request_error_t *err)
{
    json_t *rh = json_object_get(body, "response_headers");
    const char **slots[] = {&out->response_headers.cache_control, &out->response_headers.content_disposition,
                            &out->response_headers.content_encoding, &out->response_headers.content_language,
                            &out->response_headers.content_type};
    const char *key;
    json_t *value;

    if (rh == NULL)
        return 0;
    if (!json_is_object(rh))
        return fail(err, "response_headers", "response_headers must be an object");
    json_object_foreach(rh, key, value)
    {
        size_t i;
        for (i = 0; i != sizeof(response_header_members) / sizeof(response_header_members[0]); i++)
            if (strcmp(key, response_header_members[i]) == 0)
                break;
        if (i == sizeof(response_header_members) / sizeof(response_header_members[0]))
            return fail(err, "response_headers",
                        "response_headers has an unknown member (known: cache_control, content_disposition, "
                        "content_encoding, content_language, content_type)");
        const char *field = response_header_fields[i];
        if (!json_is_string(value))
            return fail(err, field, "%s must be a string", field);
        size_t len = json_string_length(value);
        const char *s = json_string_value(value);
        if (len == 0)
            return fail(err, field, "%s must not be empty", field);
        if (len > GW_SAS_RESPONSE_HEADER_MAX)
            return fail(err, field, "%s is longer than %d bytes", field, GW_SAS_RESPONSE_HEADER_MAX);
        if (strlen(s) != len || has_control(s, len))
            return fail(err, field, "%s must not contain control characters", field);
        *slots[i] = s;
    }
    return 0;
}

/* The resource of a service SAS: container, blob, snapshot, version_id, policy. */
static int parse_service_resource(gw_sas_request_t *out, json_t *body, gw_sas_request_error_t *err)
{
    sas_time_t t;
    sas_error_t serr;
    sas_resource_t res; /* only its verdict matters here */

    if (need_string(body, "container", 63, &out->container, err) != 0)
        return -1;
    if (!vault_valid_container_name(out->container))
        return fail(err, "container", "container must be 3-63 of a-z, 0-9 and '-' (or $root, $logs, $web)");
    if (get_string(body, "blob", GW_SAS_BLOB_MAX, &out->blob, err) != 0 ||
        get_string(body, "snapshot", GW_SAS_SNAPSHOT_MAX, &out->snapshot, err) != 0 ||
        get_string(body, "version_id", GW_SAS_SNAPSHOT_MAX, &out->version_id, err) != 0 ||
        get_string(body, "policy", VAULT_POLICY_ID_MAX, &out->policy, err) != 0)
        return -1;
    if (out->snapshot != NULL && out->version_id != NULL)
        return fail(err, "version_id", "give snapshot or version_id, not both");
    if ((out->snapshot != NULL || out->version_id != NULL) && out->blob == NULL)
        return fail(err, out->snapshot != NULL ? "snapshot" : "version_id", "%s needs a blob",
                    out->snapshot != NULL ? "snapshot" : "version_id");
    if (out->snapshot != NULL && sas_time_parse(out->snapshot, strlen(out->snapshot), &t) != 0)
        return fail(err, "snapshot", "snapshot must be a snapshot time (YYYY-MM-DDThh:mm:ss.fffffffZ)");
    if (out->version_id != NULL && sas_time_parse(out->version_id, strlen(out->version_id), &t) != 0)
        return fail(err, "version_id", "version_id must be a version time (YYYY-MM-DDThh:mm:ss.fffffffZ)");
    if (out->policy != NULL && !vault_valid_policy_id(out->policy))
        return fail(err, "policy", "policy must be 1-64 printable characters without spaces");
    if (out->blob != NULL &&
        sas_resource_init(&res, out->account, out->container, out->blob, out->snapshot, out->version_id, &serr) != SAS_OK)
        return fail(err, "blob", "blob is not a valid blob name (no empty, \".\" or \"..\" segments)");
    out->sr = out->blob == NULL         ? SAS_SR_CONTAINER
              : out->snapshot != NULL   ? SAS_SR_SNAPSHOT
              : out->version_id != NULL ? SAS_SR_VERSION
                                        : SAS_SR_BLOB;
    return 0;
}

int gw_sas_request_parse(gw_sas_request_t *out, json_t *body, gw_sas_request_kind_t kind, sas_time_t now, unsigned clock_skew,
                         gw_sas_request_error_t *err)
{
    const char *key;
    json_t *value;
    const char *perms;
    sas_error_t serr;

    memset(out, 0, sizeof(*out));
    err->field[0] = '\0';
    err->message[0] = '\0';
    out->kind = kind;
    if (!json_is_object(body))
        return fail(err, NULL, "the body must be a JSON object");

    /* unknown members first: a typo must not read as a missing member */
    json_object_foreach(body, key, value)
    {
        int other_kind;
        const char *name = known_member(key, kind, &other_kind);
        if (name == NULL || other_kind) {
            /* cut a long name at 64 bytes, on a UTF-8 character boundary */
            int n = (int)strlen(key);
            if (n > 64)
                for (n = 64; n > 0 && ((unsigned char)key[n] & 0xc0) == 0x80; n--)
                    ;
            fail(err, NULL, "unknown member \"%.*s\"%s", n, key,
                 other_kind
                     ? (kind == GW_SAS_REQUEST_SERVICE ? " (it belongs to POST /v1/sas/account)" : " (it belongs to POST /v1/sas)")
                     : "");
            snprintf(err->field, sizeof(err->field), "%.*s", n, key);
            return -1;
        }
    }

    if (need_string(body, "account", 24, &out->account, err) != 0)
        return -1;
    if (!vault_valid_account_name(out->account))
        return fail(err, "account", "account must be 3-24 lower-case letters and digits");

    if (kind == GW_SAS_REQUEST_SERVICE) {
        if (parse_service_resource(out, body, err) != 0 || parse_response_headers(out, body, err) != 0)
            return -1;
    } else {
        if (need_string(body, "services", 4, &out->services, err) != 0)
            return -1;
        if (!letters_ok(out->services, SAS_SS_LETTERS))
            return fail(err, "services", "services must be letters from %s, each at most once", SAS_SS_LETTERS);
        if (need_string(body, "resource_types", 3, &out->resource_types, err) != 0)
            return -1;
        if (!letters_ok(out->resource_types, SAS_SRT_LETTERS))
            return fail(err, "resource_types", "resource_types must be letters from %s, each at most once", SAS_SRT_LETTERS);
    }

    /* permissions, in canonical order */
    if (need_string(body, "permissions", 26, &perms, err) != 0)
        return -1;
    sas_kind_t skind = kind == GW_SAS_REQUEST_SERVICE ? SAS_KIND_SERVICE : SAS_KIND_ACCOUNT;
    sas_sr_t sr = kind == GW_SAS_REQUEST_SERVICE ? out->sr : SAS_SR_NONE;
    if (sas_perm_parse(skind, sr, perms, strlen(perms), &out->perms, &serr) != SAS_OK)
        return fail(err, "permissions", "permissions: %s", serr.message);
    sas_perm_format(skind, out->perms, out->permissions);

    if (parse_window(out, body, now, clock_skew, err) != 0 || parse_network(out, body, err) != 0)
        return -1;
    return 0;
}

int gw_sas_request_parse_text(gw_sas_request_t *out, json_t **root, const char *text, size_t len, gw_sas_request_kind_t kind,
                              sas_time_t now, unsigned clock_skew, gw_sas_request_error_t *err)
{
    json_error_t jerr;

    *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*root == NULL) {
        char msg[256];
        gw_http_json_error_message(&jerr, msg, sizeof(msg));
        return fail(err, NULL, "%s", msg);
    }
    if (gw_sas_request_parse(out, *root, kind, now, clock_skew, err) != 0) {
        json_decref(*root);
        *root = NULL;
        return -1;
    }
    return 0;
}
