/*
 * sasgw/proxy.h - the proxy wing's public surface: registering the validating
 * reverse proxy on a server (DESIGN §5). The decision, the relay and the
 * HTTP/2 handler are private to gateway/proxy/.
 */
#ifndef SASGW_PROXY_H
#define SASGW_PROXY_H

#include <stddef.h>

#include "sasgw/core/app.h"
#include "sasgw/core/server.h"

/*
 * Registers the proxy on server (not started yet): the setup hook for
 * GW_SERVICE_PROXY (paths per account of the app's keyring that has a
 * backend), the per-thread state, the revocation subscriber (revocation.h)
 * with its readiness check "revocation" and metrics. A no-op returning 0 when
 * the configuration has no `proxy:` section. Returns 0, or -1 after writing
 * why into err.
 */
int gw_proxy_setup(gw_server_t *server, gw_app_t *app, char *err, size_t errlen);
#endif
