/* ota_metrics: Prometheus text exposition (format 0.0.4) into an ota_buf, the one writer
 * behind ota-server's /metrics and ota-notifier's stats file. A family is its HELP and
 * TYPE lines, then its samples; label values are escaped as the format wants (\\, \" and
 * \n), so a campaign's name cannot break the page. Device-safe. */
#pragma once
#include <stdint.h>
#include "ota_buf.h"

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void ota_metrics_family(struct ota_buf *b, const char *name, const char *type, const char *help);

/* One sample, name{k="v",...} value: the labels as "key", "value" pairs ending in NULL. */
void ota_metrics_u64(struct ota_buf *b, const char *name, uint64_t v, ...)
    __attribute__((sentinel));
void ota_metrics_i64(struct ota_buf *b, const char *name, int64_t v, ...) __attribute__((sentinel));
/* %.6g-style for ratios and seconds; "+Inf" for infinity. */
void ota_metrics_f64(struct ota_buf *b, const char *name, double v, ...) __attribute__((sentinel));

/* A family of one unlabelled sample. */
void ota_metrics_one(struct ota_buf *b, const char *name, const char *type, const char *help,
                     uint64_t v);
