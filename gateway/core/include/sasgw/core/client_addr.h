/*
 * sasgw/core/client_addr.h - who the client is: the one X-Forwarded-For walk of sasgw,
 * shared by the proxy (a token's sip), the issuer (a grant's ip, the audit
 * trail) and the failed-authentication limiter.
 *
 * X-Forwarded-For is believed only from a socket peer in trusted_proxies
 * (sasgw.yaml `proxy.trusted_proxies`). Every X-Forwarded-For line of a
 * request counts, joined in order as if they were one list (RFC 9110 §5.3):
 * taking one line only would let a client add a second line of its own
 * making that the proxy never appended to, or hide the hop the proxy did.
 *
 * Pure (no h2o): the same walk for an h2o request is http.h's
 * gw_client_addr_of_req().
 */
#ifndef SASGW_GATEWAY_CLIENT_ADDR_H
#define SASGW_GATEWAY_CLIENT_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sasgw/core/config.h"
#include "sasgw/signer.h"

/* Longest text gw_client_addr_format() and gw_client_key_format() write, with the NUL. */
#define GW_CLIENT_ADDR_TEXT_MAX 48

/*
 * The client address: the socket peer, or, when the peer is one of conf's
 * trusted_proxies, the right-most hop of xff (xff_len bytes, every line
 * joined by ", ") that is not itself trusted (the left-most when all are
 * trusted). A hop is an address, "[v6]", "[v6]:port" or "v4:port". A
 * malformed hop where the walk stops makes the address unknown. conf may be
 * NULL (no proxy is trusted), xff NULL (absent). Returns 0 with *out filled
 * (an IPv4-mapped IPv6 address as IPv4), or -1 when unknown.
 */
int gw_client_addr(const gw_config_t *conf, const struct sockaddr *peer, const char *xff, size_t xff_len, sas_ip_t *out);

/* Writes ip as numeric text ("127.0.0.1", "2001:db8::1") into out (GW_CLIENT_ADDR_TEXT_MAX bytes). Returns the length. */
size_t gw_client_addr_format(const sas_ip_t *ip, char *out);

/*
 * The key under which limits and coalesced audit records count a client: an
 * IPv4 address whole, an IPv6 address by its /64 (one subscriber's network;
 * a client rotating addresses inside it stays one client). Never 0.
 */
uint64_t gw_client_key(const sas_ip_t *ip);
/* Writes a key as text: "192.0.2.1", or "2001:db8:1:2::/64". Returns the length. */
size_t gw_client_key_format(uint64_t key, char *out);

#endif
