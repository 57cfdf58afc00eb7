/*
 * azure_error.h - Azure Storage's error dialect, for the proxy's refusals:
 * the XML document and the sentence of each error code. Pure.
 */
#ifndef SASGW_PROXY_AZURE_ERROR_H
#define SASGW_PROXY_AZURE_ERROR_H

#include <stddef.h>

/*
 * Renders Azure's error document for a refusal into buf:
 * <?xml version="1.0" encoding="utf-8"?><Error><Code>code</Code><Message>...</Message>
 * <AuthenticationErrorDetail>detail</AuthenticationErrorDetail></Error>, XML-escaped.
 * Returns the length (truncated to fit cap - 1).
 */
size_t gw_proxy_error_xml(char *buf, size_t cap, const char *code, const char *message, const char *detail, const char *sts,
                          size_t sts_len);

/* Azure's sentence for an error code ("AuthorizationPermissionMismatch" -> "This request is not authorized ..."). */
const char *gw_proxy_error_message(const char *code);

#endif
