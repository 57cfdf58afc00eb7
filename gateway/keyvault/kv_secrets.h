/*
 * kv_secrets.h - the secrets operations of the Key Vault API (kv_secrets.c),
 * called by the router once the request is authenticated and parsed.
 */
#ifndef SASGW_GATEWAY_KV_SECRETS_H
#define SASGW_GATEWAY_KV_SECRETS_H

#include "kv_internal.h"
#include "kv_parse.h"

/* Serves route (any op but KV_OP_STORAGE and KV_OP_NONE): authorizes, acts, audits, answers. */
void kv_secrets_serve(kv_ctx_t *ctx, const kv_route_t *route, const kv_query_t *query);

#endif
