/*
 * cli_args.h - the one option parser of the sasgw subcommands. Each command
 * describes its options in a table of gw_arg_t (name, short alias, kind),
 * terminated by a row whose name is NULL, and gives its positional bounds;
 * gw_args_parse() does the rest:
 *   --name VALUE and --name=VALUE (a short alias: -c VALUE), flags as --name;
 *   options before, between or after positional arguments;
 *   "--" ends the options: everything after it is positional;
 *   "-" alone is positional; --help or -h (before "--") asks for help;
 *   a separate value is taken verbatim, even when it starts with '-'.
 * Errors are typed (gw_args_err_t) with the offending argument, so each
 * command family words them in its own (unchanged) sentences.
 */
#ifndef SASGW_GATEWAY_CLI_ARGS_H
#define SASGW_GATEWAY_CLI_ARGS_H

#include <stddef.h>

typedef enum {
    GW_ARG_FLAG,     /* --name, no value; once */
    GW_ARG_VALUE,    /* --name VALUE; once */
    GW_ARG_REPEATED, /* --name VALUE; any number of times, in order */
} gw_arg_kind_t;

typedef struct {
    const char *name;  /* "--vault"; NULL ends the table */
    const char *alias; /* "-c", or NULL */
    gw_arg_kind_t kind;
} gw_arg_t;

typedef enum {
    GW_ARGS_OK = 0,
    GW_ARGS_HELP,          /* --help or -h: print the help, exit 0 */
    GW_ARGS_E_UNKNOWN,     /* an option the table does not name */
    GW_ARGS_E_NEEDS_VALUE, /* a valued option last on the line */
    GW_ARGS_E_NO_VALUE,    /* --flag=VALUE */
    GW_ARGS_E_REPEATED,    /* a once-only option given twice */
    GW_ARGS_E_EXTRA,       /* more positional arguments than maxpos */
    GW_ARGS_E_MISSING,     /* fewer positional arguments than minpos */
    GW_ARGS_E_TOO_MANY,    /* more than GW_ARGS_MAX_GIVEN options */
} gw_args_err_t;

enum { GW_ARGS_MAX_POS = 8, GW_ARGS_MAX_GIVEN = 64 };

/* The parsed command line. Values point into argv (not copied, not owned). */
typedef struct {
    const gw_arg_t *table;
    const char *pos[GW_ARGS_MAX_POS];
    size_t npos;
    struct {
        size_t row;        /* index into table */
        const char *value; /* NULL for a flag */
    } given[GW_ARGS_MAX_GIVEN];
    size_t ngiven;
    /* on an error: the argument at fault (whole, as typed) and the length of
     * its option name (up to '=' for --name=VALUE); the table row when known */
    const char *bad;
    size_t bad_len;
    const gw_arg_t *bad_row;
} gw_args_t;

/*
 * Parses argv[1..argc-1] (argv[0] is the command's name) against table, with
 * minpos..maxpos positional arguments (maxpos at most GW_ARGS_MAX_POS).
 * Stops at the first problem, in command-line order. Returns GW_ARGS_OK,
 * GW_ARGS_HELP, or an error with a->bad/bad_len/bad_row set (for
 * GW_ARGS_E_MISSING a->bad is NULL).
 */
gw_args_err_t gw_args_parse(gw_args_t *a, const gw_arg_t *table, int minpos, int maxpos, int argc, char **argv);

/* The value of option name (its table name, not the alias): the last one given
 * for a repeated option, "" for a flag, NULL when it was not given. */
const char *gw_args_value(const gw_args_t *a, const char *name);

/* Whether option name was given. */
int gw_args_has(const gw_args_t *a, const char *name);

/*
 * Walks the values of a (repeated) option in command-line order: start with
 * *cursor = 0; returns the next value, or NULL when there are no more.
 */
const char *gw_args_next(const gw_args_t *a, const char *name, size_t *cursor);

#endif
