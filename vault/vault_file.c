/*
 * vault_file.c - the encrypted container and its atomic, durable writes.
 *
 * Layout (integers little-endian), 140 bytes of header then the ciphertext and
 * its GCM tag:
 *
 *     0  magic        8  "SGVAULT1" (vault) or "SGVBACK1" (backup)
 *     8  format       2  1
 *    10  kdf          1  1 = raw master key, 2 = scrypt(passphrase)
 *    11  log2(N)      1  scrypt cost (0 for kdf 1)
 *    12  r            4  scrypt block size (0 for kdf 1)
 *    16  p            4  scrypt parallelism (0 for kdf 1)
 *    20  salt        16  scrypt salt (zeros for kdf 1)
 *    36  vault id    16  random, fixed for the life of the vault
 *    52  wrap nonce  12  \
 *    64  wrapped key 32   } data key under AES-256-GCM(KEK), AAD = bytes 8..51
 *    96  wrap tag    16  /
 *   112  generation   8  +1 per write
 *   120  nonce       12  fresh per write
 *   132  length       8  ciphertext bytes
 *   140  ciphertext  length, then the 16-byte tag; AAD = bytes 0..139
 *
 * The data key never changes, so the wrapped key is the same in every
 * generation and in backups (its AAD leaves out the magic, which the payload's
 * AAD covers); the payload nonce is random per write (96 bits: no repeat to
 * expect below 2^32 writes). Nothing of the payload is used before the tag has
 * been checked (EVP_DecryptFinal_ex), and the output buffer is wiped on failure.
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
#include <unistd.h>

#include <openssl/evp.h>

#include "sasgw/common.h"

static const char magic_vault[8] = {'S', 'G', 'V', 'A', 'U', 'L', 'T', '1'};
static const char magic_backup[8] = {'S', 'G', 'V', 'B', 'A', 'C', 'K', '1'};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void vault__header_write(const struct vault__header *h, uint8_t *b)
{
    memcpy(b, h->kind == VAULT__KIND_BACKUP ? magic_backup : magic_vault, 8);
    put16(b + 8, h->format);
    b[10] = h->kdf;
    b[11] = h->log2n;
    put32(b + 12, h->r);
    put32(b + 16, h->p);
    memcpy(b + 20, h->salt, 16);
    memcpy(b + 36, h->vault_id, 16);
    memcpy(b + 52, h->wrap_nonce, 12);
    memcpy(b + 64, h->wrapped, 32);
    memcpy(b + 96, h->wrap_tag, 16);
    put64(b + 112, h->generation);
    memcpy(b + 120, h->nonce, 12);
    put64(b + 132, h->ct_len);
}

vault_err_t vault__header_parse(const uint8_t *b, size_t len, int kind, struct vault__header *h, char *err, size_t errlen)
{
    static const uint8_t zeros[16];
    const char *what = kind == VAULT__KIND_BACKUP ? "backup" : "vault";
    memset(h, 0, sizeof(*h));
    if (len < 8 || (memcmp(b, magic_vault, 8) != 0 && memcmp(b, magic_backup, 8) != 0)) {
        return vault__fail(err, errlen, VAULT_EFORMAT, "not a sasgw %s file (bad magic)", what);
    }
    if (memcmp(b, kind == VAULT__KIND_BACKUP ? magic_backup : magic_vault, 8) != 0) {
        return vault__fail(err, errlen, VAULT_EFORMAT, "this file is a sasgw %s, not a %s",
                           kind == VAULT__KIND_BACKUP ? "vault" : "backup", what);
    }
    if (len < VAULT__HDR_LEN + VAULT__TAG_LEN) {
        return vault__fail(err, errlen, VAULT_ECORRUPT, "the %s file is truncated (%zu bytes)", what, len);
    }
    h->kind = kind;
    h->format = (uint16_t)(b[8] | b[9] << 8);
    h->kdf = b[10];
    h->log2n = b[11];
    h->r = get32(b + 12);
    h->p = get32(b + 16);
    memcpy(h->salt, b + 20, 16);
    memcpy(h->vault_id, b + 36, 16);
    memcpy(h->wrap_nonce, b + 52, 12);
    memcpy(h->wrapped, b + 64, 32);
    memcpy(h->wrap_tag, b + 96, 16);
    h->generation = get64(b + 112);
    memcpy(h->nonce, b + 120, 12);
    h->ct_len = get64(b + 132);
    if (h->format != VAULT__FORMAT) {
        return vault__fail(err, errlen, VAULT_EFORMAT, "unsupported %s format version %u (this sasgw reads version %d)", what,
                           h->format, VAULT__FORMAT);
    }
    if (h->kdf == VAULT__KDF_RAW) {
        if (h->log2n != 0 || h->r != 0 || h->p != 0 || memcmp(h->salt, zeros, 16) != 0) {
            return vault__fail(err, errlen, VAULT_ECORRUPT, "the %s header is corrupted (key parameters)", what);
        }
    } else if (h->kdf == VAULT__KDF_SCRYPT) {
        if (h->log2n < 10 || h->log2n > 22 || h->r < 1 || h->r > 32 || h->p < 1 || h->p > 16) {
            return vault__fail(err, errlen, VAULT_ECORRUPT, "the %s header is corrupted (scrypt parameters out of range)", what);
        }
    } else {
        return vault__fail(err, errlen, VAULT_ECORRUPT, "the %s header is corrupted (unknown key derivation %u)", what, h->kdf);
    }
    if (h->ct_len != len - VAULT__HDR_LEN - VAULT__TAG_LEN) {
        return vault__fail(err, errlen, VAULT_ECORRUPT, "the %s file is %s (its header announces %llu bytes of data, it holds %zu)",
                           what, h->ct_len > len - VAULT__HDR_LEN - VAULT__TAG_LEN ? "truncated" : "longer than announced",
                           (unsigned long long)h->ct_len, len - VAULT__HDR_LEN - VAULT__TAG_LEN);
    }
    return 0;
}

/* AES-256-GCM one-shot. enc: out = ciphertext, tag written. !enc: tag checked; returns -1 on mismatch. */
int vault__gcm(int enc, const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aadlen, const uint8_t *in,
               size_t len, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = 0, n = 0, fin = 0;
    if (ctx == NULL)
        return -1;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1)
        goto done;
    if (aadlen > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
        goto done;
    /* feed in chunks: EVP takes int lengths */
    for (size_t off = 0; off < len;) {
        size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
        if (EVP_CipherUpdate(ctx, out + off, &n, in + off, (int)chunk) != 1)
            goto done;
        off += chunk;
    }
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
        goto done;
    if (EVP_CipherFinal_ex(ctx, out + len, &fin) != 1)
        goto done;
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

vault_err_t vault__header_new(struct vault__header *h, const vault_keysource_t *ks, uint8_t dk[32], char *err, size_t errlen)
{
    uint8_t kek[32], aad[VAULT__HDR_LEN];
    memset(h, 0, sizeof(*h));
    h->kind = VAULT__KIND_VAULT;
    h->format = VAULT__FORMAT;
    if (ks->kind == VAULT_KS_PASSPHRASE) {
        h->kdf = VAULT__KDF_SCRYPT;
        h->log2n = VAULT__SCRYPT_LOG2N;
        h->r = VAULT__SCRYPT_R;
        h->p = VAULT__SCRYPT_P;
        sg_random(h->salt, sizeof(h->salt));
    } else if (ks->kind == VAULT_KS_MASTER_KEY) {
        h->kdf = VAULT__KDF_RAW;
    } else {
        return vault__fail(err, errlen, VAULT_EINVAL, "no master key or passphrase given");
    }
    sg_random(h->vault_id, sizeof(h->vault_id));
    sg_random(h->wrap_nonce, sizeof(h->wrap_nonce));
    sg_random(dk, 32);
    vault_err_t krc = vault__kek(h, ks, kek, err, errlen);
    if (krc != VAULT_OK)
        return krc;
    vault__header_write(h, aad);
    int rc = vault__gcm(1, kek, h->wrap_nonce, aad + 8, VAULT__WRAP_AAD_LEN, dk, 32, h->wrapped, h->wrap_tag);
    sg_wipe(kek, sizeof(kek));
    if (rc != 0) {
        sg_wipe(dk, 32);
        return vault__fail(err, errlen, VAULT_ECRYPTO, "AES-GCM failed while wrapping the data key");
    }
    return VAULT_OK;
}

vault_err_t vault__unwrap(const struct vault__header *h, const vault_keysource_t *ks, uint8_t dk[32], char *err, size_t errlen)
{
    uint8_t kek[32], aad[VAULT__HDR_LEN], tag[16];
    vault_err_t krc = vault__kek(h, ks, kek, err, errlen);
    if (krc != VAULT_OK)
        return krc;
    vault__header_write(h, aad);
    memcpy(tag, h->wrap_tag, 16);
    int rc = vault__gcm(0, kek, h->wrap_nonce, aad + 8, VAULT__WRAP_AAD_LEN, h->wrapped, 32, dk, tag);
    sg_wipe(kek, sizeof(kek));
    if (rc != 0) {
        sg_wipe(dk, 32);
        return vault__fail(err, errlen, VAULT_EBADKEY, "wrong %s (or the %s's key header was modified)",
                           h->kdf == VAULT__KDF_SCRYPT ? "passphrase" : "master key",
                           h->kind == VAULT__KIND_BACKUP ? "backup" : "vault");
    }
    return VAULT_OK;
}

vault_err_t vault__decrypt(const uint8_t *file, size_t len, const struct vault__header *h, const uint8_t dk[32], uint8_t **pt,
                           size_t *ptlen, char *err, size_t errlen)
{
    uint8_t tag[16];
    size_t n = (size_t)h->ct_len;
    uint8_t *out = sg_secure_alloc(n + 16);
    memcpy(tag, file + VAULT__HDR_LEN + n, 16);
    if (vault__gcm(0, dk, h->nonce, file, VAULT__HDR_LEN, file + VAULT__HDR_LEN, n, out, tag) != 0) {
        sg_secure_free(out);
        return vault__fail(err, errlen, VAULT_ECORRUPT, "the %s file failed its integrity check (it was modified or corrupted)",
                           h->kind == VAULT__KIND_BACKUP ? "backup" : "vault");
    }
    *pt = out;
    *ptlen = n;
    return 0;
}

void vault__encrypt(struct vault__header *h, const uint8_t dk[32], const uint8_t *pt, size_t ptlen, uint8_t **out, size_t *outlen)
{
    size_t total = VAULT__HDR_LEN + ptlen + VAULT__TAG_LEN;
    uint8_t *buf = sg_alloc(total + 16);
    sg_random(h->nonce, sizeof(h->nonce));
    h->ct_len = ptlen;
    vault__header_write(h, buf);
    if (vault__gcm(1, dk, h->nonce, buf, VAULT__HDR_LEN, pt, ptlen, buf + VAULT__HDR_LEN, buf + VAULT__HDR_LEN + ptlen) != 0) {
        fprintf(stderr, "sasgw: AES-GCM encryption failed\n");
        abort();
    }
    *out = buf;
    *outlen = total;
}

/* ---------------------------------------------------------------- files */

char *vault__path_with(const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    char *p = sg_alloc(a + b + 1);
    memcpy(p, path, a);
    memcpy(p + a, suffix, b + 1);
    return p;
}

vault_err_t vault__read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        vault__fail(err, errlen, VAULT_EIO, "cannot open %s: %s", path, strerror(e));
        errno = e;
        return VAULT_EIO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > VAULT__MAX_FILE) {
        vault__fail(err, errlen, VAULT_EIO, "%s is not a regular file of at most %u MiB", path, VAULT__MAX_FILE >> 20);
        close(fd);
        errno = EINVAL;
        return VAULT_EIO;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    uint8_t *b = sg_alloc(cap + 1);
    /* read what is there; a concurrent rename does not change this inode */
    for (;;) {
        ssize_t r = read(fd, b + n, cap + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            vault__fail(err, errlen, VAULT_EIO, "cannot read %s: %s", path, strerror(e));
            free(b);
            close(fd);
            errno = e;
            return VAULT_EIO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > cap) {
            vault__fail(err, errlen, VAULT_EIO, "%s changed while being read", path);
            free(b);
            close(fd);
            errno = EAGAIN;
            return VAULT_EIO;
        }
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;
}

long vault__read_head(const char *path, uint8_t *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r;
    do
        r = pread(fd, buf, cap, 0);
    while (r < 0 && errno == EINTR);
    close(fd);
    return (long)r;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int vault__fsync_dir(const char *path)
{
    char *copy = sg_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

vault_err_t vault__tmp_write(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen)
{
    char *tmp = vault__path_with(path, ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return VAULT_EIO;
    }
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return VAULT_EIO;
    }
    if (close(fd) != 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return VAULT_EIO;
    }
    free(tmp);
    return 0;
}

void vault__tmp_discard(const char *path)
{
    char *tmp = vault__path_with(path, ".tmp");
    unlink(tmp);
    free(tmp);
}

/* Makes "<path>.prev" name the current file: a hard link (no copy, no window without a vault), else a copy. */
static void keep_previous(const char *path)
{
    char *prev = vault__path_with(path, ".prev");
    unlink(prev);
    if (link(path, prev) != 0 && errno != ENOENT) {
        uint8_t *buf;
        size_t len;
        if (vault__read_file(path, &buf, &len, NULL, 0) == 0) {
            int fd = open(prev, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd >= 0) {
                if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
                    close(fd);
                    unlink(prev);
                } else {
                    close(fd);
                }
            }
            free(buf);
        }
    }
    free(prev);
}

vault_err_t vault__tmp_commit(const char *path, int keep_prev, char *err, size_t errlen)
{
    char *tmp = vault__path_with(path, ".tmp");
    if (keep_prev)
        keep_previous(path);
    if (rename(tmp, path) != 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return VAULT_EIO;
    }
    free(tmp);
    if (vault__fsync_dir(path) != 0) {
        return vault__fail(err, errlen, VAULT_EIO, "cannot sync the directory of %s: %s", path, strerror(errno));
    }
    return 0;
}

int vault__lock(const char *path, char *err, size_t errlen)
{
    char *lock = vault__path_with(path, ".lock");
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        vault__fail(err, errlen, VAULT_EIO, "cannot open the lock file %s: %s", lock, strerror(errno));
        free(lock);
        return VAULT_EIO;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        vault__fail(err, errlen, VAULT_EIO, "cannot lock %s: %s", lock, strerror(errno));
        close(fd);
        free(lock);
        return VAULT_EIO;
    }
    free(lock);
    return fd;
}

void vault__unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}
