/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sasgw/common.h"

char *vt_mkdtemp(void)
{
    char *p = sg_strdup("/tmp/sasgw-vault-test-XXXXXX");
    if (mkdtemp(p) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return p;
}

void vt_rmtree(char *path)
{
    if (path == NULL)
        return;
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", path);
    free(path);
}

char *vt_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = sg_alloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
    *buf = sg_realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

int vt_run(struct vt_result *r, const void *in, size_t inlen, const char *arg, ...)
{
    const char *argv[64];
    int n = 0;
    va_list ap;
    const char *bin = getenv("SASGW_BINARY");
    if (bin == NULL) {
        fprintf(stderr, "SASGW_BINARY is not set\n");
        abort();
    }
    argv[n++] = bin;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 63; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;

    int pin[2], pout[2], perr[2];
    if (pipe(pin) != 0 || pipe(pout) != 0 || pipe(perr) != 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        close(perr[0]);
        close(perr[1]);
        execv(bin, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (in != NULL && inlen > 0) {
        /* the child may refuse before reading everything */
        signal(SIGPIPE, SIG_IGN);
        size_t off = 0;
        while (off < inlen) {
            ssize_t w = write(pin[1], (const char *)in + off, inlen - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    }
    close(pin[1]);
    char *out = NULL, *err = NULL;
    size_t outlen = 0, errlen = 0;
    append(&out, &outlen, "", 0);
    append(&err, &errlen, "", 0);
    struct pollfd fds[2] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char buf[4096];
            ssize_t got = read(fds[i].fd, buf, sizeof(buf));
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                append(&out, &outlen, buf, (size_t)got);
            } else {
                append(&err, &errlen, buf, (size_t)got);
            }
        }
    }
    int st;
    waitpid(pid, &st, 0);
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r != NULL) {
        r->status = status;
        r->out = out;
        r->outlen = outlen;
        r->err = err;
        r->errlen = errlen;
    } else {
        free(out);
        free(err);
    }
    return status;
}

void vt_result_free(struct vt_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

uint8_t *vt_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    size_t n = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf = sg_realloc(buf, n + got + 1);
        memcpy(buf + n, chunk, got);
        n += got;
    }
    fclose(f);
    if (buf == NULL)
        buf = sg_alloc(1);
    *len = n;
    return buf;
}

void vt_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

int vt_file_contains(const char *path, const void *needle, size_t n)
{
    size_t len;
    uint8_t *buf = vt_read(path, &len);
    if (buf == NULL)
        return 0;
    int found = 0;
    for (size_t i = 0; n > 0 && n <= len && i + n <= len && !found; i++)
        found = memcmp(buf + i, needle, n) == 0;
    free(buf);
    return found;
}

void vt_set_master_key(int seed)
{
    uint8_t key[32];
    char text[SG_B64_ENCODED_LEN(32) + 1];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(seed * 31 + i * 7 + 1);
    sg_b64_encode(key, sizeof(key), text);
    setenv("SASGW_MASTER_KEY", text, 1);
    unsetenv("SASGW_PASSPHRASE");
    unsetenv("SASGW_VAULT");
    unsetenv("SASGW_AUDIT_LOG");
}

int vt_one_sentence(const char *msg)
{
    size_t n = strlen(msg);
    return n >= 3 && msg[n - 1] == '\n' && msg[n - 2] == '.' && memchr(msg, '\n', n - 1) == NULL;
}
