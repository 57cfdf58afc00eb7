/*
 * cli_vault.c - the commands that work on the vault: vault, account, secret,
 * policy-store, audit, backup, restore (DESIGN.md §9), and the key lookup
 * `sas mint` uses when no --key is given.
 *
 * Every command takes --vault PATH (or SASGW_VAULT; default var/vault.db),
 * --master-key-file PATH / --passphrase-file PATH (or SASGW_MASTER_KEY /
 * SASGW_PASSPHRASE) and --audit-log PATH (or SASGW_AUDIT_LOG; default
 * audit.log beside the vault). Exit codes: 0 ok, 1 refused or invalid (one
 * sentence on stderr), 2 usage. `account rotate|import-key|retire` then
 * announce the key change on Redis (--redis, -c; see announce_keys()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_redis.h"
#include "sasgw/common.h"
#include "sasgw/core/config.h"
#include "sasgw/core/keyring.h"
#include "sasgw/revocation/plan.h"
#include "sasgw/vault.h"

#define ERRLEN 1024

/* ---------------------------------------------------------------- argument parsing */

/*
 * A command's options: one gw_arg_t table per command (cli_args.h), ending in
 * VAULT_OPTS, the options every vault command takes (and the terminator).
 */
#define FLAG(name)                                                                                                                 \
    {                                                                                                                              \
        name, NULL, GW_ARG_FLAG                                                                                                    \
    }
#define VALUE(name)                                                                                                                \
    {                                                                                                                              \
        name, NULL, GW_ARG_VALUE                                                                                                   \
    }
#define VAULT_OPTS                                                                                                                 \
    VALUE("--vault"), VALUE("--master-key-file"), VALUE("--passphrase-file"), VALUE("--audit-log"),                                \
    {                                                                                                                              \
        NULL, NULL, GW_ARG_FLAG                                                                                                    \
    }

struct args {
    const char *cmd;        /* "secret set", for messages */
    const char *const *pos; /* the positional arguments (p.pos) */
    size_t npos;
    gw_args_t p;
};

/*
 * Parses argv against spec with minpos..maxpos positional arguments. Returns
 * 0 to run, 1 when help was printed, 2 on a usage error (message printed).
 */
static int parse_args(struct args *a, const char *cmd, int argc, char **argv, const gw_arg_t *spec, int minpos, int maxpos,
                      const char *help)
{
    gw_args_err_t e = gw_args_parse(&a->p, spec, minpos, maxpos, argc, argv);
    a->cmd = cmd;
    a->pos = a->p.pos;
    a->npos = a->p.npos;
    const gw_args_t *p = &a->p;
    switch (e) {
    case GW_ARGS_OK:
        return 0;
    case GW_ARGS_HELP:
        fputs(help, stdout);
        return 1;
    case GW_ARGS_E_UNKNOWN:
        fprintf(stderr, "sasgw %s: unknown option '%.*s' (see 'sasgw %s --help').\n", cmd, (int)p->bad_len, p->bad, cmd);
        break;
    case GW_ARGS_E_NEEDS_VALUE:
        fprintf(stderr, "sasgw %s: option '%s' needs a value.\n", cmd, p->bad);
        break;
    case GW_ARGS_E_NO_VALUE:
        fprintf(stderr, "sasgw %s: option '%.*s' takes no value.\n", cmd, (int)p->bad_len, p->bad);
        break;
    case GW_ARGS_E_REPEATED:
        fprintf(stderr, "sasgw %s: option '%.*s' given twice (see 'sasgw %s --help').\n", cmd, (int)p->bad_len, p->bad, cmd);
        break;
    case GW_ARGS_E_EXTRA:
        fprintf(stderr, "sasgw %s: unexpected argument '%s' (see 'sasgw %s --help').\n", cmd, p->bad, cmd);
        break;
    case GW_ARGS_E_MISSING:
        fprintf(stderr, "sasgw %s: missing argument (see 'sasgw %s --help').\n", cmd, cmd);
        break;
    case GW_ARGS_E_TOO_MANY:
        fprintf(stderr, "sasgw %s: too many options.\n", cmd);
        break;
    }
    return 2;
}

/* The last value of an option (its table name), "" for a flag, or NULL. */
static const char *opt(const struct args *a, const char *name)
{
    return gw_args_value(&a->p, name);
}

static int has(const struct args *a, const char *name)
{
    return gw_args_has(&a->p, name);
}

/* Prints "sasgw CMD: MESSAGE." (one sentence, one line) and returns 1. */
static int refuse(const struct args *a, const char *msg)
{
    size_t n = strlen(msg);
    fprintf(stderr, "sasgw %s: %s%s\n", a->cmd, msg, n > 0 && msg[n - 1] == '.' ? "" : ".");
    return GW_EXIT_REFUSED;
}

static int usage_error(const struct args *a, const char *msg)
{
    fprintf(stderr, "sasgw %s: %s (see 'sasgw %s --help').\n", a->cmd, msg, a->cmd);
    return GW_EXIT_USAGE;
}

static const char *vault_path_of(const struct args *a)
{
    const char *p = opt(a, "--vault");
    return p != NULL ? p : vault_default_path();
}

static const char *audit_path_of(const struct args *a)
{
    const char *p = opt(a, "--audit-log");
    if (p == NULL)
        p = getenv("SASGW_AUDIT_LOG");
    return p != NULL && *p != '\0' ? p : NULL;
}

static int resolve_key(const struct args *a, vault_keysource_t *ks, char *err)
{
    return vault_keysource_resolve(ks, opt(a, "--master-key-file"), opt(a, "--passphrase-file"), err, ERRLEN);
}

/* Opens the vault named by the options; prints the reason and returns NULL when it cannot. */
static vault_t *open_vault(const struct args *a)
{
    vault_keysource_t ks;
    char err[ERRLEN];
    if (resolve_key(a, &ks, err) != 0) {
        refuse(a, err);
        return NULL;
    }
    vault_t *v = vault_open(vault_path_of(a), &ks, audit_path_of(a), NULL, err, sizeof(err));
    vault_keysource_wipe(&ks);
    if (v == NULL)
        refuse(a, err);
    return v;
}

/*
 * The prologue of the commands that only read or change the vault:
 * parse_args(), then open_vault(). Returns -1 with *v open, or the exit code
 * the command returns (--help, a usage error, a vault that would not open).
 */
static int parse_and_open(struct args *a, const char *cmd, int argc, char **argv, const gw_arg_t *spec, int minpos, int maxpos,
                          const char *help, vault_t **v)
{
    int rc = parse_args(a, cmd, argc, argv, spec, minpos, maxpos, help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    return (*v = open_vault(a)) == NULL ? GW_EXIT_REFUSED : -1;
}

static const vault_actor_t cli_actor = {"cli", NULL, NULL};

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(j);
}

static json_t *json_time(int64_t t)
{
    char buf[32];
    if (t == 0)
        return json_null();
    vault_time_format(t, buf, sizeof(buf));
    return json_string(buf);
}

static const char *time_text(int64_t t, char *buf, size_t cap)
{
    if (t == 0)
        return "-";
    vault_time_format(t, buf, cap);
    return buf;
}

/*
 * Overwrites a secret given on the command line once it has been copied, so
 * /proc/PID/cmdline stops showing it (it was visible until then: stdin is
 * the better way to pass secrets).
 */
static void wipe_arg(const char *arg)
{
    if (arg != NULL)
        sg_wipe((void *)(uintptr_t)arg, strlen(arg));
}

/* Decodes base64 key text into key (VAULT_KEY_MAX bytes), then wipes the text. */
static int decode_key(const char *text, uint8_t *key, size_t *len)
{
    int rc = sg_b64_decode(text, strlen(text), key, VAULT_KEY_MAX, len);
    wipe_arg(text);
    return rc;
}

#define COMMON_HELP                                                                                                                \
    "\ncommon options:\n"                                                                                                          \
    "  --vault PATH             the vault file (env SASGW_VAULT; default var/vault.db)\n"                                          \
    "  --master-key-file PATH   master key: base64 of 32 bytes or 32 raw bytes, mode 0600 (or env SASGW_MASTER_KEY)\n"             \
    "  --passphrase-file PATH   a passphrase instead, stretched by scrypt (or env SASGW_PASSPHRASE)\n"                             \
    "  --audit-log PATH         the audit log (env SASGW_AUDIT_LOG; default audit.log beside the vault)\n"                         \
    "exit codes: 0 ok, 1 refused or invalid, 2 usage\n"

/* ---------------------------------------------------------------- subcommand dispatch */

struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
};

/*
 * Runs the verb argv[1] names from verbs (argv[0] is the command), or prints
 * help: to stdout with exit 0 for --help/-h, to stderr with exit 2 when the
 * verb is missing or unknown.
 */
static int dispatch(const char *cmd, const char *help, const struct verb *verbs, size_t n, int argc, char **argv)
{
    if (argc < 2) {
        fputs(help, stderr);
        return GW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, stdout);
        return GW_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sasgw %s: unknown subcommand '%s' (see 'sasgw %s --help').\n", cmd, argv[1], cmd);
    return GW_EXIT_USAGE;
}

#define DISPATCH(cmd, help, verbs) dispatch(cmd, help, verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv)

/* ---------------------------------------------------------------- vault */

static const char vault_help[] =
    "usage: sasgw vault <init|status|set|keygen> [options]\n\n"
    "  init                      create a new, empty vault (refuses to overwrite one)\n"
    "  status [--json]           show the vault's id, generation, settings and contents\n"
    "  set [--retention-days N] [--purge-protection on|off]\n"
    "                            days a deleted secret is kept (7-90, default 90); purge\n"
    "                            protection cannot be turned off once on\n"
    "  keygen [--out FILE]       print a new random master key (base64), or write it to FILE (mode 0600)\n" COMMON_HELP;

static int vault_init(int argc, char **argv)
{
    static const gw_arg_t spec[] = {FLAG("--json"), VAULT_OPTS};
    struct args a;
    vault_keysource_t ks;
    char err[ERRLEN];
    int rc = parse_args(&a, "vault init", argc, argv, spec, 0, 0, vault_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    if (resolve_key(&a, &ks, err) != 0)
        return refuse(&a, err);
    rc = vault_create(vault_path_of(&a), &ks, audit_path_of(&a), err, sizeof(err));
    vault_keysource_wipe(&ks);
    if (rc != 0)
        return refuse(&a, err);
    printf("created the vault %s\n", vault_path_of(&a));
    return GW_EXIT_OK;
}

static int vault_status_cmd(int argc, char **argv)
{
    static const gw_arg_t spec[] = {FLAG("--json"), VAULT_OPTS};
    struct args a;
    vault_status_t st;
    vault_t *v;
    int rc = parse_and_open(&a, "vault status", argc, argv, spec, 0, 0, vault_help, &v);
    if (rc >= 0)
        return rc;
    vault_get_status(v, &st);
    vault_close(v);
    const char *sealed = st.sealed_by == VAULT_KS_PASSPHRASE ? "passphrase (scrypt)" : "master key";
    if (has(&a, "--json")) {
        json_t *j = json_object();
        json_object_set_new(j, "path", json_string(st.path));
        json_object_set_new(j, "vault_id", json_string(st.vault_id));
        json_object_set_new(j, "format", json_integer(st.format_version));
        json_object_set_new(j, "generation", json_integer((json_int_t)st.generation));
        json_object_set_new(j, "sealed_by", json_string(sealed));
        json_object_set_new(j, "retention_days", json_integer(st.retention_days));
        json_object_set_new(j, "purge_protection", json_boolean(st.purge_protection));
        json_object_set_new(j, "accounts", json_integer((json_int_t)st.accounts));
        json_object_set_new(j, "secrets", json_integer((json_int_t)st.secrets));
        json_object_set_new(j, "secrets_deleted", json_integer((json_int_t)st.secrets_deleted));
        json_object_set_new(j, "secret_versions", json_integer((json_int_t)st.secret_versions));
        json_object_set_new(j, "policies", json_integer((json_int_t)st.policies));
        json_object_set_new(j, "audit_log", json_string(st.audit_path));
        print_json(j);
    } else {
        printf("vault            %s\n", st.path);
        printf("id               %s\n", st.vault_id);
        printf("format           %u\n", st.format_version);
        printf("generation       %llu\n", (unsigned long long)st.generation);
        printf("sealed by        %s\n", sealed);
        printf("retention        %u days\n", st.retention_days);
        printf("purge protection %s\n", st.purge_protection ? "on" : "off");
        printf("accounts         %zu\n", st.accounts);
        printf("secrets          %zu (%zu deleted, %zu versions)\n", st.secrets, st.secrets_deleted, st.secret_versions);
        printf("stored policies  %zu\n", st.policies);
        printf("audit log        %s\n", st.audit_path);
    }
    return GW_EXIT_OK;
}

static int vault_set_cmd(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--retention-days"), VALUE("--purge-protection"), VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    unsigned days = 0;
    int purge = -1;
    int rc = parse_args(&a, "vault set", argc, argv, spec, 0, 0, vault_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    const char *d = opt(&a, "--retention-days"), *p = opt(&a, "--purge-protection");
    if (d == NULL && p == NULL)
        return usage_error(&a, "give --retention-days and/or --purge-protection");
    if (d != NULL) {
        char *end;
        unsigned long n = strtoul(d, &end, 10);
        if (*d == '\0' || *end != '\0' || n < VAULT_RETENTION_MIN || n > VAULT_RETENTION_MAX)
            return refuse(&a, "the retention period must be a whole number of days between 7 and 90");
        days = (unsigned)n;
    }
    if (p != NULL) {
        if (strcmp(p, "on") == 0)
            purge = 1;
        else if (strcmp(p, "off") == 0)
            purge = 0;
        else
            return usage_error(&a, "--purge-protection takes on or off");
    }
    vault_t *v = open_vault(&a);
    if (v == NULL)
        return GW_EXIT_REFUSED;
    rc = vault_settings_set(v, &cli_actor, days, purge, err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(&a, err);
    return GW_EXIT_OK;
}

static int vault_keygen(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--out"), VAULT_OPTS};
    struct args a;
    uint8_t key[VAULT_MASTER_KEY_LEN];
    char text[SG_B64_ENCODED_LEN(VAULT_MASTER_KEY_LEN) + 2];
    int rc = parse_args(&a, "vault keygen", argc, argv, spec, 0, 0, vault_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    sg_random(key, sizeof(key));
    size_t n = sg_b64_encode(key, sizeof(key), text);
    sg_wipe(key, sizeof(key));
    text[n++] = '\n';
    const char *out = opt(&a, "--out");
    rc = GW_EXIT_OK;
    if (out == NULL) {
        fwrite(text, 1, n, stdout);
    } else {
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) != 0) {
            char err[ERRLEN];
            snprintf(err, sizeof(err), "cannot create the key file %s: %s", out, strerror(errno));
            rc = refuse(&a, err);
        }
        if (fd >= 0)
            close(fd);
    }
    sg_wipe(text, sizeof(text));
    return rc;
}

int gw_cli_vault(int argc, char **argv)
{
    static const struct verb verbs[] = {
        {"init", vault_init}, {"status", vault_status_cmd}, {"set", vault_set_cmd}, {"keygen", vault_keygen}};
    return DISPATCH("vault", vault_help, verbs);
}

/* ---------------------------------------------------------------- announcing key changes */

/* How long a key change waits for Redis before it gives up announcing (the change itself is made). */
#define ANNOUNCE_TIMEOUT_MS 2000
/* The options of those commands that say where Redis is. */
#define ANNOUNCE_OPTS                                                                                                              \
    VALUE("--redis"),                                                                                                              \
    {                                                                                                                              \
        "--config", "-c", GW_ARG_VALUE                                                                                             \
    }

/*
 * Before a key change (rotate, import-key, retire): where its announcement
 * goes, from --redis and -c/--config (cli_redis.h). Checked before the vault
 * changes, so a bad option changes nothing. Returns -1 with *t filled (clear
 * it with announce_keys()), or the exit code: 2 for a malformed --redis, 1
 * for a configuration or password file that cannot be read.
 */
static int announce_prepare(const struct args *a, gw_cli_redis_t *t)
{
    char err[ERRLEN];
    const char *path = opt(a, "--config");
    gw_config_t *conf = NULL;
    memset(t, 0, sizeof(*t));
    if (path != NULL && (conf = gw_config_load(path, err, sizeof(err))) == NULL)
        return refuse(a, err);
    int rc = gw_cli_redis_resolve(t, opt(a, "--redis"), conf, err, sizeof(err));
    gw_config_free(conf);
    if (rc == GW_CLI_REDIS_OK)
        return -1;
    gw_cli_redis_clear(t);
    return rc == GW_CLI_REDIS_BAD_ADDRESS ? usage_error(a, err) : refuse(a, err);
}

/*
 * After a key change of account: publishes {"type":"keys","account":A} on
 * sasgw:events, as the admin API does, so every running server reloads the
 * account's keys at once. When Redis cannot be reached the command still
 * succeeds (the vault has the change); a warning on stderr says the servers
 * see it at their next vault check instead. Clears t.
 */
static void announce_keys(const struct args *a, gw_cli_redis_t *t, const char *account)
{
    char event[256], err[ERRLEN];
    gw_event_keys(account, event, sizeof(event));
    if (gw_cli_redis_publish(t, GW_EVENTS_CHANNEL, event, ANNOUNCE_TIMEOUT_MS, NULL, err, sizeof(err)) != 0)
        fprintf(stderr,
                "sasgw %s: warning: the vault has the change, but it was not announced on %s (%s); running servers "
                "see it when they next check the vault, within %d s.\n",
                a->cmd, GW_EVENTS_CHANNEL, err, GW_KEYRING_CHECK_MS / 1000);
    gw_cli_redis_clear(t);
}

/* ---------------------------------------------------------------- account */

static const char account_help[] =
    "usage: sasgw account <add|list|rotate|import-key|retire> [options]\n\n"
    "  add NAME --key1 B64 [--key2 B64] [--backend URL] [--mode passthrough|origin|resign]\n"
    "                     a storage account (3-24 lowercase letters and digits) and its keys\n"
    "                     (16-64 bytes each; key2 is generated when not given); in mode resign\n"
    "                     also random edge keys edge1 and edge2, which sign its tokens\n"
    "  list [--json] [-c FILE]\n"
    "                     accounts, modes, backends and key versions (never key material);\n"
    "                     with -c the mode and upstream_account sasgw.yaml gives an account\n"
    "  rotate NAME --slot SLOT [--show-key]\n"
    "                     a new random 64-byte version becomes active, the slot's previous\n"
    "                     versions are retired; --show-key prints the new key (base64)\n"
    "  import-key NAME --slot SLOT --key B64\n"
    "                     the same with a key regenerated at the storage service\n"
    "  retire NAME --slot SLOT --version N\n"
    "                     tokens signed by that version stop validating\n"
    "SLOT is key1 or key2 (the storage keys) or edge1 or edge2 (the edge keys that sign the\n"
    "tokens of a resign account; the storage service never knows them).\n"
    "\n"
    "rotate, import-key and retire then announce the change on Redis (sasgw:events,\n"
    "as the admin API does), so every running sasgw serve uses the new keys at once:\n"
    "  --redis HOST:PORT  that Redis (default: the one -c names, else 127.0.0.1:6379)\n"
    "  -c, --config FILE  a server configuration (sasgw.yaml): its redis: section, with\n"
    "                     password_file; nothing else of it is read\n"
    "When Redis cannot be reached the change is still made (exit 0) and a warning\n"
    "says the servers pick it up at their next check of the vault (every few seconds).\n" COMMON_HELP;

static int account_add(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--key1"), VALUE("--key2"), VALUE("--backend"), VALUE("--mode"), VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    uint8_t k1[VAULT_KEY_MAX], k2[VAULT_KEY_MAX];
    size_t k1len = 0, k2len = 0;
    vault_mode_t mode = VAULT_MODE_PASSTHROUGH;
    int rc = parse_args(&a, "account add", argc, argv, spec, 1, 1, account_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    const char *key1 = opt(&a, "--key1"), *key2 = opt(&a, "--key2"), *m = opt(&a, "--mode");
    if (key1 == NULL)
        return usage_error(&a, "--key1 is required");
    if (m != NULL) {
        if (strcmp(m, "passthrough") == 0)
            mode = VAULT_MODE_PASSTHROUGH;
        else if (strcmp(m, "origin") == 0)
            mode = VAULT_MODE_ORIGIN;
        else if (strcmp(m, "resign") == 0)
            mode = VAULT_MODE_RESIGN;
        else
            return usage_error(&a, "--mode takes passthrough, origin or resign");
    }
    rc = GW_EXIT_REFUSED;
    if (decode_key(key1, k1, &k1len) != 0) {
        refuse(&a, "--key1 is not base64 of at most 64 bytes");
        goto done;
    }
    if (key2 != NULL && decode_key(key2, k2, &k2len) != 0) {
        refuse(&a, "--key2 is not base64 of at most 64 bytes");
        goto done;
    }
    vault_t *v = open_vault(&a);
    if (v == NULL)
        goto done;
    if (vault_account_add(v, &cli_actor, a.pos[0], k1, k1len, key2 != NULL ? k2 : NULL, k2len, opt(&a, "--backend"), mode, err,
                          sizeof(err)) != 0)
        refuse(&a, err);
    else
        rc = GW_EXIT_OK;
    vault_close(v);
done:
    sg_wipe(k1, sizeof(k1));
    sg_wipe(k2, sizeof(k2));
    return rc;
}

/*
 * The mode an account is served in and, for resign, its upstream account:
 * from conf (sasgw.yaml, may be NULL) when it lists the account, else from
 * the vault (upstream_account then defaults to the name).
 */
static gw_account_mode_t listed_mode(const gw_config_t *conf, const vault_account_info_t *info, const char **upstream)
{
    const gw_account_config_t *ac = conf != NULL ? gw_config_find_account(conf, info->name, strlen(info->name)) : NULL;
    gw_account_mode_t mode = ac != NULL                          ? ac->mode
                             : info->mode == VAULT_MODE_ORIGIN ? GW_ACCOUNT_ORIGIN
                             : info->mode == VAULT_MODE_RESIGN ? GW_ACCOUNT_RESIGN
                                                               : GW_ACCOUNT_PASSTHROUGH;
    *upstream = mode != GW_ACCOUNT_RESIGN ? NULL : ac != NULL && ac->upstream_account != NULL ? ac->upstream_account : info->name;
    return mode;
}

static int account_list(int argc, char **argv)
{
    static const gw_arg_t spec[] = {FLAG("--json"), {"--config", "-c", GW_ARG_VALUE}, VAULT_OPTS};
    struct args a;
    char err[ERRLEN], t[32];
    vault_account_info_t *list;
    size_t n;
    vault_t *v;
    gw_config_t *conf = NULL;
    int rc = parse_args(&a, "account list", argc, argv, spec, 0, 0, account_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    if (opt(&a, "--config") != NULL && (conf = gw_config_load(opt(&a, "--config"), err, sizeof(err))) == NULL)
        return refuse(&a, err);
    if ((v = open_vault(&a)) == NULL) {
        gw_config_free(conf);
        return GW_EXIT_REFUSED;
    }
    rc = vault_account_list(v, &list, &n, err, sizeof(err));
    vault_close(v);
    if (rc != 0) {
        gw_config_free(conf);
        return refuse(&a, err);
    }
    if (has(&a, "--json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object(), *keys = json_array();
            const char *upstream;
            gw_account_mode_t mode = listed_mode(conf, &list[i], &upstream);
            json_object_set_new(o, "name", json_string(list[i].name));
            json_object_set_new(o, "backend", json_string(list[i].backend));
            json_object_set_new(o, "mode", json_string(gw_account_mode_name(mode)));
            json_object_set_new(o, "upstream_account", upstream != NULL ? json_string(upstream) : json_null());
            json_object_set_new(o, "token_keys", json_string(mode == GW_ACCOUNT_RESIGN ? "edge" : "storage"));
            for (size_t k = 0; k < list[i].nkeys; k++) {
                json_t *kv = json_object();
                json_object_set_new(kv, "slot", json_string(vault_slot_name(list[i].keys[k].slot)));
                json_object_set_new(kv, "version", json_integer(list[i].keys[k].version));
                json_object_set_new(kv, "created", json_time(list[i].keys[k].created));
                json_object_set_new(kv, "state", json_string(list[i].keys[k].state == VAULT_KEY_ACTIVE ? "active" : "retired"));
                json_array_append_new(keys, kv);
            }
            json_object_set_new(o, "keys", keys);
            json_array_append_new(arr, o);
        }
        print_json(arr);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *upstream;
            gw_account_mode_t mode = listed_mode(conf, &list[i], &upstream);
            printf("%s  mode=%s  backend=%s", list[i].name, gw_account_mode_name(mode),
                   list[i].backend[0] != '\0' ? list[i].backend : "-");
            if (upstream != NULL)
                printf("  upstream_account=%s", upstream);
            printf("\n");
            for (size_t k = 0; k < list[i].nkeys; k++)
                printf("  %-5s version %-4u %-8s created %s\n", vault_slot_name(list[i].keys[k].slot), list[i].keys[k].version,
                       list[i].keys[k].state == VAULT_KEY_ACTIVE ? "active" : "retired",
                       time_text(list[i].keys[k].created, t, sizeof(t)));
        }
    }
    vault_account_list_free(list, n);
    gw_config_free(conf);
    return GW_EXIT_OK;
}

static int slot_of(const struct args *a, int *slot)
{
    const char *s = opt(a, "--slot");
    if (s == NULL)
        return usage_error(a, "--slot key1|key2|edge1|edge2 is required");
    if ((*slot = vault_parse_slot(s)) == 0)
        return usage_error(a, "--slot takes key1, key2, edge1 or edge2");
    return 0;
}

static int account_rotate(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--slot"), FLAG("--show-key"), ANNOUNCE_OPTS, VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    int slot;
    vault_signing_key_t k;
    gw_cli_redis_t redis;
    int rc = parse_args(&a, "account rotate", argc, argv, spec, 1, 1, account_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    if ((rc = slot_of(&a, &slot)) != 0)
        return rc;
    if ((rc = announce_prepare(&a, &redis)) >= 0)
        return rc;
    vault_t *v = open_vault(&a);
    if (v == NULL) {
        gw_cli_redis_clear(&redis);
        return GW_EXIT_REFUSED;
    }
    rc = vault_account_rotate(v, &cli_actor, a.pos[0], slot, &k, err, sizeof(err));
    vault_close(v);
    if (rc != 0) {
        gw_cli_redis_clear(&redis);
        return refuse(&a, err);
    }
    announce_keys(&a, &redis, a.pos[0]);
    printf("account %s: %s version %u is active; earlier %s versions are retired\n", a.pos[0], vault_slot_name(slot), k.version,
           vault_slot_name(slot));
    if (has(&a, "--show-key")) {
        char text[SG_B64_ENCODED_LEN(VAULT_KEY_MAX) + 1];
        sg_b64_encode(k.key, k.key_len, text);
        printf("%s\n", text);
        fflush(stdout);
        sg_wipe(text, sizeof(text));
    }
    sg_wipe(&k, sizeof(k));
    return GW_EXIT_OK;
}

static int account_import(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--slot"), VALUE("--key"), ANNOUNCE_OPTS, VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    int slot;
    uint8_t key[VAULT_KEY_MAX];
    size_t len = 0;
    uint32_t version = 0;
    gw_cli_redis_t redis;
    int rc = parse_args(&a, "account import-key", argc, argv, spec, 1, 1, account_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    if ((rc = slot_of(&a, &slot)) != 0)
        return rc;
    if (opt(&a, "--key") == NULL)
        return usage_error(&a, "--key is required");
    if (decode_key(opt(&a, "--key"), key, &len) != 0) {
        sg_wipe(key, sizeof(key));
        return refuse(&a, "--key is not base64 of at most 64 bytes");
    }
    if ((rc = announce_prepare(&a, &redis)) >= 0) {
        sg_wipe(key, sizeof(key));
        return rc;
    }
    vault_t *v = open_vault(&a);
    if (v != NULL) {
        rc = vault_account_import_key(v, &cli_actor, a.pos[0], slot, key, len, &version, err, sizeof(err));
        vault_close(v);
    }
    sg_wipe(key, sizeof(key));
    if (v == NULL || rc != 0) {
        gw_cli_redis_clear(&redis);
        return v == NULL ? GW_EXIT_REFUSED : refuse(&a, err);
    }
    announce_keys(&a, &redis, a.pos[0]);
    printf("account %s: %s version %u is active; earlier %s versions are retired\n", a.pos[0], vault_slot_name(slot), version,
           vault_slot_name(slot));
    return GW_EXIT_OK;
}

static int account_retire(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--slot"), VALUE("--version"), ANNOUNCE_OPTS, VAULT_OPTS};
    struct args a;
    char err[ERRLEN], *end;
    int slot;
    gw_cli_redis_t redis;
    int rc = parse_args(&a, "account retire", argc, argv, spec, 1, 1, account_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    if ((rc = slot_of(&a, &slot)) != 0)
        return rc;
    const char *ver = opt(&a, "--version");
    if (ver == NULL)
        return usage_error(&a, "--version N is required");
    unsigned long n = strtoul(ver, &end, 10);
    if (*ver == '\0' || *end != '\0' || n == 0 || n > UINT32_MAX)
        return usage_error(&a, "--version takes a positive number");
    if ((rc = announce_prepare(&a, &redis)) >= 0)
        return rc;
    vault_t *v = open_vault(&a);
    if (v == NULL) {
        gw_cli_redis_clear(&redis);
        return GW_EXIT_REFUSED;
    }
    rc = vault_account_retire(v, &cli_actor, a.pos[0], slot, (uint32_t)n, err, sizeof(err));
    vault_close(v);
    if (rc != 0) {
        gw_cli_redis_clear(&redis);
        return refuse(&a, err);
    }
    announce_keys(&a, &redis, a.pos[0]);
    printf("account %s: %s version %lu is retired\n", a.pos[0], vault_slot_name(slot), n);
    return GW_EXIT_OK;
}

int gw_cli_account(int argc, char **argv)
{
    static const struct verb verbs[] = {{"add", account_add},
                                        {"list", account_list},
                                        {"rotate", account_rotate},
                                        {"import-key", account_import},
                                        {"retire", account_retire}};
    return DISPATCH("account", account_help, verbs);
}

/* ---------------------------------------------------------------- secret */

static const char secret_help[] =
    "usage: sasgw secret <set|get|list|delete|recover|purge> [options]\n\n"
    "  set NAME [--value V] [--content-type T] [--tag k=v]... [--not-before T] [--expires T] [--disabled]\n"
    "                     a new version; without --value the value is read from stdin, byte for byte\n"
    "                     (prefer stdin: other users may see command lines in ps)\n"
    "                     (at most 25 KB); prints the version id. Names: 1-127 of [0-9a-zA-Z-];\n"
    "                     times: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n"
    "  get NAME [--version V]\n"
    "                     prints the value alone, exactly as stored\n"
    "  list [NAME] [--json]\n"
    "                     secrets, or the versions of one, with attributes (never values)\n"
    "  delete NAME        soft delete: kept for the retention period, then purged\n"
    "  recover NAME       undo a delete\n"
    "  purge NAME         remove a deleted secret for good (refused under purge protection)\n" COMMON_HELP;

/* Reads stdin into a buffer of VAULT_SECRET_MAX + 1 bytes (allocated once: nothing secret is left in freed memory). */
static uint8_t *read_stdin_secret(size_t *len, int *too_big)
{
    size_t cap = VAULT_SECRET_MAX + 1, n = 0;
    uint8_t *buf = sg_alloc(cap);
    *too_big = 0;
    for (;;) {
        ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            /* drain and refuse */
            uint8_t sink[4096];
            while (read(STDIN_FILENO, sink, sizeof(sink)) > 0)
                ;
            sg_wipe(sink, sizeof(sink));
            *too_big = 1;
            break;
        }
    }
    *len = n;
    return buf;
}

static int secret_set(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--value"),
                                    VALUE("--content-type"),
                                    {"--tag", NULL, GW_ARG_REPEATED},
                                    VALUE("--not-before"),
                                    VALUE("--expires"),
                                    FLAG("--disabled"),
                                    VAULT_OPTS};
    struct args a;
    char err[ERRLEN], version[VAULT_VERSION_ID_LEN + 1];
    vault_tag_t tags[15];
    char *tagbuf[15];
    size_t ntags = 0;
    vault_secret_input_t in = {0};
    int rc = parse_args(&a, "secret set", argc, argv, spec, 1, 1, secret_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    if (!vault_valid_secret_name(a.pos[0]))
        return refuse(&a, "the secret name must be 1 to 127 letters, digits and dashes");
    const char *nbf = opt(&a, "--not-before"), *exp = opt(&a, "--expires");
    if (nbf != NULL && vault_time_parse(nbf, &in.nbf) != 0)
        return refuse(&a, "--not-before is not a time like 2026-01-31 or 2026-01-31T12:00:00Z");
    if (exp != NULL && vault_time_parse(exp, &in.exp) != 0)
        return refuse(&a, "--expires is not a time like 2026-01-31 or 2026-01-31T12:00:00Z");
    in.content_type = opt(&a, "--content-type");
    in.disabled = has(&a, "--disabled");
    rc = GW_EXIT_REFUSED;
    size_t cursor = 0;
    for (const char *tag; (tag = gw_args_next(&a.p, "--tag", &cursor)) != NULL;) {
        const char *eq = strchr(tag, '=');
        if (eq == NULL || eq == tag) {
            refuse(&a, "--tag takes name=value");
            goto tags_done;
        }
        if (ntags == 15) {
            refuse(&a, "a secret may carry at most 15 tags");
            goto tags_done;
        }
        tagbuf[ntags] = sg_strdup(tag);
        tagbuf[ntags][eq - tag] = '\0';
        tags[ntags].key = tagbuf[ntags];
        tags[ntags].value = tagbuf[ntags] + (eq - tag) + 1;
        ntags++;
    }
    in.ntags = ntags;
    in.tags = tags;

    /* the value: --value, or stdin */
    uint8_t *value;
    size_t len;
    int too_big = 0;
    const char *given = opt(&a, "--value");
    if (given != NULL) {
        len = strlen(given);
        value = sg_alloc(len + 1);
        memcpy(value, given, len + 1);
        wipe_arg(given);
        too_big = len > VAULT_SECRET_MAX;
    } else {
        value = read_stdin_secret(&len, &too_big);
    }
    if (too_big) {
        refuse(&a, "the secret value is larger than 25 KB (25600 bytes), the most a secret may hold");
    } else {
        vault_t *v = open_vault(&a);
        if (v != NULL) {
            if (vault_secret_set(v, &cli_actor, a.pos[0], value, len, &in, version, err, sizeof(err)) != 0) {
                refuse(&a, err);
            } else {
                printf("%s\n", version);
                rc = GW_EXIT_OK;
            }
            vault_close(v);
        }
    }
    sg_free_secret(value, given != NULL ? len + 1 : VAULT_SECRET_MAX + 1);
tags_done:
    for (size_t i = 0; i < ntags; i++)
        free(tagbuf[i]);
    return rc;
}

static int secret_get(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--version"), VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    vault_secret_t s;
    vault_t *v;
    int rc = parse_and_open(&a, "secret get", argc, argv, spec, 1, 1, secret_help, &v);
    if (rc >= 0)
        return rc;
    rc = vault_secret_get(v, &cli_actor, a.pos[0], opt(&a, "--version"), &s, err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(&a, err);
    /* exactly the stored bytes; a newline only for a person at a terminal */
    fwrite(s.value, 1, s.value_len, stdout);
    if (isatty(STDOUT_FILENO) && (s.value_len == 0 || s.value[s.value_len - 1] != '\n'))
        fputc('\n', stdout);
    fflush(stdout);
    vault_secret_dispose(&s);
    return GW_EXIT_OK;
}

static json_t *attrs_json(const vault_secret_attrs_t *v)
{
    json_t *o = json_object(), *tags = json_object();
    json_object_set_new(o, "version", json_string(v->version));
    json_object_set_new(o, "enabled", json_boolean(v->enabled));
    json_object_set_new(o, "content_type", json_string(v->content_type));
    for (size_t t = 0; t < v->ntags; t++)
        json_object_set_new(tags, v->tags[t].key, json_string(v->tags[t].value));
    json_object_set_new(o, "tags", tags);
    json_object_set_new(o, "nbf", json_time(v->nbf));
    json_object_set_new(o, "exp", json_time(v->exp));
    json_object_set_new(o, "created", json_time(v->created));
    json_object_set_new(o, "updated", json_time(v->updated));
    return o;
}

static int secret_list(int argc, char **argv)
{
    static const gw_arg_t spec[] = {FLAG("--json"), VAULT_OPTS};
    struct args a;
    char err[ERRLEN], t1[32], t2[32];
    vault_secret_info_t *list;
    size_t n;
    vault_t *v;
    int rc = parse_and_open(&a, "secret list", argc, argv, spec, 0, 1, secret_help, &v);
    if (rc >= 0)
        return rc;
    rc = vault_secret_list(v, a.npos > 0 ? a.pos[0] : NULL, &list, &n, err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(&a, err);
    if (has(&a, "--json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object(), *vers = json_array();
            json_object_set_new(o, "name", json_string(list[i].name));
            json_object_set_new(o, "deleted", json_boolean(list[i].deleted));
            json_object_set_new(o, "deleted_on", json_time(list[i].deleted_on));
            json_object_set_new(o, "purge_on", json_time(list[i].purge_on));
            for (size_t j = 0; j < list[i].nversions; j++)
                json_array_append_new(vers, attrs_json(&list[i].versions[j]));
            json_object_set_new(o, "versions", vers);
            json_array_append_new(arr, o);
        }
        print_json(arr);
    } else if (a.npos == 0) {
        for (size_t i = 0; i < n; i++) {
            const vault_secret_attrs_t *last = &list[i].versions[list[i].nversions - 1];
            printf("%-40s %zu version%s  latest %s  updated %s%s%s\n", list[i].name, list[i].nversions,
                   list[i].nversions == 1 ? "" : "s", last->version, time_text(last->updated, t1, sizeof(t1)),
                   list[i].deleted ? "  DELETED, purged on " : "",
                   list[i].deleted ? time_text(list[i].purge_on, t2, sizeof(t2)) : "");
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            if (list[i].deleted)
                printf("deleted on %s, purged on %s\n", time_text(list[i].deleted_on, t1, sizeof(t1)),
                       time_text(list[i].purge_on, t2, sizeof(t2)));
            for (size_t j = 0; j < list[i].nversions; j++) {
                const vault_secret_attrs_t *x = &list[i].versions[j];
                printf("%s  %s  created %s", x->version, x->enabled ? "enabled " : "disabled",
                       time_text(x->created, t1, sizeof(t1)));
                if (x->nbf != 0)
                    printf("  nbf %s", time_text(x->nbf, t1, sizeof(t1)));
                if (x->exp != 0)
                    printf("  exp %s", time_text(x->exp, t1, sizeof(t1)));
                if (x->content_type[0] != '\0')
                    printf("  type %s", x->content_type);
                for (size_t t = 0; t < x->ntags; t++)
                    printf("  %s=%s", x->tags[t].key, x->tags[t].value);
                printf("\n");
            }
        }
    }
    vault_secret_list_free(list, n);
    return GW_EXIT_OK;
}

static int secret_life(int argc, char **argv, const char *cmd,
                       vault_err_t (*fn)(vault_t *, const vault_actor_t *, const char *, char *, size_t), const char *done)
{
    struct args a;
    char err[ERRLEN];
    static const gw_arg_t spec[] = {VAULT_OPTS};
    vault_t *v;
    int rc = parse_and_open(&a, cmd, argc, argv, spec, 1, 1, secret_help, &v);
    if (rc >= 0)
        return rc;
    rc = fn(v, &cli_actor, a.pos[0], err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(&a, err);
    printf("secret %s %s\n", a.pos[0], done);
    return GW_EXIT_OK;
}

static int secret_delete(int argc, char **argv)
{
    return secret_life(argc, argv, "secret delete", vault_secret_delete, "deleted (recoverable)");
}

static int secret_recover(int argc, char **argv)
{
    return secret_life(argc, argv, "secret recover", vault_secret_recover, "recovered");
}

static int secret_purge(int argc, char **argv)
{
    return secret_life(argc, argv, "secret purge", vault_secret_purge, "purged");
}

int gw_cli_secret(int argc, char **argv)
{
    static const struct verb verbs[] = {{"set", secret_set},       {"get", secret_get},         {"list", secret_list},
                                        {"delete", secret_delete}, {"recover", secret_recover}, {"purge", secret_purge}};
    return DISPATCH("secret", secret_help, verbs);
}

/* ---------------------------------------------------------------- policy-store */

static const char policy_help[] = "usage: sasgw policy-store <set|delete|list> [options]\n\n"
                                  "  set ACCOUNT CONTAINER ID [--start T] [--expiry T] [--permissions P]\n"
                                  "                     create or replace a stored access policy (no limit of five);\n"
                                  "                     P: letters of racwdxyltfmeopi, each once; T: YYYY-MM-DD[THH:MM:SSZ]\n"
                                  "  delete ACCOUNT CONTAINER ID\n"
                                  "                     every token naming it (si=ID) stops validating\n"
                                  "  list ACCOUNT [CONTAINER] [--json]\n" COMMON_HELP;

static int policy_set(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VALUE("--start"), VALUE("--expiry"), VALUE("--permissions"), VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    vault_policy_t p = {0};
    int rc = parse_args(&a, "policy-store set", argc, argv, spec, 3, 3, policy_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    const char *st = opt(&a, "--start"), *ex = opt(&a, "--expiry"), *perm = opt(&a, "--permissions");
    if (st != NULL && vault_time_parse(st, &p.start) != 0)
        return refuse(&a, "--start is not a time like 2026-01-31 or 2026-01-31T12:00:00Z");
    if (ex != NULL && vault_time_parse(ex, &p.expiry) != 0)
        return refuse(&a, "--expiry is not a time like 2026-01-31 or 2026-01-31T12:00:00Z");
    if (perm != NULL) {
        if (strlen(perm) >= sizeof(p.permissions) || !vault_valid_permissions(perm))
            return refuse(&a, "--permissions takes letters of racwdxyltfmeopi, each at most once");
        memcpy(p.permissions, perm, strlen(perm) + 1);
    }
    p.account = (char *)(uintptr_t)a.pos[0];
    p.container = (char *)(uintptr_t)a.pos[1];
    p.id = (char *)(uintptr_t)a.pos[2];
    vault_t *v = open_vault(&a);
    if (v == NULL)
        return GW_EXIT_REFUSED;
    rc = vault_policy_put(v, &cli_actor, &p, err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(&a, err);
    printf("stored access policy %s set on %s/%s\n", a.pos[2], a.pos[0], a.pos[1]);
    return GW_EXIT_OK;
}

static int policy_delete(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    vault_t *v;
    int rc = parse_and_open(&a, "policy-store delete", argc, argv, spec, 3, 3, policy_help, &v);
    if (rc >= 0)
        return rc;
    rc = vault_policy_delete(v, &cli_actor, a.pos[0], a.pos[1], a.pos[2], err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(&a, err);
    printf("stored access policy %s deleted from %s/%s\n", a.pos[2], a.pos[0], a.pos[1]);
    return GW_EXIT_OK;
}

static int policy_list(int argc, char **argv)
{
    static const gw_arg_t spec[] = {FLAG("--json"), VAULT_OPTS};
    struct args a;
    char err[ERRLEN], t1[32], t2[32];
    vault_policy_t *list;
    size_t n;
    vault_t *v;
    int rc = parse_and_open(&a, "policy-store list", argc, argv, spec, 1, 2, policy_help, &v);
    if (rc >= 0)
        return rc;
    rc = vault_policy_list(v, a.pos[0], a.npos > 1 ? a.pos[1] : NULL, &list, &n, err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(&a, err);
    if (has(&a, "--json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "account", json_string(list[i].account));
            json_object_set_new(o, "container", json_string(list[i].container));
            json_object_set_new(o, "id", json_string(list[i].id));
            json_object_set_new(o, "start", json_time(list[i].start));
            json_object_set_new(o, "expiry", json_time(list[i].expiry));
            json_object_set_new(o, "permissions", json_string(list[i].permissions));
            json_array_append_new(arr, o);
        }
        print_json(arr);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s/%s  %s  start %s  expiry %s  permissions %s\n", list[i].account, list[i].container, list[i].id,
                   time_text(list[i].start, t1, sizeof(t1)), time_text(list[i].expiry, t2, sizeof(t2)),
                   list[i].permissions[0] != '\0' ? list[i].permissions : "-");
    }
    vault_policy_list_free(list, n);
    return GW_EXIT_OK;
}

int gw_cli_policy_store(int argc, char **argv)
{
    static const struct verb verbs[] = {{"set", policy_set}, {"delete", policy_delete}, {"list", policy_list}};
    return DISPATCH("policy-store", policy_help, verbs);
}

/* ---------------------------------------------------------------- audit */

static const char audit_help[] =
    "usage: sasgw audit <tail|verify> [options]\n\n"
    "  tail [-n N] [--json]  the last N records (default 20); --json prints them as stored\n"
    "  verify                checks the hash chain (edited, removed or reordered records) and, when\n"
    "                        a master key is available, that the record the vault anchored is intact\n" COMMON_HELP;

static char *audit_file(const struct args *a)
{
    const char *p = audit_path_of(a);
    return p != NULL ? sg_strdup(p) : vault_audit_default_path(vault_path_of(a));
}

static int audit_tail(int argc, char **argv)
{
    static const gw_arg_t spec[] = {FLAG("--json"), VALUE("-n"), VAULT_OPTS};
    struct args a;
    char err[ERRLEN], **lines;
    size_t count, n = 20;
    int rc = parse_args(&a, "audit tail", argc, argv, spec, 0, 0, audit_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    const char *ns = opt(&a, "-n");
    if (ns != NULL) {
        char *end;
        unsigned long v = strtoul(ns, &end, 10);
        if (*ns == '\0' || *end != '\0' || v > 1000000)
            return usage_error(&a, "-n takes a number of records");
        n = v;
    }
    char *path = audit_file(&a);
    rc = vault_audit_tail(path, n, &lines, &count, err, sizeof(err));
    free(path);
    if (rc != 0)
        return refuse(&a, err);
    for (size_t i = 0; i < count; i++) {
        if (has(&a, "--json")) {
            printf("%s\n", lines[i]);
            continue;
        }
        json_error_t jerr;
        json_t *o = json_loads(lines[i], 0, &jerr);
        if (o == NULL) {
            printf("(unreadable record) %s\n", lines[i]);
            continue;
        }
        printf("%s  #%lld  %-10s %-20s %-8s %s", json_string_value(json_object_get(o, "ts")),
               (long long)json_integer_value(json_object_get(o, "seq")), json_string_value(json_object_get(o, "principal")),
               json_string_value(json_object_get(o, "op")), json_string_value(json_object_get(o, "result")),
               json_string_value(json_object_get(o, "object")));
        static const char *extra[] = {"client", "request_id", "token_id", "reason"};
        for (size_t k = 0; k < 4; k++) {
            const char *s = json_string_value(json_object_get(o, extra[k]));
            if (s != NULL)
                printf("  %s=%s", extra[k], s);
        }
        printf("\n");
        json_decref(o);
    }
    vault_audit_lines_free(lines, count);
    return GW_EXIT_OK;
}

static int audit_verify(int argc, char **argv)
{
    static const gw_arg_t spec[] = {FLAG("--json"), VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    uint64_t records = 0, bad = 0;
    int rc = parse_args(&a, "audit verify", argc, argv, spec, 0, 0, audit_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    char *path = audit_file(&a);
    rc = vault_audit_verify(path, &records, &bad, err, sizeof(err));
    if (rc != 0) {
        char msg[ERRLEN + 256];
        snprintf(msg, sizeof(msg), "the audit log %s does not verify: %s", path, err);
        free(path);
        return refuse(&a, msg);
    }
    /* the anchor, when the vault can be opened */
    const char *anchor = "not checked (no master key or vault)";
    vault_keysource_t ks;
    if (resolve_key(&a, &ks, err) == 0) {
        vault_t *v = vault_open(vault_path_of(&a), &ks, path, NULL, err, sizeof(err));
        vault_keysource_wipe(&ks);
        if (v != NULL) {
            int arc = vault_audit_check_anchor(v, err, sizeof(err));
            vault_close(v);
            if (arc != 0) {
                char msg[ERRLEN + 256];
                snprintf(msg, sizeof(msg), "the audit log %s does not verify: %s", path, err);
                free(path);
                return refuse(&a, msg);
            }
            anchor = "intact";
        }
    }
    printf("audit log %s: %llu records, hash chain intact, vault anchor %s\n", path, (unsigned long long)records, anchor);
    free(path);
    return GW_EXIT_OK;
}

int gw_cli_audit(int argc, char **argv)
{
    static const struct verb verbs[] = {{"tail", audit_tail}, {"verify", audit_verify}};
    return DISPATCH("audit", audit_help, verbs);
}

/* ---------------------------------------------------------------- backup, restore */

static const char backup_help[] = "usage: sasgw backup FILE [options]\n\n"
                                  "Writes an encrypted, integrity-checked export of the whole vault to FILE (mode\n"
                                  "0600). It opens only with the vault's master key and restores only into the same\n"
                                  "vault (or where no vault exists).\n" COMMON_HELP;

static const char restore_help[] = "usage: sasgw restore FILE [options]\n\n"
                                   "Restores a backup made by 'sasgw backup' as a new generation of the vault; the\n"
                                   "current one is kept as <vault>.prev. A tampered backup or one of another vault\n"
                                   "is refused.\n" COMMON_HELP;

int gw_cli_backup(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    vault_t *v;
    int rc = parse_and_open(&a, "backup", argc, argv, spec, 1, 1, backup_help, &v);
    if (rc >= 0)
        return rc;
    rc = vault_backup(v, &cli_actor, a.pos[0], err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(&a, err);
    printf("backed up %s to %s\n", vault_path_of(&a), a.pos[0]);
    return GW_EXIT_OK;
}

int gw_cli_restore(int argc, char **argv)
{
    static const gw_arg_t spec[] = {VAULT_OPTS};
    struct args a;
    char err[ERRLEN];
    vault_keysource_t ks;
    int rc = parse_args(&a, "restore", argc, argv, spec, 1, 1, restore_help);
    if (rc != 0)
        return rc == 1 ? GW_EXIT_OK : GW_EXIT_USAGE;
    if (resolve_key(&a, &ks, err) != 0)
        return refuse(&a, err);
    rc = vault_restore(vault_path_of(&a), &ks, audit_path_of(&a), &cli_actor, a.pos[0], err, sizeof(err));
    vault_keysource_wipe(&ks);
    if (rc != 0)
        return refuse(&a, err);
    printf("restored %s from %s\n", vault_path_of(&a), a.pos[0]);
    return GW_EXIT_OK;
}

/* ---------------------------------------------------------------- for sas mint */

int gw_vault_account_keys(const char *vault_path, const char *master_key_file, const char *passphrase_file, const char *account,
                          const char *family, gw_cli_vault_key_t *out, size_t cap, size_t *n, char *err, size_t errlen)
{
    vault_keysource_t ks;
    vault_signing_key_t *keys = NULL;
    vault_account_info_t *list = NULL;
    size_t nkeys = 0, nlist = 0;
    int rc = -1, found = 0;
    *n = 0;
    if (vault_keysource_resolve(&ks, master_key_file, passphrase_file, err, errlen) != 0)
        return -1;
    const char *audit = getenv("SASGW_AUDIT_LOG");
    vault_t *v = vault_open(vault_path != NULL ? vault_path : vault_default_path(), &ks,
                            audit != NULL && *audit != '\0' ? audit : NULL, NULL, err, errlen);
    vault_keysource_wipe(&ks);
    if (v == NULL)
        return -1;
    /* the family: as asked, else the one the account's mode uses */
    vault_key_family_t fam = VAULT_KEYS_STORAGE;
    if (family != NULL) {
        fam = strcmp(family, "edge") == 0 ? VAULT_KEYS_EDGE : VAULT_KEYS_STORAGE;
    } else if (vault_account_list(v, &list, &nlist, err, errlen) == 0) {
        for (size_t i = 0; i < nlist; i++)
            if (strcmp(list[i].name, account) == 0 && list[i].mode == VAULT_MODE_RESIGN)
                fam = VAULT_KEYS_EDGE;
        vault_account_list_free(list, nlist);
    } else {
        vault_close(v);
        return -1;
    }
    found = vault_account_key_read_of(v, &cli_actor, account, fam, &keys, &nkeys, err, errlen);
    vault_close(v);
    if (found == 0)
        snprintf(err, errlen, "there is no account named '%s' in the vault", account);
    else if (found == 1 && nkeys == 0)
        snprintf(err, errlen, "account '%s' has no active %s key", account, fam == VAULT_KEYS_EDGE ? "edge" : "storage");
    else if (found == 1) {
        for (size_t i = 0; i < nkeys && *n < cap; i++) {
            sg_b64_encode(keys[i].key, keys[i].key_len, out[*n].b64);
            out[*n].slot = vault_slot_name(keys[i].slot);
            out[*n].version = keys[i].version;
            (*n)++;
        }
        rc = 0;
    }
    vault_signing_keys_free(keys, nkeys);
    return rc;
}
