/* Program-level logging: one line per message on stderr, written with a single write()
 * so that lines from threads never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ota_log.h"
#include "ota_util.h"

static const char *log_program = "ota";
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
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}
