/* Small helpers every program needs: bounded number parsing, id checks, hex, time. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTA_ID_MAX 64 /* client ids: [A-Za-z0-9._-]{1,64}, a VIN is one */

/* Parses the whole of @s as a decimal number <= @max (no sign, no spaces, no suffix).
 * Returns 0, -EINVAL (not a number) or -ERANGE (above @max). *ret written on success. */
int ota_parse_u64(const char *s, uint64_t max, uint64_t *ret);

/* Like ota_parse_u64() for @len bytes that need not be NUL-terminated. */
int ota_parse_u64n(const char *s, size_t len, uint64_t max, uint64_t *ret);

/* The whole of @s as "W" or "W.F" with W <= @max_whole and 1..@digits fraction digits,
 * scaled by 10^@digits ("12.5" with 2 digits: 1250). -EINVAL or -ERANGE otherwise. */
int ota_parse_decimal(const char *s, uint64_t max_whole, unsigned digits, uint64_t *ret);

/* True if @id is a valid vehicle/edge id ([A-Za-z0-9._-]{1,64}). */
bool ota_id_valid(const char *id);

/* True if @s is 1..@max bytes of printable text (no control characters, no commas, so it
 * can sit in a campaign's target): vehicle models, groups, campaign names, attribute
 * keys and values. */
bool ota_label_valid(const char *s, size_t max);
#define OTA_LABEL_MAX 128

/* The operating-system user running this process, as events name the actor of an
 * operator's action: the login name, with "(sudo)" when root acts for a user
 * ("alice (sudo)"). Writes into @buf; never fails ("uid 1234" without a name). */
const char *ota_actor(char *buf, size_t len);

/* True if @s is exactly 64 lowercase hex digits. */
bool ota_sha256_hex_valid(const char *s);

/* Writes 2*@n lowercase hex digits and a NUL to @out. */
void ota_hex(const uint8_t *in, size_t n, char *out);

/* Formats a message into @err (NULL or @errlen 0: nothing), for the "why" that modules
 * hand back beside their error code. */
void ota_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Opens @path with @flags (O_RDONLY, or O_RDONLY | O_DIRECTORY for a folder whose new
 * entries must survive a crash) and fsyncs it. Returns 0 or -errno. */
int ota_fsync_path(const char *path, int flags);

/* Seconds since the epoch (CLOCK_REALTIME). */
int64_t ota_now(void);

/* Milliseconds from CLOCK_MONOTONIC, for durations. */
int64_t ota_monotonic_ms(void);

/* Formats @t as RFC 3339 UTC ("2026-11-26T19:16:13Z") into @buf (>= 21 bytes). */
void ota_rfc3339(int64_t t, char *buf, size_t len);

/* Formats @t as an IMF-fixdate for HTTP ("Thu, 26 Nov 2026 19:16:13 GMT") into @buf
 * (>= 30 bytes). */
void ota_http_date(int64_t t, char *buf, size_t len);

/* Parses an IMF-fixdate (RFC 9110 §5.6.7). Returns 0 or -EINVAL. */
int ota_http_date_parse(const char *s, int64_t *ret);

#define OTA_POLL_AFTER_DEFAULT 300 /* seconds, [server] poll_after */

/* Reads a whole small file into @buf (NUL-terminated) and its length into *ret_len.
 * Returns 0, -EINVAL (a folder, or @cap bytes or more), -EIO or -errno of open(). */
int ota_read_small_file(const char *path, char *buf, size_t cap, size_t *ret_len);
