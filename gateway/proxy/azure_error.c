/*
 * azure_error.c - Azure Storage's error dialect (azure_error.h): the XML
 * document of a refusal and the sentence of each error code.
 */
#include "azure_error.h"

#include <string.h>

static size_t xml_escape(char *out, size_t cap, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i != len; i++) {
        const char *rep = NULL;
        char one[2] = {s[i], '\0'};
        switch (s[i]) {
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '&':
            rep = "&amp;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        case '\n':
            rep = "\\n";
            break;
        default:
            if ((unsigned char)s[i] < 0x20)
                continue;
            rep = one;
        }
        size_t rl = strlen(rep);
        if (n + rl >= cap)
            break;
        memcpy(out + n, rep, rl);
        n += rl;
    }
    return n;
}

size_t gw_proxy_error_xml(char *buf, size_t cap, const char *code, const char *message, const char *detail, const char *sts,
                          size_t sts_len)
{
    size_t n = 0;
#define APPEND_LIT(s)                                                                                                              \
    do {                                                                                                                           \
        size_t l_ = strlen(s);                                                                                                     \
        if (n + l_ < cap) {                                                                                                        \
            memcpy(buf + n, s, l_);                                                                                                \
            n += l_;                                                                                                               \
        }                                                                                                                          \
    } while (0)
#define APPEND_ESC(s, l) (n += xml_escape(buf + n, cap - n, (s), (l)))
    if (cap == 0)
        return 0;
    APPEND_LIT("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>");
    APPEND_ESC(code, strlen(code));
    APPEND_LIT("</Code><Message>");
    APPEND_ESC(message, strlen(message));
    APPEND_LIT("</Message>");
    if (detail != NULL) {
        APPEND_LIT("<AuthenticationErrorDetail>");
        APPEND_ESC(detail, strlen(detail));
        if (sts != NULL && sts_len != 0) {
            APPEND_LIT(" String to sign used was: ");
            APPEND_ESC(sts, sts_len);
        }
        APPEND_LIT("</AuthenticationErrorDetail>");
    }
    APPEND_LIT("</Error>");
#undef APPEND_LIT
#undef APPEND_ESC
    buf[n] = '\0';
    return n;
}

/* Azure's sentence for a code. */
const char *gw_proxy_error_message(const char *code)
{
    if (strcmp(code, "AuthorizationPermissionMismatch") == 0)
        return "This request is not authorized to perform this operation using this permission.";
    if (strcmp(code, "AuthorizationProtocolMismatch") == 0)
        return "This request is not authorized to perform this operation using this protocol.";
    if (strcmp(code, "AuthorizationSourceIPMismatch") == 0)
        return "This request is not authorized to perform this operation using this source IP.";
    if (strcmp(code, "AuthorizationServiceMismatch") == 0)
        return "This request is not authorized to perform this operation using this service.";
    if (strcmp(code, "AuthorizationResourceTypeMismatch") == 0)
        return "This request is not authorized to perform this operation using this resource type.";
    if (strcmp(code, "ServerBusy") == 0)
        return "The server is currently unable to receive requests. Please retry your request.";
    if (strcmp(code, "ResourceNotFound") == 0)
        return "The specified resource does not exist.";
    if (strcmp(code, "InvalidUri") == 0)
        return "The requested URI does not represent any resource on the server.";
    if (strcmp(code, "InvalidQueryParameterValue") == 0)
        return "Value for one of the query parameters specified in the request URI is invalid.";
    if (strcmp(code, "UnsupportedHeader") == 0)
        return "One of the HTTP headers specified in the request is not supported.";
    if (strcmp(code, "InvalidHeaderValue") == 0)
        return "The value for one of the HTTP headers is not in the correct format.";
    if (strcmp(code, "CannotVerifyCopySource") == 0)
        return "This request is not authorized to perform this operation.";
    if (strcmp(code, "RequestBodyTooLarge") == 0)
        return "The request body is too large and exceeds the maximum permissible limit.";
    return "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including "
           "the signature.";
}
