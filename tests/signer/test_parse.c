/*
 * Tests sas_token_parse(): duplicates, bounds, percent-encoding traps, the
 * signature's encoding, and the parameters that make a token invalid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

#define SIG "sig=4mMmXUUBo9ozQPMNyZ6vFh%2Bmb9hHSEkDdoJiyKezMSE%3D"
#define BASE "sv=2026-10-06&se=2026-02-20T00%3A00%3A00Z&sr=b&sp=r"

static sas_reason_t parse(const char *q, sas_token_t *tok, sas_error_t *err)
{
    return sas_token_parse(tok, q, strlen(q), err);
}

static void expect(const char *q, sas_reason_t want, const char *message)
{
    sas_token_t tok;
    sas_error_t err = {0};
    sas_reason_t r = parse(q, &tok, &err);
    if (r != want)
        fail_msg("%s: got %s (%s), want %s", q, sas_reason_name(r), r == SAS_OK ? "" : err.message, sas_reason_name(want));
    if (message != NULL)
        assert_string_equal(err.message, message);
}

static void well_formed(void **state)
{
    sas_token_t tok;
    sas_error_t err;
    assert_int_equal(parse("?" BASE "&rscd=a+b%20c&comp=block&foo=bar&&x&" SIG, &tok, &err), SAS_OK);
    assert_int_equal(tok.kind, SAS_KIND_SERVICE);
    assert_int_equal(tok.sr, SAS_SR_BLOB);
    assert_int_equal(tok.perms, SAS_PERM('r'));
    assert_string_equal(tok.f[SAS_F_SE].base, "2026-02-20T00:00:00Z");
    assert_string_equal(tok.f[SAS_F_RSCD].base, "a b c"); /* '+' is a space in a query */
    assert_string_equal(tok.f[SAS_F_COMP].base, "block");
    assert_null(tok.f[SAS_F_ST].base);
    assert_null(tok.f[SAS_F_RESTYPE].base);
    /* empty values count as absent */
    assert_int_equal(parse(BASE "&st=&" SIG, &tok, &err), SAS_OK);
    assert_null(tok.f[SAS_F_ST].base);
}

static void duplicates(void **state)
{
    static const char *const names[] = {"sv",  "ss",   "srt",     "spr",      "st",        "se",        "sip",  "si",
                                        "ses", "sr",   "sp",      "rscc",     "rscd",      "rsce",      "rscl", "rsct",
                                        "sig", "comp", "restype", "snapshot", "versionid", "deletetype"};
    char q[512], msg[64];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(q, sizeof(q), "%s=x&%s&%s&%s=y", names[i], BASE, SIG, names[i]);
        snprintf(msg, sizeof(msg), "duplicate parameter %s", names[i]);
        expect(q, SAS_R_DUPLICATE_PARAM, msg);
    }
    /* names compare case-insensitively and decoded (and are then refused as not canonical); an empty duplicate is still a duplicate
     */
    expect(BASE "&SP=rw&" SIG, SAS_R_DUPLICATE_PARAM, "duplicate parameter sp");
    expect(BASE "&s%70=rw&" SIG, SAS_R_DUPLICATE_PARAM, "duplicate parameter sp");
    expect("SP=rw&" BASE "&" SIG, SAS_R_DUPLICATE_PARAM, "duplicate parameter sp");
    expect(BASE "&sp=&" SIG, SAS_R_DUPLICATE_PARAM, "duplicate parameter sp");
    expect(BASE "&sp&" SIG, SAS_R_DUPLICATE_PARAM, "duplicate parameter sp");
    /* unknown parameters may repeat */
    expect(BASE "&x=1&x=2&" SIG, SAS_OK, NULL);
}

/*
 * Every name the parser records must be spelled as Azure spells it (lower
 * case, not percent-encoded): a backend that compares names exactly would
 * otherwise perform another operation than the one checked. A repeat in
 * another spelling stays a duplicate.
 */
static void canonical_names(void **state)
{
    static const char *const names[] = {"sv",  "ss",   "srt",     "spr",      "st",        "se",        "sip",  "si",
                                        "ses", "sr",   "sp",      "rscc",     "rscd",      "rsce",      "rscl", "rsct",
                                        "sig", "comp", "restype", "snapshot", "versionid", "deletetype"};
    static const char *const in_base[] = {"sv", "se", "sr", "sp", "sig"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *name = names[i];
        size_t n = strlen(name);
        char spelled[4][32], q[512], msg[SAS_MESSAGE_MAX];
        int repeat = 0;
        for (size_t k = 0; k < sizeof(in_base) / sizeof(in_base[0]); k++)
            repeat |= strcmp(in_base[k], name) == 0;
        /* NAME, Name, %6Eame (lower-case hex), namE as %45 (upper-case hex) */
        for (size_t k = 0; k <= n; k++)
            spelled[0][k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
        snprintf(spelled[1], sizeof(spelled[1]), "%c%s", spelled[0][0], name + 1);
        snprintf(spelled[2], sizeof(spelled[2]), "%%%02x%s", (unsigned char)name[0], name + 1);
        snprintf(spelled[3], sizeof(spelled[3]), "%.*s%%%02X", (int)(n - 1), name, (unsigned char)name[n - 1]);
        for (size_t k = 0; k < 4; k++) {
            snprintf(q, sizeof(q), "%s=x&%s&%s", spelled[k], BASE, SIG);
            if (repeat) {
                expect(q, SAS_R_DUPLICATE_PARAM, NULL);
                continue;
            }
            snprintf(msg, sizeof(msg),
                     "parameter name %s is not spelled as Azure spells it (%s): names are lower case and not percent-encoded",
                     spelled[k], name);
            expect(q, SAS_R_NONCANONICAL_PARAM, msg);
            /* after the canonical name, the other spelling is a repeat */
            snprintf(q, sizeof(q), "%s=x&%s&%s=y&%s", name, BASE, spelled[k], SIG);
            expect(q, SAS_R_DUPLICATE_PARAM, NULL);
        }
    }
    /* the case, and an SDK's token with the names it writes */
    expect(BASE "&COMP=tags&" SIG, SAS_R_NONCANONICAL_PARAM, NULL);
    assert_string_equal(sas_reason_azure_code(SAS_R_NONCANONICAL_PARAM), "InvalidQueryParameterValue");
    expect(BASE "&comp=tags&" SIG, SAS_OK, NULL);
    /* names the parser does not record are not its business: forwarded or dropped by the proxy */
    expect(BASE "&BLOCKID=x&Timeout=3&" SIG, SAS_OK, NULL);
}

static void signature_encoding(void **state)
{
    expect(BASE, SAS_R_MISSING_PARAM, "missing parameter sig");
    expect(BASE "&sig=", SAS_R_MISSING_PARAM, "missing parameter sig");
    expect(BASE "&sig=abc", SAS_R_BAD_SIGNATURE, "sig is not base64 of 32 bytes");
    expect(BASE "&sig=4mMmXUUBo9ozQPMNyZ6vFh%2Bmb9hHSEkDdoJiyKezMS", SAS_R_BAD_SIGNATURE, NULL);     /* 43 characters */
    expect(BASE "&sig=4mMmXUUBo9ozQPMNyZ6vFh%2Bmb9hHSEkDdoJiyKezMSE", SAS_R_BAD_SIGNATURE, NULL);    /* no padding */
    expect(BASE "&sig=4mMmXUUBo9ozQPMNyZ6vFh-mb9hHSEkDdoJiyKezMSE%3D", SAS_R_BAD_SIGNATURE, NULL);   /* base64url */
    expect(BASE "&sig=4mMmXUUBo9ozQPMNyZ6vFh+mb9hHSEkDdoJiyKezMSE%3D", SAS_R_BAD_SIGNATURE, NULL);   /* raw '+' is a space */
    expect(BASE "&sig=4mMmXUUBo9ozQPMNyZ6vFh%2Bmb9hHSEkDdoJiyKezMSF%3D", SAS_R_BAD_SIGNATURE, NULL); /* unused bits set */
    expect(BASE "&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", SAS_R_BAD_SIGNATURE, NULL); /* 48 bytes */
    expect(BASE "&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", SAS_R_VALUE_TOO_LONG, NULL);
}

static void bounds(void **state)
{
    static char q[SAS_MAX_QUERY + 64];
    int n = snprintf(q, sizeof(q), "%s&%s&pad=", BASE, SIG);
    memset(q + n, 'x', SAS_MAX_QUERY - (size_t)n);
    q[SAS_MAX_QUERY] = '\0';
    expect(q, SAS_OK, NULL); /* exactly at the bound */
    q[SAS_MAX_QUERY] = 'x';
    q[SAS_MAX_QUERY + 1] = '\0';
    expect(q, SAS_R_QUERY_TOO_LONG, "query too long (4097 bytes, limit 4096)");

    /* one value over its own bound */
    n = snprintf(q, sizeof(q), "%s&%s&rscc=", BASE, SIG);
    memset(q + n, 'x', 513);
    q[n + 513] = '\0';
    expect(q, SAS_R_VALUE_TOO_LONG, "parameter rscc too long (513 bytes, limit 512)");
    q[n + 512] = '\0';
    expect(q, SAS_OK, NULL);
    expect(BASE "&si=0123456789012345678901234567890123456789012345678901234567890123456789&" SIG, SAS_R_VALUE_TOO_LONG, NULL);
    /* the bound is on the decoded length: %41 is one byte */
    n = snprintf(q, sizeof(q), "%s&%s&rsct=", BASE, SIG);
    for (int i = 0; i < 512; i++)
        n += snprintf(q + n, sizeof(q) - (size_t)n, "%%41");
    expect(q, SAS_OK, NULL);
}

static void percent_traps(void **state)
{
    expect(BASE "&rscc=%zz&" SIG, SAS_R_MALFORMED_QUERY, "bad percent-encoding in parameter rscc");
    expect(BASE "&rscc=%2&" SIG, SAS_R_MALFORMED_QUERY, NULL);
    expect(BASE "&" SIG "&rscc=%", SAS_R_MALFORMED_QUERY, NULL);
    expect(BASE "&rscc=a%00b&" SIG, SAS_R_MALFORMED_QUERY, "parameter rscc contains a control character");
    expect(BASE "&rscc=a%0Ab&" SIG, SAS_R_MALFORMED_QUERY, NULL); /* a newline would shift the string to sign */
    expect(BASE "&si=a%0D&" SIG, SAS_R_MALFORMED_QUERY, NULL);
    expect(BASE "&rscc=%7F&" SIG, SAS_R_MALFORMED_QUERY, NULL);
    expect(BASE "&rscc=%C3%28&" SIG, SAS_R_MALFORMED_QUERY, "parameter rscc is not valid UTF-8");
    expect(BASE "&rscc=%C0%AF&" SIG, SAS_R_MALFORMED_QUERY, NULL);       /* overlong '/' */
    expect(BASE "&rscc=%ED%A0%80&" SIG, SAS_R_MALFORMED_QUERY, NULL);    /* surrogate */
    expect(BASE "&rscc=%F4%90%80%80&" SIG, SAS_R_MALFORMED_QUERY, NULL); /* past U+10FFFF */
    expect(BASE "&rscc=%E4%B8%AD%F0%9F%98%80&" SIG, SAS_OK, NULL);
    /* decoded once: %252F is the three characters %2F */
    sas_token_t tok;
    sas_error_t err;
    assert_int_equal(parse(BASE "&rsct=%252F&" SIG, &tok, &err), SAS_OK);
    assert_string_equal(tok.f[SAS_F_RSCT].base, "%2F");
    /* malformed encoding in a parameter nobody reads is ignored */
    expect(BASE "&other=%zz&" SIG, SAS_OK, NULL);
}

static void resource_types(void **state)
{
    expect("sv=2026-10-06&se=2026-02-20&sp=r&" SIG, SAS_R_MISSING_PARAM, "missing parameter sr (or ss and srt)");
    expect("sv=2026-10-06&se=2026-02-20&sr=d&sdd=1&sp=r&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect("sv=2026-10-06&se=2026-02-20&sr=d&sp=r&" SIG, SAS_R_INVALID_PARAM, "a directory SAS (sr=d) is not supported");
    expect("sv=2026-10-06&se=2026-02-20&sr=x&sp=r&" SIG, SAS_R_INVALID_PARAM, "invalid sr=x");
    expect("sv=2026-10-06&se=2026-02-20&sr=B&sp=r&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect("se=2026-02-20&sr=b&sp=r&" SIG, SAS_R_MISSING_PARAM, "missing parameter sv");
    /* account SAS */
    expect("sv=2026-10-06&ss=b&srt=o&se=2026-02-20&sp=r&" SIG, SAS_OK, NULL);
    expect("sv=2026-10-06&ss=b&se=2026-02-20&sp=r&" SIG, SAS_R_MISSING_PARAM, "an account SAS needs both ss and srt");
    expect("sv=2026-10-06&srt=o&se=2026-02-20&sp=r&" SIG, SAS_R_MISSING_PARAM, NULL);
    expect("sv=2026-10-06&ss=b&srt=o&sr=b&se=2026-02-20&sp=r&" SIG, SAS_R_INVALID_PARAM, "sr is not valid in an account SAS");
    expect("sv=2026-10-06&ss=b&srt=o&si=p&se=2026-02-20&sp=r&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect("sv=2026-10-06&ss=b&srt=o&rsct=x&se=2026-02-20&sp=r&" SIG, SAS_R_INVALID_PARAM, "rsct is not valid in an account SAS");
    expect("sv=2026-10-06&ss=bx&srt=o&se=2026-02-20&sp=r&" SIG, SAS_R_INVALID_PARAM, "invalid ss=bx");
    expect("sv=2026-10-06&ss=bb&srt=o&se=2026-02-20&sp=r&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect("sv=2026-10-06&ss=b&srt=oo&se=2026-02-20&sp=r&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect("sv=2026-10-06&ss=b&srt=x&se=2026-02-20&sp=r&" SIG, SAS_R_INVALID_PARAM, "invalid srt=x");
    expect("sv=2026-10-06&ss=btqf&srt=sco&se=2026-02-20&sp=rwdxylacuptfi&" SIG, SAS_OK, NULL);
}

static void user_delegation(void **state)
{
    static const char *const names[] = {"skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid", "sduoid"};
    char q[256], msg[80];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(q, sizeof(q), "%s&%s=x&%s", BASE, names[i], SIG);
        snprintf(msg, sizeof(msg), "a user delegation SAS (%s) is not supported", names[i]);
        expect(q, SAS_R_USER_DELEGATION, msg);
    }
    expect(BASE "&SKOID=x&" SIG, SAS_R_USER_DELEGATION, NULL);
}

static void protocol_and_ip_syntax(void **state)
{
    expect(BASE "&spr=https&" SIG, SAS_OK, NULL);
    expect(BASE "&spr=https%2Chttp&" SIG, SAS_OK, NULL);
    expect(BASE "&spr=http&" SIG, SAS_R_INVALID_PARAM, "invalid spr=http (https or https,http)");
    expect(BASE "&spr=HTTPS&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect(BASE "&spr=http%2Chttps&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect(BASE "&sip=10.0.0.1&" SIG, SAS_OK, NULL);
    expect(BASE "&sip=10.0.0.1-10.0.0.9&" SIG, SAS_OK, NULL);
    expect(BASE "&sip=2001%3Adb8%3A%3A1-2001%3Adb8%3A%3Aff&" SIG, SAS_OK, NULL);
    expect(BASE "&sip=10.0.0.9-10.0.0.1&" SIG, SAS_R_INVALID_PARAM, "invalid sip=10.0.0.9-10.0.0.1");
    expect(BASE "&sip=10.0.0.1-2001%3Adb8%3A%3A1&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect(BASE "&sip=10.0.0.256&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect(BASE "&sip=10.0.0.0%2F24&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect(BASE "&sip=10.0.0.1-&" SIG, SAS_R_INVALID_PARAM, NULL);
    expect(BASE "&sip=fe80%3A%3A1%25eth0&" SIG, SAS_R_INVALID_PARAM, NULL);
}

static void permission_letters(void **state)
{
    expect("sv=2026-10-06&se=2026-02-20&sr=b&sp=racwdxytmeopi&" SIG, SAS_OK, NULL);
    expect("sv=2026-10-06&se=2026-02-20&sr=c&sp=racwdxyltfmeopi&" SIG, SAS_OK, NULL);
    expect("sv=2026-10-06&se=2026-02-20&sr=b&sp=rl&" SIG, SAS_R_INVALID_PERMISSIONS, "permission 'l' is not valid for sr=b");
    expect("sv=2026-10-06&se=2026-02-20&sr=b&sp=rr&" SIG, SAS_R_INVALID_PERMISSIONS, "permission r repeated in sp");
    expect("sv=2026-10-06&se=2026-02-20&sr=c&sp=R&" SIG, SAS_R_INVALID_PERMISSIONS, NULL);
    expect("sv=2026-10-06&se=2026-02-20&sr=c&sp=u&" SIG, SAS_R_INVALID_PERMISSIONS, NULL);
    expect("sv=2026-10-06&ss=b&srt=o&se=2026-02-20&sp=m&" SIG, SAS_R_INVALID_PERMISSIONS,
           "permission 'm' is not valid for an account SAS");
    expect("sv=2026-10-06&se=2026-02-20&sr=b&sp=r%20&" SIG, SAS_R_INVALID_PERMISSIONS, "permission ' ' is not valid for sr=b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(well_formed),        cmocka_unit_test(duplicates),      cmocka_unit_test(canonical_names),
        cmocka_unit_test(signature_encoding), cmocka_unit_test(bounds),          cmocka_unit_test(percent_traps),
        cmocka_unit_test(resource_types),     cmocka_unit_test(user_delegation), cmocka_unit_test(protocol_and_ip_syntax),
        cmocka_unit_test(permission_letters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
