/*
 * Tests the keyring's key families (keyring.h, issue 12): a resign account's
 * token keys are its edge keys and its storage keys are kept apart as
 * upstream_keys (key1 first, else key2) with upstream_account from the YAML
 * or the account's name; storage-key rotation changes only upstream_keys and
 * edge-key rotation only keys; accounts in the other modes are unchanged.
 * A real vault in a scratch directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "sasgw/core/config.h"
#include "sasgw/core/keyring.h"
#include "sasgw/vault.h"

struct fixture {
    char dir[64];
    vault_t *vault;
    gw_config_t *conf;
    char err[256];
};

static const uint8_t key1[64] = {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4};
static const uint8_t key2[64] = {9, 9, 9, 9, 8, 8, 8, 8, 7, 7, 7, 7, 6, 6, 6, 6};
static const uint8_t key3[64] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};

static const char conf_text[] = "vault: { path: /nonexistent/vault.db }\n"
                                "policy: conf/policy.yaml\n"
                                "proxy:\n"
                                "  listen: [{ address: 127.0.0.1, port: 1 }]\n"
                                "  public_base_url: http://127.0.0.1:1\n"
                                "accounts:\n"
                                "  media: { mode: resign, backend: \"http://127.0.0.1:10000\", upstream_account: devstoreaccount1 }\n"
                                "  later: { mode: resign, backend: \"http://127.0.0.1:10000\" }\n"
                                "  plain: { mode: passthrough, backend: \"http://127.0.0.1:10000\" }\n";

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    uint8_t mk[VAULT_MASTER_KEY_LEN];
    vault_keysource_t ks = {0};
    snprintf(f->dir, sizeof(f->dir), "/tmp/sasgw-test-keyring-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[128], audit[128];
    snprintf(path, sizeof(path), "%s/vault.db", f->dir);
    snprintf(audit, sizeof(audit), "%s/audit.log", f->dir);
    sg_random(mk, sizeof(mk));
    vault_keysource_set_master(&ks, mk);
    assert_int_equal(vault_create(path, &ks, audit, f->err, sizeof(f->err)), 0);
    f->vault = vault_open(path, &ks, audit, NULL, f->err, sizeof(f->err));
    vault_keysource_wipe(&ks);
    assert_non_null(f->vault);
    /* media: resign in the vault (edge keys generated); later: passthrough in the vault, resign in the YAML (no edge key yet) */
    assert_int_equal(vault_account_add(f->vault, NULL, "media", key1, 64, key2, 64, NULL, VAULT_MODE_RESIGN, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(
        vault_account_add(f->vault, NULL, "later", key1, 64, key2, 64, NULL, VAULT_MODE_PASSTHROUGH, f->err, sizeof(f->err)), 0);
    assert_int_equal(
        vault_account_add(f->vault, NULL, "plain", key1, 64, key2, 64, NULL, VAULT_MODE_PASSTHROUGH, f->err, sizeof(f->err)), 0);
    assert_int_equal(
        vault_account_add(f->vault, NULL, "vaultresign", key1, 64, key2, 64, NULL, VAULT_MODE_RESIGN, f->err, sizeof(f->err)), 0);
    f->conf = gw_config_parse("t.yaml", conf_text, strlen(conf_text), f->err, sizeof(f->err));
    if (f->conf == NULL)
        fail_msg("%s", f->err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    gw_config_free(f->conf);
    vault_close(f->vault);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static gw_keyring_t *build(struct fixture *f)
{
    gw_keyring_t *kr = gw_keyring_build(f->vault, f->conf, vault_generation(f->vault), f->err, sizeof(f->err));
    if (kr == NULL)
        fail_msg("%s", f->err);
    return kr;
}

/* Whether a keyring key holds exactly these 64 bytes (by signing the same string with both). */
static int same_key(const sas_key_t *k, const uint8_t bytes[64])
{
    sas_key_t other;
    uint8_t a[32], b[32];
    sas_key_init(&other, bytes, 64);
    sas_hmac(k, "probe", 5, a);
    sas_hmac(&other, "probe", 5, b);
    sas_key_dispose(&other);
    return memcmp(a, b, 32) == 0;
}

static void test_resign_families(void **state)
{
    struct fixture *f = *state;
    gw_keyring_t *kr = build(f);
    const gw_keyring_account_t *a = gw_keyring_find(kr, "media", 5);
    assert_non_null(a);
    assert_int_equal(a->mode, GW_ACCOUNT_RESIGN);
    assert_string_equal(a->upstream_account, "devstoreaccount1");
    assert_int_equal(a->upstream_account_len, 16);
    /* token keys: edge1 then edge2, none of them a storage key */
    assert_int_equal(a->nkeys, 2);
    assert_int_equal(a->keys[0].slot, VAULT_SLOT_EDGE1);
    assert_int_equal(a->keys[1].slot, VAULT_SLOT_EDGE2);
    assert_ptr_equal(a->key_ptrs[0], &a->keys[0].key);
    for (size_t i = 0; i < a->nkeys; i++) {
        assert_false(same_key(&a->keys[i].key, key1));
        assert_false(same_key(&a->keys[i].key, key2));
    }
    /* upstream: key1 then key2 */
    assert_int_equal(a->nupstream_keys, 2);
    assert_int_equal(a->upstream_keys[0].slot, 1);
    assert_true(same_key(&a->upstream_keys[0].key, key1));
    assert_true(same_key(&a->upstream_keys[1].key, key2));
    /* mints sign with edge1 */
    gw_keyring_signing_t sk;
    assert_int_equal(gw_keyring_signing_key(kr, "media", 5, &sk), 0);
    assert_string_equal(sk.slot_name, "edge1");
    assert_int_equal(sk.slot, VAULT_SLOT_EDGE1);
    assert_ptr_equal(sk.key, &a->keys[0].key);

    /* mode resign from the vault alone; upstream_account defaults to the name */
    a = gw_keyring_find(kr, "vaultresign", 11);
    assert_int_equal(a->mode, GW_ACCOUNT_RESIGN);
    assert_string_equal(a->upstream_account, "vaultresign");
    assert_int_equal(a->nkeys, 2);
    assert_int_equal(a->keys[0].slot, VAULT_SLOT_EDGE1);

    /* other modes: storage keys sign tokens, nothing upstream */
    a = gw_keyring_find(kr, "plain", 5);
    assert_int_equal(a->mode, GW_ACCOUNT_PASSTHROUGH);
    assert_int_equal(a->nkeys, 2);
    assert_true(same_key(&a->keys[0].key, key1));
    assert_int_equal(a->nupstream_keys, 0);
    assert_string_equal(a->upstream_account, "");
    assert_int_equal(gw_keyring_signing_key(kr, "plain", 5, &sk), 0);
    assert_string_equal(sk.slot_name, "key1");
    gw_keyring_release(kr);
}

/* Resign in the YAML over an account without edge keys: no token key (refused) until an edge slot is regenerated. */
static void test_resign_without_edge_keys(void **state)
{
    struct fixture *f = *state;
    gw_keyring_signing_t sk;
    gw_keyring_t *kr = build(f);
    const gw_keyring_account_t *a = gw_keyring_find(kr, "later", 5);
    assert_int_equal(a->mode, GW_ACCOUNT_RESIGN);
    assert_int_equal(a->nkeys, 0);
    assert_int_equal(a->nupstream_keys, 2);
    assert_string_equal(a->upstream_account, "later");
    assert_int_equal(gw_keyring_signing_key(kr, "later", 5, &sk), -1);
    gw_keyring_release(kr);

    assert_int_equal(vault_account_rotate(f->vault, NULL, "later", VAULT_SLOT_EDGE2, NULL, f->err, sizeof(f->err)), 0);
    kr = build(f);
    a = gw_keyring_find(kr, "later", 5);
    assert_int_equal(a->nkeys, 1);
    assert_int_equal(gw_keyring_signing_key(kr, "later", 5, &sk), 0);
    assert_string_equal(sk.slot_name, "edge2");
    gw_keyring_release(kr);
}

/* Storage rotation (import key2, retire key1) moves upstream signing to key2 and leaves the edge keys; edge rotation the reverse. */
static void test_rotations_stay_in_their_family(void **state)
{
    struct fixture *f = *state;
    gw_keyring_t *kr = build(f);
    const gw_keyring_account_t *a = gw_keyring_find(kr, "media", 5);
    uint32_t edge1_version = a->keys[0].version;
    gw_keyring_release(kr);

    uint32_t v = 0;
    assert_int_equal(vault_account_import_key(f->vault, NULL, "media", VAULT_SLOT_KEY2, key3, 64, &v, f->err, sizeof(f->err)), 0);
    kr = build(f);
    a = gw_keyring_find(kr, "media", 5);
    assert_true(same_key(&a->upstream_keys[0].key, key1)); /* key1 still active: it signs */
    gw_keyring_release(kr);
    assert_int_equal(vault_account_retire(f->vault, NULL, "media", VAULT_SLOT_KEY1, 1, f->err, sizeof(f->err)), 0);
    kr = build(f);
    a = gw_keyring_find(kr, "media", 5);
    assert_int_equal(a->nupstream_keys, 1);
    assert_int_equal(a->upstream_keys[0].slot, 2);
    assert_int_equal(a->upstream_keys[0].version, v);
    assert_true(same_key(&a->upstream_keys[0].key, key3));
    assert_int_equal(a->nkeys, 2);
    assert_int_equal(a->keys[0].version, edge1_version);
    gw_keyring_release(kr);

    /* edge1 regenerated: a new edge1 version signs, the old one is gone; upstream unchanged */
    assert_int_equal(vault_account_rotate(f->vault, NULL, "media", VAULT_SLOT_EDGE1, NULL, f->err, sizeof(f->err)), 0);
    kr = build(f);
    a = gw_keyring_find(kr, "media", 5);
    assert_int_equal(a->nkeys, 2);
    assert_int_equal(a->keys[0].slot, VAULT_SLOT_EDGE1);
    assert_int_equal(a->keys[0].version, edge1_version + 1);
    assert_true(same_key(&a->upstream_keys[0].key, key3));
    gw_keyring_release(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resign_families, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resign_without_edge_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotations_stay_in_their_family, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
