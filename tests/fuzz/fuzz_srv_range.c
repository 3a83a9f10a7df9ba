/* Fuzzes srv_range_decide() and srv_etag_list_match() with request headers as a client sends
 * them, one "Name: value" per line, and checks what a 206 promises: 1..SRV_RANGE_MAX parts
 * inside the representation, coalesced, never more bytes than it has, a multipart
 * Content-Length equal to the bytes the parts and trailer really take, and, for plain
 * Range headers, the ranges a naive second reading finds.
 * Pseudo-headers set what the server knows: "x-method: GET|HEAD|POST", "x-size: N",
 * "x-mtime: N" (seconds) and "x-part: minisig" (the signature's ETag and Content-Type). */
#include <inttypes.h>
#include <stdbool.h>
#include <strings.h>

#include "fuzz_util.h"
#include "ota_util.h"
#include "srv_range.h"

#define ETAG_BYTES   "\"8c3e5a4f0d2b7e91a6c4f3b2d1e0a9f8c7b6a5948372615f4e3d2c1b0a998877\""
#define ETAG_MINISIG "\"8c3e5a4f0d2b7e91a6c4f3b2d1e0a9f8c7b6a5948372615f4e3d2c1b0a998877.minisig\""
#define CT_BYTES     "application/octet-stream" /* srv_artifact.c's two content types */
#define CT_MINISIG   "text/plain; charset=utf-8"
#define MTIME        1700000000 /* Tue, 14 Nov 2023 22:13:20 GMT */
#define SIZE         300000

enum hdr { IF_MATCH, IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE, RANGE, IF_RANGE, NHDR };
static const char *const hdr_names[NHDR] = {
    [IF_MATCH] = "If-Match",
    [IF_NONE_MATCH] = "If-None-Match",
    [IF_MODIFIED_SINCE] = "If-Modified-Since",
    [IF_UNMODIFIED_SINCE] = "If-Unmodified-Since",
    [RANGE] = "Range",
    [IF_RANGE] = "If-Range",
};

struct request {
    char *hdr[NHDR]; /* exact-size copies, NULL when absent */
    bool is_get, is_head, minisig;
    unsigned max_parts; /* x-max-parts: [server] max_ranges */
    uint64_t size;
    int64_t mtime;
};

/* "Name: value" with the name compared case-insensitively, as libmicrohttpd looks headers
 * up; the first of repeated headers wins. */
static void take_line(struct request *rq, const uint8_t *line, size_t len)
{
    const uint8_t *colon = memchr(line, ':', len);
    size_t nlen, vlen;
    const uint8_t *v;
    uint64_t n;

    if (!colon)
        return;
    nlen = (size_t)(colon - line);
    v = colon + 1;
    vlen = len - nlen - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    if (vlen > 0 && v[vlen - 1] == '\r')
        vlen--;
    for (int i = 0; i < NHDR; i++) {
        if (strlen(hdr_names[i]) == nlen &&
            strncasecmp((const char *)line, hdr_names[i], nlen) == 0) {
            if (!rq->hdr[i])
                rq->hdr[i] = fuzz_cstr(v, vlen);
            return;
        }
    }
    if (nlen == 8 && strncasecmp((const char *)line, "x-method", 8) == 0) {
        rq->is_get = vlen == 3 && memcmp(v, "GET", 3) == 0;
        rq->is_head = vlen == 4 && memcmp(v, "HEAD", 4) == 0;
    } else if (nlen == 6 && strncasecmp((const char *)line, "x-size", 6) == 0) {
        if (ota_parse_u64n((const char *)v, vlen, UINT64_MAX, &n) == 0)
            rq->size = n;
    } else if (nlen == 7 && strncasecmp((const char *)line, "x-mtime", 7) == 0) {
        if (ota_parse_u64n((const char *)v, vlen, INT64_MAX, &n) == 0)
            rq->mtime = (int64_t)n;
    } else if (nlen == 11 && strncasecmp((const char *)line, "x-max-parts", 11) == 0) {
        if (ota_parse_u64n((const char *)v, vlen, 100000, &n) == 0)
            rq->max_parts = (unsigned)n;
    } else if (nlen == 6 && strncasecmp((const char *)line, "x-part", 6) == 0) {
        rq->minisig = vlen == 7 && memcmp(v, "minisig", 7) == 0;
    }
}

static int cmp_range(const void *a, const void *b)
{
    const struct srv_byterange *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* What srv_artifact.c sends for a multipart 206, byte for byte, against the length it
 * announces. */
static void check_multipart(const struct srv_range_decision *d, uint64_t size, const char *ctype)
{
    char buf[SRV_RANGE_HDR_MAX], want[SRV_RANGE_HDR_MAX];
    uint64_t total = 0;
    size_t n;

    for (unsigned i = 0; i < d->nranges; i++) {
        n = srv_range_part_header(d, i, size, ctype, buf, sizeof(buf));
        FUZZ_CHECK(n > 0 && n < sizeof(buf) && n == strlen(buf));
        snprintf(want, sizeof(want),
                 "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n\r\n",
                 d->ranges[i].first, d->ranges[i].last, size);
        FUZZ_CHECK(strncmp(buf, "\r\n--" SRV_RANGE_BOUNDARY "\r\n",
                           4 + strlen(SRV_RANGE_BOUNDARY) + 2) == 0);
        FUZZ_CHECK(n >= strlen(want) && strcmp(buf + n - strlen(want), want) == 0);
        total += n + (d->ranges[i].last - d->ranges[i].first + 1);
    }
    n = srv_range_trailer(buf, sizeof(buf));
    FUZZ_CHECK(n > 0 && strcmp(buf, "\r\n--" SRV_RANGE_BOUNDARY "--\r\n") == 0);
    total += n;
    FUZZ_CHECK(srv_range_multipart_length(d, size, ctype) == total);
}

/* A second, deliberately naive reading of Range for the plainest headers ("bytes=" then
 * comma-separated a-b, a- or -n, no blanks, numbers of at most 19 digits): the byte
 * ranges RFC 9110 §14.1.2 makes of them for @size. Returns how many, or -1 when the header
 * is not that plain (or says last < first), where the harness does not second-guess. */
static int naive_ranges(const char *h, uint64_t size, struct srv_byterange *r, int max)
{
    int n = 0;

    if (strncasecmp(h, "bytes=", 6) != 0)
        return -1;
    h += 6;
    while (*h) {
        uint64_t a = 0, b = UINT64_MAX;
        size_t la, lb;
        bool suffix = *h == '-';

        if (*h == ',') {
            h++;
            continue;
        }
        h += suffix;
        la = strspn(h, "0123456789");
        if (la == 0 || la > 19 || ota_parse_u64n(h, la, UINT64_MAX, &a) < 0)
            return -1;
        h += la;
        if (!suffix) {
            if (*h++ != '-')
                return -1;
            lb = strspn(h, "0123456789");
            if (lb > 19 || (lb && ota_parse_u64n(h, lb, UINT64_MAX, &b) < 0) || b < a)
                return -1;
            h += lb;
        }
        if (*h != ',' && *h != '\0')
            return -1;
        if (n == max)
            return -1;
        if (suffix && a > 0 && size > 0) {
            r[n].first = a >= size ? 0 : size - a;
            r[n++].last = size - 1;
        } else if (!suffix && a < size) {
            r[n].first = a;
            r[n++].last = b >= size ? size - 1 : b;
        }
    }
    return n;
}

/* For a plain Range: a 416 means nothing was satisfiable; a 206 covers every satisfiable
 * range, and each part starts where one of them starts and ends where one ends
 * (coalescing joins ranges, it never invents bytes at the edges). */
static void check_against_naive(const struct srv_range_input *in,
                                const struct srv_range_decision *d)
{
    struct srv_byterange want[SRV_RANGE_SPECS_MAX];
    int n;

    if ((d->status != 206 && d->status != 416) ||
        (n = naive_ranges(in->range, in->size, want, SRV_RANGE_SPECS_MAX)) < 0)
        return;
    if (d->status == 416) {
        FUZZ_CHECK(n == 0);
        return;
    }
    FUZZ_CHECK(n > 0);
    for (int i = 0; i < n; i++) {
        bool covered = false;

        for (unsigned j = 0; j < d->nranges && !covered; j++)
            covered = d->ranges[j].first <= want[i].first && want[i].last <= d->ranges[j].last;
        FUZZ_CHECK(covered);
    }
    for (unsigned j = 0; j < d->nranges; j++) {
        bool first = false, last = false;

        for (int i = 0; i < n; i++) {
            first |= want[i].first == d->ranges[j].first;
            last |= want[i].last == d->ranges[j].last;
        }
        FUZZ_CHECK(first && last);
    }
}

static void check_decision(const struct srv_range_input *in, const struct srv_range_decision *d,
                           const char *ctype)
{
    bool safe = in->is_get || in->is_head;

    switch (d->status) {
    case 200:
    case 304:
    case 412:
    case 416:
        FUZZ_CHECK(d->nranges == 0);
        break;
    case 206:
        break;
    default:
        FUZZ_CHECK(!"status outside 200/206/304/412/416");
    }
    /* Range applies to GET only (§14.2); 304 to safe methods (§13.1.2); 412 needs a
     * precondition that can fail. */
    if (d->status == 206 || d->status == 416)
        FUZZ_CHECK(in->is_get && in->range);
    if (d->status == 304)
        FUZZ_CHECK(safe && (in->if_none_match || in->if_modified_since));
    if (d->status == 412)
        FUZZ_CHECK(in->if_match || in->if_unmodified_since || in->if_none_match);
    if (d->status != 206)
        return;

    FUZZ_CHECK(d->nranges >= 1 && d->nranges <= SRV_RANGE_MAX);
    FUZZ_CHECK(d->nranges <= (in->max_parts ? in->max_parts : SRV_RANGE_PARTS_DEFAULT));
    if (d->nranges > 1) {
        /* the cost bound: never more than the file plus 1/8 (4 KiB for small ones) */
        uint64_t slack = in->size / 8 > SRV_RANGE_SLACK_MIN ? in->size / 8 : SRV_RANGE_SLACK_MIN;

        FUZZ_CHECK(srv_range_multipart_length(d, in->size, ctype) <= in->size + slack);
    }
    {
        struct srv_byterange r[SRV_RANGE_MAX];
        uint64_t bytes = 0;

        memcpy(r, d->ranges, d->nranges * sizeof(r[0]));
        /* The order of parts is the server's choice (DESIGN.md asks for request order):
         * check overlap and gaps on a sorted copy. */
        qsort(r, d->nranges, sizeof(r[0]), cmp_range);
        for (unsigned i = 0; i < d->nranges; i++) {
            FUZZ_CHECK(r[i].first <= r[i].last);
            FUZZ_CHECK(r[i].last < in->size);
            if (i > 0) /* coalesced: parts closer than a part header were merged */
                FUZZ_CHECK(r[i].first > r[i - 1].last &&
                           r[i].first - r[i - 1].last - 1 >= SRV_RANGE_GAP);
            bytes += r[i].last - r[i].first + 1;
        }
        FUZZ_CHECK(bytes <= in->size); /* never amplified */
    }
    if (d->nranges > 1)
        check_multipart(d, in->size, ctype);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct request rq = { .is_get = true, .size = SIZE, .mtime = MTIME };
    const uint8_t *p = data, *end = data + size, *line;
    struct srv_range_input in;
    struct srv_range_decision d, again;
    const char *etag, *ctype;
    size_t len;

    while ((line = fuzz_next_line(&p, end, 0, &len)))
        take_line(&rq, line, len);
    etag = rq.minisig ? ETAG_MINISIG : ETAG_BYTES;
    ctype = rq.minisig ? CT_MINISIG : CT_BYTES;
    in = (struct srv_range_input){
        .is_get = rq.is_get,
        .is_head = rq.is_head,
        .if_match = rq.hdr[IF_MATCH],
        .if_unmodified_since = rq.hdr[IF_UNMODIFIED_SINCE],
        .if_none_match = rq.hdr[IF_NONE_MATCH],
        .if_modified_since = rq.hdr[IF_MODIFIED_SINCE],
        .range = rq.hdr[RANGE],
        .if_range = rq.hdr[IF_RANGE],
        .size = rq.size,
        .etag = etag,
        .mtime = rq.mtime,
        .max_parts = rq.max_parts,
    };
    memset(&d, 0xa5, sizeof(d)); /* the decision must not depend on what was there */
    srv_range_decide(&in, &d);
    check_decision(&in, &d, ctype);
    check_against_naive(&in, &d);
    memset(&again, 0x5a, sizeof(again));
    srv_range_decide(&in, &again);
    FUZZ_CHECK(again.status == d.status && again.nranges == d.nranges &&
               memcmp(again.ranges, d.ranges, d.nranges * sizeof(d.ranges[0])) == 0);

    /* Every header value as an entity-tag list too, both comparisons. */
    for (int i = 0; i < NHDR; i++) {
        if (!rq.hdr[i])
            continue;
        bool strong = srv_etag_list_match(rq.hdr[i], etag, false);
        bool weak = srv_etag_list_match(rq.hdr[i], etag, true);
        FUZZ_CHECK(!strong || weak); /* a strong match is a weak one (§8.8.3.2) */
        free(rq.hdr[i]);
    }
    return 0;
}
