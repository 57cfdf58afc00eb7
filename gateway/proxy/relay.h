/*
 * relay.h - sasgw's streaming HTTP/1.1 proxy path on the `proxy:` listeners.
 *
 * Why it exists: h2o 2.2.5 (the version Debian ships) reads a request's whole
 * body before any handler runs, and its reverse proxy re-creates the upstream
 * socket (export/import, fcntl, epoll_ctl) on every reuse from its shared,
 * mutex-guarded pool. The relay keeps h2o's event loop, sockets, TLS, timers
 * and picohttpparser, and does the forwarding itself:
 *
 *   - every connection accepted on a proxy listener comes here first: TLS is
 *     handshaken with the listener's context; ALPN "h2" and the cleartext
 *     HTTP/2 preface (on listeners with http2) go to h2.c, which serves
 *     HTTP/2 with nghttp2 on the same socket and forwards each stream through
 *     the same upstream side (upstream.h); everything else is served here;
 *   - a request head is parsed (http1.h), decided (gw_upstream_decide(), the
 *     same decision as HTTP/2 streams) and refused with Azure's XML, or forwarded to the
 *     account's backend with the body streamed both ways under backpressure
 *     (one write in flight per direction; the reading side pauses meanwhile),
 *     so memory per connection is bounded by the sockets' buffers whatever the
 *     body's size;
 *   - upstream connections are kept alive in a pool per worker thread and
 *     backend, on the worker's loop (no locks, no re-registration), shared
 *     with the HTTP/2 streams (upstream.c);
 *   - Expect: 100-continue is answered after the decision, so a refused
 *     upload never sends its body; a refused request's body is read and
 *     dropped (up to 4 MiB) to keep the connection, or the connection closes
 *     after the response with a lingering read so the client sees the answer;
 *   - 502 (backend refused or broke) and 504 (backend silent beyond
 *     proxy.upstream_timeout) answer in Azure's XML; a bodyless request that
 *     fails on a reused pooled connection before any response byte is retried
 *     once on a fresh one.
 */
#ifndef SASGW_GATEWAY_RELAY_H
#define SASGW_GATEWAY_RELAY_H

#include "sasgw/core/app.h"
#include "proxy.h"
#include "sasgw/core/server.h"

/* Largest request body the relay forwards (bytes). Azure's largest single put is 5000 MiB. */
#define GW_RELAY_MAX_BODY ((uint64_t)1 << 40)

/*
 * Takes over the proxy listeners' connections (gw_server_set_acceptor()) for
 * the accounts of the app's keyring that have a backend. Called by
 * gw_proxy_setup(). Returns 0, or -1 after writing why into err.
 */
int gw_relay_setup(gw_server_t *server, gw_proxy_t *proxy, gw_app_t *app, char *err, size_t errlen);

#endif
