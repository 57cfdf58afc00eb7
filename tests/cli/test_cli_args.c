/*
 * Tests gateway/cli/cli_args.c, the one option parser of the sasgw commands: both
 * value forms and short aliases, flags, positional bounds, "--" and "-",
 * help, and every error (unknown, missing value, value on a flag, repeated,
 * too many, too few / too many positionals) with the argument it names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli_args.h"

static const gw_arg_t table[] = {{"--vault", NULL, GW_ARG_VALUE},  {"--config", "-c", GW_ARG_VALUE}, {"--json", NULL, GW_ARG_FLAG},
                                 {"--tag", NULL, GW_ARG_REPEATED}, {"-n", NULL, GW_ARG_VALUE},       {NULL, NULL, GW_ARG_FLAG}};

/* Parses the NULL-terminated words (argv[0] = "cmd" is added) with 0..2 positionals unless told. */
#define PARSE(a, minpos, maxpos, ...)                                                                                              \
    ({                                                                                                                             \
        char *words_[] = {"cmd", __VA_ARGS__, NULL};                                                                               \
        gw_args_parse((a), table, (minpos), (maxpos), (int)(sizeof(words_) / sizeof(words_[0])) - 1, words_);                      \
    })

static void values_in_both_forms_and_by_alias(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 0, 2, "--vault", "v.db", "-c=x", "pos1", "-c", "conf.yaml", "--json", "-n", "5"), GW_ARGS_E_UNKNOWN);
    assert_string_equal(a.bad, "-c=x"); /* a short alias matches whole, as before */
    assert_int_equal(PARSE(&a, 0, 2, "--vault=v.db", "pos1", "-c", "conf.yaml", "--json", "-n", "5", "pos2"), GW_ARGS_OK);
    assert_string_equal(gw_args_value(&a, "--vault"), "v.db");
    assert_string_equal(gw_args_value(&a, "--config"), "conf.yaml"); /* looked up by its name, given by alias */
    assert_null(gw_args_value(&a, "-c"));                            /* the alias is no name */
    assert_string_equal(gw_args_value(&a, "--json"), "");
    assert_true(gw_args_has(&a, "--json"));
    assert_string_equal(gw_args_value(&a, "-n"), "5");
    assert_false(gw_args_has(&a, "--tag"));
    assert_null(gw_args_value(&a, "--nonsense"));
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.pos[0], "pos1");
    assert_string_equal(a.pos[1], "pos2");
    /* --config=VALUE, an empty value, a value with '=' in it */
    assert_int_equal(PARSE(&a, 0, 0, "--config=a=b", "--vault="), GW_ARGS_OK);
    assert_string_equal(gw_args_value(&a, "--config"), "a=b");
    assert_string_equal(gw_args_value(&a, "--vault"), "");
}

static void a_separate_value_is_taken_verbatim(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 0, 0, "--vault", "--help", "-n", "-5", "--config", "--"), GW_ARGS_OK);
    assert_string_equal(gw_args_value(&a, "--vault"), "--help");
    assert_string_equal(gw_args_value(&a, "-n"), "-5");
    assert_string_equal(gw_args_value(&a, "--config"), "--");
}

static void repeated_values_in_order(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 0, 0, "--tag", "a=1", "--json", "--tag=b=2", "--tag", ""), GW_ARGS_OK);
    size_t cursor = 0;
    assert_string_equal(gw_args_next(&a, "--tag", &cursor), "a=1");
    assert_string_equal(gw_args_next(&a, "--tag", &cursor), "b=2");
    assert_string_equal(gw_args_next(&a, "--tag", &cursor), "");
    assert_null(gw_args_next(&a, "--tag", &cursor));
    assert_null(gw_args_next(&a, "--tag", &cursor));
    assert_string_equal(gw_args_value(&a, "--tag"), ""); /* the last one */
    cursor = 0;
    assert_null(gw_args_next(&a, "--vault", &cursor));
}

static void once_only_options_given_twice(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 0, 0, "--vault", "a", "--vault=b"), GW_ARGS_E_REPEATED);
    assert_string_equal(a.bad, "--vault=b");
    assert_int_equal(a.bad_len, strlen("--vault"));
    assert_ptr_equal(a.bad_row, &table[0]);
    /* the alias and the name are one option */
    assert_int_equal(PARSE(&a, 0, 0, "--config", "a", "-c", "b"), GW_ARGS_E_REPEATED);
    assert_string_equal(a.bad, "-c");
    assert_ptr_equal(a.bad_row, &table[1]);
    assert_int_equal(PARSE(&a, 0, 0, "--json", "--json"), GW_ARGS_E_REPEATED);
}

static void unknown_options(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 0, 2, "--bogus=1", "x"), GW_ARGS_E_UNKNOWN);
    assert_string_equal(a.bad, "--bogus=1");
    assert_int_equal(a.bad_len, strlen("--bogus"));
    assert_null(a.bad_row);
    assert_int_equal(PARSE(&a, 0, 2, "-x"), GW_ARGS_E_UNKNOWN);
    assert_string_equal(a.bad, "-x");
    /* a prefix of a name is not the name, nor is a name with more after it */
    assert_int_equal(PARSE(&a, 0, 2, "--vau", "v"), GW_ARGS_E_UNKNOWN);
    assert_int_equal(PARSE(&a, 0, 2, "--vaults", "v"), GW_ARGS_E_UNKNOWN);
    assert_int_equal(PARSE(&a, 0, 2, "---vault", "v"), GW_ARGS_E_UNKNOWN);
    assert_int_equal(PARSE(&a, 0, 2, "--=v"), GW_ARGS_E_UNKNOWN);
    assert_int_equal(a.bad_len, 2);
}

static void missing_values_and_values_on_flags(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 0, 2, "x", "--vault"), GW_ARGS_E_NEEDS_VALUE);
    assert_string_equal(a.bad, "--vault");
    assert_ptr_equal(a.bad_row, &table[0]);
    assert_int_equal(PARSE(&a, 0, 2, "-c"), GW_ARGS_E_NEEDS_VALUE);
    assert_ptr_equal(a.bad_row, &table[1]);
    assert_int_equal(PARSE(&a, 0, 2, "--json=yes"), GW_ARGS_E_NO_VALUE);
    assert_string_equal(a.bad, "--json=yes");
    assert_int_equal(a.bad_len, strlen("--json"));
    assert_int_equal(PARSE(&a, 0, 2, "--json="), GW_ARGS_E_NO_VALUE);
}

static void positional_bounds(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 1, 1, "--json"), GW_ARGS_E_MISSING);
    assert_null(a.bad);
    assert_int_equal(PARSE(&a, 1, 1, "one", "two"), GW_ARGS_E_EXTRA);
    assert_string_equal(a.bad, "two");
    assert_int_equal(PARSE(&a, 0, 0, "one"), GW_ARGS_E_EXTRA);
    /* "-" is a positional argument */
    assert_int_equal(PARSE(&a, 1, 1, "-"), GW_ARGS_OK);
    assert_string_equal(a.pos[0], "-");
    /* more than GW_ARGS_MAX_POS, whatever maxpos says */
    assert_int_equal(PARSE(&a, 0, 100, "1", "2", "3", "4", "5", "6", "7", "8"), GW_ARGS_OK);
    assert_int_equal(a.npos, GW_ARGS_MAX_POS);
    assert_int_equal(PARSE(&a, 0, 100, "1", "2", "3", "4", "5", "6", "7", "8", "9"), GW_ARGS_E_EXTRA);
    assert_string_equal(a.bad, "9");
    /* a negative bound is none */
    assert_int_equal(PARSE(&a, -1, -1, "x"), GW_ARGS_E_EXTRA);
}

static void double_dash_ends_options(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 0, 3, "--json", "--", "--vault", "-c", "--"), GW_ARGS_OK);
    assert_true(gw_args_has(&a, "--json"));
    assert_false(gw_args_has(&a, "--vault"));
    assert_int_equal(a.npos, 3);
    assert_string_equal(a.pos[0], "--vault");
    assert_string_equal(a.pos[1], "-c");
    assert_string_equal(a.pos[2], "--");
    assert_int_equal(PARSE(&a, 0, 1, "--", "--help"), GW_ARGS_OK);
    assert_string_equal(a.pos[0], "--help");
    assert_int_equal(PARSE(&a, 0, 0, "--"), GW_ARGS_OK);
    assert_int_equal(a.npos, 0);
}

static void help_and_errors_in_command_line_order(void **state)
{
    gw_args_t a;
    assert_int_equal(PARSE(&a, 1, 1, "--help"), GW_ARGS_HELP); /* even with the positional missing */
    assert_int_equal(PARSE(&a, 0, 0, "-h", "--bogus"), GW_ARGS_HELP);
    assert_int_equal(PARSE(&a, 0, 0, "--bogus", "-h"), GW_ARGS_E_UNKNOWN);
    assert_int_equal(PARSE(&a, 0, 0, "--help=1"), GW_ARGS_E_UNKNOWN);
}

static void too_many_options(void **state)
{
    char *words[2 + 2 * (GW_ARGS_MAX_GIVEN + 1)];
    int n = 0;
    words[n++] = "cmd";
    for (int i = 0; i <= GW_ARGS_MAX_GIVEN; i++) {
        words[n++] = "--tag";
        words[n++] = "k=v";
    }
    words[n] = NULL;
    gw_args_t a;
    assert_int_equal(gw_args_parse(&a, table, 0, 0, n - 2, words), GW_ARGS_OK);
    assert_int_equal(a.ngiven, GW_ARGS_MAX_GIVEN);
    assert_int_equal(gw_args_parse(&a, table, 0, 0, n, words), GW_ARGS_E_TOO_MANY);
    /* no arguments at all */
    assert_int_equal(gw_args_parse(&a, table, 0, 0, 1, words), GW_ARGS_OK);
    assert_int_equal(a.ngiven, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_in_both_forms_and_by_alias),
        cmocka_unit_test(a_separate_value_is_taken_verbatim),
        cmocka_unit_test(repeated_values_in_order),
        cmocka_unit_test(once_only_options_given_twice),
        cmocka_unit_test(unknown_options),
        cmocka_unit_test(missing_values_and_values_on_flags),
        cmocka_unit_test(positional_bounds),
        cmocka_unit_test(double_dash_ends_options),
        cmocka_unit_test(help_and_errors_in_command_line_order),
        cmocka_unit_test(too_many_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
