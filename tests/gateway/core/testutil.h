/*
 * testutil.h - helpers for the gateway tests: free loopback ports, a tiny
 * blocking HTTP/1.1 client, and child processes (redis-server).
 */
#ifndef SASGW_TESTS_GATEWAY_TESTUTIL_H
#define SASGW_TESTS_GATEWAY_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
uint16_t tu_free_port(void);

struct tu_response {
    int status;
    char headers[4096]; /* the raw header block, lower-cased names */
    char body[65536];
    size_t body_len;
};

/*
 * Sends one request (Connection: close) to 127.0.0.1:port and reads the whole
 * response. body may be NULL. Returns 0, or -1 on a connection failure.
 */
int tu_http(uint16_t port, const char *method, const char *path, const char *body, struct tu_response *res);
/* The value of a response header (name in lower case), copied into buf; NULL when absent. */
const char *tu_header(const struct tu_response *res, const char *name, char *buf, size_t buflen);

/* Waits up to timeout_ms for something to accept on 127.0.0.1:port. Returns 0 or -1. */
int tu_wait_port(uint16_t port, int timeout_ms);

/* Starts redis-server on port with its own temporary directory (returned in dir, at least 64 bytes). Returns its pid, or -1. */
pid_t tu_start_redis(uint16_t port, char *dir);
/* Kills (SIGKILL) and reaps the child; removes dir when not NULL. */
void tu_stop_child(pid_t pid, const char *dir);

/* Milliseconds from a monotonic clock. */
uint64_t tu_now_ms(void);

#endif
