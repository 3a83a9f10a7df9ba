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

/* name{labels} value: the three typed writers below format the value, this the rest */
static void sample(struct ota_buf *b, const char *name, const char *value, va_list ap)
{
    labels(b, name, ap);
    ota_buf_printf(b, " %s\n", value);
}

void ota_metrics_u64(struct ota_buf *b, const char *name, uint64_t v, ...)
{
    char value[24];
    va_list ap;

    snprintf(value, sizeof(value), "%" PRIu64, v);
    va_start(ap, v);
    sample(b, name, value, ap);
    va_end(ap);
}

void ota_metrics_i64(struct ota_buf *b, const char *name, int64_t v, ...)
{
    char value[24];
    va_list ap;

    snprintf(value, sizeof(value), "%" PRId64, v);
    va_start(ap, v);
    sample(b, name, value, ap);
    va_end(ap);
}

void ota_metrics_f64(struct ota_buf *b, const char *name, double v, ...)
{
    char value[48];
    va_list ap;

    if (isinf(v))
        snprintf(value, sizeof(value), "%s", v > 0 ? "+Inf" : "-Inf");
    else
        snprintf(value, sizeof(value), "%.6f", v);
    va_start(ap, v);
    sample(b, name, value, ap);
    va_end(ap);
}

void ota_metrics_one(struct ota_buf *b, const char *name, const char *type, const char *help,
                     uint64_t v)
{
    ota_metrics_family(b, name, type, help);
    ota_metrics_u64(b, name, v, NULL);
}
