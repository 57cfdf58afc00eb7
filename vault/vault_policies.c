/*
 * vault_policies.c - stored access policies (Azure's signed identifiers) per
 * account and container: {id, start, expiry, permissions}. Unlike Azure there
 * is no limit of five per container. A SAS names one with `si`; deleting or
 * changing it takes effect for every token that names it.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

void vault_policy_dispose(vault_policy_t *p)
{
    if (p == NULL)
        return;
    free(p->account);
    free(p->container);
    free(p->id);
    memset(p, 0, sizeof(*p));
}

void vault_policy_list_free(vault_policy_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vault_policy_dispose(&list[i]);
    free(list);
}

static void policy_copy(vault_policy_t *out, const vault_policy_t *p)
{
    out->account = sg_strdup(p->account);
    out->container = sg_strdup(p->container);
    out->id = sg_strdup(p->id);
    out->start = p->start;
    out->expiry = p->expiry;
    memcpy(out->permissions, p->permissions, sizeof(out->permissions));
}

static int key_cmp(const vault_policy_t *p, const char *account, const char *container, const char *id)
{
    int c = strcmp(p->account, account);
    if (c == 0)
        c = strcmp(p->container, container);
    if (c == 0)
        c = strcmp(p->id, id);
    return c;
}

/* Index of the first policy not less than the key; *found when equal. */
static size_t lower_bound(const struct vault__state *st, const char *account, const char *container, const char *id, int *found)
{
    size_t lo = 0, hi = st->npolicies;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (key_cmp(&st->policies[mid], account, container, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < st->npolicies && key_cmp(&st->policies[lo], account, container, id) == 0;
    return lo;
}

static vault_err_t check_key(const struct vault__state *st, const char *account, const char *container, const char *id, char *err,
                             size_t errlen)
{
    if (!vault_valid_account_name(account)) {
        return vault__fail(err, errlen, VAULT_EINVAL,
                           "'%.64s' is not a valid account name: use 3 to 24 lowercase letters and digits", account);
    }
    if (!vault_valid_container_name(container)) {
        return vault__fail(err, errlen, VAULT_EINVAL,
                           "'%.80s' is not a valid container name: use 3 to 63 lowercase letters, digits and single "
                           "dashes, starting and ending with a letter or digit",
                           container);
    }
    if (!vault_valid_policy_id(id)) {
        return vault__fail(err, errlen, VAULT_EINVAL, "the policy id must be 1 to %d printable characters without spaces",
                           VAULT_POLICY_ID_MAX);
    }
    if (st != NULL && vault__find_account(st, account) < 0) {
        return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no account named '%s' in the vault", account);
    }
    return VAULT_OK;
}

static vault_err_t put_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    const vault_policy_t *p = arg;
    int found;
    vault_err_t rc = check_key(st, p->account, p->container, p->id, err, errlen);
    if (rc != VAULT_OK)
        return rc;
    if (!vault_valid_permissions(p->permissions)) {
        return vault__fail(err, errlen, VAULT_EINVAL, "'%s' is not a valid permission set: use letters from %s, each at most once",
                           p->permissions, VAULT_PERMISSIONS);
    }
    if (p->start < 0 || p->expiry < 0 || p->start > 253402300799 || p->expiry > 253402300799 ||
        (p->start != 0 && p->expiry != 0 && p->start >= p->expiry)) {
        return vault__fail(err, errlen, VAULT_EINVAL, "the start time must be earlier than the expiry time");
    }
    size_t at = lower_bound(st, p->account, p->container, p->id, &found);
    if (found) {
        st->policies[at].start = p->start;
        st->policies[at].expiry = p->expiry;
        memcpy(st->policies[at].permissions, p->permissions, sizeof(p->permissions));
        return 0;
    }
    st->policies = sg_realloc(st->policies, (st->npolicies + 1) * sizeof(*st->policies));
    memmove(&st->policies[at + 1], &st->policies[at], (st->npolicies - at) * sizeof(*st->policies));
    policy_copy(&st->policies[at], p);
    st->npolicies++;
    return 0;
}

static void object_of(char *obj, size_t cap, const char *account, const char *container, const char *id)
{
    snprintf(obj, cap, "policies/%.30s/%.70s/%.70s", account, container, id);
}

vault_err_t vault_policy_put(vault_t *v, const vault_actor_t *who, const vault_policy_t *p, char *err, size_t errlen)
{
    char obj[200];
    object_of(obj, sizeof(obj), p->account, p->container, p->id);
    return vault__mutate(v, who, "policy.put", obj, put_apply, (void *)(uintptr_t)p, err, errlen);
}

int vault_policy_get(vault_t *v, const char *account, const char *container, const char *id, vault_policy_t *out, char *err,
                     size_t errlen)
{
    int found;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&v->mu);
    size_t at = lower_bound(&v->st, account, container, id, &found);
    if (found)
        policy_copy(out, &v->st.policies[at]);
    pthread_mutex_unlock(&v->mu);
    return found;
}

struct del_arg {
    const char *account, *container, *id;
};

static vault_err_t del_apply(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    struct del_arg *a = arg;
    int found;
    vault_err_t rc = check_key(NULL, a->account, a->container, a->id, err, errlen);
    if (rc != VAULT_OK)
        return rc;
    size_t at = lower_bound(st, a->account, a->container, a->id, &found);
    if (!found) {
        return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no stored access policy '%s' on %s/%s", a->id, a->account,
                           a->container);
    }
    vault_policy_dispose(&st->policies[at]);
    memmove(&st->policies[at], &st->policies[at + 1], (st->npolicies - at - 1) * sizeof(*st->policies));
    st->npolicies--;
    return 0;
}

vault_err_t vault_policy_delete(vault_t *v, const vault_actor_t *who, const char *account, const char *container, const char *id,
                                char *err, size_t errlen)
{
    struct del_arg a = {account, container, id};
    char obj[200];
    object_of(obj, sizeof(obj), account, container, id);
    return vault__mutate(v, who, "policy.delete", obj, del_apply, &a, err, errlen);
}

vault_err_t vault_policy_list(vault_t *v, const char *account, const char *container, vault_policy_t **out, size_t *n, char *err,
                              size_t errlen)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&v->mu);
    if (vault__find_account(&v->st, account) < 0) {
        pthread_mutex_unlock(&v->mu);
        return vault__fail(err, errlen, VAULT_ENOTFOUND, "there is no account named '%.64s' in the vault", account);
    }
    size_t count = 0;
    vault_policy_t *list = NULL;
    for (size_t i = 0; i < v->st.npolicies; i++) {
        const vault_policy_t *p = &v->st.policies[i];
        if (strcmp(p->account, account) != 0 || (container != NULL && strcmp(p->container, container) != 0))
            continue;
        list = sg_realloc(list, (count + 1) * sizeof(*list));
        policy_copy(&list[count++], p);
    }
    pthread_mutex_unlock(&v->mu);
    *out = list;
    *n = count;
    return 0;
}
