/*
 * Tests common/query.c: sg_hexval(), sg_pct_decode() (bad escapes, '+' by
 * flag, what the decoded bytes hold, in-place decoding) and the query
 * iterator sg_query_next() (empty names and values, "&&", a final '&', '=' in
 * values, a '?' kept as part of the first name).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"

static void hexval_every_byte(void **state)
{
    for (int c = -1; c < 256; c++) {
        int want = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        assert_int_equal(sg_hexval(c), want);
    }
}

/* Decodes s with flags; returns the length (or -1) and leaves the text NUL-terminated in out. */
static long dec(const char *s, unsigned flags, char *out, unsigned *holds)
{
    long n = sg_pct_decode(out, s, strlen(s), flags, holds);
    if (n >= 0)
        out[n] = '\0';
    return n;
}

static void decodes(void **state)
{
    char out[64];
    unsigned holds = 99;
    assert_int_equal(dec("", 0, out, &holds), 0);
    assert_int_equal(holds, 0);
    assert_int_equal(dec("abc%41%2f%2F%7e", 0, out, &holds), 7);
    assert_string_equal(out, "abcA//~");
    assert_int_equal(holds, 0);
    /* '+' is a space only when asked; %2B is always '+' */
    assert_int_equal(dec("a+b%2Bc", SG_PCT_PLUS_SPACE, out, NULL), 5);
    assert_string_equal(out, "a b+c");
    assert_int_equal(dec("a+b%2Bc", 0, out, NULL), 5);
    assert_string_equal(out, "a+b+c");
    /* a decoded '%' is not decoded again */
    assert_int_equal(dec("%2541", 0, out, NULL), 3);
    assert_string_equal(out, "%41");
}

static void refuses_bad_escapes(void **state)
{
    static const char *const bad[] = {"%",
                                      "%4",
                                      "a%",
                                      "a%4",
                                      "%zz",
                                      "%4g",
                                      "%g4",
                                      "%%41",
                                      "ab%2",
                                      "%-1",
                                      "% 1",
                                      "%+1",
                                      "%\2001" /* '%', 0x80 (octal: the 1 stays a digit) */};
    char out[16];
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned holds = 0;
        if (sg_pct_decode(out, bad[i], strlen(bad[i]), SG_PCT_PLUS_SPACE, &holds) != -1)
            fail_msg("'%s' decoded", bad[i]);
    }
    /* the length bounds the input: "%41" cut to two bytes is truncated */
    assert_int_equal(sg_pct_decode(out, "%41", 2, 0, NULL), -1);
    assert_int_equal(sg_pct_decode(out, "%41", 3, 0, NULL), 1);
}

static void reports_what_it_holds(void **state)
{
    char out[16];
    unsigned holds;
    assert_int_equal(dec("a%00b", 0, out, &holds), 3);
    assert_int_equal(holds, SG_PCT_HELD_CONTROL | SG_PCT_HELD_NUL);
    assert_int_equal(dec("%0a", 0, out, &holds), 1);
    assert_int_equal(holds, SG_PCT_HELD_CONTROL);
    assert_int_equal(dec("%7F", 0, out, &holds), 1);
    assert_int_equal(holds, SG_PCT_HELD_CONTROL);
    assert_int_equal(dec("\t", 0, out, &holds), 1); /* raw controls count too */
    assert_int_equal(holds, SG_PCT_HELD_CONTROL);
    assert_int_equal(dec("%C3%A9", 0, out, &holds), 2);
    assert_int_equal(holds, SG_PCT_HELD_NON_ASCII);
    assert_int_equal(dec("\xc3\xa9%00", 0, out, &holds), 3);
    assert_int_equal(holds, SG_PCT_HELD_NON_ASCII | SG_PCT_HELD_CONTROL | SG_PCT_HELD_NUL);
    assert_int_equal(dec("%20~%7E+", SG_PCT_PLUS_SPACE, out, &holds), 4);
    assert_int_equal(holds, 0);
}

static void decodes_in_place(void **state)
{
    char buf[] = "x%3Dy+z%26";
    long n = sg_pct_decode(buf, buf, strlen(buf), SG_PCT_PLUS_SPACE, NULL);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "x=y z&", 6);
}

/* Iterates q and writes "name|value;" for each parameter into out. */
static void walk(const char *q, char *out, size_t cap)
{
    sg_query_iter_t it;
    const char *name, *value;
    size_t name_len, value_len, n = 0;
    out[0] = '\0';
    sg_query_init(&it, q, strlen(q));
    while (sg_query_next(&it, &name, &name_len, &value, &value_len)) {
        assert_true(value >= name + name_len && value + value_len <= q + strlen(q));
        n += (size_t)snprintf(out + n, cap - n, "%.*s|%.*s;", (int)name_len, name, (int)value_len, value);
        assert_true(n < cap);
    }
}

static void iterates(void **state)
{
    char out[256];
    walk("", out, sizeof(out));
    assert_string_equal(out, "");
    walk("a=1&b=2", out, sizeof(out));
    assert_string_equal(out, "a|1;b|2;");
    /* no '=', an empty value, '=' inside a value, an empty name */
    walk("flag&e=&v=a=b&=x", out, sizeof(out));
    assert_string_equal(out, "flag|;e|;v|a=b;|x;");
    /* "&&" and a leading '&' yield empty parameters; a final '&' yields none */
    walk("&a&&b&", out, sizeof(out));
    assert_string_equal(out, "|;a|;|;b|;");
    walk("&", out, sizeof(out));
    assert_string_equal(out, "|;");
    walk("&&", out, sizeof(out));
    assert_string_equal(out, "|;|;");
    /* nothing is decoded and a '?' is part of the first name */
    walk("?s%70=r+w&%26=%3D", out, sizeof(out));
    assert_string_equal(out, "?s%70|r+w;%26|%3D;");
}

static void value_without_equals_points_at_end_of_name(void **state)
{
    const char *q = "ab&cd";
    sg_query_iter_t it;
    const char *name, *value;
    size_t name_len, value_len;
    sg_query_init(&it, q, strlen(q));
    assert_int_equal(sg_query_next(&it, &name, &name_len, &value, &value_len), 1);
    assert_ptr_equal(name, q);
    assert_ptr_equal(value, q + 2);
    assert_int_equal(value_len, 0);
    assert_int_equal(sg_query_next(&it, &name, &name_len, &value, &value_len), 1);
    assert_ptr_equal(name, q + 3);
    assert_ptr_equal(value + value_len, q + 5); /* the parameter as sent ends at the end of the text */
    assert_int_equal(sg_query_next(&it, &name, &name_len, &value, &value_len), 0);
    assert_int_equal(sg_query_next(&it, &name, &name_len, &value, &value_len), 0);
}

static void bounded_by_length(void **state)
{
    /* the length, not a NUL, ends the text: "a=1&b=2" cut after "a=1&b" */
    char out[64];
    sg_query_iter_t it;
    const char *q = "a=1&b=2", *name, *value;
    size_t name_len, value_len, n = 0;
    out[0] = '\0';
    sg_query_init(&it, q, 5);
    while (sg_query_next(&it, &name, &name_len, &value, &value_len))
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s|%.*s;", (int)name_len, name, (int)value_len, value);
    assert_string_equal(out, "a|1;b|;");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hexval_every_byte),
        cmocka_unit_test(decodes),
        cmocka_unit_test(refuses_bad_escapes),
        cmocka_unit_test(reports_what_it_holds),
        cmocka_unit_test(decodes_in_place),
        cmocka_unit_test(iterates),
        cmocka_unit_test(value_without_equals_points_at_end_of_name),
        cmocka_unit_test(bounded_by_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
