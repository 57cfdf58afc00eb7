/*
 * admin_json.c - strict parsing of the admin API's JSON bodies (admin_json.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin_json.h"
#include "sasgw/common.h"

/* Fills e and returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(gw_json_error_t *e, const char *field, const char *fmt, ...)
{
    va_list ap;
    e->field = NULL;
    if (field != NULL) {
        snprintf(e->field_buf, sizeof(e->field_buf), "%s", field);
        e->field = e->field_buf;
    }
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -1;
}

int gw_json_only(json_t *body, const char *const *allowed, gw_json_error_t *e)
{
    if (!json_is_object(body))
        return fail(e, NULL, "the body must be a JSON object");
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i] == NULL)
            return fail(e, key, "unknown field '%.64s'", key);
    }
    return 0;
}

int gw_json_time(json_t *body, const char *field, int64_t *out, gw_json_error_t *e)
{
    json_t *v = json_object_get(body, field);
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        json_int_t t = json_integer_value(v);
        if (t < 0 || t > 253402300799LL) /* 9999-12-31T23:59:59Z */
            return fail(e, field, "%s must be unix seconds between 0 and 253402300799", field);
        *out = (int64_t)t;
        return 0;
    }
    if (json_is_string(v)) {
        int64_t t;
        if (strlen(json_string_value(v)) != json_string_length(v) || vault_time_parse(json_string_value(v), &t) != 0 || t < 0)
            return fail(e, field, "%s must be a time such as 2026-01-02T03:04:05Z", field);
        *out = t;
        return 0;
    }
    return fail(e, field, "%s must be a time (a string such as 2026-01-02T03:04:05Z, or unix seconds)", field);
}

/*
 * Reads a required or optional string field without NUL bytes into *out. 1 present, 0 absent, -1 error.
 * *out (and *len) are NULL (0) unless the field is present.
 */
static int get_string(json_t *body, const char *field, int required, size_t max, const char **out, size_t *len, gw_json_error_t *e)
{
    json_t *v = json_object_get(body, field);
    /* set on every path, so no caller reads an indeterminate value (gcc -O2 cannot see fail() returns -1) */
    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (v == NULL || (!required && json_is_null(v))) {
        if (required)
            return fail(e, field, "%s is required", field);
        return 0;
    }
    if (!json_is_string(v))
        return fail(e, field, "%s must be a string", field);
    size_t n = json_string_length(v);
    if (strlen(json_string_value(v)) != n)
        return fail(e, field, "%s must not contain a NUL character", field);
    if (n > max)
        return fail(e, field, "%s is longer than %zu bytes", field, max);
    *out = json_string_value(v);
    if (len != NULL)
        *len = n;
    return 1;
}

/* Copies a string field into a fixed buffer. 1 present, 0 absent, -1 error. */
static int copy_string(json_t *body, const char *field, char *buf, size_t cap, gw_json_error_t *e)
{
    const char *s;
    size_t n;
    int rc = get_string(body, field, 0, cap - 1, &s, &n, e);
    if (rc == 1)
        memcpy(buf, s, n + 1);
    return rc;
}

int gw_admin_parse_revocation(json_t *body, gw_revoke_selector_t *sel, gw_json_error_t *e)
{
    static const char *const allowed[] = {"token_id", "expiry",    "token",         "principal",
                                          "account",  "container", "issued_before", NULL};
    memset(sel, 0, sizeof(*sel));
    if (gw_json_only(body, allowed, e) != 0)
        return -1;

    /* exactly one selector */
    static const char *const selectors[] = {"token_id", "token", "principal", "account"};
    const char *chosen = NULL;
    for (size_t i = 0; i < sizeof(selectors) / sizeof(selectors[0]); i++) {
        if (json_object_get(body, selectors[i]) == NULL)
            continue;
        if (chosen != NULL)
            return fail(e, selectors[i], "give exactly one of token_id, token, principal, account (%s and %s given)", chosen,
                        selectors[i]);
        chosen = selectors[i];
    }
    if (chosen == NULL)
        return fail(e, NULL, "say what to revoke: token_id, token, principal, or account with issued_before");
    /* fields that belong to another selector */
    if (json_object_get(body, "expiry") != NULL && strcmp(chosen, "token_id") != 0)
        return fail(e, "expiry", "expiry goes with token_id only");
    if (strcmp(chosen, "account") != 0) {
        if (json_object_get(body, "container") != NULL)
            return fail(e, "container", "container goes with account only");
        if (json_object_get(body, "issued_before") != NULL)
            return fail(e, "issued_before", "issued_before goes with account only");
    }

    int rc;
    if (strcmp(chosen, "token_id") == 0) {
        sel->by = GW_REVOKE_BY_TOKEN_ID;
        if ((rc = copy_string(body, "token_id", sel->token_id, sizeof(sel->token_id), e)) != 1)
            return rc == 0 ? fail(e, "token_id", "token_id must be a string") : -1;
        if (gw_json_time(body, "expiry", &sel->expiry, e) != 0)
            return -1;
    } else if (strcmp(chosen, "token") == 0) {
        const char *s;
        size_t n;
        if ((rc = get_string(body, "token", 1, 8192, &s, &n, e)) != 1)
            return -1;
        char why[256];
        if (gw_revoke_selector_from_token(sel, s, n, why, sizeof(why)) != 0)
            return fail(e, "token", "%s", why);
    } else if (strcmp(chosen, "principal") == 0) {
        sel->by = GW_REVOKE_BY_PRINCIPAL;
        if ((rc = copy_string(body, "principal", sel->principal, sizeof(sel->principal), e)) != 1)
            return rc == 0 ? fail(e, "principal", "principal must be a string") : -1;
    } else {
        sel->by = GW_REVOKE_BY_ISSUED;
        if ((rc = copy_string(body, "account", sel->account, sizeof(sel->account), e)) != 1)
            return rc == 0 ? fail(e, "account", "account must be a string") : -1;
        if (copy_string(body, "container", sel->container, sizeof(sel->container), e) < 0)
            return -1;
        if (json_object_get(body, "issued_before") == NULL)
            return fail(e, "issued_before", "issued_before is required with account");
        if (gw_json_time(body, "issued_before", &sel->issued_before, e) != 0)
            return -1;
    }
    const char *field = NULL;
    char why[256];
    if (gw_revoke_selector_check(sel, &field, why, sizeof(why)) != 0)
        return fail(e, field, "%s", why);
    return 0;
}

int gw_admin_parse_key_import(json_t *body, uint8_t *key, size_t *key_len, gw_json_error_t *e)
{
    static const char *const allowed[] = {"value", NULL};
    if (gw_json_only(body, allowed, e) != 0)
        return -1;
    const char *s;
    size_t n;
    if (get_string(body, "value", 1, SG_B64_ENCODED_LEN(VAULT_KEY_MAX), &s, &n, e) != 1)
        return -1;
    if (sg_b64_decode(s, n, key, VAULT_KEY_MAX, key_len) != 0) {
        sg_wipe(key, VAULT_KEY_MAX);
        return fail(e, "value", "value must be the base64 of a %d to %d byte key", VAULT_KEY_MIN, VAULT_KEY_MAX);
    }
    if (*key_len < VAULT_KEY_MIN) {
        sg_wipe(key, VAULT_KEY_MAX);
        return fail(e, "value", "value must be the base64 of a %d to %d byte key", VAULT_KEY_MIN, VAULT_KEY_MAX);
    }
    return 0;
}

int gw_admin_parse_policy(json_t *body, vault_policy_t *p, gw_json_error_t *e)
{
    static const char *const allowed[] = {"start", "expiry", "permissions", NULL};
    if (gw_json_only(body, allowed, e) != 0)
        return -1;
    p->start = p->expiry = 0;
    p->permissions[0] = '\0';
    if (gw_json_time(body, "start", &p->start, e) != 0 || gw_json_time(body, "expiry", &p->expiry, e) != 0)
        return -1;
    if (p->start != 0 && p->expiry != 0 && p->expiry <= p->start)
        return fail(e, "expiry", "expiry must come after start");
    const char *perms;
    int rc = get_string(body, "permissions", 0, sizeof(p->permissions) - 1, &perms, NULL, e);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (!vault_valid_permissions(perms))
            return fail(e, "permissions", "permissions are letters of %s, each at most once", VAULT_PERMISSIONS);
        strcpy(p->permissions, perms);
    }
    return 0;
}

/*
 * Reads an optional tags member (absent or null: none): an object of at most
 * 15 string values, names 1-256 and values 0-256 characters. *tags (free())
 * borrows the strings from the document. 0, or -1 with e filled and nothing allocated.
 */
static int parse_tags(json_t *tags, vault_tag_t **out, size_t *n, gw_json_error_t *e)
{
    *out = NULL;
    *n = 0;
    if (tags == NULL || json_is_null(tags))
        return 0;
    if (!json_is_object(tags))
        return fail(e, "tags", "tags must be an object of strings");
    if (json_object_size(tags) > 15)
        return fail(e, "tags", "at most 15 tags");
    vault_tag_t *t = sg_calloc(json_object_size(tags) + 1, sizeof(*t));
    size_t count = 0;
    const char *k;
    json_t *tv;
    json_object_foreach(tags, k, tv)
    {
        size_t klen = strlen(k);
        if (klen == 0 || klen > 256) {
            free(t);
            return fail(e, "tags", "a tag name is 1 to 256 characters");
        }
        if (!json_is_string(tv) || json_string_length(tv) > 256 || strlen(json_string_value(tv)) != json_string_length(tv)) {
            free(t);
            return fail(e, "tags", "a tag value is a string of at most 256 characters");
        }
        t[count].key = (char *)(uintptr_t)k; /* vault_tag_t is not const; the vault copies */
        t[count].value = (char *)(uintptr_t)json_string_value(tv);
        count++;
    }
    *out = t;
    *n = count;
    return 0;
}

int gw_admin_parse_secret(json_t *body, gw_secret_body_t *out, gw_json_error_t *e)
{
    static const char *const allowed[] = {"value", "content_type", "tags", "nbf", "exp", "enabled", NULL};
    memset(out, 0, sizeof(*out));
    if (gw_json_only(body, allowed, e) != 0)
        return -1;
    json_t *v = json_object_get(body, "value");
    if (v == NULL)
        return fail(e, "value", "value is required");
    if (!json_is_string(v))
        return fail(e, "value", "value must be a string");
    out->value = json_string_value(v);
    out->value_len = json_string_length(v);
    if (out->value_len > VAULT_SECRET_MAX)
        return fail(e, "value", "value is longer than %d bytes", VAULT_SECRET_MAX);
    if (get_string(body, "content_type", 0, 255, &out->in.content_type, NULL, e) < 0)
        return -1;
    if (gw_json_time(body, "nbf", &out->in.nbf, e) != 0 || gw_json_time(body, "exp", &out->in.exp, e) != 0)
        return -1;
    if (out->in.nbf != 0 && out->in.exp != 0 && out->in.exp <= out->in.nbf)
        return fail(e, "exp", "exp must come after nbf");
    json_t *en = json_object_get(body, "enabled");
    if (en != NULL) {
        if (!json_is_boolean(en))
            return fail(e, "enabled", "enabled must be true or false");
        out->in.disabled = json_is_false(en);
    }
    if (parse_tags(json_object_get(body, "tags"), &out->tags, &out->in.ntags, e) != 0)
        return -1;
    out->in.tags = out->tags;
    return 0;
}

void gw_secret_body_dispose(gw_secret_body_t *s)
{
    free(s->tags);
    s->tags = NULL;
    s->in.tags = NULL;
    s->in.ntags = 0;
}

int gw_admin_parse_sasdef(json_t *body, gw_sasdef_body_t *out, gw_json_error_t *e)
{
    static const char *const allowed[] = {"template_uri", "sas_type", "validity_period", "enabled", "tags", NULL};
    const char *type = NULL;
    memset(out, 0, sizeof(*out));
    out->in.enabled = 1;
    if (gw_json_only(body, allowed, e) != 0)
        return -1;
    if (get_string(body, "template_uri", 1, VAULT_SASDEF_TEMPLATE_MAX, &out->in.template_uri, NULL, e) < 0 ||
        get_string(body, "sas_type", 1, 16, &type, NULL, e) < 0 ||
        get_string(body, "validity_period", 1, VAULT_SASDEF_VALIDITY_TEXT_MAX - 1, &out->in.validity, NULL, e) < 0)
        return -1;
    if (out->in.template_uri == NULL)
        return fail(e, "template_uri", "template_uri is required");
    if (type == NULL || (strcmp(type, "service") != 0 && strcmp(type, "account") != 0))
        return fail(e, "sas_type", "sas_type must be service or account");
    out->in.sas_type = strcmp(type, "account") == 0 ? VAULT_SASDEF_ACCOUNT : VAULT_SASDEF_SERVICE;
    if (out->in.validity == NULL)
        return fail(e, "validity_period", "validity_period is required (an ISO 8601 duration, e.g. PT1H)");
    json_t *en = json_object_get(body, "enabled");
    if (en != NULL) {
        if (!json_is_boolean(en))
            return fail(e, "enabled", "enabled must be true or false");
        out->in.enabled = json_is_true(en);
    }
    if (parse_tags(json_object_get(body, "tags"), &out->tags, &out->in.ntags, e) != 0)
        return -1;
    out->in.tags = out->tags;
    return 0;
}

void gw_sasdef_body_dispose(gw_sasdef_body_t *s)
{
    free(s->tags);
    s->tags = NULL;
    s->in.tags = NULL;
    s->in.ntags = 0;
}
