/*
 * policy_object.c - the lifetime of a loaded policy (reference counting,
 * freeing with the secret hashes wiped), the principal accessors and the
 * admin capabilities.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

const char *const policy_capabilities[POLICY_CAPABILITY_COUNT] = {
    "accounts.read", "keys.rotate",   "keys.import",   "revoke",     "policies.write", "policies.read",
    "secrets.read",  "secrets.write", "secrets.purge", "audit.read", "policy.reload",
};

static void free_role(policy__role_t *role)
{
    for (size_t i = 0; i < role->ngrants; i++) {
        policy__grant_t *g = &role->grants[i];
        free(g->rule);
        free(g->account);
        free(g->container);
        free(g->prefix);
        free(g->ips);
    }
    free(role->grants);
    for (size_t i = 0; i < role->nkv; i++) {
        free(role->kv[i].rule);
        free(role->kv[i].secrets);
        free(role->kv[i].storage);
    }
    free(role->kv);
    free(role->name);
}

void policy__free(policy_t *policy)
{
    if (policy == NULL)
        return;
    for (size_t i = 0; i < policy->nprincipals; i++) {
        policy_principal_t *pr = &policy->principals[i];
        free(pr->name);
        free(pr->jwt_subject);
        free(pr->roles);
    }
    /* the hashes are not the secrets, but a leaked hash of a weak secret is as good as the secret */
    if (policy->principals != NULL)
        sg_wipe(policy->principals, policy->nprincipals * sizeof(*policy->principals));
    free(policy->principals);
    for (size_t i = 0; i < policy->nroles; i++)
        free_role(&policy->roles[i]);
    free(policy->roles);
    for (size_t i = 0; i < policy->nissuers; i++) {
        policy__issuer_t *iss = &policy->issuers[i];
        free(iss->issuer);
        free(iss->audience);
        policy__free_keys(iss->keys, iss->nkeys);
    }
    free(policy->issuers);
    policy__sigcache_free(policy->sigcache);
    sg_free_secret(policy, sizeof(*policy));
}

policy_t *policy_retain(policy_t *policy)
{
    atomic_fetch_add_explicit(&policy->refcnt, 1, memory_order_relaxed);
    return policy;
}

void policy_release(policy_t *policy)
{
    if (policy == NULL)
        return;
    /* acq_rel: the thread that frees sees every other thread's reads finished */
    if (atomic_fetch_sub_explicit(&policy->refcnt, 1, memory_order_acq_rel) == 1)
        policy__free(policy);
}

const char *policy_principal_name(const policy_principal_t *principal)
{
    return principal->name;
}

int policy_principal_can(const policy_principal_t *principal, const char *capability)
{
    if (principal == NULL || capability == NULL)
        return 0;
    for (size_t i = 0; i < POLICY_CAPABILITY_COUNT; i++)
        if (strcmp(policy_capabilities[i], capability) == 0)
            return (principal->caps >> i) & 1;
    return 0;
}
