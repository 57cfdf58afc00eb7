/* cli_sas.c - placeholder until the signer lands; replaced by the real 'sasgw sas'. */
#include <stdio.h>

#include "cli.h"

int gw_cli_sas(int argc, char **argv)
{
    fprintf(stderr, "sasgw sas: not built yet\n");
    return GW_EXIT_USAGE;
}
