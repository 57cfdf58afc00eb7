/*
 * Tests vault/vault_secret_kv.c: updating a version's attributes, and the
 * one-secret backup blob: restorable into its own vault only (another vault
 * refuses it by id even under the same master key; a forged id fails the
 * tag), tampering and garbage refused, an existing name refused, the value
 * never in the blob's bytes, every call audited.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "sasgw/vault.h"
#include "testutil.h"

struct fixture {
    char *dir, *db, *db2, *audit, *audit2;
    vault_keysource_t ks;
    vault_t *v, *other;
    char err[512];
};

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    vt_set_master_key(5);
    f->dir = vt_mkdtemp();
    f->db = vt_path(f->dir, "vault.db");
    f->db2 = vt_path(f->dir, "other.db");
    f->audit = vt_path(f->dir, "audit.log");
    f->audit2 = vt_path(f->dir, "audit2.log");
    assert_int_equal(vault_keysource_resolve(&f->ks, NULL, NULL, f->err, sizeof(f->err)), 0);
    /* two vaults under the same master key: only their ids tell them apart */
    assert_int_equal(vault_create(f->db, &f->ks, f->audit, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_create(f->db2, &f->ks, f->audit2, f->err, sizeof(f->err)), 0);
    f->v = vault_open(f->db, &f->ks, f->audit, NULL, f->err, sizeof(f->err));
    f->other = vault_open(f->db2, &f->ks, f->audit2, NULL, f->err, sizeof(f->err));
    assert_non_null(f->v);
    assert_non_null(f->other);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vault_close(f->v);
    vault_close(f->other);
    vault_keysource_wipe(&f->ks);
    free(f->db);
    free(f->db2);
    free(f->audit);
    free(f->audit2);
    vt_rmtree(f->dir);
    free(f);
    return 0;
}

static const vault_actor_t who = {"kv-test", "127.0.0.1", "req-1"};

static void set(struct fixture *f, const char *name, const char *value, char version[VAULT_VERSION_ID_LEN + 1])
{
    vault_tag_t tag = {"a", "1"};
    vault_secret_input_t in = {.content_type = "text/plain", .ntags = 1, .tags = &tag};
    assert_int_equal(
        vault_secret_set(f->v, &who, name, (const uint8_t *)value, strlen(value), &in, version, f->err, sizeof(f->err)), VAULT_OK);
}

static void updates_attributes(void **state)
{
    struct fixture *f = *state;
    char v1[VAULT_VERSION_ID_LEN + 1], v2[VAULT_VERSION_ID_LEN + 1];
    vault_secret_attrs_t out;
    set(f, "s", "one", v1);
    set(f, "s", "two", v2);

    /* the newest ("" and NULL), only the members given change */
    vault_tag_t tags[2] = {{"x", "y"}, {"z", ""}};
    vault_secret_update_t up = {.has_tags = 1, .ntags = 2, .tags = tags, .has_exp = 1, .exp = 4102444800};
    assert_int_equal(vault_secret_update(f->v, &who, "s", "", &up, &out, f->err, sizeof(f->err)), VAULT_OK);
    assert_string_equal(out.version, v2);
    assert_int_equal(out.ntags, 2);
    assert_string_equal(out.tags[0].key, "x");
    assert_string_equal(out.content_type, "text/plain");
    assert_int_equal(out.exp, 4102444800);
    assert_true(out.enabled);
    vault_secret_attrs_dispose(&out);

    /* an older version by id: disable it, clear its content type; reads refuse it, the newest still reads */
    vault_secret_update_t off = {.has_enabled = 1, .enabled = 0, .has_content_type = 1, .content_type = ""};
    assert_int_equal(vault_secret_update(f->v, &who, "s", v1, &off, NULL, f->err, sizeof(f->err)), VAULT_OK);
    vault_secret_t s;
    assert_int_equal(vault_secret_get(f->v, &who, "s", v1, &s, f->err, sizeof(f->err)), VAULT_EDISABLED);
    assert_int_equal(vault_secret_get(f->v, &who, "s", NULL, &s, f->err, sizeof(f->err)), VAULT_OK);
    assert_memory_equal(s.value, "two", 3);
    vault_secret_dispose(&s);

    /* refusals: no such version, bad times, too many tags, a deleted secret, no such secret */
    vault_secret_update_t bad_times = {.has_nbf = 1, .nbf = 4102444801};
    assert_int_equal(vault_secret_update(f->v, &who, "s", "", &bad_times, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    vault_tag_t many[16];
    char keys[16][4];
    for (int i = 0; i < 16; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        many[i] = (vault_tag_t){keys[i], keys[i]};
    }
    vault_secret_update_t too_many = {.has_tags = 1, .ntags = 16, .tags = many};
    assert_int_equal(vault_secret_update(f->v, &who, "s", "", &too_many, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    vault_tag_t dup[2] = {{"d", "1"}, {"d", "2"}};
    vault_secret_update_t dups = {.has_tags = 1, .ntags = 2, .tags = dup};
    assert_int_equal(vault_secret_update(f->v, &who, "s", "", &dups, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_int_equal(vault_secret_update(f->v, &who, "s", "0123456789abcdef0123456789abcdef", &off, NULL, f->err, sizeof(f->err)),
                     VAULT_ENOTFOUND);
    assert_int_equal(vault_secret_update(f->v, &who, "nope", "", &off, NULL, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_int_equal(vault_secret_delete(f->v, &who, "s", f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_secret_update(f->v, &who, "s", "", &off, &out, f->err, sizeof(f->err)), VAULT_EDELETED);
    assert_null(out.tags);
    assert_true(vt_file_contains(f->audit, "\"op\":\"secret.update\"", 20));
}

static void backup_restores_into_its_own_vault_only(void **state)
{
    struct fixture *f = *state;
    char v1[VAULT_VERSION_ID_LEN + 1], v2[VAULT_VERSION_ID_LEN + 1], name[VAULT_NAME_MAX + 1];
    uint8_t *blob = NULL;
    size_t len = 0;
    const char *value = "the-backed-up-value-4711";
    set(f, "b", "older", v1);
    set(f, "b", value, v2);
    assert_int_equal(vault_secret_backup(f->v, &who, "b", &blob, &len, f->err, sizeof(f->err)), VAULT_OK);
    assert_true(len > 36 + 16);
    assert_null(memmem(blob, len, value, strlen(value)));
    assert_int_equal(vault_secret_backup_name(f->v, blob, len, name, f->err, sizeof(f->err)), VAULT_OK);
    assert_string_equal(name, "b");

    /* the name exists: refused; after a purge it comes back with both versions and their ids */
    assert_int_equal(vault_secret_restore(f->v, &who, blob, len, name, f->err, sizeof(f->err)), VAULT_EEXISTS);
    assert_int_equal(vault_secret_delete(f->v, &who, "b", f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_secret_restore(f->v, &who, blob, len, name, f->err, sizeof(f->err)), VAULT_EEXISTS); /* deleted too */
    assert_int_equal(vault_secret_purge(f->v, &who, "b", f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_secret_restore(f->v, &who, blob, len, name, f->err, sizeof(f->err)), VAULT_OK);
    assert_string_equal(name, "b");
    vault_secret_t s;
    assert_int_equal(vault_secret_get(f->v, &who, "b", v1, &s, f->err, sizeof(f->err)), VAULT_OK);
    assert_memory_equal(s.value, "older", 5);
    vault_secret_dispose(&s);
    assert_int_equal(vault_secret_get(f->v, &who, "b", NULL, &s, f->err, sizeof(f->err)), VAULT_OK);
    assert_string_equal(s.attrs.version, v2);
    vault_secret_dispose(&s);

    /* another vault, same master key: refused by id */
    assert_int_equal(vault_secret_restore(f->other, &who, blob, len, NULL, f->err, sizeof(f->err)), VAULT_EFOREIGN);
    assert_int_equal(vault_secret_backup_name(f->other, blob, len, name, f->err, sizeof(f->err)), VAULT_EFOREIGN);
    /* ... and with the other vault's id forged into the blob, by the tag (the data keys differ) */
    vault_status_t st;
    vault_get_status(f->other, &st);
    uint8_t *forged = malloc(len);
    memcpy(forged, blob, len);
    for (int i = 0; i < 16; i++)
        forged[8 + i] = (uint8_t)((sg_hexval(st.vault_id[2 * i]) << 4) | sg_hexval(st.vault_id[2 * i + 1]));
    assert_int_equal(vault_secret_restore(f->other, &who, forged, len, NULL, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    /* every flipped byte is refused, in its own vault too (after a purge, so only the blob decides) */
    assert_int_equal(vault_secret_delete(f->v, &who, "b", f->err, sizeof(f->err)), VAULT_OK);
    assert_int_equal(vault_secret_purge(f->v, &who, "b", f->err, sizeof(f->err)), VAULT_OK);
    for (size_t i = 0; i < len; i += (i < 40 ? 1 : 7)) {
        memcpy(forged, blob, len);
        forged[i] ^= 0x20;
        vault_err_t rc = vault_secret_restore(f->v, &who, forged, len, NULL, f->err, sizeof(f->err));
        if (rc != VAULT_EFORMAT && rc != VAULT_EFOREIGN && rc != VAULT_ECORRUPT)
            fail_msg("byte %zu flipped: %s", i, vault_err_name(rc));
    }
    free(forged);
    /* truncated, empty, garbage */
    assert_int_equal(vault_secret_restore(f->v, &who, blob, len - 1, NULL, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    assert_int_equal(vault_secret_restore(f->v, &who, blob, 10, NULL, f->err, sizeof(f->err)), VAULT_EFORMAT);
    assert_int_equal(vault_secret_restore(f->v, &who, (const uint8_t *)"", 0, NULL, f->err, sizeof(f->err)), VAULT_EFORMAT);
    free(blob);

    /* a deleted or missing secret has no backup */
    assert_int_equal(vault_secret_backup(f->v, &who, "b", &blob, &len, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_null(blob);
    assert_true(vt_file_contains(f->audit, "\"op\":\"secret.backup\"", 20));
    assert_true(vt_file_contains(f->audit, "\"op\":\"secret.restore\"", 21));
    assert_false(vt_file_contains(f->audit, value, strlen(value)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(updates_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(backup_restores_into_its_own_vault_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
