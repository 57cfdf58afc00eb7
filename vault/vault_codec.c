/*
 * vault_codec.c - the plaintext payload inside the container: a compact,
 * length-prefixed binary encoding of the model, written and parsed here.
 *
 * Why not JSON (jansson)? jansson copies every string into buffers it frees
 * without wiping, and its allocator hooks are process-global (they would
 * change every other user of jansson in the gateway). A codec of our own
 * writes secrets into exactly one buffer, sized beforehand so it is never
 * reallocated, which the caller wipes; the parser copies each value once into
 * memory the model wipes on free. It is also strict and fast to parse.
 *
 * Encoding (integers little-endian; str = u32 length + bytes, no NUL inside):
 *   "SGVP" u32 version=2 (1 is read too: it has no edge slots), plus VAULT__PAYLOAD_SASDEFS (bit 16) when the payload holds SAS definitions
 *   u32 retention_days, u8 purge_protection, u64 audit_seq, 32 audit_hash
 *   u32 n accounts, sorted by name, each:
 *     str name, str backend, u8 mode, then for key1, key2 and (version 2) edge1, edge2:
 *       u32 n versions, each: u32 number (increasing), i64 created, u8 state, u8 len, len key bytes
 *   u32 n secrets, sorted by name, each:
 *     str name, i64 deleted_on, i64 purge_on, u32 n versions, each:
 *       32 hex id, str value, str content_type, u32 n tags (str key, str value),
 *       u8 enabled, i64 nbf, i64 exp, i64 created, i64 updated
 *   u32 n policies, sorted by (account, container, id), each:
 *     str account, str container, str id, i64 start, i64 expiry, str permissions
 *   with VAULT__PAYLOAD_SASDEFS only (set when there is at least one SAS
 *   definition, so a vault without any is written as before and older builds
 *   still read it, while one with them is refused by builds that would drop them):
 *   u32 n SAS definitions (n >= 1), sorted by (account, name), each:
 *     str account, str name, str template_uri, str validity, u8 sas_type,
 *     u8 enabled, i64 created, i64 updated, u32 n tags (str key, str value)
 * Nothing may follow. Every name, letter and range is validated as the API
 * validates it, so a payload that parses is one the API could have written.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/common.h"

/* The payload version written; 1 (before edge keys) is still read. */
#define VAULT__PAYLOAD_VERSION 2
/*
 * A flag of the version word (bits 16-31 are flags, bits 0-15 the version),
 * so that SAS definitions combine with any payload version: the section of
 * SAS definitions follows the stored access policies.
 */
#define VAULT__PAYLOAD_SASDEFS 0x10000u

/* ---------------------------------------------------------------- writer */

/* With p == NULL the writer only counts, so the buffer is allocated once at its final size. */
struct writer {
    uint8_t *p;
    size_t len;
};

static void w_bytes(struct writer *w, const void *b, size_t n)
{
    if (w->p != NULL && n > 0)
        memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void w_u8(struct writer *w, uint8_t v)
{
    w_bytes(w, &v, 1);
}

static void w_u32(struct writer *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    w_bytes(w, b, 4);
}

static void w_u64(struct writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    w_bytes(w, b, 8);
}

static void w_str(struct writer *w, const void *s, size_t n)
{
    w_u32(w, (uint32_t)n);
    w_bytes(w, s, n);
}

static void w_cstr(struct writer *w, const char *s)
{
    w_str(w, s, s == NULL ? 0 : strlen(s));
}

static void encode_into(const struct vault__state *s, struct writer *w)
{
    w_bytes(w, "SGVP", 4);
    w_u32(w, VAULT__PAYLOAD_VERSION | (s->nsasdefs != 0 ? VAULT__PAYLOAD_SASDEFS : 0));
    w_u32(w, s->retention_days);
    w_u8(w, s->purge_protection);
    w_u64(w, s->audit_seq);
    w_bytes(w, s->audit_hash, 32);
    w_u32(w, (uint32_t)s->naccounts);
    for (size_t i = 0; i < s->naccounts; i++) {
        const struct vault__account *a = &s->accounts[i];
        w_cstr(w, a->name);
        w_cstr(w, a->backend);
        w_u8(w, a->mode);
        for (int k = 0; k < VAULT_NUM_SLOTS; k++) {
            w_u32(w, (uint32_t)a->slot[k].n);
            for (size_t j = 0; j < a->slot[k].n; j++) {
                const struct vault__keyver *kv = &a->slot[k].v[j];
                w_u32(w, kv->number);
                w_u64(w, (uint64_t)kv->created);
                w_u8(w, kv->state);
                w_u8(w, kv->len);
                w_bytes(w, kv->key, kv->len);
            }
        }
    }
    w_u32(w, (uint32_t)s->nsecrets);
    for (size_t i = 0; i < s->nsecrets; i++) {
        const struct vault__secret *sec = &s->secrets[i];
        w_cstr(w, sec->name);
        w_u64(w, (uint64_t)sec->deleted_on);
        w_u64(w, (uint64_t)sec->purge_on);
        w_u32(w, (uint32_t)sec->n);
        for (size_t j = 0; j < sec->n; j++) {
            const struct vault__secver *sv = &sec->v[j];
            w_bytes(w, sv->id, VAULT_VERSION_ID_LEN);
            w_str(w, sv->value, sv->len);
            w_cstr(w, sv->content_type);
            w_u32(w, (uint32_t)sv->ntags);
            for (size_t t = 0; t < sv->ntags; t++) {
                w_cstr(w, sv->tags[t].key);
                w_cstr(w, sv->tags[t].value);
            }
            w_u8(w, sv->enabled);
            w_u64(w, (uint64_t)sv->nbf);
            w_u64(w, (uint64_t)sv->exp);
            w_u64(w, (uint64_t)sv->created);
            w_u64(w, (uint64_t)sv->updated);
        }
    }
    w_u32(w, (uint32_t)s->npolicies);
    for (size_t i = 0; i < s->npolicies; i++) {
        const vault_policy_t *p = &s->policies[i];
        w_cstr(w, p->account);
        w_cstr(w, p->container);
        w_cstr(w, p->id);
        w_u64(w, (uint64_t)p->start);
        w_u64(w, (uint64_t)p->expiry);
        w_cstr(w, p->permissions);
    }
    if (s->nsasdefs == 0)
        return;
    w_u32(w, (uint32_t)s->nsasdefs);
    for (size_t i = 0; i < s->nsasdefs; i++) {
        const vault_sasdef_t *d = &s->sasdefs[i];
        w_cstr(w, d->account);
        w_cstr(w, d->name);
        w_cstr(w, d->template_uri);
        w_cstr(w, d->validity);
        w_u8(w, d->sas_type);
        w_u8(w, d->enabled);
        w_u64(w, (uint64_t)d->created);
        w_u64(w, (uint64_t)d->updated);
        w_u32(w, (uint32_t)d->ntags);
        for (size_t t = 0; t < d->ntags; t++) {
            w_cstr(w, d->tags[t].key);
            w_cstr(w, d->tags[t].value);
        }
    }
}

void vault__encode(const struct vault__state *s, uint8_t **out, size_t *len)
{
    struct writer w = {NULL, 0};
    encode_into(s, &w);
    size_t total = w.len;
    w.p = sg_secure_alloc(total);
    w.len = 0;
    encode_into(s, &w);
    *out = w.p;
    *len = total;
}

/* ---------------------------------------------------------------- reader */

struct reader {
    const uint8_t *p;
    size_t len, off;
    char *err;
    size_t errlen;
    int failed;
};

static int r_fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int r_fail(struct reader *r, const char *fmt, ...)
{
    if (!r->failed && r->err != NULL && r->errlen > 0) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(r->err, r->errlen, "the vault payload is malformed at byte %zu: %s", r->off, msg);
    }
    r->failed = 1;
    return -1;
}

static int r_bytes(struct reader *r, void *out, size_t n)
{
    if (r->failed)
        return -1;
    if (r->len - r->off < n)
        return r_fail(r, "unexpected end of data");
    memcpy(out, r->p + r->off, n);
    r->off += n;
    return 0;
}

static uint8_t r_u8(struct reader *r)
{
    uint8_t v = 0;
    r_bytes(r, &v, 1);
    return v;
}

static uint32_t r_u32(struct reader *r)
{
    uint8_t b[4] = {0};
    r_bytes(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int64_t r_i64(struct reader *r)
{
    uint8_t b[8] = {0};
    uint64_t v = 0;
    r_bytes(r, b, 8);
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return (int64_t)v;
}

/* Reads a count, bounded by max and by what the remaining bytes could hold (min_item bytes each). */
static size_t r_count(struct reader *r, size_t max, size_t min_item, const char *what)
{
    uint32_t n = r_u32(r);
    if (r->failed)
        return 0;
    if (n > max || (size_t)n * min_item > r->len - r->off) {
        r_fail(r, "%s count %u is out of range", what, n);
        return 0;
    }
    return n;
}

/* Reads a str of at most max bytes into a fresh NUL-terminated buffer (NULL on error). NUL bytes refused. */
static char *r_str(struct reader *r, size_t max, const char *what)
{
    uint32_t n = r_u32(r);
    if (r->failed)
        return NULL;
    if (n > max || n > r->len - r->off) {
        r_fail(r, "%s length %u is out of range", what, n);
        return NULL;
    }
    if (memchr(r->p + r->off, '\0', n) != NULL) {
        r_fail(r, "%s contains a NUL byte", what);
        return NULL;
    }
    char *s = sg_alloc((size_t)n + 1);
    memcpy(s, r->p + r->off, n);
    s[n] = '\0';
    r->off += n;
    return s;
}

static int valid_version_id(const char *id)
{
    for (size_t i = 0; i < VAULT_VERSION_ID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return id[VAULT_VERSION_ID_LEN] == '\0';
}

static int valid_time(int64_t t)
{
    return t >= 0 && t <= 253402300799; /* 9999-12-31T23:59:59Z */
}

/* Reads one account; a payload of version 1 carries key1 and key2 only (no edge keys yet). */
static int decode_account(struct reader *r, struct vault__account *a, uint32_t version)
{
    int nslots = version >= 2 ? VAULT_NUM_SLOTS : 2;
    if ((a->name = r_str(r, 24, "account name")) == NULL || !vault_valid_account_name(a->name))
        return r_fail(r, "invalid account name");
    if ((a->backend = r_str(r, 2048, "backend")) == NULL)
        return -1;
    a->mode = r_u8(r);
    if (a->mode > VAULT_MODE_RESIGN)
        return r_fail(r, "invalid account mode %u", a->mode);
    for (int k = 0; k < nslots; k++) {
        size_t n = r_count(r, 100000, 15, "key version");
        if (r->failed)
            return -1;
        a->slot[k].v = sg_secure_calloc(n, sizeof(struct vault__keyver));
        for (size_t j = 0; j < n; j++) {
            struct vault__keyver *kv = &a->slot[k].v[j];
            a->slot[k].n = j + 1;
            kv->number = r_u32(r);
            kv->created = r_i64(r);
            kv->state = r_u8(r);
            kv->len = r_u8(r);
            if (r->failed)
                return -1;
            if (kv->number == 0 || (j > 0 && kv->number <= a->slot[k].v[j - 1].number))
                return r_fail(r, "key versions are not increasing");
            if (!valid_time(kv->created) || kv->state > VAULT_KEY_RETIRED)
                return r_fail(r, "invalid key version attributes");
            if (kv->len < VAULT_KEY_MIN || kv->len > VAULT_KEY_MAX)
                return r_fail(r, "invalid key length %u", kv->len);
            if (r_bytes(r, kv->key, kv->len) != 0)
                return -1;
        }
    }
    return 0;
}

static int decode_secver(struct reader *r, struct vault__secver *sv)
{
    uint32_t n;
    if (r_bytes(r, sv->id, VAULT_VERSION_ID_LEN) != 0)
        return -1;
    sv->id[VAULT_VERSION_ID_LEN] = '\0';
    if (!valid_version_id(sv->id))
        return r_fail(r, "invalid secret version id");
    n = r_u32(r);
    if (r->failed)
        return -1;
    if (n > VAULT_SECRET_MAX || n > r->len - r->off)
        return r_fail(r, "secret value length %u is out of range", n);
    sv->value = sg_alloc(n == 0 ? 1 : n);
    sv->len = n;
    if (r_bytes(r, sv->value, n) != 0)
        return -1;
    if ((sv->content_type = r_str(r, 255, "content type")) == NULL)
        return -1;
    size_t nt = r_count(r, VAULT__MAX_TAGS, 8, "tag");
    if (r->failed)
        return -1;
    sv->tags = sg_calloc(nt, sizeof(vault_tag_t));
    for (size_t t = 0; t < nt; t++) {
        sv->ntags = t + 1;
        if ((sv->tags[t].key = r_str(r, 256, "tag name")) == NULL || (sv->tags[t].value = r_str(r, 256, "tag value")) == NULL)
            return -1;
        if (sv->tags[t].key[0] == '\0')
            return r_fail(r, "empty tag name");
    }
    sv->enabled = r_u8(r);
    sv->nbf = r_i64(r);
    sv->exp = r_i64(r);
    sv->created = r_i64(r);
    sv->updated = r_i64(r);
    if (r->failed)
        return -1;
    if (sv->enabled > 1 || !valid_time(sv->nbf) || !valid_time(sv->exp) || !valid_time(sv->created) || !valid_time(sv->updated))
        return r_fail(r, "invalid secret version attributes");
    return 0;
}

static int decode_secret(struct reader *r, struct vault__secret *s)
{
    if ((s->name = r_str(r, VAULT_NAME_MAX, "secret name")) == NULL || !vault_valid_secret_name(s->name))
        return r_fail(r, "invalid secret name");
    s->deleted_on = r_i64(r);
    s->purge_on = r_i64(r);
    if (!valid_time(s->deleted_on) || !valid_time(s->purge_on))
        return r_fail(r, "invalid deletion times");
    size_t n = r_count(r, VAULT__MAX_ITEMS, 32 + 4 + 4 + 4 + 1 + 32, "secret version");
    if (r->failed)
        return -1;
    if (n == 0)
        return r_fail(r, "secret without versions");
    s->v = sg_calloc(n, sizeof(struct vault__secver));
    for (size_t j = 0; j < n; j++) {
        s->n = j + 1;
        if (decode_secver(r, &s->v[j]) != 0)
            return -1;
    }
    return 0;
}

static int policy_cmp(const vault_policy_t *a, const vault_policy_t *b)
{
    int c = strcmp(a->account, b->account);
    if (c == 0)
        c = strcmp(a->container, b->container);
    if (c == 0)
        c = strcmp(a->id, b->id);
    return c;
}

static int decode_policy(struct reader *r, vault_policy_t *p)
{
    char *perms;
    if ((p->account = r_str(r, 24, "policy account")) == NULL || !vault_valid_account_name(p->account))
        return r_fail(r, "invalid policy account");
    if ((p->container = r_str(r, 63, "policy container")) == NULL || !vault_valid_container_name(p->container))
        return r_fail(r, "invalid policy container");
    if ((p->id = r_str(r, VAULT_POLICY_ID_MAX, "policy id")) == NULL || !vault_valid_policy_id(p->id))
        return r_fail(r, "invalid policy id");
    p->start = r_i64(r);
    p->expiry = r_i64(r);
    if (!valid_time(p->start) || !valid_time(p->expiry))
        return r_fail(r, "invalid policy times");
    if ((perms = r_str(r, sizeof(p->permissions) - 1, "policy permissions")) == NULL)
        return -1;
    int ok = vault_valid_permissions(perms);
    if (ok)
        memcpy(p->permissions, perms, strlen(perms) + 1);
    free(perms);
    return ok ? 0 : r_fail(r, "invalid policy permissions");
}

static int decode_sasdef(struct reader *r, vault_sasdef_t *d)
{
    char why[320];
    if ((d->account = r_str(r, 24, "SAS definition account")) == NULL || !vault_valid_account_name(d->account))
        return r_fail(r, "invalid SAS definition account");
    if ((d->name = r_str(r, VAULT_SASDEF_NAME_MAX, "SAS definition name")) == NULL || !vault_valid_sasdef_name(d->name))
        return r_fail(r, "invalid SAS definition name");
    if ((d->template_uri = r_str(r, VAULT_SASDEF_TEMPLATE_MAX, "SAS definition template")) == NULL ||
        (d->validity = r_str(r, VAULT_SASDEF_VALIDITY_TEXT_MAX, "SAS definition validity")) == NULL)
        return -1;
    d->sas_type = r_u8(r);
    d->enabled = r_u8(r);
    d->created = r_i64(r);
    d->updated = r_i64(r);
    size_t nt = r_count(r, VAULT__MAX_TAGS, 8, "tag");
    if (r->failed)
        return -1;
    d->tags = sg_calloc(nt, sizeof(vault_tag_t));
    for (size_t t = 0; t < nt; t++) {
        d->ntags = t + 1;
        if ((d->tags[t].key = r_str(r, 256, "tag name")) == NULL || (d->tags[t].value = r_str(r, 256, "tag value")) == NULL)
            return -1;
    }
    if (d->enabled > 1 || !valid_time(d->created) || !valid_time(d->updated))
        return r_fail(r, "invalid SAS definition attributes");
    if (vault__sasdef_check(d->account, d->template_uri, d->validity, d->sas_type, d->ntags, d->tags, why, sizeof(why)) != VAULT_OK)
        return r_fail(r, "invalid SAS definition: %s", why);
    return 0;
}

vault_err_t vault__decode(const uint8_t *p, size_t len, struct vault__state *s, char *err, size_t errlen)
{
    struct reader r = {p, len, 0, err, errlen, 0};
    uint8_t magic[4] = {0};
    memset(s, 0, sizeof(*s));
    r_bytes(&r, magic, 4);
    if (!r.failed && memcmp(magic, "SGVP", 4) != 0)
        r_fail(&r, "bad payload magic");
    uint32_t word = r_u32(&r), version = word & 0xffffu, flags = word & ~0xffffu;
    if (!r.failed && ((version != 1 && version != VAULT__PAYLOAD_VERSION) || (flags & ~VAULT__PAYLOAD_SASDEFS) != 0))
        r_fail(&r, "unsupported payload version");
    s->retention_days = r_u32(&r);
    s->purge_protection = r_u8(&r);
    s->audit_seq = (uint64_t)r_i64(&r);
    r_bytes(&r, s->audit_hash, 32);
    if (r.failed)
        goto fail;
    if (s->retention_days < VAULT_RETENTION_MIN || s->retention_days > VAULT_RETENTION_MAX || s->purge_protection > 1) {
        r_fail(&r, "invalid vault settings");
        goto fail;
    }

    /* accounts */
    size_t n = r_count(&r, VAULT__MAX_ITEMS, 4 + 4 + 1 + 8, "account");
    if (r.failed)
        goto fail;
    s->accounts = sg_calloc(n, sizeof(struct vault__account));
    for (size_t i = 0; i < n; i++) {
        s->naccounts = i + 1;
        if (decode_account(&r, &s->accounts[i], version) != 0)
            goto fail;
        if (i > 0 && strcmp(s->accounts[i - 1].name, s->accounts[i].name) >= 0) {
            r_fail(&r, "accounts are not sorted by name");
            goto fail;
        }
    }

    /* secrets */
    n = r_count(&r, VAULT__MAX_ITEMS, 4 + 8 + 8 + 4, "secret");
    if (r.failed)
        goto fail;
    s->secrets = sg_calloc(n, sizeof(struct vault__secret));
    for (size_t i = 0; i < n; i++) {
        s->nsecrets = i + 1;
        if (decode_secret(&r, &s->secrets[i]) != 0)
            goto fail;
        if (i > 0 && strcmp(s->secrets[i - 1].name, s->secrets[i].name) >= 0) {
            r_fail(&r, "secrets are not sorted by name");
            goto fail;
        }
    }

    /* stored access policies */
    n = r_count(&r, VAULT__MAX_ITEMS, 4 * 3 + 16 + 4, "policy");
    if (r.failed)
        goto fail;
    s->policies = sg_calloc(n, sizeof(vault_policy_t));
    for (size_t i = 0; i < n; i++) {
        s->npolicies = i + 1;
        if (decode_policy(&r, &s->policies[i]) != 0)
            goto fail;
        if (i > 0 && policy_cmp(&s->policies[i - 1], &s->policies[i]) >= 0) {
            r_fail(&r, "stored access policies are not sorted");
            goto fail;
        }
    }

    /* SAS definitions: only with their flag */
    if (flags & VAULT__PAYLOAD_SASDEFS) {
        n = r_count(&r, VAULT__MAX_ITEMS, 4 * 4 + 2 + 16 + 4, "SAS definition");
        if (!r.failed && n == 0)
            r_fail(&r, "empty SAS definition section");
        if (r.failed)
            goto fail;
        s->sasdefs = sg_calloc(n, sizeof(vault_sasdef_t));
        for (size_t i = 0; i < n; i++) {
            s->nsasdefs = i + 1;
            if (decode_sasdef(&r, &s->sasdefs[i]) != 0)
                goto fail;
            const vault_sasdef_t *a = &s->sasdefs[i - (i > 0)], *b = &s->sasdefs[i];
            int c = strcmp(a->account, b->account);
            if (i > 0 && (c > 0 || (c == 0 && strcmp(a->name, b->name) >= 0))) {
                r_fail(&r, "SAS definitions are not sorted");
                goto fail;
            }
            if (vault__find_account(s, b->account) < 0) {
                r_fail(&r, "a SAS definition names an account the vault does not hold");
                goto fail;
            }
        }
    }
    if (r.off != r.len) {
        r_fail(&r, "trailing bytes");
        goto fail;
    }
    return VAULT_OK;
fail:
    vault__state_free(s);
    return VAULT_ECORRUPT;
}
