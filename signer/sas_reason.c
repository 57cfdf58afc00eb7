/*
 * sas_reason.c - the refusal vocabulary: reason names, their Azure error
 * codes, message formatting, and the small name tables (fields, methods).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const struct {
    const char *name;
    const char *azure;
} reasons[SAS_R__COUNT] = {
    [SAS_OK] = {"ok", NULL},
    [SAS_R_QUERY_TOO_LONG] = {"query_too_long", "AuthenticationFailed"},
    [SAS_R_VALUE_TOO_LONG] = {"value_too_long", "AuthenticationFailed"},
    [SAS_R_MALFORMED_QUERY] = {"malformed_query", "AuthenticationFailed"},
    [SAS_R_DUPLICATE_PARAM] = {"duplicate_param", "AuthenticationFailed"},
    [SAS_R_NONCANONICAL_PARAM] = {"noncanonical_param", "InvalidQueryParameterValue"},
    [SAS_R_MISSING_PARAM] = {"missing_param", "AuthenticationFailed"},
    [SAS_R_BAD_SIGNATURE] = {"bad_signature", "AuthenticationFailed"},
    [SAS_R_USER_DELEGATION] = {"user_delegation_unsupported", "AuthenticationFailed"},
    [SAS_R_INVALID_PARAM] = {"invalid_param", "AuthenticationFailed"},
    [SAS_R_INVALID_PERMISSIONS] = {"invalid_permissions", "AuthenticationFailed"},
    [SAS_R_BAD_PATH] = {"bad_path", "AuthenticationFailed"},
    [SAS_R_RESOURCE_MISMATCH] = {"resource_mismatch", "AuthenticationFailed"},
    [SAS_R_UNSUPPORTED_VERSION] = {"unsupported_version", "AuthenticationFailed"},
    [SAS_R_BAD_TIME] = {"bad_time", "AuthenticationFailed"},
    [SAS_R_MISSING_EXPIRY] = {"missing_expiry", "AuthenticationFailed"},
    [SAS_R_NOT_YET_VALID] = {"not_yet_valid", "AuthenticationFailed"},
    [SAS_R_EXPIRED] = {"expired", "AuthenticationFailed"},
    [SAS_R_NO_KEY] = {"no_key", "AuthenticationFailed"},
    [SAS_R_SIGNATURE_MISMATCH] = {"signature_mismatch", "AuthenticationFailed"},
    [SAS_R_POLICY_NOT_FOUND] = {"policy_not_found", "AuthenticationFailed"},
    [SAS_R_NO_PERMISSIONS] = {"no_permissions", "AuthorizationPermissionMismatch"},
    [SAS_R_PROTOCOL_MISMATCH] = {"protocol_mismatch", "AuthorizationProtocolMismatch"},
    [SAS_R_IP_MISMATCH] = {"ip_mismatch", "AuthorizationSourceIPMismatch"},
    [SAS_R_OPERATION_NOT_ALLOWED] = {"operation_not_allowed", "AuthorizationPermissionMismatch"},
    [SAS_R_PERMISSION_MISMATCH] = {"permission_mismatch", "AuthorizationPermissionMismatch"},
    [SAS_R_SERVICE_MISMATCH] = {"service_mismatch", "AuthorizationServiceMismatch"},
    [SAS_R_RESOURCE_TYPE_MISMATCH] = {"resource_type_mismatch", "AuthorizationResourceTypeMismatch"},
    [SAS_R_REVOKED] = {"revoked", "AuthenticationFailed"},
    [SAS_R_INVALID_ARGUMENT] = {"invalid_argument", "AuthenticationFailed"},
    [SAS_R_BUFFER_TOO_SMALL] = {"buffer_too_small", "AuthenticationFailed"},
};

const char *sas_reason_name(sas_reason_t reason)
{
    if ((unsigned)reason >= SAS_R__COUNT)
        return "unknown";
    return reasons[reason].name;
}

const char *sas_reason_azure_code(sas_reason_t reason)
{
    if ((unsigned)reason >= SAS_R__COUNT)
        return "AuthenticationFailed";
    return reasons[reason].azure;
}

sas_reason_t sas__fail(sas_error_t *err, sas_reason_t reason, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->reason = reason;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return reason;
}

const char *sas__quote(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = (c >= 0x20 && c < 0x7f && c != '%') ? 1 : 3;
        if (o + need + 4 > cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

static const struct {
    const char *name;
    size_t max;
} fields[SAS_F__COUNT] = {
    [SAS_F_SV] = {"sv", 10},
    [SAS_F_SS] = {"ss", 8},
    [SAS_F_SRT] = {"srt", 8},
    [SAS_F_SPR] = {"spr", 16},
    [SAS_F_ST] = {"st", 40},
    [SAS_F_SE] = {"se", 40},
    [SAS_F_SIP] = {"sip", 100},
    [SAS_F_SI] = {"si", 64},
    [SAS_F_SES] = {"ses", 64},
    [SAS_F_SR] = {"sr", 4},
    [SAS_F_SP] = {"sp", 32},
    [SAS_F_RSCC] = {"rscc", 512},
    [SAS_F_RSCD] = {"rscd", 512},
    [SAS_F_RSCE] = {"rsce", 512},
    [SAS_F_RSCL] = {"rscl", 512},
    [SAS_F_RSCT] = {"rsct", 512},
    [SAS_F_SIG] = {"sig", 64},
    [SAS_F_COMP] = {"comp", 32},
    [SAS_F_RESTYPE] = {"restype", 32},
    [SAS_F_SNAPSHOT] = {"snapshot", 40},
    [SAS_F_VERSIONID] = {"versionid", 40},
    [SAS_F_DELETETYPE] = {"deletetype", 32},
};

const char *sas_field_name(sas_field_t field)
{
    if ((unsigned)field >= SAS_F__COUNT)
        return "?";
    return fields[field].name;
}

size_t sas__field_max(sas_field_t field)
{
    return fields[field].max;
}

const char *sas__sr_name(sas_sr_t sr)
{
    switch (sr) {
    case SAS_SR_BLOB:
        return "b";
    case SAS_SR_SNAPSHOT:
        return "bs";
    case SAS_SR_VERSION:
        return "bv";
    case SAS_SR_CONTAINER:
        return "c";
    default:
        return "";
    }
}

sas_method_t sas_method_parse(const char *s, size_t len)
{
    static const struct {
        const char *name;
        sas_method_t method;
    } methods[] = {{"GET", SAS_METHOD_GET}, {"HEAD", SAS_METHOD_HEAD}, {"PUT", SAS_METHOD_PUT}, {"DELETE", SAS_METHOD_DELETE},
                 {"POST", SAS_METHOD_POST}};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strlen(methods[i].name) == len && memcmp(methods[i].name, s, len) == 0)
            return methods[i].method;
    return SAS_METHOD_OTHER;
}

const char *sas_method_name(sas_method_t method)
{
    switch (method) {
    case SAS_METHOD_GET:
        return "GET";
    case SAS_METHOD_HEAD:
        return "HEAD";
    case SAS_METHOD_PUT:
        return "PUT";
    case SAS_METHOD_DELETE:
        return "DELETE";
    case SAS_METHOD_POST:
        return "POST";
    default:
        return "OTHER";
    }
}
