/*
 * sas_ip.c - sip: one IPv4/IPv6 address or a range, and client address matching.
 */
#include <arpa/inet.h>
#include <string.h>

#include "internal.h"

int sas_ip_parse(sas_ip_t *ip, const char *s, size_t len)
{
    char buf[INET6_ADDRSTRLEN + 1];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(ip, 0, sizeof(*ip));
    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, ip->addr) == 1) {
        ip->family = 4;
        return 0;
    }
    if (memchr(buf, '%', len) == NULL && inet_pton(AF_INET6, buf, ip->addr) == 1) {
        /* an IPv4-mapped address is the IPv4 address it maps */
        if (memcmp(ip->addr, mapped, sizeof(mapped)) == 0) {
            memmove(ip->addr, ip->addr + 12, 4);
            memset(ip->addr + 4, 0, 12);
            ip->family = 4;
        } else {
            ip->family = 6;
        }
        return 0;
    }
    return -1;
}

static int ip_cmp(const sas_ip_t *a, const sas_ip_t *b)
{
    return memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16);
}

int sas_ip_range_parse(sas_ip_range_t *range, const char *s, size_t len)
{
    const char *dash = memchr(s, '-', len);
    if (dash == NULL) {
        if (sas_ip_parse(&range->lo, s, len) != 0)
            return -1;
        range->hi = range->lo;
        return 0;
    }
    if (sas_ip_parse(&range->lo, s, (size_t)(dash - s)) != 0 ||
        sas_ip_parse(&range->hi, dash + 1, len - (size_t)(dash - s) - 1) != 0)
        return -1;
    if (range->lo.family != range->hi.family || ip_cmp(&range->lo, &range->hi) > 0)
        return -1;
    return 0;
}

int sas_ip_range_contains(const sas_ip_range_t *range, const sas_ip_t *ip)
{
    if (ip == NULL || ip->family != range->lo.family)
        return 0;
    return ip_cmp(&range->lo, ip) <= 0 && ip_cmp(ip, &range->hi) <= 0;
}
