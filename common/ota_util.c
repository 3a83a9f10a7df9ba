/* Small helpers every program needs: bounded number parsing, id checks, hex, time. */
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ota_util.h"

int ota_parse_u64n(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;

    if (!s || len == 0 || len > 20)
        return len > 20 && s && s[0] >= '0' && s[0] <= '9' ? -ERANGE : -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}

int ota_parse_decimal(const char *s, uint64_t max_whole, unsigned digits, uint64_t *ret)
{
    const char *dot = s ? strchr(s, '.') : NULL;
    uint64_t whole, frac = 0, scale = 1;
    size_t flen = 0;
    int r;

    if (!s || digits > 9)
        return -EINVAL;
    for (unsigned i = 0; i < digits; i++)
        scale *= 10;
    if ((r = ota_parse_u64n(s, dot ? (size_t)(dot - s) : strlen(s), max_whole, &whole)) < 0)
        return r;
    if (dot) {
        flen = strlen(dot + 1);
        if (flen == 0 || flen > digits || ota_parse_u64n(dot + 1, flen, scale - 1, &frac) < 0)
            return -EINVAL;
        for (size_t i = flen; i < digits; i++)
            frac *= 10;
    }
    *ret = whole * scale + frac;
    return 0;
}

int ota_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
    if (!s)
        return -EINVAL;
    return ota_parse_u64n(s, strlen(s), max, ret);
}

bool ota_id_valid(const char *id)
{
    size_t n = 0;

    if (!id)
        return false;
    for (; id[n]; n++) {
        char c = id[n];

        if (n >= OTA_ID_MAX)
            return false;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

bool ota_sha256_hex_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        if (n >= 64)
            return false;
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    }
    return n == 64;
}

void ota_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void ota_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int ota_fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    int r = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

/* The test clock (DESIGN.md "Rollouts": time is injectable so that no test sleeps through
 * a window): when OTA_TEST_CLOCK names a file, the seconds it holds (a signed integer,
 * read at every call; a missing or unreadable file counts 0) are added to the system
 * clock, in every program that reads the environment. Never set in production. */
static int64_t test_clock_offset(void)
{
    static const char *path;
    static bool looked;
    char buf[32];
    ssize_t n;
    int fd;

    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
        path = getenv("OTA_TEST_CLOCK");
        __atomic_store_n(&looked, true, __ATOMIC_RELEASE);
    }
    if (!path || !path[0])
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtoll(buf, NULL, 10);
}

int64_t ota_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec + test_clock_offset();
}

int64_t ota_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ota_rfc3339(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        if (len)
            buf[0] = '\0';
    }
}

void ota_http_date(int64_t t, char *buf, size_t len)
{
    /* Fixed English names: strftime's %a/%b follow the locale, HTTP dates must not. */
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm)) {
        if (len)
            buf[0] = '\0';
        return;
    }
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int parse_digits(const char *s, size_t n, int *ret)
{
    uint64_t v;

    if (ota_parse_u64n(s, n, 9999, &v) < 0)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

int ota_http_date_parse(const char *s, int64_t *ret)
{
    /* Only IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7); the obsolete
     * forms are rare enough that treating them as invalid (condition ignored) is safe. */
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm = { 0 };
    int v;

    if (!s || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
        return -EINVAL;
    if (parse_digits(s + 5, 2, &tm.tm_mday) < 0 || parse_digits(s + 12, 4, &v) < 0)
        return -EINVAL;
    tm.tm_year = v - 1900;
    tm.tm_mon = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, months + 3 * i, 3) == 0)
            tm.tm_mon = i;
    if (tm.tm_mon < 0 || parse_digits(s + 17, 2, &tm.tm_hour) < 0 ||
        parse_digits(s + 20, 2, &tm.tm_min) < 0 || parse_digits(s + 23, 2, &tm.tm_sec) < 0)
        return -EINVAL;
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -EINVAL;
    *ret = (int64_t)timegm(&tm);
    return 0;
}

bool ota_label_valid(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch == 0x7f || ch == ',')
            return false;
    }
    return true;
}

const char *ota_actor(char *buf, size_t len)
{
    uid_t uid = geteuid();
    const char *sudo = getenv("SUDO_USER");
    struct passwd pw, *res = NULL;
    char tmp[1024];

    /* sudo's own word for who asked, when it is a plain login name */
    if (uid == 0 && sudo && ota_id_valid(sudo)) {
        snprintf(buf, len, "%s (sudo)", sudo);
        return buf;
    }
    if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res && res->pw_name[0])
        snprintf(buf, len, "%s", res->pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
    return buf;
}

int ota_read_small_file(const char *path, char *buf, size_t cap, size_t *ret_len)
{
    size_t len = 0;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = errno == EISDIR ? -EINVAL : -EIO;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            r = -EINVAL;
            goto out;
        }
    }
    buf[len] = '\0';
    *ret_len = len;
out:
    close(fd);
    return r;
}
