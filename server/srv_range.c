/* Pure RFC 9110 conditional-request and Range decisions: no I/O, no allocation. */
#include "srv_range.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ota_util.h"

struct spec {
    bool suffix;    /* "-n" */
    uint64_t first; /* or the suffix length */
    uint64_t last;  /* UINT64_MAX when open ("a-") */
};

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* etagc = %x21 / %x23-7E / obs-text (§8.8.3) */
static bool is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

bool srv_etag_list_match(const char *header, const char *etag, bool weak)
{
    const char *h = skip_ows(header);
    size_t etag_len = strlen(etag);
    unsigned n = 0;

    if (*h == '*')
        return *skip_ows(h + 1) == '\0'; /* we always have a current representation */
    /* 1#entity-tag with OWS and empty list elements tolerated (§5.6.1.2) */
    while (*h && n++ < 1000) {
        bool is_weak = false;
        const char *tag, *end;

        if (*h == ',' || *h == ' ' || *h == '\t') {
            h++;
            continue;
        }
        if (h[0] == 'W' && h[1] == '/') {
            is_weak = true;
            h += 2;
        }
        if (*h != '"')
            return false;
        tag = h;
        end = h + 1;
        while (is_etagc((unsigned char)*end))
            end++;
        if (*end != '"')
            return false;
        end++;
        if ((weak || !is_weak) && (size_t)(end - tag) == etag_len && !memcmp(tag, etag, etag_len))
            return true;
        h = skip_ows(end);
        if (*h != ',' && *h != '\0')
            return false;
    }
    return false;
}

/* A single HTTP-date (a list of dates, or anything else, is invalid). */
static bool parse_date(const char *s, int64_t *ret)
{
    return ota_http_date_parse(skip_ows(s), ret) == 0;
}

/* If-Range (§13.1.5): an entity-tag compared strongly, or a date equal to Last-Modified. */
static bool if_range_true(const char *value, const char *etag, int64_t mtime)
{
    const char *v = skip_ows(value);
    int64_t date;

    if (*v == '"' || (v[0] == 'W' && v[1] == '/')) {
        size_t len = strlen(v);
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        return v[0] == '"' && len == strlen(etag) && !memcmp(v, etag, len);
    }
    if (!parse_date(v, &date))
        return false;
    return date == mtime;
}

static size_t digits_len(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

/* A number too large for uint64_t is still a valid number: it saturates, which makes a
 * first-pos unsatisfiable and a last-pos or suffix-length cover the whole representation. */
static uint64_t number(const char *s, size_t len)
{
    uint64_t v;
    if (ota_parse_u64n(s, len, UINT64_MAX, &v) < 0)
        return UINT64_MAX;
    return v;
}

/* ranges-specifier (§14.1.1). Returns the number of specs, 0 for malformed, or -1 when
 * there are more than SRV_RANGE_SPECS_MAX. */
static int parse_specs(const char *h, struct spec *specs)
{
    int n = 0;
    unsigned steps = 0;

    h = skip_ows(h);
    if (strncasecmp(h, "bytes=", 6) != 0)
        return 0; /* unknown range unit: ignored */
    h += 6;
    while (*h && steps++ < 4 * SRV_RANGE_SPECS_MAX) {
        struct spec sp = { 0 };
        size_t len;

        if (*h == ',' || *h == ' ' || *h == '\t') {
            h++;
            continue;
        }
        if (n == SRV_RANGE_SPECS_MAX)
            return -1;
        if (*h == '-') {
            h++;
            len = digits_len(h);
            if (len == 0)
                return 0;
            sp.suffix = true;
            sp.first = number(h, len);
            h += len;
        } else {
            len = digits_len(h);
            if (len == 0)
                return 0;
            sp.first = number(h, len);
            h += len;
            if (*h != '-')
                return 0;
            h++;
            len = digits_len(h);
            sp.last = len ? number(h, len) : UINT64_MAX;
            h += len;
            if (sp.last < sp.first)
                return 0; /* "invalid" range-spec: the whole field is ignored */
        }
        h = skip_ows(h);
        if (*h != ',' && *h != '\0')
            return 0;
        specs[n++] = sp;
    }
    if (*h)
        return -1; /* only reachable with absurd runs of commas */
    return n;
}

/* A satisfiable range and the position of its range-spec in the request. */
struct ordered {
    struct srv_byterange r;
    unsigned order;
};

static int cmp_first(const void *a, const void *b)
{
    const struct ordered *x = a, *y = b;
    return x->r.first < y->r.first ? -1 : x->r.first > y->r.first;
}

static int cmp_order(const void *a, const void *b)
{
    const struct ordered *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Evaluates Range for a GET whose preconditions passed: sets 200, 206 or 416. */
static void decide_range(const struct srv_range_input *in, struct srv_range_decision *d)
{
    struct spec specs[SRV_RANGE_SPECS_MAX];
    struct ordered r[SRV_RANGE_SPECS_MAX];
    int nspecs = parse_specs(in->range, specs);
    unsigned n = 0, out = 0;
    unsigned max_parts = in->max_parts ? in->max_parts : SRV_RANGE_PARTS_DEFAULT;
    uint64_t body = 0, slack;
    bool empty_ok = false;

    if (max_parts > SRV_RANGE_MAX)
        max_parts = SRV_RANGE_MAX;

    if (nspecs <= 0)
        return; /* malformed, unknown unit or too many: ignore Range (200) */
    for (int i = 0; i < nspecs; i++) {
        const struct spec *sp = &specs[i];
        if (sp->suffix) {
            if (sp->first == 0)
                continue; /* "-0" is unsatisfiable */
            if (in->size == 0) {
                empty_ok = true;
                continue;
            }
            r[n].r.first = sp->first >= in->size ? 0 : in->size - sp->first;
            r[n].r.last = in->size - 1;
        } else {
            if (sp->first >= in->size)
                continue;
            r[n].r.first = sp->first;
            r[n].r.last = sp->last >= in->size ? in->size - 1 : sp->last;
        }
        r[n].order = (unsigned)i;
        n++;
    }
    if (n == 0) {
        /* §14.1.1: on an empty representation only a suffix-range is satisfiable, and it
         * selects nothing: send the (empty) whole. */
        d->status = empty_ok ? 200 : 416;
        return;
    }
    /* §14.2 allows coalescing overlapping ranges and ones separated by less than the
     * overhead of a part, regardless of order; sorting by position makes that one pass
     * and guarantees the body never exceeds the representation plus part headers. A
     * merged part keeps the place of its earliest range-spec. */
    qsort(r, n, sizeof(r[0]), cmp_first);
    for (unsigned i = 1; i < n; i++) {
        if (r[i].r.first <= r[out].r.last || r[i].r.first - r[out].r.last - 1 < SRV_RANGE_GAP) {
            if (r[i].r.last > r[out].r.last)
                r[out].r.last = r[i].r.last;
            if (r[i].order < r[out].order)
                r[out].order = r[i].order;
        } else {
            r[++out] = r[i];
        }
    }
    n = out + 1;
    if (n > max_parts)
        return; /* too many distinct parts: refuse by sending the whole (200) */
    /* The body's cost: the selected bytes (at most the representation, coalesced) plus a
     * part header each (bounded by SRV_RANGE_HDR_MAX). Tiny parts spread over a small
     * file would otherwise make headers the bulk of the answer. */
    for (unsigned i = 0; i < n; i++)
        body += r[i].r.last - r[i].r.first + 1 + SRV_RANGE_HDR_MAX;
    slack = in->size / 8 > SRV_RANGE_SLACK_MIN ? in->size / 8 : SRV_RANGE_SLACK_MIN;
    if (n > 1 && body > in->size + slack)
        return;
    /* §14.6: parts in the order the client asked for them */
    qsort(r, n, sizeof(r[0]), cmp_order);
    d->status = 206;
    d->nranges = n;
    for (unsigned i = 0; i < n; i++)
        d->ranges[i] = r[i].r;
}

void srv_range_decide(const struct srv_range_input *in, struct srv_range_decision *ret)
{
    struct srv_range_decision d = { .status = 200 };
    bool safe = in->is_get || in->is_head;
    int64_t date;

    /* §13.2.2 step 1-2 */
    if (in->if_match) {
        if (!srv_etag_list_match(in->if_match, in->etag, false)) {
            d.status = 412;
            goto out;
        }
    } else if (in->if_unmodified_since && parse_date(in->if_unmodified_since, &date)) {
        if (in->mtime > date) {
            d.status = 412;
            goto out;
        }
    }
    /* step 3-4 */
    if (in->if_none_match) {
        if (srv_etag_list_match(in->if_none_match, in->etag, true)) {
            d.status = safe ? 304 : 412;
            goto out;
        }
    } else if (safe && in->if_modified_since && parse_date(in->if_modified_since, &date)) {
        if (in->mtime <= date) {
            d.status = 304;
            goto out;
        }
    }
    /* step 5-6: Range only for GET, and only while If-Range (if any) holds */
    if (!in->is_get || !in->range)
        goto out;
    if (in->if_range && !if_range_true(in->if_range, in->etag, in->mtime))
        goto out;
    decide_range(in, &d);
out:
    *ret = d;
}

size_t srv_range_part_header(const struct srv_range_decision *d, unsigned i, uint64_t size,
                             const char *content_type, char *buf, size_t len)
{
    int n = snprintf(buf, len,
                     "\r\n--" SRV_RANGE_BOUNDARY "\r\nContent-Type: %s\r\n"
                     "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n\r\n",
                     content_type, d->ranges[i].first, d->ranges[i].last, size);
    if (n < 0 || (size_t)n >= len)
        return 0;
    return (size_t)n;
}

size_t srv_range_trailer(char *buf, size_t len)
{
    int n = snprintf(buf, len, "\r\n--" SRV_RANGE_BOUNDARY "--\r\n");
    if (n < 0 || (size_t)n >= len)
        return 0;
    return (size_t)n;
}

uint64_t srv_range_multipart_length(const struct srv_range_decision *d, uint64_t size,
                                    const char *content_type)
{
    char buf[SRV_RANGE_HDR_MAX];
    uint64_t total = srv_range_trailer(buf, sizeof(buf));

    for (unsigned i = 0; i < d->nranges; i++) {
        total += srv_range_part_header(d, i, size, content_type, buf, sizeof(buf));
        total += d->ranges[i].last - d->ranges[i].first + 1;
    }
    return total;
}
