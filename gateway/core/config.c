/*
 * config.c - loads conf/sasgw.yaml (libyaml's document API) into a gw_config_t.
 *
 * Every section is a function that walks one mapping: keys are checked against
 * the section's list (unknown and duplicate keys are errors), each value is
 * converted by a typed getter that names the place of a bad value, and the
 * required keys are checked once the mapping has been walked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "sasgw/common.h"
#include "sasgw/core/config.h"
#include "sasgw/common/yaml_schema.h"

/* Reads a non-empty string without NUL bytes into *out (a fresh copy; a previous value is freed). */
static int get_string(ys_doc_t *p, const yaml_node_t *node, const char *key, char **out)
{
    const char *s = ys_string(p, node, key);
    if (s == NULL)
        return -1;
    free(*out);
    *out = sg_strdup(s);
    return 0;
}

/* vault: {path, master_key_file, passphrase_file} */
static const char *const vault_keys[] = {"path", "master_key_file", "passphrase_file", NULL};

static int on_vault(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    char **slots[] = {&conf->vault.path, &conf->vault.master_key_file, &conf->vault.passphrase_file};
    return get_string(p, value, vault_keys[i], slots[i]);
}

/* tls: {certificate, key} */
static const char *const tls_keys[] = {"certificate", "key", NULL};

static int on_tls(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_listen_config_t *l = data;
    return get_string(p, value, tls_keys[i], i == 0 ? &l->tls_certificate : &l->tls_key);
}

/* listen: [{address, port, tls?, http2?}] */
static const char *const listen_keys[] = {"address", "port", "tls", "http2", NULL};

static int on_listen(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_listen_config_t *l = data;
    unsigned long port;
    switch (i) {
    case 0: {
        if (get_string(p, value, "address", &l->address) != 0)
            return -1;
        struct in6_addr a;
        if (inet_pton(AF_INET, l->address, &a) != 1 && inet_pton(AF_INET6, l->address, &a) != 1)
            return ys_fail(p, value, "'address' must be a numeric IPv4 or IPv6 address, not '%s'", l->address);
        return 0;
    }
    case 1:
        if (ys_uint(p, value, "port", 1, 65535, &port) != 0)
            return -1;
        l->port = (uint16_t)port;
        return 0;
    case 2:
        return ys_walk(p, value, "tls", tls_keys, 3, on_tls, l);
    default:
        return ys_bool(p, value, "http2", &l->http2);
    }
}

static int parse_listen(ys_doc_t *p, yaml_node_t *node, const char *section, gw_listen_config_t **out, size_t *num)
{
    char where[32];
    snprintf(where, sizeof(where), "%s.listen", section);
    long count = ys_sequence(p, node, where, "a list of {address, port, tls?, http2?}");
    if (count < 0)
        return -1;
    size_t n = (size_t)count;
    if (n == 0)
        return ys_fail(p, node, "'%s.listen' needs at least one entry", section);
    if (n > 64)
        return ys_fail(p, node, "'%s.listen' has more than 64 entries", section);
    *out = sg_calloc(n, sizeof(**out));
    *num = n;
    for (size_t i = 0; i != n; i++) {
        yaml_node_t *item = ys_item(p, node, i);
        (*out)[i].line = (unsigned)item->start_mark.line + 1;
        (*out)[i].http2 = -1; /* not given */
        if (ys_walk(p, item, "listen", listen_keys, 3, on_listen, *out + i) != 0)
            return -1;
        if ((*out)[i].http2 == -1) /* default: HTTP/2 on TLS proxy listeners, not on cleartext ones */
            (*out)[i].http2 = strcmp(section, "proxy") == 0 && (*out)[i].tls_certificate != NULL;
        if ((*out)[i].http2 && strcmp(section, "proxy") != 0)
            return ys_fail(p, item, "'http2' is a key of 'proxy.listen' entries only");
    }
    return 0;
}

/* issuer.auth_failures: {limit, window, audit_interval} */
static const char *const auth_failures_keys[] = {"limit", "window", "audit_interval", NULL};

static int on_auth_failures(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    unsigned long v;
    switch (i) {
    case 0:
        if (ys_uint(p, value, "limit", 0, 1000000, &v) != 0)
            return -1;
        conf->issuer.auth_failures.limit = (unsigned)v;
        return 0;
    case 1:
        if (ys_uint(p, value, "window", 1, 86400, &v) != 0)
            return -1;
        conf->issuer.auth_failures.window = (unsigned)v;
        return 0;
    default:
        if (ys_uint(p, value, "audit_interval", 1, 3600, &v) != 0)
            return -1;
        conf->issuer.auth_failures.audit_interval = (unsigned)v;
        return 0;
    }
}

/* issuer: {listen, max_body, clock_skew, auth_failures} */
static const char *const issuer_keys[] = {"listen", "max_body", "clock_skew", "auth_failures", NULL};

static int on_issuer(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    unsigned long v;
    switch (i) {
    case 0:
        return parse_listen(p, value, "issuer", &conf->issuer.listen, &conf->issuer.num_listen);
    case 1:
        if (ys_uint(p, value, "max_body", 1, 64 * 1024 * 1024, &v) != 0)
            return -1;
        conf->issuer.max_body = v;
        return 0;
    case 2:
        if (ys_uint(p, value, "clock_skew", 0, 86400, &v) != 0)
            return -1;
        conf->issuer.clock_skew = (unsigned)v;
        return 0;
    default:
        return ys_walk(p, value, "auth_failures", auth_failures_keys, 0, on_auth_failures, conf);
    }
}

/*
 * proxy: {listen, public_base_url, start_skew, expiry_skew, upstream_timeout, trusted_proxies, debug,
 *         allow_external_copy_sources, http2_max_body}
 */
static const char *const proxy_keys[] = {"listen",
                                         "public_base_url",
                                         "start_skew",
                                         "expiry_skew",
                                         "upstream_timeout",
                                         "trusted_proxies",
                                         "debug",
                                         "allow_external_copy_sources",
                                         "http2_max_body",
                                         NULL};

static int on_proxy(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    unsigned long v;
    switch (i) {
    case 0:
        return parse_listen(p, value, "proxy", &conf->proxy.listen, &conf->proxy.num_listen);
    case 1: {
        gw_backend_t url;
        const char *why;
        if (get_string(p, value, "public_base_url", &conf->proxy.public_base_url) != 0)
            return -1;
        if (gw_backend_parse(&url, conf->proxy.public_base_url, &why) != 0)
            return ys_fail(p, value, "'public_base_url' %s", why);
        gw_backend_dispose(&url);
        size_t len = strlen(conf->proxy.public_base_url);
        while (conf->proxy.public_base_url[len - 1] == '/')
            conf->proxy.public_base_url[--len] = '\0';
        return 0;
    }
    case 2:
    case 3:
    case 4:
        if (ys_uint(p, value, proxy_keys[i], i == 4 ? 1 : 0, i == 4 ? 3600 : 86400, &v) != 0)
            return -1;
        *(i == 2 ? &conf->proxy.start_skew : i == 3 ? &conf->proxy.expiry_skew : &conf->proxy.upstream_timeout) = (unsigned)v;
        return 0;
    case 5: {
        long count = ys_sequence(p, value, "trusted_proxies", "a list of addresses or CIDRs");
        if (count < 0)
            return -1;
        size_t n = (size_t)count;
        if (n > 1024)
            return ys_fail(p, value, "'trusted_proxies' has more than 1024 entries");
        conf->proxy.trusted_proxies = sg_calloc(n + 1, sizeof(gw_cidr_t));
        conf->proxy.num_trusted_proxies = 0;
        for (size_t j = 0; j != n; j++) {
            yaml_node_t *item = ys_item(p, value, j);
            char *text = NULL;
            if (get_string(p, item, "trusted_proxies", &text) != 0)
                return -1;
            int bad = gw_cidr_parse(conf->proxy.trusted_proxies + j, text);
            free(text);
            if (bad)
                return ys_fail(p, item, "'trusted_proxies' entries must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8");
            conf->proxy.num_trusted_proxies++;
        }
        return 0;
    }
    case 6:
        return ys_bool(p, value, "debug", &conf->proxy.debug);
    case 7:
        return ys_bool(p, value, "allow_external_copy_sources", &conf->proxy.allow_external_copy_sources);
    default:
        if (ys_uint(p, value, "http2_max_body", 1, GW_CONFIG_MAX_HTTP2_BODY, &v) != 0)
            return -1;
        conf->proxy.http2_max_body = v;
        return 0;
    }
}

/* keyvault: {listen, public_url, audience?, authorization?} */
static const char *const keyvault_keys[] = {"listen", "public_url", "audience", "authorization", NULL};

/* An https (or http) URL without path, query or fragment, copied into *out without a trailing '/'. */
static int get_origin_url(ys_doc_t *p, yaml_node_t *value, const char *key, char **out)
{
    gw_backend_t url;
    const char *why;
    if (get_string(p, value, key, out) != 0)
        return -1;
    if (gw_backend_parse(&url, *out, &why) != 0)
        return ys_fail(p, value, "'%s' %s", key, why);
    int has_path = url.path[0] != '\0';
    gw_backend_dispose(&url);
    if (has_path || strpbrk(*out, "?#@") != NULL)
        return ys_fail(p, value, "'%s' must be scheme://host[:port] without a path, query or user", key);
    size_t len = strlen(*out);
    while ((*out)[len - 1] == '/')
        (*out)[--len] = '\0';
    return 0;
}

static int on_keyvault(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    switch (i) {
    case 0:
        return parse_listen(p, value, "keyvault", &conf->keyvault.listen, &conf->keyvault.num_listen);
    case 1:
        return get_origin_url(p, value, "public_url", &conf->keyvault.public_url);
    case 2:
        return get_origin_url(p, value, "audience", &conf->keyvault.audience);
    default:
        if (get_string(p, value, "authorization", &conf->keyvault.authorization) != 0)
            return -1;
        if (strncmp(conf->keyvault.authorization, "https://", 8) != 0 && strncmp(conf->keyvault.authorization, "http://", 7) != 0)
            return ys_fail(p, value, "'authorization' must be an http(s) URL");
        if (strpbrk(conf->keyvault.authorization, "\" \\") != NULL)
            return ys_fail(p, value, "'authorization' may not hold a quote, a backslash or a space");
        return 0;
    }
}

char *gw_config_keyvault_resource(const char *public_url)
{
    const char *host = strstr(public_url, "://");
    host = host != NULL ? host + 3 : public_url;
    size_t hostlen = strcspn(host, ":/");
    const char *dot = memchr(host, '.', hostlen);
    int address = host[0] == '[' || strspn(host, "0123456789.") == hostlen;
    if (address || dot == NULL || dot + 1 == host + hostlen)
        return sg_strdup(public_url);
    size_t scheme = (size_t)(host - public_url), rest = strlen(dot + 1);
    char *out = sg_alloc(scheme + rest + 1);
    memcpy(out, public_url, scheme);
    memcpy(out + scheme, dot + 1, rest + 1);
    return out;
}

static int valid_account_name(const char *s, size_t len);

/* accounts: {name: {mode, backend, upstream_account}} */
static const char *const account_keys[] = {"mode", "backend", "upstream_account", NULL};

static int on_account(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_account_config_t *a = data;
    char *text = NULL;
    if (i == 0) {
        if (get_string(p, value, "mode", &text) != 0)
            return -1;
        int ok = 1;
        if (strcmp(text, "passthrough") == 0)
            a->mode = GW_ACCOUNT_PASSTHROUGH;
        else if (strcmp(text, "origin") == 0)
            a->mode = GW_ACCOUNT_ORIGIN;
        else if (strcmp(text, "resign") == 0)
            a->mode = GW_ACCOUNT_RESIGN;
        else
            ok = 0;
        free(text);
        return ok ? 0 : ys_fail(p, value, "'mode' must be passthrough, origin or resign");
    }
    if (i == 2) {
        if (get_string(p, value, "upstream_account", &a->upstream_account) != 0)
            return -1;
        if (!valid_account_name(a->upstream_account, strlen(a->upstream_account)))
            return ys_fail(p, value, "'upstream_account' must be 3 to 24 lower-case letters and digits");
        return 0;
    }
    const char *why;
    if (get_string(p, value, "backend", &a->backend) != 0)
        return -1;
    if (gw_backend_parse(&a->upstream, a->backend, &why) != 0)
        return ys_fail(p, value, "'backend' %s", why);
    return 0;
}

static int valid_account_name(const char *s, size_t len)
{
    if (len < 3 || len > 24)
        return 0;
    for (size_t i = 0; i != len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

static int parse_accounts(ys_doc_t *p, yaml_node_t *node, gw_config_t *conf)
{
    ys_map_t m;
    if (ys_is_null(node))
        return 0;
    if (ys_names_open(p, &m, node, "accounts", "a mapping of account names", "account") != 0)
        return -1;
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    conf->accounts = sg_calloc(n + 1, sizeof(*conf->accounts));
    while (ys_map_next(&m)) {
        const char *name = m.text;
        size_t len = m.key->data.scalar.length;
        if (!valid_account_name(name, len))
            return ys_fail(p, m.key, "account name '%.*s' must be 3 to 24 lower-case letters and digits",
                           (int)(len > 64 ? 64 : len), name);
        gw_account_config_t *a = conf->accounts + conf->num_accounts++;
        a->name = sg_strndup(name, len);
        if (ys_walk(p, m.value, a->name, account_keys, 3, on_account, a) != 0)
            return -1;
        if (a->upstream_account != NULL && a->mode != GW_ACCOUNT_RESIGN)
            return ys_fail(p, m.value, "'upstream_account' is only for an account in mode resign");
    }
    return 0;
}

/* redis: {host, port, password_file} */
static const char *const redis_keys[] = {"host", "port", "password_file", NULL};

static int on_redis(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    unsigned long v;
    if (i == 0)
        return get_string(p, value, "host", &conf->redis.host);
    if (i == 2)
        return get_string(p, value, "password_file", &conf->redis.password_file);
    if (ys_uint(p, value, "port", 1, 65535, &v) != 0)
        return -1;
    conf->redis.port = (uint16_t)v;
    return 0;
}

/* revocation: {max_staleness, fail_open} */
static const char *const revocation_keys[] = {"max_staleness", "fail_open", NULL};

static int on_revocation(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    unsigned long v;
    if (i == 1)
        return ys_bool(p, value, "fail_open", &conf->revocation.fail_open);
    if (ys_uint(p, value, "max_staleness", 0, 86400, &v) != 0)
        return -1;
    conf->revocation.max_staleness = (unsigned)v;
    return 0;
}

/* audit: {path} */
static const char *const audit_keys[] = {"path", NULL};

static int on_audit(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    return get_string(p, value, "path", &conf->audit.path);
}

/* The root mapping. */
static const char *const root_keys[] = {"vault", "policy",     "threads", "issuer",   "proxy", "accounts",
                                        "redis", "revocation", "audit",   "keyvault", NULL};
enum {
    ROOT_VAULT,
    ROOT_POLICY,
    ROOT_THREADS,
    ROOT_ISSUER,
    ROOT_PROXY,
    ROOT_ACCOUNTS,
    ROOT_REDIS,
    ROOT_REVOCATION,
    ROOT_AUDIT,
    ROOT_KEYVAULT
};

static int on_root(ys_doc_t *p, size_t i, yaml_node_t *value, void *data)
{
    gw_config_t *conf = data;
    unsigned long v;
    switch (i) {
    case ROOT_VAULT:
        if (ys_walk(p, value, "vault", vault_keys, 0, on_vault, conf) != 0)
            return -1;
        if (conf->vault.master_key_file != NULL && conf->vault.passphrase_file != NULL)
            return ys_fail(p, value, "'vault' may set master_key_file or passphrase_file, not both");
        return 0;
    case ROOT_POLICY:
        return get_string(p, value, "policy", &conf->policy);
    case ROOT_THREADS:
        if (ys_uint(p, value, "threads", 0, GW_CONFIG_MAX_THREADS, &v) != 0)
            return -1;
        conf->threads = (unsigned)v;
        return 0;
    case ROOT_ISSUER:
        conf->issuer.enabled = 1;
        return ys_walk(p, value, "issuer", issuer_keys, 1, on_issuer, conf);
    case ROOT_PROXY:
        conf->proxy.enabled = 1;
        return ys_walk(p, value, "proxy", proxy_keys, 3, on_proxy, conf);
    case ROOT_ACCOUNTS:
        return parse_accounts(p, value, conf);
    case ROOT_REDIS:
        return ys_walk(p, value, "redis", redis_keys, 0, on_redis, conf);
    case ROOT_REVOCATION:
        return ys_walk(p, value, "revocation", revocation_keys, 0, on_revocation, conf);
    case ROOT_KEYVAULT:
        conf->keyvault.enabled = 1;
        return ys_walk(p, value, "keyvault", keyvault_keys, 3, on_keyvault, conf);
    default:
        return ys_walk(p, value, "audit", audit_keys, 0, on_audit, conf);
    }
}

/* Two listeners (of either service) may not share an address and port. */
static int check_listeners(ys_doc_t *p, gw_config_t *conf)
{
    gw_listen_config_t *all[192];
    size_t n = 0;
    for (size_t i = 0; i != conf->keyvault.num_listen; i++)
        all[n++] = conf->keyvault.listen + i;
    for (size_t i = 0; i != conf->issuer.num_listen; i++)
        all[n++] = conf->issuer.listen + i;
    for (size_t i = 0; i != conf->proxy.num_listen; i++)
        all[n++] = conf->proxy.listen + i;
    for (size_t i = 0; i != n; i++)
        for (size_t j = 0; j != i; j++)
            if (all[i]->port == all[j]->port && strcmp(all[i]->address, all[j]->address) == 0) {
                snprintf(p->err, p->errlen, "%s:%u: %s port %u is already used by the listener on line %u", p->name, all[i]->line,
                         all[i]->address, all[i]->port, all[j]->line);
                return -1;
            }
    return 0;
}

static void apply_defaults(gw_config_t *conf)
{
    if (conf->vault.path == NULL)
        conf->vault.path = sg_strdup(GW_CONFIG_DEFAULT_VAULT_PATH);
    if (conf->redis.host == NULL)
        conf->redis.host = sg_strdup(GW_CONFIG_DEFAULT_REDIS_HOST);
    if (conf->keyvault.enabled && conf->keyvault.audience == NULL)
        conf->keyvault.audience = gw_config_keyvault_resource(conf->keyvault.public_url);
    if (conf->audit.path == NULL) {
        const char *slash = strrchr(conf->vault.path, '/');
        size_t dirlen = slash == NULL ? 0 : (size_t)(slash - conf->vault.path) + 1;
        conf->audit.path = sg_alloc(dirlen + sizeof("audit.log"));
        memcpy(conf->audit.path, conf->vault.path, dirlen);
        memcpy(conf->audit.path + dirlen, "audit.log", sizeof("audit.log"));
    }
}

gw_config_t *gw_config_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    ys_doc_t doc;
    gw_config_t *conf = NULL;
    int ok = 0;

    if (ys_load(&doc, name, YS_NAMED, 0, text, len, err, errlen) != 0) {
        ys_dispose(&doc);
        return NULL;
    }

    /* defaults first; the walk overwrites what the file sets */
    conf = sg_calloc(1, sizeof(*conf));
    conf->path = sg_strdup(name);
    conf->issuer.max_body = GW_CONFIG_DEFAULT_MAX_BODY;
    conf->issuer.clock_skew = GW_CONFIG_DEFAULT_CLOCK_SKEW;
    conf->issuer.auth_failures.limit = GW_CONFIG_DEFAULT_AUTH_FAILURE_LIMIT;
    conf->issuer.auth_failures.window = GW_CONFIG_DEFAULT_AUTH_FAILURE_WINDOW;
    conf->issuer.auth_failures.audit_interval = GW_CONFIG_DEFAULT_AUTH_FAILURE_AUDIT_INTERVAL;
    conf->proxy.start_skew = GW_CONFIG_DEFAULT_START_SKEW;
    conf->proxy.expiry_skew = GW_CONFIG_DEFAULT_EXPIRY_SKEW;
    conf->proxy.upstream_timeout = GW_CONFIG_DEFAULT_UPSTREAM_TIMEOUT;
    conf->proxy.http2_max_body = GW_CONFIG_DEFAULT_HTTP2_MAX_BODY;
    conf->redis.port = GW_CONFIG_DEFAULT_REDIS_PORT;
    conf->revocation.max_staleness = GW_CONFIG_DEFAULT_MAX_STALENESS;

    yaml_node_t *root = ys_root(&doc);
    if (root == NULL) {
        ys_fail_at(&doc, 1, 1, "the file is empty");
        goto Exit;
    }
    if (ys_walk(&doc, root, "the configuration", root_keys, 1u << ROOT_VAULT | 1u << ROOT_POLICY, on_root, conf) != 0)
        goto Exit;
    if (!conf->issuer.enabled && !conf->proxy.enabled && !conf->keyvault.enabled) {
        ys_fail(&doc, root, "the configuration needs an 'issuer' or a 'proxy' section (or both)");
        goto Exit;
    }
    if (check_listeners(&doc, conf) != 0)
        goto Exit;
    apply_defaults(conf);
    ok = 1;

Exit:
    ys_dispose(&doc);
    if (!ok) {
        gw_config_free(conf);
        conf = NULL;
    }
    return conf;
}

gw_config_t *gw_config_load(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap == 0 ? 4096 : cap * 2;
            if (cap > 16 * 1024 * 1024) {
                fclose(fp);
                free(text);
                snprintf(err, errlen, "%s: the file is larger than 16 MiB", path);
                return NULL;
            }
            text = sg_realloc(text, cap);
        }
        size_t n = fread(text + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(text);
        snprintf(err, errlen, "%s: cannot read the file", path);
        return NULL;
    }
    gw_config_t *conf = gw_config_parse(path, text, len, err, errlen);
    free(text);
    return conf;
}

static void free_listen(gw_listen_config_t *listen, size_t num)
{
    for (size_t i = 0; listen != NULL && i != num; i++) {
        free(listen[i].address);
        free(listen[i].tls_certificate);
        free(listen[i].tls_key);
    }
    free(listen);
}

void gw_config_free(gw_config_t *conf)
{
    if (conf == NULL)
        return;
    free(conf->path);
    free(conf->vault.path);
    free(conf->vault.master_key_file);
    free(conf->vault.passphrase_file);
    free(conf->policy);
    /* listen arrays are allocated whole, so entries past a parse error are zero */
    free_listen(conf->issuer.listen, conf->issuer.num_listen);
    free_listen(conf->proxy.listen, conf->proxy.num_listen);
    free(conf->proxy.public_base_url);
    free(conf->proxy.trusted_proxies);
    free_listen(conf->keyvault.listen, conf->keyvault.num_listen);
    free(conf->keyvault.public_url);
    free(conf->keyvault.audience);
    free(conf->keyvault.authorization);
    for (size_t i = 0; i != conf->num_accounts; i++) {
        free(conf->accounts[i].name);
        free(conf->accounts[i].backend);
        free(conf->accounts[i].upstream_account);
        gw_backend_dispose(&conf->accounts[i].upstream);
    }
    free(conf->accounts);
    free(conf->redis.host);
    free(conf->redis.password_file);
    free(conf->audit.path);
    free(conf);
}

const char *gw_account_mode_name(gw_account_mode_t mode)
{
    return mode == GW_ACCOUNT_ORIGIN ? "origin" : mode == GW_ACCOUNT_RESIGN ? "resign" : "passthrough";
}

const gw_account_config_t *gw_config_find_account(const gw_config_t *conf, const char *name, size_t len)
{
    for (size_t i = 0; i != conf->num_accounts; i++)
        if (strlen(conf->accounts[i].name) == len && memcmp(conf->accounts[i].name, name, len) == 0)
            return conf->accounts + i;
    return NULL;
}

int gw_cidr_parse(gw_cidr_t *cidr, const char *text)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof(addr))
        return -1;
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    memset(cidr, 0, sizeof(*cidr));
    unsigned maxbits;
    if (inet_pton(AF_INET, addr, cidr->addr) == 1) {
        cidr->family = AF_INET;
        maxbits = 32;
    } else if (inet_pton(AF_INET6, addr, cidr->addr) == 1) {
        cidr->family = AF_INET6;
        maxbits = 128;
    } else {
        return -1;
    }
    cidr->prefix = maxbits;
    if (slash != NULL) {
        const char *p = slash + 1;
        unsigned v = 0;
        if (*p == '\0' || strlen(p) > 3)
            return -1;
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v > maxbits)
            return -1;
        cidr->prefix = v;
    }
    return 0;
}

static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t whole = bits / 8;
    if (memcmp(a, b, whole) != 0)
        return 0;
    if (bits % 8 == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
    return (a[whole] & mask) == (b[whole] & mask);
}

int gw_cidr_match(const gw_cidr_t *cidr, const struct sockaddr *sa)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        return cidr->family == AF_INET && prefix_equal(cidr->addr, (const uint8_t *)&sin->sin_addr, cidr->prefix);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *a = (const uint8_t *)&sin6->sin6_addr;
        if (cidr->family == AF_INET6)
            return prefix_equal(cidr->addr, a, cidr->prefix);
        return memcmp(a, v4mapped, sizeof(v4mapped)) == 0 && prefix_equal(cidr->addr, a + 12, cidr->prefix);
    }
    return 0;
}

int gw_config_is_trusted_proxy(const gw_config_t *conf, const struct sockaddr *sa)
{
    for (size_t i = 0; i != conf->proxy.num_trusted_proxies; i++)
        if (gw_cidr_match(conf->proxy.trusted_proxies + i, sa))
            return 1;
    return 0;
}
