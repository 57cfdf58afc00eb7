/*
 * kv_storage.c - managed-storage SAS definitions of the Key Vault API
 * (task 13b replaces this file). Until then nothing is a SAS definition.
 */
#include "kv_internal.h"

int kv_storage_route(kv_ctx_t *ctx, const char *path, size_t len)
{
    (void)ctx, (void)path, (void)len;
    return 0;
}

int kv_storage_secret_get(kv_ctx_t *ctx, const char *name, size_t len)
{
    (void)ctx, (void)name, (void)len;
    return 0;
}
