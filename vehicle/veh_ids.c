/* Fleet ids: numbered patterns and id files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_util.h"
#include "veh_ids.h"

static int put(char *buf, size_t len, size_t *pos, char c)
{
    if (*pos + 1 >= len)
        return -ENAMETOOLONG;
    buf[(*pos)++] = c;
    return 0;
}

int veh_ids_format(const char *pattern, uint64_t n, char *buf, size_t len)
{
    char digits[21];
    size_t pos = 0, nd = 0;
    int conversions = 0;
    int r;

    if (!pattern || len == 0)
        return -EINVAL;
    do
        digits[nd++] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    for (const char *p = pattern; *p; p++) {
        unsigned width = 0;
        char pad = ' ';

        if (*p != '%') {
            if ((r = put(buf, len, &pos, *p)) < 0)
                return r;
            continue;
        }
        p++;
        if (*p == '%') {
            if ((r = put(buf, len, &pos, '%')) < 0)
                return r;
            continue;
        }
        if (*p == '0') {
            pad = '0';
            p++;
        }
        while (*p >= '0' && *p <= '9') {
            width = width * 10 + (unsigned)(*p - '0');
            if (width > 20)
                return -EINVAL;
            p++;
        }
        if (*p != 'd' || ++conversions > 1)
            return -EINVAL;
        for (size_t i = nd; i < width; i++)
            if ((r = put(buf, len, &pos, pad)) < 0)
                return r;
        for (size_t i = nd; i > 0; i--)
            if ((r = put(buf, len, &pos, digits[i - 1])) < 0)
                return r;
    }
    buf[pos] = '\0';
    if (conversions != 1 || !ota_id_valid(buf))
        return -EINVAL;
    return 0;
}

void veh_ids_free(char **ids, size_t n)
{
    if (!ids)
        return;
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int veh_ids_load(const char *path, size_t max, char ***ret_ids, size_t *ret_n, size_t *ret_line)
{
    FILE *f = NULL;
    char **ids = NULL;
    size_t n = 0, line_no = 0;
    char line[256];
    int r;

    f = fopen(path, "re");
    if (!f) {
        r = errno == ENOENT || errno == EACCES ? -errno : -EIO;
        goto out;
    }
    ids = calloc(max ? max : 1, sizeof(*ids));
    if (!ids) {
        r = -ENOMEM;
        goto out;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = line, *e;

        line_no++;
        if (!strchr(line, '\n') && !feof(f)) {
            r = -EINVAL; /* a line longer than any id */
            *ret_line = line_no;
            goto out;
        }
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (*s == '\0' || *s == '#')
            continue;
        if (!ota_id_valid(s)) {
            r = -EINVAL;
            *ret_line = line_no;
            goto out;
        }
        if (n >= max) {
            r = -E2BIG;
            goto out;
        }
        ids[n] = strdup(s);
        if (!ids[n]) {
            r = -ENOMEM;
            goto out;
        }
        n++;
    }
    if (ferror(f)) {
        r = -EIO;
        goto out;
    }
    *ret_ids = ids;
    *ret_n = n;
    ids = NULL;
    r = 0;
out:
    veh_ids_free(ids, n);
    if (f)
        fclose(f);
    return r;
}
