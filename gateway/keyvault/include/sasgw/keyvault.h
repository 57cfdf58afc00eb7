/*
 * sasgw/keyvault.h - the Key Vault-compatible secrets API (DESIGN §4): Key
 * Vault's REST shapes for secrets on sasgw's vault, its 401 bearer challenge,
 * JWT bearer auth with the vault's audience, data actions from policy.yaml.
 * It is served on its own service (`keyvault:` in sasgw.yaml, normally TLS),
 * so that its paths (/secrets, /deletedsecrets, /storage) are Key Vault's own.
 */
#ifndef SASGW_GATEWAY_KEYVAULT_H
#define SASGW_GATEWAY_KEYVAULT_H

#include "sasgw/core/app.h"
#include "sasgw/core/server.h"

/*
 * Registers the Key Vault API on the keyvault service of server (a setup
 * hook taking "/" of that service). conf->keyvault must be enabled; server
 * and app must outlive the server run. Returns 0, or -1 when it cannot.
 */
int gw_keyvault_register(gw_server_t *server, gw_app_t *app);

#endif
