/*
 * policy_decide.c - grants or refuses a token request for a principal, deny
 * by default, naming the rule that decided (see policy_decide() in policy.h).
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Azure's limit on blob names. */
#define MAX_BLOB_NAME 1024

__attribute__((format(printf, 3, 4))) static int decide(policy_decision_t *out, const char *rule, const char *fmt, ...)
{
    va_list ap;
    snprintf(out->rule, sizeof(out->rule), "%s", rule);
    int n = snprintf(out->message, sizeof(out->message), "%s: ", out->rule);
    if (n > 0 && (size_t)n < sizeof(out->message)) {
        va_start(ap, fmt);
        vsnprintf(out->message + n, sizeof(out->message) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return out->granted ? 0 : -1;
}

/* Whether blob (already normalised) starts with the prefix template, {principal} standing for name. */
static int prefix_matches(const char *tmpl, const char *name, const char *blob)
{
    size_t nlen = strlen(name);
    while (*tmpl != '\0') {
        if (strncmp(tmpl, "{principal}", 11) == 0) {
            if (strncmp(blob, name, nlen) != 0)
                return 0;
            blob += nlen;
            tmpl += 11;
        } else if (*blob++ != *tmpl++) {
            return 0;
        }
    }
    return 1;
}

static int covers(const policy__grant_t *g, const policy_principal_t *pr, const policy_request_t *req, const char *blob)
{
    if (strcmp(g->account, req->account) != 0)
        return 0;
    if (req->kind == POLICY_SAS_ACCOUNT)
        return g->account_sas;
    if (g->account_sas || (strcmp(g->container, "*") != 0 && strcmp(g->container, req->container) != 0))
        return 0;
    /* a container SAS reaches every blob: only a grant without prefix covers it */
    if (blob == NULL)
        return g->prefix == NULL;
    return g->prefix == NULL || prefix_matches(g->prefix, pr->name, blob);
}

/* Whether every letter of want is in have. Sets *missing to the first that is not. */
static int subset(const char *want, const char *have, char *missing)
{
    for (; *want != '\0'; want++) {
        if (strchr(have, *want) == NULL) {
            *missing = *want;
            return 0;
        }
    }
    return 1;
}

static int ip_allowed(const policy__grant_t *g, const uint8_t ip[16])
{
    for (size_t i = 0; i < g->nips; i++)
        if (memcmp(ip, g->ips[i].lo, 16) >= 0 && memcmp(ip, g->ips[i].hi, 16) <= 0)
            return 1;
    return 0;
}

/*
 * Checks what a covering grant allows. Returns 1, or 0 with the reason in
 * reason and the request member it is about in *field (NULL: none).
 */
static int allows(const policy__grant_t *g, const policy_request_t *req, int has_ip, const uint8_t ip[16], char *reason, size_t cap,
                  const char **field)
{
    char c;
    *field = NULL;
    if (!subset(req->permissions, g->permissions, &c)) {
        snprintf(reason, cap, "permission %c not granted (allowed %s)", c, g->permissions);
        *field = "permissions";
        return 0;
    }
    if (req->kind == POLICY_SAS_ACCOUNT && !subset(req->services, g->services, &c)) {
        snprintf(reason, cap, "service %c not granted (allowed %s)", c, g->services);
        *field = "services";
        return 0;
    }
    if (req->kind == POLICY_SAS_ACCOUNT && !subset(req->resource_types, g->resource_types, &c)) {
        snprintf(reason, cap, "resource type %c not granted (allowed %s)", c, g->resource_types);
        *field = "resource_types";
        return 0;
    }
    if (req->ttl > g->max_ttl) {
        snprintf(reason, cap, "ttl %llus exceeds max_ttl %llus", (unsigned long long)req->ttl, (unsigned long long)g->max_ttl);
        *field = "expires_in";
        return 0;
    }
    if (req->protocol != NULL && strcmp(req->protocol, "https,http") == 0 && !g->allow_http) {
        snprintf(reason, cap, "protocol https,http not allowed (https only)");
        *field = "protocol";
        return 0;
    }
    if (g->nips > 0 && !has_ip) {
        snprintf(reason, cap, "the client address is unknown and the grant restricts ip");
        return 0;
    }
    if (g->nips > 0 && !ip_allowed(g, ip)) {
        snprintf(reason, cap, "client address %s is outside the grant's ip list", req->client_ip);
        return 0;
    }
    return 1;
}

/* Copies the blob name with '\' read as '/' (as Azure does) and refuses "." and ".." segments. */
static int normalise_blob(const char *blob, char *out, policy_decision_t *dec)
{
    size_t len = strlen(blob);
    if (len == 0 || len > MAX_BLOB_NAME)
        return decide(dec, "request", "the blob name must be 1 to %d bytes", MAX_BLOB_NAME);
    for (size_t i = 0; i <= len; i++)
        out[i] = blob[i] == '\\' ? '/' : blob[i];
    for (const char *seg = out; seg != NULL;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return decide(dec, "request", "the blob name has a '.' or '..' segment");
        seg = slash ? slash + 1 : NULL;
    }
    return 0;
}

/* Refuses malformed requests before any grant is looked at. */
static int check_request(const policy_request_t *req, int *has_ip, uint8_t ip[16], policy_decision_t *out)
{
    char bad = 0;
    int account = req->kind == POLICY_SAS_ACCOUNT;
    if (req->kind != POLICY_SAS_SERVICE && req->kind != POLICY_SAS_ACCOUNT)
        return decide(out, "request", "unknown kind of SAS");
    if (req->account == NULL || !policy__valid_account(req->account))
        return decide(out, "request", "no valid storage account name");
    if (!account && (req->container == NULL || !policy__valid_container(req->container)))
        return decide(out, "request", "no valid container name");
    const char *perms = req->permissions ? req->permissions : "", *ss = req->services ? req->services : "",
               *srt = req->resource_types ? req->resource_types : "";
    switch (sas_letters_check(sas_letters(account ? SAS_PERM_ORDER_ACCOUNT : SAS_PERM_ORDER_SERVICE), perms, strlen(perms), NULL,
                              &bad)) {
    case SAS_LETTERS_OK:
        break;
    case SAS_LETTERS_UNKNOWN:
        return decide(out, "request", "'%c' is not a permission letter", bad);
    case SAS_LETTERS_REPEATED:
        out->field = "permissions";
        return decide(out, "request", "permission '%c' appears twice", bad);
    default:
        return decide(out, "request", "no permissions");
    }
    if (account && (sas_letters_check(sas_letters(SAS_SS_LETTERS), ss, strlen(ss), NULL, NULL) != SAS_LETTERS_OK ||
                    sas_letters_check(sas_letters(SAS_SRT_LETTERS), srt, strlen(srt), NULL, NULL) != SAS_LETTERS_OK)) {
        out->field = "account";
        return decide(out, "request", "an account SAS needs services (of bqtf) and resource types (of sco), none repeated");
    }
    if (req->ttl == 0)
        return decide(out, "request", "the ttl must be positive");
    if (req->protocol != NULL && strcmp(req->protocol, "https") != 0 && strcmp(req->protocol, "https,http") != 0) {
        out->field = "protocol";
        return decide(out, "request", "protocol must be https or https,http");
    }
    *has_ip = 0;
    if (req->client_ip != NULL && req->client_ip[0] != '\0') {
        if (policy__parse_ip(req->client_ip, strlen(req->client_ip), ip) != 0)
            return decide(out, "request", "the client address is not an IP address");
        *has_ip = 1;
    }
    return 0;
}

int policy_decide(const policy_principal_t *principal, const policy_request_t *req, policy_decision_t *out)
{
    char blob_buf[MAX_BLOB_NAME + 1], reason[sizeof(out->message)] = "";
    const char *blob = NULL, *refused_by = NULL, *refused_field = NULL;
    uint8_t ip[16] = {0};
    int has_ip = 0;

    memset(out, 0, sizeof(*out));
    if (principal == NULL || req == NULL)
        return decide(out, "request", "no principal or request");
    if (check_request(req, &has_ip, ip, out) != 0)
        return -1;
    if (req->kind == POLICY_SAS_SERVICE && req->blob != NULL) {
        if (normalise_blob(req->blob, blob_buf, out) != 0)
            return -1;
        blob = blob_buf;
    }

    /* the first grant that covers and allows wins; the first covering refusal is the one reported */
    for (size_t r = 0; r < principal->nroles; r++) {
        const policy__role_t *role = principal->roles[r];
        for (size_t i = 0; i < role->ngrants; i++) {
            const policy__grant_t *g = &role->grants[i];
            char why[sizeof(reason)];
            const char *field;
            if (!covers(g, principal, req, blob))
                continue;
            if (allows(g, req, has_ip, ip, why, sizeof(why), &field)) {
                out->granted = 1;
                /* static strings: the decision may outlive the request */
                out->protocol =
                    (req->protocol != NULL ? strcmp(req->protocol, "https,http") == 0 : g->allow_http) ? "https,http" : "https";
                out->max_ttl = g->max_ttl;
                return decide(out, g->rule, "granted");
            }
            if (refused_by == NULL) {
                refused_by = g->rule;
                refused_field = field;
                memcpy(reason, why, sizeof(reason));
            }
        }
    }
    if (refused_by != NULL) {
        out->field = refused_field;
        return decide(out, refused_by, "%s", reason);
    }
    if (req->kind == POLICY_SAS_ACCOUNT) {
        out->field = "account";
        return decide(out, "default", "no grant allows an account SAS for %s", req->account);
    }
    out->field = req->blob != NULL ? "blob" : "container";
    if (blob != NULL)
        return decide(out, "default", "no grant covers %s/%s/%s", req->account, req->container, req->blob);
    return decide(out, "default", "no grant covers %s/%s", req->account, req->container);
}
