/*
 * client_addr.c - the client's address behind trusted proxies (client_addr.h).
 */
#include "sasgw/core/client_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/*
 * Keys of IPv4 addresses have all of the top 32 bits set, and the IPv6 /64
 * "::/64" gets its own marker: both lie in ff00::/8 (multicast), which is
 * never a source address, so no IPv6 client's /64 can take either.
 */
#define KEY_V4 0xffffffff00000000ull
#define KEY_V6_ZERO 0xfffffffe00000000ull

/* The address of a socket, an IPv4-mapped IPv6 one as IPv4. Returns 0, or -1 for another family. */
static int ip_from_sockaddr(const struct sockaddr *sa, sas_ip_t *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        out->family = 4;
        memcpy(out->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            out->family = 4;
            memcpy(out->addr, a->s6_addr + 12, 4);
        } else {
            out->family = 6;
            memcpy(out->addr, a->s6_addr, 16);
        }
        return 0;
    }
    return -1;
}

/* The socket address of ip (port 0), to ask gw_config_is_trusted_proxy() about it. */
static void sockaddr_from_ip(const sas_ip_t *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (ip->family == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, ip->addr, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, ip->addr, 16);
    }
}

/* Parses one X-Forwarded-For hop: an address, "[v6]" or "[v6]:port", or "v4:port", blanks around it. Returns 0 or -1. */
static int parse_hop(const char *s, size_t len, sas_ip_t *out)
{
    while (len != 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len != 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len > 64)
        return -1;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return -1;
        size_t rest = len - (size_t)(close + 1 - s);
        if (rest != 0 && (close[1] != ':' || rest == 1))
            return -1; /* after "]" only ":port" */
        for (size_t i = 2; i <= rest; i++)
            if (close[i] < '0' || close[i] > '9')
                return -1;
        return sas_ip_parse(out, s + 1, (size_t)(close - s - 1));
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL)
        len = (size_t)(colon - s); /* v4:port */
    return sas_ip_parse(out, s, len);
}

int gw_client_addr(const gw_config_t *conf, const struct sockaddr *peer, const char *xff, size_t xff_len, sas_ip_t *out)
{
    if (peer == NULL || ip_from_sockaddr(peer, out) != 0)
        return -1;
    if (xff == NULL || xff_len == 0 || conf == NULL || !gw_config_is_trusted_proxy(conf, peer))
        return 0;
    /* walk the hops right to left; the first one not trusted is the client */
    size_t end = xff_len;
    for (;;) {
        size_t start = end;
        while (start != 0 && xff[start - 1] != ',')
            start--;
        sas_ip_t hop;
        if (parse_hop(xff + start, end - start, &hop) != 0)
            return -1;
        *out = hop;
        struct sockaddr_storage ss;
        sockaddr_from_ip(&hop, &ss);
        if (!gw_config_is_trusted_proxy(conf, (struct sockaddr *)&ss) || start == 0)
            return 0;
        end = start - 1;
    }
}

size_t gw_client_addr_format(const sas_ip_t *ip, char *out)
{
    if (inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->addr, out, GW_CLIENT_ADDR_TEXT_MAX) == NULL)
        out[0] = '\0';
    return strlen(out);
}

uint64_t gw_client_key(const sas_ip_t *ip)
{
    uint64_t k = 0;
    if (ip->family == 4)
        return KEY_V4 | (uint64_t)ip->addr[0] << 24 | (uint64_t)ip->addr[1] << 16 | (uint64_t)ip->addr[2] << 8 | ip->addr[3];
    for (size_t i = 0; i != 8; i++)
        k = k << 8 | ip->addr[i];
    return k != 0 ? k : KEY_V6_ZERO;
}

size_t gw_client_key_format(uint64_t key, char *out)
{
    sas_ip_t ip;
    memset(&ip, 0, sizeof(ip));
    if ((key & KEY_V4) == KEY_V4) {
        ip.family = 4;
        for (size_t i = 0; i != 4; i++)
            ip.addr[i] = (uint8_t)(key >> (24 - 8 * i));
        return gw_client_addr_format(&ip, out);
    }
    ip.family = 6;
    if (key != KEY_V6_ZERO)
        for (size_t i = 0; i != 8; i++)
            ip.addr[i] = (uint8_t)(key >> (56 - 8 * i));
    size_t n = gw_client_addr_format(&ip, out);
    memcpy(out + n, "/64", 4);
    return n + 3;
}
