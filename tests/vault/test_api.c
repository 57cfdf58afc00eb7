/*
 * Tests the public API of vault/ (vault.h) in process: key rotation and
 * retirement semantics, secrets (versions, attributes, soft delete, recover,
 * purge, retention), stored access policies, reload when another process
 * writes, backup and restore (foreign and tampered backups refused), and the
 * codec's round trip.
 */
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
#include "testutil.h"
#include "sasgw/vault.h"

struct fixture {
    char *dir, *db;
    vault_keysource_t ks;
    vault_t *v;
    char err[512];
};

static const uint8_t key1[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t key2[64] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

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
    assert_int_equal(vault_account_add(f->v, NULL, "acct1", key1, 64, key2, 64, "http://127.0.0.1:10000", VAULT_MODE_ORIGIN, f->err,
                                       sizeof(f->err)),
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

static void rotation_and_retirement(void **state)
{
    struct fixture *f = *state;
    vault_signing_key_t *keys, nk;
    size_t n;
    assert_int_equal(vault_account_active_keys(f->v, "acct1", &keys, &n, f->err, sizeof(f->err)), 1);
    assert_int_equal(n, 2);
    assert_int_equal(keys[0].slot, 1);
    assert_memory_equal(keys[0].key, key1, 64);
    assert_int_equal(keys[1].slot, 2);
    assert_memory_equal(keys[1].key, key2, 64);
    vault_signing_keys_free(keys, n);
    assert_int_equal(vault_account_active_keys(f->v, "nosuch", &keys, &n, f->err, sizeof(f->err)), 0);

    /* rotate key1: version 2 active, version 1 retired, key2 untouched */
    assert_int_equal(vault_account_rotate(f->v, NULL, "acct1", 1, &nk, f->err, sizeof(f->err)), 0);
    assert_int_equal(nk.version, 2);
    assert_int_equal(nk.key_len, 64);
    assert_int_equal(vault_account_active_keys(f->v, "acct1", &keys, &n, f->err, sizeof(f->err)), 1);
    assert_int_equal(n, 2);
    assert_int_equal(keys[0].version, 2);
    assert_memory_equal(keys[0].key, nk.key, 64);
    assert_memory_equal(keys[1].key, key2, 64);
    vault_signing_keys_free(keys, n);
    sg_wipe(&nk, sizeof(nk));

    /* import into key2 (regenerated at the service); the same key twice is refused */
    uint8_t k3[32];
    memset(k3, 0x33, sizeof(k3));
    uint32_t ver = 0;
    assert_int_equal(vault_account_import_key(f->v, NULL, "acct1", 2, k3, 32, &ver, f->err, sizeof(f->err)), 0);
    assert_int_equal(ver, 2);
    assert_int_equal(vault_account_import_key(f->v, NULL, "acct1", 1, k3, 32, &ver, f->err, sizeof(f->err)), VAULT_EEXISTS);
    assert_non_null(strstr(f->err, "already stored"));

    /* retire key2 version 2: only key1 remains active */
    assert_int_equal(vault_account_retire(f->v, NULL, "acct1", 2, 2, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_account_active_keys(f->v, "acct1", &keys, &n, f->err, sizeof(f->err)), 1);
    assert_int_equal(n, 1);
    assert_int_equal(keys[0].slot, 1);
    vault_signing_keys_free(keys, n);

    /* the listing: metadata only */
    vault_account_info_t *list;
    assert_int_equal(vault_account_list(f->v, &list, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "acct1");
    assert_string_equal(list[0].backend, "http://127.0.0.1:10000");
    assert_int_equal(list[0].mode, VAULT_MODE_ORIGIN);
    assert_int_equal(list[0].nkeys, 4);
    assert_int_equal(list[0].keys[0].state, VAULT_KEY_RETIRED);
    assert_int_equal(list[0].keys[1].state, VAULT_KEY_ACTIVE);
    assert_int_equal(list[0].keys[3].state, VAULT_KEY_RETIRED);
    vault_account_list_free(list, n);
}

static void secrets_lifecycle(void **state)
{
    struct fixture *f = *state;
    char v1[33], v2[33];
    vault_secret_t s;
    vault_tag_t tags[] = {{"env", "prod"}, {"team", "storage"}};
    vault_secret_input_t in = {.content_type = "text/plain", .ntags = 2, .tags = tags};
    assert_int_equal(vault_secret_set(f->v, NULL, "db-pass", (const uint8_t *)"one", 3, &in, v1, f->err, sizeof(f->err)), 0);
    assert_int_equal(strlen(v1), 32);
    assert_int_equal(vault_secret_set(f->v, NULL, "db-pass", (const uint8_t *)"two", 3, NULL, v2, f->err, sizeof(f->err)), 0);
    assert_string_not_equal(v1, v2);
    /* newest by default, older by version */
    assert_int_equal(vault_secret_get(f->v, NULL, "db-pass", NULL, &s, f->err, sizeof(f->err)), 0);
    assert_memory_equal(s.value, "two", 3);
    assert_string_equal(s.attrs.version, v2);
    vault_secret_dispose(&s);
    assert_int_equal(vault_secret_get(f->v, NULL, "db-pass", v1, &s, f->err, sizeof(f->err)), 0);
    assert_memory_equal(s.value, "one", 3);
    assert_string_equal(s.attrs.content_type, "text/plain");
    assert_int_equal(s.attrs.ntags, 2);
    assert_string_equal(s.attrs.tags[1].value, "storage");
    vault_secret_dispose(&s);
    assert_int_equal(vault_secret_get(f->v, NULL, "db-pass", "0123", &s, f->err, sizeof(f->err)), VAULT_ENOTFOUND);

    /* attributes are enforced */
    vault_secret_input_t off = {.disabled = 1};
    assert_int_equal(vault_secret_set(f->v, NULL, "off", (const uint8_t *)"x", 1, &off, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_get(f->v, NULL, "off", NULL, &s, f->err, sizeof(f->err)), VAULT_EDISABLED);
    assert_non_null(strstr(f->err, "disabled"));
    vault_secret_input_t later = {.nbf = vault__now() + 3600};
    assert_int_equal(vault_secret_set(f->v, NULL, "later", (const uint8_t *)"x", 1, &later, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_get(f->v, NULL, "later", NULL, &s, f->err, sizeof(f->err)), VAULT_ENOTYETVALID);
    assert_non_null(strstr(f->err, "not valid before"));
    vault_secret_input_t gone = {.exp = vault__now() - 10};
    assert_int_equal(vault_secret_set(f->v, NULL, "gone", (const uint8_t *)"x", 1, &gone, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_get(f->v, NULL, "gone", NULL, &s, f->err, sizeof(f->err)), VAULT_EEXPIRED);
    assert_non_null(strstr(f->err, "expired"));

    /* listing: sorted, versions, no values */
    vault_secret_info_t *list;
    size_t n;
    assert_int_equal(vault_secret_list(f->v, NULL, &list, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 4);
    assert_string_equal(list[0].name, "db-pass");
    assert_int_equal(list[0].nversions, 2);
    assert_string_equal(list[3].name, "off");
    vault_secret_list_free(list, n);

    /* soft delete, recover, delete, purge */
    assert_int_equal(vault_secret_delete(f->v, NULL, "db-pass", f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_list(f->v, "db-pass", &list, &n, f->err, sizeof(f->err)), 0);
    assert_true(list[0].deleted);
    assert_int_equal(list[0].purge_on - list[0].deleted_on, 90 * 86400);
    vault_secret_list_free(list, n);
    assert_int_equal(vault_secret_recover(f->v, NULL, "db-pass", f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_get(f->v, NULL, "db-pass", NULL, &s, f->err, sizeof(f->err)), 0);
    vault_secret_dispose(&s);
    assert_int_equal(vault_settings_set(f->v, NULL, 7, -1, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_delete(f->v, NULL, "db-pass", f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_list(f->v, "db-pass", &list, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(list[0].purge_on - list[0].deleted_on, 7 * 86400);
    vault_secret_list_free(list, n);
    assert_int_equal(vault_secret_purge(f->v, NULL, "db-pass", f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_list(f->v, "db-pass", &list, &n, f->err, sizeof(f->err)), VAULT_ENOTFOUND);

    /* retention: a deleted secret whose purge date has passed goes on the next write, audited */
    assert_int_equal(vault_secret_delete(f->v, NULL, "off", f->err, sizeof(f->err)), 0);
    f->v->st.secrets[vault__find_secret(&f->v->st, "off")].purge_on = vault__now() - 1;
    assert_int_equal(vault_secret_set(f->v, NULL, "x", (const uint8_t *)"x", 1, NULL, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault__find_secret(&f->v->st, "off"), -1);
    char **lines;
    assert_int_equal(vault_audit_tail(vault__audit_path(vault_audit_of(f->v)), 2, &lines, &n, f->err, sizeof(f->err)), 0);
    assert_non_null(strstr(lines[0], "\"op\":\"secret.purge\",\"object\":\"secrets/off\""));
    assert_non_null(strstr(lines[0], "retention period ended"));
    vault_audit_lines_free(lines, n);

    /* purge protection: on for good */
    assert_int_equal(vault_settings_set(f->v, NULL, 0, 1, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_delete(f->v, NULL, "x", f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_purge(f->v, NULL, "x", f->err, sizeof(f->err)), VAULT_EPURGEPROTECTED);
    assert_int_equal(vault_settings_set(f->v, NULL, 0, 0, f->err, sizeof(f->err)), VAULT_EPURGEPROTECTED);
}

static void stored_policies(void **state)
{
    struct fixture *f = *state;
    vault_policy_t p = {.account = "acct1", .container = "photos", .id = "readers", .expiry = 2000000000};
    strcpy(p.permissions, "rl");
    /* far more than Azure's five */
    char id[16];
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof(id), "p%02d", i);
        p.id = id;
        assert_int_equal(vault_policy_put(f->v, NULL, &p, f->err, sizeof(f->err)), 0);
    }
    p.id = "readers";
    assert_int_equal(vault_policy_put(f->v, NULL, &p, f->err, sizeof(f->err)), 0);
    strcpy(p.permissions, "racwd");
    assert_int_equal(vault_policy_put(f->v, NULL, &p, f->err, sizeof(f->err)), 0); /* replace */
    vault_policy_t got;
    assert_int_equal(vault_policy_get(f->v, "acct1", "photos", "readers", &got, f->err, sizeof(f->err)), 1);
    assert_string_equal(got.permissions, "racwd");
    assert_int_equal(got.expiry, 2000000000);
    vault_policy_dispose(&got);
    assert_int_equal(vault_policy_get(f->v, "acct1", "photos", "nope", &got, f->err, sizeof(f->err)), 0);
    vault_policy_t *list;
    size_t n;
    assert_int_equal(vault_policy_list(f->v, "acct1", NULL, &list, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 13);
    vault_policy_list_free(list, n);
    assert_int_equal(vault_policy_list(f->v, "acct1", "other", &list, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 0);
    vault_policy_list_free(list, n);
    assert_int_equal(vault_policy_delete(f->v, NULL, "acct1", "photos", "readers", f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_policy_get(f->v, "acct1", "photos", "readers", &got, f->err, sizeof(f->err)), 0);
}

/* A second handle (another process, in effect) sees the first one's writes after reload_if_changed. */
static void reload_when_changed(void **state)
{
    struct fixture *f = *state;
    vault_t *other = vault_open(f->db, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    int reloaded = -1;
    vault_secret_t s;
    assert_non_null(other);
    uint64_t g = vault_generation(other);
    assert_int_equal(vault_reload_if_changed(other, &reloaded, f->err, sizeof(f->err)), 0);
    assert_int_equal(reloaded, 0);
    assert_int_equal(vault_secret_set(f->v, NULL, "new", (const uint8_t *)"v", 1, NULL, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_get(other, NULL, "new", NULL, &s, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_int_equal(vault_reload_if_changed(other, &reloaded, f->err, sizeof(f->err)), 0);
    assert_int_equal(reloaded, 1);
    assert_int_equal(vault_generation(other), g + 1);
    assert_int_equal(vault_secret_get(other, NULL, "new", NULL, &s, f->err, sizeof(f->err)), 0);
    vault_secret_dispose(&s);
    /* and a write through the stale handle first takes in the other's changes (no lost update) */
    assert_int_equal(vault_secret_set(f->v, NULL, "new2", (const uint8_t *)"v", 1, NULL, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_set(other, NULL, "new3", (const uint8_t *)"v", 1, NULL, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_get(other, NULL, "new2", NULL, &s, f->err, sizeof(f->err)), 0);
    vault_secret_dispose(&s);
    vault_close(other);
    /* the previous generation is kept */
    char *prev = vt_path(f->dir, "vault.db.prev");
    vault_t *p = vault_open(prev, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    assert_non_null(p);
    assert_int_equal(vault_generation(p), vault_generation(f->v));
    vault_close(p);
    free(prev);
}

static void backup_and_restore(void **state)
{
    struct fixture *f = *state;
    char *bak = vt_path(f->dir, "b.bak"), *db2 = vt_path(f->dir, "other.db"), *fresh = vt_path(f->dir, "fresh.db");
    vault_secret_t s;
    assert_int_equal(vault_secret_set(f->v, NULL, "keep", (const uint8_t *)"kept", 4, NULL, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_backup(f->v, NULL, bak, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_delete(f->v, NULL, "keep", f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_secret_purge(f->v, NULL, "keep", f->err, sizeof(f->err)), 0);
    uint64_t g = vault_generation(f->v);
    assert_int_equal(vault_restore(f->db, &f->ks, NULL, NULL, bak, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_reload_if_changed(f->v, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_generation(f->v), g + 1);
    assert_int_equal(vault_secret_get(f->v, NULL, "keep", NULL, &s, f->err, sizeof(f->err)), 0);
    assert_memory_equal(s.value, "kept", 4);
    vault_secret_dispose(&s);

    /* a backup is not a vault, nor a vault a backup */
    assert_null(vault_open(bak, &f->ks, NULL, NULL, f->err, sizeof(f->err)));
    assert_non_null(strstr(f->err, "backup"));
    assert_int_equal(vault_restore(f->db, &f->ks, NULL, NULL, f->db, f->err, sizeof(f->err)), VAULT_EFORMAT);

    /* restore where no vault exists: recreates it */
    assert_int_equal(vault_restore(fresh, &f->ks, NULL, NULL, bak, f->err, sizeof(f->err)), 0);
    vault_t *fv = vault_open(fresh, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    assert_non_null(fv);
    vault_close(fv);

    /* a foreign backup (another vault, same master key) is refused, and nothing changes */
    char *bak2 = vt_path(f->dir, "b2.bak");
    assert_int_equal(vault_create(db2, &f->ks, NULL, f->err, sizeof(f->err)), 0);
    vault_t *v2 = vault_open(db2, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    assert_int_equal(vault_backup(v2, NULL, bak2, f->err, sizeof(f->err)), 0);
    vault_close(v2);
    size_t n0, n1;
    uint8_t *before = vt_read(f->db, &n0);
    assert_int_equal(vault_restore(f->db, &f->ks, NULL, NULL, bak2, f->err, sizeof(f->err)), VAULT_EFOREIGN);
    assert_non_null(strstr(f->err, "another vault"));
    uint8_t *after = vt_read(f->db, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(after);

    /* a tampered backup: every byte flipped in turn is refused */
    size_t blen;
    uint8_t *b = vt_read(bak, &blen);
    char *bad = vt_path(f->dir, "bad.bak");
    for (size_t off = 0; off < blen; off++) {
        b[off] ^= 0x80;
        vt_write(bad, b, blen);
        b[off] ^= 0x80;
        vault_err_t rc = vault_restore(f->db, &f->ks, NULL, NULL, bad, f->err, sizeof(f->err));
        assert_true(rc == VAULT_EFORMAT || rc == VAULT_ECORRUPT || rc == VAULT_EBADKEY);
    }
    after = vt_read(f->db, &n1);
    assert_memory_equal(before, after, n0);
    free(after);
    /* a different master key cannot open it */
    vault_keysource_t other = {0};
    uint8_t mk[32] = {9};
    vault_keysource_set_master(&other, mk);
    assert_int_equal(vault_restore(f->db, &other, NULL, NULL, bak, f->err, sizeof(f->err)), VAULT_EBADKEY);
    assert_non_null(strstr(f->err, "wrong master key"));
    vault_keysource_wipe(&other);
    free(b);
    free(before);
    free(bad);
    free(bak);
    free(bak2);
    free(db2);
    free(fresh);
}

/* encode(decode(x)) == x for a payload with every kind of object. */
static void codec_round_trip(void **state)
{
    struct fixture *f = *state;
    vault_tag_t tags[] = {{"k", ""}};
    vault_secret_input_t in = {.content_type = "ct", .ntags = 1, .tags = tags, .nbf = 1, .exp = 2000000000};
    vault_policy_t p = {.account = "acct1", .container = "$root", .id = "x"};
    assert_int_equal(vault_secret_set(f->v, NULL, "a", (const uint8_t *)"", 0, &in, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_policy_put(f->v, NULL, &p, f->err, sizeof(f->err)), 0);
    uint8_t *a, *b;
    size_t alen, blen;
    struct vault__state st;
    vault__encode(&f->v->st, &a, &alen);
    assert_int_equal(vault__decode(a, alen, &st, f->err, sizeof(f->err)), 0);
    vault__encode(&st, &b, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    /* every truncation is refused */
    for (size_t n = 0; n < alen; n++) {
        struct vault__state t;
        assert_int_equal(vault__decode(a, n, &t, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    }
    vault__state_free(&st);
    sg_secure_free(a);
    sg_secure_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rotation_and_retirement, setup, teardown),
        cmocka_unit_test_setup_teardown(secrets_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(stored_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_when_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(backup_and_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(codec_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
