/*
 * cli_redis.h - how a command-line tool finds and talks to Redis, in one
 * place for `sasgw revoke` and the account commands that announce key
 * changes (`account rotate|import-key|retire`).
 *
 * Where: --redis HOST:PORT (or [v6]:PORT) when given, else the `redis:`
 * section of the server configuration given with -c (its host, port and
 * password_file), else 127.0.0.1:6379 without a password.
 */
#ifndef SASGW_GATEWAY_CLI_REDIS_H
#define SASGW_GATEWAY_CLI_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "sasgw/core/config.h"

typedef struct st_gw_cli_redis_t {
    char host[256];
    uint16_t port;
    char *password; /* NULL: no AUTH; wiped by gw_cli_redis_clear() */
} gw_cli_redis_t;

enum { GW_CLI_REDIS_OK = 0, GW_CLI_REDIS_BAD_ADDRESS = -1, GW_CLI_REDIS_BAD_PASSWORD_FILE = -2 };

/*
 * Fills t from addr (the --redis value, or NULL) and conf (the loaded -c
 * configuration, or NULL), as the header says. Returns GW_CLI_REDIS_OK, or
 * GW_CLI_REDIS_BAD_ADDRESS (addr is not HOST:PORT: a usage error) or
 * GW_CLI_REDIS_BAD_PASSWORD_FILE (the configured password file cannot be
 * read) with a sentence in err. Clear t afterwards in every case.
 */
int gw_cli_redis_resolve(gw_cli_redis_t *t, const char *addr, const gw_config_t *conf, char *err, size_t errlen);
/* Wipes and frees the password. */
void gw_cli_redis_clear(gw_cli_redis_t *t);
/* Connects (and authenticates) within timeout_ms. Returns the context (redisFree() it), or NULL with err set. */
redisContext *gw_cli_redis_connect(const gw_cli_redis_t *t, uint64_t timeout_ms, char *err, size_t errlen);
/*
 * Publishes payload on channel: connects within timeout_ms, PUBLISH, closes.
 * *receivers (may be NULL) gets how many subscribers Redis delivered it to.
 * Returns 0, or -1 with a sentence naming the Redis address in err.
 */
int gw_cli_redis_publish(const gw_cli_redis_t *t, const char *channel, const char *payload, uint64_t timeout_ms,
                         long long *receivers, char *err, size_t errlen);

#endif
