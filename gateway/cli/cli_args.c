/*
 * cli_args.c - the one option parser of the sasgw subcommands (cli_args.h).
 */
#include "cli_args.h"

#include <string.h>

/* The row of table whose name or alias is exactly name[0..len), or NULL. */
static const gw_arg_t *lookup(const gw_arg_t *table, const char *name, size_t len)
{
    for (const gw_arg_t *r = table; r->name != NULL; r++) {
        if (strlen(r->name) == len && strncmp(r->name, name, len) == 0)
            return r;
        if (r->alias != NULL && strlen(r->alias) == len && strncmp(r->alias, name, len) == 0)
            return r;
    }
    return NULL;
}

/* Records the error on a and returns it. */
static gw_args_err_t fail(gw_args_t *a, gw_args_err_t e, const char *arg, size_t len, const gw_arg_t *row)
{
    a->bad = arg;
    a->bad_len = len;
    a->bad_row = row;
    return e;
}

/*
 * Walks argv once, left to right. An argument is an option when it starts with
 * '-', is not "-" itself, and no "--" came before it. Long options split at the
 * first '='; short aliases match whole ("-c=x" is unknown, as before).
 */
gw_args_err_t gw_args_parse(gw_args_t *a, const gw_arg_t *table, int minpos, int maxpos, int argc, char **argv)
{
    int options_end = 0;
    memset(a, 0, sizeof(*a));
    a->table = table;
    if (maxpos > GW_ARGS_MAX_POS)
        maxpos = GW_ARGS_MAX_POS;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_end && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--") == 0) {
                options_end = 1;
                continue;
            }
            if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
                return GW_ARGS_HELP;
            const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
            size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
            const gw_arg_t *row = lookup(table, arg, len);
            if (row == NULL)
                return fail(a, GW_ARGS_E_UNKNOWN, arg, len, NULL);
            const char *value = NULL;
            if (row->kind == GW_ARG_FLAG) {
                if (eq != NULL)
                    return fail(a, GW_ARGS_E_NO_VALUE, arg, len, row);
            } else if (eq != NULL) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return fail(a, GW_ARGS_E_NEEDS_VALUE, arg, len, row);
            }
            size_t idx = (size_t)(row - table);
            if (row->kind != GW_ARG_REPEATED)
                for (size_t k = 0; k < a->ngiven; k++)
                    if (a->given[k].row == idx)
                        return fail(a, GW_ARGS_E_REPEATED, arg, len, row);
            if (a->ngiven == GW_ARGS_MAX_GIVEN)
                return fail(a, GW_ARGS_E_TOO_MANY, arg, len, row);
            a->given[a->ngiven].row = idx;
            a->given[a->ngiven].value = value;
            a->ngiven++;
            continue;
        }
        if (a->npos >= (size_t)(maxpos < 0 ? 0 : maxpos))
            return fail(a, GW_ARGS_E_EXTRA, arg, strlen(arg), NULL);
        a->pos[a->npos++] = arg;
    }
    if (a->npos < (size_t)(minpos < 0 ? 0 : minpos))
        return fail(a, GW_ARGS_E_MISSING, NULL, 0, NULL);
    return GW_ARGS_OK;
}

/* The table index of name, or (size_t)-1. */
static size_t row_of(const gw_args_t *a, const char *name)
{
    for (size_t r = 0; a->table != NULL && a->table[r].name != NULL; r++)
        if (strcmp(a->table[r].name, name) == 0)
            return r;
    return (size_t)-1;
}

const char *gw_args_next(const gw_args_t *a, const char *name, size_t *cursor)
{
    size_t r = row_of(a, name);
    for (; *cursor < a->ngiven; (*cursor)++)
        if (a->given[*cursor].row == r) {
            const char *v = a->given[*cursor].value;
            (*cursor)++;
            return v != NULL ? v : "";
        }
    return NULL;
}

const char *gw_args_value(const gw_args_t *a, const char *name)
{
    const char *v = NULL, *last = NULL;
    size_t cursor = 0;
    while ((v = gw_args_next(a, name, &cursor)) != NULL)
        last = v;
    return last;
}

int gw_args_has(const gw_args_t *a, const char *name)
{
    return gw_args_value(a, name) != NULL;
}
