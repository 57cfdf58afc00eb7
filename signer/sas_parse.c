/*
 * sas_parse.c - step 1 of DESIGN §3: a raw query string into a sas_token_t,
 * with every SAS parameter at most once, bounded lengths and a well-formed
 * signature. Also the UTF-8 check the path parser shares (percent-decoding and
 * query iteration are common/'s sg_pct_decode() and sg_query_next()).
 */
#include <string.h>

#include "sasgw/common.h"
#include "internal.h"

int sas__utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

int sas__has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

#define DELEGATION (-2) /* a user delegation SAS parameter: refused */
#define DIRECTORY (-3)  /* sdd: refused */

/* Every name the parser acts on, with its length so most candidates are skipped by one comparison. */
static const struct {
    uint8_t len;
    char name[11];
    int8_t field;
} names[] = {
    {2, "sv", SAS_F_SV},
    {2, "ss", SAS_F_SS},
    {3, "srt", SAS_F_SRT},
    {3, "spr", SAS_F_SPR},
    {2, "st", SAS_F_ST},
    {2, "se", SAS_F_SE},
    {3, "sip", SAS_F_SIP},
    {2, "si", SAS_F_SI},
    {3, "ses", SAS_F_SES},
    {2, "sr", SAS_F_SR},
    {2, "sp", SAS_F_SP},
    {4, "rscc", SAS_F_RSCC},
    {4, "rscd", SAS_F_RSCD},
    {4, "rsce", SAS_F_RSCE},
    {4, "rscl", SAS_F_RSCL},
    {4, "rsct", SAS_F_RSCT},
    {3, "sig", SAS_F_SIG},
    {4, "comp", SAS_F_COMP},
    {7, "restype", SAS_F_RESTYPE},
    {8, "snapshot", SAS_F_SNAPSHOT},
    {9, "versionid", SAS_F_VERSIONID},
    {10, "deletetype", SAS_F_DELETETYPE},
    {5, "skoid", DELEGATION},
    {5, "sktid", DELEGATION},
    {3, "skt", DELEGATION},
    {3, "ske", DELEGATION},
    {3, "sks", DELEGATION},
    {3, "skv", DELEGATION},
    {5, "saoid", DELEGATION},
    {5, "suoid", DELEGATION},
    {4, "scid", DELEGATION},
    {6, "sduoid", DELEGATION},
    {3, "sdd", DIRECTORY},
};

/*
 * The recorded field named name (decoded, compared case-insensitively so that
 * COMP is recognised and then refused as not canonical), -1 for a parameter
 * to ignore, DELEGATION or DIRECTORY.
 */
static int lookup_name(const char *name, size_t len)
{
    char lower[10];
    if (len < 2 || len > sizeof(lower))
        return -1;
    for (size_t i = 0; i < len; i++)
        lower[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t k = 0;
        if (names[i].len != len)
            continue;
        while (k < len && names[i].name[k] == lower[k])
            k++;
        if (k == len)
            return names[i].field;
    }
    return -1;
}

/* Letters from allowed, none repeated; returns the set or 0 when s is invalid or empty. */
/* An ss or srt value as a set: letters of allowed, none repeated; 0 when empty or otherwise. */
static sas_perm_t letter_set(const sas_str_t *v, const char *allowed)
{
    sas_perm_t set = 0;
    return sas_letters_check(sas_letters(allowed), v->base, v->len, &set, NULL) == SAS_LETTERS_OK ? set : 0;
}

sas_reason_t sas__token_derive(sas_token_t *tok, int check_sig, sas_error_t *err)
{
    sas_str_t *f = tok->f;
    char q[48];

    if (f[SAS_F_SV].base == NULL)
        return sas__fail(err, SAS_R_MISSING_PARAM, "missing parameter sv");
    if (check_sig) {
        size_t n = 0;
        if (f[SAS_F_SIG].base == NULL)
            return sas__fail(err, SAS_R_MISSING_PARAM, "missing parameter sig");
        if (f[SAS_F_SIG].len != SAS_SIG_B64_LEN ||
            sg_b64_decode(f[SAS_F_SIG].base, f[SAS_F_SIG].len, tok->sig, sizeof(tok->sig), &n) != 0 || n != SAS_SIG_LEN)
            return sas__fail(err, SAS_R_BAD_SIGNATURE, "sig is not base64 of %d bytes", SAS_SIG_LEN);
    }

    /* kind and resource type */
    if (f[SAS_F_SS].base != NULL || f[SAS_F_SRT].base != NULL) {
        tok->kind = SAS_KIND_ACCOUNT;
        tok->sr = SAS_SR_NONE;
        if (f[SAS_F_SS].base == NULL || f[SAS_F_SRT].base == NULL)
            return sas__fail(err, SAS_R_MISSING_PARAM, "an account SAS needs both ss and srt");
        if (f[SAS_F_SR].base != NULL)
            return sas__fail(err, SAS_R_INVALID_PARAM, "sr is not valid in an account SAS");
        if (f[SAS_F_SI].base != NULL)
            return sas__fail(err, SAS_R_INVALID_PARAM, "an account SAS cannot use a stored access policy (si)");
        for (int i = SAS_F_RSCC; i <= SAS_F_RSCT; i++)
            if (f[i].base != NULL)
                return sas__fail(err, SAS_R_INVALID_PARAM, "%s is not valid in an account SAS", sas_field_name((sas_field_t)i));
        if ((tok->services = letter_set(&f[SAS_F_SS], SAS_SS_LETTERS)) == 0)
            return sas__fail(err, SAS_R_INVALID_PARAM, "invalid ss=%s",
                             sas__quote(q, sizeof(q), f[SAS_F_SS].base, f[SAS_F_SS].len));
        if ((tok->resource_types = letter_set(&f[SAS_F_SRT], SAS_SRT_LETTERS)) == 0)
            return sas__fail(err, SAS_R_INVALID_PARAM, "invalid srt=%s",
                             sas__quote(q, sizeof(q), f[SAS_F_SRT].base, f[SAS_F_SRT].len));
    } else {
        const sas_str_t *sr = &f[SAS_F_SR];
        tok->kind = SAS_KIND_SERVICE;
        if (sr->base == NULL)
            return sas__fail(err, SAS_R_MISSING_PARAM, "missing parameter sr (or ss and srt)");
        if (strcmp(sr->base, "b") == 0)
            tok->sr = SAS_SR_BLOB;
        else if (strcmp(sr->base, "bs") == 0)
            tok->sr = SAS_SR_SNAPSHOT;
        else if (strcmp(sr->base, "bv") == 0)
            tok->sr = SAS_SR_VERSION;
        else if (strcmp(sr->base, "c") == 0)
            tok->sr = SAS_SR_CONTAINER;
        else if (strcmp(sr->base, "d") == 0)
            return sas__fail(err, SAS_R_INVALID_PARAM, "a directory SAS (sr=d) is not supported");
        else
            return sas__fail(err, SAS_R_INVALID_PARAM, "invalid sr=%s", sas__quote(q, sizeof(q), sr->base, sr->len));
    }

    /* permissions, protocol, address range */
    if (f[SAS_F_SP].base != NULL) {
        sas_reason_t r = sas_perm_parse(tok->kind, tok->sr, f[SAS_F_SP].base, f[SAS_F_SP].len, &tok->perms, err);
        if (r != SAS_OK)
            return r;
    }
    if (f[SAS_F_SPR].base != NULL) {
        if (strcmp(f[SAS_F_SPR].base, "https") == 0)
            tok->https_only = 1;
        else if (strcmp(f[SAS_F_SPR].base, "https,http") != 0)
            return sas__fail(err, SAS_R_INVALID_PARAM, "invalid spr=%s (https or https,http)",
                             sas__quote(q, sizeof(q), f[SAS_F_SPR].base, f[SAS_F_SPR].len));
    }
    if (f[SAS_F_SIP].base != NULL) {
        if (sas_ip_range_parse(&tok->ip, f[SAS_F_SIP].base, f[SAS_F_SIP].len) != 0)
            return sas__fail(err, SAS_R_INVALID_PARAM, "invalid sip=%s",
                             sas__quote(q, sizeof(q), f[SAS_F_SIP].base, f[SAS_F_SIP].len));
        tok->has_ip = 1;
    }
    return SAS_OK;
}

sas_reason_t sas_token_parse(sas_token_t *tok, const char *query, size_t len, sas_error_t *err)
{
    const char *p = query, *end = query + len;
    uint32_t seen = 0;
    size_t used = 0;
    const char *noncanonical = NULL; /* the first name spelled otherwise, as sent: letters and %XX only, so printable */
    size_t noncanonical_len = 0;
    int noncanonical_field = -1;

    memset(tok, 0, offsetof(sas_token_t, arena));
    if (len > SAS_MAX_QUERY)
        return sas__fail(err, SAS_R_QUERY_TOO_LONG, "query too long (%zu bytes, limit %d)", len, SAS_MAX_QUERY);
    if (p < end && *p == '?')
        p++;

    sg_query_iter_t it;
    const char *name, *value;
    size_t name_len, value_len;
    sg_query_init(&it, p, (size_t)(end - p));
    while (sg_query_next(&it, &name, &name_len, &value, &value_len)) {
        const char *raw_name = name;
        size_t raw_len = name_len;
        char decoded_name[40];
        int field;

        if (name_len == 0)
            continue;
        /* names are compared decoded, so s%70 is sp */
        if (memchr(name, '%', name_len) != NULL || memchr(name, '+', name_len) != NULL) {
            long n;
            if (name_len > sizeof(decoded_name) || (n = sg_pct_decode(decoded_name, name, name_len, SG_PCT_PLUS_SPACE, NULL)) < 0)
                continue;
            name = decoded_name;
            name_len = (size_t)n;
        }
        if ((field = lookup_name(name, name_len)) == -1)
            continue;
        if (field == DELEGATION) {
            char q[16];
            return sas__fail(err, SAS_R_USER_DELEGATION, "a user delegation SAS (%s) is not supported",
                             sas__quote(q, sizeof(q), name, name_len));
        }
        if (field == DIRECTORY)
            return sas__fail(err, SAS_R_INVALID_PARAM, "parameter sdd (directory SAS) is not supported");
        if (seen & (1u << field))
            return sas__fail(err, SAS_R_DUPLICATE_PARAM, "duplicate parameter %s", sas_field_name((sas_field_t)field));
        seen |= 1u << field;
        /* a name spelled otherwise (COMP, c%6Fmp) is refused after the loop, so a repeat still reads as a duplicate */
        if (noncanonical_field < 0 && (raw_len != strlen(sas_field_name((sas_field_t)field)) ||
                                       memcmp(raw_name, sas_field_name((sas_field_t)field), raw_len) != 0)) {
            noncanonical_field = field;
            noncanonical = raw_name;
            noncanonical_len = raw_len;
        }

        /* the value, decoded into the arena; the raw query bounds the space it needs */
        char *dst = tok->arena + used;
        unsigned holds;
        long n = sg_pct_decode(dst, value, value_len, SG_PCT_PLUS_SPACE, &holds);
        if (n < 0)
            return sas__fail(err, SAS_R_MALFORMED_QUERY, "bad percent-encoding in parameter %s",
                             sas_field_name((sas_field_t)field));
        if ((size_t)n > sas__field_max((sas_field_t)field))
            return sas__fail(err, SAS_R_VALUE_TOO_LONG, "parameter %s too long (%ld bytes, limit %zu)",
                             sas_field_name((sas_field_t)field), n, sas__field_max((sas_field_t)field));
        if (holds & SG_PCT_HELD_CONTROL)
            return sas__fail(err, SAS_R_MALFORMED_QUERY, "parameter %s contains a control character",
                             sas_field_name((sas_field_t)field));
        if ((holds & SG_PCT_HELD_NON_ASCII) && !sas__utf8_valid(dst, (size_t)n))
            return sas__fail(err, SAS_R_MALFORMED_QUERY, "parameter %s is not valid UTF-8", sas_field_name((sas_field_t)field));
        dst[n] = '\0';
        if (n > 0) {
            tok->f[field].base = dst;
            tok->f[field].len = (size_t)n;
            used += (size_t)n + 1;
        }
    }
    if (noncanonical_field >= 0)
        return sas__fail(err, SAS_R_NONCANONICAL_PARAM,
                         "parameter name %.*s is not spelled as Azure spells it (%s): names are lower case and not percent-encoded",
                         (int)noncanonical_len, noncanonical, sas_field_name((sas_field_t)noncanonical_field));
    return sas__token_derive(tok, 1, err);
}
