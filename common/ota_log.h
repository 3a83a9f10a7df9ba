/* Logging for program-level code only (modules return errors, they don't log): one line
 * on stderr, "ts level program: message". */
#pragma once

enum ota_log_level { OTA_LOG_DEBUG, OTA_LOG_INFO, OTA_LOG_WARN, OTA_LOG_ERR };

/* Sets the program name printed on each line and the lowest level printed. */
void ota_log_setup(const char *program, enum ota_log_level min_level);

void ota_log(enum ota_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ota_debug(...) ota_log(OTA_LOG_DEBUG, __VA_ARGS__)
#define ota_info(...)  ota_log(OTA_LOG_INFO, __VA_ARGS__)
#define ota_warn(...)  ota_log(OTA_LOG_WARN, __VA_ARGS__)
#define ota_err(...)   ota_log(OTA_LOG_ERR, __VA_ARGS__)
