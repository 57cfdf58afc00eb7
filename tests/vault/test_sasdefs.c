/*
 * Tests managed-storage SAS definitions in vault/ (vault_sasdefs.c): the
 * ISO 8601 duration reader, definition names, the template URI reader
 * (every refusal), put/get/list/delete with created kept on replace, the
 * payload's SAS definitions section (round trip, every truncation refused, a vault
 * without definitions still written as before), reopening, and backup and
 * restore carrying them.
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

#define SIG "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"
#define T_CONTAINER "http://127.0.0.1:10000/acct1/photos?sv=2022-11-02&sr=c&sp=rl&se=2030-01-01T00:00:00Z&" SIG
#define T_BLOB "https://127.0.0.1:10000/acct1/photos/a/b%20c.jpg?sv=2022-11-02&sr=b&sp=r&spr=https&" SIG
#define T_ACCOUNT "https://acct1.blob.core.windows.net/?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01&" SIG

struct fixture {
    char *dir, *db;
    vault_keysource_t ks;
    vault_t *v;
    char err[512];
};

static const uint8_t key1[64] = {1, 2, 3};
static const uint8_t key2[64] = {3, 2, 1};

static int setup(void **state)
{
    struct fixture *f = sg_calloc(1, sizeof(*f));
    vt_set_master_key(7);
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

static void durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t secs;
    } ok[] = {{"PT1S", 1},     {"PT1H", 3600},  {"PT1H30M", 5400}, {"P1D", 86400},       {"P1DT12H", 129600}, {"PT90S", 90},
              {"P1W", 604800}, {"P7D", 604800}, {"PT0H1S", 1},     {"PT10080M", 604800}, {"P0DT2H", 7200},    {"PT2H0M0S", 7200}};
    static const char *const bad[] = {"",        "P",         "PT",    "1H",     "pt1h",    "PT1h",  "PT-1H",   "PT1.5H",
                                      "P1M",     "P1Y",       "PT1D",  "P1H",    "PT1S1M",  "P1DT",  "PT0S",    "P0D",
                                      "P8D",     "PT604801S", "P1D1D", "PT1H1H", "P 1D",    "PT1H ", "P1W1D2W", "PT9999999999S",
                                      "P1DTT1H", "PTH",       "P-1D",  "PT+1S",  "P1DT1H\n"};
    char err[256];
    int64_t s;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int rc = vault_sasdef_parse_duration(ok[i].text, &s, err, sizeof(err));
        if (rc != 0)
            fail_msg("%s: %s", ok[i].text, err);
        assert_int_equal(s, ok[i].secs);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (vault_sasdef_parse_duration(bad[i], &s, err, sizeof(err)) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_true(strstr(err, "validityPeriod") != NULL);
    }
    assert_int_equal(vault_sasdef_parse_duration(NULL, &s, err, sizeof(err)), -1);
}

static void names(void **state)
{
    (void)state;
    char longest[VAULT_SASDEF_NAME_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    longest[VAULT_SASDEF_NAME_MAX] = '\0';
    assert_true(vault_valid_sasdef_name("readonly"));
    assert_true(vault_valid_sasdef_name("R2d2"));
    assert_true(vault_valid_sasdef_name(longest));
    longest[VAULT_SASDEF_NAME_MAX] = 'a';
    longest[VAULT_SASDEF_NAME_MAX + 1] = '\0';
    assert_false(vault_valid_sasdef_name(longest));
    assert_false(vault_valid_sasdef_name(""));
    assert_false(vault_valid_sasdef_name(NULL));
    assert_false(vault_valid_sasdef_name("read-only")); /* '-' separates account and name in the secret name */
    assert_false(vault_valid_sasdef_name("a b"));
    assert_false(vault_valid_sasdef_name("a/b"));
    assert_false(vault_valid_sasdef_name("\xc3\xa9"));
}

static void templates(void **state)
{
    (void)state;
    vault_sasdef_template_t *t = sg_alloc(sizeof(*t));
    char err[512];

    assert_int_equal(vault_sasdef_template_parse(T_CONTAINER, "acct1", VAULT_SASDEF_SERVICE, t, err, sizeof(err)), 0);
    assert_string_equal(t->container, "photos");
    assert_null(t->blob);
    assert_string_equal(t->permissions, "rl");
    assert_null(t->protocol);
    assert_null(t->ip);

    assert_int_equal(vault_sasdef_template_parse(T_BLOB, "acct1", VAULT_SASDEF_SERVICE, t, err, sizeof(err)), 0);
    assert_string_equal(t->container, "photos");
    assert_string_equal(t->blob, "a/b c.jpg");
    assert_string_equal(t->permissions, "r");
    assert_string_equal(t->protocol, "https");

    assert_int_equal(vault_sasdef_template_parse(T_ACCOUNT, "acct1", VAULT_SASDEF_ACCOUNT, t, err, sizeof(err)), 0);
    assert_string_equal(t->services, "b");
    assert_string_equal(t->resource_types, "co");
    assert_string_equal(t->permissions, "rl");
    assert_null(t->container);

    /* host style for a service SAS, with an ip range */
    assert_int_equal(vault_sasdef_template_parse(
                         "https://acct1.blob.core.windows.net/photos?sv=2022-11-02&sr=c&sp=rl&sip=10.0.0.1-10.0.0.9&" SIG, "acct1",
                         VAULT_SASDEF_SERVICE, t, err, sizeof(err)),
                     0);
    assert_string_equal(t->container, "photos");
    assert_string_equal(t->ip, "10.0.0.1-10.0.0.9");

    static const struct {
        const char *uri, *account, *why;
        vault_sasdef_type_t type;
    } bad[] = {
        {T_CONTAINER, "acct1", "sasType is account", VAULT_SASDEF_ACCOUNT},
        {T_ACCOUNT, "acct1", "sasType is service", VAULT_SASDEF_SERVICE},
        {T_CONTAINER, "acct2", "another storage account", VAULT_SASDEF_SERVICE},
        {"ftp://127.0.0.1/acct1/photos?sr=c&sp=r&sv=2022-11-02&" SIG, "acct1", "http or https", VAULT_SASDEF_SERVICE},
        {"http:///acct1/photos?sr=c&sp=r&sv=2022-11-02&" SIG, "acct1", "name a host", VAULT_SASDEF_SERVICE},
        {"http://u:p@127.0.0.1/acct1/photos?sr=c&sp=r&sv=2022-11-02&" SIG, "acct1", "user information", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos", "acct1", "SAS query", VAULT_SASDEF_SERVICE},
        {T_CONTAINER "#frag", "acct1", "fragment", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos?sr=c&sp=r&sv=2022-11-02", "acct1", "not a valid SAS", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos?sr=c&sv=2022-11-02&" SIG, "acct1", "permissions", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos?sr=c&sp=rr&sv=2022-11-02&" SIG, "acct1", "not a valid SAS", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos?sr=c&sp=r&sp=w&sv=2022-11-02&" SIG, "acct1", "not a valid SAS", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos?sr=c&sp=r&sv=2022-11-02&skoid=x&" SIG, "acct1", "not a valid SAS", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos/x?sr=bs&sp=r&sv=2022-11-02&snapshot=2020-01-01T00:00:00Z&" SIG, "acct1", "sr=c",
         VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos/x?sr=c&sp=r&sv=2022-11-02&" SIG, "acct1", "must address a container", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos?sr=b&sp=r&sv=2022-11-02&" SIG, "acct1", "must address a blob", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/../photos?sr=c&sp=r&sv=2022-11-02&" SIG, "acct1", "path is not valid", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos/a%2Fb?sr=b&sp=r&sv=2022-11-02&" SIG, "acct1", "path is not valid", VAULT_SASDEF_SERVICE},
        {"http://127.0.0.1/acct1/photos?sv=2022-11-02&ss=b&srt=co&sp=rl&" SIG, "acct1", "not a container", VAULT_SASDEF_ACCOUNT},
        {"http://127.0.0.1/acct1?sv=2022-11-02&ss=b&sp=rl&" SIG, "acct1", "not a valid SAS", VAULT_SASDEF_ACCOUNT},
        {T_CONTAINER, "Acct1", "account name", VAULT_SASDEF_SERVICE},
        {NULL, "acct1", "missing", VAULT_SASDEF_SERVICE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (vault_sasdef_template_parse(bad[i].uri, bad[i].account, bad[i].type, t, err, sizeof(err)) != -1)
            fail_msg("accepted %s", bad[i].uri);
        if (strstr(err, bad[i].why) == NULL)
            fail_msg("%s: '%s' lacks '%s'", bad[i].uri, err, bad[i].why);
        assert_null(strstr(err, "AAAAAAAA")); /* never echoes the signature */
    }
    /* too long */
    char *huge = sg_alloc(VAULT_SASDEF_TEMPLATE_MAX + 2);
    memset(huge, 'a', VAULT_SASDEF_TEMPLATE_MAX + 1);
    huge[VAULT_SASDEF_TEMPLATE_MAX + 1] = '\0';
    assert_int_equal(vault_sasdef_template_parse(huge, "acct1", VAULT_SASDEF_SERVICE, t, err, sizeof(err)), -1);
    free(huge);
    free(t);
}

static void lifecycle(void **state)
{
    struct fixture *f = *state;
    vault_tag_t tags[] = {{"team", "photos"}, {"env", ""}};
    vault_sasdef_input_t in = {.account = "acct1",
                               .name = "readonly",
                               .template_uri = T_CONTAINER,
                               .validity = "PT1H",
                               .sas_type = VAULT_SASDEF_SERVICE,
                               .enabled = 1,
                               .ntags = 2,
                               .tags = tags};
    vault_sasdef_t d, g;
    assert_int_equal(vault_sasdef_put(f->v, NULL, &in, &d, f->err, sizeof(f->err)), 0);
    assert_string_equal(d.name, "readonly");
    assert_string_equal(d.validity, "PT1H");
    assert_int_equal(d.enabled, 1);
    assert_int_equal(d.ntags, 2);
    assert_true(d.created > 0 && d.created == d.updated);
    int64_t created = d.created;
    vault_sasdef_dispose(&d);

    assert_int_equal(vault_sasdef_get(f->v, "acct1", "readonly", &g), 1);
    assert_string_equal(g.template_uri, T_CONTAINER);
    assert_string_equal(g.tags[0].key, "team");
    vault_sasdef_dispose(&g);
    assert_int_equal(vault_sasdef_get(f->v, "acct1", "nosuch", &g), 0);
    assert_int_equal(vault_sasdef_get(f->v, "acct2", "readonly", &g), 0);

    /* replace: created kept, fields changed */
    sleep(1);
    in.validity = "P1D";
    in.enabled = 0;
    in.ntags = 0;
    assert_int_equal(vault_sasdef_put(f->v, NULL, &in, &d, f->err, sizeof(f->err)), 0);
    assert_int_equal(d.created, created);
    assert_true(d.updated > created);
    assert_int_equal(d.enabled, 0);
    assert_int_equal(d.ntags, 0);
    vault_sasdef_dispose(&d);

    /* refusals change nothing */
    vault_sasdef_input_t bad = in;
    bad.account = "nosuch";
    assert_int_equal(vault_sasdef_put(f->v, NULL, &bad, NULL, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    bad = in;
    bad.name = "bad-name";
    assert_int_equal(vault_sasdef_put(f->v, NULL, &bad, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    bad = in;
    bad.validity = "P30D";
    assert_int_equal(vault_sasdef_put(f->v, NULL, &bad, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    assert_non_null(strstr(f->err, "validityPeriod"));
    bad = in;
    bad.sas_type = VAULT_SASDEF_ACCOUNT;
    assert_int_equal(vault_sasdef_put(f->v, NULL, &bad, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);
    vault_tag_t dup[] = {{"a", "1"}, {"a", "2"}};
    bad = in;
    bad.ntags = 2;
    bad.tags = dup;
    assert_int_equal(vault_sasdef_put(f->v, NULL, &bad, NULL, f->err, sizeof(f->err)), VAULT_EINVAL);

    /* a second one, an account definition; the list is sorted */
    vault_sasdef_input_t acc = {.account = "acct1",
                                .name = "Accountwide",
                                .template_uri = T_ACCOUNT,
                                .validity = "PT30M",
                                .sas_type = VAULT_SASDEF_ACCOUNT,
                                .enabled = 1};
    assert_int_equal(vault_sasdef_put(f->v, NULL, &acc, NULL, f->err, sizeof(f->err)), 0);
    vault_sasdef_t *list;
    size_t n;
    assert_int_equal(vault_sasdef_list(f->v, "acct1", &list, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "Accountwide");
    assert_string_equal(list[1].name, "readonly");
    vault_sasdef_list_free(list, n);
    assert_int_equal(vault_sasdef_list(f->v, "nosuch", &list, &n, f->err, sizeof(f->err)), VAULT_ENOTFOUND);

    /* survives reopening */
    vault_close(f->v);
    f->v = vault_open(f->db, &f->ks, NULL, NULL, f->err, sizeof(f->err));
    assert_non_null(f->v);
    assert_int_equal(vault_sasdef_get(f->v, "acct1", "Accountwide", &g), 1);
    assert_int_equal(g.sas_type, VAULT_SASDEF_ACCOUNT);
    vault_sasdef_dispose(&g);

    /* delete */
    assert_int_equal(vault_sasdef_delete(f->v, NULL, "acct1", "readonly", &d, f->err, sizeof(f->err)), 0);
    assert_string_equal(d.validity, "P1D");
    vault_sasdef_dispose(&d);
    assert_int_equal(vault_sasdef_delete(f->v, NULL, "acct1", "readonly", NULL, f->err, sizeof(f->err)), VAULT_ENOTFOUND);
    assert_int_equal(vault_sasdef_get(f->v, "acct1", "readonly", &g), 0);
}

/* Version 1 without definitions (as before), with the SAS definitions flag when there are some; round trip; every truncation
 * refused. */
static void codec(void **state)
{
    struct fixture *f = *state;
    uint8_t *a, *b;
    size_t alen, blen;
    struct vault__state st;
    vault__encode(&f->v->st, &a, &alen);
    uint8_t plain_version = a[4]; /* the payload version, whatever it is */
    assert_true(plain_version >= 1);
    assert_int_equal(a[5], 0);
    assert_int_equal(a[6], 0); /* no flag */
    assert_int_equal(a[7], 0);
    sg_secure_free(a);

    vault_tag_t tags[] = {{"k", "v"}};
    vault_sasdef_input_t in = {.account = "acct1",
                               .name = "ro",
                               .template_uri = T_BLOB,
                               .validity = "PT5M",
                               .sas_type = VAULT_SASDEF_SERVICE,
                               .enabled = 1,
                               .ntags = 1,
                               .tags = tags};
    assert_int_equal(vault_sasdef_put(f->v, NULL, &in, NULL, f->err, sizeof(f->err)), 0);
    vault__encode(&f->v->st, &a, &alen);
    assert_int_equal(a[4], plain_version); /* the same version ... */
    assert_int_equal(a[6], 1);             /* ... with bit 16 of the version word set */
    assert_int_equal(vault__decode(a, alen, &st, f->err, sizeof(f->err)), 0);
    assert_int_equal(st.nsasdefs, 1);
    vault__encode(&st, &b, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    vault__state_free(&st);
    sg_secure_free(b);
    for (size_t n = 0; n < alen; n++) {
        struct vault__state t;
        assert_int_equal(vault__decode(a, n, &t, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    }
    /* without the flag the section is trailing bytes; an unknown flag is refused; a template that does not parse too */
    a[6] = 0;
    assert_int_equal(vault__decode(a, alen, &st, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    a[6] = 3;
    assert_int_equal(vault__decode(a, alen, &st, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    assert_non_null(strstr(f->err, "unsupported payload version"));
    a[6] = 1;
    uint8_t *sp = NULL;
    for (size_t i = 0; i + 4 <= alen && sp == NULL; i++)
        if (memcmp(a + i, "sp=r", 4) == 0)
            sp = a + i;
    assert_non_null(sp);
    sp[3] = 'Q';
    assert_int_equal(vault__decode(a, alen, &st, f->err, sizeof(f->err)), VAULT_ECORRUPT);
    assert_non_null(strstr(f->err, "SAS definition"));
    sg_secure_free(a);
}

static void backup_restore(void **state)
{
    struct fixture *f = *state;
    char *bak = vt_path(f->dir, "s.bak");
    vault_sasdef_input_t in = {.account = "acct1",
                               .name = "ro",
                               .template_uri = T_CONTAINER,
                               .validity = "PT1H",
                               .sas_type = VAULT_SASDEF_SERVICE,
                               .enabled = 1};
    vault_sasdef_t g;
    assert_int_equal(vault_sasdef_put(f->v, NULL, &in, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_backup(f->v, NULL, bak, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_sasdef_delete(f->v, NULL, "acct1", "ro", NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_restore(f->db, &f->ks, NULL, NULL, bak, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_reload_if_changed(f->v, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(vault_sasdef_get(f->v, "acct1", "ro", &g), 1);
    assert_string_equal(g.template_uri, T_CONTAINER);
    vault_sasdef_dispose(&g);
    free(bak);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations),
        cmocka_unit_test(names),
        cmocka_unit_test(templates),
        cmocka_unit_test_setup_teardown(lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(codec, setup, teardown),
        cmocka_unit_test_setup_teardown(backup_restore, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
