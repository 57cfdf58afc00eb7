/*
 * vault_util.c - the small things every file of vault/ uses: error sentences,
 * the clock, times in ISO 8601, and the validation of names and letters.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

vault_err_t vault__fail(char *err, size_t errlen, vault_err_t code, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return code;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

const char *vault_err_name(vault_err_t e)
{
    switch (e) {
    case VAULT_OK:
        return "ok";
#define VAULT__ERR_NAME(code, value, name, text)                                                                                   \
    case VAULT_##code:                                                                                                             \
        return name;
        VAULT_ERR_MAP(VAULT__ERR_NAME)
#undef VAULT__ERR_NAME
    }
    return "unknown";
}

const char *vault_strerror(vault_err_t e)
{
    switch (e) {
    case VAULT_OK:
        return "success";
#define VAULT__ERR_TEXT(code, value, name, text)                                                                                   \
    case VAULT_##code:                                                                                                             \
        return text;
        VAULT_ERR_MAP(VAULT__ERR_TEXT)
#undef VAULT__ERR_TEXT
    }
    return "unknown vault error";
}

int64_t vault__now(void)
{
    return (int64_t)time(NULL);
}

const char *vault_default_path(void)
{
    const char *env = getenv("SASGW_VAULT");
    return env != NULL && *env != '\0' ? env : "var/vault.db";
}

int vault_parse_slot(const char *s)
{
    if (s == NULL)
        return 0;
    if (strcmp(s, "key1") == 0)
        return 1;
    if (strcmp(s, "key2") == 0)
        return 2;
    if (strcmp(s, "edge1") == 0)
        return 3;
    if (strcmp(s, "edge2") == 0)
        return 4;
    return 0;
}

const char *vault_slot_name(int slot)
{
    static const char *const names[] = {"", "key1", "key2", "edge1", "edge2"};
    return slot >= 1 && slot <= VAULT_NUM_SLOTS ? names[slot] : "";
}

vault_key_family_t vault_slot_family(int slot)
{
    return slot == VAULT_SLOT_EDGE1 || slot == VAULT_SLOT_EDGE2 ? VAULT_KEYS_EDGE : VAULT_KEYS_STORAGE;
}

int vault_valid_account_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > 24)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
            return 0;
    return 1;
}

int vault_valid_secret_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > VAULT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

int vault_valid_container_name(const char *name)
{
    size_t n = strlen(name);
    if (strcmp(name, "$root") == 0 || strcmp(name, "$logs") == 0 || strcmp(name, "$web") == 0)
        return 1;
    if (n < 3 || n > 63 || name[0] == '-' || name[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
        if (c == '-' && name[i + 1] == '-')
            return 0;
    }
    return 1;
}

int vault_valid_permissions(const char *perms)
{
    sas_letters_t r = sas_letters_check(sas_perm_valid(SAS_KIND_SERVICE, SAS_SR_CONTAINER), perms, strlen(perms), NULL, NULL);
    return r == SAS_LETTERS_OK || r == SAS_LETTERS_EMPTY;
}

int vault_valid_policy_id(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > VAULT_POLICY_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (id[i] < 0x21 || id[i] > 0x7e)
            return 0;
    return 1;
}

/* Reads exactly n digits. */
static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

int vault_time_parse(const char *s, int64_t *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, sec = 0, offset = 0;
    struct tm tm;
    if (digits(&s, 4, &y) != 0 || *s++ != '-' || digits(&s, 2, &mo) != 0 || *s++ != '-' || digits(&s, 2, &d) != 0)
        return -1;
    if (*s == 'T') {
        s++;
        if (digits(&s, 2, &h) != 0 || *s++ != ':' || digits(&s, 2, &mi) != 0)
            return -1;
        if (*s == ':') {
            s++;
            if (digits(&s, 2, &sec) != 0)
                return -1;
            if (*s == '.') {
                s++;
                if (*s < '0' || *s > '9')
                    return -1;
                while (*s >= '0' && *s <= '9')
                    s++;
            }
        }
        if (*s == 'Z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om;
            if (digits(&s, 2, &oh) != 0 || *s++ != ':' || digits(&s, 2, &om) != 0 || oh > 23 || om > 59)
                return -1;
            offset = sign * (oh * 3600 + om * 60);
        } else {
            return -1;
        }
    }
    if (*s != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    int64_t t = (int64_t)timegm(&tm) - offset;
    if (t < 0)
        return -1;
    *out = t;
    return 0;
}

void vault_time_format(int64_t t, char *buf, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "%lld", (long long)t);
}
