/*
 * sasgw/core/config.h - the server configuration (`sasgw serve -c conf/sasgw.yaml`).
 *
 * conf/sasgw.yaml documents every key by its comments; this is its C image.
 * The loader is strict: an unknown key, a duplicate key, a value of the wrong
 * type or out of range, or a missing required key is an error whose message
 * starts with "file:line:column: " and says what was wrong. Nothing here opens
 * the vault, the policy or Redis: paths are recorded for the modules that do.
 */
#ifndef SASGW_GATEWAY_CONFIG_H
#define SASGW_GATEWAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sasgw/core/backend.h"

/* Defaults, as documented in conf/sasgw.yaml. */
#define GW_CONFIG_DEFAULT_VAULT_PATH "var/vault.db"
#define GW_CONFIG_DEFAULT_MAX_BODY 65536
#define GW_CONFIG_DEFAULT_CLOCK_SKEW 300
#define GW_CONFIG_DEFAULT_START_SKEW 300
#define GW_CONFIG_DEFAULT_EXPIRY_SKEW 0
#define GW_CONFIG_DEFAULT_UPSTREAM_TIMEOUT 30
#define GW_CONFIG_DEFAULT_REDIS_HOST "127.0.0.1"
#define GW_CONFIG_DEFAULT_REDIS_PORT 6379
#define GW_CONFIG_DEFAULT_MAX_STALENESS 30
#define GW_CONFIG_MAX_THREADS 256
#define GW_CONFIG_DEFAULT_HTTP2_MAX_BODY ((size_t)1 << 40) /* bytes of an HTTP/2 request body on the proxy: the relay's own bound */
#define GW_CONFIG_MAX_HTTP2_BODY ((size_t)1 << 40)         /* HTTP/2 bodies stream: the relay's bound (GW_RELAY_MAX_BODY) */
/* issuer.auth_failures */
#define GW_CONFIG_DEFAULT_AUTH_FAILURE_LIMIT 20
#define GW_CONFIG_DEFAULT_AUTH_FAILURE_WINDOW 60
#define GW_CONFIG_DEFAULT_AUTH_FAILURE_AUDIT_INTERVAL 60

/* One `listen:` entry. tls_certificate and tls_key are both NULL (plain HTTP) or both set. */
typedef struct st_gw_listen_config_t {
    char *address; /* a numeric IPv4 or IPv6 address, as written */
    uint16_t port;
    char *tls_certificate; /* PEM file, the certificate chain */
    char *tls_key;         /* PEM file, the private key */
    int http2;             /* proxy listeners: offer HTTP/2 (ALPN h2, the cleartext preface); default 1 with tls, 0 without */
    unsigned line;         /* where the entry starts in the file, for messages */
} gw_listen_config_t;

typedef enum en_gw_account_mode_t {
    GW_ACCOUNT_PASSTHROUGH, /* forward with the SAS to an Azure-compatible endpoint */
    GW_ACCOUNT_ORIGIN,      /* strip the SAS parameters, forward to a trusted origin */
    GW_ACCOUNT_RESIGN       /* tokens signed with edge keys; strip the SAS, authorize upstream with Shared Key */
} gw_account_mode_t;

/* One entry of `accounts:`; the backend URL is kept as written and parsed into its parts. */
typedef struct st_gw_account_config_t {
    char *name; /* Azure rules: 3-24 characters, lower-case letters and digits */
    gw_account_mode_t mode;
    char *backend;         /* "http://127.0.0.1:10000" as written */
    gw_backend_t upstream; /* backend, parsed (backend.h) */
    char *upstream_account; /* resign: the storage account's name at the backend; NULL: the same as name */
} gw_account_config_t;

/* An address range from `trusted_proxies:` (a single address is a /32 or /128). */
typedef struct st_gw_cidr_t {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;
} gw_cidr_t;

typedef struct st_gw_config_t {
    char *path; /* the file the configuration was read from */
    struct {
        char *path;
        char *master_key_file; /* NULL unless set */
        char *passphrase_file; /* NULL unless set; at most one of the two is set */
    } vault;
    char *policy;     /* path of the policy file */
    unsigned threads; /* 0 = one per core */
    struct {
        int enabled; /* the `issuer:` section is present */
        gw_listen_config_t *listen;
        size_t num_listen;
        size_t max_body;     /* bytes */
        unsigned clock_skew; /* seconds */
        /* `auth_failures:` - failed authentications per client address (IPv6: per /64) */
        struct {
            unsigned limit;          /* failures within window before 429; 0 = no limit */
            unsigned window;         /* seconds */
            unsigned audit_interval; /* seconds: refusals are audited as one record per client and reason per interval */
        } auth_failures;
    } issuer;
    struct {
        int enabled; /* the `proxy:` section is present */
        gw_listen_config_t *listen;
        size_t num_listen;
        char *public_base_url;                              /* without a trailing '/' */
        unsigned start_skew, expiry_skew, upstream_timeout; /* seconds */
        gw_cidr_t *trusted_proxies;
        size_t num_trusted_proxies;
        int debug;
        int allow_external_copy_sources; /* forward a copy whose source lies outside every served account */
        size_t http2_max_body;           /* bytes; an HTTP/2 request body beyond it is refused with 413 (bodies stream: default the relay's bound) */
    } proxy;
    /* `keyvault:` - the Key Vault-compatible API, a third service (gateway/keyvault) */
    struct {
        int enabled; /* the `keyvault:` section is present */
        gw_listen_config_t *listen;
        size_t num_listen;
        char *public_url;    /* "https://host[:port]" without a trailing '/': secret ids are built from it */
        char *audience;      /* the challenge's resource and the JWT aud required; default gw_config_keyvault_resource() */
        char *authorization; /* the challenge's authorization URL; NULL: the first jwt issuer of the policy */
    } keyvault;
    gw_account_config_t *accounts;
    size_t num_accounts;
    struct {
        char *host;
        uint16_t port;
        char *password_file; /* NULL unless set */
    } redis;
    struct {
        unsigned max_staleness; /* seconds */
        int fail_open;
    } revocation;
    struct {
        char *path; /* default: audit.log beside the vault */
    } audit;
} gw_config_t;

/*
 * Reads and validates the configuration file at path. Returns the new
 * configuration (free with gw_config_free()), or NULL after writing a sentence
 * into err (at most errlen bytes, NUL-terminated) that starts with
 * "path:line:column: " when the problem has a place in the file.
 */
gw_config_t *gw_config_load(const char *path, char *err, size_t errlen);
/*
 * As gw_config_load(), but parses len bytes of text; name is used in messages
 * and recorded as the configuration's path. The text need not be NUL-terminated.
 */
gw_config_t *gw_config_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);
/* Frees a configuration and everything it owns. NULL is allowed. */
void gw_config_free(gw_config_t *conf);

/* "passthrough", "origin" or "resign": the word sasgw.yaml uses for mode. */
const char *gw_account_mode_name(gw_account_mode_t mode);

/*
 * The resource a Key Vault challenge names by default for public_url, as a
 * new string (free()): the URL with the host's first label dropped
 * ("https://kv.example:8443" -> "https://example:8443"), as Azure names
 * "https://vault.azure.net" for "https://x.vault.azure.net" (the SDKs accept a
 * challenge only for a parent domain of the vault's host). A host that is an
 * address or a single label is kept whole (the SDKs then need their
 * challenge-resource check disabled).
 */
char *gw_config_keyvault_resource(const char *public_url);

/* Returns the account called name (len bytes), or NULL. */
const gw_account_config_t *gw_config_find_account(const gw_config_t *conf, const char *name, size_t len);

/* Parses "10.0.0.0/8", "::1" or "fd00::/8" into *cidr. Returns 0, or -1 when malformed. */
int gw_cidr_parse(gw_cidr_t *cidr, const char *text);
/* Returns 1 when the address sa falls in cidr (IPv4-mapped IPv6 peers match IPv4 ranges), else 0. */
int gw_cidr_match(const gw_cidr_t *cidr, const struct sockaddr *sa);
/* Returns 1 when sa is one of the proxy's trusted_proxies, else 0. */
int gw_config_is_trusted_proxy(const gw_config_t *conf, const struct sockaddr *sa);

#endif
