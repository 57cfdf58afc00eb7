/*
 * fuzz_backend.c - libFuzzer target for the backend URL parser (gateway/core/backend.c):
 * config files and the vault (account add --backend, the admin API) feed it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/core/backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when v lies inside s (NUL-terminated). */
static int inside(h2o_iovec_t v, const char *s)
{
    return v.base >= s && v.base + v.len <= s + strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';
    gw_backend_t b, copy;
    const char *why = NULL;
    if (gw_backend_parse(&b, url, &why) == 0) {
        /* what the relay writes into a request line and a Host header: no byte that could end or split them */
        for (const char *s = b.authority; *s != '\0'; s++)
            if (*s <= ' ' || *s >= 0x7f || *s == '/' || *s == '@')
                __builtin_trap();
        for (const char *s = b.path; *s != '\0'; s++)
            if (*s <= ' ' || *s >= 0x7f || *s == '?' || *s == '#')
                __builtin_trap();
        if ((b.path[0] != '\0' && b.path[0] != '/') || (b.path[0] != '\0' && b.path[strlen(b.path) - 1] == '/') || b.port == 0 ||
            b.host[0] == '\0' || strstr(b.authority, b.host) == NULL || h2o_url_get_port(&b.url) != b.port)
            __builtin_trap();
        gw_backend_copy(&copy, &b);
        gw_backend_dispose(&b);
        if (!inside(copy.url.authority, copy.authority) || !inside(copy.url.host, copy.authority))
            __builtin_trap();
        gw_backend_dispose(&copy);
    } else if (why == NULL || b.host != NULL) {
        __builtin_trap();
    }
    free(url);
    return 0;
}
