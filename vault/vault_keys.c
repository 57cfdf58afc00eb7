/*
 * vault_keys.c - where the key that unseals a vault comes from: the master key
 * (environment or a 0600 key file) or a passphrase stretched by scrypt.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sasgw/common.h"

#define MAX_KEY_FILE 4096

void vault_keysource_wipe(vault_keysource_t *ks)
{
    if (ks == NULL)
        return;
    sg_wipe(ks->master, sizeof(ks->master));
    if (ks->passphrase != NULL)
        sg_free_secret(ks->passphrase, ks->passphrase_len + 1);
    ks->passphrase = NULL;
    ks->passphrase_len = 0;
    ks->kind = VAULT_KS_NONE;
}

void vault_keysource_set_master(vault_keysource_t *ks, const uint8_t key[VAULT_MASTER_KEY_LEN])
{
    vault_keysource_wipe(ks);
    ks->kind = VAULT_KS_MASTER_KEY;
    memcpy(ks->master, key, VAULT_MASTER_KEY_LEN);
}

void vault_keysource_set_passphrase(vault_keysource_t *ks, const char *pass, size_t len)
{
    vault_keysource_wipe(ks);
    ks->kind = VAULT_KS_PASSPHRASE;
    ks->passphrase = sg_alloc(len + 1);
    memcpy(ks->passphrase, pass, len);
    ks->passphrase[len] = '\0';
    ks->passphrase_len = len;
}

/* Decodes base64 of exactly 32 bytes, ignoring surrounding whitespace. */
static int decode_master(const char *text, size_t len, uint8_t key[VAULT_MASTER_KEY_LEN])
{
    uint8_t tmp[VAULT_MASTER_KEY_LEN + 3];
    size_t outlen = 0;
    while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
        len--;
    while (len > 0 && strchr(" \t\r\n", text[0]) != NULL) {
        text++;
        len--;
    }
    int rc = sg_b64_decode(text, len, tmp, sizeof(tmp), &outlen) == 0 && outlen == VAULT_MASTER_KEY_LEN ? 0 : -1;
    if (rc == 0)
        memcpy(key, tmp, VAULT_MASTER_KEY_LEN);
    sg_wipe(tmp, sizeof(tmp));
    return rc;
}

/* Reads a small owner-only file into buf (wiped by the caller). Returns its length or a negative vault_err_t. */
static long read_private_file(const char *path, const char *what, uint8_t *buf, size_t cap, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return vault__fail(err, errlen, VAULT_EIO, "cannot open the %s %s: %s", what, path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        vault__fail(err, errlen, VAULT_EINVAL, "the %s %s is not a regular file", what, path);
        close(fd);
        return VAULT_EINVAL;
    }
    if ((st.st_mode & 077) != 0) {
        vault__fail(err, errlen, VAULT_EINVAL, "the %s %s is accessible by group or others (mode %04o); chmod 600 it", what, path,
                    (unsigned)(st.st_mode & 07777));
        close(fd);
        return VAULT_EINVAL;
    }
    if (st.st_uid != geteuid()) {
        vault__fail(err, errlen, VAULT_EINVAL, "the %s %s is not owned by the current user", what, path);
        close(fd);
        return VAULT_EINVAL;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            vault__fail(err, errlen, VAULT_EIO, "cannot read the %s %s: %s", what, path, strerror(errno));
            close(fd);
            return VAULT_EIO;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == cap) {
            vault__fail(err, errlen, VAULT_EINVAL, "the %s %s is too large", what, path);
            close(fd);
            return VAULT_EINVAL;
        }
    }
    close(fd);
    return (long)len;
}

static vault_err_t set_passphrase_checked(vault_keysource_t *ks, const char *pass, size_t len, char *err, size_t errlen)
{
    if (len < 8) {
        return vault__fail(err, errlen, VAULT_EINVAL, "the passphrase must be at least 8 characters long");
    }
    vault_keysource_set_passphrase(ks, pass, len);
    return 0;
}

vault_err_t vault_keysource_resolve(vault_keysource_t *ks, const char *master_key_file, const char *passphrase_file, char *err,
                                    size_t errlen)
{
    uint8_t buf[MAX_KEY_FILE];
    long n;
    vault_err_t rc = VAULT_EINVAL;
    memset(ks, 0, sizeof(*ks));
    if (master_key_file != NULL && passphrase_file != NULL) {
        return vault__fail(err, errlen, VAULT_EINVAL, "give either a master key file or a passphrase file, not both");
    }
    if (master_key_file != NULL) {
        /* key file: 32 raw bytes, or base64 of 32 bytes */
        if ((n = read_private_file(master_key_file, "master key file", buf, sizeof(buf), err, errlen)) < 0) {
            rc = (vault_err_t)n;
            goto done;
        }
        ks->kind = VAULT_KS_MASTER_KEY;
        if (n == VAULT_MASTER_KEY_LEN) {
            memcpy(ks->master, buf, VAULT_MASTER_KEY_LEN);
        } else if (decode_master((const char *)buf, (size_t)n, ks->master) != 0) {
            vault__fail(err, errlen, VAULT_EINVAL, "the master key file %s holds neither 32 bytes nor the base64 of 32 bytes",
                        master_key_file);
            goto done;
        }
        rc = 0;
    } else if (passphrase_file != NULL) {
        if ((n = read_private_file(passphrase_file, "passphrase file", buf, sizeof(buf), err, errlen)) < 0) {
            rc = (vault_err_t)n;
            goto done;
        }
        if (n > 0 && buf[n - 1] == '\n')
            n--;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
        rc = set_passphrase_checked(ks, (const char *)buf, (size_t)n, err, errlen);
    } else {
        const char *env = getenv("SASGW_MASTER_KEY");
        if (env != NULL && *env != '\0') {
            ks->kind = VAULT_KS_MASTER_KEY;
            if (decode_master(env, strlen(env), ks->master) != 0) {
                vault__fail(err, errlen, VAULT_EINVAL, "SASGW_MASTER_KEY is not the base64 of exactly 32 bytes");
                goto done;
            }
            rc = 0;
        } else if ((env = getenv("SASGW_PASSPHRASE")) != NULL && *env != '\0') {
            rc = set_passphrase_checked(ks, env, strlen(env), err, errlen);
        } else {
            rc = vault__fail(err, errlen, VAULT_EINVAL,
                             "no master key: set SASGW_MASTER_KEY, or pass --master-key-file or --passphrase-file "
                             "(or set SASGW_PASSPHRASE)");
        }
    }
done:
    sg_wipe(buf, sizeof(buf));
    if (rc != 0)
        vault_keysource_wipe(ks);
    return rc;
}

/* The key-encryption key for a header: the master key itself, or scrypt(passphrase, salt, N, r, p). */
vault_err_t vault__kek(const struct vault__header *h, const vault_keysource_t *ks, uint8_t kek[32], char *err, size_t errlen)
{
    if (h->kdf == VAULT__KDF_RAW) {
        if (ks->kind != VAULT_KS_MASTER_KEY) {
            return vault__fail(err, errlen, VAULT_EBADKEY,
                               "this vault is sealed with a master key, not a passphrase: set SASGW_MASTER_KEY or "
                               "pass --master-key-file");
        }
        memcpy(kek, ks->master, 32);
        return 0;
    }
    if (ks->kind != VAULT_KS_PASSPHRASE) {
        return vault__fail(err, errlen, VAULT_EBADKEY,
                           "this vault is sealed with a passphrase, not a master key: set SASGW_PASSPHRASE or pass "
                           "--passphrase-file");
    }
    uint64_t N = (uint64_t)1 << h->log2n;
    uint64_t maxmem = 128 * (uint64_t)h->r * (N + (uint64_t)h->p + 2) + (1u << 20);
    if (EVP_PBE_scrypt(ks->passphrase, ks->passphrase_len, h->salt, sizeof(h->salt), N, h->r, h->p, maxmem, kek, 32) != 1) {
        return vault__fail(err, errlen, VAULT_ECRYPTO, "scrypt failed (out of memory?)");
    }
    return 0;
}
