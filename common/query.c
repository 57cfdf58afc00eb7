/*
 * query.c - the one hex digit reader, percent-decoder and query-string
 * iterator every module shares (the signer's parser, the proxy's filter, the
 * HTTP helpers, the CLI). No allocation: callers own every buffer.
 */
#include <string.h>

#include "sasgw/common.h"

int sg_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long sg_pct_decode(char *dst, const char *src, size_t len, unsigned flags, unsigned *holds)
{
    size_t o = 0;
    unsigned seen = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = sg_hexval((unsigned char)src[i + 1])) < 0 || (lo = sg_hexval((unsigned char)src[i + 2])) < 0)
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && (flags & SG_PCT_PLUS_SPACE)) {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f)
            seen |= c == 0 ? SG_PCT_HELD_CONTROL | SG_PCT_HELD_NUL : SG_PCT_HELD_CONTROL;
        else if (c >= 0x80)
            seen |= SG_PCT_HELD_NON_ASCII;
        dst[o++] = (char)c;
    }
    if (holds != NULL)
        *holds = seen;
    return (long)o;
}

void sg_query_init(sg_query_iter_t *it, const char *query, size_t len)
{
    it->p = query;
    it->end = query + len;
}

int sg_query_next(sg_query_iter_t *it, const char **name, size_t *name_len, const char **value, size_t *value_len)
{
    if (it->p >= it->end)
        return 0;
    const char *p = it->p, *amp = memchr(p, '&', (size_t)(it->end - p)), *seg_end = amp != NULL ? amp : it->end;
    const char *eq = memchr(p, '=', (size_t)(seg_end - p));
    *name = p;
    *name_len = (size_t)((eq != NULL ? eq : seg_end) - p);
    *value = eq != NULL ? eq + 1 : seg_end;
    *value_len = (size_t)(seg_end - *value);
    it->p = amp != NULL ? amp + 1 : it->end;
    return 1;
}
