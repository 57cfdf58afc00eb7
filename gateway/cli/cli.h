/*
 * cli.h - the subcommands of the sasgw binary. main() picks one by its first
 * argument and hands it the rest: argv[0] is the subcommand's own name.
 * Each returns the process exit code: 0 ok, 1 refused or invalid, 2 usage.
 */
#ifndef SASGW_GATEWAY_CLI_H
#define SASGW_GATEWAY_CLI_H

#include <stddef.h>

enum { GW_EXIT_OK = 0, GW_EXIT_REFUSED = 1, GW_EXIT_USAGE = 2 };

/* sasgw sas mint|verify|inspect (cli_sas.c) */
int gw_cli_sas(int argc, char **argv);

/* sasgw vault|account|secret|policy-store|audit|backup|restore (cli_vault.c) */
int gw_cli_vault(int argc, char **argv);
int gw_cli_account(int argc, char **argv);
int gw_cli_secret(int argc, char **argv);
int gw_cli_policy_store(int argc, char **argv);
int gw_cli_audit(int argc, char **argv);
int gw_cli_backup(int argc, char **argv);
int gw_cli_restore(int argc, char **argv);
/* One account key read from the vault for `sas`: its base64 (wipe it after use), slot and version. */
typedef struct st_gw_cli_vault_key_t {
    char b64[92];
    const char *slot; /* "key1", "key2", "edge1" or "edge2" */
    unsigned version;
} gw_cli_vault_key_t;
#define GW_CLI_MAX_VAULT_KEYS 8

/*
 * For `sas mint` and `sas verify` without --key: the active keys of account
 * from the vault, newest first in a slot, slot 1 before slot 2 (out[0] is the
 * one a mint signs with), at most cap of them. family: "edge" (edge1, edge2),
 * "storage" (key1, key2), or NULL for the family the account's mode in the
 * vault uses: edge keys for a resign account, else storage keys. vault_path
 * NULL: SASGW_VAULT or var/vault.db; the key files NULL: SASGW_MASTER_KEY /
 * SASGW_PASSPHRASE. The read is audited. Returns 0 with *n >= 1, or -1 with
 * err set (no vault, no account, no active key of that family).
 */
int gw_vault_account_keys(const char *vault_path, const char *master_key_file, const char *passphrase_file, const char *account,
                          const char *family, gw_cli_vault_key_t *out, size_t cap, size_t *n, char *err, size_t errlen);

/* sasgw sasdef set|get|list|delete: managed-storage SAS definitions (cli_sasdef.c) */
int gw_cli_sasdef(int argc, char **argv);

/* sasgw revoke (--token-id ID | --token SAS | --principal P | --account A ...) (cli_revoke.c) */
int gw_cli_revoke(int argc, char **argv);

/* sasgw serve -c conf/sasgw.yaml [--threads N] (cli_serve.c) */
int gw_cli_serve(int argc, char **argv);

#endif
