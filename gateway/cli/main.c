/*
 * main.c - the sasgw binary: turns core dumps off, then dispatches to a
 * subcommand (see cli.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sasgw/common.h"

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
    {"sasdef", gw_cli_sasdef, "Key Vault managed-storage SAS definitions: set, get, list, delete"},
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

/*
 * Every command may hold keys or secrets (serve and the vault commands the
 * vault's keys, `sas mint --key` a key, `revoke` a Redis password), so every
 * one starts non-dumpable with RLIMIT_CORE 0: a crash leaves no core that
 * holds them.
 */
int main(int argc, char **argv)
{
    char err[256];
    if (sg_process_harden(err, sizeof(err)) != 0) {
        fprintf(stderr, "sasgw: %s\n", err);
        return GW_EXIT_REFUSED;
    }
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
