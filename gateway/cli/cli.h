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
/*
 * For `sas mint` without --key: the base64 of the newest active key of account
 * (key1 preferred) from the vault. vault_path NULL: SASGW_VAULT or var/vault.db;
 * the key files NULL: SASGW_MASTER_KEY / SASGW_PASSPHRASE. The read is audited.
 * b64_out needs 89 bytes (wipe it after use). Returns 0, or -1 with err set.
 */
int gw_vault_signing_key(const char *vault_path, const char *master_key_file, const char *passphrase_file, const char *account,
                         char *b64_out, size_t cap, char *err, size_t errlen);

/* sasgw sasdef set|get|list|delete: managed-storage SAS definitions (cli_sasdef.c) */
int gw_cli_sasdef(int argc, char **argv);

/* sasgw revoke (--token-id ID | --token SAS | --principal P | --account A ...) (cli_revoke.c) */
int gw_cli_revoke(int argc, char **argv);

/* sasgw serve -c conf/sasgw.yaml [--threads N] (cli_serve.c) */
int gw_cli_serve(int argc, char **argv);

#endif
