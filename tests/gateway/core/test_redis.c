/*
 * Tests gateway/core/redis.c against a real redis-server on a free port: connect,
 * commands, subscribe + publish, the disconnect callback when the server dies,
 * reconnection when it comes back, and the blocking helper.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sasgw/core/redis.h"
#include "testutil.h"

struct state {
    h2o_evloop_t *loop;
    uint16_t port;
    pid_t redis;
    char dir[64];
    int connects, disconnects;
    char last_why[160];
    int replies, failures;
    char last_reply[256];
    int messages;
    char last_message[256];
    int sub_ended;
};

static struct state st;

static void run_until(int *counter, int target, int timeout_ms)
{
    uint64_t deadline = tu_now_ms() + (uint64_t)timeout_ms;
    while (*counter < target && tu_now_ms() < deadline)
        h2o_evloop_run(st.loop, 50);
}

static void on_connect(gw_redis_t *client, void *data)
{
    st.connects++;
}

static void on_disconnect(gw_redis_t *client, const char *why, void *data)
{
    st.disconnects++;
    snprintf(st.last_why, sizeof(st.last_why), "%s", why);
}

static void on_reply(gw_redis_t *client, redisReply *reply, const char *err, void *data)
{
    if (reply == NULL) {
        st.failures++;
        return;
    }
    st.replies++;
    snprintf(st.last_reply, sizeof(st.last_reply), "%d:%s:%lld", reply->type, reply->str != NULL ? reply->str : "", reply->integer);
}

static void on_message(gw_redis_t *client, redisReply *reply, const char *err, void *data)
{
    if (reply == NULL) {
        st.sub_ended++;
        return;
    }
    assert_int_equal(reply->type, REDIS_REPLY_ARRAY);
    if (strcmp(reply->element[0]->str, "message") == 0) {
        st.messages++;
        snprintf(st.last_message, sizeof(st.last_message), "%s=%s", reply->element[1]->str, reply->element[2]->str);
    } else if (strcmp(reply->element[0]->str, "unsubscribe") == 0) {
        st.sub_ended++;
    }
}

static int setup(void **state)
{
    st.loop = h2o_evloop_create();
    st.port = tu_free_port();
    if ((st.redis = tu_start_redis(st.port, st.dir)) < 0)
        fail_msg("cannot start redis-server");
    return 0;
}

static int teardown(void **state)
{
    tu_stop_child(st.redis, st.dir);
    h2o_evloop_run(st.loop, 0);
    h2o_evloop_destroy(st.loop);
    return 0;
}

static gw_redis_t *new_client(void)
{
    gw_redis_options_t options = {.host = "127.0.0.1", .port = st.port, .reconnect_min_ms = 50, .reconnect_max_ms = 200};
    gw_redis_t *client = gw_redis_create(st.loop, &options);
    gw_redis_set_callbacks(client, on_connect, on_disconnect, NULL);
    return client;
}

static void commands(void **state)
{
    gw_redis_t *client = new_client();
    st.connects = 0;
    assert_int_equal(gw_redis_command(client, on_reply, NULL, "PING"), -1); /* not connected yet */
    gw_redis_connect(client);
    run_until(&st.connects, 1, 3000);
    assert_int_equal(st.connects, 1);
    assert_int_equal(gw_redis_state(client), GW_REDIS_CONNECTED);

    st.replies = 0;
    assert_int_equal(gw_redis_command(client, on_reply, NULL, "SET %s %b", "k", "v\0w", (size_t)3), 0);
    assert_int_equal(gw_redis_command(client, on_reply, NULL, "INCRBY n %d", 41), 0);
    const char *argv[] = {"INCR", "n"};
    assert_int_equal(gw_redis_command_argv(client, on_reply, NULL, 2, argv, NULL), 0);
    run_until(&st.replies, 3, 3000);
    assert_int_equal(st.replies, 3);
    assert_string_equal(st.last_reply, "3::42");
    assert_int_equal(gw_redis_command(client, on_reply, NULL, "SUBSCRIBE x"), -1);
    assert_int_equal(gw_redis_command(client, on_reply, NULL, "BOGUS"), 0);
    run_until(&st.replies, 4, 3000);
    assert_int_equal(st.last_reply[0], '0' + REDIS_REPLY_ERROR);

    /* freeing with a command in flight fails it */
    st.failures = 0;
    assert_int_equal(gw_redis_command(client, on_reply, NULL, "PING"), 0);
    gw_redis_free(client);
    assert_int_equal(st.failures, 1);
}

static void subscriptions(void **state)
{
    gw_redis_t *sub = new_client(), *pub = new_client();
    st.connects = 0;
    gw_redis_connect(sub);
    gw_redis_connect(pub);
    run_until(&st.connects, 2, 3000);
    assert_int_equal(st.connects, 2);

    st.replies = 0;
    assert_int_equal(gw_redis_subscribe(sub, "sasgw:test", on_message, NULL), 0);
    assert_int_equal(gw_redis_subscribe(sub, "sasgw:test", on_message, NULL), -1);
    /* PUBLISH replies with the number of receivers: wait until it is 1 */
    for (int i = 0; i != 50 && strcmp(st.last_reply, "3::1") != 0; i++) {
        int target = st.replies + 1;
        gw_redis_command(pub, on_reply, NULL, "PUBLISH sasgw:test hello%d", i);
        run_until(&st.replies, target, 3000);
    }
    assert_string_equal(st.last_reply, "3::1");
    run_until(&st.messages, 1, 3000);
    assert_true(st.messages >= 1);
    assert_non_null(strstr(st.last_message, "sasgw:test=hello"));

    assert_int_equal(gw_redis_unsubscribe(sub, "sasgw:test"), 0);
    run_until(&st.sub_ended, 1, 3000);
    assert_int_equal(st.sub_ended, 1);

    /* a subscription still open when the client goes ends with a NULL reply */
    assert_int_equal(gw_redis_subscribe(sub, "sasgw:other", on_message, NULL), 0);
    gw_redis_free(sub);
    assert_int_equal(st.sub_ended, 2);
    gw_redis_free(pub);
}

static void reconnects(void **state)
{
    gw_redis_t *client = new_client();
    st.connects = st.disconnects = st.sub_ended = 0;
    gw_redis_connect(client);
    run_until(&st.connects, 1, 3000);
    assert_int_equal(st.connects, 1);
    assert_int_equal(gw_redis_subscribe(client, "c", on_message, NULL), 0);

    /* the server dies: the disconnect callback fires, the subscription ends */
    tu_stop_child(st.redis, NULL);
    run_until(&st.disconnects, 1, 3000);
    assert_int_equal(st.disconnects, 1);
    assert_int_equal(st.sub_ended, 1);
    assert_int_not_equal(gw_redis_state(client), GW_REDIS_CONNECTED);
    assert_int_equal(gw_redis_command(client, on_reply, NULL, "PING"), -1);
    /* retries fail quietly while it is down */
    for (int i = 0; i != 10; i++)
        h2o_evloop_run(st.loop, 50);
    assert_int_equal(st.connects, 1);
    assert_string_not_equal(gw_redis_last_error(client), "");

    /* back on the same port: reconnected */
    char olddir[64];
    memcpy(olddir, st.dir, sizeof(olddir));
    if ((st.redis = tu_start_redis(st.port, st.dir)) < 0)
        fail_msg("cannot restart redis-server");
    tu_stop_child(-1, olddir);
    run_until(&st.connects, 2, 5000);
    assert_int_equal(st.connects, 2);
    assert_int_equal(gw_redis_num_connects(client), 2);
    st.replies = 0;
    assert_int_equal(gw_redis_command(client, on_reply, NULL, "PING"), 0);
    run_until(&st.replies, 1, 3000);
    assert_string_equal(st.last_reply, "5:PONG:0");
    gw_redis_free(client);
}

static void times_out_connecting(void **state)
{
    /* 192.0.2.1 (TEST-NET-1) is not routed: the connect hangs until our timeout */
    gw_redis_options_t options = {.host = "192.0.2.1", .port = 6379, .connect_timeout_ms = 100, .reconnect_min_ms = 1000};
    gw_redis_t *client = gw_redis_create(st.loop, &options);
    gw_redis_connect(client);
    int dummy = 0;
    run_until(&dummy, 1, 400);
    assert_int_not_equal(gw_redis_state(client), GW_REDIS_CONNECTED);
    assert_non_null(gw_redis_last_error(client));
    assert_string_not_equal(gw_redis_last_error(client), "");
    gw_redis_free(client);
}

static void blocking_helper(void **state)
{
    char err[256];
    redisContext *c = gw_redis_connect_blocking("127.0.0.1", st.port, NULL, 1000, err, sizeof(err));
    if (c == NULL)
        fail_msg("%s", err);
    redisReply *reply = redisCommand(c, "PING");
    assert_string_equal(reply->str, "PONG");
    freeReplyObject(reply);
    redisFree(c);
    assert_null(gw_redis_connect_blocking("127.0.0.1", st.port, "wrong", 1000, err, sizeof(err)));
    assert_non_null(strstr(err, "refused the password"));
    assert_null(gw_redis_connect_blocking("127.0.0.1", tu_free_port(), NULL, 1000, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot connect to Redis at 127.0.0.1:"));

    char path[] = "/tmp/sasgw-pass-XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "s3cret\nignored\n", 15), 15);
    close(fd);
    char *password = gw_redis_read_password_file(path, err, sizeof(err));
    assert_string_equal(password, "s3cret");
    free(password);
    unlink(path);
    assert_null(gw_redis_read_password_file(path, err, sizeof(err)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commands),        cmocka_unit_test(subscriptions),
        cmocka_unit_test(reconnects),      cmocka_unit_test(times_out_connecting),
        cmocka_unit_test(blocking_helper),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
