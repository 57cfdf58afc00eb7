/*
 * sasgw/admin.h - the admin API of the issuer service (DESIGN §4, issue 4):
 * accounts and their keys, stored access policies, secrets, revocations
 * (written to Redis as docs/redis.md describes), the audit tail and the
 * policy reload. Every route is guarded by an admin capability of the
 * caller's principal and writes an audit record, granted or refused.
 */
#ifndef SASGW_GATEWAY_ADMIN_API_H
#define SASGW_GATEWAY_ADMIN_API_H

#include <jansson.h>

#include "sasgw/core/server.h"
#include "sasgw/vault.h"

/* The application state (app.h); a repeated identical typedef is valid C11. */
typedef struct st_gw_app_t gw_app_t;

/*
 * Registers the admin routes on server's issuer service. app must outlive
 * the server. Call before gw_server_start(). Returns 0, or -1 when a route
 * could not be registered (a programming error).
 */
int gw_admin_api_register(gw_server_t *server, gw_app_t *app);

/*
 * A SAS definition as the admin API and `sasgw sasdef ... --json` show it:
 * {account, name, template_uri (with_template only: lists leave it out),
 * sas_type, validity_period, enabled, created, updated, tags}. New reference.
 */
json_t *gw_admin_sasdef_json(const vault_sasdef_t *d, int with_template);

#endif
