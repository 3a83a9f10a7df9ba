/* ota_csv: RFC 4180 records, the quirks of ota_csv.h, and the bounds. Each case is an
 * input and either its records written as fields joined by '|' and records by ';', or
 * the start of the error message. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ota_csv.h"
#include "ota_test.h"

struct csv_case {
    const char *in;
    size_t in_len; /* 0: strlen(in) */
    const char *records;
    const char *error;
};

static const struct csv_case cases[] = {
    /* RFC 4180 §2 */
    { "aaa,bbb,ccc\r\nzzz,yyy,xxx\r\n", 0, "aaa|bbb|ccc;zzz|yyy|xxx", NULL },
    { "aaa,bbb,ccc\r\nzzz,yyy,xxx", 0, "aaa|bbb|ccc;zzz|yyy|xxx", NULL },
    { "\"aaa\",\"bbb\",\"ccc\"\r\n", 0, "aaa|bbb|ccc", NULL },
    { "\"aaa\",\"b\r\nbb\",\"ccc\"\r\nzzz,yyy,xxx\r\n", 0, "aaa|b\r\nbb|ccc;zzz|yyy|xxx", NULL },
    { "\"aaa\",\"b\"\"bb\",\"ccc\"\r\n", 0, "aaa|b\"bb|ccc", NULL },
    /* LF alone ends a record too; empty fields */
    { "id,model\nV1,\nV2,m\n", 0, "id|model;V1|;V2|m", NULL },
    { ",,\n", 0, "||", NULL },
    { "\"\",\"\"\n", 0, "|", NULL },
    /* a JSON object in a quoted field */
    { "id,attributes\nV1,\"{\"\"region\"\":\"\"eu\"\"}\"\n", 0, "id|attributes;V1|{\"region\":\"eu\"}",
      NULL },
    /* byte-order mark skipped; only at the start */
    { "\xEF\xBB\xBFid\nV1\n", 0, "id;V1", NULL },
    { "id\n\xEF\xBB\xBFV1\n", 0, "id;\xEF\xBB\xBFV1", NULL },
    { "\xEF\xBB" "a\n", 0, "\xEF\xBB" "a", NULL },
    /* an empty line in the middle is a record of one empty field; none at the end */
    { "a\n\nb\n", 0, "a;;b", NULL },
    { "", 0, "", NULL },
    { "\n", 0, "", NULL },
    /* errors, with their line */
    { "a,b\nc\"d\n", 0, NULL, "line 2: a quote inside a field" },
    { "a\n\"abc\"x\n", 0, NULL, "line 2: after a closing quote" },
    { "a\n\"ab\nc\n", 0, NULL, "line 2: a quoted field is not closed" },
    { "a\rb\n", 0, NULL, "line 1: a carriage return without a line feed" },
    { "a\nb\0c\n", 6, NULL, "line 2: a NUL byte" },
    { "\"a\nb\",x\"y\n", 0, NULL, "line 2: a quote inside a field" },
};

/* Reads @in to the end: the records as '|' and ';' joined text in @out, or the error. */
static int read_all(const char *in, size_t len, char *out, size_t outlen, char *err,
                    size_t errlen)
{
    FILE *f = fmemopen((void *)in, len, "r");
    struct ota_csv *csv;
    char **fields;
    size_t n, used = 0;
    int r;

    out[0] = '\0';
    if (len == 0)
        f = fopen("/dev/null", "r");
    if (!f)
        return -errno;
    csv = ota_csv_new(f);
    while (csv && (r = ota_csv_next(csv, &fields, &n, err, errlen)) == 1) {
        used += (size_t)snprintf(out + used, outlen - used, "%s", used ? ";" : "");
        for (size_t i = 0; i < n && used < outlen; i++)
            used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? "|" : "", fields[i]);
    }
    if (!csv)
        r = -ENOMEM;
    ota_csv_free(csv);
    fclose(f);
    return r;
}

static void test_table(void)
{
    char out[512], err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct csv_case *c = &cases[i];
        size_t len = c->in_len ? c->in_len : strlen(c->in);
        int r;

        err[0] = '\0';
        r = read_all(c->in, len, out, sizeof(out), err, sizeof(err));
        if (c->records) {
            if (r != 0 || strcmp(out, c->records) != 0) {
                fprintf(stderr, "case %zu: got r=%d \"%s\" (%s), want \"%s\"\n", i, r, out, err,
                        c->records);
                ota_test_failures++;
            }
        } else if (r != -EINVAL || strncmp(err, c->error, strlen(c->error)) != 0) {
            fprintf(stderr, "case %zu: got r=%d \"%s\", want error \"%s\"\n", i, r, err,
                    c->error);
            ota_test_failures++;
        }
    }
}

/* The bounds: 8192 bytes a field and 64 fields a record are fine, one more is not. */
static void test_bounds(void)
{
    static char in[70000];
    char out[256], err[256];
    size_t len;

    memset(in, 'x', OTA_CSV_FIELD_MAX);
    in[OTA_CSV_FIELD_MAX] = '\n';
    CHECK_INT(read_all(in, OTA_CSV_FIELD_MAX + 1, out, sizeof(out), err, sizeof(err)), 0);
    memset(in, 'x', OTA_CSV_FIELD_MAX + 1);
    in[OTA_CSV_FIELD_MAX + 1] = '\n';
    CHECK_INT(read_all(in, OTA_CSV_FIELD_MAX + 2, out, sizeof(out), err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "more than 8192 bytes") != NULL);
    /* quoted too */
    in[0] = '"';
    memset(in + 1, 'x', OTA_CSV_FIELD_MAX + 1);
    memcpy(in + OTA_CSV_FIELD_MAX + 2, "\"\n", 2);
    CHECK_INT(read_all(in, OTA_CSV_FIELD_MAX + 4, out, sizeof(out), err, sizeof(err)), -EINVAL);

    len = 0;
    for (int i = 0; i < OTA_CSV_FIELDS_MAX; i++)
        in[len++] = i ? ',' : 'a';
    in[len++] = '\n';
    CHECK_INT(read_all(in, len, out, sizeof(out), err, sizeof(err)), 0);
    len--;
    in[len++] = ',';
    in[len++] = '\n';
    CHECK_INT(read_all(in, len, out, sizeof(out), err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "line 1: more than 64 fields") != NULL);
}

/* Records longer than the reader's input buffer, and the line of each record. */
static void test_long_stream(void)
{
    static char in[300000];
    size_t len = 0;
    FILE *f;
    struct ota_csv *csv;
    char **fields, err[128];
    size_t n;
    int r, count = 0;

    len += (size_t)snprintf(in, sizeof(in), "id,attributes\n");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(in + len, sizeof(in) - len, "VIN%05d,\"{\"\"a\"\":\"\"%d\n\"\"}\"\n", i,
                                i);
    f = fmemopen(in, len, "r");
    CHECK(f != NULL);
    csv = ota_csv_new(f);
    CHECK_INT(ota_csv_next(csv, &fields, &n, err, sizeof(err)), 1);
    while ((r = ota_csv_next(csv, &fields, &n, err, sizeof(err))) == 1) {
        char want[32];

        snprintf(want, sizeof(want), "VIN%05d", count);
        CHECK_INT(n, 2);
        CHECK_STR(fields[0], want);
        /* each record spans two lines: the header is line 1 */
        CHECK_INT(ota_csv_line(csv), 2 + 2 * count);
        count++;
    }
    CHECK_INT(r, 0);
    CHECK_INT(count, 5000);
    ota_csv_free(csv);
    fclose(f);
}

int main(void)
{
    test_table();
    test_bounds();
    test_long_stream();
    return ota_test_failures ? 1 : 0;
}
