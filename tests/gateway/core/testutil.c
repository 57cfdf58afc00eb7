/* testutil.c - see testutil.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

uint64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sin;
}

uint16_t tu_free_port(void)
{
    struct sockaddr_in sin = loopback(0);
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        abort();
    close(fd);
    return ntohs(sin.sin_port);
}

static int connect_to(uint16_t port)
{
    struct sockaddr_in sin = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int tu_wait_port(uint16_t port, int timeout_ms)
{
    uint64_t deadline = tu_now_ms() + (uint64_t)timeout_ms;
    do {
        int fd = connect_to(port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        usleep(20000);
    } while (tu_now_ms() < deadline);
    return -1;
}

int tu_http(uint16_t port, const char *method, const char *path, const char *body, struct tu_response *res)
{
    char req[2048];
    static char raw[sizeof(res->headers) + sizeof(res->body) + 1];
    size_t len = 0;
    int fd = connect_to(port);
    if (fd < 0)
        return -1;
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, port, body != NULL ? strlen(body) : 0, body != NULL ? body : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    ssize_t r;
    while (len < sizeof(raw) - 1 && (r = read(fd, raw + len, sizeof(raw) - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    raw[len] = '\0';
    memset(res, 0, sizeof(*res));
    char *end = strstr(raw, "\r\n\r\n");
    if (end == NULL || sscanf(raw, "HTTP/1.%*d %d", &res->status) != 1)
        return -1;
    size_t hlen = (size_t)(end - raw) + 2;
    if (hlen >= sizeof(res->headers))
        hlen = sizeof(res->headers) - 1;
    memcpy(res->headers, raw, hlen);
    for (char *p = res->headers; *p != '\0'; p++) {
        char *colon = strchr(p, ':'), *eol = strstr(p, "\r\n");
        if (colon != NULL && eol != NULL && colon < eol)
            for (char *q = p; q != colon; q++)
                *q = (char)tolower((unsigned char)*q);
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    res->body_len = len - (size_t)(end + 4 - raw);
    memcpy(res->body, end + 4, res->body_len);
    res->body[res->body_len] = '\0';
    return 0;
}

const char *tu_header(const struct tu_response *res, const char *name, char *buf, size_t buflen)
{
    char pattern[128];
    snprintf(pattern, sizeof(pattern), "\r\n%s:", name);
    const char *p = strstr(res->headers, pattern);
    if (p == NULL)
        return NULL;
    p += strlen(pattern);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= buflen)
        n = buflen - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

pid_t tu_start_redis(uint16_t port, char *dir)
{
    strcpy(dir, "/tmp/sasgw-redis-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char portbuf[16];
        snprintf(portbuf, sizeof(portbuf), "%u", port);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", portbuf, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", dir, "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || tu_wait_port(port, 5000) != 0) {
        if (pid > 0)
            tu_stop_child(pid, NULL);
        return -1;
    }
    return pid;
}

void tu_stop_child(pid_t pid, const char *dir)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (dir != NULL && dir[0] != '\0') {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
}
