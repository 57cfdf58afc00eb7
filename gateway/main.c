/*
 * main.c - the sasgw binary: dispatches to a subcommand (see cli.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"sas", gw_cli_sas, "mint, verify or inspect a shared access signature"},
    {"vault", gw_cli_vault, "create the encrypted vault, show its status, change its settings"},
    {"account", gw_cli_account, "storage accounts and their keys: add, list, rotate, import-key, retire"},
    {"secret", gw_cli_secret, "secrets: set, get, list, delete, recover, purge"},
    {"policy-store", gw_cli_policy_store, "stored access policies per container: set, delete, list"},
    {"audit", gw_cli_audit, "the audit trail: tail, verify"},
    {"backup", gw_cli_backup, "write an encrypted backup of the vault"},
    {"restore", gw_cli_restore, "restore the vault from a backup"},
    {"revoke", gw_cli_revoke, "revoke tokens: by id, by token, by principal, or by account and issue time"},
    {"serve", gw_cli_serve, "run the issuing API and the validating proxy"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: sasgw <command> [options]\n\n"
                 "A delegated-access token gateway for object storage.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %-14s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n'sasgw <command> --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return GW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return GW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sasgw: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return GW_EXIT_USAGE;
}
