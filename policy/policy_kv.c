/*
 * policy_kv.c - the Key Vault API's data actions: their names and the
 * decision, deny by default, over the `keyvault:` entries of a principal's
 * roles (loaded by policy_load.c).
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static const char *const action_names[POLICY_KV_ACTION_COUNT] = {
    "secrets/get",     "secrets/list",  "secrets/set",    "secrets/delete",  "secrets/recover", "secrets/backup",
    "secrets/restore", "secrets/purge", "storage/getsas", "storage/listsas", "storage/setsas",  "storage/deletesas",
};

const char *policy_kv_action_name(policy_kv_action_t action)
{
    return (unsigned)action < POLICY_KV_ACTION_COUNT ? action_names[action] : "unknown";
}

/* 1 when scope ("*", "name", "prefix*") covers name (len bytes). Names are compared as bytes, case-sensitively. */
static int scope_covers(const char *scope, const char *name, size_t len)
{
    size_t n = strlen(scope);
    if (n > 0 && scope[n - 1] == '*')
        return len >= n - 1 && memcmp(scope, name, n - 1) == 0;
    return len == n && memcmp(scope, name, n) == 0;
}

int policy_kv_allowed(const policy_principal_t *principal, policy_kv_action_t action, const char *name, size_t len, char *rule,
                      size_t rulelen)
{
    if (rule != NULL && rulelen > 0)
        snprintf(rule, rulelen, "%s", "default");
    if (principal == NULL || (unsigned)action >= POLICY_KV_ACTION_COUNT || name == NULL)
        return 0;
    int storage = action >= POLICY_KV_STORAGE_GETSAS;
    for (size_t r = 0; r < principal->nroles; r++) {
        const policy__role_t *role = principal->roles[r];
        for (size_t i = 0; i < role->nkv; i++) {
            const policy__kv_entry_t *e = &role->kv[i];
            if (!(e->actions & (1u << action)) || !scope_covers(storage ? e->storage : e->secrets, name, len))
                continue;
            if (rule != NULL && rulelen > 0)
                snprintf(rule, rulelen, "%s", e->rule);
            return 1;
        }
    }
    return 0;
}

const char *policy_jwt_issuer_url(const policy_t *policy, size_t index)
{
    return policy != NULL && index < policy->nissuers ? policy->issuers[index].issuer : NULL;
}

int policy_kv_holds(const policy_principal_t *principal, policy_kv_action_t action)
{
    if (principal == NULL || (unsigned)action >= POLICY_KV_ACTION_COUNT)
        return 0;
    for (size_t r = 0; r < principal->nroles; r++)
        for (size_t i = 0; i < principal->roles[r]->nkv; i++)
            if (principal->roles[r]->kv[i].actions & (1u << action))
                return 1;
    return 0;
}
