/* CSV records from a stream: see ota_csv.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ota_csv.h"
#include "ota_util.h"

#define IN_MAX 65536

struct ota_csv {
    FILE *f;
    unsigned char in[IN_MAX];
    size_t in_pos, in_len;
    bool eof, failed, started;
    unsigned long line;        /* line of the next byte */
    unsigned long record_line; /* line the last record started on */

    char *buf; /* the record's fields, each NUL-terminated, back to back */
    size_t len, cap;
    size_t starts[OTA_CSV_FIELDS_MAX];
    char *fields[OTA_CSV_FIELDS_MAX];
};

struct ota_csv *ota_csv_new(FILE *f)
{
    struct ota_csv *csv = calloc(1, sizeof(*csv));

    if (!csv)
        return NULL;
    csv->f = f;
    csv->line = 1;
    return csv;
}

void ota_csv_free(struct ota_csv *csv)
{
    if (!csv)
        return;
    free(csv->buf);
    free(csv);
}

unsigned long ota_csv_line(const struct ota_csv *csv)
{
    return csv->record_line;
}

/* Makes at least @want bytes readable unless the stream ends first. <0 on a read error. */
static int fill(struct ota_csv *csv, size_t want)
{
    if (csv->in_len - csv->in_pos >= want || csv->eof)
        return 0;
    memmove(csv->in, csv->in + csv->in_pos, csv->in_len - csv->in_pos);
    csv->in_len -= csv->in_pos;
    csv->in_pos = 0;
    while (csv->in_len < want && !csv->eof) {
        size_t n = fread(csv->in + csv->in_len, 1, IN_MAX - csv->in_len, csv->f);

        csv->in_len += n;
        if (n == 0) {
            if (ferror(csv->f))
                return -EIO;
            csv->eof = true;
        }
    }
    return 0;
}

/* The byte @k ahead (0: the next), or -1 at the end. */
static int peek(struct ota_csv *csv, size_t k, int *r)
{
    if ((*r = fill(csv, k + 1)) < 0)
        return -1;
    return csv->in_pos + k < csv->in_len ? csv->in[csv->in_pos + k] : -1;
}

static void skip(struct ota_csv *csv, size_t n)
{
    csv->in_pos += n;
}

static int add_byte(struct ota_csv *csv, char c)
{
    if (csv->len == csv->cap) {
        size_t cap = csv->cap ? csv->cap * 2 : 256;
        char *p = realloc(csv->buf, cap);

        if (!p)
            return -ENOMEM;
        csv->buf = p;
        csv->cap = cap;
    }
    csv->buf[csv->len++] = c;
    return 0;
}

static int fail(struct ota_csv *csv, int r, char *err, size_t errlen, const char *what,
                unsigned long line)
{
    csv->failed = true;
    if (r == -EINVAL)
        ota_errf(err, errlen, "line %lu: %s", line, what);
    else if (r == -EIO)
        ota_errf(err, errlen, "line %lu: read error", line);
    else
        ota_errf(err, errlen, "line %lu: %s", line, strerror(-r));
    return r;
}

/* A line break at the reader: CRLF or LF, consumed. 1 if there was one, 0 if not, -EINVAL
 * for a CR without LF. */
static int line_break(struct ota_csv *csv, int c, int *r)
{
    if (c == '\n') {
        skip(csv, 1);
        csv->line++;
        return 1;
    }
    if (c != '\r')
        return 0;
    if (peek(csv, 1, r) != '\n')
        return *r < 0 ? *r : -EINVAL;
    skip(csv, 2);
    csv->line++;
    return 1;
}

int ota_csv_next(struct ota_csv *csv, char ***ret_fields, size_t *ret_n, char *err,
                 size_t errlen)
{
    size_t n = 0, field_len;
    unsigned long quote_line;
    int c, r = 0, lb;
    bool quoted, done = false;

    if (csv->failed)
        return fail(csv, -EINVAL, err, errlen, "the reader stopped at an earlier error",
                    csv->line);
    if (!csv->started) {
        csv->started = true;
        if (peek(csv, 0, &r) == 0xEF && peek(csv, 1, &r) == 0xBB && peek(csv, 2, &r) == 0xBF)
            skip(csv, 3);
        if (r < 0)
            return fail(csv, r, err, errlen, "", csv->line);
    }
    csv->record_line = csv->line;
    if (peek(csv, 0, &r) < 0)
        return r < 0 ? fail(csv, r, err, errlen, "", csv->line) : 0;
    csv->len = 0;
    while (!done) {
        if (n == OTA_CSV_FIELDS_MAX)
            return fail(csv, -EINVAL, err, errlen, "more than 64 fields", csv->record_line);
        csv->starts[n] = csv->len;
        field_len = 0;
        c = peek(csv, 0, &r);
        quoted = c == '"';
        quote_line = csv->line;
        if (quoted)
            skip(csv, 1);
        for (;;) {
            c = peek(csv, 0, &r);
            if (r < 0)
                return fail(csv, r, err, errlen, "", csv->line);
            if (c == 0)
                return fail(csv, -EINVAL, err, errlen, "a NUL byte", csv->line);
            if (quoted) {
                if (c < 0)
                    return fail(csv, -EINVAL, err, errlen,
                                "a quoted field is not closed before the end of the file",
                                quote_line);
                if (c == '"') {
                    if (peek(csv, 1, &r) == '"') {
                        skip(csv, 2);
                    } else {
                        skip(csv, 1);
                        c = peek(csv, 0, &r);
                        if (c == ',') {
                            skip(csv, 1);
                        } else if (c < 0 && r == 0) {
                            done = true;
                        } else if ((lb = line_break(csv, c, &r)) == 1) {
                            done = true;
                        } else {
                            return fail(csv, lb < 0 && r < 0 ? r : -EINVAL, err, errlen,
                                        "after a closing quote comes a comma or a line "
                                        "break", csv->line);
                        }
                        break;
                    }
                } else {
                    if (c == '\n')
                        csv->line++;
                    skip(csv, 1);
                }
            } else {
                if (c < 0) {
                    done = true;
                    break;
                }
                if (c == ',') {
                    skip(csv, 1);
                    break;
                }
                if ((lb = line_break(csv, c, &r)) == 1) {
                    done = true;
                    break;
                }
                if (lb < 0)
                    return fail(csv, r < 0 ? r : -EINVAL, err, errlen,
                                "a carriage return without a line feed", csv->line);
                if (c == '"')
                    return fail(csv, -EINVAL, err, errlen,
                                "a quote inside a field that does not start with one",
                                csv->line);
                skip(csv, 1);
            }
            if (++field_len > OTA_CSV_FIELD_MAX)
                return fail(csv, -EINVAL, err, errlen, "a field of more than 8192 bytes",
                            csv->line);
            if ((r = add_byte(csv, (char)c)) < 0)
                return fail(csv, r, err, errlen, "", csv->line);
        }
        if ((r = add_byte(csv, '\0')) < 0)
            return fail(csv, r, err, errlen, "", csv->line);
        n++;
    }
    for (size_t i = 0; i < n; i++)
        csv->fields[i] = csv->buf + csv->starts[i];
    *ret_fields = csv->fields;
    *ret_n = n;
    return 1;
}
