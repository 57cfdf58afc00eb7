/*
 * vault_audit.c - the tamper-evident audit trail: JSON lines, each carrying
 * the SHA-256 of the line before it.
 *
 * Appending (vault_audit_append_batch; vault_audit_append is a batch of one):
 * the records' fields are formatted first; then, under the handle's mutex
 * (threads) and an exclusive flock on the log itself (processes), the head
 * (seq and SHA-256 of the last line) is found, the lines are chained one to
 * the next, written with one write() on an O_APPEND descriptor, and fsync'ed
 * once. The handle keeps the log open and remembers the head it left with
 * the file's device, inode, size and mtime; after taking the flock, fstat
 * tells whether the file is still exactly so, and only when it is not
 * (another process, CLI or server, appended; the file was cut or replaced)
 * is the last line read again. That keeps the chain right when several
 * processes append to one log. (An in-place edit of the same size within the
 * same mtime tick goes unnoticed here; `audit verify` finds it.)
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
#include <inttypes.h>
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

#include "sasgw/common.h"

#define FIELD_MAX 1024
#define LINE_MAX_LEN 16384

struct vault_audit {
    pthread_mutex_t mu;
    char *path;
    /* Under mu: the log held open (-1: none) and, when known, its head as this
     * handle's last append left it, with the file's identity, size and mtime
     * then. A later append that finds the file so re-uses the head; any other
     * state (another process appended, the file was cut or replaced) makes it
     * read the last line again. */
    int fd;
    int known;
    uint64_t seq;
    uint8_t hash[32];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
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
        vault__fail(err, errlen, VAULT_EINVAL, "no audit log path given");
        return NULL;
    }
    vault_audit_t *a = sg_calloc(1, sizeof(*a));
    pthread_mutex_init(&a->mu, NULL);
    a->path = sg_strdup(path);
    a->fd = -1;
    return a;
}

void vault_audit_close(vault_audit_t *a)
{
    if (a == NULL)
        return;
    if (a->fd >= 0)
        close(a->fd);
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
        vault__fail(err, errlen, VAULT_EIO, "cannot read the audit log: %s", r < 0 ? strerror(errno) : "short read");
        free(buf);
        return VAULT_EIO;
    }
    /* the end of the last complete line */
    size_t end = chunk;
    while (end > 0 && buf[end - 1] != '\n')
        end--;
    if (end == 0) {
        free(buf);
        if (base == 0)
            return 0; /* no complete line at all */
        return vault__fail(err, errlen, VAULT_ECORRUPT, "the audit log's last record is longer than %d bytes", LINE_MAX_LEN);
    }
    *complete_end = base + (off_t)end;
    size_t start = end - 1;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    if (start == 0 && base != 0) {
        vault__fail(err, errlen, VAULT_ECORRUPT, "the audit log's last record is longer than %d bytes", LINE_MAX_LEN);
        free(buf);
        return VAULT_ECORRUPT;
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
static vault_err_t head_locked(int fd, int cut_torn, uint64_t *seq, uint8_t hash[32], char *err, size_t errlen)
{
    struct stat st;
    char *line;
    size_t len;
    off_t end;
    *seq = 0;
    memset(hash, 0, 32);
    if (fstat(fd, &st) != 0) {
        return vault__fail(err, errlen, VAULT_EIO, "cannot stat the audit log: %s", strerror(errno));
    }
    if (st.st_size == 0)
        return 0;
    int lrc = last_line(fd, st.st_size, &line, &len, &end, err, errlen);
    if (lrc != 0)
        return lrc;
    if (end != st.st_size && cut_torn && ftruncate(fd, end) != 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot cut the torn last line of the audit log: %s", strerror(errno));
        free(line);
        return VAULT_EIO;
    }
    if (line == NULL)
        return 0;
    int rc = line_head(line, len, seq, hash);
    free(line);
    if (rc != 0)
        return vault__fail(err, errlen, VAULT_ECORRUPT, "the audit log's last record is not valid (run 'sasgw audit verify')");
    return VAULT_OK;
}

vault_err_t vault__audit_head(vault_audit_t *a, uint64_t *seq, uint8_t hash[32], char *err, size_t errlen)
{
    *seq = 0;
    memset(hash, 0, 32);
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return vault__fail(err, errlen, VAULT_EIO, "cannot open the audit log %s: %s", a->path, strerror(errno));
    }
    flock(fd, LOCK_SH);
    int rc = head_locked(fd, 0, seq, hash, err, errlen);
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}

/*
 * Length of the valid UTF-8 sequence at s (at most avail bytes), 0 when the
 * bytes there are not one (stray continuation, overlong form, surrogate,
 * beyond U+10FFFF, or cut short).
 */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/*
 * Appends a JSON string (quoted, escaped) of at most FIELD_MAX input bytes
 * of s (never cutting a UTF-8 sequence) and returns the bytes written: at
 * most 6 * FIELD_MAX + 2. Valid UTF-8 passes through as is; '"' and '\\'
 * are backslash-escaped; control characters (and DEL) become \u00XX; each
 * byte that does not start a valid UTF-8 sequence becomes \ufffd (the
 * replacement character), so the log is always valid UTF-8 JSON.
 */
static size_t put_json_string(char *out, const char *str)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    /* avail: the bytes taken; seen: a few more, to tell a sequence cut by the limit from an invalid one */
    size_t avail = strnlen(str, FIELD_MAX), seen = strnlen(str, FIELD_MAX + 3), o = 0, i = 0;
    out[o++] = '"';
    while (i < avail) {
        unsigned char c = s[i];
        size_t n = 1;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = digits[c >> 4];
            out[o + 5] = digits[c & 15];
            o += 6;
        } else if (c < 0x80) {
            out[o++] = (char)c;
        } else if ((n = utf8_len(s + i, seen - i)) == 0) {
            memcpy(out + o, "\\ufffd", 6);
            o += 6;
            n = 1;
        } else if (i + n > avail) {
            break; /* a valid sequence cut by the limit: stop before it */
        } else {
            memcpy(out + o, s + i, n);
            o += n;
        }
        i += n;
    }
    out[o++] = '"';
    return o;
}

/* Appends ,"name":<value as a JSON string> and returns the bytes written. */
static size_t put_field(char *out, const char *name, const char *value)
{
    size_t n = strlen(name);
    out[0] = ',';
    out[1] = '"';
    memcpy(out + 2, name, n);
    out[n + 2] = '"';
    out[n + 3] = ':';
    return n + 4 + put_json_string(out + n + 4, value != NULL ? value : "");
}

/* Bytes a record's line takes besides its fields: {"ts":"<24>","seq":<20>,"prev":"<64>"}\n */
#define LINE_FRAME 128
/* The most a record's fields (between seq and prev) can take: 10 string fields escaped and a count. */
#define FIELDS_MAX (10 * (6 * FIELD_MAX + 32) + 32)

/*
 * Writes rec's fields (everything between seq and prev, fixed order) into
 * out (FIELDS_MAX bytes) and returns their length, or 0 after setting err
 * when the record is not one (no op or result) or its line would exceed
 * LINE_MAX_LEN bytes.
 */
static size_t format_fields(char *out, const vault_audit_record_t *rec, char *err, size_t errlen)
{
    size_t o = 0;
    if (rec->op == NULL || rec->result == NULL) {
        vault__fail(err, errlen, VAULT_EINVAL, "an audit record needs an operation and a result");
        return 0;
    }
    o += put_field(out + o, "principal", rec->principal != NULL ? rec->principal : "cli");
    o += put_field(out + o, "op", rec->op);
    o += put_field(out + o, "object", rec->object);
    o += put_field(out + o, "result", rec->result);
    if (rec->client != NULL)
        o += put_field(out + o, "client", rec->client);
    if (rec->request_id != NULL)
        o += put_field(out + o, "request_id", rec->request_id);
    if (rec->token_id != NULL)
        o += put_field(out + o, "token_id", rec->token_id);
    if (rec->reason != NULL)
        o += put_field(out + o, "reason", rec->reason);
    if (rec->count != 0)
        o += (size_t)sprintf(out + o, ",\"count\":%" PRIu64, rec->count);
    if (rec->first != NULL)
        o += put_field(out + o, "first", rec->first);
    if (rec->last != NULL)
        o += put_field(out + o, "last", rec->last);
    if (o + LINE_FRAME > LINE_MAX_LEN) {
        vault__fail(err, errlen, VAULT_EINVAL, "the audit record is longer than %d bytes", LINE_MAX_LEN);
        return 0;
    }
    return o;
}

/* Forgets the open log and the head remembered with it (a->mu held). */
static void forget_log(vault_audit_t *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    a->known = 0;
}

/* Whether st describes the log exactly as this handle left it after its last append. */
static int unchanged_since_ours(const vault_audit_t *a, const struct stat *st)
{
    return a->known && st->st_dev == a->dev && st->st_ino == a->ino && st->st_size == a->size &&
           st->st_mtim.tv_sec == a->mtime.tv_sec && st->st_mtim.tv_nsec == a->mtime.tv_nsec;
}

/*
 * Opens the log if needed and takes the exclusive flock on it (a->mu held).
 * Reopens when the name no longer leads to the file held open (removed or
 * replaced by someone else). On success *st is the locked file's stat.
 */
static vault_err_t lock_log(vault_audit_t *a, struct stat *st, char *err, size_t errlen)
{
    for (int attempt = 0;; attempt++) {
        struct stat named;
        if (a->fd < 0) {
            a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (a->fd < 0) {
                return vault__fail(err, errlen, VAULT_EIO, "cannot open the audit log %s: %s", a->path, strerror(errno));
            }
            a->known = 0;
        }
        while (flock(a->fd, LOCK_EX) != 0) {
            if (errno != EINTR) {
                vault__fail(err, errlen, VAULT_EIO, "cannot lock the audit log %s: %s", a->path, strerror(errno));
                forget_log(a);
                return VAULT_EIO;
            }
        }
        if (fstat(a->fd, st) != 0) {
            vault__fail(err, errlen, VAULT_EIO, "cannot stat the audit log %s: %s", a->path, strerror(errno));
            flock(a->fd, LOCK_UN);
            forget_log(a);
            return VAULT_EIO;
        }
        if (stat(a->path, &named) == 0 && named.st_dev == st->st_dev && named.st_ino == st->st_ino)
            return 0;
        flock(a->fd, LOCK_UN);
        forget_log(a);
        if (attempt == 3) {
            return vault__fail(err, errlen, VAULT_EIO, "the audit log %s keeps being replaced", a->path);
        }
    }
}

vault_err_t vault_audit_append_batch(vault_audit_t *a, const vault_audit_record_t *recs, size_t n, char *err, size_t errlen)
{
    char ts[40], prev[65];
    struct timespec now;
    struct tm tm;
    struct stat st;
    uint64_t seq;
    uint8_t hash[32];
    vault_err_t rc = VAULT_EIO;

    if (n == 0)
        return 0;
    /* every record's fields, back to back, before taking any lock */
    size_t *len = sg_alloc(n * sizeof(*len)), total = 0, fcap = n * 512;
    char *scratch = sg_alloc(FIELDS_MAX), *fields = sg_alloc(fcap), *lines = NULL;
    for (size_t i = 0; i < n; i++) {
        char why[128];
        if ((len[i] = format_fields(scratch, &recs[i], why, sizeof(why))) == 0) {
            if (n > 1)
                vault__fail(err, errlen, VAULT_EINVAL, "record %zu of the batch: %s", i + 1, why);
            else
                vault__fail(err, errlen, VAULT_EINVAL, "%s", why);
            free(scratch);
            free(fields);
            free(len);
            return VAULT_EINVAL;
        }
        if (fcap - total < len[i]) {
            fcap = fcap * 2 > total + len[i] ? fcap * 2 : total + len[i];
            fields = sg_realloc(fields, fcap);
        }
        memcpy(fields + total, scratch, len[i]);
        total += len[i];
    }
    free(scratch);
    lines = sg_alloc(total + n * LINE_FRAME);

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ", now.tv_nsec / 1000000);

    pthread_mutex_lock(&a->mu);
    if ((rc = lock_log(a, &st, err, errlen)) != VAULT_OK)
        goto unlock;
    if (unchanged_since_ours(a, &st)) {
        seq = a->seq;
        memcpy(hash, a->hash, 32);
    } else {
        /* first use, or another process appended: read the head (cutting a torn last line) */
        a->known = 0;
        if ((rc = head_locked(a->fd, 1, &seq, hash, err, errlen)) != VAULT_OK)
            goto release;
        if (fstat(a->fd, &st) != 0) {
            rc = vault__fail(err, errlen, VAULT_EIO, "cannot stat the audit log %s: %s", a->path, strerror(errno));
            goto release;
        }
    }
    off_t before = st.st_size;

    /* the lines, each chained to the one before it */
    size_t o = 0, f = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = o;
        hex(hash, 32, prev);
        o += (size_t)sprintf(lines + o, "{\"ts\":\"%s\",\"seq\":%llu", ts, (unsigned long long)(seq + 1 + i));
        memcpy(lines + o, fields + f, len[i]);
        o += len[i];
        f += len[i];
        memcpy(lines + o, ",\"prev\":\"", 9);
        memcpy(lines + o + 9, prev, 64);
        memcpy(lines + o + 73, "\"}", 2);
        o += 75;
        SHA256((const uint8_t *)lines + start, o - start, hash);
        lines[o++] = '\n';
    }

    /* one write, one fsync; on failure nothing of the batch stays */
    ssize_t w;
    do
        w = write(a->fd, lines, o);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)o) {
        rc = vault__fail(err, errlen, VAULT_EIO, "cannot write the audit log %s: %s", a->path,
                         w < 0 ? strerror(errno) : "short write");
        if (w > 0 && ftruncate(a->fd, before) != 0)
            vault__fail(err, errlen, VAULT_EIO, "cannot write the audit log %s, and cannot cut the partial records", a->path);
        goto fail;
    }
    if (fsync(a->fd) != 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot sync the audit log %s: %s", a->path, strerror(errno));
        if (ftruncate(a->fd, before) == 0)
            (void)fsync(a->fd);
        goto fail;
    }
    /* the first record also makes the file's name durable */
    if (seq == 0 && vault__fsync_dir(a->path) != 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot sync the directory of the audit log %s: %s", a->path, strerror(errno));
        if (ftruncate(a->fd, before) == 0)
            (void)fsync(a->fd);
        goto fail;
    }
    rc = 0;
    /* remember the head, and the file as it is now, for the next append */
    if (fstat(a->fd, &st) == 0 && st.st_size == before + (off_t)o) {
        a->seq = seq + n;
        memcpy(a->hash, hash, 32);
        a->dev = st.st_dev;
        a->ino = st.st_ino;
        a->size = st.st_size;
        a->mtime = st.st_mtim;
        a->known = 1;
    }
release:
    flock(a->fd, LOCK_UN);
    goto unlock;
fail:
    /* the descriptor's state after a failed write or sync is not trusted: start afresh next time */
    flock(a->fd, LOCK_UN);
    forget_log(a);
unlock:
    pthread_mutex_unlock(&a->mu);
    free(lines);
    free(fields);
    free(len);
    return rc;
}

vault_err_t vault_audit_append(vault_audit_t *a, const vault_audit_record_t *rec, char *err, size_t errlen)
{
    return vault_audit_append_batch(a, rec, 1, err, errlen);
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
        vault__fail(why, whylen, VAULT_ECORRUPT, "not a JSON object");
        return 0;
    }
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if ((v = json_object_get(o, required[i])) == NULL || !json_is_string(v)) {
            vault__fail(why, whylen, VAULT_ECORRUPT, "the field \"%s\" is missing or not a string", required[i]);
            return 0;
        }
    *prev_out = json_string_value(json_object_get(o, "prev"));
    if (!is_hex64(*prev_out)) {
        vault__fail(why, whylen, VAULT_ECORRUPT, "\"prev\" is not 64 hex digits");
        return 0;
    }
    v = json_object_get(o, "seq");
    if (v == NULL || !json_is_integer(v) || json_integer_value(v) <= 0) {
        vault__fail(why, whylen, VAULT_ECORRUPT, "\"seq\" is missing or not a positive integer");
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
        return vault__fail(err, errlen, VAULT_EIO, "cannot open the audit log %s: %s", path, strerror(errno));
    }
    memset(prev_hex, '0', 64);
    prev_hex[64] = '\0';
    while ((n = getline(&line, &cap, f)) > 0) {
        const char *prev = NULL;
        json_t *o = NULL;
        lineno++;
        if (line[n - 1] != '\n') {
            vault__fail(err, errlen, VAULT_ECORRUPT, "line %llu: the record is incomplete (no newline: a torn write)",
                        (unsigned long long)lineno);
            rc = 1;
            break;
        }
        n--;
        uint64_t seq = check_record(line, (size_t)n, &prev, &o, why, sizeof(why));
        if (seq == 0) {
            vault__fail(err, errlen, VAULT_ECORRUPT, "line %llu: %s", (unsigned long long)lineno, why);
            rc = 1;
        } else if (seq != lineno) {
            vault__fail(err, errlen, VAULT_ECORRUPT,
                        "line %llu: its seq is %llu, expected %llu: records before it were removed, reordered or inserted",
                        (unsigned long long)lineno, (unsigned long long)seq, (unsigned long long)lineno);
            rc = 1;
        } else if (strcmp(prev, prev_hex) != 0) {
            if (lineno == 1)
                vault__fail(err, errlen, VAULT_ECORRUPT, "line 1: the first record's prev is not the genesis value (64 zeros)");
            else
                vault__fail(err, errlen, VAULT_ECORRUPT,
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
        vault__fail(err, errlen, VAULT_EIO, "cannot read the audit log %s: %s", path, strerror(errno));
        rc = VAULT_EIO;
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
        vault__fail(err, errlen, VAULT_ECORRUPT, "the audit log %s is gone, but the vault anchored record %llu of it",
                    v->audit->path, (unsigned long long)seq);
        return 1;
    }
    while (lineno < seq && (n = getline(&line, &cap, f)) > 0)
        lineno++;
    fclose(f);
    int rc = 0;
    if (lineno < seq) {
        vault__fail(err, errlen, VAULT_ECORRUPT,
                    "the audit log holds %llu complete records but the vault anchored record %llu: its tail "
                    "was removed",
                    (unsigned long long)lineno, (unsigned long long)seq);
        rc = 1;
    } else {
        SHA256((const uint8_t *)line, (size_t)n - (line[n - 1] == '\n'), got);
        if (memcmp(got, want, 32) != 0) {
            vault__fail(err, errlen, VAULT_ECORRUPT,
                        "line %llu of the audit log is not the record the vault anchored: it was modified",
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

vault_err_t vault_audit_tail(const char *path, size_t n, char ***lines_out, size_t *count, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *lines_out = NULL;
    *count = 0;
    if (fd < 0) {
        return vault__fail(err, errlen, VAULT_EIO, "cannot open the audit log %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot stat the audit log %s: %s", path, strerror(errno));
        close(fd);
        return VAULT_EIO;
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
            vault__fail(err, errlen, VAULT_EIO, "cannot read the audit log %s", path);
            free(buf);
            close(fd);
            return VAULT_EIO;
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
