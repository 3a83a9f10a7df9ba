/* Logging for program-level code only (modules return errors, they don't log): one line
 * on stderr, "ts level program: message". */
#pragma once
#include <stdbool.h>

enum ota_log_level { OTA_LOG_DEBUG, OTA_LOG_INFO, OTA_LOG_WARN, OTA_LOG_ERR };

/* Sets the program name printed on each line and the lowest level printed. */
void ota_log_setup(const char *program, enum ota_log_level min_level);

void ota_log(enum ota_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A live line under the log (ota-vehicle's progress on a terminal): drawn in place with
 * "\r\033[K" and no newline; a log line written meanwhile first erases it and draws it
 * again below itself, so progress and log lines never share a line. For one thread of a
 * program (the caller checks that stderr is a terminal). ota_log_status_end() leaves the
 * last text as a finished line (@keep) or erases it. */
void ota_log_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ota_log_status_end(bool keep);

#define ota_debug(...) ota_log(OTA_LOG_DEBUG, __VA_ARGS__)
#define ota_info(...)  ota_log(OTA_LOG_INFO, __VA_ARGS__)
#define ota_warn(...)  ota_log(OTA_LOG_WARN, __VA_ARGS__)
#define ota_err(...)   ota_log(OTA_LOG_ERR, __VA_ARGS__)
