/*
 * vault_accounts.c - storage accounts and their keys: two storage key slots
 * (key1, key2) and two edge key slots (edge1, edge2, for `resign` accounts),
 * each a list of versions of which the newest is active until rotated or
 * retired. Key bytes leave the vault only through vault_account_active_keys /
 * vault_account_key_read / vault_account_rotate, always into buffers the
 * caller wipes (vault_signing_keys_free, sg_wipe).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

static int valid_backend(const char *b, char *err, size_t errlen)
{
    size_t n = strlen(b);
    if (n == 0)
        return 1;
    if (n > 2048 || (strncmp(b, "http://", 7) != 0 && strncmp(b, "https://", 8) != 0)) {
        vault__fail(err, errlen, VAULT_EINVAL, "the backend must be an http:// or https:// URL of at most 2048 characters");
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (b[i] <= 0x20 || b[i] >= 0x7f) {
            vault__fail(err, errlen, VAULT_EINVAL, "the backend URL contains a space or a non-ASCII character");
            return 0;
        }
    return 1;
}

static int valid_key_len(size_t n, const char *what, char *err, size_t errlen)
{
    if (n < VAULT_KEY_MIN || n > VAULT_KEY_MAX) {
        vault__fail(err, errlen, VAULT_EINVAL, "%s must be %d to %d bytes (got %zu)", what, VAULT_KEY_MIN, VAULT_KEY_MAX, n);
        return 0;
    }
    return 1;
}

static struct vault__account *find_or_err(struct vault__state *st, const char *name, char *err, size_t errlen)
{
    long i = vault__find_account(st, name);
    if (i < 0) {
        vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no account named '%s' in the vault", name);
        return NULL;
    }
    return &st->accounts[i];
}

/* Adds a version to a slot: it becomes active and every earlier version of the slot is retired. */
static uint32_t slot_push(struct vault__slot *s, const uint8_t *key, size_t len)
{
    struct vault__keyver *nv = sg_secure_calloc(s->n + 1, sizeof(*nv));
    if (s->n > 0)
        memcpy(nv, s->v, s->n * sizeof(*nv));
    sg_secure_free(s->v);
    s->v = nv;
    for (size_t i = 0; i < s->n; i++)
        s->v[i].state = VAULT_KEY_RETIRED;
    struct vault__keyver *kv = &s->v[s->n];
    kv->number = s->n > 0 ? s->v[s->n - 1].number + 1 : 1;
    kv->created = vault__now();
    kv->state = VAULT_KEY_ACTIVE;
    kv->len = (uint8_t)len;
    memcpy(kv->key, key, len);
    s->n++;
    return kv->number;
}

/* ---------------------------------------------------------------- add */

struct add_arg {
    const char *name, *backend;
    const uint8_t *key1, *key2;
    size_t key1_len, key2_len;
    vault_mode_t mode;
};

static vault_err_t add_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct add_arg *a = arg;
    uint8_t gen[VAULT_KEY_MAX];
    if (!vault_valid_account_name(a->name)) {
        return vault__fail(err, errlen, VAULT_EINVAL, "'%s' is not a valid account name: use 3 to 24 lowercase letters and digits",
                           a->name);
    }
    if (!valid_key_len(a->key1_len, "key1", err, errlen) || (a->key2 != NULL && !valid_key_len(a->key2_len, "key2", err, errlen)))
        return VAULT_EINVAL;
    if (!valid_backend(a->backend != NULL ? a->backend : "", err, errlen))
        return VAULT_EINVAL;
    if (a->mode != VAULT_MODE_PASSTHROUGH && a->mode != VAULT_MODE_ORIGIN && a->mode != VAULT_MODE_RESIGN) {
        return vault__fail(err, errlen, VAULT_EINVAL, "the mode must be passthrough, origin or resign");
    }
    if (vault__find_account(st, a->name) >= 0) {
        return vault__fail(err, errlen, VAULT_EEXISTS, "an account named '%s' already exists", a->name);
    }
    if (a->key2 != NULL && a->key1_len == a->key2_len && sg_ct_equal(a->key1, a->key2, a->key1_len)) {
        return vault__fail(err, errlen, VAULT_EINVAL, "key1 and key2 must differ");
    }

    /* insert sorted by name */
    size_t at = 0;
    while (at < st->naccounts && strcmp(st->accounts[at].name, a->name) < 0)
        at++;
    st->accounts = sg_realloc(st->accounts, (st->naccounts + 1) * sizeof(*st->accounts));
    memmove(&st->accounts[at + 1], &st->accounts[at], (st->naccounts - at) * sizeof(*st->accounts));
    st->naccounts++;
    struct vault__account *acc = &st->accounts[at];
    memset(acc, 0, sizeof(*acc));
    acc->name = sg_strdup(a->name);
    acc->backend = sg_strdup(a->backend != NULL ? a->backend : "");
    acc->mode = (uint8_t)a->mode;
    slot_push(&acc->slot[0], a->key1, a->key1_len);
    if (a->key2 != NULL) {
        slot_push(&acc->slot[1], a->key2, a->key2_len);
    } else {
        sg_random(gen, sizeof(gen));
        slot_push(&acc->slot[1], gen, sizeof(gen));
        sg_wipe(gen, sizeof(gen));
    }
    /* a resign account's tokens are signed with edge keys from the start */
    if (a->mode == VAULT_MODE_RESIGN)
        for (int k = VAULT_SLOT_EDGE1; k <= VAULT_SLOT_EDGE2; k++) {
            sg_random(gen, sizeof(gen));
            slot_push(&acc->slot[k - 1], gen, sizeof(gen));
            sg_wipe(gen, sizeof(gen));
        }
    return 0;
}

vault_err_t vault_account_add(vault_t *v, const vault_actor_t *who, const char *name, const uint8_t *key1, size_t key1_len,
                              const uint8_t *key2, size_t key2_len, const char *backend, vault_mode_t mode, char *err,
                              size_t errlen)
{
    struct add_arg a = {name, backend, key1, key2, key1_len, key2_len, mode};
    char obj[64];
    snprintf(obj, sizeof(obj), "accounts/%.40s", name);
    return vault__mutate(v, who, "account.add", obj, add_apply, &a, err, errlen);
}

/* ---------------------------------------------------------------- list and read */

vault_err_t vault_account_list(vault_t *v, vault_account_info_t **out, size_t *n, char *err, size_t errlen)
{
    pthread_mutex_lock(&v->mu);
    const struct vault__state *st = &v->st;
    vault_account_info_t *list = sg_calloc(st->naccounts, sizeof(*list));
    for (size_t i = 0; i < st->naccounts; i++) {
        const struct vault__account *a = &st->accounts[i];
        list[i].name = sg_strdup(a->name);
        list[i].backend = sg_strdup(a->backend);
        list[i].mode = (vault_mode_t)a->mode;
        size_t total = 0;
        for (int k = 0; k < VAULT_NUM_SLOTS; k++)
            total += a->slot[k].n;
        list[i].keys = sg_calloc(total + 1, sizeof(vault_key_meta_t));
        for (int k = 0; k < VAULT_NUM_SLOTS; k++)
            for (size_t j = 0; j < a->slot[k].n; j++) {
                vault_key_meta_t *m = &list[i].keys[list[i].nkeys++];
                m->slot = k + 1;
                m->version = a->slot[k].v[j].number;
                m->created = a->slot[k].v[j].created;
                m->state = (vault_key_state_t)a->slot[k].v[j].state;
            }
    }
    *out = list;
    *n = st->naccounts;
    pthread_mutex_unlock(&v->mu);
    return 0;
}

void vault_account_list_free(vault_account_info_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].backend);
        free(list[i].keys);
    }
    free(list);
}

void vault_signing_keys_free(vault_signing_key_t *keys, size_t n)
{
    (void)n;
    sg_secure_free(keys);
}

int vault_account_active_keys(vault_t *v, const char *account, vault_signing_key_t **out, size_t *n, char *err, size_t errlen)
{
    return vault_account_active_keys_of(v, account, VAULT_KEYS_STORAGE, out, n, err, errlen);
}

int vault_account_active_keys_of(vault_t *v, const char *account, vault_key_family_t family, vault_signing_key_t **out, size_t *n,
                                 char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    int first = family == VAULT_KEYS_EDGE ? VAULT_SLOT_EDGE1 - 1 : VAULT_SLOT_KEY1 - 1;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&v->mu);
    long i = vault__find_account(&v->st, account);
    if (i < 0) {
        pthread_mutex_unlock(&v->mu);
        return 0;
    }
    const struct vault__account *a = &v->st.accounts[i];
    vault_signing_key_t *keys = sg_secure_calloc(a->slot[first].n + a->slot[first + 1].n + 1, sizeof(*keys));
    size_t count = 0;
    for (int k = first; k < first + 2; k++)
        for (size_t j = a->slot[k].n; j-- > 0;) {
            const struct vault__keyver *kv = &a->slot[k].v[j];
            if (kv->state != VAULT_KEY_ACTIVE)
                continue;
            keys[count].slot = k + 1;
            keys[count].version = kv->number;
            keys[count].key_len = kv->len;
            memcpy(keys[count].key, kv->key, kv->len);
            count++;
        }
    pthread_mutex_unlock(&v->mu);
    *out = keys;
    *n = count;
    return 1;
}

int vault_account_key_read(vault_t *v, const vault_actor_t *who, const char *account, vault_signing_key_t **out, size_t *n,
                           char *err, size_t errlen)
{
    return vault_account_key_read_of(v, who, account, VAULT_KEYS_STORAGE, out, n, err, errlen);
}

int vault_account_key_read_of(vault_t *v, const vault_actor_t *who, const char *account, vault_key_family_t family,
                              vault_signing_key_t **out, size_t *n, char *err, size_t errlen)
{
    char obj[64], why[512];
    snprintf(obj, sizeof(obj), "accounts/%.40s%s", account, family == VAULT_KEYS_EDGE ? "/edge" : "");
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&v->mu);
    int exists = vault__find_account(&v->st, account) >= 0;
    pthread_mutex_unlock(&v->mu);
    if (!exists) {
        vault__audit(v, who, "account.key.read", obj, "refused", "no such account", NULL, 0);
        return 0;
    }
    if (vault__audit(v, who, "account.key.read", obj, "ok", NULL, why, sizeof(why)) != 0) {
        return vault__fail(err, errlen, VAULT_EAUDIT, "refused because the audit record cannot be written: %s", why);
    }
    return vault_account_active_keys_of(v, account, family, out, n, err, errlen);
}

/* ---------------------------------------------------------------- rotate, import, retire */

struct key_arg {
    const char *name;
    int slot;
    const uint8_t *key; /* NULL: generate */
    size_t key_len;
    uint32_t version; /* retire: in; rotate/import: out */
    uint8_t generated[VAULT_KEY_MAX];
};

static int check_slot(int slot, char *err, size_t errlen)
{
    if (slot < 1 || slot > VAULT_NUM_SLOTS) {
        vault__fail(err, errlen, VAULT_EINVAL, "the slot must be key1, key2, edge1 or edge2");
        return 0;
    }
    return 1;
}

static vault_err_t push_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct key_arg *a = arg;
    struct vault__account *acc;
    if (!check_slot(a->slot, err, errlen))
        return VAULT_EINVAL;
    if ((acc = find_or_err(st, a->name, err, errlen)) == NULL)
        return VAULT_ENOTFOUND;
    if (a->key == NULL) {
        sg_random(a->generated, sizeof(a->generated));
        a->version = slot_push(&acc->slot[a->slot - 1], a->generated, sizeof(a->generated));
        return 0;
    }
    if (!valid_key_len(a->key_len, "the key", err, errlen))
        return VAULT_EINVAL;
    for (int k = 0; k < VAULT_NUM_SLOTS; k++)
        for (size_t j = 0; j < acc->slot[k].n; j++)
            if (acc->slot[k].v[j].len == a->key_len && sg_ct_equal(acc->slot[k].v[j].key, a->key, a->key_len)) {
                return vault__fail(err, errlen, VAULT_EEXISTS, "this key is already stored for account '%s' (%s version %u)",
                                   a->name, vault_slot_name(k + 1), acc->slot[k].v[j].number);
            }
    a->version = slot_push(&acc->slot[a->slot - 1], a->key, a->key_len);
    return 0;
}

vault_err_t vault_account_rotate(vault_t *v, const vault_actor_t *who, const char *name, int slot, vault_signing_key_t *out,
                                 char *err, size_t errlen)
{
    struct key_arg a = {.name = name, .slot = slot};
    char obj[64];
    snprintf(obj, sizeof(obj), "accounts/%.40s/%s", name, vault_slot_name(slot));
    vault_err_t rc = vault__mutate(v, who, "account.rotate", obj, push_apply, &a, err, errlen);
    if (rc == 0 && out != NULL) {
        out->slot = slot;
        out->version = a.version;
        out->key_len = sizeof(a.generated);
        memcpy(out->key, a.generated, sizeof(a.generated));
    }
    sg_wipe(a.generated, sizeof(a.generated));
    return rc;
}

vault_err_t vault_account_import_key(vault_t *v, const vault_actor_t *who, const char *name, int slot, const uint8_t *key,
                                     size_t key_len, uint32_t *version_out, char *err, size_t errlen)
{
    struct key_arg a = {.name = name, .slot = slot, .key = key, .key_len = key_len};
    char obj[64];
    snprintf(obj, sizeof(obj), "accounts/%.40s/%s", name, vault_slot_name(slot));
    vault_err_t rc = vault__mutate(v, who, "account.import-key", obj, push_apply, &a, err, errlen);
    if (rc == 0 && version_out != NULL)
        *version_out = a.version;
    return rc;
}

static vault_err_t retire_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct key_arg *a = arg;
    struct vault__account *acc;
    if (!check_slot(a->slot, err, errlen))
        return VAULT_EINVAL;
    if ((acc = find_or_err(st, a->name, err, errlen)) == NULL)
        return VAULT_ENOTFOUND;
    struct vault__slot *s = &acc->slot[a->slot - 1];
    for (size_t j = 0; j < s->n; j++) {
        if (s->v[j].number != a->version)
            continue;
        if (s->v[j].state == VAULT_KEY_RETIRED) {
            return vault__fail(err, errlen, VAULT_ERETIRED, "%s version %u of account '%s' is already retired",
                               vault_slot_name(a->slot), a->version, a->name);
        }
        s->v[j].state = VAULT_KEY_RETIRED;
        return 0;
    }
    return vault__fail(err, errlen, VAULT_ENOTFOUND, "account '%s' has no %s version %u", a->name, vault_slot_name(a->slot),
                       a->version);
}

vault_err_t vault_account_retire(vault_t *v, const vault_actor_t *who, const char *name, int slot, uint32_t version, char *err,
                                 size_t errlen)
{
    struct key_arg a = {.name = name, .slot = slot, .version = version};
    char obj[80];
    snprintf(obj, sizeof(obj), "accounts/%.40s/%s/%u", name, vault_slot_name(slot), version);
    return vault__mutate(v, who, "account.retire", obj, retire_apply, &a, err, errlen);
}
