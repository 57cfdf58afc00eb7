/* fuzz_config.c - libFuzzer target for the server configuration loader (gateway/core/config.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sasgw/core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    gw_config_t *conf = gw_config_parse("fuzz.yaml", (const char *)data, size, err, sizeof(err));
    if (conf != NULL) {
        /* walk what a valid configuration exposes */
        for (size_t i = 0; i != conf->num_accounts; i++)
            if (gw_config_find_account(conf, conf->accounts[i].name, strlen(conf->accounts[i].name)) != conf->accounts + i)
                __builtin_trap();
        gw_config_free(conf);
    } else if (memchr(err, '\0', sizeof(err)) == NULL || strncmp(err, "fuzz.yaml:", 10) != 0) {
        __builtin_trap(); /* every error names the file */
    }
    return 0;
}
