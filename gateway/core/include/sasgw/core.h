/*
 * sasgw/core.h - the gateway core's public surface (DESIGN §2): listeners and
 * workers, JSON responses and bounded bodies, configuration, metrics, the Redis
 * client, TLS contexts, the app state and the keyring. Each part has its own
 * sub-header under sasgw/core/; include the one you use.
 */
#ifndef SASGW_CORE_H
#define SASGW_CORE_H

#include "sasgw/core/app.h"
#include "sasgw/core/backend.h"
#include "sasgw/core/client_addr.h"
#include "sasgw/core/config.h"
#include "sasgw/core/http.h"
#include "sasgw/core/keyring.h"
#include "sasgw/core/keyring_live.h"
#include "sasgw/core/metrics.h"
#include "sasgw/core/redis.h"
#include "sasgw/core/server.h"
#include "sasgw/core/tls.h"

#endif
