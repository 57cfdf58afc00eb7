/* Tests common/yaml_schema.c: loading, the refusals of the event pass, closed mappings and typed scalars, in both message forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common/yaml_schema.h"

static char err[512];

/* Loads text as "f.yaml"; asserts the load's outcome. */
static void load(ys_doc_t *d, ys_style_t style, const char *text, int want)
{
    int ret = ys_load(d, "f.yaml", style, 8, text, strlen(text), err, sizeof(err));
    if (ret != want)
        fail_msg("load of \"%s\" returned %d (%s)", text, ret, err);
}

/* Loads text, expecting the load itself to fail with exactly msg. */
static void refused(const char *text, const char *msg)
{
    ys_doc_t d;
    load(&d, YS_PATH, text, -1);
    assert_string_equal(err, msg);
    ys_dispose(&d);
}

static void loads_and_refuses(void **state)
{
    ys_doc_t d;
    load(&d, YS_NAMED, "a: 1\n", 0);
    assert_non_null(ys_root(&d));
    assert_int_equal(ys_root(&d)->type, YAML_MAPPING_NODE);
    ys_dispose(&d);
    ys_dispose(&d); /* twice is harmless */
    load(&d, YS_NAMED, "# nothing\n", 0);
    assert_null(ys_root(&d));
    ys_dispose(&d);

    refused("a: [1\n", "f.yaml:2:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 1, "
                       "column 4)");
    refused("a: 1\n---\nb: 2\n", "f.yaml:2:1: the file holds more than one YAML document");
    refused("a: &x 1\nb: *x\n",
            "f.yaml:1:4: this node is used again through an alias (*name); anchors and aliases are not supported");
    refused("a: *nowhere\n", "f.yaml:1:4: this node is used again through an alias (*name); anchors and aliases are not supported");
    refused("a: 1\nb: &lonely [2]\n", "f.yaml:2:4: anchors (&lonely) are not supported");
    refused("a: !!int 1\n", "f.yaml:1:4: tags (tag:yaml.org,2002:int) are not supported");
    refused("!local {a: 1}\n", "f.yaml:1:1: tags (!local) are not supported");
    refused("a: ! 1\n", "f.yaml:1:4: tags (!) are not supported");
    /* an alias deep inside a sequence of mappings, the billion-laughs shape */
    refused("a: &a [x, x]\nb: &b [*a, *a]\n",
            "f.yaml:1:4: this node is used again through an alias (*name); anchors and aliases are not "
            "supported");
}

static void fail_formats_and_truncates(void **state)
{
    ys_doc_t d;
    char small[12];
    load(&d, YS_NAMED, "a: 1\n", 0);
    assert_int_equal(ys_fail(&d, NULL, "no %s", "place"), -1);
    assert_string_equal(err, "f.yaml: no place");
    assert_int_equal(ys_fail_at(&d, 3, 4, "at %d", 7), -1);
    assert_string_equal(err, "f.yaml:3:4: at 7");
    d.err = small;
    d.errlen = sizeof(small);
    ys_fail(&d, ys_root(&d), "a long sentence");
    assert_string_equal(small, "f.yaml:1:1:");
    d.errlen = 0; /* nowhere to write: still -1 */
    assert_int_equal(ys_fail(&d, ys_root(&d), "x"), -1);
    ys_dispose(&d);
}

/* Loads "v: <value>" and returns the value's node. */
static yaml_node_t *value_of(ys_doc_t *d, ys_style_t style, const char *text)
{
    load(d, style, text, 0);
    yaml_node_t *root = ys_root(d);
    return ys_node(d, root->data.mapping.pairs.start[0].value);
}

static void strings(void **state)
{
    static const struct {
        ys_style_t style;
        const char *text, *msg;
    } bad[] = {
        {YS_NAMED, "v: ~\n", "f.yaml:1:4: 'v' must be a string, not null"},
        {YS_NAMED, "v: [a]\n", "f.yaml:1:4: 'v' must be a string, not a list"},
        {YS_NAMED, "v: ''\n", "f.yaml:1:4: 'v' must not be empty"},
        {YS_NAMED, "v: \"a\\0b\"\n", "f.yaml:1:4: 'v' must not contain a NUL character"},
        {YS_NAMED, "v: 123456789\n", "f.yaml:1:4: 'v' is too long"},
        {YS_PATH, "v:\n", "f.yaml:1:3: v: expected a string, found null"},
        {YS_PATH, "v: [a]\n", "f.yaml:1:4: v: expected a string, found a sequence"},
        {YS_PATH, "v: {a: b}\n", "f.yaml:1:4: v: expected a string, found a mapping"},
        {YS_PATH, "v: \"\"\n", "f.yaml:1:4: v: must not be empty"},
        {YS_PATH, "v: \"a\\0b\"\n", "f.yaml:1:4: v: contains a NUL character"},
        {YS_PATH, "v: 123456789\n", "f.yaml:1:4: v: is too long"},
    };
    ys_doc_t d;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(ys_string(&d, value_of(&d, bad[i].style, bad[i].text), "v"));
        assert_string_equal(err, bad[i].msg);
        ys_dispose(&d);
    }
    /* a quoted null is a string, and 8 bytes is the limit */
    assert_string_equal(ys_string(&d, value_of(&d, YS_PATH, "v: 'null'\n"), "v"), "null");
    ys_dispose(&d);
    assert_string_equal(ys_string(&d, value_of(&d, YS_NAMED, "v: 12345678\n"), "v"), "12345678");
    ys_dispose(&d);
}

static void integers(void **state)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"v: '5'\n", "f.yaml:1:4: 'v' must be an integer, not a string"},
        {"v: ~\n", "f.yaml:1:4: 'v' must be an integer, not null"},
        {"v: {}\n", "f.yaml:1:4: 'v' must be an integer, not a mapping"},
        {"v: -1\n", "f.yaml:1:4: 'v' must be a non-negative decimal integer, not '-1'"},
        {"v: 0x10\n", "f.yaml:1:4: 'v' must be a non-negative decimal integer, not '0x10'"},
        {"v: 9\n", "f.yaml:1:4: 'v' must be between 10 and 20, not 9"},
        {"v: 21\n", "f.yaml:1:4: 'v' must be between 10 and 20, not 21"},
        {"v: 99999999999999999999999999\n", "f.yaml:1:4: 'v' must be between 10 and 20"},
    };
    ys_doc_t d;
    unsigned long v = 7;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ys_uint(&d, value_of(&d, YS_NAMED, bad[i].text), "v", 10, 20, &v), -1);
        assert_string_equal(err, bad[i].msg);
        assert_int_equal(v, 0);
        ys_dispose(&d);
    }
    assert_int_equal(ys_uint(&d, value_of(&d, YS_NAMED, "v: 020\n"), "v", 10, 20, &v), 0);
    assert_int_equal(v, 20);
    ys_dispose(&d);
    assert_int_equal(ys_uint(&d, value_of(&d, YS_PATH, "v: x\n"), "a.v", 0, 1, &v), -1);
    assert_string_equal(err, "f.yaml:1:4: a.v: expected a non-negative decimal integer, found 'x'");
    ys_dispose(&d);
}

static void booleans(void **state)
{
    ys_doc_t d;
    int b = -1;
    assert_int_equal(ys_bool(&d, value_of(&d, YS_NAMED, "v: true\n"), "v", &b), 0);
    assert_int_equal(b, 1);
    ys_dispose(&d);
    assert_int_equal(ys_bool(&d, value_of(&d, YS_NAMED, "v: false\n"), "v", &b), 0);
    assert_int_equal(b, 0);
    ys_dispose(&d);
    /* YS_NAMED: plain scalars only; yes/on are not booleans */
    static const char *const named_bad[] = {"v: 'true'\n", "v: yes\n", "v: True\n", "v: ~\n", "v: [true]\n"};
    for (size_t i = 0; i < sizeof(named_bad) / sizeof(named_bad[0]); i++) {
        assert_int_equal(ys_bool(&d, value_of(&d, YS_NAMED, named_bad[i]), "v", &b), -1);
        assert_string_equal(err, "f.yaml:1:4: 'v' must be true or false");
        ys_dispose(&d);
    }
    /* YS_PATH reads a string: a quoted true is true */
    assert_int_equal(ys_bool(&d, value_of(&d, YS_PATH, "v: \"true\"\n"), "v", &b), 0);
    assert_int_equal(b, 1);
    ys_dispose(&d);
    assert_int_equal(ys_bool(&d, value_of(&d, YS_PATH, "v: on\n"), "v", &b), -1);
    assert_string_equal(err, "f.yaml:1:4: v: expected true or false, found 'on'");
    ys_dispose(&d);
    assert_int_equal(ys_bool(&d, value_of(&d, YS_PATH, "v: [x]\n"), "v", &b), -1);
    assert_string_equal(err, "f.yaml:1:4: v: expected a string, found a sequence");
    ys_dispose(&d);
}

static void sequences(void **state)
{
    ys_doc_t d;
    yaml_node_t *v = value_of(&d, YS_NAMED, "v: [a, b]\n");
    assert_int_equal(ys_sequence(&d, v, "v", NULL), 2);
    assert_string_equal((const char *)ys_item(&d, v, 1)->data.scalar.value, "b");
    ys_dispose(&d);
    assert_int_equal(ys_sequence(&d, value_of(&d, YS_NAMED, "v: x\n"), "v", "a list of names"), -1);
    assert_string_equal(err, "f.yaml:1:4: 'v' must be a list of names, not a scalar");
    ys_dispose(&d);
    assert_int_equal(ys_sequence(&d, value_of(&d, YS_NAMED, "v:\n"), "v", NULL), -1);
    assert_string_equal(err, "f.yaml:1:3: 'v' must be a list, not null");
    ys_dispose(&d);
    assert_int_equal(ys_sequence(&d, value_of(&d, YS_PATH, "v: {}\n"), "r.v", "ignored"), -1);
    assert_string_equal(err, "f.yaml:1:4: r.v: expected a sequence, found a mapping");
    ys_dispose(&d);
}

static const char *const keys[] = {"alpha", "beta", "gamma", NULL};

/* Opens the root of text as a closed mapping named "sec"; returns ys_map_open's result. */
static int open_root(ys_doc_t *d, ys_map_t *m, ys_style_t style, const char *text)
{
    load(d, style, text, 0);
    return ys_map_open(d, m, ys_root(d), "sec", NULL, keys);
}

static void closed_mappings(void **state)
{
    ys_doc_t d;
    ys_map_t m;
    assert_int_equal(open_root(&d, &m, YS_NAMED, "gamma: 3\nalpha: 1\n"), 0);
    assert_int_equal(ys_map_next(&m), 1);
    assert_int_equal(m.index, 2);
    assert_string_equal(m.text, "gamma");
    assert_string_equal((const char *)m.value->data.scalar.value, "3");
    assert_int_equal(ys_map_next(&m), 1);
    assert_int_equal(m.index, 0);
    assert_int_equal(ys_map_next(&m), 0);
    assert_int_equal(ys_map_next(&m), 0);
    assert_int_equal(ys_map_required(&m, 1u << 0 | 1u << 2), 0);
    assert_int_equal(ys_map_required(&m, 1u << 1 | 1u << 2), -1);
    assert_string_equal(err, "f.yaml:1:1: 'sec' is missing the required key 'beta'");
    ys_dispose(&d);

    static const struct {
        ys_style_t style;
        const char *text, *msg;
    } bad[] = {
        {YS_NAMED, "alpha: 1\ndelta: 2\n", "f.yaml:2:1: unknown key 'delta' in 'sec' (expected one of: alpha, beta, gamma)"},
        {YS_PATH, "alpha: 1\ndelta: 2\n", "f.yaml:2:1: sec: unknown key 'delta' (expected one of: alpha, beta, gamma)"},
        {YS_NAMED, "beta: 1\nbeta: 2\n", "f.yaml:2:1: duplicate key 'beta' in 'sec'"},
        {YS_PATH, "beta: 1\nbeta: 2\n", "f.yaml:2:1: sec: key 'beta' appears twice"},
        {YS_NAMED, "[a]: 1\n", "f.yaml:1:1: keys in 'sec' must be non-empty strings"},
        {YS_NAMED, "'': 1\n", "f.yaml:1:1: keys in 'sec' must be non-empty strings"},
        {YS_PATH, "{a: 1}: 1\n", "f.yaml:1:1: sec: a key: expected a string, found a mapping"},
        {YS_NAMED, "[1, 2]\n", "f.yaml:1:1: 'sec' must be a mapping, not a list"},
        {YS_PATH, "~\n", "f.yaml:1:1: sec: expected a mapping, found null"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(open_root(&d, &m, bad[i].style, bad[i].text), -1);
        assert_string_equal(err, bad[i].msg);
        ys_dispose(&d);
    }

    /* YS_PATH names every required key: "a is", "a and b are", "a, b and c are" */
    assert_int_equal(open_root(&d, &m, YS_PATH, "{}\n"), 0);
    assert_int_equal(ys_map_required(&m, 2), -1);
    assert_string_equal(err, "f.yaml:1:1: sec: beta is required");
    assert_int_equal(ys_map_required(&m, 5), -1);
    assert_string_equal(err, "f.yaml:1:1: sec: alpha and gamma are required");
    assert_int_equal(ys_map_required(&m, 7), -1);
    assert_string_equal(err, "f.yaml:1:1: sec: alpha, beta and gamma are required");
    ys_dispose(&d);
}

static void name_mappings(void **state)
{
    ys_doc_t d;
    ys_map_t m;
    load(&d, YS_NAMED, "x: 1\ny: 2\n", 0);
    assert_int_equal(ys_names_open(&d, &m, ys_root(&d), "names", NULL, "thing"), 0);
    assert_int_equal(ys_map_next(&m), 1);
    assert_string_equal(m.text, "x");
    assert_int_equal(ys_map_next(&m), 1);
    assert_int_equal(ys_map_next(&m), 0);
    ys_dispose(&d);
    load(&d, YS_NAMED, "x: 1\nx: 2\n", 0);
    assert_int_equal(ys_names_open(&d, &m, ys_root(&d), "names", NULL, "thing"), -1);
    assert_string_equal(err, "f.yaml:2:1: duplicate thing 'x'");
    ys_dispose(&d);
    load(&d, YS_NAMED, "[x]\n", 0);
    assert_int_equal(ys_names_open(&d, &m, ys_root(&d), "names", "a mapping of things", "thing"), -1);
    assert_string_equal(err, "f.yaml:1:1: 'names' must be a mapping of things, not a list");
    ys_dispose(&d);
    load(&d, YS_PATH, "x: 1\nx: 2\n", 0);
    assert_int_equal(ys_names_open(&d, &m, ys_root(&d), "names", NULL, "thing"), -1);
    assert_string_equal(err, "f.yaml:2:1: names: key 'x' appears twice");
    ys_dispose(&d);

    /* more than YS_MAX_PAIRS pairs is refused before the quadratic duplicate check */
    static char big[16 * (YS_MAX_PAIRS + 2)];
    size_t len = 0;
    for (int i = 0; i <= YS_MAX_PAIRS; i++)
        len += (size_t)snprintf(big + len, sizeof(big) - len, "k%d: 1\n", i);
    load(&d, YS_PATH, big, 0);
    assert_int_equal(ys_names_open(&d, &m, ys_root(&d), "names", NULL, NULL), -1);
    assert_string_equal(err, "f.yaml:1:1: names: more than 10000 keys");
    ys_dispose(&d);
}

static int count_pair(ys_doc_t *d, size_t index, yaml_node_t *value, void *data)
{
    unsigned *bits = data;
    *bits |= 1u << index;
    return index == 1 ? ys_fail(d, value, "beta refused") : 0;
}

static void walks(void **state)
{
    ys_doc_t d;
    unsigned bits = 0;
    load(&d, YS_NAMED, "gamma: 1\nalpha: 2\n", 0);
    assert_int_equal(ys_walk(&d, ys_root(&d), "sec", keys, 1u << 0, count_pair, &bits), 0);
    assert_int_equal(bits, 5);
    assert_int_equal(ys_walk(&d, ys_root(&d), "sec", keys, 1u << 1, count_pair, &bits), -1);
    assert_string_equal(err, "f.yaml:1:1: 'sec' is missing the required key 'beta'");
    ys_dispose(&d);
    load(&d, YS_NAMED, "beta: 1\n", 0);
    assert_int_equal(ys_walk(&d, ys_root(&d), "sec", keys, 0, count_pair, &bits), -1);
    assert_string_equal(err, "f.yaml:1:7: beta refused");
    ys_dispose(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_and_refuses),
        cmocka_unit_test(fail_formats_and_truncates),
        cmocka_unit_test(strings),
        cmocka_unit_test(integers),
        cmocka_unit_test(booleans),
        cmocka_unit_test(sequences),
        cmocka_unit_test(closed_mappings),
        cmocka_unit_test(name_mappings),
        cmocka_unit_test(walks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
