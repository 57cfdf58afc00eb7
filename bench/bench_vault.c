/*
 * bench_vault.c - open and write times of a vault holding 1,000 secrets x 10
 * versions (100-byte values, 2 tags each) plus 10 accounts and 100 stored
 * access policies.
 *
 *   bench_vault [DIR]      (default: a fresh directory under /tmp, removed after;
 *                           with DIR the vault stays there, sealed by SASGW_MASTER_KEY)
 *
 * Prints: file size; vault_open (read + unwrap + GCM + parse), median and p90
 * of 30 runs; one durable write through the API (lock, header check, encode,
 * seal, temp file + fsync, audit append + fsync, rename, directory fsync),
 * median and p90 of 30 runs, and its CPU part (encode + seal) alone; a secret
 * read; and the scrypt cost of a passphrase-sealed vault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../vault/internal.h"
#include "sasgw/common.h"

#define SECRETS 1000
#define VERSIONS 10
#define RUNS 30

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    printf("%-44s median %8.2f ms   p90 %8.2f ms\n", what, t[n / 2], t[n * 9 / 10]);
}

/* One mutation that fills the vault (bench only: the API adds one version per write). */
static vault_err_t populate(struct vault__state *st, void *arg, char *err, size_t errlen)
{
    char name[32];
    uint8_t key[64];
    st->secrets = sg_calloc(SECRETS, sizeof(*st->secrets));
    for (int i = 0; i < SECRETS; i++) {
        struct vault__secret *s = &st->secrets[i];
        snprintf(name, sizeof(name), "secret-%04d", i);
        s->name = sg_strdup(name);
        s->v = sg_calloc(VERSIONS, sizeof(*s->v));
        s->n = VERSIONS;
        for (int j = 0; j < VERSIONS; j++) {
            struct vault__secver *sv = &s->v[j];
            uint8_t rnd[16];
            sg_random(rnd, sizeof(rnd));
            for (int k = 0; k < 16; k++)
                snprintf(sv->id + 2 * k, 3, "%02x", rnd[k]);
            sv->len = 100;
            sv->value = sg_alloc(100);
            sg_random(sv->value, 100);
            sv->content_type = sg_strdup("text/plain");
            sv->ntags = 2;
            sv->tags = sg_calloc(2, sizeof(vault_tag_t));
            sv->tags[0].key = sg_strdup("env");
            sv->tags[0].value = sg_strdup("prod");
            sv->tags[1].key = sg_strdup("owner");
            sv->tags[1].value = sg_strdup("team-storage");
            sv->enabled = 1;
            sv->created = sv->updated = vault__now();
        }
    }
    st->nsecrets = SECRETS;
    st->accounts = sg_calloc(10, sizeof(*st->accounts));
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "account%02d", i);
        st->accounts[i].name = sg_strdup(name);
        st->accounts[i].backend = sg_strdup("http://127.0.0.1:10000");
        for (int k = 0; k < 2; k++) {
            st->accounts[i].slot[k].v = sg_calloc(1, sizeof(struct vault__keyver));
            st->accounts[i].slot[k].n = 1;
            st->accounts[i].slot[k].v[0].number = 1;
            st->accounts[i].slot[k].v[0].len = 64;
            sg_random(key, 64);
            memcpy(st->accounts[i].slot[k].v[0].key, key, 64);
        }
    }
    st->naccounts = 10;
    st->policies = sg_calloc(100, sizeof(vault_policy_t));
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "p%03d", i);
        st->policies[i].account = sg_strdup("account00");
        st->policies[i].container = sg_strdup("photos");
        st->policies[i].id = sg_strdup(name);
        strcpy(st->policies[i].permissions, "rl");
    }
    st->npolicies = 100;
    sg_wipe(key, sizeof(key));
    return 0;
}

int main(int argc, char **argv)
{
    char dir[256], db[300], err[512];
    double t[RUNS];
    vault_keysource_t ks = {0};
    uint8_t mk[32];
    int own = argc < 2;
    if (own) {
        snprintf(dir, sizeof(dir), "/tmp/sasgw-bench-vault-XXXXXX");
        if (mkdtemp(dir) == NULL)
            return 1;
    } else {
        snprintf(dir, sizeof(dir), "%s", argv[1]);
    }
    snprintf(db, sizeof(db), "%s/vault.db", dir);
    /* the master key: SASGW_MASTER_KEY when set (so the CLI can open the vault afterwards), else random */
    sg_random(mk, sizeof(mk));
    vault_keysource_set_master(&ks, mk);
    if (getenv("SASGW_MASTER_KEY") != NULL && vault_keysource_resolve(&ks, NULL, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (vault_create(db, &ks, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    vault_t *v = vault_open(db, &ks, NULL, NULL, err, sizeof(err));
    if (v == NULL || vault__mutate(v, NULL, "bench.populate", "all", populate, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    vault_close(v);
    size_t flen;
    uint8_t *file;
    vault__read_file(db, &file, &flen, err, sizeof(err));
    free(file);
    printf("vault: %d secrets x %d versions (100-byte values), 10 accounts, 100 policies: %zu bytes on disk\n", SECRETS, VERSIONS,
           flen);

    /* open */
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_ms();
        v = vault_open(db, &ks, NULL, NULL, err, sizeof(err));
        t[i] = now_ms() - t0;
        if (v == NULL) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        vault_close(v);
    }
    report("open (read, unwrap, decrypt, parse)", t, RUNS);

    /* write */
    v = vault_open(db, &ks, NULL, NULL, err, sizeof(err));
    for (int i = 0; i < RUNS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "secret-%04d", i * 7);
        double t0 = now_ms();
        if (vault_secret_set(v, NULL, name, (const uint8_t *)"new value", 9, NULL, NULL, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        t[i] = now_ms() - t0;
    }
    report("write (one secret version, durable)", t, RUNS);
    for (int i = 0; i < RUNS; i++) {
        uint8_t *pt, *out;
        size_t ptlen, outlen;
        struct vault__header h = v->hdr;
        double t0 = now_ms();
        vault__encode(&v->st, &pt, &ptlen);
        vault__encrypt(&h, v->dk, pt, ptlen, &out, &outlen);
        t[i] = now_ms() - t0;
        sg_secure_free(pt);
        free(out);
    }
    report("  of which encode + seal (CPU)", t, RUNS);
    for (int i = 0; i < RUNS; i++) {
        vault_secret_t s;
        double t0 = now_ms();
        if (vault_secret_get(v, NULL, "secret-0500", NULL, &s, err, sizeof(err)) != 0)
            return 1;
        t[i] = now_ms() - t0;
        vault_secret_dispose(&s);
    }
    report("read one secret (audited, fsync)", t, RUNS);
    vault_close(v);

    /* scrypt, as a passphrase vault pays it on every open */
    struct vault__header h = {.kdf = VAULT__KDF_SCRYPT, .log2n = VAULT__SCRYPT_LOG2N, .r = VAULT__SCRYPT_R, .p = VAULT__SCRYPT_P};
    vault_keysource_t pass = {0};
    uint8_t kek[32];
    vault_keysource_set_passphrase(&pass, "correct horse battery staple", 28);
    for (int i = 0; i < 5; i++) {
        double t0 = now_ms();
        vault__kek(&h, &pass, kek, err, sizeof(err));
        t[i] = now_ms() - t0;
    }
    printf("scrypt N=2^%d r=%d p=%d (passphrase unseal):   ", VAULT__SCRYPT_LOG2N, VAULT__SCRYPT_R, VAULT__SCRYPT_P);
    qsort(t, 5, sizeof(double), cmp_double);
    printf("median %8.2f ms\n", t[2]);
    sg_wipe(kek, sizeof(kek));
    vault_keysource_wipe(&pass);
    vault_keysource_wipe(&ks);
    sg_wipe(mk, sizeof(mk));
    if (own) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
