/*
 * redis.c - hiredis's async API driven by an h2o evloop (redis.h).
 *
 * The adapter wraps hiredis's file descriptor in an h2o socket created with
 * H2O_SOCKET_FLAG_DONT_READ, so h2o only reports readiness and hiredis does
 * the I/O. Around it sits a small state machine: DISCONNECTED -> CONNECTING
 * (TCP connect, then AUTH when a password is set; bounded by the connect
 * timeout) -> CONNECTED, and back to DISCONNECTED with a retry after a delay
 * that doubles up to reconnect_max_ms.
 *
 * hiredis owns a redisAsyncContext until it reports the end (connect failure
 * or disconnect); when we end a connection ourselves (timeouts, bad AUTH,
 * gw_redis_free) we first detach the context (ac->data = NULL) so that its
 * callbacks no longer touch the client's state, then free it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <hiredis/async.h>

#include "sasgw/common.h"
#include "sasgw/core/redis.h"

struct adapter {
    redisAsyncContext *ac;
    h2o_socket_t *sock;
};

struct command {
    gw_redis_t *client;
    gw_redis_reply_cb cb;
    void *data;
    h2o_timeout_entry_t timeout;
    char *channel;           /* subscriptions only */
    h2o_linklist_t sub_link; /* in client->subscriptions */
};

struct st_gw_redis_t {
    h2o_evloop_t *loop;
    char *host;
    uint16_t port;
    char *password;
    uint64_t reconnect_min_ms, reconnect_max_ms, next_delay_ms;
    redisAsyncContext *ac;
    gw_redis_state_t state;
    int closing;
    gw_redis_connect_cb on_connect;
    gw_redis_disconnect_cb on_disconnect;
    void *cb_data;
    h2o_timeout_t connect_timeout, command_timeout, reconnect_timeout;
    h2o_timeout_entry_t connect_entry, reconnect_entry;
    h2o_linklist_t subscriptions;
    const char *drop_reason; /* why we are ending the connection ourselves, for the callbacks of pending commands */
    char last_error[160];
    uint64_t num_connects;
};

static void start_connect(gw_redis_t *client);

/* the adapter */

static void on_sock_read(h2o_socket_t *sock, const char *err)
{
    struct adapter *adapter = sock->data;
    redisAsyncHandleRead(adapter->ac);
}

static void on_sock_write(h2o_socket_t *sock, const char *err)
{
    struct adapter *adapter = sock->data;
    redisAsyncHandleWrite(adapter->ac);
}

static void adapter_add_read(void *privdata)
{
    struct adapter *adapter = privdata;
    h2o_socket_read_start(adapter->sock, on_sock_read);
}

static void adapter_del_read(void *privdata)
{
    struct adapter *adapter = privdata;
    h2o_socket_read_stop(adapter->sock);
}

static void adapter_add_write(void *privdata)
{
    struct adapter *adapter = privdata;
    if (!h2o_socket_is_writing(adapter->sock))
        h2o_socket_notify_write(adapter->sock, on_sock_write);
}

static void adapter_del_write(void *privdata)
{
    /* h2o has no way to cancel a write notification; a spurious one finds nothing to write */
}

static void adapter_cleanup(void *privdata)
{
    struct adapter *adapter = privdata;
    h2o_socket_close(adapter->sock); /* closes the descriptor */
    adapter->ac->c.fd = -1;          /* so that hiredis does not close it a second time */
    free(adapter);
}

static void attach_adapter(redisAsyncContext *ac, h2o_evloop_t *loop)
{
    struct adapter *adapter = sg_calloc(1, sizeof(*adapter));
    adapter->ac = ac;
    adapter->sock = h2o_evloop_socket_create(loop, ac->c.fd, H2O_SOCKET_FLAG_DONT_READ);
    adapter->sock->data = adapter;
    ac->ev.addRead = adapter_add_read;
    ac->ev.delRead = adapter_del_read;
    ac->ev.addWrite = adapter_add_write;
    ac->ev.delWrite = adapter_del_write;
    ac->ev.cleanup = adapter_cleanup;
    ac->ev.data = adapter;
}

/* connection state */

static void set_error(gw_redis_t *client, const char *why)
{
    snprintf(client->last_error, sizeof(client->last_error), "%s", why);
}

static void schedule_reconnect(gw_redis_t *client)
{
    if (client->closing)
        return;
    h2o_timeout_unlink(&client->reconnect_entry);
    h2o_timeout_dispose(client->loop, &client->reconnect_timeout);
    h2o_timeout_init(client->loop, &client->reconnect_timeout, client->next_delay_ms);
    h2o_timeout_link(client->loop, &client->reconnect_timeout, &client->reconnect_entry);
    client->next_delay_ms *= 2;
    if (client->next_delay_ms > client->reconnect_max_ms)
        client->next_delay_ms = client->reconnect_max_ms;
}

/* The connection ended (its context is gone or going): report it if it was up, and retry later. */
static void connection_lost(gw_redis_t *client, const char *why)
{
    int was_connected = client->state == GW_REDIS_CONNECTED;
    client->ac = NULL;
    client->state = GW_REDIS_DISCONNECTED;
    h2o_timeout_unlink(&client->connect_entry);
    set_error(client, why);
    if (was_connected && client->on_disconnect != NULL && !client->closing)
        client->on_disconnect(client, why, client->cb_data);
    schedule_reconnect(client);
}

/* Ends the current connection ourselves. Pending commands fail with why. */
static void drop_connection(gw_redis_t *client, const char *why)
{
    redisAsyncContext *ac = client->ac;
    if (ac == NULL)
        return;
    ac->data = NULL;
    client->ac = NULL;
    client->drop_reason = why;
    redisAsyncFree(ac);
    client->drop_reason = NULL;
    connection_lost(client, why);
}

static void established(gw_redis_t *client)
{
    h2o_timeout_unlink(&client->connect_entry);
    client->state = GW_REDIS_CONNECTED;
    client->next_delay_ms = client->reconnect_min_ms;
    client->num_connects++;
    client->last_error[0] = '\0';
    if (client->on_connect != NULL)
        client->on_connect(client, client->cb_data);
}

static void on_auth(redisAsyncContext *ac, void *_reply, void *privdata)
{
    gw_redis_t *client = privdata;
    redisReply *reply = _reply;
    if (reply == NULL || ac->data == NULL || client->closing)
        return; /* the connection is going away; its end is handled elsewhere */
    if (reply->type == REDIS_REPLY_ERROR) {
        char why[160];
        snprintf(why, sizeof(why), "authentication failed: %.*s", (int)(reply->len > 100 ? 100 : reply->len), reply->str);
        /* inside hiredis's callback: disconnecting is the way out that hiredis allows here */
        ac->data = NULL;
        client->ac = NULL;
        redisAsyncDisconnect(ac);
        connection_lost(client, why);
        return;
    }
    established(client);
}

static void on_hiredis_connect(const redisAsyncContext *ac, int status)
{
    gw_redis_t *client = ac->data;
    if (client == NULL)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns */
        connection_lost(client, ac->errstr[0] != '\0' ? ac->errstr : "cannot connect");
        return;
    }
    if (client->password != NULL) {
        redisAsyncCommand(client->ac, on_auth, client, "AUTH %s", client->password);
        return;
    }
    established(client);
}

static void on_hiredis_disconnect(const redisAsyncContext *ac, int status)
{
    gw_redis_t *client = ac->data;
    if (client == NULL)
        return;
    connection_lost(client, status == REDIS_OK ? "connection closed" : ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    gw_redis_t *client = H2O_STRUCT_FROM_MEMBER(gw_redis_t, connect_entry, entry);
    drop_connection(client, "connect timed out");
}

static void on_reconnect_timer(h2o_timeout_entry_t *entry)
{
    gw_redis_t *client = H2O_STRUCT_FROM_MEMBER(gw_redis_t, reconnect_entry, entry);
    start_connect(client);
}

static void start_connect(gw_redis_t *client)
{
    redisAsyncContext *ac;
    if (client->closing || client->ac != NULL)
        return;
    if ((ac = redisAsyncConnect(client->host, client->port)) == NULL) {
        fprintf(stderr, "sasgw: out of memory\n");
        abort();
    }
    client->state = GW_REDIS_CONNECTING;
    if (ac->err) {
        /* refused at once, or a bad address */
        char why[160];
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        connection_lost(client, why);
        return;
    }
    ac->data = client;
    client->ac = ac;
    attach_adapter(ac, client->loop);
    redisAsyncSetConnectCallback(ac, on_hiredis_connect); /* also waits for the first write event */
    redisAsyncSetDisconnectCallback(ac, on_hiredis_disconnect);
    h2o_timeout_link(client->loop, &client->connect_timeout, &client->connect_entry);
}

/* public API */

gw_redis_t *gw_redis_create(h2o_evloop_t *loop, const gw_redis_options_t *options)
{
    gw_redis_t *client = sg_calloc(1, sizeof(*client));
    client->loop = loop;
    client->host = sg_strdup(options->host);
    client->port = options->port;
    client->password = options->password != NULL ? sg_strdup(options->password) : NULL;
    client->reconnect_min_ms = options->reconnect_min_ms != 0 ? options->reconnect_min_ms : 100;
    client->reconnect_max_ms = options->reconnect_max_ms != 0 ? options->reconnect_max_ms : 5000;
    if (client->reconnect_max_ms < client->reconnect_min_ms)
        client->reconnect_max_ms = client->reconnect_min_ms;
    client->next_delay_ms = client->reconnect_min_ms;
    client->state = GW_REDIS_DISCONNECTED;
    h2o_timeout_init(loop, &client->connect_timeout, options->connect_timeout_ms != 0 ? options->connect_timeout_ms : 2000);
    h2o_timeout_init(loop, &client->command_timeout, options->command_timeout_ms != 0 ? options->command_timeout_ms : 5000);
    h2o_timeout_init(loop, &client->reconnect_timeout, client->reconnect_min_ms);
    client->connect_entry.cb = on_connect_timeout;
    client->reconnect_entry.cb = on_reconnect_timer;
    h2o_linklist_init_anchor(&client->subscriptions);
    return client;
}

void gw_redis_options_from_config(gw_redis_options_t *options, const gw_config_t *conf, const char *password)
{
    memset(options, 0, sizeof(*options));
    options->host = conf->redis.host;
    options->port = conf->redis.port;
    options->password = password;
}

void gw_redis_set_callbacks(gw_redis_t *client, gw_redis_connect_cb on_connect, gw_redis_disconnect_cb on_disconnect, void *data)
{
    client->on_connect = on_connect;
    client->on_disconnect = on_disconnect;
    client->cb_data = data;
}

void gw_redis_connect(gw_redis_t *client)
{
    if (client->state == GW_REDIS_DISCONNECTED && !h2o_timeout_is_linked(&client->reconnect_entry))
        start_connect(client);
}

void gw_redis_free(gw_redis_t *client)
{
    if (client == NULL)
        return;
    client->closing = 1;
    h2o_timeout_unlink(&client->reconnect_entry);
    drop_connection(client, "client closed");
    h2o_timeout_unlink(&client->connect_entry);
    h2o_timeout_dispose(client->loop, &client->connect_timeout);
    h2o_timeout_dispose(client->loop, &client->command_timeout);
    h2o_timeout_dispose(client->loop, &client->reconnect_timeout);
    free(client->host);
    sg_free_secret_str(client->password);
    free(client);
}

gw_redis_state_t gw_redis_state(gw_redis_t *client)
{
    return client->state;
}

const char *gw_redis_last_error(gw_redis_t *client)
{
    return client->last_error;
}

uint64_t gw_redis_num_connects(gw_redis_t *client)
{
    return client->num_connects;
}

/* commands */

static void free_command(struct command *cmd)
{
    h2o_timeout_unlink(&cmd->timeout);
    if (h2o_linklist_is_linked(&cmd->sub_link))
        h2o_linklist_unlink(&cmd->sub_link);
    free(cmd->channel);
    free(cmd);
}

static void on_command_timeout(h2o_timeout_entry_t *entry)
{
    struct command *cmd = H2O_STRUCT_FROM_MEMBER(struct command, timeout, entry);
    drop_connection(cmd->client, "command timed out");
}

static void on_reply(redisAsyncContext *ac, void *_reply, void *privdata)
{
    struct command *cmd = privdata;
    redisReply *reply = _reply;
    gw_redis_t *client = cmd->client;
    const char *err = NULL;

    if (reply == NULL)
        err = client->drop_reason != NULL ? client->drop_reason : ac->errstr[0] != '\0' ? ac->errstr : "connection lost";
    if (cmd->channel == NULL) {
        h2o_timeout_unlink(&cmd->timeout);
        if (cmd->cb != NULL)
            cmd->cb(client, reply, err, cmd->data);
        free_command(cmd);
        return;
    }
    /* a subscription lives until its unsubscribe confirmation or the end of the connection */
    int last =
        reply == NULL || (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
                          reply->element[0]->type == REDIS_REPLY_STRING && strcasecmp(reply->element[0]->str, "unsubscribe") == 0);
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        last = 1;
    if (cmd->cb != NULL)
        cmd->cb(client, reply, err, cmd->data);
    if (last)
        free_command(cmd);
}

static struct command *new_command(gw_redis_t *client, gw_redis_reply_cb cb, void *data)
{
    struct command *cmd = sg_calloc(1, sizeof(*cmd));
    cmd->client = client;
    cmd->cb = cb;
    cmd->data = data;
    cmd->timeout.cb = on_command_timeout;
    return cmd;
}

/* The command's name is its first bulk string: "*N\r\n$L\r\nNAME\r\n...". */
static int is_forbidden_command(const char *formatted, size_t len)
{
    static const char *const names[] = {"subscribe", "psubscribe", "monitor", "unsubscribe", "punsubscribe"};
    const char *p = formatted, *end = formatted + len, *nl;
    for (int line = 0; line != 2; line++) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            return 1;
        p = nl + 1;
    }
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i]);
        if ((size_t)(end - p) >= n + 2 && strncasecmp(p, names[i], n) == 0 && p[n] == '\r')
            return 1;
    }
    return 0;
}

static int send_formatted(gw_redis_t *client, gw_redis_reply_cb cb, void *data, const char *formatted, size_t len)
{
    if (client->state != GW_REDIS_CONNECTED || is_forbidden_command(formatted, len))
        return -1;
    struct command *cmd = new_command(client, cb, data);
    if (redisAsyncFormattedCommand(client->ac, on_reply, cmd, formatted, len) != REDIS_OK) {
        free_command(cmd);
        return -1;
    }
    h2o_timeout_link(client->loop, &client->command_timeout, &cmd->timeout);
    return 0;
}

int gw_redis_command(gw_redis_t *client, gw_redis_reply_cb cb, void *data, const char *format, ...)
{
    char *formatted;
    va_list ap;
    va_start(ap, format);
    int len = redisvFormatCommand(&formatted, format, ap);
    va_end(ap);
    if (len <= 0)
        return -1;
    int ret = send_formatted(client, cb, data, formatted, (size_t)len);
    free(formatted);
    return ret;
}

int gw_redis_command_argv(gw_redis_t *client, gw_redis_reply_cb cb, void *data, int argc, const char **argv, const size_t *argvlen)
{
    char *formatted;
    int len = redisFormatCommandArgv(&formatted, argc, argv, argvlen);
    if (len <= 0)
        return -1;
    int ret = send_formatted(client, cb, data, formatted, (size_t)len);
    free(formatted);
    return ret;
}

int gw_redis_subscribe(gw_redis_t *client, const char *channel, gw_redis_reply_cb cb, void *data)
{
    if (client->state != GW_REDIS_CONNECTED)
        return -1;
    /* hiredis keeps one callback per channel: a second subscription would orphan the first */
    for (h2o_linklist_t *l = client->subscriptions.next; l != &client->subscriptions; l = l->next)
        if (strcmp(H2O_STRUCT_FROM_MEMBER(struct command, sub_link, l)->channel, channel) == 0)
            return -1;
    struct command *cmd = new_command(client, cb, data);
    cmd->channel = sg_strdup(channel);
    if (redisAsyncCommand(client->ac, on_reply, cmd, "SUBSCRIBE %s", channel) != REDIS_OK) {
        free_command(cmd);
        return -1;
    }
    h2o_linklist_insert(&client->subscriptions, &cmd->sub_link);
    return 0;
}

int gw_redis_unsubscribe(gw_redis_t *client, const char *channel)
{
    if (client->state != GW_REDIS_CONNECTED)
        return -1;
    return redisAsyncCommand(client->ac, NULL, NULL, "UNSUBSCRIBE %s", channel) == REDIS_OK ? 0 : -1;
}

/* blocking helpers */

redisContext *gw_redis_connect_blocking(const char *host, uint16_t port, const char *password, uint64_t timeout_ms, char *err,
                                        size_t errlen)
{
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL) {
        snprintf(err, errlen, "cannot connect to Redis at %s:%u: out of memory", host, port);
        return NULL;
    }
    if (c->err) {
        snprintf(err, errlen, "cannot connect to Redis at %s:%u: %s", host, port, c->errstr);
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (password != NULL) {
        redisReply *reply = redisCommand(c, "AUTH %s", password);
        int ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;
        if (!ok)
            snprintf(err, errlen, "Redis at %s:%u refused the password%s%s", host, port, reply != NULL ? ": " : "",
                     reply != NULL ? reply->str : "");
        freeReplyObject(reply);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

char *gw_redis_read_password_file(const char *path, char *err, size_t errlen)
{
    char buf[1024];
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open the Redis password file '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n");
    char *password = len != 0 ? sg_strndup(buf, len) : NULL;
    sg_wipe(buf, sizeof(buf));
    if (password == NULL)
        snprintf(err, errlen, "the Redis password file '%s' is empty", path);
    return password;
}
