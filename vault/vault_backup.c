/*
 * vault_backup.c - encrypted exports of the whole vault and their restore.
 *
 * A backup is the vault's container under the magic "SGVBACK1": the same
 * wrapped data key and vault id, a fresh nonce, the full payload. So it opens
 * only with the vault's master key (or passphrase), the GCM tag covers every
 * byte, and the vault id in the authenticated header binds it to its vault: a
 * backup of another vault is refused even when the same master key seals both.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sasgw/common.h"

static void id_hex(const uint8_t id[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

vault_err_t vault_backup(vault_t *v, const vault_actor_t *who, const char *path, char *err, size_t errlen)
{
    uint8_t *pt = NULL, *file = NULL;
    size_t ptlen = 0, flen = 0;
    char why[512];
    vault_err_t rc;

    if ((rc = vault_reload_if_changed(v, NULL, err, errlen)) != VAULT_OK)
        return rc;
    pthread_mutex_lock(&v->mu);
    struct vault__header h = v->hdr;
    h.kind = VAULT__KIND_BACKUP;
    vault__encode(&v->st, &pt, &ptlen);
    vault__encrypt(&h, v->dk, pt, ptlen, &file, &flen);
    pthread_mutex_unlock(&v->mu);

    if ((rc = vault__tmp_write(path, file, flen, err, errlen)) != VAULT_OK)
        goto done;
    if (vault__audit(v, who, "vault.backup", path, "ok", NULL, why, sizeof(why)) != 0) {
        rc = vault__fail(err, errlen, VAULT_EAUDIT, "refused because the audit record cannot be written: %s", why);
        vault__tmp_discard(path);
        goto done;
    }
    rc = vault__tmp_commit(path, 0, err, errlen);
done:
    sg_secure_free(pt);
    free(file);
    return rc;
}

vault_err_t vault_restore(const char *vault_path, const vault_keysource_t *ks, const char *audit_path, const vault_actor_t *who,
                          const char *backup_path, char *err, size_t errlen)
{
    struct vault__header bh, ch, nh;
    struct vault__state bst, cst;
    uint8_t bhb[VAULT__HDR_LEN], chb[VAULT__HDR_LEN], bdk[32], cdk[32], *pt = NULL, *file = NULL;
    size_t ptlen = 0, flen = 0;
    char why[512], a[33], b[33];
    char *apath = audit_path != NULL ? sg_strdup(audit_path) : vault_audit_default_path(vault_path);
    vault_audit_t *audit = vault_audit_open(apath, err, errlen);
    vault_audit_record_t rec = {.principal = who != NULL ? who->principal : NULL,
                                .op = "vault.restore",
                                .object = backup_path,
                                .result = "refused",
                                .client = who != NULL ? who->client : NULL,
                                .request_id = who != NULL ? who->request_id : NULL};
    struct stat sb;
    vault_err_t rc = VAULT_EINVAL;
    int lockfd = -1;
    memset(&bst, 0, sizeof(bst));
    memset(&cst, 0, sizeof(cst));
    memset(cdk, 0, sizeof(cdk));
    memset(bdk, 0, sizeof(bdk));
    if (audit == NULL)
        goto done;

    /* the backup: authentic, and readable with this key */
    if ((rc = vault__load(backup_path, VAULT__KIND_BACKUP, ks, NULL, &bh, bhb, bdk, &bst, why, sizeof(why))) != VAULT_OK) {
        vault__fail(err, errlen, rc, "%s", why);
        rec.reason = why;
        vault_audit_append(audit, &rec, NULL, 0);
        goto done;
    }
    if ((lockfd = vault__lock(vault_path, err, errlen)) < 0) {
        rc = lockfd;
        goto done;
    }

    /* the vault it goes into: the same vault, or none */
    if (lstat(vault_path, &sb) == 0) {
        if ((rc = vault__load(vault_path, VAULT__KIND_VAULT, ks, NULL, &ch, chb, cdk, &cst, why, sizeof(why))) != VAULT_OK) {
            vault__fail(err, errlen, rc, "the current vault cannot be opened (%s); move it away to restore into a new vault", why);
            rec.reason = "the current vault cannot be opened";
            vault_audit_append(audit, &rec, NULL, 0);
            goto done;
        }
        if (memcmp(ch.vault_id, bh.vault_id, 16) != 0 || !sg_ct_equal(cdk, bdk, 32)) {
            id_hex(bh.vault_id, a);
            id_hex(ch.vault_id, b);
            rc = vault__fail(err, errlen, VAULT_EFOREIGN, "the backup belongs to another vault (vault id %s; this vault is %s)", a,
                             b);
            rec.reason = "foreign backup";
            vault_audit_append(audit, &rec, NULL, 0);
            goto done;
        }
        nh = ch;
        nh.generation = (ch.generation > bh.generation ? ch.generation : bh.generation) + 1;
    } else if (errno == ENOENT) {
        nh = bh;
        nh.kind = VAULT__KIND_VAULT;
        nh.generation = bh.generation + 1;
    } else {
        rc = vault__fail(err, errlen, VAULT_EIO, "cannot stat %s: %s", vault_path, strerror(errno));
        goto done;
    }

    /* write the new generation, audit, commit */
    if ((rc = vault__audit_head(audit, &bst.audit_seq, bst.audit_hash, err, errlen)) != VAULT_OK)
        goto done;
    vault__encode(&bst, &pt, &ptlen);
    vault__encrypt(&nh, bdk, pt, ptlen, &file, &flen);
    if ((rc = vault__tmp_write(vault_path, file, flen, err, errlen)) != VAULT_OK)
        goto done;
    rec.result = "ok";
    if (vault_audit_append(audit, &rec, why, sizeof(why)) != 0) {
        rc = vault__fail(err, errlen, VAULT_EAUDIT, "refused because the audit record cannot be written: %s", why);
        vault__tmp_discard(vault_path);
        goto done;
    }
    rc = vault__tmp_commit(vault_path, 1, err, errlen);
done:
    vault__unlock(lockfd);
    vault__state_free(&bst);
    vault__state_free(&cst);
    sg_wipe(bdk, sizeof(bdk));
    sg_wipe(cdk, sizeof(cdk));
    if (pt != NULL)
        sg_secure_free(pt);
    free(file);
    vault_audit_close(audit);
    free(apath);
    return rc;
}
