/*
 * cli_redis.c - where command-line tools find Redis, and a blocking PUBLISH
 * (cli_redis.h).
 */
#include "cli_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"
#include "sasgw/core/redis.h"

/* Splits "host:port" (or "[v6]:port") into host (cap bytes) and port. 0 or -1. */
static int parse_hostport(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0')
        return -1;
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= cap)
        return -1;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || p == 0 || p > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return 0;
}

int gw_cli_redis_resolve(gw_cli_redis_t *t, const char *addr, const gw_config_t *conf, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->host, sizeof(t->host), "127.0.0.1");
    t->port = GW_CONFIG_DEFAULT_REDIS_PORT;
    if (conf != NULL) {
        snprintf(t->host, sizeof(t->host), "%s", conf->redis.host);
        t->port = conf->redis.port;
        if (conf->redis.password_file != NULL &&
            (t->password = gw_redis_read_password_file(conf->redis.password_file, err, errlen)) == NULL)
            return GW_CLI_REDIS_BAD_PASSWORD_FILE;
    }
    if (addr != NULL && parse_hostport(addr, t->host, sizeof(t->host), &t->port) != 0) {
        snprintf(err, errlen, "--redis must be HOST:PORT");
        return GW_CLI_REDIS_BAD_ADDRESS;
    }
    return GW_CLI_REDIS_OK;
}

void gw_cli_redis_clear(gw_cli_redis_t *t)
{
    sg_free_secret_str(t->password);
    t->password = NULL;
}

redisContext *gw_cli_redis_connect(const gw_cli_redis_t *t, uint64_t timeout_ms, char *err, size_t errlen)
{
    return gw_redis_connect_blocking(t->host, t->port, t->password, timeout_ms, err, errlen);
}

int gw_cli_redis_publish(const gw_cli_redis_t *t, const char *channel, const char *payload, uint64_t timeout_ms,
                         long long *receivers, char *err, size_t errlen)
{
    redisContext *c = gw_cli_redis_connect(t, timeout_ms, err, errlen);
    if (c == NULL)
        return -1;
    redisReply *r = redisCommand(c, "PUBLISH %s %s", channel, payload);
    int rc = -1;
    if (r == NULL)
        snprintf(err, errlen, "Redis at %s:%u did not answer PUBLISH: %s", t->host, t->port, c->errstr);
    else if (r->type != REDIS_REPLY_INTEGER)
        snprintf(err, errlen, "Redis at %s:%u refused PUBLISH: %s", t->host, t->port,
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else {
        if (receivers != NULL)
            *receivers = r->integer;
        rc = 0;
    }
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return rc;
}
