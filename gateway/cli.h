/*
 * cli.h - the subcommands of the sasgw binary. main() picks one by its first
 * argument and hands it the rest: argv[0] is the subcommand's own name.
 * Each returns the process exit code: 0 ok, 1 refused or invalid, 2 usage.
 */
#ifndef SASGW_GATEWAY_CLI_H
#define SASGW_GATEWAY_CLI_H

enum { GW_EXIT_OK = 0, GW_EXIT_REFUSED = 1, GW_EXIT_USAGE = 2 };

/* sasgw sas mint|verify|inspect (cli_sas.c) */
int gw_cli_sas(int argc, char **argv);

/* sasgw serve -c conf/sasgw.yaml [--threads N] (cli_serve.c) */
int gw_cli_serve(int argc, char **argv);

#endif
