/*
 * yaml_schema.c - the closed-schema YAML walker (see yaml_schema.h): an event
 * pass refusing anchors, aliases, tags and extra documents, libyaml's node tree,
 * and typed getters whose messages come in the two forms the header describes.
 */
#include "sasgw/common/yaml_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 4, 0))) static int vfail(ys_doc_t *d, size_t line, size_t column, const char *fmt, va_list ap)
{
    if (d->errlen == 0)
        return -1;
    int n = line != 0 ? snprintf(d->err, d->errlen, "%s:%zu:%zu: ", d->name, line, column)
                      : snprintf(d->err, d->errlen, "%s: ", d->name);
    if (n < 0 || (size_t)n >= d->errlen)
        return -1;
    vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
    return -1;
}

int ys_fail(ys_doc_t *d, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (node != NULL)
        vfail(d, node->start_mark.line + 1, node->start_mark.column + 1, fmt, ap);
    else
        vfail(d, 0, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int ys_fail_at(ys_doc_t *d, size_t line, size_t column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(d, line, column, fmt, ap);
    va_end(ap);
    return -1;
}

/* Writes libyaml's complaint: the problem's place, and where the construct began when libyaml says. */
static int syntax_error(ys_doc_t *d, const yaml_parser_t *parser)
{
    const char *problem = parser->problem != NULL ? parser->problem : "malformed";
    if (parser->context != NULL)
        return ys_fail_at(d, parser->problem_mark.line + 1, parser->problem_mark.column + 1,
                          "YAML syntax error: %s (%s at line %zu, column %zu)", problem, parser->context,
                          parser->context_mark.line + 1, parser->context_mark.column + 1);
    return ys_fail_at(d, parser->problem_mark.line + 1, parser->problem_mark.column + 1, "YAML syntax error: %s", problem);
}

/* The anchors seen so far by the event pass, to place an alias at the node it repeats. */
#define MAX_ANCHORS 64
struct anchors {
    size_t n;
    char name[MAX_ANCHORS][64];
    yaml_mark_t mark[MAX_ANCHORS];
};

static void note_anchor(struct anchors *a, const yaml_char_t *name, yaml_mark_t mark)
{
    if (name == NULL || a->n == MAX_ANCHORS)
        return;
    snprintf(a->name[a->n], sizeof(a->name[0]), "%s", (const char *)name);
    a->mark[a->n++] = mark;
}

/*
 * Parses the events of buf and refuses what the node tree would hide: a
 * second document, an alias (placed at the anchored node it repeats), then an
 * anchor or a tag that nothing repeats. Returns 0 when the events are clean or
 * libyaml stopped on a syntax error (the load reports it), -1 with the error.
 */
static int check_events(ys_doc_t *d, const char *buf, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct anchors anchors = {0};
    yaml_mark_t tag_mark = {0};
    int documents = 0, tagged = 0, ret = 0, done = 0;
    char tag[64] = "";

    if (!yaml_parser_initialize(&parser))
        return ys_fail(d, NULL, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    while (!done && ret == 0) {
        if (!yaml_parser_parse(&parser, &ev))
            break; /* the load reports the syntax error */
        const yaml_char_t *anchor = NULL, *t = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1)
                ret = ys_fail_at(d, ev.start_mark.line + 1, ev.start_mark.column + 1, "the file holds more than one YAML document");
            break;
        case YAML_ALIAS_EVENT: {
            yaml_mark_t at = ev.start_mark;
            for (size_t i = 0; i != anchors.n; i++)
                if (strcmp(anchors.name[i], (const char *)ev.data.alias.anchor) == 0)
                    at = anchors.mark[i];
            ret = ys_fail_at(d, at.line + 1, at.column + 1,
                             "this node is used again through an alias (*name); anchors and aliases are not supported");
            break;
        }
        case YAML_SCALAR_EVENT:
            anchor = ev.data.scalar.anchor;
            t = ev.data.scalar.tag;
            break;
        case YAML_SEQUENCE_START_EVENT:
            anchor = ev.data.sequence_start.anchor;
            t = ev.data.sequence_start.tag;
            break;
        case YAML_MAPPING_START_EVENT:
            anchor = ev.data.mapping_start.anchor;
            t = ev.data.mapping_start.tag;
            break;
        default:
            break;
        }
        if (anchor != NULL)
            note_anchor(&anchors, anchor, ev.start_mark);
        if (t != NULL && !tagged) {
            tagged = 1;
            tag_mark = ev.start_mark;
            snprintf(tag, sizeof(tag), "%s", (const char *)t);
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (ret != 0)
        return ret;
    if (anchors.n != 0)
        return ys_fail_at(d, anchors.mark[0].line + 1, anchors.mark[0].column + 1, "anchors (&%s) are not supported",
                          anchors.name[0]);
    if (tagged)
        return ys_fail_at(d, tag_mark.line + 1, tag_mark.column + 1, "tags (%s) are not supported", tag);
    return 0;
}

int ys_load(ys_doc_t *d, const char *name, ys_style_t style, size_t max_string, const char *buf, size_t len, char *err,
            size_t errlen)
{
    yaml_parser_t parser;
    memset(d, 0, sizeof(*d));
    d->name = name;
    d->style = style;
    d->max_string = max_string;
    d->err = err;
    d->errlen = errlen;
    if (errlen != 0)
        err[0] = '\0';
    if (check_events(d, buf, len) != 0)
        return -1;
    if (!yaml_parser_initialize(&parser))
        return ys_fail(d, NULL, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    int ret = 0;
    if (!yaml_parser_load(&parser, &d->doc))
        ret = syntax_error(d, &parser);
    else
        d->loaded = 1;
    yaml_parser_delete(&parser);
    return ret;
}

void ys_dispose(ys_doc_t *d)
{
    if (d->loaded)
        yaml_document_delete(&d->doc);
    d->loaded = 0;
}

yaml_node_t *ys_root(ys_doc_t *d)
{
    return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
}

yaml_node_t *ys_node(ys_doc_t *d, int index)
{
    return yaml_document_get_node(&d->doc, index);
}

int ys_is_null(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;
    return len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

const char *ys_kind(const ys_doc_t *d, const yaml_node_t *node)
{
    if (ys_is_null(node))
        return "null";
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return d->style == YS_NAMED ? "a list" : "a sequence";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

/* "'where' must be WHAT, not KIND" or "where: expected WHAT, found KIND". */
static int wrong_kind(ys_doc_t *d, const yaml_node_t *node, const char *where, const char *what)
{
    if (d->style == YS_NAMED)
        return ys_fail(d, node, "'%s' must be %s, not %s", where, what, ys_kind(d, node));
    return ys_fail(d, node, "%s: expected %s, found %s", where, what, ys_kind(d, node));
}

const char *ys_string(ys_doc_t *d, const yaml_node_t *node, const char *where)
{
    int named = d->style == YS_NAMED;
    if (node->type != YAML_SCALAR_NODE || ys_is_null(node)) {
        wrong_kind(d, node, where, "a string");
        return NULL;
    }
    const char *s = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;
    if (len == 0)
        ys_fail(d, node, named ? "'%s' must not be empty" : "%s: must not be empty", where);
    else if (d->max_string != 0 && len > d->max_string)
        ys_fail(d, node, named ? "'%s' is too long" : "%s: is too long", where);
    else if (memchr(s, '\0', len) != NULL)
        ys_fail(d, node, named ? "'%s' must not contain a NUL character" : "%s: contains a NUL character", where);
    else
        return s;
    return NULL;
}

int ys_uint(ys_doc_t *d, const yaml_node_t *node, const char *where, unsigned long min, unsigned long max, unsigned long *out)
{
    int named = d->style == YS_NAMED;
    *out = 0;
    if (node->type != YAML_SCALAR_NODE || ys_is_null(node))
        return wrong_kind(d, node, where, "an integer");
    if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) /* '8080' is a string */
        return ys_fail(d, node, named ? "'%s' must be an integer, not a string" : "%s: expected an integer, found a string", where);
    const char *s = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;
    unsigned long long v = 0;
    for (size_t i = 0; i != len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ys_fail(d, node,
                           named ? "'%s' must be a non-negative decimal integer, not '%.*s'"
                                 : "%s: expected a non-negative decimal integer, found '%.*s'",
                           where, (int)(len > 40 ? 40 : len), s);
        if (v > 1000000000000ull)
            return ys_fail(d, node, named ? "'%s' must be between %lu and %lu" : "%s: must be between %lu and %lu", where, min,
                           max);
        v = v * 10 + (unsigned long long)(s[i] - '0');
    }
    if (v < min || v > max)
        return ys_fail(d, node,
                       named ? "'%s' must be between %lu and %lu, not %llu" : "%s: must be between %lu and %lu, found %llu", where,
                       min, max, v);
    *out = (unsigned long)v;
    return 0;
}

int ys_bool(ys_doc_t *d, const yaml_node_t *node, const char *where, int *out)
{
    const char *s;
    if (d->style == YS_NAMED) {
        s = node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                ? (const char *)node->data.scalar.value
                : "";
    } else if ((s = ys_string(d, node, where)) == NULL) {
        return -1;
    }
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
        *out = s[0] == 't';
        return 0;
    }
    if (d->style == YS_NAMED)
        return ys_fail(d, node, "'%s' must be true or false", where);
    return ys_fail(d, node, "%s: expected true or false, found '%s'", where, s);
}

long ys_sequence(ys_doc_t *d, const yaml_node_t *node, const char *where, const char *what)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return wrong_kind(d, node, where, d->style == YS_PATH ? "a sequence" : what != NULL ? what : "a list");
    return (long)(node->data.sequence.items.top - node->data.sequence.items.start);
}

yaml_node_t *ys_item(ys_doc_t *d, const yaml_node_t *seq, size_t i)
{
    return ys_node(d, seq->data.sequence.items.start[i]);
}

/* Writes "a, b, c" (the allowed keys) into out. */
static void join_keys(const char *const *keys, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t j = 0; keys[j] != NULL; j++) {
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%s", j == 0 ? "" : ", ", keys[j]);
    }
}

/* The index of text (len bytes) in keys, or the index of the terminating NULL. */
static size_t key_index(const char *const *keys, const char *text, size_t len)
{
    size_t i;
    for (i = 0; keys[i] != NULL; i++)
        if (strlen(keys[i]) == len && memcmp(keys[i], text, len) == 0)
            break;
    return i;
}

/* ys_map_open and ys_names_open: noun names a key in YS_NAMED duplicate messages (NULL: "duplicate key 'k' in 'where'"). */
static int map_open(ys_doc_t *d, ys_map_t *m, const yaml_node_t *node, const char *where, const char *what, const char *const *keys,
                    const char *noun)
{
    int named = d->style == YS_NAMED;
    memset(m, 0, sizeof(*m));
    m->doc = d;
    m->node = node;
    m->where = where;
    m->keys = keys;
    if (node->type != YAML_MAPPING_NODE)
        return wrong_kind(d, node, where, what != NULL && named ? what : "a mapping");
    yaml_node_pair_t *start = node->data.mapping.pairs.start, *top = node->data.mapping.pairs.top;
    if (top - start > YS_MAX_PAIRS)
        return ys_fail(d, node, named ? "'%s' has more than %d keys" : "%s: more than %d keys", where, YS_MAX_PAIRS);
    for (yaml_node_pair_t *p = start; p != top; p++) {
        yaml_node_t *key = ys_node(d, p->key), *value = ys_node(d, p->value);
        if (key == NULL || value == NULL)
            return ys_fail(d, node, "malformed mapping in '%s'", where);
        char kwhere[1024];
        snprintf(kwhere, sizeof(kwhere), "%s: a key", where);
        if (named && (key->type != YAML_SCALAR_NODE || ys_is_null(key) || key->data.scalar.length == 0 ||
                      memchr(key->data.scalar.value, '\0', key->data.scalar.length) != NULL))
            return ys_fail(d, key, "keys in '%s' must be non-empty strings", where);
        if (!named && ys_string(d, key, kwhere) == NULL)
            return -1;
        const char *k = (const char *)key->data.scalar.value;
        size_t klen = key->data.scalar.length;
        if (keys != NULL && keys[key_index(keys, k, klen)] == NULL) {
            char list[512];
            join_keys(keys, list, sizeof(list));
            if (named)
                return ys_fail(d, key, "unknown key '%.*s' in '%s' (expected one of: %s)", (int)(klen > 64 ? 64 : klen), k, where,
                               list);
            return ys_fail(d, key, "%s: unknown key '%s' (expected one of: %s)", where, k, list);
        }
        for (yaml_node_pair_t *q = start; q != p; q++) {
            const yaml_node_t *prev = ys_node(d, q->key);
            if (prev->data.scalar.length != klen || memcmp(prev->data.scalar.value, k, klen) != 0)
                continue;
            if (!named)
                return ys_fail(d, key, "%s: key '%s' appears twice", where, k);
            if (noun != NULL)
                return ys_fail(d, key, "duplicate %s '%.*s'", noun, (int)(klen > 64 ? 64 : klen), k);
            return ys_fail(d, key, "duplicate key '%.*s' in '%s'", (int)(klen > 64 ? 64 : klen), k, where);
        }
    }
    m->pair = start;
    return 0;
}

int ys_map_open(ys_doc_t *d, ys_map_t *m, const yaml_node_t *node, const char *where, const char *what, const char *const *keys)
{
    return map_open(d, m, node, where, what, keys, NULL);
}

int ys_names_open(ys_doc_t *d, ys_map_t *m, const yaml_node_t *node, const char *where, const char *what, const char *noun)
{
    return map_open(d, m, node, where, what, NULL, noun);
}

int ys_map_next(ys_map_t *m)
{
    if (m->pair == NULL || m->pair == m->node->data.mapping.pairs.top)
        return 0;
    m->key = ys_node(m->doc, m->pair->key);
    m->value = ys_node(m->doc, m->pair->value);
    m->text = (const char *)m->key->data.scalar.value;
    if (m->keys != NULL) {
        m->index = key_index(m->keys, m->text, m->key->data.scalar.length);
        m->seen |= 1u << m->index;
    }
    m->pair++;
    return 1;
}

int ys_map_required(ys_map_t *m, unsigned required)
{
    unsigned missing = required & ~m->seen;
    if (missing == 0)
        return 0;
    if (m->doc->style == YS_NAMED) {
        size_t i = 0;
        while ((missing & (1u << i)) == 0)
            i++;
        return ys_fail(m->doc, m->node, "'%s' is missing the required key '%s'", m->where, m->keys[i]);
    }
    /* "a, b and c are required": every required key, in the schema's order */
    char list[512] = "";
    size_t count = 0, total = 0;
    for (size_t i = 0; m->keys[i] != NULL; i++)
        total += (required >> i) & 1u;
    for (size_t i = 0; m->keys[i] != NULL; i++) {
        if ((required & (1u << i)) == 0)
            continue;
        size_t used = strlen(list);
        count++;
        snprintf(list + used, sizeof(list) - used, "%s%s", count == 1 ? "" : count == total ? " and " : ", ", m->keys[i]);
    }
    return ys_fail(m->doc, m->node, "%s: %s %s required", m->where, list, total == 1 ? "is" : "are");
}

int ys_walk(ys_doc_t *d, const yaml_node_t *node, const char *where, const char *const *keys, unsigned required, ys_pair_cb on_pair,
            void *data)
{
    ys_map_t m;
    if (ys_map_open(d, &m, node, where, NULL, keys) != 0)
        return -1;
    while (ys_map_next(&m))
        if (on_pair(d, m.index, m.value, data) != 0)
            return -1;
    return ys_map_required(&m, required);
}
