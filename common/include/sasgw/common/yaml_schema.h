/*
 * sasgw/common/yaml_schema.h - one closed-schema YAML walker for sasgw.yaml and policy.yaml.
 *
 * A file or buffer is loaded into libyaml's node tree after an event pass that
 * refuses anchors, aliases, explicit tags and a second document. Mappings are
 * walked against a NULL-terminated list of allowed keys (unknown, duplicate and
 * missing required keys are errors); typed getters read strings, booleans and
 * bounded integers. Every error is "file:line:column: sentence" in the caller's
 * buffer.
 *
 * Two message forms exist because two loaders' texts are relied on:
 *   YS_NAMED  names the key in quotes: "'port' must be an integer, not a string";
 *   YS_PATH   starts with a dotted path: "roles.r.admin: expected a sequence, found a scalar".
 * Both forms are written side by side in yaml_schema.c, one function per fault.
 */
#ifndef SASGW_YAML_SCHEMA_H
#define SASGW_YAML_SCHEMA_H

#include <stddef.h>
#include <yaml.h>

typedef enum { YS_NAMED, YS_PATH } ys_style_t;

/* Most pairs one mapping may hold (bounds the duplicate-key check). */
#define YS_MAX_PAIRS 10000

typedef struct {
    const char *name; /* the file name errors start with (borrowed) */
    ys_style_t style;
    size_t max_string; /* longest string ys_string accepts; 0 for no limit */
    yaml_document_t doc;
    int loaded;
    char *err;
    size_t errlen;
} ys_doc_t;

/*
 * Loads buf (len bytes, no terminator needed) into d. Refuses YAML syntax errors,
 * anchors, aliases, tags and more than one document. A file without a document
 * loads, with ys_root() NULL. Returns 0, or -1 with the error in err. d must be
 * disposed of with ys_dispose() either way; name and err are borrowed.
 */
int ys_load(ys_doc_t *d, const char *name, ys_style_t style, size_t max_string, const char *buf, size_t len, char *err,
            size_t errlen);

/* Frees the document (safe after a failed or no load, and twice). */
void ys_dispose(ys_doc_t *d);

/* The root node, or NULL for a file without a document. */
yaml_node_t *ys_root(ys_doc_t *d);

/* The node of index (a pair's key or value, a sequence item); NULL for a bad index. */
yaml_node_t *ys_node(ys_doc_t *d, int index);

/* Writes "name:line:column: message" for node (or "name: message" for NULL) into the error buffer; returns -1. */
__attribute__((format(printf, 3, 4))) int ys_fail(ys_doc_t *d, const yaml_node_t *node, const char *fmt, ...);

/* As ys_fail, at a 1-based line and column. */
__attribute__((format(printf, 4, 5))) int ys_fail_at(ys_doc_t *d, size_t line, size_t column, const char *fmt, ...);

/* 1 for a plain scalar spelling YAML's null: empty, "~", "null", "Null", "NULL". */
int ys_is_null(const yaml_node_t *node);

/* The kind of node for messages: "null", "a scalar", "a mapping", and "a list" (YS_NAMED) or "a sequence" (YS_PATH). */
const char *ys_kind(const ys_doc_t *d, const yaml_node_t *node);

/*
 * The text of a scalar: non-null, non-empty, without NUL bytes and at most
 * d->max_string bytes. Returns the NUL-terminated text (owned by the document)
 * or NULL after an error naming where.
 */
const char *ys_string(ys_doc_t *d, const yaml_node_t *node, const char *where);

/* A plain decimal integer in [min, max] (quoted numbers are strings). Returns 0, or -1 with an error naming where. */
int ys_uint(ys_doc_t *d, const yaml_node_t *node, const char *where, unsigned long min, unsigned long max, unsigned long *out);

/*
 * true or false. YS_NAMED takes plain scalars only ("'x' must be true or false");
 * YS_PATH reads the value as a string first, so a quoted "true" is true.
 */
int ys_bool(ys_doc_t *d, const yaml_node_t *node, const char *where, int *out);

/*
 * Checks that node is a sequence (what describes it in YS_NAMED messages:
 * "a list of addresses"; NULL means "a list"). Returns its length, or -1.
 */
long ys_sequence(ys_doc_t *d, const yaml_node_t *node, const char *where, const char *what);

/* The i-th item of a sequence checked by ys_sequence. */
yaml_node_t *ys_item(ys_doc_t *d, const yaml_node_t *seq, size_t i);

/*
 * A mapping being walked. keys is the NULL-terminated list of allowed keys (at
 * most 32), or NULL for a mapping of names (any string key). After a successful
 * ys_map_next, index is the key's position in keys, key and value the pair's
 * nodes and text the key's text.
 */
typedef struct {
    ys_doc_t *doc;
    const yaml_node_t *node;
    const char *where;
    const char *const *keys;
    yaml_node_pair_t *pair;
    unsigned seen; /* bit i: keys[i] present */
    size_t index;
    yaml_node_t *key, *value;
    const char *text;
} ys_map_t;

/*
 * Starts walking node as a mapping named where. Checks the whole mapping first:
 * a mapping (what describes it in YS_NAMED messages, NULL for "a mapping"), at
 * most YS_MAX_PAIRS pairs, keys that are strings, known (when keys is set) and
 * distinct. Returns 0 or -1 with the error.
 */
int ys_map_open(ys_doc_t *d, ys_map_t *m, const yaml_node_t *node, const char *where, const char *what, const char *const *keys);

/*
 * As ys_map_open for a mapping of names (any string key, each once). noun names
 * a key in YS_NAMED duplicate messages: "duplicate account 'x'".
 */
int ys_names_open(ys_doc_t *d, ys_map_t *m, const yaml_node_t *node, const char *where, const char *what, const char *noun);

/* Advances to the next pair: 1 with m->index/key/value/text set, 0 at the end. */
int ys_map_next(ys_map_t *m);

/*
 * After the walk: checks that every key whose bit is set in required (bit i for
 * keys[i]) was present. YS_NAMED names the first missing key; YS_PATH says
 * "where: a, b and c are required" listing every required key. Returns 0 or -1.
 */
int ys_map_required(ys_map_t *m, unsigned required);

/* Called for each pair of a closed mapping by ys_walk; returns 0 or -1 after an error. */
typedef int (*ys_pair_cb)(ys_doc_t *d, size_t index, yaml_node_t *value, void *data);

/* ys_map_open, on_pair for every pair, then ys_map_required. Returns 0 or -1. */
int ys_walk(ys_doc_t *d, const yaml_node_t *node, const char *where, const char *const *keys, unsigned required, ys_pair_cb on_pair,
            void *data);

#endif
