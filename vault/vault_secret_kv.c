/*
 * vault_secret_kv.c - what the Key Vault API needs of secrets beyond the
 * admin API's calls: updating a version's attributes, and a one-secret
 * backup blob bound to this vault.
 *
 * The blob: "SGVSEC01" | vault id (16) | nonce (12) | ciphertext | GCM tag
 * (16). The ciphertext is the vault's own payload encoding of a state that
 * holds just that secret, sealed with AES-256-GCM under the vault's data key,
 * the first 36 bytes as AAD. Another vault has another id and another data
 * key: its restore refuses the blob by id, and a forged id fails the tag. A
 * whole-vault restore never reads it (another magic).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

#define BLOB_MAGIC "SGVSEC01"
#define BLOB_HEAD (8 + 16 + 12)
#define BLOB_MAX (4u << 20)

/* ---------------------------------------------------------------- update */

struct update_arg {
    const char *name, *version;
    const vault_secret_update_t *up;
    vault_secret_attrs_t *out;
};

static int valid_tags(const vault_secret_update_t *up, char *err, size_t errlen)
{
    if (up->ntags > VAULT__MAX_TAGS) {
        vault__fail(err, errlen, VAULT_EINVAL, "a secret may carry at most %u tags", VAULT__MAX_TAGS);
        return 0;
    }
    for (size_t t = 0; t < up->ntags; t++) {
        size_t kl = strlen(up->tags[t].key), vl = strlen(up->tags[t].value);
        if (kl < 1 || kl > 256 || vl > 256) {
            vault__fail(err, errlen, VAULT_EINVAL, "tag names must be 1 to 256 characters and tag values at most 256");
            return 0;
        }
        for (size_t u = 0; u < t; u++)
            if (strcmp(up->tags[u].key, up->tags[t].key) == 0) {
                vault__fail(err, errlen, VAULT_EINVAL, "the tag '%.100s' is given twice", up->tags[t].key);
                return 0;
            }
    }
    return 1;
}

static vault_err_t update_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct update_arg *a = arg;
    const vault_secret_update_t *up = a->up;
    if (!vault_valid_secret_name(a->name))
        return vault__fail(err, errlen, VAULT_EINVAL, "'%.140s' is not a valid secret name", a->name);
    long i = vault__find_secret(st, a->name);
    if (i < 0)
        return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no secret named '%s'", a->name);
    struct vault__secret *s = &st->secrets[i];
    if (s->deleted_on != 0)
        return vault__fail(err, errlen, VAULT_EDELETED, "the secret '%s' is deleted", a->name);
    struct vault__secver *sv = NULL;
    if (a->version == NULL || a->version[0] == '\0') {
        sv = &s->v[s->n - 1];
    } else {
        for (size_t j = 0; j < s->n; j++)
            if (strcmp(s->v[j].id, a->version) == 0)
                sv = &s->v[j];
        if (sv == NULL)
            return vault__fail(err, errlen, VAULT_ENOTFOUND, "the secret '%s' has no version '%.40s'", a->name, a->version);
    }
    /* validate everything before changing anything */
    if (up->has_content_type && up->content_type != NULL && strlen(up->content_type) > 255)
        return vault__fail(err, errlen, VAULT_EINVAL, "the content type is longer than 255 characters");
    if (up->has_tags && !valid_tags(up, err, errlen))
        return VAULT_EINVAL;
    int64_t nbf = up->has_nbf ? up->nbf : sv->nbf, exp = up->has_exp ? up->exp : sv->exp;
    if (nbf < 0 || exp < 0 || nbf > 253402300799 || exp > 253402300799)
        return vault__fail(err, errlen, VAULT_EINVAL, "the not-before or expiry time is out of range");
    if (nbf != 0 && exp != 0 && nbf >= exp)
        return vault__fail(err, errlen, VAULT_EINVAL, "the not-before time must be earlier than the expiry time");

    if (up->has_content_type) {
        free(sv->content_type);
        sv->content_type = sg_strdup(up->content_type != NULL ? up->content_type : "");
    }
    if (up->has_tags) {
        for (size_t t = 0; t < sv->ntags; t++) {
            free(sv->tags[t].key);
            free(sv->tags[t].value);
        }
        free(sv->tags);
        sv->ntags = up->ntags;
        sv->tags = sg_calloc(up->ntags, sizeof(vault_tag_t));
        for (size_t t = 0; t < up->ntags; t++) {
            sv->tags[t].key = sg_strdup(up->tags[t].key);
            sv->tags[t].value = sg_strdup(up->tags[t].value);
        }
    }
    if (up->has_enabled)
        sv->enabled = up->enabled != 0;
    sv->nbf = nbf;
    sv->exp = exp;
    sv->updated = vault__now();
    if (a->out != NULL)
        vault__attrs_copy(a->out, sv);
    return 0;
}

vault_err_t vault_secret_update(vault_t *v, const vault_actor_t *who, const char *name, const char *version,
                                const vault_secret_update_t *up, vault_secret_attrs_t *out, char *err, size_t errlen)
{
    struct update_arg a = {name, version, up, out};
    char obj[200];
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    snprintf(obj, sizeof(obj), "secrets/%.140s%s%.40s", name, version != NULL && version[0] ? "/" : "",
             version != NULL ? version : "");
    vault_err_t rc = vault__mutate(v, who, "secret.update", obj, update_apply, &a, err, errlen);
    /* a write that failed after the change was applied leaves out filled: give nothing back then */
    if (rc != VAULT_OK && out != NULL)
        vault_secret_attrs_dispose(out);
    return rc;
}

/* ---------------------------------------------------------------- backup */

vault_err_t vault_secret_backup(vault_t *v, const vault_actor_t *who, const char *name, uint8_t **blob, size_t *len, char *err,
                                size_t errlen)
{
    uint8_t *pt = NULL, *out = NULL;
    size_t ptlen = 0;
    char obj[200], why[512];
    vault_err_t rc;

    *blob = NULL;
    *len = 0;
    if (!vault_valid_secret_name(name))
        return vault__fail(err, errlen, VAULT_EINVAL, "'%.140s' is not a valid secret name", name);
    if ((rc = vault_reload_if_changed(v, NULL, err, errlen)) != VAULT_OK)
        return rc;
    snprintf(obj, sizeof(obj), "secrets/%.140s", name);

    pthread_mutex_lock(&v->mu);
    long i = vault__find_secret(&v->st, name);
    if (i < 0 || v->st.secrets[i].deleted_on != 0) {
        rc = vault__fail(err, errlen, i < 0 ? VAULT_ENOTFOUND : VAULT_EDELETED,
                         i < 0 ? "there is no secret named '%s'" : "the secret '%s' is deleted", name);
        pthread_mutex_unlock(&v->mu);
        vault__audit(v, who, "secret.backup", obj, "refused", err, NULL, 0);
        return rc;
    }
    /* a state holding only this secret (borrowed: never freed as a state) */
    struct vault__state one;
    memset(&one, 0, sizeof(one));
    one.retention_days = v->st.retention_days;
    one.nsecrets = 1;
    one.secrets = &v->st.secrets[i];
    vault__encode(&one, &pt, &ptlen);
    out = sg_alloc(BLOB_HEAD + ptlen + VAULT__TAG_LEN);
    memcpy(out, BLOB_MAGIC, 8);
    memcpy(out + 8, v->hdr.vault_id, 16);
    sg_random(out + 24, 12);
    int sealed = vault__gcm(1, v->dk, out + 24, out, BLOB_HEAD, pt, ptlen, out + BLOB_HEAD, out + BLOB_HEAD + ptlen);
    pthread_mutex_unlock(&v->mu);
    sg_secure_free(pt);
    if (sealed != 0) {
        free(out);
        return vault__fail(err, errlen, VAULT_ECRYPTO, "AES-GCM failed while sealing the backup");
    }
    if (vault__audit(v, who, "secret.backup", obj, "ok", NULL, why, sizeof(why)) != VAULT_OK) {
        free(out);
        return vault__fail(err, errlen, VAULT_EAUDIT, "refused because the audit record cannot be written: %s", why);
    }
    *blob = out;
    *len = BLOB_HEAD + ptlen + VAULT__TAG_LEN;
    return VAULT_OK;
}

/* ---------------------------------------------------------------- restore */

struct restore_arg {
    struct vault__secret *secret; /* moved into the state on success */
};

static vault_err_t restore_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct restore_arg *a = arg;
    if (vault__find_secret(st, a->secret->name) >= 0)
        return vault__fail(err, errlen, VAULT_EEXISTS, "a secret named '%s' already exists (live or deleted)", a->secret->name);
    size_t lo = 0, hi = st->nsecrets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(st->secrets[mid].name, a->secret->name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    st->secrets = sg_realloc(st->secrets, (st->nsecrets + 1) * sizeof(*st->secrets));
    memmove(&st->secrets[lo + 1], &st->secrets[lo], (st->nsecrets - lo) * sizeof(*st->secrets));
    st->secrets[lo] = *a->secret;
    st->secrets[lo].deleted_on = st->secrets[lo].purge_on = 0;
    st->nsecrets++;
    memset(a->secret, 0, sizeof(*a->secret));
    return 0;
}

/* Checks, opens and decodes a blob into *st (one secret). VAULT_OK, or the reason with err set (st empty). */
static vault_err_t open_blob(vault_t *v, const uint8_t *blob, size_t len, struct vault__state *st, char *err, size_t errlen)
{
    uint8_t *pt = NULL, tag[VAULT__TAG_LEN];
    vault_err_t rc;

    memset(st, 0, sizeof(*st));
    if (len < BLOB_HEAD + VAULT__TAG_LEN || len > BLOB_MAX || memcmp(blob, BLOB_MAGIC, 8) != 0)
        return vault__fail(err, errlen, VAULT_EFORMAT, "the value is not a secret backup of this vault");
    if ((rc = vault_reload_if_changed(v, NULL, err, errlen)) != VAULT_OK)
        return rc;
    size_t ctlen = len - BLOB_HEAD - VAULT__TAG_LEN;
    pt = sg_secure_alloc(ctlen == 0 ? 1 : ctlen);
    memcpy(tag, blob + BLOB_HEAD + ctlen, VAULT__TAG_LEN);
    pthread_mutex_lock(&v->mu);
    int foreign = memcmp(blob + 8, v->hdr.vault_id, 16) != 0;
    int opened = !foreign && vault__gcm(0, v->dk, blob + 24, blob, BLOB_HEAD, blob + BLOB_HEAD, ctlen, pt, tag) == 0;
    pthread_mutex_unlock(&v->mu);
    if (foreign || !opened) {
        rc = vault__fail(err, errlen, foreign ? VAULT_EFOREIGN : VAULT_ECORRUPT,
                         foreign ? "the backup belongs to another vault" : "the backup failed its integrity check");
    } else if ((rc = vault__decode(pt, ctlen, st, err, errlen)) == VAULT_OK &&
               (st->nsecrets != 1 || st->naccounts != 0 || st->npolicies != 0 || st->secrets[0].n == 0)) {
        vault__state_free(st);
        rc = vault__fail(err, errlen, VAULT_ECORRUPT, "the backup does not hold exactly one secret");
    }
    sg_secure_free(pt);
    return rc;
}

vault_err_t vault_secret_backup_name(vault_t *v, const uint8_t *blob, size_t len, char name_out[VAULT_NAME_MAX + 1], char *err,
                                     size_t errlen)
{
    struct vault__state st;
    vault_err_t rc = open_blob(v, blob, len, &st, err, errlen);
    name_out[0] = '\0';
    if (rc == VAULT_OK)
        snprintf(name_out, VAULT_NAME_MAX + 1, "%s", st.secrets[0].name);
    vault__state_free(&st);
    return rc;
}

vault_err_t vault_secret_restore(vault_t *v, const vault_actor_t *who, const uint8_t *blob, size_t len,
                                 char name_out[VAULT_NAME_MAX + 1], char *err, size_t errlen)
{
    struct vault__state st;
    char obj[200];
    vault_err_t rc;

    if (name_out != NULL)
        name_out[0] = '\0';
    if ((rc = open_blob(v, blob, len, &st, err, errlen)) != VAULT_OK) {
        vault__audit(v, who, "secret.restore", "secrets", "refused", err, NULL, 0);
        return rc;
    }
    snprintf(obj, sizeof(obj), "secrets/%.140s", st.secrets[0].name);
    if (name_out != NULL)
        snprintf(name_out, VAULT_NAME_MAX + 1, "%s", st.secrets[0].name);
    struct restore_arg a = {&st.secrets[0]};
    rc = vault__mutate(v, who, "secret.restore", obj, restore_apply, &a, err, errlen);
    vault__state_free(&st);
    return rc;
}
