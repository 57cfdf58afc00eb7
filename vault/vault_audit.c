/*
 * vault_audit.c - the tamper-evident audit trail: JSON lines, each carrying
 * the SHA-256 of the line before it.
 *
 * Appending (vault_audit_append): under the handle's mutex (threads) and an
 * exclusive flock on the log itself (processes), read the last line, hash it,
 * take its seq + 1, write the new line with one write() on an O_APPEND
 * descriptor, fsync. Re-reading the last line each time keeps the chain right
 * when several processes (CLI and server) append to one log.
 *
 * A last line without its newline can only come from a crash inside a write
 * that was never acknowledged (fsync had not returned); the next append cuts
 * it off before appending. Anything else that does not parse is left alone:
 * the append is refused and `audit verify` names the line.
 *
 * Limits: the chain cannot show that the newest records were removed or the
 * last one edited; the vault stores the head of the log at each of its writes
 * (the anchor, inside the encrypted file) so vault_audit_check_anchor catches
 * that for everything up to the last vault write.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "common.h"

#define FIELD_MAX 1024
#define LINE_MAX_LEN 16384

struct vault_audit {
    pthread_mutex_t mu;
    char *path;
};

char *vault_audit_default_path(const char *vault_path)
{
    char *copy = sg_strdup(vault_path);
    char *dir = dirname(copy);
    size_t n = strlen(dir) + sizeof("/audit.log");
    char *p = sg_alloc(n);
    snprintf(p, n, "%s/audit.log", dir);
    free(copy);
    return p;
}

vault_audit_t *vault_audit_open(const char *path, char *err, size_t errlen)
{
    if (path == NULL || *path == '\0') {
        vault__err(err, errlen, "no audit log path given");
        return NULL;
    }
    vault_audit_t *a = sg_calloc(1, sizeof(*a));
    pthread_mutex_init(&a->mu, NULL);
    a->path = sg_strdup(path);
    return a;
}

void vault_audit_close(vault_audit_t *a)
{
    if (a == NULL)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}

const char *vault__audit_path(vault_audit_t *a)
{
    return a->path;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/*
 * Finds the last complete line of the file open at fd (size bytes). Sets
 * *complete_end to the offset just past its newline (0 when there is none)
 * and copies the line (without newline) into line/len (NULL when none).
 */
static int last_line(int fd, off_t size, char **line, size_t *len, off_t *complete_end, char *err, size_t errlen)
{
    size_t chunk = size > (off_t)(2 * LINE_MAX_LEN) ? 2 * LINE_MAX_LEN : (size_t)size;
    char *buf = sg_alloc(chunk + 1);
    off_t base = size - (off_t)chunk;
    ssize_t r = pread(fd, buf, chunk, base);
    *line = NULL;
    *len = 0;
    *complete_end = 0;
    if (r != (ssize_t)chunk) {
        vault__err(err, errlen, "cannot read the audit log: %s", r < 0 ? strerror(errno) : "short read");
        free(buf);
        return -1;
    }
    /* the end of the last complete line */
    size_t end = chunk;
    while (end > 0 && buf[end - 1] != '\n')
        end--;
    if (end == 0) {
        free(buf);
        if (base == 0)
            return 0; /* no complete line at all */
        vault__err(err, errlen, "the audit log's last record is longer than %d bytes", LINE_MAX_LEN);
        return -1;
    }
    *complete_end = base + (off_t)end;
    size_t start = end - 1;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    if (start == 0 && base != 0) {
        vault__err(err, errlen, "the audit log's last record is longer than %d bytes", LINE_MAX_LEN);
        free(buf);
        return -1;
    }
    *len = end - 1 - start;
    *line = sg_strndup(buf + start, *len);
    free(buf);
    return 0;
}

/* seq and SHA-256 of a record line; -1 when it is not a record. */
static int line_head(const char *line, size_t len, uint64_t *seq, uint8_t hash[32])
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len, 0, &jerr), *s;
    int rc = -1;
    if (o != NULL && json_is_object(o) && (s = json_object_get(o, "seq")) != NULL && json_is_integer(s) &&
        json_integer_value(s) > 0) {
        *seq = (uint64_t)json_integer_value(s);
        SHA256((const uint8_t *)line, len, hash);
        rc = 0;
    }
    json_decref(o);
    return rc;
}

/* Reads the head under a lock already held on fd. */
static int head_locked(int fd, int cut_torn, uint64_t *seq, uint8_t hash[32], char *err, size_t errlen)
{
    struct stat st;
    char *line;
    size_t len;
    off_t end;
    *seq = 0;
    memset(hash, 0, 32);
    if (fstat(fd, &st) != 0) {
        vault__err(err, errlen, "cannot stat the audit log: %s", strerror(errno));
        return -1;
    }
    if (st.st_size == 0)
        return 0;
    if (last_line(fd, st.st_size, &line, &len, &end, err, errlen) != 0)
        return -1;
    if (end != st.st_size && cut_torn && ftruncate(fd, end) != 0) {
        vault__err(err, errlen, "cannot cut the torn last line of the audit log: %s", strerror(errno));
        free(line);
        return -1;
    }
    if (line == NULL)
        return 0;
    int rc = line_head(line, len, seq, hash);
    free(line);
    if (rc != 0)
        vault__err(err, errlen, "the audit log's last record is not valid (run 'sasgw audit verify')");
    return rc;
}

int vault__audit_head(vault_audit_t *a, uint64_t *seq, uint8_t hash[32], char *err, size_t errlen)
{
    *seq = 0;
    memset(hash, 0, 32);
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        vault__err(err, errlen, "cannot open the audit log %s: %s", a->path, strerror(errno));
        return -1;
    }
    flock(fd, LOCK_SH);
    int rc = head_locked(fd, 0, seq, hash, err, errlen);
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}

/* Appends a JSON string (quoted, escaped, at most FIELD_MAX input bytes). Bytes >= 0x80 become \u00XX. */
static size_t put_json_string(char *out, const char *s)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; s[i] != '\0' && i < FIELD_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    return o;
}

static size_t put_field(char *out, const char *name, const char *value)
{
    size_t o = (size_t)sprintf(out, ",\"%s\":", name);
    return o + put_json_string(out + o, value != NULL ? value : "");
}

int vault_audit_append(vault_audit_t *a, const vault_audit_record_t *rec, char *err, size_t errlen)
{
    uint64_t seq;
    uint8_t hash[32];
    char prev[65], ts[40];
    struct timespec now;
    struct tm tm;
    int rc = -1;
    /* 12 fields of at most 6 * FIELD_MAX escaped bytes each: bounded */
    char *line = sg_alloc(12 * (6 * FIELD_MAX + 32) + 256);

    if (rec->op == NULL || rec->result == NULL) {
        vault__err(err, errlen, "an audit record needs an operation and a result");
        free(line);
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ", now.tv_nsec / 1000000);

    pthread_mutex_lock(&a->mu);
    int fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        vault__err(err, errlen, "cannot open the audit log %s: %s", a->path, strerror(errno));
        goto unlock;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            vault__err(err, errlen, "cannot lock the audit log %s: %s", a->path, strerror(errno));
            goto close;
        }
    }
    if (head_locked(fd, 1, &seq, hash, err, errlen) != 0)
        goto close;
    hex(hash, 32, prev);

    /* the record, fields in a fixed order, prev last */
    size_t o = (size_t)sprintf(line, "{\"ts\":\"%s\",\"seq\":%llu", ts, (unsigned long long)seq + 1);
    o += put_field(line + o, "principal", rec->principal != NULL ? rec->principal : "cli");
    o += put_field(line + o, "op", rec->op);
    o += put_field(line + o, "object", rec->object);
    o += put_field(line + o, "result", rec->result);
    if (rec->client != NULL)
        o += put_field(line + o, "client", rec->client);
    if (rec->request_id != NULL)
        o += put_field(line + o, "request_id", rec->request_id);
    if (rec->token_id != NULL)
        o += put_field(line + o, "token_id", rec->token_id);
    if (rec->reason != NULL)
        o += put_field(line + o, "reason", rec->reason);
    o += (size_t)sprintf(line + o, ",\"prev\":\"%s\"}\n", prev);
    if (o > LINE_MAX_LEN) {
        vault__err(err, errlen, "the audit record is longer than %d bytes", LINE_MAX_LEN);
        goto close;
    }

    ssize_t w;
    do
        w = write(fd, line, o);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)o) {
        vault__err(err, errlen, "cannot write the audit log %s: %s", a->path, w < 0 ? strerror(errno) : "short write");
        /* cut a partial record so the chain stays sound */
        struct stat st;
        if (w > 0 && fstat(fd, &st) == 0 && ftruncate(fd, st.st_size - w) != 0)
            vault__err(err, errlen, "cannot write the audit log %s, and cannot cut the partial record", a->path);
        goto close;
    }
    if (fsync(fd) != 0) {
        vault__err(err, errlen, "cannot sync the audit log %s: %s", a->path, strerror(errno));
        goto close;
    }
    /* the first record also makes the file's name durable */
    if (seq == 0 && vault__fsync_dir(a->path) != 0) {
        vault__err(err, errlen, "cannot sync the directory of the audit log %s: %s", a->path, strerror(errno));
        goto close;
    }
    rc = 0;
close:
    flock(fd, LOCK_UN);
    close(fd);
unlock:
    pthread_mutex_unlock(&a->mu);
    free(line);
    return rc;
}

/* ---------------------------------------------------------------- verify */

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Checks one record's own shape. Returns its seq, or 0 with why set. */
static uint64_t check_record(const char *line, size_t len, const char **prev_out, json_t **obj, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len, 0, &jerr), *v;
    static const char *required[] = {"ts", "principal", "op", "object", "result", "prev"};
    *obj = o;
    if (o == NULL || !json_is_object(o)) {
        vault__err(why, whylen, "not a JSON object");
        return 0;
    }
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if ((v = json_object_get(o, required[i])) == NULL || !json_is_string(v)) {
            vault__err(why, whylen, "the field \"%s\" is missing or not a string", required[i]);
            return 0;
        }
    *prev_out = json_string_value(json_object_get(o, "prev"));
    if (!is_hex64(*prev_out)) {
        vault__err(why, whylen, "\"prev\" is not 64 hex digits");
        return 0;
    }
    v = json_object_get(o, "seq");
    if (v == NULL || !json_is_integer(v) || json_integer_value(v) <= 0) {
        vault__err(why, whylen, "\"seq\" is missing or not a positive integer");
        return 0;
    }
    return (uint64_t)json_integer_value(v);
}

int vault_audit_verify(const char *path, uint64_t *records, uint64_t *bad_line, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    char *line = NULL, prev_hex[65], why[256];
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    uint8_t hash[32];
    int rc = 0;
    *records = 0;
    *bad_line = 0;
    if (f == NULL) {
        vault__err(err, errlen, "cannot open the audit log %s: %s", path, strerror(errno));
        return -1;
    }
    memset(prev_hex, '0', 64);
    prev_hex[64] = '\0';
    while ((n = getline(&line, &cap, f)) > 0) {
        const char *prev = NULL;
        json_t *o = NULL;
        lineno++;
        if (line[n - 1] != '\n') {
            vault__err(err, errlen, "line %llu: the record is incomplete (no newline: a torn write)", (unsigned long long)lineno);
            rc = 1;
            break;
        }
        n--;
        uint64_t seq = check_record(line, (size_t)n, &prev, &o, why, sizeof(why));
        if (seq == 0) {
            vault__err(err, errlen, "line %llu: %s", (unsigned long long)lineno, why);
            rc = 1;
        } else if (seq != lineno) {
            vault__err(err, errlen,
                       "line %llu: its seq is %llu, expected %llu: records before it were removed, reordered or inserted",
                       (unsigned long long)lineno, (unsigned long long)seq, (unsigned long long)lineno);
            rc = 1;
        } else if (strcmp(prev, prev_hex) != 0) {
            if (lineno == 1)
                vault__err(err, errlen, "line 1: the first record's prev is not the genesis value (64 zeros)");
            else
                vault__err(err, errlen,
                           "line %llu: its prev does not match the SHA-256 of line %llu: line %llu was edited (or this "
                           "record's prev), or records were removed or reordered",
                           (unsigned long long)lineno, (unsigned long long)lineno - 1, (unsigned long long)lineno - 1);
            rc = 1;
        }
        json_decref(o);
        if (rc != 0)
            break;
        SHA256((const uint8_t *)line, (size_t)n, hash);
        hex(hash, 32, prev_hex);
    }
    if (rc == 0 && ferror(f)) {
        vault__err(err, errlen, "cannot read the audit log %s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 1)
        *bad_line = lineno;
    else if (rc == 0)
        *records = lineno;
    free(line);
    fclose(f);
    return rc;
}

int vault_audit_check_anchor(vault_t *v, char *err, size_t errlen)
{
    uint64_t seq;
    uint8_t want[32], got[32];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = 0;
    uint64_t lineno = 0;
    pthread_mutex_lock(&v->mu);
    seq = v->st.audit_seq;
    memcpy(want, v->st.audit_hash, 32);
    pthread_mutex_unlock(&v->mu);
    if (seq == 0)
        return 0;
    FILE *f = fopen(v->audit->path, "re");
    if (f == NULL) {
        vault__err(err, errlen, "the audit log %s is gone, but the vault anchored record %llu of it", v->audit->path,
                   (unsigned long long)seq);
        return 1;
    }
    while (lineno < seq && (n = getline(&line, &cap, f)) > 0)
        lineno++;
    fclose(f);
    int rc = 0;
    if (lineno < seq) {
        vault__err(err, errlen,
                   "the audit log holds %llu complete records but the vault anchored record %llu: its tail "
                   "was removed",
                   (unsigned long long)lineno, (unsigned long long)seq);
        rc = 1;
    } else {
        SHA256((const uint8_t *)line, (size_t)n - (line[n - 1] == '\n'), got);
        if (memcmp(got, want, 32) != 0) {
            vault__err(err, errlen, "line %llu of the audit log is not the record the vault anchored: it was modified",
                       (unsigned long long)seq);
            rc = 1;
        }
    }
    free(line);
    return rc;
}

/* ---------------------------------------------------------------- tail */

void vault_audit_lines_free(char **lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(lines[i]);
    free(lines);
}

int vault_audit_tail(const char *path, size_t n, char ***lines_out, size_t *count, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *lines_out = NULL;
    *count = 0;
    if (fd < 0) {
        vault__err(err, errlen, "cannot open the audit log %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        vault__err(err, errlen, "cannot stat the audit log %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* read backwards in growing windows until n + 1 newlines are in view or the start is reached */
    size_t size = (size_t)st.st_size, window = 65536;
    char *buf = NULL;
    size_t have = 0;
    for (;;) {
        if (window > size)
            window = size;
        buf = sg_realloc(buf, window + 1);
        if (pread(fd, buf, window, (off_t)(size - window)) != (ssize_t)window) {
            vault__err(err, errlen, "cannot read the audit log %s", path);
            free(buf);
            close(fd);
            return -1;
        }
        have = window;
        size_t nl = 0;
        for (size_t i = 0; i < have; i++)
            nl += buf[i] == '\n';
        if (nl > n || window == size)
            break;
        window *= 4;
    }
    close(fd);
    /* split into complete lines, keep the last n */
    size_t end = have;
    while (end > 0 && buf[end - 1] != '\n')
        end--; /* a torn last line is not shown */
    char **lines = sg_calloc(n == 0 ? 1 : n, sizeof(char *));
    size_t got = 0, stop = end;
    while (got < n && stop > 0) {
        size_t start = stop - 1;
        while (start > 0 && buf[start - 1] != '\n')
            start--;
        if (start == 0 && have != size)
            break; /* partial first line of the window */
        lines[got++] = sg_strndup(buf + start, stop - 1 - start);
        stop = start;
    }
    free(buf);
    /* oldest first */
    for (size_t i = 0; i < got / 2; i++) {
        char *t = lines[i];
        lines[i] = lines[got - 1 - i];
        lines[got - 1 - i] = t;
    }
    *lines_out = lines;
    *count = got;
    return 0;
}
