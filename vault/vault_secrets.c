/*
 * vault_secrets.c - secrets as Azure Key Vault has them: a name, versions with
 * attributes, soft delete with a retention period, recover, purge (refused
 * under purge protection). Addressed as secrets/{name}/{version}; a version id
 * is 32 random hex digits. Values are copied once into memory that is wiped on
 * free; list calls never return them.
 *
 * Beyond Azure, a get enforces the attributes: a disabled version, one before
 * its nbf or after its exp is refused (Azure only reports them).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

void vault__attrs_copy(vault_secret_attrs_t *out, const struct vault__secver *sv)
{
    memcpy(out->version, sv->id, sizeof(out->version));
    out->content_type = sg_strdup(sv->content_type);
    out->ntags = sv->ntags;
    out->tags = sg_calloc(sv->ntags, sizeof(vault_tag_t));
    for (size_t t = 0; t < sv->ntags; t++) {
        out->tags[t].key = sg_strdup(sv->tags[t].key);
        out->tags[t].value = sg_strdup(sv->tags[t].value);
    }
    out->enabled = sv->enabled;
    out->nbf = sv->nbf;
    out->exp = sv->exp;
    out->created = sv->created;
    out->updated = sv->updated;
}

void vault_secret_attrs_dispose(vault_secret_attrs_t *a)
{
    free(a->content_type);
    for (size_t t = 0; t < a->ntags; t++) {
        free(a->tags[t].key);
        free(a->tags[t].value);
    }
    free(a->tags);
    memset(a, 0, sizeof(*a));
}

static int check_name(const char *name, char *err, size_t errlen)
{
    if (!vault_valid_secret_name(name)) {
        vault__fail(err, errlen, VAULT_EINVAL, "'%.140s' is not a valid secret name: use 1 to %d letters, digits and dashes", name,
                    VAULT_NAME_MAX);
        return 0;
    }
    return 1;
}

static void object_of(char *obj, size_t cap, const char *name, const char *version)
{
    snprintf(obj, cap, "secrets/%.140s%s%.40s", name, version != NULL ? "/" : "", version != NULL ? version : "");
}

/* ---------------------------------------------------------------- set */

struct set_arg {
    const char *name;
    const uint8_t *value;
    size_t len;
    const vault_secret_input_t *in;
    char version[VAULT_VERSION_ID_LEN + 1];
};

static int check_input(const struct set_arg *a, char *err, size_t errlen)
{
    const vault_secret_input_t *in = a->in;
    if (!check_name(a->name, err, errlen))
        return 0;
    if (a->len > VAULT_SECRET_MAX) {
        vault__fail(err, errlen, VAULT_EINVAL, "the secret value is %zu bytes; at most %d bytes (25 KB) are allowed", a->len,
                    VAULT_SECRET_MAX);
        return 0;
    }
    if (in == NULL)
        return 1;
    if (in->content_type != NULL && strlen(in->content_type) > 255) {
        vault__fail(err, errlen, VAULT_EINVAL, "the content type is longer than 255 characters");
        return 0;
    }
    if (in->ntags > VAULT__MAX_TAGS) {
        vault__fail(err, errlen, VAULT_EINVAL, "a secret may carry at most %u tags", VAULT__MAX_TAGS);
        return 0;
    }
    for (size_t t = 0; t < in->ntags; t++) {
        size_t kl = strlen(in->tags[t].key), vl = strlen(in->tags[t].value);
        if (kl < 1 || kl > 256 || vl > 256) {
            vault__fail(err, errlen, VAULT_EINVAL, "tag names must be 1 to 256 characters and tag values at most 256");
            return 0;
        }
        for (size_t u = 0; u < t; u++)
            if (strcmp(in->tags[u].key, in->tags[t].key) == 0) {
                vault__fail(err, errlen, VAULT_EINVAL, "the tag '%.100s' is given twice", in->tags[t].key);
                return 0;
            }
    }
    if (in->nbf < 0 || in->exp < 0 || in->nbf > 253402300799 || in->exp > 253402300799) {
        vault__fail(err, errlen, VAULT_EINVAL, "the not-before or expiry time is out of range");
        return 0;
    }
    if (in->nbf != 0 && in->exp != 0 && in->nbf >= in->exp) {
        vault__fail(err, errlen, VAULT_EINVAL, "the not-before time must be earlier than the expiry time");
        return 0;
    }
    return 1;
}

static vault_err_t set_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct set_arg *a = arg;
    const vault_secret_input_t *in = a->in;
    uint8_t rnd[16];
    if (!check_input(a, err, errlen))
        return VAULT_EINVAL;
    long i = vault__find_secret(st, a->name);
    if (i >= 0 && st->secrets[i].deleted_on != 0) {
        return vault__fail(err, errlen, VAULT_EDELETED, "the secret '%s' is deleted; recover or purge it first", a->name);
    }
    if (i >= 0 && st->secrets[i].n >= VAULT__MAX_ITEMS) {
        return vault__fail(err, errlen, VAULT_ELIMIT, "the secret '%s' has too many versions", a->name);
    }
    if (i < 0) {
        /* insert sorted by name */
        size_t at = 0, lo = 0, hi = st->nsecrets;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(st->secrets[mid].name, a->name) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        at = lo;
        st->secrets = sg_realloc(st->secrets, (st->nsecrets + 1) * sizeof(*st->secrets));
        memmove(&st->secrets[at + 1], &st->secrets[at], (st->nsecrets - at) * sizeof(*st->secrets));
        memset(&st->secrets[at], 0, sizeof(st->secrets[at]));
        st->secrets[at].name = sg_strdup(a->name);
        st->nsecrets++;
        i = (long)at;
    }
    struct vault__secret *s = &st->secrets[i];
    /* the version array only holds pointers to values: growing it moves no secret bytes */
    s->v = sg_realloc(s->v, (s->n + 1) * sizeof(*s->v));
    struct vault__secver *sv = &s->v[s->n++];
    memset(sv, 0, sizeof(*sv));
    sg_random(rnd, sizeof(rnd));
    for (int k = 0; k < 16; k++)
        snprintf(sv->id + 2 * k, 3, "%02x", rnd[k]);
    sv->value = sg_alloc(a->len == 0 ? 1 : a->len);
    if (a->len > 0)
        memcpy(sv->value, a->value, a->len);
    sv->len = a->len;
    sv->content_type = sg_strdup(in != NULL && in->content_type != NULL ? in->content_type : "");
    sv->ntags = in != NULL ? in->ntags : 0;
    sv->tags = sg_calloc(sv->ntags, sizeof(vault_tag_t));
    for (size_t t = 0; t < sv->ntags; t++) {
        sv->tags[t].key = sg_strdup(in->tags[t].key);
        sv->tags[t].value = sg_strdup(in->tags[t].value);
    }
    sv->enabled = in == NULL || !in->disabled;
    sv->nbf = in != NULL ? in->nbf : 0;
    sv->exp = in != NULL ? in->exp : 0;
    sv->created = sv->updated = vault__now();
    memcpy(a->version, sv->id, sizeof(a->version));
    return 0;
}

vault_err_t vault_secret_set(vault_t *v, const vault_actor_t *who, const char *name, const uint8_t *value, size_t len,
                             const vault_secret_input_t *in, char version_out[VAULT_VERSION_ID_LEN + 1], char *err, size_t errlen)
{
    struct set_arg a = {name, value, len, in, {0}};
    char obj[200];
    object_of(obj, sizeof(obj), name, NULL);
    vault_err_t rc = vault__mutate(v, who, "secret.set", obj, set_apply, &a, err, errlen);
    if (rc == 0 && version_out != NULL)
        memcpy(version_out, a.version, sizeof(a.version));
    return rc;
}

/* ---------------------------------------------------------------- get */

void vault_secret_dispose(vault_secret_t *s)
{
    if (s == NULL)
        return;
    sg_free_secret(s->value, s->value_len == 0 ? 1 : s->value_len);
    free(s->name);
    vault_secret_attrs_dispose(&s->attrs);
    memset(s, 0, sizeof(*s));
}

/* Finds the version to read, or returns NULL with *code and err set. v->mu held. */
static const struct vault__secver *pick(const struct vault__state *st, const char *name, const char *version, vault_err_t *code,
                                        char *err, size_t errlen)
{
    char when[32];
    long i = vault__find_secret(st, name);
    if (i < 0) {
        *code = vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no secret named '%s'", name);
        return NULL;
    }
    const struct vault__secret *s = &st->secrets[i];
    if (s->deleted_on != 0) {
        *code = vault__fail(err, errlen, VAULT_EDELETED, "the secret '%s' is deleted (recover it to read it)", name);
        return NULL;
    }
    const struct vault__secver *sv = NULL;
    if (version == NULL) {
        sv = &s->v[s->n - 1];
    } else {
        for (size_t j = 0; j < s->n; j++)
            if (strcmp(s->v[j].id, version) == 0)
                sv = &s->v[j];
        if (sv == NULL) {
            *code = vault__fail(err, errlen, VAULT_ENOTFOUND, "the secret '%s' has no version '%.40s'", name, version);
            return NULL;
        }
    }
    int64_t now = vault__now();
    if (!sv->enabled) {
        *code = vault__fail(err, errlen, VAULT_EDISABLED, "version %s of the secret '%s' is disabled", sv->id, name);
        return NULL;
    }
    if (sv->nbf != 0 && now < sv->nbf) {
        vault_time_format(sv->nbf, when, sizeof(when));
        *code = vault__fail(err, errlen, VAULT_ENOTYETVALID, "version %s of the secret '%s' is not valid before %s", sv->id, name,
                            when);
        return NULL;
    }
    if (sv->exp != 0 && now >= sv->exp) {
        vault_time_format(sv->exp, when, sizeof(when));
        *code = vault__fail(err, errlen, VAULT_EEXPIRED, "version %s of the secret '%s' expired at %s", sv->id, name, when);
        return NULL;
    }
    return sv;
}

vault_err_t vault_secret_get(vault_t *v, const vault_actor_t *who, const char *name, const char *version, vault_secret_t *out,
                             char *err, size_t errlen)
{
    char obj[200], why[512];
    memset(out, 0, sizeof(*out));
    if (!check_name(name, err, errlen))
        return VAULT_EINVAL;
    pthread_mutex_lock(&v->mu);
    vault_err_t rc = VAULT_OK;
    const struct vault__secver *sv = pick(&v->st, name, version, &rc, why, sizeof(why));
    object_of(obj, sizeof(obj), name, sv != NULL ? sv->id : version);
    if (sv == NULL) {
        pthread_mutex_unlock(&v->mu);
        vault__fail(err, errlen, rc, "%s", why);
        vault__audit(v, who, "secret.get", obj, "refused", why, NULL, 0);
        return rc;
    }
    /* the record first: no read without it */
    if (vault__audit(v, who, "secret.get", obj, "ok", NULL, why, sizeof(why)) != 0) {
        pthread_mutex_unlock(&v->mu);
        return vault__fail(err, errlen, VAULT_EAUDIT, "refused because the audit record cannot be written: %s", why);
    }
    out->name = sg_strdup(name);
    vault__attrs_copy(&out->attrs, sv);
    out->value = sg_alloc(sv->len == 0 ? 1 : sv->len);
    memcpy(out->value, sv->value, sv->len);
    out->value_len = sv->len;
    pthread_mutex_unlock(&v->mu);
    return 0;
}

/* ---------------------------------------------------------------- list */

vault_err_t vault_secret_list(vault_t *v, const char *name, vault_secret_info_t **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (name != NULL && !check_name(name, err, errlen))
        return VAULT_EINVAL;
    pthread_mutex_lock(&v->mu);
    const struct vault__state *st = &v->st;
    size_t from = 0, to = st->nsecrets;
    if (name != NULL) {
        long i = vault__find_secret(st, name);
        if (i < 0) {
            pthread_mutex_unlock(&v->mu);
            return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no secret named '%s'", name);
        }
        from = (size_t)i;
        to = from + 1;
    }
    vault_secret_info_t *list = sg_calloc(to - from, sizeof(*list));
    for (size_t i = from; i < to; i++) {
        const struct vault__secret *s = &st->secrets[i];
        vault_secret_info_t *e = &list[i - from];
        e->name = sg_strdup(s->name);
        e->deleted = s->deleted_on != 0;
        e->deleted_on = s->deleted_on;
        e->purge_on = s->purge_on;
        e->nversions = s->n;
        e->versions = sg_calloc(s->n, sizeof(vault_secret_attrs_t));
        for (size_t j = 0; j < s->n; j++)
            vault__attrs_copy(&e->versions[j], &s->v[j]);
    }
    pthread_mutex_unlock(&v->mu);
    *out = list;
    *n = to - from;
    return 0;
}

void vault_secret_list_free(vault_secret_info_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < list[i].nversions; j++)
            vault_secret_attrs_dispose(&list[i].versions[j]);
        free(list[i].versions);
        free(list[i].name);
    }
    free(list);
}

/* ---------------------------------------------------------------- delete, recover, purge */

enum { OP_DELETE, OP_RECOVER, OP_PURGE };

struct life_arg {
    const char *name;
    int op;
};

static vault_err_t life_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct life_arg *a = arg;
    if (!check_name(a->name, err, errlen))
        return VAULT_EINVAL;
    long i = vault__find_secret(st, a->name);
    if (i < 0) {
        return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no secret named '%s'", a->name);
    }
    struct vault__secret *s = &st->secrets[i];
    switch (a->op) {
    case OP_DELETE:
        if (s->deleted_on != 0) {
            return vault__fail(err, errlen, VAULT_EDELETED, "the secret '%s' is already deleted", a->name);
        }
        s->deleted_on = vault__now();
        s->purge_on = s->deleted_on + (int64_t)st->retention_days * 86400;
        return 0;
    case OP_RECOVER:
        if (s->deleted_on == 0) {
            return vault__fail(err, errlen, VAULT_ENOTDELETED, "the secret '%s' is not deleted", a->name);
        }
        s->deleted_on = s->purge_on = 0;
        return 0;
    default:
        if (s->deleted_on == 0) {
            return vault__fail(err, errlen, VAULT_ENOTDELETED, "the secret '%s' is not deleted; delete it before purging it",
                               a->name);
        }
        if (st->purge_protection) {
            return vault__fail(err, errlen, VAULT_EPURGEPROTECTED,
                               "purge protection is on: the secret '%s' is purged when its retention period ends", a->name);
        }
        vault__secret_free(s);
        memmove(&st->secrets[i], &st->secrets[i + 1], (st->nsecrets - (size_t)i - 1) * sizeof(*s));
        st->nsecrets--;
        return 0;
    }
}

static int life(vault_t *v, const vault_actor_t *who, const char *name, int op, const char *opname, char *err, size_t errlen)
{
    struct life_arg a = {name, op};
    char obj[200];
    object_of(obj, sizeof(obj), name, NULL);
    return vault__mutate(v, who, opname, obj, life_apply, &a, err, errlen);
}

vault_err_t vault_secret_delete(vault_t *v, const vault_actor_t *who, const char *name, char *err, size_t errlen)
{
    return life(v, who, name, OP_DELETE, "secret.delete", err, errlen);
}

vault_err_t vault_secret_recover(vault_t *v, const vault_actor_t *who, const char *name, char *err, size_t errlen)
{
    return life(v, who, name, OP_RECOVER, "secret.recover", err, errlen);
}

vault_err_t vault_secret_purge(vault_t *v, const vault_actor_t *who, const char *name, char *err, size_t errlen)
{
    return life(v, who, name, OP_PURGE, "secret.purge", err, errlen);
}
