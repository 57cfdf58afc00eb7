/*
 * sasgw/issue.h - the issuing API (DESIGN §4): POST /v1/sas (a service SAS for
 * a blob, snapshot, version or container) and POST /v1/sas/account (an
 * account SAS), on the issuer service.
 *
 * Each mint: authenticates the caller (app.h, 401), reads the body strictly
 * (sas_request.h, 400/413), asks the policy (403 naming the rule), signs with
 * the account's signing key from the keyring (404 when the vault has no such
 * account), writes the audit record through the app's audit thread and
 * answers 201 {token, url, token_id, expires_on, key} only once the record is
 * durable (500 when it cannot be written: the token never leaves), then
 * records the token in Redis's issuance index (docs/redis.md) without
 * waiting. Refusals are audited as op "sas.refuse" with the reason.
 *
 * Metrics: sasgw_mints_total{result} (ok, invalid, denied, not_found, error),
 * sasgw_issuance_index_failures_total.
 */
#ifndef SASGW_GATEWAY_ISSUE_API_H
#define SASGW_GATEWAY_ISSUE_API_H

#include "sasgw/core/app.h"
#include "sasgw/core/server.h"

/* Registers the two routes on server's issuer service. app must outlive the server. Before gw_server_start(). Returns 0 or -1. */
int gw_issue_api_register(gw_server_t *server, gw_app_t *app);

#endif
