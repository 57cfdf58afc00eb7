/*
 * cli_sasdef.c - sasgw sasdef set|get|list|delete: Key Vault managed-storage
 * SAS definitions in the vault (vault.h), the objects behind the Key Vault
 * secret "{account}-{name}" and /v1/accounts/{account}/sas-definitions.
 * Exit codes 0 ok, 1 refused or invalid, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "sasgw/admin.h"
#include "cli_args.h"
#include "sasgw/common.h"
#include "sasgw/vault.h"

#define ERRLEN 1024

#define OPTS_VAULT                                                                                                                 \
    {"--vault", NULL, GW_ARG_VALUE}, {"--master-key-file", NULL, GW_ARG_VALUE}, {"--passphrase-file", NULL, GW_ARG_VALUE},         \
        {"--audit-log", NULL, GW_ARG_VALUE}, {"--json", NULL, GW_ARG_FLAG},                                                        \
    {                                                                                                                              \
        NULL, NULL, GW_ARG_FLAG                                                                                                    \
    }

static const char help[] =
    "usage: sasgw sasdef <set|get|list|delete> [options]\n\n"
    "  set ACCOUNT NAME --template-uri URI --sas-type service|account --validity DURATION\n"
    "      [--disabled] [--tag KEY=VALUE]...\n"
    "                     create or replace a SAS definition: reading the Key Vault secret\n"
    "                     ACCOUNT-NAME mints a fresh token shaped like the template's query\n"
    "                     (resource, sp, ss/srt, sip, spr), valid for DURATION (ISO 8601: PT1H, P1D; at most 7 days)\n"
    "  get ACCOUNT NAME   show one definition (with its template)\n"
    "  list ACCOUNT       list the account's definitions (without templates)\n"
    "  delete ACCOUNT NAME\n"
    "\ncommon options:\n"
    "  --json                   print JSON\n"
    "  --vault PATH             the vault file (env SASGW_VAULT; default var/vault.db)\n"
    "  --master-key-file PATH   master key: base64 of 32 bytes or 32 raw bytes, mode 0600 (or env SASGW_MASTER_KEY)\n"
    "  --passphrase-file PATH   a passphrase instead, stretched by scrypt (or env SASGW_PASSPHRASE)\n"
    "  --audit-log PATH         the audit log (env SASGW_AUDIT_LOG; default audit.log beside the vault)\n"
    "exit codes: 0 ok, 1 refused or invalid, 2 usage\n";

static const vault_actor_t cli_actor = {"cli", NULL, NULL};

/* Parses argv; prints help or the usage error. Returns -1 to go on, else the exit code. */
static int parse(gw_args_t *a, const char *cmd, const gw_arg_t *spec, int npos, int argc, char **argv)
{
    gw_args_err_t e = gw_args_parse(a, spec, npos, npos, argc, argv);
    switch (e) {
    case GW_ARGS_OK:
        return -1;
    case GW_ARGS_HELP:
        fputs(help, stdout);
        return GW_EXIT_OK;
    case GW_ARGS_E_MISSING:
        fprintf(stderr, "sasgw %s: missing argument (see 'sasgw %s --help').\n", cmd, cmd);
        break;
    case GW_ARGS_E_EXTRA:
        fprintf(stderr, "sasgw %s: unexpected argument '%s' (see 'sasgw %s --help').\n", cmd, a->bad, cmd);
        break;
    case GW_ARGS_E_NEEDS_VALUE:
        fprintf(stderr, "sasgw %s: option '%s' needs a value.\n", cmd, a->bad);
        break;
    default:
        fprintf(stderr, "sasgw %s: bad option '%.*s' (see 'sasgw %s --help').\n", cmd, (int)a->bad_len,
                a->bad != NULL ? a->bad : "", cmd);
        break;
    }
    return GW_EXIT_USAGE;
}

/* Prints "sasgw CMD: MESSAGE." and returns 1. */
static int refuse(const char *cmd, const char *msg)
{
    size_t n = strlen(msg);
    fprintf(stderr, "sasgw %s: %s%s\n", cmd, msg, n > 0 && msg[n - 1] == '.' ? "" : ".");
    return GW_EXIT_REFUSED;
}

/* Opens the vault the options name (SASGW_VAULT, var/vault.db by default). NULL after printing why. */
static vault_t *open_vault(const gw_args_t *a, const char *cmd)
{
    vault_keysource_t ks;
    char err[ERRLEN];
    if (vault_keysource_resolve(&ks, gw_args_value(a, "--master-key-file"), gw_args_value(a, "--passphrase-file"), err,
                                sizeof(err)) != 0) {
        refuse(cmd, err);
        return NULL;
    }
    const char *path = gw_args_value(a, "--vault"), *audit = gw_args_value(a, "--audit-log");
    if (path == NULL)
        path = vault_default_path();
    if (audit == NULL)
        audit = getenv("SASGW_AUDIT_LOG");
    vault_t *v = vault_open(path, &ks, audit != NULL && audit[0] != '\0' ? audit : NULL, NULL, err, sizeof(err));
    vault_keysource_wipe(&ks);
    if (v == NULL)
        refuse(cmd, err);
    return v;
}

static void print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(j);
}

static void print_text(const vault_sasdef_t *d, int with_template)
{
    char c[32], u[32];
    vault_time_format(d->created, c, sizeof(c));
    vault_time_format(d->updated, u, sizeof(u));
    printf("%s/%s  %s  validity %s  %s  created %s  updated %s\n", d->account, d->name,
           d->sas_type == VAULT_SASDEF_ACCOUNT ? "account" : "service", d->validity, d->enabled ? "enabled" : "disabled", c, u);
    if (with_template)
        printf("  template %s\n", d->template_uri);
}

static int cmd_set(int argc, char **argv)
{
    static const gw_arg_t spec[] = {{"--template-uri", NULL, GW_ARG_VALUE}, {"--sas-type", NULL, GW_ARG_VALUE},
                                    {"--validity", NULL, GW_ARG_VALUE},     {"--disabled", NULL, GW_ARG_FLAG},
                                    {"--tag", NULL, GW_ARG_REPEATED},       OPTS_VAULT};
    static const char cmd[] = "sasdef set";
    gw_args_t a;
    char err[ERRLEN];
    int rc = parse(&a, cmd, spec, 2, argc, argv);
    if (rc >= 0)
        return rc;
    const char *uri = gw_args_value(&a, "--template-uri"), *type = gw_args_value(&a, "--sas-type"),
               *validity = gw_args_value(&a, "--validity");
    if (uri == NULL || type == NULL || validity == NULL) {
        fprintf(stderr, "sasgw %s: --template-uri, --sas-type and --validity are required (see 'sasgw %s --help').\n", cmd, cmd);
        return GW_EXIT_USAGE;
    }
    if (strcmp(type, "service") != 0 && strcmp(type, "account") != 0) {
        fprintf(stderr, "sasgw %s: --sas-type is service or account (see 'sasgw %s --help').\n", cmd, cmd);
        return GW_EXIT_USAGE;
    }
    /* tags: KEY=VALUE, the key non-empty */
    vault_tag_t tags[16];
    char *copies[16];
    size_t ntags = 0, cursor = 0;
    const char *t;
    while ((t = gw_args_next(&a, "--tag", &cursor)) != NULL) {
        const char *eq = strchr(t, '=');
        if (eq == NULL || eq == t || ntags == 16) {
            for (size_t i = 0; i < ntags; i++)
                free(copies[i]);
            return refuse(cmd, ntags == 16 ? "at most 15 tags" : "--tag takes KEY=VALUE with a non-empty KEY");
        }
        copies[ntags] = sg_strdup(t);
        copies[ntags][eq - t] = '\0';
        tags[ntags] = (vault_tag_t){copies[ntags], copies[ntags] + (eq - t) + 1};
        ntags++;
    }
    vault_sasdef_input_t in = {.account = a.pos[0],
                               .name = a.pos[1],
                               .template_uri = uri,
                               .validity = validity,
                               .sas_type = strcmp(type, "account") == 0 ? VAULT_SASDEF_ACCOUNT : VAULT_SASDEF_SERVICE,
                               .enabled = !gw_args_has(&a, "--disabled"),
                               .ntags = ntags,
                               .tags = tags};
    vault_sasdef_t d;
    vault_t *v = open_vault(&a, cmd);
    if (v == NULL)
        rc = GW_EXIT_REFUSED;
    else if (vault_sasdef_put(v, &cli_actor, &in, &d, err, sizeof(err)) != 0)
        rc = refuse(cmd, err);
    else {
        if (gw_args_has(&a, "--json"))
            print_json(gw_admin_sasdef_json(&d, 1));
        else
            printf("SAS definition %s set on %s\n", d.name, d.account);
        vault_sasdef_dispose(&d);
        rc = GW_EXIT_OK;
    }
    vault_close(v);
    for (size_t i = 0; i < ntags; i++)
        free(copies[i]);
    return rc;
}

static int cmd_get(int argc, char **argv)
{
    static const gw_arg_t spec[] = {OPTS_VAULT};
    static const char cmd[] = "sasdef get";
    gw_args_t a;
    int rc = parse(&a, cmd, spec, 2, argc, argv);
    if (rc >= 0)
        return rc;
    vault_t *v = open_vault(&a, cmd);
    if (v == NULL)
        return GW_EXIT_REFUSED;
    vault_sasdef_t d;
    int found = vault_sasdef_get(v, a.pos[0], a.pos[1], &d);
    vault_close(v);
    if (!found) {
        char msg[160];
        snprintf(msg, sizeof(msg), "there is no SAS definition '%.64s' for account '%.24s'", a.pos[1], a.pos[0]);
        return refuse(cmd, msg);
    }
    if (gw_args_has(&a, "--json"))
        print_json(gw_admin_sasdef_json(&d, 1));
    else
        print_text(&d, 1);
    vault_sasdef_dispose(&d);
    return GW_EXIT_OK;
}

static int cmd_list(int argc, char **argv)
{
    static const gw_arg_t spec[] = {OPTS_VAULT};
    static const char cmd[] = "sasdef list";
    gw_args_t a;
    char err[ERRLEN];
    int rc = parse(&a, cmd, spec, 1, argc, argv);
    if (rc >= 0)
        return rc;
    vault_t *v = open_vault(&a, cmd);
    if (v == NULL)
        return GW_EXIT_REFUSED;
    vault_sasdef_t *list;
    size_t n;
    rc = vault_sasdef_list(v, a.pos[0], &list, &n, err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(cmd, err);
    if (gw_args_has(&a, "--json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, gw_admin_sasdef_json(&list[i], 0));
        print_json(arr);
    } else {
        for (size_t i = 0; i < n; i++)
            print_text(&list[i], 0);
    }
    vault_sasdef_list_free(list, n);
    return GW_EXIT_OK;
}

static int cmd_delete(int argc, char **argv)
{
    static const gw_arg_t spec[] = {OPTS_VAULT};
    static const char cmd[] = "sasdef delete";
    gw_args_t a;
    char err[ERRLEN];
    int rc = parse(&a, cmd, spec, 2, argc, argv);
    if (rc >= 0)
        return rc;
    vault_t *v = open_vault(&a, cmd);
    if (v == NULL)
        return GW_EXIT_REFUSED;
    rc = vault_sasdef_delete(v, &cli_actor, a.pos[0], a.pos[1], NULL, err, sizeof(err));
    vault_close(v);
    if (rc != 0)
        return refuse(cmd, err);
    if (gw_args_has(&a, "--json"))
        print_json(json_pack("{s:s,s:s,s:b}", "account", a.pos[0], "name", a.pos[1], "deleted", 1));
    else
        printf("SAS definition %s deleted from %s\n", a.pos[1], a.pos[0]);
    return GW_EXIT_OK;
}

int gw_cli_sasdef(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } verbs[] = {{"set", cmd_set}, {"get", cmd_get}, {"list", cmd_list}, {"delete", cmd_delete}};
    if (argc < 2) {
        fputs(help, stderr);
        return GW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, stdout);
        return GW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sasgw sasdef: unknown subcommand '%s' (see 'sasgw sasdef --help').\n", argv[1]);
    return GW_EXIT_USAGE;
}
