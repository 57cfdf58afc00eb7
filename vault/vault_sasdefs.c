/*
 * vault_sasdefs.c - Key Vault managed-storage SAS definitions per account
 * (see vault.h): the template URI and ISO 8601 duration readers, and the
 * definitions themselves, sorted by (account, name) in the state.
 */
#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

/* ---------------------------------------------------------------- names and durations */

int vault_valid_sasdef_name(const char *name)
{
    size_t n = 0;
    if (name == NULL)
        return 0;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) || n >= VAULT_SASDEF_NAME_MAX)
            return 0;
    }
    return n > 0;
}

static int fail_msg(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
    return -1;
}

int vault_sasdef_parse_duration(const char *text, int64_t *seconds, char *err, size_t errlen)
{
    static const char bad[] = "validityPeriod must be an ISO 8601 duration of days, hours, minutes and seconds, e.g. PT1H or P1D";
    const char *p = text;
    int64_t total = 0;
    int in_time = 0, any = 0;
    /* the order the units must come in: W D (T) H M S */
    int last = 0;

    if (text == NULL || strlen(text) >= VAULT_SASDEF_VALIDITY_TEXT_MAX || *p++ != 'P')
        return fail_msg(err, errlen, bad);
    while (*p != '\0') {
        if (*p == 'T') {
            if (in_time || p[1] == '\0')
                return fail_msg(err, errlen, bad);
            in_time = 1;
            p++;
            continue;
        }
        if (*p < '0' || *p > '9')
            return fail_msg(err, errlen, bad);
        int64_t n = 0;
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (++digits > 9)
                return fail_msg(err, errlen, "validityPeriod is too long");
            n = n * 10 + (*p - '0');
        }
        int unit;
        int64_t scale;
        switch (*p) {
        case 'W':
            unit = 1, scale = 7 * 86400;
            break;
        case 'D':
            unit = 2, scale = 86400;
            break;
        case 'H':
            unit = 3, scale = 3600;
            break;
        case 'M':
            if (!in_time)
                return fail_msg(err, errlen, "validityPeriod: months have no fixed length; use days (P30D)");
            unit = 4, scale = 60;
            break;
        case 'S':
            unit = 5, scale = 1;
            break;
        case 'Y':
            return fail_msg(err, errlen, "validityPeriod: years have no fixed length; use days");
        default:
            return fail_msg(err, errlen, bad);
        }
        if ((unit <= 2) == in_time || unit <= last)
            return fail_msg(err, errlen, bad);
        last = unit;
        total += n * scale;
        any = 1;
        p++;
        if (total > VAULT_SASDEF_VALIDITY_MAX)
            break;
    }
    if (!any)
        return fail_msg(err, errlen, bad);
    if (total < 1 || total > VAULT_SASDEF_VALIDITY_MAX) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "validityPeriod must be from 1 second to %d days", VAULT_SASDEF_VALIDITY_MAX / 86400);
        return -1;
    }
    *seconds = total;
    return 0;
}

/* ---------------------------------------------------------------- templates */

/* Copies the letters of a set of letters (ss, srt) into out (cap bytes), or "" when absent. */
static void copy_letters(char *out, size_t cap, sas_str_t s)
{
    size_t n = s.base != NULL && s.len < cap ? s.len : 0;
    if (n != 0)
        memcpy(out, s.base, n);
    out[n] = '\0';
}

int vault_sasdef_template_parse(const char *uri, const char *account, vault_sasdef_type_t type, vault_sasdef_template_t *out,
                                char *err, size_t errlen)
{
    sas_error_t serr;
    char msg[SAS_MESSAGE_MAX + 64];
    memset(out, 0, offsetof(vault_sasdef_template_t, tok));
    out->sas_type = type;

    if (uri == NULL || strlen(uri) > VAULT_SASDEF_TEMPLATE_MAX)
        return fail_msg(err, errlen, "templateUri is missing or too long");
    if (!vault_valid_account_name(account))
        return fail_msg(err, errlen, "the account name is not valid");

    /* scheme://authority */
    const char *p;
    if (strncmp(uri, "https://", 8) == 0)
        p = uri + 8;
    else if (strncmp(uri, "http://", 7) == 0)
        p = uri + 7;
    else
        return fail_msg(err, errlen, "templateUri must be an http or https URL");
    const char *host = p;
    size_t hostlen = strcspn(p, "/?#");
    if (hostlen == 0 || memchr(host, '@', hostlen) != NULL)
        return fail_msg(err, errlen, "templateUri must name a host (without user information)");
    p += hostlen;
    const char *path = p;
    size_t pathlen = strcspn(p, "?#");
    p += pathlen;
    if (*p != '?' || strchr(p, '#') != NULL)
        return fail_msg(err, errlen, "templateUri must carry a SAS query and no fragment");
    const char *query = p + 1;

    /* the query: a SAS */
    if (sas_token_parse(&out->tok, query, strlen(query), &serr) != SAS_OK) {
        snprintf(msg, sizeof(msg), "templateUri is not a valid SAS: %s", serr.message);
        return fail_msg(err, errlen, msg);
    }
    const sas_token_t *tok = &out->tok;
    if ((type == VAULT_SASDEF_ACCOUNT) != (tok->kind == SAS_KIND_ACCOUNT))
        return fail_msg(err, errlen,
                        type == VAULT_SASDEF_ACCOUNT ? "sasType is account but templateUri is a service SAS (sr)"
                                                     : "sasType is service but templateUri is an account SAS (ss, srt)");
    if (tok->f[SAS_F_SP].base == NULL || tok->f[SAS_F_SP].len >= sizeof(out->permissions))
        return fail_msg(err, errlen, "templateUri must grant permissions (sp)");
    memcpy(out->permissions, tok->f[SAS_F_SP].base, tok->f[SAS_F_SP].len + 1);

    /* the path: path style, or under a host named after the account */
    char full[SAS_MAX_PATH + 40];
    size_t alen = strlen(account);
    int host_style = hostlen > alen + 1 && memcmp(host, account, alen) == 0 && host[alen] == '.';
    if (pathlen > SAS_MAX_PATH)
        return fail_msg(err, errlen, "templateUri's path is too long");
    if (host_style) {
        int n = snprintf(full, sizeof(full), "/%s%.*s", account, (int)pathlen, pathlen == 1 ? "" : path);
        if (n < 0 || (size_t)n >= sizeof(full))
            return fail_msg(err, errlen, "templateUri's path is too long");
    } else {
        memcpy(full, path, pathlen);
        full[pathlen] = '\0';
    }
    if (sas_resource_from_path(&out->res, full, strlen(full), NULL, &serr) != SAS_OK) {
        snprintf(msg, sizeof(msg), "templateUri's path is not valid: %s", serr.message);
        return fail_msg(err, errlen, msg);
    }
    const sas_resource_t *res = &out->res;
    if (res->account.base == NULL || strcmp(res->account.base, account) != 0)
        return fail_msg(err, errlen, "templateUri addresses another storage account");

    if (type == VAULT_SASDEF_SERVICE) {
        if (tok->sr == SAS_SR_CONTAINER) {
            if (res->container.base == NULL || res->blob.base != NULL)
                return fail_msg(err, errlen, "a container template (sr=c) must address a container: /{account}/{container}");
        } else if (tok->sr == SAS_SR_BLOB) {
            if (res->blob.base == NULL)
                return fail_msg(err, errlen, "a blob template (sr=b) must address a blob: /{account}/{container}/{blob}");
        } else {
            return fail_msg(err, errlen, "a service template must be a container (sr=c) or blob (sr=b) SAS");
        }
        out->container = res->container.base;
        out->blob = tok->sr == SAS_SR_BLOB ? res->blob.base : NULL;
        out->identifier = tok->f[SAS_F_SI].base;
    } else {
        if (res->container.base != NULL)
            return fail_msg(err, errlen, "an account template must address the account, not a container");
        copy_letters(out->services, sizeof(out->services), tok->f[SAS_F_SS]);
        copy_letters(out->resource_types, sizeof(out->resource_types), tok->f[SAS_F_SRT]);
    }
    out->ip = tok->f[SAS_F_SIP].base;
    if (tok->f[SAS_F_SPR].base != NULL)
        out->protocol = tok->https_only ? "https" : "https,http";
    return 0;
}

/* ---------------------------------------------------------------- the definitions */

void vault_sasdef_dispose(vault_sasdef_t *d)
{
    if (d == NULL)
        return;
    free(d->account);
    free(d->name);
    sg_free_secret_str(d->template_uri); /* its signature may be a live token's */
    free(d->validity);
    for (size_t i = 0; i < d->ntags; i++) {
        free(d->tags[i].key);
        free(d->tags[i].value);
    }
    free(d->tags);
    memset(d, 0, sizeof(*d));
}

void vault_sasdef_list_free(vault_sasdef_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vault_sasdef_dispose(&list[i]);
    free(list);
}

static void sasdef_copy(vault_sasdef_t *out, const vault_sasdef_t *d)
{
    *out = *d;
    out->account = sg_strdup(d->account);
    out->name = sg_strdup(d->name);
    out->template_uri = sg_strdup(d->template_uri);
    out->validity = sg_strdup(d->validity);
    out->tags = d->ntags != 0 ? sg_calloc(d->ntags, sizeof(vault_tag_t)) : NULL;
    for (size_t i = 0; i < d->ntags; i++) {
        out->tags[i].key = sg_strdup(d->tags[i].key);
        out->tags[i].value = sg_strdup(d->tags[i].value);
    }
}

static int key_cmp(const vault_sasdef_t *d, const char *account, const char *name)
{
    int c = strcmp(d->account, account);
    return c != 0 ? c : strcmp(d->name, name);
}

/* Index of the first definition not less than the key; *found when equal. */
static size_t lower_bound(const struct vault__state *st, const char *account, const char *name, int *found)
{
    size_t lo = 0, hi = st->nsasdefs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (key_cmp(&st->sasdefs[mid], account, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < st->nsasdefs && key_cmp(&st->sasdefs[lo], account, name) == 0;
    return lo;
}

static vault_err_t check_key(const struct vault__state *st, const char *account, const char *name, char *err, size_t errlen)
{
    if (!vault_valid_account_name(account)) {
        return vault__fail(err, errlen, VAULT_EINVAL,
                           "'%.64s' is not a valid account name: use 3 to 24 lowercase letters and digits", account);
    }
    if (!vault_valid_sasdef_name(name)) {
        return vault__fail(err, errlen, VAULT_EINVAL, "a SAS definition name must be 1 to %d letters and digits",
                           VAULT_SASDEF_NAME_MAX);
    }
    if (st != NULL && vault__find_account(st, account) < 0)
        return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no account named '%s' in the vault", account);
    return VAULT_OK;
}

/* Checks everything but the key (internal.h); shared with the codec. */
vault_err_t vault__sasdef_check(const char *account, const char *template_uri, const char *validity, int sas_type, size_t ntags,
                                const vault_tag_t *tags, char *err, size_t errlen)
{
    char why[320];
    int64_t secs;
    if (sas_type != VAULT_SASDEF_SERVICE && sas_type != VAULT_SASDEF_ACCOUNT)
        return vault__fail(err, errlen, VAULT_EINVAL, "sasType must be service or account");
    vault_sasdef_template_t *t = sg_alloc(sizeof(*t));
    int bad = vault_sasdef_template_parse(template_uri, account, (vault_sasdef_type_t)sas_type, t, why, sizeof(why));
    sg_wipe(t, sizeof(*t));
    free(t);
    if (bad)
        return vault__fail(err, errlen, VAULT_EINVAL, "%s", why);
    if (vault_sasdef_parse_duration(validity, &secs, why, sizeof(why)) != 0)
        return vault__fail(err, errlen, VAULT_EINVAL, "%s", why);
    if (ntags > VAULT__MAX_TAGS)
        return vault__fail(err, errlen, VAULT_EINVAL, "at most %u tags", VAULT__MAX_TAGS);
    for (size_t i = 0; i < ntags; i++) {
        if (tags[i].key == NULL || tags[i].value == NULL || tags[i].key[0] == '\0' || strlen(tags[i].key) > 256 ||
            strlen(tags[i].value) > 256)
            return vault__fail(err, errlen, VAULT_EINVAL, "a tag needs a name and value of at most 256 bytes each");
        for (size_t j = 0; j < i; j++)
            if (strcmp(tags[i].key, tags[j].key) == 0)
                return vault__fail(err, errlen, VAULT_EINVAL, "tag '%.64s' is given twice", tags[i].key);
    }
    return VAULT_OK;
}

struct put_arg {
    const vault_sasdef_input_t *in;
    vault_sasdef_t *out;
};

static void set_fields(vault_sasdef_t *d, const vault_sasdef_input_t *in, int64_t now)
{
    sg_free_secret_str(d->template_uri);
    free(d->validity);
    for (size_t i = 0; i < d->ntags; i++) {
        free(d->tags[i].key);
        free(d->tags[i].value);
    }
    free(d->tags);
    d->template_uri = sg_strdup(in->template_uri);
    d->validity = sg_strdup(in->validity);
    d->sas_type = (uint8_t)in->sas_type;
    d->enabled = in->enabled ? 1 : 0;
    d->updated = now;
    d->ntags = in->ntags;
    d->tags = in->ntags != 0 ? sg_calloc(in->ntags, sizeof(vault_tag_t)) : NULL;
    for (size_t i = 0; i < in->ntags; i++) {
        d->tags[i].key = sg_strdup(in->tags[i].key);
        d->tags[i].value = sg_strdup(in->tags[i].value);
    }
}

static vault_err_t put_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct put_arg *a = arg;
    const vault_sasdef_input_t *in = a->in;
    int found;
    vault_err_t rc = check_key(st, in->account, in->name, err, errlen);
    if (rc == VAULT_OK)
        rc = vault__sasdef_check(in->account, in->template_uri, in->validity, (int)in->sas_type, in->ntags, in->tags, err, errlen);
    if (rc != VAULT_OK)
        return rc;
    int64_t now = vault__now();
    size_t at = lower_bound(st, in->account, in->name, &found);
    if (!found) {
        st->sasdefs = sg_realloc(st->sasdefs, (st->nsasdefs + 1) * sizeof(*st->sasdefs));
        memmove(&st->sasdefs[at + 1], &st->sasdefs[at], (st->nsasdefs - at) * sizeof(*st->sasdefs));
        memset(&st->sasdefs[at], 0, sizeof(*st->sasdefs));
        st->sasdefs[at].account = sg_strdup(in->account);
        st->sasdefs[at].name = sg_strdup(in->name);
        st->sasdefs[at].created = now;
        st->nsasdefs++;
    }
    set_fields(&st->sasdefs[at], in, now);
    if (a->out != NULL) {
        vault_sasdef_dispose(a->out);
        sasdef_copy(a->out, &st->sasdefs[at]);
    }
    return 0;
}

static void object_of(char *obj, size_t cap, const char *account, const char *name)
{
    snprintf(obj, cap, "sasdefs/%.30s/%.70s", account != NULL ? account : "", name != NULL ? name : "");
}

vault_err_t vault_sasdef_put(vault_t *v, const vault_actor_t *who, const vault_sasdef_input_t *in, vault_sasdef_t *out, char *err,
                             size_t errlen)
{
    char obj[128];
    struct put_arg a = {in, out};
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    object_of(obj, sizeof(obj), in->account, in->name);
    vault_err_t rc = vault__mutate(v, who, "sasdef.put", obj, put_apply, &a, err, errlen);
    if (rc != VAULT_OK && out != NULL)
        vault_sasdef_dispose(out);
    return rc;
}

int vault_sasdef_get(vault_t *v, const char *account, const char *name, vault_sasdef_t *out)
{
    int found = 0;
    memset(out, 0, sizeof(*out));
    if (account == NULL || name == NULL)
        return 0;
    pthread_mutex_lock(&v->mu);
    size_t at = lower_bound(&v->st, account, name, &found);
    if (found)
        sasdef_copy(out, &v->st.sasdefs[at]);
    pthread_mutex_unlock(&v->mu);
    return found;
}

struct del_arg {
    const char *account, *name;
    vault_sasdef_t *out;
};

static vault_err_t del_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct del_arg *a = arg;
    int found;
    vault_err_t rc = check_key(NULL, a->account, a->name, err, errlen);
    if (rc != VAULT_OK)
        return rc;
    size_t at = lower_bound(st, a->account, a->name, &found);
    if (!found)
        return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no SAS definition '%s' for account %s", a->name, a->account);
    if (a->out != NULL) {
        vault_sasdef_dispose(a->out);
        sasdef_copy(a->out, &st->sasdefs[at]);
    }
    vault_sasdef_dispose(&st->sasdefs[at]);
    memmove(&st->sasdefs[at], &st->sasdefs[at + 1], (st->nsasdefs - at - 1) * sizeof(*st->sasdefs));
    st->nsasdefs--;
    return 0;
}

vault_err_t vault_sasdef_delete(vault_t *v, const vault_actor_t *who, const char *account, const char *name, vault_sasdef_t *out,
                                char *err, size_t errlen)
{
    struct del_arg a = {account, name, out};
    char obj[128];
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    object_of(obj, sizeof(obj), account, name);
    vault_err_t rc = vault__mutate(v, who, "sasdef.delete", obj, del_apply, &a, err, errlen);
    if (rc != VAULT_OK && out != NULL)
        vault_sasdef_dispose(out);
    return rc;
}

vault_err_t vault_sasdef_list(vault_t *v, const char *account, vault_sasdef_t **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&v->mu);
    if (account != NULL && vault__find_account(&v->st, account) < 0) {
        pthread_mutex_unlock(&v->mu);
        return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no account named '%.64s' in the vault", account);
    }
    size_t count = 0;
    vault_sasdef_t *list = NULL;
    for (size_t i = 0; i < v->st.nsasdefs; i++) {
        const vault_sasdef_t *d = &v->st.sasdefs[i];
        if (account != NULL && strcmp(d->account, account) != 0)
            continue;
        list = sg_realloc(list, (count + 1) * sizeof(*list));
        sasdef_copy(&list[count++], d);
    }
    pthread_mutex_unlock(&v->mu);
    *out = list;
    *n = count;
    return 0;
}
