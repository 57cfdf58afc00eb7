/*
 * vault_store.c - the vault handle: create, open, close, reload, and the one
 * write path every mutation goes through (vault__mutate).
 *
 * The order of a write, under the handle's mutex and the exclusive flock on
 * "<vault>.lock":
 *   1. re-read the vault when the file's header is not the one we hold (another
 *      process committed since), so no update is ever lost;
 *   2. apply the mutation to the in-memory state (it validates first);
 *   3. seal the new generation and write it to "<vault>.tmp", fsync;
 *   4. append the audit record (fsync) — if that fails, discard the temp file
 *      and refuse: no change without its record;
 *   5. keep the current file as "<vault>.prev", rename the temp file over the
 *      vault, fsync the directory.
 * A crash before 5 leaves the old state (and, after 4, a record of a change
 * that did not happen: the log may over-report, never under-report). A
 * failure after 2 reloads the state from disk so the handle never holds
 * something that is not on disk.
 */
#include "internal.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sasgw/common.h"

/* ---------------------------------------------------------------- the model */

void vault__secver_free(struct vault__secver *sv)
{
    sg_free_secret(sv->value, sv->len == 0 ? 1 : sv->len);
    free(sv->content_type);
    for (size_t t = 0; t < sv->ntags; t++) {
        free(sv->tags[t].key);
        free(sv->tags[t].value);
    }
    free(sv->tags);
    memset(sv, 0, sizeof(*sv));
}

void vault__secret_free(struct vault__secret *s)
{
    for (size_t j = 0; j < s->n; j++)
        vault__secver_free(&s->v[j]);
    free(s->v);
    free(s->name);
    memset(s, 0, sizeof(*s));
}

void vault__state_free(struct vault__state *s)
{
    for (size_t i = 0; i < s->naccounts; i++) {
        struct vault__account *a = &s->accounts[i];
        for (int k = 0; k < VAULT_NUM_SLOTS; k++)
            sg_secure_free(a->slot[k].v);
        free(a->name);
        free(a->backend);
    }
    free(s->accounts);
    for (size_t i = 0; i < s->nsecrets; i++)
        vault__secret_free(&s->secrets[i]);
    free(s->secrets);
    for (size_t i = 0; i < s->npolicies; i++)
        vault_policy_dispose(&s->policies[i]);
    free(s->policies);
    vault_sasdef_list_free(s->sasdefs, s->nsasdefs);
    memset(s, 0, sizeof(*s));
}

long vault__find_account(const struct vault__state *s, const char *name)
{
    for (size_t i = 0; i < s->naccounts; i++)
        if (strcmp(s->accounts[i].name, name) == 0)
            return (long)i;
    return -1;
}

long vault__find_secret(const struct vault__state *s, const char *name)
{
    size_t lo = 0, hi = s->nsecrets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->secrets[mid].name, name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---------------------------------------------------------------- loading */

vault_err_t vault__load_buffer(const uint8_t *file, size_t len, int kind, const vault_keysource_t *ks, const uint8_t *known_dk,
                               struct vault__header *h, uint8_t dk[32], struct vault__state *st, char *err, size_t errlen)
{
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    vault_err_t rc;
    memset(st, 0, sizeof(*st));
    if ((rc = vault__header_parse(file, len, kind, h, err, errlen)) != VAULT_OK)
        return rc;
    if (known_dk != NULL)
        memcpy(dk, known_dk, 32);
    else if ((rc = vault__unwrap(h, ks, dk, err, errlen)) != VAULT_OK)
        return rc;
    if ((rc = vault__decrypt(file, len, h, dk, &pt, &ptlen, err, errlen)) != VAULT_OK) {
        sg_wipe(dk, 32);
        return rc;
    }
    rc = vault__decode(pt, ptlen, st, err, errlen);
    sg_secure_free(pt);
    if (rc != 0)
        sg_wipe(dk, 32);
    return rc;
}

vault_err_t vault__load(const char *path, int kind, const vault_keysource_t *ks, const uint8_t *known_dk, struct vault__header *h,
                        uint8_t hdr_bytes[VAULT__HDR_LEN], uint8_t dk[32], struct vault__state *st, char *err, size_t errlen)
{
    uint8_t *file;
    size_t len;
    char why[512];
    vault_err_t rc;
    if ((rc = vault__read_file(path, &file, &len, err, errlen)) != VAULT_OK)
        return rc;
    if ((rc = vault__load_buffer(file, len, kind, ks, known_dk, h, dk, st, why, sizeof(why))) != VAULT_OK) {
        vault__fail(err, errlen, rc, "cannot open %s: %s", path, why);
        free(file);
        return rc;
    }
    memcpy(hdr_bytes, file, VAULT__HDR_LEN);
    free(file);
    return 0;
}

/* ---------------------------------------------------------------- the handle */

/* A handle on path with its audit log open, and no state yet; NULL with *code and err set. */
static vault_t *handle_new(const char *path, const char *audit_path, vault_err_t *code, char *err, size_t errlen)
{
    vault_t *v = sg_secure_calloc(1, sizeof(*v)); /* it holds the data key */
    pthread_mutex_init(&v->mu, NULL);
    v->path = sg_strdup(path);
    v->audit_path = audit_path != NULL ? sg_strdup(audit_path) : vault_audit_default_path(path);
    if ((v->audit = vault_audit_open(v->audit_path, err, errlen)) == NULL) {
        *code = VAULT_EINVAL;
        vault_close(v);
        return NULL;
    }
    return v;
}

void vault_close(vault_t *v)
{
    if (v == NULL)
        return;
    vault__state_free(&v->st);
    sg_wipe(v->dk, sizeof(v->dk));
    vault_audit_close(v->audit);
    free(v->path);
    free(v->audit_path);
    pthread_mutex_destroy(&v->mu);
    sg_secure_free(v);
}

vault_t *vault_open(const char *path, const vault_keysource_t *ks, const char *audit_path, vault_err_t *code, char *err,
                    size_t errlen)
{
    vault_err_t rc;
    vault_t *v = handle_new(path, audit_path, &rc, err, errlen);
    if (code != NULL)
        *code = VAULT_OK;
    if (v == NULL) {
        if (code != NULL)
            *code = rc;
        return NULL;
    }
    if ((rc = vault__load(path, VAULT__KIND_VAULT, ks, NULL, &v->hdr, v->hdr_bytes, v->dk, &v->st, err, errlen)) != VAULT_OK) {
        if (access(path, F_OK) != 0 && errno == ENOENT)
            rc = vault__fail(err, errlen, VAULT_ENOVAULT, "no vault at %s (create one with 'sasgw vault init')", path);
        if (code != NULL)
            *code = rc;
        vault_close(v);
        return NULL;
    }
    return v;
}

/* Appends a record; principal from who. */
vault_err_t vault__audit(vault_t *v, const vault_actor_t *who, const char *op, const char *object, const char *result,
                         const char *reason, char *err, size_t errlen)
{
    vault_audit_record_t rec = {
        .principal = who != NULL && who->principal != NULL ? who->principal : "cli",
        .op = op,
        .object = object,
        .result = result,
        .client = who != NULL ? who->client : NULL,
        .request_id = who != NULL ? who->request_id : NULL,
        .reason = reason,
    };
    return vault_audit_append(v->audit, &rec, err, errlen);
}

vault_err_t vault_create(const char *path, const vault_keysource_t *ks, const char *audit_path, char *err, size_t errlen)
{
    struct stat sb;
    uint8_t *pt = NULL, *file = NULL;
    size_t ptlen = 0, flen = 0;
    vault_err_t rc = VAULT_EINVAL;
    int lockfd = -1;
    char *dir = sg_strdup(path);
    vault_t *v = NULL;

    /* the directory: created (0700) when missing, one level */
    if (stat(dirname(dir), &sb) != 0 && mkdir(dir, 0700) != 0) {
        rc = vault__fail(err, errlen, VAULT_EIO, "cannot create the directory %s: %s", dir, strerror(errno));
        goto done;
    }
    if ((v = handle_new(path, audit_path, &rc, err, errlen)) == NULL)
        goto done;
    if ((lockfd = vault__lock(path, err, errlen)) < 0) {
        rc = lockfd;
        goto done;
    }
    if (lstat(path, &sb) == 0 || errno != ENOENT) {
        rc = vault__fail(err, errlen, VAULT_EEXISTS, "a vault already exists at %s; refusing to overwrite it", path);
        goto done;
    }
    if ((rc = vault__header_new(&v->hdr, ks, v->dk, err, errlen)) != VAULT_OK)
        goto done;
    v->st.retention_days = VAULT_RETENTION_MAX;
    vault__audit_head(v->audit, &v->st.audit_seq, v->st.audit_hash, NULL, 0);
    v->hdr.generation = 1;
    vault__encode(&v->st, &pt, &ptlen);
    vault__encrypt(&v->hdr, v->dk, pt, ptlen, &file, &flen);
    if ((rc = vault__tmp_write(path, file, flen, err, errlen)) != VAULT_OK)
        goto done;
    if (vault__audit(v, NULL, "vault.init", path, "ok", NULL, err, errlen) != VAULT_OK) {
        rc = VAULT_EAUDIT;
        vault__tmp_discard(path);
        goto done;
    }
    if ((rc = vault__tmp_commit(path, 0, err, errlen)) != VAULT_OK)
        goto done;
done:
    vault__unlock(lockfd);
    sg_secure_free(pt);
    free(file);
    free(dir);
    vault_close(v);
    return rc;
}

/* Replaces the state with the file on disk. v->mu held. */
static vault_err_t reload_locked(vault_t *v, char *err, size_t errlen)
{
    struct vault__header h;
    struct vault__state st;
    uint8_t hb[VAULT__HDR_LEN], dk[32];
    vault_err_t rc = vault__load(v->path, VAULT__KIND_VAULT, NULL, v->dk, &h, hb, dk, &st, err, errlen);
    if (rc != VAULT_OK)
        return rc;
    sg_wipe(dk, sizeof(dk));
    if (memcmp(h.vault_id, v->hdr.vault_id, 16) != 0) {
        vault__state_free(&st);
        return vault__fail(err, errlen, VAULT_EFOREIGN, "the vault file %s was replaced by another vault", v->path);
    }
    vault__state_free(&v->st);
    v->st = st;
    v->hdr = h;
    memcpy(v->hdr_bytes, hb, sizeof(hb));
    return 0;
}

/* Reloads when the header on disk differs from ours. *changed set accordingly. v->mu held. */
static vault_err_t refresh_locked(vault_t *v, int *changed, char *err, size_t errlen)
{
    uint8_t hb[VAULT__HDR_LEN];
    *changed = 0;
    long n = vault__read_head(v->path, hb, sizeof(hb));
    if (n < 0) {
        return vault__fail(err, errlen, VAULT_EIO, "cannot read %s: %s", v->path, strerror(errno));
    }
    if (n == (long)sizeof(hb) && memcmp(hb, v->hdr_bytes, sizeof(hb)) == 0)
        return 0;
    vault_err_t rc = reload_locked(v, err, errlen);
    if (rc != VAULT_OK)
        return rc;
    *changed = 1;
    return 0;
}

vault_err_t vault_reload_if_changed(vault_t *v, int *reloaded, char *err, size_t errlen)
{
    int changed = 0;
    pthread_mutex_lock(&v->mu);
    vault_err_t rc = refresh_locked(v, &changed, err, errlen);
    pthread_mutex_unlock(&v->mu);
    if (reloaded != NULL)
        *reloaded = changed;
    return rc;
}

uint64_t vault_generation(vault_t *v)
{
    pthread_mutex_lock(&v->mu);
    uint64_t g = v->hdr.generation;
    pthread_mutex_unlock(&v->mu);
    return g;
}

/* Drops soft-deleted secrets whose retention has ended; their names go to *names (free each and the array). */
static size_t prune_expired(struct vault__state *st, char ***names)
{
    int64_t now = vault__now();
    size_t kept = 0, pruned = 0;
    *names = NULL;
    for (size_t i = 0; i < st->nsecrets; i++) {
        struct vault__secret *s = &st->secrets[i];
        if (s->deleted_on != 0 && s->purge_on <= now) {
            *names = sg_realloc(*names, (pruned + 1) * sizeof(char *));
            (*names)[pruned++] = sg_strdup(s->name);
            vault__secret_free(s);
        } else {
            st->secrets[kept++] = *s;
        }
    }
    st->nsecrets = kept;
    return pruned;
}

vault_err_t vault__mutate(vault_t *v, const vault_actor_t *who, const char *op, const char *object, vault__mutator_t fn, void *arg,
                          char *err, size_t errlen)
{
    vault_err_t rc = VAULT_EINVAL;
    int lockfd = -1, changed, mutated = 0;
    uint8_t *pt = NULL, *file = NULL;
    size_t ptlen = 0, flen = 0, npruned = 0;
    char **pruned = NULL, why[512];
    struct vault__header h;

    pthread_mutex_lock(&v->mu);
    if (v->broken) {
        rc = vault__fail(err, errlen, VAULT_EBROKEN, "this vault handle failed to roll back an earlier write; reopen the vault");
        goto done;
    }
    if ((lockfd = vault__lock(v->path, err, errlen)) < 0) {
        rc = lockfd;
        goto done;
    }
    if ((rc = refresh_locked(v, &changed, err, errlen)) != VAULT_OK)
        goto done;

    /* the mutation validates, then changes the state */
    if ((rc = fn(&v->st, arg, why, sizeof(why))) != VAULT_OK) {
        vault__fail(err, errlen, rc, "%s", why);
        vault__audit(v, who, op, object, "refused", why, NULL, 0);
        goto done;
    }
    mutated = 1;
    npruned = prune_expired(&v->st, &pruned);

    /* seal the next generation into the temp file */
    if (vault__audit_head(v->audit, &v->st.audit_seq, v->st.audit_hash, why, sizeof(why)) != 0) {
        rc = vault__fail(err, errlen, VAULT_EAUDIT, "refused because the audit record cannot be written: %s", why);
        goto done;
    }
    h = v->hdr;
    h.generation++;
    vault__encode(&v->st, &pt, &ptlen);
    vault__encrypt(&h, v->dk, pt, ptlen, &file, &flen);
    if ((rc = vault__tmp_write(v->path, file, flen, err, errlen)) != VAULT_OK)
        goto done;

    /* the audit records, before the change becomes visible */
    int audit_failed = 0;
    for (size_t i = 0; i < npruned && !audit_failed; i++) {
        char obj[160];
        snprintf(obj, sizeof(obj), "secrets/%s", pruned[i]);
        audit_failed = vault__audit(v, who, "secret.purge", obj, "ok", "retention period ended", why, sizeof(why)) != 0;
    }
    if (audit_failed || vault__audit(v, who, op, object, "ok", NULL, why, sizeof(why)) != 0) {
        rc = vault__fail(err, errlen, VAULT_EAUDIT, "refused because the audit record cannot be written: %s", why);
        vault__tmp_discard(v->path);
        goto done;
    }

    /* commit */
    if ((rc = vault__tmp_commit(v->path, 1, err, errlen)) != VAULT_OK) {
        vault__audit(v, who, op, object, "error", err, NULL, 0);
        goto done;
    }
    v->hdr = h;
    vault__header_write(&h, v->hdr_bytes);
    rc = VAULT_OK;
done:
    if (rc != 0 && mutated && reload_locked(v, why, sizeof(why)) != 0)
        v->broken = 1;
    vault__unlock(lockfd);
    pthread_mutex_unlock(&v->mu);
    if (pt != NULL)
        sg_secure_free(pt);
    free(file);
    for (size_t i = 0; i < npruned; i++)
        free(pruned[i]);
    free(pruned);
    return rc;
}

/* ---------------------------------------------------------------- status and settings */

void vault_get_status(vault_t *v, vault_status_t *st)
{
    static const char hex[] = "0123456789abcdef";
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&v->mu);
    for (int i = 0; i < 16; i++) {
        st->vault_id[2 * i] = hex[v->hdr.vault_id[i] >> 4];
        st->vault_id[2 * i + 1] = hex[v->hdr.vault_id[i] & 15];
    }
    st->generation = v->hdr.generation;
    st->format_version = v->hdr.format;
    st->sealed_by = v->hdr.kdf == VAULT__KDF_SCRYPT ? VAULT_KS_PASSPHRASE : VAULT_KS_MASTER_KEY;
    st->retention_days = v->st.retention_days;
    st->purge_protection = v->st.purge_protection;
    st->accounts = v->st.naccounts;
    st->secrets = v->st.nsecrets;
    for (size_t i = 0; i < v->st.nsecrets; i++) {
        st->secrets_deleted += v->st.secrets[i].deleted_on != 0;
        st->secret_versions += v->st.secrets[i].n;
    }
    st->policies = v->st.npolicies;
    snprintf(st->path, sizeof(st->path), "%s", v->path);
    snprintf(st->audit_path, sizeof(st->audit_path), "%s", v->audit_path);
    pthread_mutex_unlock(&v->mu);
}

struct settings_arg {
    unsigned retention;
    int purge;
};

static vault_err_t settings_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct settings_arg *a = arg;
    if (a->retention != 0 && (a->retention < VAULT_RETENTION_MIN || a->retention > VAULT_RETENTION_MAX)) {
        return vault__fail(err, errlen, VAULT_EINVAL, "the retention period must be between %d and %d days", VAULT_RETENTION_MIN,
                           VAULT_RETENTION_MAX);
    }
    if (a->purge == 0 && st->purge_protection) {
        return vault__fail(err, errlen, VAULT_EPURGEPROTECTED, "purge protection is on and cannot be turned off");
    }
    if (a->retention != 0)
        st->retention_days = a->retention;
    if (a->purge >= 0)
        st->purge_protection = (uint8_t)a->purge;
    return 0;
}

vault_err_t vault_settings_set(vault_t *v, const vault_actor_t *who, unsigned retention_days, int purge_protection, char *err,
                               size_t errlen)
{
    struct settings_arg a = {retention_days, purge_protection};
    char obj[96];
    snprintf(obj, sizeof(obj), "settings retention_days=%u purge_protection=%d", retention_days, purge_protection);
    return vault__mutate(v, who, "vault.settings", obj, settings_apply, &a, err, errlen);
}

vault_audit_t *vault_audit_of(vault_t *v)
{
    return v->audit;
}
