/* The Prometheus text writer (ota_metrics.h). */
#include "ota_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* The help text is one line: a newline or backslash in it is escaped like a label's. */
static void escaped(struct ota_buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            ota_buf_puts(b, "\\\\");
        else if (*s == '\n')
            ota_buf_puts(b, "\\n");
        else if (*s == '"' && quote)
            ota_buf_puts(b, "\\\"");
        else
            ota_buf_putc(b, *s);
    }
}

void ota_metrics_family(struct ota_buf *b, const char *name, const char *type, const char *help)
{
    ota_buf_printf(b, "# HELP %s ", name);
    escaped(b, help, false);
    ota_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void labels(struct ota_buf *b, const char *name, va_list ap)
{
    const char *k;
    bool first = true;

    ota_buf_puts(b, name);
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);

        ota_buf_printf(b, "%s%s=\"", first ? "{" : ",", k);
        escaped(b, v ? v : "", true);
        ota_buf_putc(b, '"');
        first = false;
    }
    if (!first)
        ota_buf_putc(b, '}');
}

void ota_metrics_u64(struct ota_buf *b, const char *name, uint64_t v, ...)
{
    va_list ap;

    va_start(ap, v);
    labels(b, name, ap);
    va_end(ap);
    ota_buf_printf(b, " %" PRIu64 "\n", v);
}

void ota_metrics_i64(struct ota_buf *b, const char *name, int64_t v, ...)
{
    va_list ap;

    va_start(ap, v);
    labels(b, name, ap);
    va_end(ap);
    ota_buf_printf(b, " %" PRId64 "\n", v);
}

void ota_metrics_f64(struct ota_buf *b, const char *name, double v, ...)
{
    va_list ap;

    va_start(ap, v);
    labels(b, name, ap);
    va_end(ap);
    if (isinf(v))
        ota_buf_puts(b, v > 0 ? " +Inf\n" : " -Inf\n");
    else
        ota_buf_printf(b, " %.6f\n", v);
}

void ota_metrics_one(struct ota_buf *b, const char *name, const char *type, const char *help,
                     uint64_t v)
{
    ota_metrics_family(b, name, type, help);
    ota_metrics_u64(b, name, v, NULL);
}
