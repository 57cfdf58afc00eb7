/*
 * sas_time.c - the time forms Azure accepts in st/se, and sv strings.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

sas_time_t sas_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (sas_time_t)ts.tv_sec * SAS_TIME_SECOND + ts.tv_nsec / 1000;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return 29;
    return dim[m - 1];
}

/* Parses YYYY-MM-DD at s (10 bytes). */
static int parse_date(const char *s, unsigned *y, unsigned *m, unsigned *d)
{
    if (digits(s, 4, y) != 0 || s[4] != '-' || digits(s + 5, 2, m) != 0 || s[7] != '-' || digits(s + 8, 2, d) != 0)
        return -1;
    if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

int sas__time_parse_round(const char *s, size_t len, int round_up, sas_time_t *out)
{
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, ticks = 0; /* ticks: 100 ns units, 7 digits */
    int64_t offset_min = 0;
    size_t i;

    if (len < 10 || parse_date(s, &y, &mo, &d) != 0)
        return -1;
    i = 10;
    if (i < len) {
        /* time: Thh:mm[:ss[.f{1,7}]] then Z or +hh:mm / -hh:mm */
        if (len < i + 6 || s[i] != 'T' || digits(s + i + 1, 2, &h) != 0 || s[i + 3] != ':' || digits(s + i + 4, 2, &mi) != 0)
            return -1;
        i += 6;
        if (i < len && s[i] == ':') {
            if (len < i + 3 || digits(s + i + 1, 2, &sec) != 0)
                return -1;
            i += 3;
            if (i < len && s[i] == '.') {
                size_t n = 0;
                i++;
                while (i + n < len && s[i + n] >= '0' && s[i + n] <= '9')
                    n++;
                if (n < 1 || n > 7)
                    return -1;
                digits(s + i, n, &ticks);
                for (size_t k = n; k < 7; k++)
                    ticks *= 10;
                i += n;
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        if (i >= len)
            return -1; /* a time needs its zone designator */
        if (s[i] == 'Z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            unsigned oh, om;
            if (len < i + 6 || digits(s + i + 1, 2, &oh) != 0 || s[i + 3] != ':' || digits(s + i + 4, 2, &om) != 0 || oh > 23 ||
                om > 59)
                return -1;
            offset_min = (int64_t)oh * 60 + om;
            if (s[i] == '-')
                offset_min = -offset_min;
            i += 6;
        } else {
            return -1;
        }
        if (i != len)
            return -1;
    }

    int64_t secs = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - offset_min * 60;
    sas_time_t t = secs * SAS_TIME_SECOND + ticks / 10;
    if (round_up && ticks % 10 != 0)
        t++;
    *out = t;
    return 0;
}

int sas_time_parse(const char *s, size_t len, sas_time_t *out)
{
    return sas__time_parse_round(s, len, 0, out);
}

size_t sas_time_format(sas_time_t t, char *out)
{
    int64_t secs = t / SAS_TIME_SECOND, y;
    if (t % SAS_TIME_SECOND < 0)
        secs--;
    int64_t days = secs / 86400, rem = secs % 86400;
    unsigned m, d;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    int n = snprintf(out, SAS_TIME_TEXT_MAX, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60));
    return n < 0 ? 0 : (size_t)n;
}

int sas__version_cmp(const char *a, size_t alen, const char *b)
{
    unsigned y, m, d;
    if (alen != 10 || parse_date(a, &y, &m, &d) != 0)
        return -2;
    int c = memcmp(a, b, 10);
    return c < 0 ? -1 : c > 0;
}
