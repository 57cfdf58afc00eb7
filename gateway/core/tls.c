/*
 * Every TLS context sasgw makes: listeners (server side) and https backends
 * (client side). See tls.h.
 */
#include "sasgw/core/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <h2o.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Writes "cannot <what> '<path>': <OpenSSL's or errno's reason>" into err and clears OpenSSL's error queue. */
static void ssl_error(char *err, size_t errlen, const char *what, const char *path)
{
    char detail[256];
    unsigned long e = ERR_peek_last_error();
    ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    snprintf(err, errlen, "cannot %s '%s': %s", what, path,
             e != 0 ? ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) : detail : strerror(errno));
}

SSL_CTX *gw_tls_listener_ctx(const gw_listen_config_t *l, int offer_h2, char *err, size_t errlen)
{
    static const h2o_iovec_t http1_only[] = {{H2O_STRLIT("http/1.1")}, {NULL}};
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, l->tls_certificate) != 1) {
        ssl_error(err, errlen, "load the TLS certificate", l->tls_certificate);
        goto Error;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, l->tls_key, SSL_FILETYPE_PEM) != 1) {
        ssl_error(err, errlen, "load the TLS key", l->tls_key);
        goto Error;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "the TLS key '%s' does not match the certificate '%s'", l->tls_key, l->tls_certificate);
        goto Error;
    }
    h2o_ssl_register_alpn_protocols(ctx, offer_h2 ? h2o_alpn_protocols : http1_only);
    return ctx;
Error:
    SSL_CTX_free(ctx);
    return NULL;
}

/*
 * The backend's certificate must name the host sasgw connected to. h2o 2.2.5
 * checks the name after its client handshake, but skips the check when the
 * handshake ends with bytes still to flush (every TLS 1.3 handshake: the
 * client's Finished), so the check is done here, inside OpenSSL's chain
 * verification, against the name h2o sent as SNI (the backend URL's host),
 * with OpenSSL's own matchers.
 */
static int verify_backend_name(int preverify_ok, X509_STORE_CTX *store)
{
    if (!preverify_ok || X509_STORE_CTX_get_error_depth(store) != 0)
        return preverify_ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    const char *name = ssl != NULL ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(store);
    if (name != NULL && cert != NULL && (X509_check_ip_asc(cert, name, 0) == 1 || X509_check_host(cert, name, 0, 0, NULL) == 1))
        return 1;
    X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
    return 0;
}

SSL_CTX *gw_tls_backend_ctx(char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 || SSL_CTX_set_default_verify_paths(ctx) != 1) {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        snprintf(err, errlen, "cannot set up TLS towards https backends");
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_backend_name);
    return ctx;
}
