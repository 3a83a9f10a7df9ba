/* Program-level logging: one line per message on stderr, written with a single write()
 * so that lines from threads never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ota_log.h"
#include "ota_util.h"

#define ERASE "\r\033[K" /* to the line's start, erase it */

static const char *log_program = "ota";
/* the live line shown now (ota_log_status), "" when none */
static char status_text[256];
static size_t status_len;
static enum ota_log_level log_min = OTA_LOG_INFO;

void ota_log_setup(const char *program, enum ota_log_level min_level)
{
    log_program = program;
    log_min = min_level;
}

void ota_log(enum ota_log_level level, const char *fmt, ...)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    char line[2048], ts[32];
    va_list ap;
    int n, m;

    if (level < log_min)
        return;
    ota_rfc3339(ota_now(), ts, sizeof(ts));
    n = snprintf(line, sizeof(line), "%s %s %s: ", ts, names[level], log_program);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += (size_t)m < sizeof(line) - (size_t)n - 1 ? m : (int)(sizeof(line) - (size_t)n - 2);
    line[n++] = '\n';
    if (status_len) {
        /* erase the live line, the log line, the live line again: one write() */
        char both[sizeof(ERASE) + sizeof(line) + sizeof(status_text)];
        size_t k = 0;

        memcpy(both, ERASE, sizeof(ERASE) - 1);
        k += sizeof(ERASE) - 1;
        memcpy(both + k, line, (size_t)n);
        k += (size_t)n;
        memcpy(both + k, status_text, status_len);
        k += status_len;
        if (write(STDERR_FILENO, both, k) < 0)
            return;
        return;
    }
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

void ota_log_status(const char *fmt, ...)
{
    char out[sizeof(ERASE) + sizeof(status_text)];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(status_text, sizeof(status_text), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    status_len = (size_t)n < sizeof(status_text) ? (size_t)n : sizeof(status_text) - 1;
    for (size_t i = 0; i < status_len; i++) /* one line: no control bytes */
        if ((unsigned char)status_text[i] < 0x20)
            status_text[i] = ' ';
    memcpy(out, ERASE, sizeof(ERASE) - 1);
    memcpy(out + sizeof(ERASE) - 1, status_text, status_len);
    if (write(STDERR_FILENO, out, sizeof(ERASE) - 1 + status_len) < 0)
        return;
}

void ota_log_status_end(bool keep)
{
    if (!status_len)
        return;
    status_len = 0;
    if (write(STDERR_FILENO, keep ? "\n" : ERASE, keep ? 1 : sizeof(ERASE) - 1) < 0)
        return;
}
