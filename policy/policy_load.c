/*
 * policy_load.c - reads policy.yaml (DESIGN §8) with libyaml's document API
 * into an immutable policy_t. The schema is closed: an unknown key, a value of
 * the wrong type or a bad value stops the load with "file:line:column: what".
 * Sections are read in dependency order (jwt_issuers, roles, principals) so
 * references between them resolve wherever they appear in the file.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "sasgw/common.h"
#include "sasgw/common/yaml_schema.h"

#define MAX_PRINCIPALS 10000
#define MAX_ROLES 10000
#define MAX_GRANTS 1000
#define MAX_IPS 256
#define MAX_ISSUERS 64
#define MAX_NAME 64
#define MAX_STRING 1024
#define MAX_TTL_SECONDS (365ull * 86400)
#define DEFAULT_LEEWAY 60
#define MAX_LEEWAY 3600

typedef struct st_loader_t {
    const char *file;
    const char *basedir;
    ys_doc_t y;
    policy_t *policy;
} loader_t;

/* Formats a dotted path for messages ("roles.x.grants[0].permissions"), truncated to fit. */
__attribute__((format(printf, 3, 4))) static void pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

#define fail(l, ...) ys_fail(&(l)->y, __VA_ARGS__)

/* The text of a scalar: a non-empty string without NUL, of at most MAX_STRING bytes. NULL after fail(). */
static const char *string(loader_t *l, const yaml_node_t *node, const char *path)
{
    return ys_string(&l->y, node, path);
}

/* Checks that node is a sequence; fails with "path: expected a sequence, found ..." otherwise. */
static int expect_sequence(loader_t *l, const yaml_node_t *node, const char *path)
{
    return ys_sequence(&l->y, node, path, NULL) < 0 ? -1 : 0;
}

/* The allowed keys of each mapping, in the order messages list them. */
static const char *const root_keys[] = {"principals", "roles", "jwt_issuers", NULL};
static const char *const issuer_keys[] = {"issuer", "audience", "keys", "leeway", "algorithms", NULL};
static const char *const grant_keys[] = {"account", "container",   "prefix",   "permissions",    "max_ttl", "protocol",
                                         "ip",      "account_sas", "services", "resource_types", NULL};
static const char *const role_keys[] = {"grants", "admin", "keyvault", NULL};
static const char *const kv_keys[] = {"actions", "secrets", "storage", NULL};
static const char *const jwt_keys[] = {"issuer", "subject", NULL};
static const char *const basic_keys[] = {"secret_sha256", NULL};
static const char *const auth_keys[] = {"basic", "jwt", NULL};
static const char *const principal_keys[] = {"auth", "roles", NULL};

/* Principal and role names: 1 to 64 of [A-Za-z0-9._@-]. */
static int check_name(loader_t *l, const yaml_node_t *node, const char *name, const char *what)
{
    size_t len = strlen(name);
    if (len == 0 || len > MAX_NAME || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") != len)
        return fail(l, node, "%s name '%.80s' must be 1 to %d letters, digits or . _ @ -", what, name, MAX_NAME);
    return 0;
}

/* "30s", "15m", "1h", "1d": a positive whole number and one unit, at most a year. */
static int duration(loader_t *l, const yaml_node_t *node, const char *path, uint64_t *out)
{
    const char *s = string(l, node, path);
    uint64_t v = 0, unit;
    size_t i = 0;
    if (s == NULL)
        return -1;
    for (; s[i] >= '0' && s[i] <= '9' && i < 10; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    switch (i > 0 && s[i] != '\0' && s[i + 1] == '\0' ? s[i] : '\0') {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    default:
        return fail(l, node, "%s: '%s' is not a duration (a number and a unit s, m, h or d, as in 30s, 15m, 1h, 1d)", path, s);
    }
    if (v == 0 || v * unit > MAX_TTL_SECONDS)
        return fail(l, node, "%s: '%s' must be more than 0 and at most 365d", path, s);
    *out = v * unit;
    return 0;
}

/* A letter set (permissions, services, resource types) copied into out (capacity cap). */
static int letters(loader_t *l, const yaml_node_t *node, const char *path, const char *set, char *out, size_t cap)
{
    const char *s = string(l, node, path);
    char bad = 0;
    if (s == NULL)
        return -1;
    switch (sas_letters_check(sas_letters(set), s, strlen(s), NULL, &bad)) {
    case SAS_LETTERS_OK:
        break;
    case SAS_LETTERS_UNKNOWN:
        return fail(l, node, "%s: '%c' is not one of the letters %s", path, bad, set);
    case SAS_LETTERS_REPEATED:
        return fail(l, node, "%s: '%c' appears twice", path, bad);
    default:
        return fail(l, node, "%s: must not be empty", path);
    }
    if (strlen(s) >= cap)
        return fail(l, node, "%s: too many letters", path);
    strcpy(out, s);
    return 0;
}

/* ---- jwt_issuers ---- */

static int load_issuer(loader_t *l, const yaml_node_t *node, const char *path, policy__issuer_t *iss)
{
    const yaml_node_t *keys_node = NULL;
    const char *keys_path = NULL;
    char sub[MAX_STRING];

    ys_map_t m;
    if (ys_map_open(&l->y, &m, node, path, NULL, issuer_keys) != 0)
        return -1;
    iss->leeway = DEFAULT_LEEWAY;
    iss->algs = (1u << POLICY__ALG_RS256) | (1u << POLICY__ALG_ES256);
    while (ys_map_next(&m)) {
        const char *k = m.text, *s;
        yaml_node_t *v = m.value;
        pathf(sub, sizeof(sub), "%s.%s", path, k);
        if (strcmp(k, "issuer") == 0) {
            if ((s = string(l, v, sub)) == NULL)
                return -1;
            for (size_t i = 0; i < l->policy->nissuers; i++)
                if (l->policy->issuers[i].issuer != NULL && strcmp(l->policy->issuers[i].issuer, s) == 0)
                    return fail(l, v, "%s: issuer '%s' is configured twice", sub, s);
            iss->issuer = sg_strdup(s);
        } else if (strcmp(k, "audience") == 0) {
            if ((s = string(l, v, sub)) == NULL)
                return -1;
            iss->audience = sg_strdup(s);
        } else if (strcmp(k, "keys") == 0) {
            if ((keys_path = string(l, v, sub)) == NULL)
                return -1;
            keys_node = v;
        } else if (strcmp(k, "leeway") == 0) {
            if ((s = string(l, v, sub)) == NULL)
                return -1;
            size_t n = strspn(s, "0123456789");
            if (n == 0 || s[n] != '\0' || n > 4 || atoi(s) > MAX_LEEWAY)
                return fail(l, v, "%s: expected a number of seconds from 0 to %d, found '%s'", sub, MAX_LEEWAY, s);
            iss->leeway = atoi(s);
        } else if (strcmp(k, "algorithms") == 0) {
            if (expect_sequence(l, v, sub) != 0)
                return -1;
            iss->algs = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                yaml_node_t *a = ys_node(&l->y, *it);
                if (a == NULL || (s = string(l, a, sub)) == NULL)
                    return -1;
                unsigned bit = strcmp(s, "RS256") == 0   ? 1u << POLICY__ALG_RS256
                               : strcmp(s, "ES256") == 0 ? 1u << POLICY__ALG_ES256
                                                         : 0;
                if (bit == 0)
                    return fail(l, a, "%s: '%s' is not supported (RS256 or ES256)", sub, s);
                if (iss->algs & bit)
                    return fail(l, a, "%s: '%s' appears twice", sub, s);
                iss->algs |= bit;
            }
            if (iss->algs == 0)
                return fail(l, v, "%s: must name at least one algorithm", sub);
        }
    }
    if (ys_map_required(&m, 1u << 0 | 1u << 1 | 1u << 2) != 0) /* issuer, audience, keys */
        return -1;

    /* keys: relative to the policy file's directory */
    char *full, why[512];
    if (keys_path[0] == '/' || l->basedir == NULL || l->basedir[0] == '\0') {
        full = sg_strdup(keys_path);
    } else {
        full = sg_alloc(strlen(l->basedir) + strlen(keys_path) + 2);
        sprintf(full, "%s/%s", l->basedir, keys_path);
    }
    int ret = policy__load_keys(full, iss->algs, &iss->keys, &iss->nkeys, why, sizeof(why));
    free(full);
    if (ret != 0)
        return fail(l, keys_node, "%s.keys: %s", path, why);
    return 0;
}

static int load_issuers(loader_t *l, const yaml_node_t *node)
{
    policy_t *pol = l->policy;
    if (expect_sequence(l, node, "jwt_issuers") != 0)
        return -1;
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n > MAX_ISSUERS)
        return fail(l, node, "jwt_issuers: more than %d issuers", MAX_ISSUERS);
    pol->issuers = sg_calloc(n, sizeof(*pol->issuers));
    for (size_t i = 0; i < n; i++) {
        char path[64];
        yaml_node_t *v = ys_node(&l->y, node->data.sequence.items.start[i]);
        if (v == NULL)
            return -1;
        pathf(path, sizeof(path), "jwt_issuers[%zu]", i);
        /* counted first so that a failure frees what was read so far */
        pol->nissuers++;
        if (load_issuer(l, v, path, &pol->issuers[i]) != 0)
            return -1;
    }
    return 0;
}

/* ---- roles ---- */

static int load_ips(loader_t *l, const yaml_node_t *node, const char *path, policy__grant_t *g)
{
    const yaml_node_item_t *start = NULL, *top = NULL;
    int single = 0;
    if (node->type == YAML_SCALAR_NODE) {
        /* a single range may be written without a list */
        single = 1;
    } else if (expect_sequence(l, node, path) != 0) {
        return -1;
    } else {
        start = node->data.sequence.items.start;
        top = node->data.sequence.items.top;
        if (top - start > MAX_IPS)
            return fail(l, node, "%s: more than %d entries", path, MAX_IPS);
        if (top == start)
            return fail(l, node, "%s: an empty list would refuse every client; omit ip to allow any", path);
    }
    size_t n = single ? 1 : (size_t)(top - start);
    g->ips = sg_calloc(n, sizeof(*g->ips));
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = single ? node : ys_node(&l->y, start[i]);
        const char *s;
        if (item == NULL || (s = string(l, item, path)) == NULL)
            return -1;
        if (policy__parse_iprange(s, &g->ips[i]) != 0)
            return fail(l, item,
                        "%s: '%s' is not an address, CIDR (10.0.0.0/8, 2001:db8::/32) or range (10.0.0.1-10.0.0.9) "
                        "with host bits clear",
                        path, s);
        g->nips++;
    }
    return 0;
}

static int check_account(loader_t *l, const yaml_node_t *node, const char *path, const char *s)
{
    if (!policy__valid_account(s))
        return fail(l, node, "%s: '%s' is not a storage account name (3 to 24 lowercase letters and digits)", path, s);
    return 0;
}

static int check_container(loader_t *l, const yaml_node_t *node, const char *path, const char *s)
{
    if (strcmp(s, "*") != 0 && !policy__valid_container(s))
        return fail(l, node, "%s: '%s' is not a container name (3 to 63 lowercase letters, digits and single dashes) or *", path,
                    s);
    return 0;
}

/* A prefix may use the placeholder {principal} and no other brace. */
static int check_prefix(loader_t *l, const yaml_node_t *node, const char *path, const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '{' && strncmp(p, "{principal}", 11) == 0) {
            p += 10;
            continue;
        }
        if (*p == '{' || *p == '}')
            return fail(l, node, "%s: '%s' has a brace that is not {principal}", path, s);
        if (*p == '\\')
            return fail(l, node, "%s: '%s' has a backslash (write /)", path, s);
    }
    return 0;
}

static int load_grant(loader_t *l, const yaml_node_t *node, const char *path, policy__grant_t *g)
{
    const yaml_node_t *perm_node = NULL, *container_node = NULL, *prefix_node = NULL, *services_node = NULL, *srt_node = NULL;
    char sub[MAX_STRING];

    ys_map_t m;
    if (ys_map_open(&l->y, &m, node, path, NULL, grant_keys) != 0)
        return -1;
    while (ys_map_next(&m)) {
        const char *k = m.text, *s;
        yaml_node_t *v = m.value;
        pathf(sub, sizeof(sub), "%s.%s", path, k);
        if (strcmp(k, "account") == 0) {
            if ((s = string(l, v, sub)) == NULL || check_account(l, v, sub, s) != 0)
                return -1;
            g->account = sg_strdup(s);
        } else if (strcmp(k, "container") == 0) {
            if ((s = string(l, v, sub)) == NULL || check_container(l, v, sub, s) != 0)
                return -1;
            g->container = sg_strdup(s);
            container_node = v;
        } else if (strcmp(k, "prefix") == 0) {
            if ((s = string(l, v, sub)) == NULL || check_prefix(l, v, sub, s) != 0)
                return -1;
            g->prefix = sg_strdup(s);
            prefix_node = v;
        } else if (strcmp(k, "permissions") == 0) {
            if (string(l, v, sub) == NULL)
                return -1;
            perm_node = v; /* checked once account_sas is known */
        } else if (strcmp(k, "max_ttl") == 0) {
            if (duration(l, v, sub, &g->max_ttl) != 0)
                return -1;
        } else if (strcmp(k, "protocol") == 0) {
            if ((s = string(l, v, sub)) == NULL)
                return -1;
            if (strcmp(s, "https") == 0)
                g->allow_http = 0;
            else if (strcmp(s, "https,http") == 0)
                g->allow_http = 1;
            else
                return fail(l, v, "%s: expected https or https,http, found '%s'", sub, s);
        } else if (strcmp(k, "ip") == 0) {
            if (load_ips(l, v, sub, g) != 0)
                return -1;
        } else if (strcmp(k, "account_sas") == 0) {
            if (ys_bool(&l->y, v, sub, &g->account_sas) != 0)
                return -1;
        } else if (strcmp(k, "services") == 0) {
            if (letters(l, v, sub, SAS_SS_LETTERS, g->services, sizeof(g->services)) != 0)
                return -1;
            services_node = v;
        } else if (strcmp(k, "resource_types") == 0) {
            if (letters(l, v, sub, SAS_SRT_LETTERS, g->resource_types, sizeof(g->resource_types)) != 0)
                return -1;
            srt_node = v;
        }
    }
    if (ys_map_required(&m, 1u << 0 | 1u << 3 | 1u << 4) != 0) /* account, permissions, max_ttl */
        return -1;
    pathf(sub, sizeof(sub), "%s.permissions", path);
    if (letters(l, perm_node, sub, g->account_sas ? SAS_PERM_ORDER_ACCOUNT : SAS_PERM_ORDER_SERVICE, g->permissions,
                sizeof(g->permissions)) != 0)
        return -1;
    if (g->account_sas) {
        if (container_node != NULL || prefix_node != NULL)
            return fail(l, container_node ? container_node : prefix_node, "%s: an account_sas grant has no container or prefix",
                        path);
        if (services_node == NULL || srt_node == NULL)
            return fail(l, node, "%s: an account_sas grant needs services and resource_types", path);
    } else {
        if (services_node != NULL || srt_node != NULL)
            return fail(l, services_node ? services_node : srt_node, "%s: services and resource_types need account_sas: true",
                        path);
        if (g->container == NULL)
            return fail(l, node, "%s: container is required (a name or *)", path);
    }
    return 0;
}

/*
 * A Key Vault scope: "*", a name of 1 to 127 of [0-9a-zA-Z-], or such a
 * prefix followed by one '*' (secret and storage account names share the
 * alphabet; storage accounts are narrower, which is their API's business).
 */
static int kv_scope(loader_t *l, const yaml_node_t *node, const char *path, char **out)
{
    const char *s = string(l, node, path);
    if (s == NULL)
        return -1;
    size_t len = strlen(s), body = len > 0 && s[len - 1] == '*' ? len - 1 : len;
    if (len > 128 || strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != body ||
        (body == 0 && len != 1))
        return fail(l, node, "%s: '%.80s' is not a scope (*, a name of letters, digits and -, or such a prefix and *)", path, s);
    *out = sg_strdup(s);
    return 0;
}

/* One `keyvault:` entry: {actions: [get, list, ...], secrets?: scope, storage?: scope}. */
static int load_kv_entry(loader_t *l, const yaml_node_t *node, const char *path, policy__kv_entry_t *e)
{
    char sub[MAX_STRING];
    ys_map_t m;
    if (ys_map_open(&l->y, &m, node, path, NULL, kv_keys) != 0)
        return -1;
    while (ys_map_next(&m)) {
        const char *k = m.text;
        yaml_node_t *v = m.value;
        pathf(sub, sizeof(sub), "%s.%s", path, k);
        if (strcmp(k, "actions") == 0) {
            if (expect_sequence(l, v, sub) != 0)
                return -1;
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                yaml_node_t *c = ys_node(&l->y, *it);
                const char *s;
                size_t a = 0;
                if (c == NULL || (s = string(l, c, sub)) == NULL)
                    return -1;
                /* "get" is short for "secrets/get" */
                for (; a < POLICY_KV_ACTION_COUNT; a++) {
                    const char *name = policy_kv_action_name((policy_kv_action_t)a);
                    if (strcmp(name, s) == 0 || (strncmp(name, "secrets/", 8) == 0 && strcmp(name + 8, s) == 0))
                        break;
                }
                if (a == POLICY_KV_ACTION_COUNT)
                    return fail(l, c,
                                "%s: '%s' is not a Key Vault data action (get, list, set, delete, recover, backup, restore, "
                                "purge, or secrets/<one of them>; storage/getsas, storage/listsas, storage/setsas, "
                                "storage/deletesas)",
                                sub, s);
                if (e->actions & (1u << a))
                    return fail(l, c, "%s: '%s' appears twice", sub, s);
                e->actions |= 1u << a;
            }
            if (e->actions == 0)
                return fail(l, v, "%s: at least one action is needed", sub);
        } else if (strcmp(k, "secrets") == 0) {
            if (kv_scope(l, v, sub, &e->secrets) != 0)
                return -1;
        } else if (strcmp(k, "storage") == 0) {
            if (kv_scope(l, v, sub, &e->storage) != 0)
                return -1;
        }
    }
    if (ys_map_required(&m, 1u << 0) != 0) /* actions */
        return -1;
    if (e->secrets == NULL)
        e->secrets = sg_strdup("*");
    if (e->storage == NULL)
        e->storage = sg_strdup("*");
    return 0;
}

static int load_role(loader_t *l, const yaml_node_t *node, const char *path, policy__role_t *role)
{
    char sub[MAX_STRING];
    int any = 0;
    ys_map_t m;
    if (ys_map_open(&l->y, &m, node, path, NULL, role_keys) != 0)
        return -1;
    while (ys_map_next(&m)) {
        const char *k = m.text;
        yaml_node_t *v = m.value;
        pathf(sub, sizeof(sub), "%s.%s", path, k);
        if (strcmp(k, "grants") == 0) {
            if (expect_sequence(l, v, sub) != 0)
                return -1;
            size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
            if (n > MAX_GRANTS)
                return fail(l, v, "%s: more than %d grants", sub, MAX_GRANTS);
            role->grants = sg_calloc(n, sizeof(*role->grants));
            for (size_t i = 0; i < n; i++) {
                char gpath[MAX_STRING];
                yaml_node_t *g = ys_node(&l->y, v->data.sequence.items.start[i]);
                if (g == NULL)
                    return -1;
                pathf(gpath, sizeof(gpath), "%s[%zu]", sub, i);
                role->grants[i].rule = sg_strdup(gpath);
                role->ngrants++;
                if (load_grant(l, g, gpath, &role->grants[i]) != 0)
                    return -1;
            }
            any |= n > 0;
        } else if (strcmp(k, "admin") == 0) {
            if (expect_sequence(l, v, sub) != 0)
                return -1;
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                yaml_node_t *c = ys_node(&l->y, *it);
                const char *s;
                size_t i = 0;
                if (c == NULL || (s = string(l, c, sub)) == NULL)
                    return -1;
                while (i < POLICY_CAPABILITY_COUNT && strcmp(policy_capabilities[i], s) != 0)
                    i++;
                if (i == POLICY_CAPABILITY_COUNT)
                    return fail(l, c,
                                "%s: '%s' is not a capability (accounts.read, keys.rotate, keys.import, revoke, "
                                "policies.write, policies.read, secrets.read, secrets.write, secrets.purge, audit.read, "
                                "policy.reload)",
                                sub, s);
                if (role->caps & (1u << i))
                    return fail(l, c, "%s: '%s' appears twice", sub, s);
                role->caps |= 1u << i;
            }
            any |= role->caps != 0;
        } else if (strcmp(k, "keyvault") == 0) {
            if (expect_sequence(l, v, sub) != 0)
                return -1;
            size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
            if (n > MAX_GRANTS)
                return fail(l, v, "%s: more than %d entries", sub, MAX_GRANTS);
            role->kv = sg_calloc(n + 1, sizeof(*role->kv));
            for (size_t i = 0; i < n; i++) {
                char epath[MAX_STRING];
                yaml_node_t *e = ys_node(&l->y, v->data.sequence.items.start[i]);
                if (e == NULL)
                    return -1;
                pathf(epath, sizeof(epath), "%s[%zu]", sub, i);
                role->kv[i].rule = sg_strdup(epath);
                role->nkv++;
                if (load_kv_entry(l, e, epath, &role->kv[i]) != 0)
                    return -1;
            }
            any |= n > 0;
        }
    }
    if (!any)
        return fail(l, node, "%s: a role needs grants or admin capabilities (or keyvault actions)", path);
    return 0;
}

static int load_roles(loader_t *l, const yaml_node_t *node)
{
    policy_t *pol = l->policy;
    ys_map_t m;
    if (ys_names_open(&l->y, &m, node, "roles", NULL, NULL) != 0)
        return -1;
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    if (n > MAX_ROLES)
        return fail(l, node, "roles: more than %d roles", MAX_ROLES);
    pol->roles = sg_calloc(n, sizeof(*pol->roles));
    for (size_t i = 0; ys_map_next(&m); i++) {
        const char *name = m.text;
        char path[MAX_STRING];
        yaml_node_t *v = m.value;
        if (check_name(l, m.key, name, "role") != 0)
            return -1;
        pathf(path, sizeof(path), "roles.%s", name);
        pol->roles[i].name = sg_strdup(name);
        pol->nroles++;
        if (load_role(l, v, path, &pol->roles[i]) != 0)
            return -1;
    }
    return 0;
}

/* ---- principals ---- */

static int hex_sha256(loader_t *l, const yaml_node_t *node, const char *path, uint8_t out[32])
{
    const char *s = string(l, node, path);
    if (s == NULL)
        return -1;
    if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
        return fail(l, node, "%s: expected 64 hex digits (the SHA-256 of the secret, e.g. printf %%s SECRET | sha256sum)", path);
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int load_auth_jwt(loader_t *l, const yaml_node_t *node, const char *path, policy_principal_t *pr)
{
    const char *issuer = NULL;
    const yaml_node_t *issuer_node = NULL;
    char sub[MAX_STRING];
    ys_map_t m;
    if (ys_map_open(&l->y, &m, node, path, NULL, jwt_keys) != 0)
        return -1;
    while (ys_map_next(&m)) {
        const char *k = m.text, *s;
        yaml_node_t *v = m.value;
        pathf(sub, sizeof(sub), "%s.%s", path, k);
        if (strcmp(k, "issuer") == 0) {
            if ((issuer = string(l, v, sub)) == NULL)
                return -1;
            issuer_node = v;
        } else if (strcmp(k, "subject") == 0) {
            if ((s = string(l, v, sub)) == NULL)
                return -1;
            pr->jwt_subject = sg_strdup(s);
        }
    }
    if (ys_map_required(&m, 3) != 0)
        return -1;
    /* the issuer must be configured, and issuer+subject name one principal only */
    for (size_t i = 0; i < l->policy->nissuers; i++)
        if (strcmp(l->policy->issuers[i].issuer, issuer) == 0)
            pr->jwt_issuer = (long)i;
    if (pr->jwt_issuer < 0)
        return fail(l, issuer_node, "%s.issuer: '%s' is not listed under jwt_issuers", path, issuer);
    for (size_t i = 0; i < l->policy->nprincipals; i++) {
        const policy_principal_t *o = &l->policy->principals[i];
        if (o != pr && o->jwt_issuer == pr->jwt_issuer && o->jwt_subject != NULL && strcmp(o->jwt_subject, pr->jwt_subject) == 0)
            return fail(l, node, "%s: issuer and subject already map to principal '%s'", path, o->name);
    }
    return 0;
}

static int load_auth(loader_t *l, const yaml_node_t *node, const char *path, policy_principal_t *pr)
{
    char sub[MAX_STRING];
    ys_map_t m;
    if (ys_map_open(&l->y, &m, node, path, NULL, auth_keys) != 0)
        return -1;
    while (ys_map_next(&m)) {
        const char *k = m.text;
        yaml_node_t *v = m.value;
        pathf(sub, sizeof(sub), "%s.%s", path, k);
        if (strcmp(k, "basic") == 0) {
            ys_map_t b;
            if (ys_map_open(&l->y, &b, v, sub, NULL, basic_keys) != 0)
                return -1;
            while (ys_map_next(&b)) {
                char hpath[MAX_STRING];
                pathf(hpath, sizeof(hpath), "%s.secret_sha256", sub);
                if (hex_sha256(l, b.value, hpath, pr->secret_sha256) != 0)
                    return -1;
                pr->has_basic = 1;
            }
            if (ys_map_required(&b, 1) != 0)
                return -1;
        } else if (strcmp(k, "jwt") == 0) {
            if (load_auth_jwt(l, v, sub, pr) != 0)
                return -1;
        }
    }
    if (!pr->has_basic && pr->jwt_issuer < 0)
        return fail(l, node, "%s: needs basic or jwt", path);
    return 0;
}

static int load_principal(loader_t *l, const yaml_node_t *node, const char *path, policy_principal_t *pr)
{
    char sub[MAX_STRING];
    ys_map_t m;
    if (ys_map_open(&l->y, &m, node, path, NULL, principal_keys) != 0)
        return -1;
    while (ys_map_next(&m)) {
        const char *k = m.text;
        yaml_node_t *v = m.value;
        pathf(sub, sizeof(sub), "%s.%s", path, k);
        if (strcmp(k, "auth") == 0) {
            if (load_auth(l, v, sub, pr) != 0)
                return -1;
        } else if (strcmp(k, "roles") == 0) {
            if (expect_sequence(l, v, sub) != 0)
                return -1;
            size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
            pr->roles = sg_calloc(n, sizeof(*pr->roles));
            for (size_t i = 0; i < n; i++) {
                yaml_node_t *r = ys_node(&l->y, v->data.sequence.items.start[i]);
                const char *s;
                const policy__role_t *role = NULL;
                if (r == NULL || (s = string(l, r, sub)) == NULL)
                    return -1;
                for (size_t j = 0; j < l->policy->nroles && role == NULL; j++)
                    if (strcmp(l->policy->roles[j].name, s) == 0)
                        role = &l->policy->roles[j];
                if (role == NULL)
                    return fail(l, r, "%s: role '%s' is not defined under roles", sub, s);
                for (size_t j = 0; j < pr->nroles; j++)
                    if (pr->roles[j] == role)
                        return fail(l, r, "%s: role '%s' appears twice", sub, s);
                pr->roles[pr->nroles++] = role;
                pr->caps |= role->caps;
            }
        }
    }
    if (ys_map_required(&m, 3) != 0)
        return -1;
    return 0;
}

static int load_principals(loader_t *l, const yaml_node_t *node)
{
    policy_t *pol = l->policy;
    ys_map_t m;
    if (ys_names_open(&l->y, &m, node, "principals", NULL, NULL) != 0)
        return -1;
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    if (n > MAX_PRINCIPALS)
        return fail(l, node, "principals: more than %d principals", MAX_PRINCIPALS);
    pol->principals = sg_calloc(n, sizeof(*pol->principals));
    for (size_t i = 0; ys_map_next(&m); i++) {
        const char *name = m.text;
        char path[MAX_STRING];
        yaml_node_t *v = m.value;
        if (check_name(l, m.key, name, "principal") != 0)
            return -1;
        pathf(path, sizeof(path), "principals.%s", name);
        policy_principal_t *pr = &pol->principals[i];
        pr->name = sg_strdup(name);
        pr->jwt_issuer = -1;
        pol->nprincipals++;
        if (load_principal(l, v, path, pr) != 0)
            return -1;
    }
    return 0;
}

/* ---- the document ---- */

static int load_document(loader_t *l)
{
    yaml_node_t *root = ys_root(&l->y), *slots[3] = {NULL, NULL, NULL}; /* principals, roles, jwt_issuers */
    ys_map_t m;
    if (root == NULL)
        return ys_fail_at(&l->y, 1, 1, "the policy is empty (deny everything by writing principals: {})");
    if (ys_map_open(&l->y, &m, root, "the policy", NULL, root_keys) != 0)
        return -1;
    while (ys_map_next(&m))
        slots[m.index] = m.value;
    /* dependency order: principals refer to roles and issuers */
    if (slots[2] != NULL && load_issuers(l, slots[2]) != 0)
        return -1;
    if (slots[1] != NULL && load_roles(l, slots[1]) != 0)
        return -1;
    if (slots[0] != NULL && load_principals(l, slots[0]) != 0)
        return -1;
    return 0;
}

policy_t *policy_load_buffer(const char *name, const char *basedir, const char *buf, size_t len, char *err, size_t errlen)
{
    loader_t l = {.file = name, .basedir = basedir};
    int ret = -1;

    if (errlen > 0)
        err[0] = '\0';
    if (len > POLICY_MAX_FILE_SIZE) {
        snprintf(err, errlen, "%s: larger than %d bytes", name, POLICY_MAX_FILE_SIZE);
        return NULL;
    }
    if (ys_load(&l.y, name, YS_PATH, MAX_STRING, buf, len, err, errlen) == 0) {
        l.policy = sg_calloc(1, sizeof(*l.policy));
        l.policy->sigcache = policy__sigcache_new();
        atomic_init(&l.policy->refcnt, 1);
        sg_random(l.policy->dummy_sha256, sizeof(l.policy->dummy_sha256));
        ret = load_document(&l);
    }
    ys_dispose(&l.y);
    if (ret != 0) {
        policy__free(l.policy);
        return NULL;
    }
    return l.policy;
}

policy_t *policy_load(const char *path, char *err, size_t errlen)
{
    char *buf, *dir, *slash;
    size_t len;
    if (policy__read_file(path, POLICY_MAX_FILE_SIZE, &buf, &len, err, errlen) != 0)
        return NULL;
    /* key paths are relative to the policy file's directory */
    dir = sg_strdup(path);
    if ((slash = strrchr(dir, '/')) != NULL)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        strcpy(dir, ".");
    policy_t *policy = policy_load_buffer(path, dir, buf, len, err, errlen);
    free(dir);
    free(buf);
    return policy;
}
