/*
 * Every TLS context sasgw makes (moves to gateway/core/ in phase 2).
 *
 *   - gw_tls_listener_ctx(): a listener's server context (certificate chain,
 *     key, TLS 1.2 at least, ALPN h2 + http/1.1 or http/1.1 alone);
 *   - gw_tls_backend_ctx(): the client context towards https backends (the
 *     system's CAs or SSL_CERT_FILE, chain verification, and the backend's
 *     host name checked inside OpenSSL's verification).
 *
 * Each call returns a new context owned by the caller (SSL_CTX_free).
 */
#ifndef SASGW_GATEWAY_TLS_H
#define SASGW_GATEWAY_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "sasgw/core/config.h"

/*
 * A server context for listener l: its certificate chain and key (checked to
 * match), TLS 1.2 at least, no compression or renegotiation, and ALPN h2 and
 * http/1.1 when offer_h2, http/1.1 alone otherwise. Returns NULL with a
 * sentence in err (naming the file that failed) on error.
 */
SSL_CTX *gw_tls_listener_ctx(const gw_listen_config_t *l, int offer_h2, char *err, size_t errlen);

/*
 * A client context for https backends (the relay's, and h2o's reverse proxy
 * for HTTP/2): TLS 1.2 at least, the default verify paths (the system's CAs,
 * or SSL_CERT_FILE / SSL_CERT_DIR), the peer's chain verified, and the leaf
 * certificate required to name the host sent as SNI (an IP address or a DNS
 * name). Returns NULL with a sentence in err on error.
 */
SSL_CTX *gw_tls_backend_ctx(char *err, size_t errlen);

#endif
