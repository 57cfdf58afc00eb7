/*
 * policy_util.c - small parsers the policy module shares: base64url, bounded
 * file reads, IP addresses and ranges, permission-style letter sets.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sasgw/common.h"

int policy__b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    /* translate to standard base64 with padding, then decode strictly */
    if (len % 4 == 1 || len > 4 * (POLICY_MAX_TOKEN_LEN / 3 + 2))
        return -1;
    size_t padded = (len + 3) / 4 * 4;
    char *tmp = sg_alloc(padded + 1);
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '+' || c == '/' || c == '=') {
            free(tmp);
            return -1;
        }
        tmp[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    for (size_t i = len; i < padded; i++)
        tmp[i] = '=';
    int ret = sg_b64_decode(tmp, padded, out, cap, outlen);
    free(tmp);
    return ret;
}

int policy__read_file(const char *path, size_t max, char **buf, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    /* O_NONBLOCK: opening a FIFO must not hang the loader */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > max) {
        snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
        close(fd);
        return -1;
    }
    /* read up to max + 1 bytes: the file may grow after fstat */
    char *data = sg_alloc(max + 2);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, data + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            free(data);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
            free(data);
            close(fd);
            return -1;
        }
    }
    close(fd);
    data[n] = '\0';
    *buf = data;
    *len = n;
    return 0;
}

int policy__parse_ip(const char *s, size_t len, uint8_t out[16])
{
    char tmp[64];
    if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    uint8_t v4[4];
    if (inet_pton(AF_INET, tmp, v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, v4, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, out) == 1)
        return 0;
    return -1;
}

static int is_v4(const uint8_t a[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, mapped, 12) == 0;
}

int policy__parse_iprange(const char *s, policy__iprange_t *out)
{
    const char *dash = strchr(s, '-'), *slash = strchr(s, '/');
    if (dash != NULL && slash == NULL) {
        /* "lo-hi" */
        if (policy__parse_ip(s, (size_t)(dash - s), out->lo) != 0 || policy__parse_ip(dash + 1, strlen(dash + 1), out->hi) != 0)
            return -1;
        if (is_v4(out->lo) != is_v4(out->hi) || memcmp(out->lo, out->hi, 16) > 0)
            return -1;
        return 0;
    }
    if (slash != NULL && dash == NULL) {
        /* "addr/bits": host bits must be zero */
        const char *b = slash + 1;
        unsigned bits = 0;
        if (*b == '\0' || strlen(b) > 3)
            return -1;
        for (; *b != '\0'; b++) {
            if (*b < '0' || *b > '9')
                return -1;
            bits = bits * 10 + (unsigned)(*b - '0');
        }
        if (policy__parse_ip(s, (size_t)(slash - s), out->lo) != 0)
            return -1;
        if (is_v4(out->lo)) {
            if (bits > 32)
                return -1;
            bits += 96;
        } else if (bits > 128) {
            return -1;
        }
        memcpy(out->hi, out->lo, 16);
        for (unsigned i = bits; i < 128; i++) {
            uint8_t m = (uint8_t)(0x80u >> (i % 8));
            if (out->lo[i / 8] & m)
                return -1;
            out->hi[i / 8] |= m;
        }
        return 0;
    }
    if (slash == NULL && dash == NULL) {
        if (policy__parse_ip(s, strlen(s), out->lo) != 0)
            return -1;
        memcpy(out->hi, out->lo, 16);
        return 0;
    }
    return -1;
}

int policy__valid_account(const char *s)
{
    size_t len = strlen(s);
    return len >= 3 && len <= 24 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == len;
}

int policy__valid_container(const char *s)
{
    size_t len = strlen(s);
    if (strcmp(s, "$root") == 0 || strcmp(s, "$web") == 0 || strcmp(s, "$logs") == 0)
        return 1;
    return len >= 3 && len <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == len && s[0] != '-' && s[len - 1] != '-' &&
           strstr(s, "--") == NULL;
}

const char *policy__alg_name(policy__alg_t alg)
{
    return alg == POLICY__ALG_RS256 ? "RS256" : "ES256";
}
