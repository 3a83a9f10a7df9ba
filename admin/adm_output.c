/* ota-admin output: aligned tables for people, one JSON object per run for scripts, and
 * the upload progress bar (stderr only, and only when it is a terminal). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ota_util.h"
#include "adm_ctx.h"
#include "adm_output.h"
#include "ota_campaign_json.h"

struct adm_table {
    size_t ncols;
    size_t nrows;
    size_t cap;
    char **cells; /* (nrows + 1) * ncols; row 0 holds the titles */
    size_t *width;
};

void adm_table_free(struct adm_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->width);
    free(t);
}

int adm_table_add(struct adm_table *t, const char *const *cells)
{
    size_t base;

    if (t->nrows + 1 >= t->cap) {
        size_t cap = t->cap * 2;
        char **n = realloc(t->cells, cap * t->ncols * sizeof(*n));

        if (!n)
            return -ENOMEM;
        t->cells = n;
        t->cap = cap;
    }
    base = (t->nrows + 1) * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        char *s = strdup(cells[c] ? cells[c] : "-");

        if (!s) {
            for (size_t k = 0; k < c; k++)
                free(t->cells[base + k]);
            return -ENOMEM;
        }
        t->cells[base + c] = s;
        if (strlen(s) > t->width[c])
            t->width[c] = strlen(s);
    }
    t->nrows++;
    return 0;
}

struct adm_table *adm_table_new(const char *const *headers, size_t ncols)
{
    struct adm_table *t = calloc(1, sizeof(*t));
    struct adm_table *ret = NULL;

    if (!t)
        return NULL;
    t->ncols = ncols;
    t->cap = 16;
    t->cells = calloc(t->cap * ncols, sizeof(*t->cells));
    t->width = calloc(ncols, sizeof(*t->width));
    if (!t->cells || !t->width)
        goto out;
    /* The titles are row "-1": add them as a row, then take the count back. */
    if (adm_table_add(t, headers) < 0)
        goto out;
    memmove(t->cells, t->cells + ncols, ncols * sizeof(*t->cells));
    t->nrows = 0;
    ret = t;
    t = NULL;
out:
    adm_table_free(t);
    return ret;
}

void adm_table_print(const struct adm_table *t, FILE *f)
{
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];

            if (c + 1 == t->ncols)
                fprintf(f, "%s\n", s);
            else
                fprintf(f, "%-*s  ", (int)t->width[c], s);
        }
    }
    if (t->nrows == 0)
        fputs("(none)\n", f);
}

int adm_json_print(const json_t *obj)
{
    if (json_dumpf(obj, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) < 0 || fputc('\n', stdout) == EOF)
        return -EIO;
    return 0;
}

json_t *adm_json_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *adm_json_time(int64_t t)
{
    return ota_json_time(t);
}

const char *adm_time(int64_t t, char *buf, size_t len)
{
    if (t == 0)
        snprintf(buf, len, "-");
    else
        ota_rfc3339(t, buf, len);
    return buf;
}

static void human_size(uint64_t n, char *buf, size_t len)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    size_t u = 0;

    while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

void adm_progress_cb(uint64_t done, uint64_t total, void *ctx)
{
    struct adm_progress *p = ctx;
    int64_t now = ota_monotonic_ms();
    char d[32], t[32];
    char bar[41];
    unsigned pct;

    if (p->drawn && now - p->last_ms < 100 && (total == 0 || done < total))
        return;
    p->last_ms = now;
    p->drawn = 1;
    human_size(done, d, sizeof(d));
    if (total == 0) {
        fprintf(stderr, "\ruploading %s", d);
        return;
    }
    human_size(total, t, sizeof(t));
    pct = done >= total ? 100 : (unsigned)(done * 100 / total);
    memset(bar, ' ', 40);
    memset(bar, '#', pct * 40 / 100);
    bar[40] = '\0';
    fprintf(stderr, "\r[%s] %3u%% %s / %s ", bar, pct, d, t);
}

void adm_progress_end(struct adm_progress *p)
{
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}

int adm_json_emit(json_t *obj)
{
    int r = obj ? adm_json_print(obj) : -ENOMEM;

    json_decref(obj);
    if (r < 0) {
        fprintf(stderr, "ota-admin: cannot write the JSON output: %s\n", strerror(-r));
        return ADM_EXIT_FAIL;
    }
    return ADM_EXIT_OK;
}
