/*
 * sasgw/core/redis.h - a Redis client on an h2o event loop (hiredis's async API through
 * an adapter), with connect timeouts, automatic reconnection with backoff,
 * connection state callbacks, commands and SUBSCRIBE; plus a blocking
 * connection for command-line tools.
 *
 * A client belongs to the loop it was created on: every function and every
 * callback runs on that loop's thread. Create one client per worker thread
 * (a thread module, see server.h), and a second one for subscriptions: a
 * connection that subscribed accepts no other commands.
 *
 * Callbacks must not call gw_redis_free() on their own client; defer it.
 */
#ifndef SASGW_GATEWAY_REDIS_H
#define SASGW_GATEWAY_REDIS_H

#include <h2o.h>
#include <hiredis/hiredis.h>
#include <stdint.h>

#include "sasgw/core/config.h"

typedef struct st_gw_redis_t gw_redis_t;

typedef enum en_gw_redis_state_t {
    GW_REDIS_DISCONNECTED, /* waiting to reconnect (or gw_redis_connect() not called yet) */
    GW_REDIS_CONNECTING,   /* TCP connect or AUTH under way */
    GW_REDIS_CONNECTED     /* commands are accepted */
} gw_redis_state_t;

typedef struct st_gw_redis_options_t {
    const char *host; /* copied */
    uint16_t port;
    const char *password;        /* NULL: no AUTH; copied, wiped on free */
    uint64_t connect_timeout_ms; /* 0: 2000 */
    uint64_t command_timeout_ms; /* 0: 5000; a command without a reply by then drops the connection */
    uint64_t reconnect_min_ms;   /* 0: 100; the first retry waits this long, each next one twice as long */
    uint64_t reconnect_max_ms;   /* 0: 5000; the longest wait between retries */
} gw_redis_options_t;

/*
 * Called after a connection (and AUTH) succeeded, and after each reconnect:
 * the place to SUBSCRIBE again and to reload state that changed meanwhile.
 */
typedef void (*gw_redis_connect_cb)(gw_redis_t *client, void *data);
/*
 * Called when an established connection is lost (why says how: "Connection
 * reset by peer", "command timed out", ...), not for failed attempts. The
 * client reconnects by itself unless it is being freed.
 */
typedef void (*gw_redis_disconnect_cb)(gw_redis_t *client, const char *why, void *data);
/*
 * A reply. reply is NULL when the command failed (connection lost, timed out,
 * client freed); err then says why. An error reply from Redis is a reply of
 * type REDIS_REPLY_ERROR with err NULL. reply belongs to hiredis: copy what
 * you keep.
 */
typedef void (*gw_redis_reply_cb)(gw_redis_t *client, redisReply *reply, const char *err, void *data);

/* Creates a disconnected client on loop. */
gw_redis_t *gw_redis_create(h2o_evloop_t *loop, const gw_redis_options_t *options);
/* Options from the `redis:` section of the configuration (host, port; the caller reads password_file). */
void gw_redis_options_from_config(gw_redis_options_t *options, const gw_config_t *conf, const char *password);
/* Sets the state callbacks (either may be NULL). */
void gw_redis_set_callbacks(gw_redis_t *client, gw_redis_connect_cb on_connect, gw_redis_disconnect_cb on_disconnect, void *data);
/* Starts connecting; from now on the client reconnects whenever the connection is lost. */
void gw_redis_connect(gw_redis_t *client);
/*
 * Closes the connection and frees the client: pending commands and
 * subscriptions get their callback with reply NULL ("client closed"), the
 * disconnect callback is not called.
 */
void gw_redis_free(gw_redis_t *client);

gw_redis_state_t gw_redis_state(gw_redis_t *client);
/* The last connection error ("" if none), for logs and /readyz. */
const char *gw_redis_last_error(gw_redis_t *client);
/* How many connections were established so far (1 after the first connect, 2 after a reconnect, ...). */
uint64_t gw_redis_num_connects(gw_redis_t *client);

/*
 * Sends a command (hiredis format: "SET %s %b", key, value, len). cb (may be
 * NULL) is called exactly once, later, with the reply or a failure. Returns 0,
 * or -1 without calling cb when the client is not connected, the format is
 * bad, or the command is SUBSCRIBE, PSUBSCRIBE, MONITOR (use
 * gw_redis_subscribe()).
 */
int gw_redis_command(gw_redis_t *client, gw_redis_reply_cb cb, void *data, const char *format, ...);
/* As gw_redis_command(), with arguments as binary-safe strings. */
int gw_redis_command_argv(gw_redis_t *client, gw_redis_reply_cb cb, void *data, int argc, const char **argv, const size_t *argvlen);

/*
 * Subscribes to one channel. cb is called with the confirmation
 * (["subscribe", channel, count]), then with every ["message", channel,
 * payload], and last with ["unsubscribe", ...] after gw_redis_unsubscribe()
 * or with reply NULL when the connection is lost: subscriptions do not survive
 * a reconnect, subscribe again from the connect callback. Returns 0, or -1
 * (cb not called) when not connected.
 */
int gw_redis_subscribe(gw_redis_t *client, const char *channel, gw_redis_reply_cb cb, void *data);
int gw_redis_unsubscribe(gw_redis_t *client, const char *channel);

/*
 * Blocking helpers for command-line tools (`sasgw revoke`): connects to the
 * configured Redis within timeout_ms and authenticates with password (may be
 * NULL). Returns the context (redisFree() it), or NULL after writing why into
 * err.
 */
redisContext *gw_redis_connect_blocking(const char *host, uint16_t port, const char *password, uint64_t timeout_ms, char *err,
                                        size_t errlen);
/*
 * Reads a password file (the first line, without its line break) into a new
 * string (free with sg_free_secret_str()). Returns NULL after writing why into err.
 */
char *gw_redis_read_password_file(const char *path, char *err, size_t errlen);

#endif
