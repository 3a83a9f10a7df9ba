/* A reader of CSV as RFC 4180 defines it, one record at a time from a stream: fields
 * separated by commas, records by CRLF or LF, a field in double quotes may hold commas,
 * line breaks and "" (one quote). Bounded: a field of more than OTA_CSV_FIELD_MAX bytes
 * or a record of more than OTA_CSV_FIELDS_MAX fields is an error, so a hostile file costs
 * at most one record's worth of memory. Errors name the line (the first is 1).
 *
 * Quirks chosen where RFC 4180 is loose: a UTF-8 byte-order mark before the first field
 * is skipped (spreadsheets write one); an empty line is a record of one empty field
 * (the caller decides; ota-admin refuses it, except a last line break at the end of the
 * file, which ends the last record and starts none); a NUL byte is an error; a quote
 * inside an unquoted field, or anything but a comma or a line break after a closing
 * quote, is an error rather than kept. */
#pragma once
#include <stddef.h>
#include <stdio.h>

#define OTA_CSV_FIELD_MAX 8192
#define OTA_CSV_FIELDS_MAX 64

struct ota_csv;

/* A reader of @f (not closed by ota_csv_free). NULL on ENOMEM. */
struct ota_csv *ota_csv_new(FILE *f);
void ota_csv_free(struct ota_csv *csv);

/* The next record: *ret_fields an array of *ret_n NUL-terminated fields, valid until the
 * next call. Returns 1 for a record, 0 at the end of the stream, -EINVAL for malformed
 * input or a bound exceeded (@err says what, with the line), -EIO for a read error,
 * -ENOMEM. After an error the reader is done. */
int ota_csv_next(struct ota_csv *csv, char ***ret_fields, size_t *ret_n, char *err,
                 size_t errlen);

/* The line the last record returned started on. */
unsigned long ota_csv_line(const struct ota_csv *csv);
