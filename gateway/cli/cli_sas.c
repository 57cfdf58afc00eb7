/*
 * cli_sas.c - 'sasgw sas mint|verify|inspect': the signer on the command line.
 *
 *   sasgw sas mint --account A --key BASE64 [...]   prints a SAS query string
 *   sasgw sas verify URL --key BASE64 [...]         one JSON line; exit 0 valid, 1 refused
 *   sasgw sas inspect URL [...]                     the decoded token and what is wrong with it, no key
 *
 * Exit codes as cli.h: 0 ok, 1 refused or invalid, 2 usage (message on stderr).
 * Key material is never printed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cli.h"
#include "cli_args.h"
#include "sasgw/common.h"
#include "sasgw/core/config.h"
#include "sasgw/signer.h"

#define MAX_KEYS 8

static const char usage_sas[] = "usage: sasgw sas <mint|verify|inspect> [options]\n"
                                "\n"
                                "Shared access signatures, compatible with Azure Storage.\n"
                                "\n"
                                "  mint      sign a SAS from explicit fields and print its query string\n"
                                "  verify    check a SAS URL with the account key(s); print one JSON line\n"
                                "  inspect   decode a SAS URL and say what is missing or malformed (no key)\n"
                                "\n"
                                "'sasgw sas <command> --help' describes each command.\n";

static const char usage_mint[] = "usage: sasgw sas mint --account A [--key BASE64] [--container C] [--blob NAME] [--snapshot T]\n"
                                 "                      [--version-id V] [--permissions P] [--start T] [--expiry T] [--ip X[-Y]]\n"
                                 "                      [--protocol https|https,http] [--identifier SI] [--encryption-scope S]\n"
                                 "                      [--cache-control V] [--content-disposition V] [--content-encoding V]\n"
                                 "                      [--content-language V] [--content-type V] [--sv VERSION]\n"
                                 "                      [--services SS --resource-types SRT]\n"
                                 "                      [--vault PATH] [--master-key-file F | --passphrase-file F]\n"
                                 "\n"
                                 "Without --key, signs with the account's newest active key in the vault (key1 before\n"
                                 "key2): --vault or SASGW_VAULT (default var/vault.db), unsealed by --master-key-file,\n"
                                 "SASGW_MASTER_KEY, --passphrase-file or SASGW_PASSPHRASE. The key read is audited.\n"
                                 "Prints the SAS query string (Azure SDK parameter order, sig last) on stdout.\n"
                                 "A container makes a container SAS (sr=c); with --blob a blob SAS (sr=b), with --snapshot\n"
                                 "a snapshot SAS (sr=bs), with --version-id a version SAS (sr=bv). --services with\n"
                                 "--resource-types makes an account SAS. --permissions and --expiry may be left out only\n"
                                 "with --identifier (a stored access policy supplies them). Values are signed exactly as\n"
                                 "given; permission letters in the order given. Times: YYYY-MM-DD, YYYY-MM-DDThh:mmZ,\n"
                                 "YYYY-MM-DDThh:mm:ss[.fffffff]Z. Default --sv: " SAS_VERSION_DEFAULT ".\n";

static const char usage_verify[] =
    "usage: sasgw sas verify URL --key BASE64 [--key BASE64] [--at TIME] [--method GET|PUT|DELETE|HEAD|POST]\n"
    "                        [--copy-source] [--requires-sync] [--client-ip IP] [--verbose]\n"
    "       sasgw sas verify URL --vault PATH [--master-key-file F | --passphrase-file F] [--keys edge|storage] ...\n"
    "\n"
    "Verifies a path-style SAS URL, https://host/{account}/{container}/{blob}?{sas}, as the\n"
    "proxy would: the URL's scheme gives the protocol, snapshot= and versionid= name a\n"
    "snapshot or version, comp= and restype= the operation. --copy-source says the request\n"
    "carries x-ms-copy-source (Copy Blob, Put Block From URL, ...), --requires-sync that it\n"
    "carries x-ms-requires-sync: true (Copy Blob From URL). --key may be repeated (key1, key2).\n"
    "With any vault option (--vault, --master-key-file, --passphrase-file, --keys; the vault\n"
    "and its key otherwise from SASGW_VAULT, SASGW_MASTER_KEY ...) instead of --key, verifies\n"
    "with the URL account's active keys of\n"
    "the family its mode uses (edge keys for resign; --keys picks), and \"key\" names the slot\n"
    "that matched (\"edge1\"), with \"key_version\"; with --key, \"key\" is the 1-based index.\n"
    "Prints one JSON line: {\"valid\":true,\"token_id\":...,\"operation\":...} and exits 0, or\n"
    "{\"valid\":false,\"reason\":...,\"message\":...} and exits 1. --verbose adds the string to\n"
    "sign. Default: GET, now.\n";

static const char usage_inspect[] = "usage: sasgw sas inspect URL [--at TIME] [--method GET|PUT|DELETE|HEAD|POST]\n"
                                    "                         [--copy-source] [--requires-sync] [-c sasgw.yaml]\n"
                                    "\n"
                                    "Decodes a SAS URL without a key: its parameters, the resource, the token id,\n"
                                    "the string to sign, and every check that fails without the key (one JSON\n"
                                    "document). Exits 0 when nothing is wrong, 1 otherwise. With -c, also the mode the\n"
                                    "configuration serves the account in and the keys its tokens are checked with\n"
                                    "(\"keys\": \"edge\" for resign: edge1/edge2, else \"storage\": key1/key2).\n";

/* ---- arguments --------------------------------------------------------- */

static int usage_error(const char *cmd, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints "sasgw sas CMD: <message>" and the command's usage on stderr; returns GW_EXIT_USAGE. */
static int usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sasgw sas %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\n%s", usage);
    return GW_EXIT_USAGE;
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/*
 * The sentences every sas command gives for the parser's errors that do not
 * depend on the command (cli_args.h); GW_EXIT_USAGE. The others read
 * "<lead>'<argument>'<tail>".
 */
static int args_error(const char *cmd, const char *usage, const gw_args_t *p, gw_args_err_t e, const char *lead, const char *tail)
{
    switch (e) {
    case GW_ARGS_E_NEEDS_VALUE:
        return usage_error(cmd, usage, "%s needs a value", p->bad_row->name);
    case GW_ARGS_E_REPEATED:
        return usage_error(cmd, usage, "%s given twice", p->bad_row->name);
    case GW_ARGS_E_TOO_MANY:
        return usage_error(cmd, usage, "%s", "too many options");
    default:
        break;
    }
    return usage_error(cmd, usage, "%s'%s'%s", lead, p->bad != NULL ? p->bad : "", tail);
}

/*
 * The signing key of account. Today it comes from --key; a vault lookup for a
 * missing --key belongs here and nowhere else. Returns 0, or -1 with a
 * message in err (which never holds key material).
 */
/* Where mint finds the key when --key is left out: the vault (cli_vault.c reads its options and environment). */
struct key_source {
    const char *key_b64;
    const char *vault_path, *master_key_file, *passphrase_file;
    const char *family; /* --keys: "edge", "storage" or NULL (the account's mode decides) */
};

/* Checks --keys; returns 0, or GW_EXIT_USAGE after the usage error. */
static int check_family(const char *cmd, const char *usage, const struct key_source *src)
{
    if (src->family != NULL && strcmp(src->family, "edge") != 0 && strcmp(src->family, "storage") != 0)
        return usage_error(cmd, usage, "--keys takes edge or storage, not '%s'", src->family);
    if (src->family != NULL && src->key_b64 != NULL)
        return usage_error(cmd, usage, "%s", "--keys picks keys in the vault: not with --key");
    return 0;
}

/*
 * Sets up key from --key, or else from the account's newest active key in the
 * vault. Returns 0; GW_EXIT_USAGE when --key is not base64; GW_EXIT_REFUSED
 * when the vault cannot give a key (no vault, wrong master key, no account).
 * The key's text from the vault is wiped before returning.
 */
static int resolve_key(const char *account, const struct key_source *src, sas_key_t *key, char *err, size_t errlen)
{
    if (src->key_b64 != NULL) {
        if (sas_key_init_base64(key, src->key_b64, strlen(src->key_b64)) != 0) {
            snprintf(err, errlen, "--key is not a base64 account key");
            return GW_EXIT_USAGE;
        }
        return 0;
    }
    gw_cli_vault_key_t keys[GW_CLI_MAX_VAULT_KEYS];
    size_t n = 0;
    int rc = 0;
    if (gw_vault_account_keys(src->vault_path, src->master_key_file, src->passphrase_file, account, src->family, keys,
                              GW_CLI_MAX_VAULT_KEYS, &n, err, errlen) != 0) {
        rc = GW_EXIT_REFUSED;
    } else if (sas_key_init_base64(key, keys[0].b64, strlen(keys[0].b64)) != 0) {
        snprintf(err, errlen, "the vault's key for %s is not base64", account);
        rc = GW_EXIT_REFUSED;
    } else {
        fprintf(stderr, "sasgw sas mint: signed with %s version %u of account %s\n", keys[0].slot, keys[0].version, account);
    }
    sg_wipe(keys, sizeof(keys));
    return rc;
}

/* ---- URLs -------------------------------------------------------------- */

struct url {
    int https;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
};

/* Splits scheme://host/path?query#fragment; the fragment is dropped. Returns 0 or -1. */
static int split_url(const char *s, struct url *u)
{
    const char *p;
    if (strncasecmp(s, "https://", 8) == 0) {
        u->https = 1;
        p = s + 8;
    } else if (strncasecmp(s, "http://", 7) == 0) {
        u->https = 0;
        p = s + 7;
    } else {
        return -1;
    }
    size_t host = strcspn(p, "/?#");
    if (host == 0)
        return -1;
    p += host;
    u->path = p;
    u->path_len = strcspn(p, "?#");
    p += u->path_len;
    if (*p == '?') {
        p++;
        u->query = p;
        u->query_len = strcspn(p, "#");
    } else {
        u->query = p;
        u->query_len = 0;
    }
    if (u->path_len == 0) {
        u->path = "/";
        u->path_len = 1;
    }
    return 0;
}

/* ---- JSON -------------------------------------------------------------- */

static void set_str(json_t *obj, const char *key, const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    if (v == NULL) /* not UTF-8: show it percent-encoded */
    {
        static const char hex[] = "0123456789ABCDEF";
        char buf[3 * 512 + 1];
        size_t o = 0;
        for (size_t i = 0; i < len && o + 4 < sizeof(buf); i++) {
            unsigned char c = (unsigned char)s[i];
            if (c >= 0x20 && c < 0x7f && c != '%') {
                buf[o++] = (char)c;
            } else {
                buf[o++] = '%';
                buf[o++] = hex[c >> 4];
                buf[o++] = hex[c & 15];
            }
        }
        v = json_stringn(buf, o);
    }
    json_object_set_new(obj, key, v);
}

static void set_sas_str(json_t *obj, const char *key, const sas_str_t *s)
{
    if (s->base != NULL)
        set_str(obj, key, s->base, s->len);
}

static void print_json(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    if (text != NULL) {
        puts(text);
        free(text);
    }
    fflush(stdout);
}

static void add_resource(json_t *obj, const sas_resource_t *res)
{
    json_t *r = json_object();
    set_sas_str(r, "account", &res->account);
    set_sas_str(r, "container", &res->container);
    set_sas_str(r, "blob", &res->blob);
    set_sas_str(r, "snapshot", &res->snapshot);
    set_sas_str(r, "version_id", &res->version_id);
    json_object_set_new(obj, "resource", r);
}

static void add_time(json_t *obj, const char *key, sas_time_t t)
{
    char text[SAS_TIME_TEXT_MAX];
    if (t == SAS_TIME_NONE)
        return;
    sas_time_format(t, text);
    json_object_set_new(obj, key, json_string(text));
}

static const char *kind_name(const sas_token_t *tok)
{
    if (tok->kind == SAS_KIND_ACCOUNT)
        return "account";
    switch (tok->sr) {
    case SAS_SR_CONTAINER:
        return "container";
    case SAS_SR_SNAPSHOT:
        return "snapshot";
    case SAS_SR_VERSION:
        return "version";
    default:
        return "blob";
    }
}

/* ---- mint -------------------------------------------------------------- */

static int cmd_mint(int argc, char **argv)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"--account", offsetof(sas_mint_t, account)},
        {"--container", offsetof(sas_mint_t, container)},
        {"--blob", offsetof(sas_mint_t, blob)},
        {"--snapshot", offsetof(sas_mint_t, snapshot)},
        {"--version-id", offsetof(sas_mint_t, version_id)},
        {"--permissions", offsetof(sas_mint_t, permissions)},
        {"--start", offsetof(sas_mint_t, start)},
        {"--expiry", offsetof(sas_mint_t, expiry)},
        {"--ip", offsetof(sas_mint_t, ip)},
        {"--protocol", offsetof(sas_mint_t, protocol)},
        {"--identifier", offsetof(sas_mint_t, identifier)},
        {"--encryption-scope", offsetof(sas_mint_t, encryption_scope)},
        {"--cache-control", offsetof(sas_mint_t, cache_control)},
        {"--content-disposition", offsetof(sas_mint_t, content_disposition)},
        {"--content-encoding", offsetof(sas_mint_t, content_encoding)},
        {"--content-language", offsetof(sas_mint_t, content_language)},
        {"--content-type", offsetof(sas_mint_t, content_type)},
        {"--sv", offsetof(sas_mint_t, version)},
        {"--services", offsetof(sas_mint_t, services)},
        {"--resource-types", offsetof(sas_mint_t, resource_types)},
    };
    sas_mint_t m;
    struct key_source src = {NULL};
    const struct {
        const char *name;
        const char **slot;
    } key_options[] = {{"--key", &src.key_b64},
                       {"--vault", &src.vault_path},
                       {"--master-key-file", &src.master_key_file},
                       {"--passphrase-file", &src.passphrase_file},
                       {"--keys", &src.family}};
    char msg[256], query[SAS_MAX_QUERY * 3];
    sas_key_t key;
    sas_error_t err;

    /* the table: one valued option per field and per key option */
    enum { NFIELDS = sizeof(fields) / sizeof(fields[0]), NKEYOPTS = sizeof(key_options) / sizeof(key_options[0]) };
    gw_arg_t table[NFIELDS + NKEYOPTS + 1];
    for (size_t f = 0; f < NFIELDS; f++)
        table[f] = (gw_arg_t){fields[f].name, NULL, GW_ARG_VALUE};
    for (size_t k = 0; k < NKEYOPTS; k++)
        table[NFIELDS + k] = (gw_arg_t){key_options[k].name, NULL, GW_ARG_VALUE};
    table[NFIELDS + NKEYOPTS] = (gw_arg_t){NULL, NULL, GW_ARG_FLAG};
    gw_args_t args;
    gw_args_err_t e = gw_args_parse(&args, table, 0, 0, argc, argv);
    if (e == GW_ARGS_HELP) {
        fputs(usage_mint, stdout);
        return GW_EXIT_OK;
    }
    if (e != GW_ARGS_OK)
        return args_error("mint", usage_mint, &args, e, "unknown argument ", "");
    memset(&m, 0, sizeof(m));
    for (size_t f = 0; f < NFIELDS; f++)
        *(const char **)(void *)((char *)&m + fields[f].offset) = gw_args_value(&args, fields[f].name);
    for (size_t k = 0; k < NKEYOPTS; k++)
        *key_options[k].slot = gw_args_value(&args, key_options[k].name);
    if (m.account == NULL)
        return usage_error("mint", usage_mint, "%s is required", "--account");
    if ((m.services == NULL) != (m.resource_types == NULL))
        return usage_error("mint", usage_mint, "%s", "--services and --resource-types go together");
    if (m.services == NULL && m.container == NULL)
        return usage_error("mint", usage_mint, "%s", "--container (or --services with --resource-types) is required");
    if (m.identifier == NULL && (m.permissions == NULL || m.expiry == NULL))
        return usage_error("mint", usage_mint, "%s", "--permissions and --expiry are required without --identifier");
    if (src.key_b64 != NULL && (src.vault_path != NULL || src.master_key_file != NULL || src.passphrase_file != NULL))
        return usage_error("mint", usage_mint, "%s", "--key and the vault options exclude each other");
    if (check_family("mint", usage_mint, &src) != 0)
        return GW_EXIT_USAGE;
    int kr = resolve_key(m.account, &src, &key, msg, sizeof(msg));
    if (kr == GW_EXIT_USAGE)
        return usage_error("mint", usage_mint, "%s", msg);
    if (kr != 0) {
        fprintf(stderr, "sasgw sas mint: %s\n", msg);
        return GW_EXIT_REFUSED;
    }

    sas_reason_t r = sas_mint(&m, &key, query, sizeof(query), NULL, 0, NULL, &err);
    sas_key_dispose(&key);
    if (r != SAS_OK) {
        fprintf(stderr, "sasgw sas mint: %s\n", err.message);
        return GW_EXIT_REFUSED;
    }
    puts(query);
    return GW_EXIT_OK;
}

/* ---- verify ------------------------------------------------------------ */

struct check_args {
    const char *url;
    sas_time_t at;
    sas_method_t method;
    unsigned req_flags; /* SAS_REQ_*: --copy-source, --requires-sync */
    const char *client_ip;
    int verbose;
    const char *keys[MAX_KEYS];
    size_t nkeys;
    struct key_source vault; /* verify without --key: the vault's keys; inspect: unused */
    const char *config;      /* inspect -c: sasgw.yaml, for the account's mode */
};

/* The options verify and inspect share, and the sentences for their bad values. */
/* clang-format off */
#define CHECK_OPTS                                                                                                                 \
    {"--at", NULL, GW_ARG_VALUE}, {"--method", NULL, GW_ARG_VALUE}, {"--copy-source", NULL, GW_ARG_FLAG},                          \
    {"--requires-sync", NULL, GW_ARG_FLAG}
/* clang-format on */
#define AT_SENTENCE "--at needs a time such as 2026-11-24T10:00:00Z, not '%s'"
#define METHOD_SENTENCE "--method must be GET, PUT, DELETE, HEAD or POST, not '%s'"
#define IP_SENTENCE "--client-ip needs an IPv4 or IPv6 address, not '%s'"

/* Parses the options verify and inspect share (inspect refuses --key, --client-ip and --verbose). */
static int parse_check_args(const char *cmd, const char *usage, int argc, char **argv, int with_keys, struct check_args *a)
{
    static const gw_arg_t with_keys_table[] = {CHECK_OPTS,
                                               {"--key", NULL, GW_ARG_REPEATED},
                                               {"--client-ip", NULL, GW_ARG_VALUE},
                                               {"--verbose", NULL, GW_ARG_FLAG},
                                               {"--vault", NULL, GW_ARG_VALUE},
                                               {"--master-key-file", NULL, GW_ARG_VALUE},
                                               {"--passphrase-file", NULL, GW_ARG_VALUE},
                                               {"--keys", NULL, GW_ARG_VALUE},
                                               {NULL, NULL, GW_ARG_FLAG}};
    static const gw_arg_t without_keys_table[] = {CHECK_OPTS, {"--config", "-c", GW_ARG_VALUE}, {NULL, NULL, GW_ARG_FLAG}}; /* inspect */
    gw_args_t p;
    const char *value;
    memset(a, 0, sizeof(*a));
    a->at = SAS_TIME_NONE;
    a->method = SAS_METHOD_GET;
    gw_args_err_t e = gw_args_parse(&p, with_keys ? with_keys_table : without_keys_table, 1, 1, argc, argv);
    switch (e) {
    case GW_ARGS_OK:
        break;
    case GW_ARGS_HELP:
        fputs(usage, stdout);
        return -2;
    case GW_ARGS_E_NEEDS_VALUE:
        if (strcmp(p.bad_row->name, "--at") == 0)
            return usage_error(cmd, usage, AT_SENTENCE, "");
        if (strcmp(p.bad_row->name, "--method") == 0)
            return usage_error(cmd, usage, METHOD_SENTENCE, "");
        if (strcmp(p.bad_row->name, "--client-ip") == 0)
            return usage_error(cmd, usage, IP_SENTENCE, "");
        return args_error(cmd, usage, &p, e, "", "");
    case GW_ARGS_E_EXTRA:
        return args_error(cmd, usage, &p, e, "one URL only (extra argument ", ")");
    case GW_ARGS_E_MISSING:
        return usage_error(cmd, usage, "%s", "a URL is required");
    default: /* unknown, a flag with a value, given twice, too many */
        return args_error(cmd, usage, &p, e, "unknown option ", "");
    }
    a->url = p.pos[0];
    if ((value = gw_args_value(&p, "--at")) != NULL && sas_time_parse(value, strlen(value), &a->at) != 0)
        return usage_error(cmd, usage, AT_SENTENCE, value);
    if ((value = gw_args_value(&p, "--method")) != NULL && (a->method = sas_method_parse(value, strlen(value))) == SAS_METHOD_OTHER)
        return usage_error(cmd, usage, METHOD_SENTENCE, value);
    if (gw_args_has(&p, "--copy-source"))
        a->req_flags |= SAS_REQ_COPY_SOURCE;
    if (gw_args_has(&p, "--requires-sync"))
        a->req_flags |= SAS_REQ_REQUIRES_SYNC;
    size_t cursor = 0;
    while (with_keys && (value = gw_args_next(&p, "--key", &cursor)) != NULL) {
        if (a->nkeys == MAX_KEYS)
            return usage_error(cmd, usage, "at most %d keys", MAX_KEYS);
        a->keys[a->nkeys++] = value;
    }
    sas_ip_t ip;
    if (with_keys && (value = gw_args_value(&p, "--client-ip")) != NULL) {
        if (sas_ip_parse(&ip, value, strlen(value)) != 0)
            return usage_error(cmd, usage, IP_SENTENCE, value);
        a->client_ip = value;
    }
    a->verbose = with_keys && gw_args_has(&p, "--verbose");
    if (with_keys) {
        a->vault.vault_path = gw_args_value(&p, "--vault");
        a->vault.master_key_file = gw_args_value(&p, "--master-key-file");
        a->vault.passphrase_file = gw_args_value(&p, "--passphrase-file");
        a->vault.family = gw_args_value(&p, "--keys");
        int vault_opts = a->vault.vault_path != NULL || a->vault.master_key_file != NULL || a->vault.passphrase_file != NULL ||
                         a->vault.family != NULL;
        if (a->nkeys != 0 && vault_opts)
            return usage_error(cmd, usage, "%s", "--key and the vault options exclude each other");
        a->vault.key_b64 = NULL;
        if (check_family(cmd, usage, &a->vault) != 0)
            return GW_EXIT_USAGE;
    } else {
        a->config = gw_args_value(&p, "--config");
    }
    if (a->at == SAS_TIME_NONE)
        a->at = sas_time_now();
    return 0;
}

static int refused(json_t *out, sas_reason_t reason, const sas_error_t *err)
{
    json_object_set_new(out, "valid", json_false());
    json_object_set_new(out, "reason", json_string(sas_reason_name(reason)));
    set_str(out, "message", err->message, strlen(err->message));
    json_object_set_new(out, "azure_code", json_string(sas_reason_azure_code(reason)));
    return GW_EXIT_REFUSED;
}

static int cmd_verify(int argc, char **argv)
{
    struct check_args a;
    struct url u;
    sas_key_t keys[MAX_KEYS];
    const sas_key_t *key_ptrs[MAX_KEYS];
    sas_token_t tok;
    sas_resource_t res;
    sas_verify_ctx_t ctx;
    sas_grant_t grant;
    sas_error_t err;
    sas_ip_t ip;
    char msg[256], id[SAS_TOKEN_ID_LEN + 1], perms[32];
    int rc, parsed = 0, located = 0;

    if ((rc = parse_check_args("verify", usage_verify, argc, argv, 1, &a)) != 0)
        return rc == -2 ? GW_EXIT_OK : rc;
    if (split_url(a.url, &u) != 0)
        return usage_error("verify", usage_verify, "'%s' is not an http(s) URL", a.url);
    /* without --key: the active keys of the URL account's family, from the vault */
    gw_cli_vault_key_t vkeys[MAX_KEYS];
    size_t nvault = 0;
    if (a.nkeys == 0 && a.vault.vault_path == NULL && a.vault.master_key_file == NULL && a.vault.passphrase_file == NULL &&
        a.vault.family == NULL)
        return usage_error("verify", usage_verify, "%s", "--key (or the vault: --vault, --keys ...) is required");
    if (a.nkeys == 0) {
        char account[64];
        const char *seg = u.path + 1, *seg_end = memchr(seg, '/', u.path_len - 1);
        size_t seg_len = seg_end != NULL ? (size_t)(seg_end - seg) : u.path_len - 1;
        snprintf(account, sizeof(account), "%.*s", (int)(seg_len < 63 ? seg_len : 63), seg);
        if (gw_vault_account_keys(a.vault.vault_path, a.vault.master_key_file, a.vault.passphrase_file, account, a.vault.family, vkeys,
                                  MAX_KEYS, &nvault, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "sasgw sas verify: %s\n", msg);
            return GW_EXIT_REFUSED;
        }
        for (size_t i = 0; i < nvault; i++)
            a.keys[a.nkeys++] = vkeys[i].b64;
    }
    for (size_t i = 0; i < a.nkeys; i++) {
        if (sas_key_init_base64(&keys[i], a.keys[i], strlen(a.keys[i])) != 0) {
            snprintf(msg, sizeof(msg), "--key is not a base64 account key");
            for (size_t j = 0; j < i; j++)
                sas_key_dispose(&keys[j]);
            sg_wipe(vkeys, sizeof(vkeys));
            return usage_error("verify", usage_verify, "%s", msg);
        }
        key_ptrs[i] = &keys[i];
    }

    json_t *out = json_object();
    sas_reason_t r = sas_token_parse(&tok, u.query, u.query_len, &err);
    if (r == SAS_OK) {
        parsed = 1;
        r = sas_resource_from_path(&res, u.path, u.path_len, &tok, &err);
        located = r == SAS_OK;
    }
    if (r == SAS_OK) {
        sas_verify_ctx_init(&ctx);
        ctx.now = a.at;
        ctx.method = a.method;
        ctx.req_flags = a.req_flags;
        ctx.is_https = u.https;
        if (a.client_ip != NULL && sas_ip_parse(&ip, a.client_ip, strlen(a.client_ip)) == 0)
            ctx.client_ip = &ip;
        ctx.keys = key_ptrs;
        ctx.nkeys = a.nkeys;
        r = sas_verify(&ctx, &tok, &res, &grant, &err);
    }
    if (r == SAS_OK) {
        sas_token_id(&tok, id);
        json_object_set_new(out, "valid", json_true());
        json_object_set_new(out, "token_id", json_string(id));
        json_object_set_new(out, "kind", json_string(kind_name(&tok)));
        add_resource(out, &res);
        sas_perm_format(tok.kind, grant.perms, perms);
        json_object_set_new(out, "permissions", json_string(perms));
        add_time(out, "start", grant.start);
        add_time(out, "expiry", grant.expiry);
        if (nvault != 0) {
            json_object_set_new(out, "key", json_string(vkeys[grant.key_index].slot));
            json_object_set_new(out, "key_version", json_integer((json_int_t)vkeys[grant.key_index].version));
        } else {
            json_object_set_new(out, "key", json_integer((json_int_t)grant.key_index + 1));
        }
        json_object_set_new(out, "operation", json_string(grant.op->name));
        rc = GW_EXIT_OK;
    } else {
        rc = refused(out, r, &err);
        if (parsed) {
            sas_token_id(&tok, id);
            json_object_set_new(out, "token_id", json_string(id));
        }
    }
    if (a.verbose && located) {
        static char sts[SAS_MAX_STS];
        long n = sas_string_to_sign(&tok, &res, sts, sizeof(sts));
        if (n >= 0)
            set_str(out, "string_to_sign", sts, (size_t)n);
    }
    print_json(out);
    json_decref(out);
    for (size_t i = 0; i < a.nkeys; i++)
        sas_key_dispose(&keys[i]);
    sg_wipe(vkeys, sizeof(vkeys));
    return rc;
}

/* ---- inspect ----------------------------------------------------------- */

/* Lists every query parameter, decoded where it decodes, so a token that does not parse can still be read. */
static json_t *list_params(const char *q, size_t len)
{
    json_t *list = json_array();
    sg_query_iter_t it;
    const char *name, *value;
    size_t name_len, value_len;
    sg_query_init(&it, q, len);
    while (sg_query_next(&it, &name, &name_len, &value, &value_len)) {
        json_t *pair = json_object();
        char *dec = sg_alloc(value_len + 1);
        long o = sg_pct_decode(dec, value, value_len, SG_PCT_PLUS_SPACE, NULL);
        set_str(pair, "name", name, name_len);
        if (o >= 0)
            set_str(pair, "value", dec, (size_t)o);
        else
            set_str(pair, "raw", value, value_len);
        free(dec);
        json_array_append_new(list, pair);
    }
    return list;
}

static void problem(json_t *problems, sas_reason_t reason, const sas_error_t *err)
{
    json_t *p = json_object();
    json_object_set_new(p, "reason", json_string(sas_reason_name(reason)));
    set_str(p, "message", err->message, strlen(err->message));
    json_array_append_new(problems, p);
}

/*
 * inspect -c FILE: the mode sasgw.yaml gives the URL's account and the key
 * family its tokens are checked with ("edge": edge1/edge2 for resign, else
 * "storage": key1/key2). Returns 0, or -1 when the file does not load (said
 * on stderr). An account the file does not list is a problem, not an error.
 */
static int add_key_family(json_t *out, const char *path, const sas_resource_t *res, json_t *problems)
{
    char err[512];
    gw_config_t *conf = gw_config_load(path, err, sizeof(err));
    if (conf == NULL) {
        fprintf(stderr, "sasgw sas inspect: %s\n", err);
        return -1;
    }
    const gw_account_config_t *ac = gw_config_find_account(conf, res->account.base, res->account.len);
    if (ac == NULL) {
        json_array_append_new(problems, json_pack("{s:s,s:s}", "reason", "unknown_account", "message",
                                                  "the configuration serves no account of that name"));
    } else {
        json_object_set_new(out, "mode", json_string(gw_account_mode_name(ac->mode)));
        json_object_set_new(out, "keys", json_string(ac->mode == GW_ACCOUNT_RESIGN ? "edge" : "storage"));
        if (ac->mode == GW_ACCOUNT_RESIGN)
            json_object_set_new(out, "upstream_account",
                                json_string(ac->upstream_account != NULL ? ac->upstream_account : ac->name));
    }
    gw_config_free(conf);
    return 0;
}

static int cmd_inspect(int argc, char **argv)
{
    struct check_args a;
    struct url u;
    sas_token_t tok;
    sas_resource_t res;
    sas_grant_t grant;
    sas_error_t err;
    char id[SAS_TOKEN_ID_LEN + 1];
    int rc, located = 0;

    if ((rc = parse_check_args("inspect", usage_inspect, argc, argv, 0, &a)) != 0)
        return rc == -2 ? GW_EXIT_OK : rc;
    if (split_url(a.url, &u) != 0)
        return usage_error("inspect", usage_inspect, "'%s' is not an http(s) URL", a.url);

    json_t *out = json_object(), *problems = json_array(), *notes = json_array();
    json_object_set_new(out, "protocol", json_string(u.https ? "https" : "http"));
    json_object_set_new(out, "params", list_params(u.query, u.query_len));

    sas_reason_t r = sas_token_parse(&tok, u.query, u.query_len, &err);
    if (r != SAS_OK) {
        problem(problems, r, &err);
    } else {
        json_t *fields = json_object();
        char perms[32];
        sas_token_id(&tok, id);
        json_object_set_new(out, "token_id", json_string(id));
        json_object_set_new(out, "kind", json_string(kind_name(&tok)));
        for (int f = 0; f < SAS_F__COUNT; f++)
            if (f != SAS_F_SIG)
                set_sas_str(fields, sas_field_name((sas_field_t)f), &tok.f[f]);
        json_object_set_new(out, "fields", fields);
        if (tok.f[SAS_F_SP].base != NULL) {
            sas_perm_format(tok.kind, tok.perms, perms);
            json_object_set_new(out, "permissions", json_string(perms));
        }

        /* every step that needs no key, in order */
        if ((r = sas_resource_from_path(&res, u.path, u.path_len, &tok, &err)) != SAS_OK) {
            problem(problems, r, &err);
        } else {
            static char sts[SAS_MAX_STS];
            located = 1;
            add_resource(out, &res);
            if (a.config != NULL && add_key_family(out, a.config, &res, problems) != 0) {
                json_decref(out);
                json_decref(problems);
                json_decref(notes);
                return GW_EXIT_REFUSED;
            }
            if ((r = sas_check_resource(&tok, &res, &err)) != SAS_OK)
                problem(problems, r, &err);
            long n = sas_string_to_sign(&tok, &res, sts, sizeof(sts));
            if (n >= 0)
                set_str(out, "string_to_sign", sts, (size_t)n);
        }
        if ((r = sas_check_times(&tok, a.at, 300 * SAS_TIME_SECOND, 0, &grant, &err)) != SAS_OK) {
            problem(problems, r, &err);
        } else {
            add_time(out, "start", grant.start);
            add_time(out, "expiry", grant.expiry);
            if (tok.f[SAS_F_SI].base != NULL) {
                json_array_append_new(notes,
                                      json_string("names a stored access policy (si): its permissions and window also apply"));
            } else if ((r = sas_apply_policy(&tok, NULL, a.at, 300 * SAS_TIME_SECOND, 0, &grant, &err)) != SAS_OK) {
                problem(problems, r, &err);
            } else if (located && (r = sas_check_operation(&tok, &res, a.method, a.req_flags, &grant, &err)) != SAS_OK) {
                problem(problems, r, &err);
            } else if (located) {
                json_object_set_new(out, "operation", json_string(grant.op->name));
            }
        }
        if (tok.https_only && !u.https) {
            sas_check_network(&tok, 0, NULL, &err);
            problem(problems, SAS_R_PROTOCOL_MISMATCH, &err);
        }
        if (tok.has_ip)
            json_array_append_new(notes, json_string("restricted to client addresses in sip"));
        json_array_append_new(notes, json_string("the signature needs the account key: use 'sasgw sas verify'"));
    }
    rc = json_array_size(problems) == 0 ? GW_EXIT_OK : GW_EXIT_REFUSED;
    json_object_set_new(out, "ok", json_boolean(rc == GW_EXIT_OK));
    json_object_set_new(out, "problems", problems);
    json_object_set_new(out, "notes", notes);
    print_json(out);
    json_decref(out);
    return rc;
}

/* ---- dispatch ---------------------------------------------------------- */

int gw_cli_sas(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_sas, stderr);
        return GW_EXIT_USAGE;
    }
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        fputs(usage_sas, stdout);
        return GW_EXIT_OK;
    }
    if (strcmp(argv[1], "mint") == 0)
        return cmd_mint(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(argc - 1, argv + 1);
    fprintf(stderr, "sasgw sas: unknown command '%s'\n\n%s", argv[1], usage_sas);
    return GW_EXIT_USAGE;
}
