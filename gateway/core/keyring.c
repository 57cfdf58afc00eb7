/*
 * keyring.c - immutable, reference-counted snapshots of the vault's accounts
 * (keyring.h): built from given account data, searched, never changed.
 */
#include "sasgw/core/keyring.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sasgw/common.h"
#include "sasgw/vault.h"

struct account {
    gw_keyring_account_t super;
    char *name, *backend, *upstream_account;
    gw_backend_t upstream;
    gw_keyring_key_t *keys, *upstream_keys;
    const sas_key_t **key_ptrs;
    gw_keyring_policy_t *policies;
    char **strings; /* container and id strings of the policies */
    size_t nstrings;
};

struct st_gw_keyring_t {
    atomic_size_t refcnt;
    uint64_t generation;
    size_t naccounts;
    struct account *accounts; /* sorted by name */
};

/* snapshots */

static int compare_accounts(const void *a, const void *b)
{
    return strcmp(((const struct account *)a)->name, ((const struct account *)b)->name);
}

static int compare_policies(const void *_a, const void *_b)
{
    const gw_keyring_policy_t *a = _a, *b = _b;
    int c = strcmp(a->container, b->container);
    return c != 0 ? c : strcmp(a->id, b->id);
}

static void account_dispose(struct account *a)
{
    for (size_t i = 0; i != a->super.nkeys; i++)
        sas_key_dispose(&a->keys[i].key);
    sg_secure_free(a->keys);
    for (size_t i = 0; i != a->super.nupstream_keys; i++)
        sas_key_dispose(&a->upstream_keys[i].key);
    sg_secure_free(a->upstream_keys);
    free(a->upstream_account);
    free(a->key_ptrs);
    free(a->policies);
    for (size_t i = 0; i != a->nstrings; i++)
        free(a->strings[i]);
    free(a->strings);
    free(a->name);
    free(a->backend);
    gw_backend_dispose(&a->upstream);
}

/*
 * Sets a's name and backend: the YAML's entry ac when there is one (its
 * backend parsed when the configuration loaded, copied), else the vault's
 * backend string (NULL or "" for none), parsed here. A vault backend that does
 * not parse leaves upstream NULL and the reason in backend_error.
 */
static void account_set_names(struct account *a, const char *name, const gw_account_config_t *ac, const char *vault_backend)
{
    const char *backend = ac != NULL ? ac->backend : vault_backend != NULL ? vault_backend : "";
    const char *why = "";
    a->name = sg_strdup(name);
    a->backend = sg_strdup(backend);
    a->super.name = a->name;
    a->super.name_len = strlen(a->name);
    a->super.backend = a->backend;
    a->super.backend_error = "";
    if (ac != NULL && ac->upstream.host != NULL)
        gw_backend_copy(&a->upstream, &ac->upstream);
    else if (backend[0] != '\0' && gw_backend_parse(&a->upstream, backend, &why) != 0)
        a->super.backend_error = why;
    a->upstream_account = sg_strdup(ac != NULL && ac->upstream_account != NULL ? ac->upstream_account : name);
}

static int64_t key_created(const vault_account_info_t *info, int slot, uint32_t version);

/* The account's upstream fields once its mode is known: empty unless resign. */
static void account_set_upstream(struct account *a)
{
    int resign = a->super.mode == GW_ACCOUNT_RESIGN;
    a->super.upstream_account = resign ? a->upstream_account : "";
    a->super.upstream_account_len = strlen(a->super.upstream_account);
    if (a->upstream_keys == NULL)
        a->upstream_keys = sg_secure_calloc(1, sizeof(*a->upstream_keys));
    a->super.upstream_keys = a->upstream_keys;
}

/*
 * Loads the active keys of one family of the account into a fresh array
 * (secure memory, *out, count returned in *n). Returns 0 or -1 with err.
 */
static int load_keys(vault_t *vault, const vault_account_info_t *info, const char *name, vault_key_family_t family,
                     gw_keyring_key_t **out, size_t *n, char *err, size_t errlen)
{
    vault_signing_key_t *keys = NULL;
    size_t nkeys = 0;
    if (vault_account_active_keys_of(vault, name, family, &keys, &nkeys, err, errlen) < 0)
        return -1;
    *out = sg_secure_calloc(nkeys + 1, sizeof(**out)); /* the HMAC key states: kept out of core dumps */
    for (size_t i = 0; i != nkeys; i++) {
        (*out)[i].slot = keys[i].slot;
        (*out)[i].version = keys[i].version;
        (*out)[i].created = key_created(info, keys[i].slot, keys[i].version);
        sas_key_init(&(*out)[i].key, keys[i].key, keys[i].key_len);
    }
    *n = nkeys;
    if (keys != NULL)
        vault_signing_keys_free(keys, nkeys);
    return 0;
}

/* When the key version slot/version of info was created (unix seconds), or 0. */
static int64_t key_created(const vault_account_info_t *info, int slot, uint32_t version)
{
    for (size_t i = 0; i != info->nkeys; i++)
        if (info->keys[i].slot == slot && info->keys[i].version == version)
            return info->keys[i].created;
    return 0;
}

/* Loads keys and policies of one vault account (info, from vault_account_list) into a. Returns 0 or -1 with err. */
static int load_vault_account(vault_t *vault, const vault_account_info_t *info, struct account *a, char *err, size_t errlen)
{
    size_t nkeys = 0;
    vault_policy_t *pols = NULL;
    size_t npols = 0;

    /* tokens: the edge keys of a resign account, else the storage keys; a resign account keeps its storage keys apart */
    int resign = a->super.mode == GW_ACCOUNT_RESIGN;
    if (load_keys(vault, info, a->name, resign ? VAULT_KEYS_EDGE : VAULT_KEYS_STORAGE, &a->keys, &nkeys, err, errlen) != 0)
        return -1;
    a->key_ptrs = sg_calloc(nkeys + 1, sizeof(*a->key_ptrs));
    for (size_t i = 0; i != nkeys; i++)
        a->key_ptrs[i] = &a->keys[i].key;
    a->super.nkeys = nkeys;
    a->super.keys = a->keys;
    a->super.key_ptrs = a->key_ptrs;
    if (resign && load_keys(vault, info, a->name, VAULT_KEYS_STORAGE, &a->upstream_keys, &a->super.nupstream_keys, err, errlen) != 0)
        return -1;
    account_set_upstream(a);

    if (vault_policy_list(vault, a->name, NULL, &pols, &npols, err, errlen) != 0)
        return -1;
    a->policies = sg_calloc(npols + 1, sizeof(*a->policies));
    a->strings = sg_calloc(2 * npols + 1, sizeof(*a->strings));
    for (size_t i = 0; i != npols; i++) {
        gw_keyring_policy_t *p = a->policies + i;
        a->strings[a->nstrings++] = sg_strdup(pols[i].container);
        p->container = a->strings[a->nstrings - 1];
        a->strings[a->nstrings++] = sg_strdup(pols[i].id);
        p->id = a->strings[a->nstrings - 1];
        p->policy.start = pols[i].start != 0 ? pols[i].start * SAS_TIME_SECOND : SAS_TIME_NONE;
        p->policy.expiry = pols[i].expiry != 0 ? pols[i].expiry * SAS_TIME_SECOND : SAS_TIME_NONE;
        p->policy.permissions = sas_letters(pols[i].permissions);
    }
    qsort(a->policies, npols, sizeof(*a->policies), compare_policies);
    a->super.npolicies = npols;
    a->super.policies = a->policies;
    vault_policy_list_free(pols, npols);
    return 0;
}

gw_keyring_t *gw_keyring_empty(void)
{
    gw_keyring_t *kr = sg_calloc(1, sizeof(*kr));
    atomic_init(&kr->refcnt, 1);
    kr->accounts = sg_calloc(1, sizeof(*kr->accounts));
    return kr;
}

gw_keyring_t *gw_keyring_build(struct vault *vault, const gw_config_t *conf, uint64_t generation, char *err, size_t errlen)
{
    vault_account_info_t *list = NULL;
    size_t n = 0;

    if (vault != NULL && vault_account_list(vault, &list, &n, err, errlen) != 0)
        return NULL;
    size_t nconf = conf != NULL ? conf->num_accounts : 0;
    gw_keyring_t *kr = gw_keyring_empty();
    free(kr->accounts);
    kr->accounts = sg_calloc(n + nconf + 1, sizeof(*kr->accounts));
    kr->generation = generation;

    /* the vault's accounts, with the YAML's mode and backend when it names them */
    for (size_t i = 0; i != n; i++) {
        struct account *a = kr->accounts + kr->naccounts++;
        const gw_account_config_t *ac = conf != NULL ? gw_config_find_account(conf, list[i].name, strlen(list[i].name)) : NULL;
        account_set_names(a, list[i].name, ac, list[i].backend);
        a->super.mode = ac != NULL                              ? ac->mode
                        : list[i].mode == VAULT_MODE_ORIGIN ? GW_ACCOUNT_ORIGIN
                        : list[i].mode == VAULT_MODE_RESIGN ? GW_ACCOUNT_RESIGN
                                                            : GW_ACCOUNT_PASSTHROUGH;
        a->super.in_vault = 1;
        if (load_vault_account(vault, &list[i], a, err, errlen) != 0) {
            vault_account_list_free(list, n);
            gw_keyring_release(kr);
            return NULL;
        }
    }
    /* accounts only in the YAML: routed, without keys */
    for (size_t i = 0; i != nconf; i++) {
        const gw_account_config_t *ac = conf->accounts + i;
        int known = 0;
        for (size_t j = 0; j != n && !known; j++)
            known = strcmp(list[j].name, ac->name) == 0;
        if (known)
            continue;
        struct account *a = kr->accounts + kr->naccounts++;
        account_set_names(a, ac->name, ac, NULL);
        a->super.mode = ac->mode;
        a->keys = sg_secure_calloc(1, sizeof(*a->keys));
        a->key_ptrs = sg_calloc(1, sizeof(*a->key_ptrs));
        a->policies = sg_calloc(1, sizeof(*a->policies));
        a->super.keys = a->keys;
        a->super.key_ptrs = a->key_ptrs;
        a->super.policies = a->policies;
        account_set_upstream(a);
    }
    if (list != NULL)
        vault_account_list_free(list, n);
    qsort(kr->accounts, kr->naccounts, sizeof(*kr->accounts), compare_accounts);
    /* after the sort: each account points at its own parsed backend */
    for (size_t i = 0; i != kr->naccounts; i++)
        kr->accounts[i].super.upstream = kr->accounts[i].upstream.host != NULL ? &kr->accounts[i].upstream : NULL;
    return kr;
}

gw_keyring_t *gw_keyring_retain(gw_keyring_t *kr)
{
    atomic_fetch_add_explicit(&kr->refcnt, 1, memory_order_relaxed);
    return kr;
}

void gw_keyring_release(gw_keyring_t *kr)
{
    if (kr == NULL || atomic_fetch_sub_explicit(&kr->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i != kr->naccounts; i++)
        account_dispose(kr->accounts + i);
    free(kr->accounts);
    free(kr);
}

uint64_t gw_keyring_generation(const gw_keyring_t *kr)
{
    return kr->generation;
}

size_t gw_keyring_num_accounts(const gw_keyring_t *kr)
{
    return kr->naccounts;
}

const gw_keyring_account_t *gw_keyring_account_at(const gw_keyring_t *kr, size_t index)
{
    return index < kr->naccounts ? &kr->accounts[index].super : NULL;
}

/* strcmp of a (len bytes) against the NUL-terminated b. */
static int cmp_len(const char *a, size_t len, const char *b)
{
    size_t blen = strlen(b);
    int c = memcmp(a, b, len < blen ? len : blen);
    if (c != 0)
        return c;
    return len < blen ? -1 : len > blen ? 1 : 0;
}

const gw_keyring_account_t *gw_keyring_find(const gw_keyring_t *kr, const char *name, size_t len)
{
    size_t lo = 0, hi = kr->naccounts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_len(name, len, kr->accounts[mid].name);
        if (c == 0)
            return &kr->accounts[mid].super;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int gw_keyring_find_policy(const gw_keyring_account_t *account, const char *container, size_t container_len, const char *id,
                           size_t id_len, sas_policy_t *out)
{
    size_t lo = 0, hi = account->npolicies;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const gw_keyring_policy_t *p = account->policies + mid;
        int c = cmp_len(container, container_len, p->container);
        if (c == 0)
            c = cmp_len(id, id_len, p->id);
        if (c == 0) {
            *out = p->policy;
            return 0;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

int gw_keyring_signing_key(const gw_keyring_t *kr, const char *name, size_t len, gw_keyring_signing_t *out)
{
    const gw_keyring_account_t *a = gw_keyring_find(kr, name, len);
    if (a == NULL || a->nkeys == 0)
        return -1;
    /* keys are key1 (edge1) versions, newest first, then key2 (edge2): the first is the newest of slot 1, else of slot 2 */
    const gw_keyring_key_t *k = a->keys;
    out->key = &k->key;
    out->slot = k->slot;
    out->slot_name = vault_slot_name(k->slot);
    out->version = k->version;
    return 0;
}
