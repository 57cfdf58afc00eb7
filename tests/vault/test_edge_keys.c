/*
 * Tests the edge key slots of vault/ (edge1, edge2; issue 12): a resign
 * account gets both on add, other accounts on the first rotate of an edge
 * slot; rotate / import / retire work per edge slot exactly as for key1 /
 * key2 and never touch the storage keys (and the reverse); the families stay
 * apart in vault_account_active_keys_of; a payload of version 1 (no edge
 * slots) loads with none; backup and restore carry them; key bytes never
 * appear in the list or the audit log.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vault/internal.h"
#include "sasgw/common.h"
#include "sasgw/vault.h"
#include "testutil.h"

struct fixture {
    char *dir, *db;
    vault_keysource_t ks;
    vault_t *v;
    char err[512];
};

static const uint8_t key1[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t key2[64] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t edge[64] = {42, 42, 42, 42, 7, 7, 7, 7, 42, 42, 42, 42, 7, 7, 7, 7, 1};

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    vt_set_master_key(9);
    f->dir = vt_mkdtemp();
    f->db = vt_path(f->dir, "vault.db");
    assert_int_equal(vault_keysource_resolve(&f->ks, NULL, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_create(f->db, &f->ks, NULL, f->err, sizeof(f->err)), 0);
    f->v = vault_open(f->db, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    assert_non_null(f->v);
    assert_int_equal(vault_account_add(f->v, NULL, "media", key1, 64, key2, 64, "http://127.0.0.1:10000", VAULT_MODE_RESIGN,
                                       f->err, sizeof(f->err)),
                     0);
    assert_int_equal(vault_account_add(f->v, NULL, "plain", key1, 64, key2, 64, NULL, VAULT_MODE_PASSTHROUGH, f->err, sizeof(f->err)),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vault_close(f->v);
    vault_keysource_wipe(&f->ks);
    free(f->db);
    vt_rmtree(f->dir);
    free(f);
    return 0;
}

/* The active keys of one family as (slot, version) pairs; returns the count. */
static size_t active(struct fixture *f, const char *account, vault_key_family_t fam, int slots[8], uint32_t versions[8],
                     uint8_t first_key[64])
{
    vault_signing_key_t *keys;
    size_t n;
    assert_int_equal(vault_account_active_keys_of(f->v, account, fam, &keys, &n, f->err, sizeof(f->err)), 1);
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        slots[i] = keys[i].slot;
        versions[i] = keys[i].version;
    }
    if (first_key != NULL && n > 0)
        memcpy(first_key, keys[0].key, 64);
    vault_signing_keys_free(keys, n);
    return n;
}

static void test_slot_names(void **state)
{
    (void)state;
    assert_int_equal(vault_parse_slot("key1"), 1);
    assert_int_equal(vault_parse_slot("key2"), 2);
    assert_int_equal(vault_parse_slot("edge1"), VAULT_SLOT_EDGE1);
    assert_int_equal(vault_parse_slot("edge2"), VAULT_SLOT_EDGE2);
    assert_int_equal(vault_parse_slot("edge3"), 0);
    assert_int_equal(vault_parse_slot("edge"), 0);
    assert_int_equal(vault_parse_slot("Edge1"), 0);
    assert_int_equal(vault_parse_slot(""), 0);
    assert_string_equal(vault_slot_name(3), "edge1");
    assert_string_equal(vault_slot_name(4), "edge2");
    assert_string_equal(vault_slot_name(0), "");
    assert_string_equal(vault_slot_name(5), "");
    assert_int_equal(vault_slot_family(1), VAULT_KEYS_STORAGE);
    assert_int_equal(vault_slot_family(2), VAULT_KEYS_STORAGE);
    assert_int_equal(vault_slot_family(3), VAULT_KEYS_EDGE);
    assert_int_equal(vault_slot_family(4), VAULT_KEYS_EDGE);
}

/* A resign account gets edge1 and edge2 (random, distinct from each other and from the storage keys); others get none. */
static void test_add_generates_edge_keys(void **state)
{
    struct fixture *f = *state;
    int slots[8];
    uint32_t vers[8];
    vault_signing_key_t *keys;
    size_t n;
    assert_int_equal(active(f, "media", VAULT_KEYS_EDGE, slots, vers, NULL), 2);
    assert_int_equal(slots[0], VAULT_SLOT_EDGE1);
    assert_int_equal(slots[1], VAULT_SLOT_EDGE2);
    assert_int_equal(vers[0], 1);
    assert_int_equal(vers[1], 1);
    assert_int_equal(vault_account_active_keys_of(f->v, "media", VAULT_KEYS_EDGE, &keys, &n, f->err, sizeof(f->err)), 1);
    assert_int_equal(keys[0].key_len, 64);
    assert_memory_not_equal(keys[0].key, keys[1].key, 64);
    assert_memory_not_equal(keys[0].key, key1, 64);
    assert_memory_not_equal(keys[0].key, key2, 64);
    vault_signing_keys_free(keys, n);
    /* the storage family is unchanged: key1 then key2 */
    assert_int_equal(active(f, "media", VAULT_KEYS_STORAGE, slots, vers, NULL), 2);
    assert_int_equal(slots[0], 1);
    assert_int_equal(slots[1], 2);
    /* the old entry point is the storage family */
    assert_int_equal(vault_account_active_keys(f->v, "media", &keys, &n, f->err, sizeof(f->err)), 1);
    assert_int_equal(n, 2);
    assert_memory_equal(keys[0].key, key1, 64);
    vault_signing_keys_free(keys, n);
    assert_int_equal(active(f, "plain", VAULT_KEYS_EDGE, slots, vers, NULL), 0);

    vault_account_info_t *list;
    size_t nl;
    assert_int_equal(vault_account_list(f->v, &list, &nl, f->err, sizeof(f->err)), 0);
    assert_int_equal(nl, 2);
    assert_string_equal(list[0].name, "media");
    assert_int_equal(list[0].mode, VAULT_MODE_RESIGN);
    assert_int_equal(list[0].nkeys, 4);
    assert_int_equal(list[0].keys[2].slot, VAULT_SLOT_EDGE1);
    assert_int_equal(list[0].keys[3].slot, VAULT_SLOT_EDGE2);
    assert_int_equal(list[1].nkeys, 2);
    vault_account_list_free(list, nl);
}

/* Rotate, import and retire on edge slots: versions as for key1/key2, storage keys untouched, and the reverse. */
static void test_edge_rotate_import_retire(void **state)
{
    struct fixture *f = *state;
    int slots[8];
    uint32_t vers[8];
    uint8_t first[64];
    vault_signing_key_t out;
    uint32_t version = 0;

    /* first regenerate of an account without edge keys creates edge1 version 1 */
    assert_int_equal(vault_account_rotate(f->v, NULL, "plain", VAULT_SLOT_EDGE1, &out, f->err, sizeof(f->err)), 0);
    assert_int_equal(out.slot, VAULT_SLOT_EDGE1);
    assert_int_equal(out.version, 1);
    sg_wipe(&out, sizeof(out));
    assert_int_equal(active(f, "plain", VAULT_KEYS_EDGE, slots, vers, NULL), 1);
    assert_int_equal(active(f, "plain", VAULT_KEYS_STORAGE, slots, vers, first), 2);
    assert_memory_equal(first, key1, 64);

    /* regenerate edge1 of media: version 2 active, version 1 retired; key1/key2 unchanged */
    assert_int_equal(vault_account_rotate(f->v, NULL, "media", VAULT_SLOT_EDGE1, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(active(f, "media", VAULT_KEYS_EDGE, slots, vers, NULL), 2);
    assert_int_equal(slots[0], VAULT_SLOT_EDGE1);
    assert_int_equal(vers[0], 2);
    assert_int_equal(active(f, "media", VAULT_KEYS_STORAGE, slots, vers, first), 2);
    assert_memory_equal(first, key1, 64);

    /* import into edge2; a key stored in any slot is refused (also a storage key into an edge slot) */
    assert_int_equal(vault_account_import_key(f->v, NULL, "media", VAULT_SLOT_EDGE2, edge, 64, &version, f->err, sizeof(f->err)), 0);
    assert_int_equal(version, 2);
    assert_int_equal(vault_account_import_key(f->v, NULL, "media", VAULT_SLOT_EDGE1, key1, 64, NULL, f->err, sizeof(f->err)),
                     VAULT_EEXISTS);
    assert_non_null(strstr(f->err, "key1 version 1"));
    assert_int_equal(vault_account_import_key(f->v, NULL, "media", VAULT_SLOT_KEY2, edge, 64, NULL, f->err, sizeof(f->err)),
                     VAULT_EEXISTS);
    assert_non_null(strstr(f->err, "edge2 version 2"));

    /* retire edge1 version 2: only edge2 stays; retiring again or a missing version is refused, named by slot */
    assert_int_equal(vault_account_retire(f->v, NULL, "media", VAULT_SLOT_EDGE1, 2, f->err, sizeof(f->err)), 0);
    assert_int_equal(active(f, "media", VAULT_KEYS_EDGE, slots, vers, first), 1);
    assert_int_equal(slots[0], VAULT_SLOT_EDGE2);
    assert_memory_equal(first, edge, 64);
    assert_int_equal(vault_account_retire(f->v, NULL, "media", VAULT_SLOT_EDGE1, 2, f->err, sizeof(f->err)), VAULT_ERETIRED);
    assert_non_null(strstr(f->err, "edge1 version 2"));
    assert_int_equal(vault_account_retire(f->v, NULL, "media", VAULT_SLOT_EDGE2, 9, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_non_null(strstr(f->err, "edge2 version 9"));
    assert_int_equal(vault_account_rotate(f->v, NULL, "media", 5, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_int_equal(vault_account_rotate(f->v, NULL, "media", 0, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);

    /* storage rotation leaves the edge family alone */
    assert_int_equal(vault_account_retire(f->v, NULL, "media", VAULT_SLOT_KEY1, 1, f->err, sizeof(f->err)), 0);
    assert_int_equal(active(f, "media", VAULT_KEYS_STORAGE, slots, vers, first), 1);
    assert_int_equal(slots[0], 2);
    assert_memory_equal(first, key2, 64);
    assert_int_equal(active(f, "media", VAULT_KEYS_EDGE, slots, vers, first), 1);
    assert_memory_equal(first, edge, 64);

    /* everything survives a reopen */
    vault_close(f->v);
    f->v = vault_open(f->db, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    assert_non_null(f->v);
    assert_int_equal(active(f, "media", VAULT_KEYS_EDGE, slots, vers, first), 1);
    assert_memory_equal(first, edge, 64);
    assert_int_equal(vers[0], 2);

    /* audit: objects name the edge slots, never a key byte */
    char *audit = vt_path(f->dir, "audit.log");
    size_t alen = 0;
    uint8_t *log = vt_read(audit, &alen);
    assert_non_null(log);
    assert_non_null(memmem(log, alen, "accounts/media/edge1", 20));
    assert_non_null(memmem(log, alen, "accounts/media/edge2", 20));
    char b64[100];
    b64[sg_b64_encode(edge, 64, b64)] = '\0';
    assert_null(memmem(log, alen, b64, strlen(b64)));
    assert_null(memmem(log, alen, edge, 16));
    free(log);
    free(audit);
}

/* The audited key read of the edge family names it and returns only edge keys. */
static void test_key_read_of(void **state)
{
    struct fixture *f = *state;
    vault_signing_key_t *keys;
    size_t n;
    assert_int_equal(vault_account_key_read_of(f->v, NULL, "media", VAULT_KEYS_EDGE, &keys, &n, f->err, sizeof(f->err)), 1);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vault_slot_family(keys[i].slot), VAULT_KEYS_EDGE);
    vault_signing_keys_free(keys, n);
    assert_int_equal(vault_account_key_read_of(f->v, NULL, "nosuch", VAULT_KEYS_EDGE, &keys, &n, f->err, sizeof(f->err)), 0);
    char *audit = vt_path(f->dir, "audit.log");
    assert_true(vt_file_contains(audit, "\"accounts/media/edge\"", 21));
    free(audit);
}

/* Writes a little-endian u32 / u64 and a length-prefixed string. */
static size_t put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return 4;
}

static size_t put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return 8;
}

static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = put_u32(p, (uint32_t)strlen(s));
    memcpy(p + n, s, strlen(s));
    return n + strlen(s);
}

/* A payload of version 1 (written before edge slots existed): one account with key1 and key2. */
static size_t v1_payload(uint8_t *p, uint8_t mode)
{
    size_t o = 0;
    memcpy(p, "SGVP", 4);
    o += 4;
    o += put_u32(p + o, 1);
    o += put_u32(p + o, 90);
    p[o++] = 0;
    o += put_u64(p + o, 0);
    memset(p + o, 0, 32);
    o += 32;
    o += put_u32(p + o, 1);
    o += put_str(p + o, "oldacct");
    o += put_str(p + o, "http://127.0.0.1:10000");
    p[o++] = mode;
    for (int k = 0; k < 2; k++) {
        o += put_u32(p + o, 1);
        o += put_u32(p + o, 1);
        o += put_u64(p + o, 1700000000);
        p[o++] = VAULT_KEY_ACTIVE;
        p[o++] = 64;
        memcpy(p + o, k == 0 ? key1 : key2, 64);
        o += 64;
    }
    o += put_u32(p + o, 0); /* secrets */
    o += put_u32(p + o, 0); /* policies */
    return o;
}

/* Version 1 loads with no edge keys; re-encoding writes version 2, which loads back the same. */
static void test_v1_payload_loads(void **state)
{
    struct fixture *f = *state;
    uint8_t p[1024];
    size_t len = v1_payload(p, VAULT_MODE_PASSTHROUGH);
    struct vault__state st, st2;
    assert_int_equal(vault__decode(p, len, &st, f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(st.naccounts, 1);
    assert_int_equal(st.accounts[0].slot[0].n, 1);
    assert_int_equal(st.accounts[0].slot[1].n, 1);
    assert_int_equal(st.accounts[0].slot[2].n, 0);
    assert_int_equal(st.accounts[0].slot[3].n, 0);
    uint8_t *enc;
    size_t enclen;
    vault__encode(&st, &enc, &enclen);
    assert_int_equal(enclen, len + 8); /* two more empty slot counts */
    assert_int_equal(enc[4], 2);
    assert_int_equal(vault__decode(enc, enclen, &st2, f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(st2.accounts[0].slot[3].n, 0);
    assert_memory_equal(st2.accounts[0].slot[1].v[0].key, key2, 64);
    sg_secure_free(enc);
    vault__state_free(&st);
    vault__state_free(&st2);

    /* version 1 with trailing edge slots is not version 1 (trailing bytes); version 3 is unknown; mode 3 is invalid */
    uint8_t q[1100];
    memcpy(q, p, len);
    memset(q + len, 0, 8);
    assert_int_equal(vault__decode(q, len + 8, &st, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    p[4] = 3;
    assert_int_equal(vault__decode(p, len, &st, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    len = v1_payload(p, 3);
    assert_int_equal(vault__decode(p, len, &st, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    len = v1_payload(p, VAULT_MODE_RESIGN);
    assert_int_equal(vault__decode(p, len, &st, f->err, sizeof(f->err)), VAULT_OK);
    vault__state_free(&st);
}

/* A backup carries the edge keys; restore brings back the exact versions and bytes. */
static void test_backup_restore_edge(void **state)
{
    struct fixture *f = *state;
    int slots[8];
    uint32_t vers[8];
    uint8_t before[64], after[64];
    assert_int_equal(vault_account_import_key(f->v, NULL, "media", VAULT_SLOT_EDGE1, edge, 64, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(active(f, "media", VAULT_KEYS_EDGE, slots, vers, before), 2);
    char *bk = vt_path(f->dir, "backup.sgb");
    assert_int_equal(vault_backup(f->v, NULL, bk, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_account_rotate(f->v, NULL, "media", VAULT_SLOT_EDGE1, NULL, f->err, sizeof(f->err)), 0);
    vault_close(f->v);
    assert_int_equal(vault_restore(f->db, &f->ks, NULL, NULL, bk, f->err, sizeof(f->err)), 0);
    f->v = vault_open(f->db, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    assert_non_null(f->v);
    assert_int_equal(active(f, "media", VAULT_KEYS_EDGE, slots, vers, after), 2);
    assert_int_equal(vers[0], 2);
    assert_memory_equal(before, after, 64);
    assert_memory_equal(after, edge, 64);
    free(bk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_names),
        cmocka_unit_test_setup_teardown(test_add_generates_edge_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_rotate_import_retire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_read_of, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_payload_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_restore_edge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
