/* Table-driven tests of srv_range: RFC 9110 preconditions, Range parsing, coalescing, multipart length. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_range.h"

#define ETAG  "\"abc\""
#define MTIME 1700000000
#define DATE  "Tue, 14 Nov 2023 22:13:20 GMT" /* == MTIME */
#define DATE_BEFORE "Tue, 14 Nov 2023 22:13:19 GMT"
#define DATE_AFTER  "Tue, 14 Nov 2023 22:13:21 GMT"

enum { GET, HEAD, POST };

struct tcase {
    const char *name;
    int method;
    const char *range, *if_range, *if_match, *if_none_match, *ims, *ius;
    uint64_t size; /* 0 means 10000 unless .empty */
    int empty;
    unsigned status;
    const char *ranges; /* expected "a-b,c-d" for 206 */
};

static const struct tcase cases[] = {
    /* plain */
    { "no headers", GET, .status = 200 },
    { "head no headers", HEAD, .status = 200 },
    /* single ranges, three forms */
    { "first-last", GET, "bytes=0-499", .status = 206, .ranges = "0-499" },
    { "first-", GET, "bytes=9500-", .status = 206, .ranges = "9500-9999" },
    { "suffix", GET, "bytes=-500", .status = 206, .ranges = "9500-9999" },
    { "suffix larger than size", GET, "bytes=-20000", .status = 206, .ranges = "0-9999" },
    { "last beyond size clipped", GET, "bytes=9000-20000", .status = 206, .ranges = "9000-9999" },
    { "whole as range", GET, "bytes=0-", .status = 206, .ranges = "0-9999" },
    { "single byte", GET, "bytes=5-5", .status = 206, .ranges = "5-5" },
    { "last byte", GET, "bytes=9999-9999", .status = 206, .ranges = "9999-9999" },
    { "unit case-insensitive", GET, "Bytes=0-0", .status = 206, .ranges = "0-0" },
    { "ows around commas", GET, "bytes=0-0 ,\t 100-199", .status = 206, .ranges = "0-0,100-199" },
    { "huge last-pos", GET, "bytes=10-99999999999999999999999", .status = 206,
      .ranges = "10-9999" },
    /* unsatisfiable */
    { "first beyond size", GET, "bytes=10000-", .status = 416 },
    { "first beyond size closed", GET, "bytes=20000-30000", .status = 416 },
    { "suffix zero", GET, "bytes=-0", .status = 416 },
    { "huge first-pos", GET, "bytes=99999999999999999999999-", .status = 416 },
    { "all unsatisfiable list", GET, "bytes=10000-,-0", .status = 416 },
    { "some unsatisfiable dropped", GET, "bytes=10000-,0-9", .status = 206, .ranges = "0-9" },
    /* malformed: ignored */
    { "malformed unit", GET, "items=0-1", .status = 200 },
    { "malformed no equals", GET, "bytes 0-1", .status = 200 },
    { "malformed empty set", GET, "bytes=", .status = 200 },
    { "malformed last<first", GET, "bytes=500-400", .status = 200 },
    { "malformed letters", GET, "bytes=a-b", .status = 200 },
    { "malformed double dash", GET, "bytes=--5", .status = 200 },
    { "malformed negative", GET, "bytes=-5-6", .status = 200 },
    { "malformed one bad in list", GET, "bytes=0-1,x", .status = 200 },
    { "malformed plus sign", GET, "bytes=+1-2", .status = 200 },
    { "malformed bare dash", GET, "bytes=-", .status = 200 },
    /* multiple ranges */
    { "two ranges", GET, "bytes=0-99,200-299", .status = 206, .ranges = "0-99,200-299" },
    { "three with suffix", GET, "bytes=0-0,5000-5099,-1", .status = 206,
      .ranges = "0-0,5000-5099,9999-9999" },
    { "overlapping coalesced", GET, "bytes=0-500,400-900", .status = 206, .ranges = "0-900" },
    { "adjacent coalesced", GET, "bytes=0-99,100-199", .status = 206, .ranges = "0-199" },
    { "small gap coalesced", GET, "bytes=0-99,150-199", .status = 206, .ranges = "0-199" },
    { "gap of 80 kept", GET, "bytes=0-99,180-199", .status = 206, .ranges = "0-99,180-199" },
    /* RFC 9110 §14.6: parts in the order requested; a coalesced part where its first
     * range-spec was */
    { "request order kept", GET, "bytes=500-599,0-99", .status = 206, .ranges = "500-599,0-99" },
    { "three in request order", GET, "bytes=9000-9099,-1,0-0", .status = 206,
      .ranges = "9000-9099,9999-9999,0-0" },
    { "coalesced at its first spec", GET, "bytes=5000-5099,0-99,4950-5010,50-60", .status = 206,
      .ranges = "4950-5099,0-99" },
    { "later spec joins earlier part", GET, "bytes=0-9,5000-5009,20-29", .status = 206,
      .ranges = "0-29,5000-5009" },
    { "duplicate ranges", GET, "bytes=0-9,0-9,0-9", .status = 206, .ranges = "0-9" },
    { "many overlapping all", GET, "bytes=0-,0-,0-,0-,0-,0-,0-,0-", .status = 206,
      .ranges = "0-9999" },
    { "16 parts ok", GET,
      "bytes=0-0,200-200,400-400,600-600,800-800,1000-1000,1200-1200,1400-1400,1600-1600,"
      "1800-1800,2000-2000,2200-2200,2400-2400,2600-2600,2800-2800,3000-3000",
      .status = 206,
      .ranges = "0-0,200-200,400-400,600-600,800-800,1000-1000,1200-1200,1400-1400,1600-1600,"
                "1800-1800,2000-2000,2200-2200,2400-2400,2600-2600,2800-2800,3000-3000" },
    { "17 parts served (the limit is 200)", GET,
      "bytes=0-0,200-200,400-400,600-600,800-800,1000-1000,1200-1200,1400-1400,1600-1600,"
      "1800-1800,2000-2000,2200-2200,2400-2400,2600-2600,2800-2800,3000-3000,3200-3200",
      .status = 206,
      .ranges = "0-0,200-200,400-400,600-600,800-800,1000-1000,1200-1200,1400-1400,1600-1600,"
                "1800-1800,2000-2000,2200-2200,2400-2400,2600-2600,2800-2800,3000-3000,"
                "3200-3200" },
    { "many tiny adjacent coalesced", GET,
      "bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15,16-16,"
      "17-17,18-18,19-19,20-20",
      .status = 206, .ranges = "0-20" },
    /* Range ignored where §14.2 says so */
    { "head ignores range", HEAD, "bytes=0-1", .status = 200 },
    { "post ignores range", POST, "bytes=0-1", .status = 200 },
    /* If-Range */
    { "if-range etag match", GET, "bytes=0-1", ETAG, .status = 206, .ranges = "0-1" },
    { "if-range stale etag", GET, "bytes=0-1", "\"old\"", .status = 200 },
    { "if-range weak etag never", GET, "bytes=0-1", "W/\"abc\"", .status = 200 },
    { "if-range date match", GET, "bytes=0-1", DATE, .status = 206, .ranges = "0-1" },
    { "if-range date older", GET, "bytes=0-1", DATE_BEFORE, .status = 200 },
    { "if-range date newer", GET, "bytes=0-1", DATE_AFTER, .status = 200 },
    { "if-range garbage", GET, "bytes=0-1", "yesterday", .status = 200 },
    { "if-range list is not one etag", GET, "bytes=0-1", "\"abc\", \"x\"", .status = 200 },
    { "if-range without range", GET, NULL, ETAG, .status = 200 },
    { "if-range stale and unsatisfiable", GET, "bytes=20000-", "\"old\"", .status = 200 },
    /* If-Match */
    { "if-match ok", GET, .if_match = ETAG, .status = 200 },
    { "if-match star", GET, .if_match = "*", .status = 200 },
    { "if-match list", GET, .if_match = "\"x\", \"abc\"", .status = 200 },
    { "if-match other", GET, .if_match = "\"x\"", .status = 412 },
    { "if-match weak never", GET, .if_match = "W/\"abc\"", .status = 412 },
    { "if-match malformed", GET, .if_match = "abc", .status = 412 },
    { "if-match then range", GET, "bytes=0-1", .if_match = ETAG, .status = 206, .ranges = "0-1" },
    { "if-match fails before range", GET, "bytes=20000-", .if_match = "\"x\"", .status = 412 },
    { "if-match overrides ius", GET, .if_match = ETAG, .ius = DATE_BEFORE, .status = 200 },
    /* If-Unmodified-Since */
    { "ius equal ok", GET, .ius = DATE, .status = 200 },
    { "ius older 412", GET, .ius = DATE_BEFORE, .status = 412 },
    { "ius invalid ignored", GET, .ius = "not a date", .status = 200 },
    /* If-None-Match */
    { "inm match 304", GET, .if_none_match = ETAG, .status = 304 },
    { "inm weak match 304", GET, .if_none_match = "W/\"abc\"", .status = 304 },
    { "inm star 304", GET, .if_none_match = "*", .status = 304 },
    { "inm list 304", GET, .if_none_match = "\"a\",\"b\", W/\"abc\"", .status = 304 },
    { "inm head 304", HEAD, .if_none_match = ETAG, .status = 304 },
    { "inm post 412", POST, .if_none_match = ETAG, .status = 412 },
    { "inm other 200", GET, .if_none_match = "\"zzz\"", .status = 200 },
    { "inm other then range", GET, "bytes=0-1", .if_none_match = "\"zzz\"", .status = 206,
      .ranges = "0-1" },
    { "inm beats range", GET, "bytes=0-1", .if_none_match = ETAG, .status = 304 },
    { "inm no-match skips ims", GET, .if_none_match = "\"zzz\"", .ims = DATE, .status = 200 },
    { "inm beats ims", GET, .if_none_match = "\"zzz\"", .ims = DATE_AFTER, .status = 200 },
    /* If-Modified-Since */
    { "ims equal 304", GET, .ims = DATE, .status = 304 },
    { "ims newer 304", GET, .ims = DATE_AFTER, .status = 304 },
    { "ims older 200", GET, .ims = DATE_BEFORE, .status = 200 },
    { "ims invalid ignored", GET, .ims = "Tue, 14 Nov 2023", .status = 200 },
    { "ims post ignored", POST, .ims = DATE, .status = 200 },
    { "ims head 304", HEAD, .ims = DATE, .status = 304 },
    /* order: If-Match before If-None-Match */
    { "if-match fail beats inm", GET, .if_match = "\"x\"", .if_none_match = ETAG, .status = 412 },
    { "if-match ok then inm 304", GET, .if_match = ETAG, .if_none_match = ETAG, .status = 304 },
    { "ius fail beats ims", GET, .ius = DATE_BEFORE, .ims = DATE, .status = 412 },
    /* empty representation */
    { "empty int-range 416", GET, "bytes=0-0", .empty = 1, .status = 416 },
    { "empty suffix 200", GET, "bytes=-5", .empty = 1, .status = 200 },
    { "empty no range", GET, .empty = 1, .status = 200 },
};

/* A Range field of @n parts of @len bytes, @step apart from @start: the shape of
 * SWUpdate's zchunk delta handler (ascending chunks, up to max-ranges = 150 per request). */
static const char *many_ranges(unsigned n, uint64_t start, uint64_t len, uint64_t step)
{
    static char buf[64 * (SRV_RANGE_SPECS_MAX + 8)];
    size_t off = (size_t)snprintf(buf, sizeof(buf), "bytes=");

    for (unsigned i = 0; i < n && off < sizeof(buf); i++) {
        uint64_t a = start + i * step;
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%" PRIu64 "-%" PRIu64,
                                i ? "," : "", a, a + len - 1);
    }
    return buf;
}

/* Many-part requests: real clients are served, the ones that cost more than the file
 * are not (the whole body instead, 200). */
static int test_many_parts(void)
{
    static const struct {
        const char *name;
        unsigned n;
        uint64_t start, len, step, size;
        unsigned max_parts;
        unsigned status, nranges;
    } t[] = {
        /* SWUpdate 2022.12's default max-ranges: 150 zchunk chunks of a 32 MiB image */
        { "swupdate 150 chunks", 150, 4096, 16384, 200000, 32u << 20, 0, 206, 150 },
        { "swupdate 150 small chunks", 150, 0, 700, 50000, 32u << 20, 0, 206, 150 },
        /* max-ranges = "1": one chunk per request */
        { "swupdate one chunk", 1, 1 << 20, 16384, 0, 32u << 20, 0, 206, 1 },
        { "200 parts: the default limit", 200, 0, 100, 10000, 4u << 20, 0, 206, 200 },
        { "201 parts: over it", 201, 0, 100, 10000, 4u << 20, 0, 200, 0 },
        { "150 parts, max_ranges 100", 150, 0, 100, 10000, 4u << 20, 100, 200, 0 },
        { "256 parts, max_ranges 256", 256, 0, 100, 10000, 4u << 20, 256, 206, 256 },
        { "max_ranges above the cap", 257, 0, 100, 10000, 4u << 20, 1000, 200, 0 },
        /* amplification: headers would outweigh a small file */
        { "100 one-byte parts of 10000 bytes", 100, 0, 1, 99, 10000, 0, 200, 0 },
        { "40 one-byte parts of 10000 bytes", 40, 0, 1, 200, 10000, 0, 206, 40 },
        { "200 one-byte parts of 20 KiB", 200, 0, 1, 100, 20480, 0, 200, 0 },
        /* adjacent tiny ranges coalesce into one part: cheap, served */
        { "500 adjacent bytes", 500, 0, 1, 1, 10000, 0, 206, 1 },
    };
    int fails = 0;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct srv_range_input in = { .is_get = true,
                                      .range = many_ranges(t[i].n, t[i].start, t[i].len,
                                                           t[i].step),
                                      .size = t[i].size,
                                      .etag = ETAG,
                                      .mtime = MTIME,
                                      .max_parts = t[i].max_parts };
        struct srv_range_decision d;

        srv_range_decide(&in, &d);
        if (d.status != t[i].status || d.nranges != t[i].nranges) {
            fprintf(stderr, "FAIL %s: expected %u with %u parts, got %u with %u\n", t[i].name,
                    t[i].status, t[i].nranges, d.status, d.nranges);
            fails++;
            continue;
        }
        if (d.status == 206 && d.nranges > 1) {
            uint64_t body = srv_range_multipart_length(&d, in.size, "application/octet-stream");
            uint64_t slack = in.size / 8 > SRV_RANGE_SLACK_MIN ? in.size / 8 : SRV_RANGE_SLACK_MIN;

            if (body > in.size + slack) {
                fprintf(stderr, "FAIL %s: multipart body %" PRIu64 " exceeds %" PRIu64 "\n",
                        t[i].name, body, in.size + slack);
                fails++;
            }
        }
    }
    return fails;
}

/* The boundary has no upper-case letter: SWUpdate before 2025.05 lower-cases the
 * Content-Type line and then searches the body for the boundary as it read it. */
static int test_boundary_case(void)
{
    for (const char *p = SRV_RANGE_BOUNDARY; *p; p++)
        if (*p >= 'A' && *p <= 'Z') {
            fprintf(stderr, "FAIL boundary %s has upper case\n", SRV_RANGE_BOUNDARY);
            return 1;
        }
    return 0;
}

static void fmt_ranges(const struct srv_range_decision *d, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < d->nranges && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%" PRIu64 "-%" PRIu64, i ? "," : "",
                                d->ranges[i].first, d->ranges[i].last);
}

static int test_etag_lists(void)
{
    static const struct {
        const char *h;
        int weak, want;
    } t[] = {
        { "\"abc\"", 0, 1 },       { "\"abc\"", 1, 1 },      { "W/\"abc\"", 0, 0 },
        { "W/\"abc\"", 1, 1 },     { " \"abc\" ", 0, 1 },    { "\"ab\"", 0, 0 },
        { "\"abcd\"", 0, 0 },      { ",, \"abc\"", 0, 1 },   { "\"x\" \"abc\"", 0, 0 },
        { "*", 0, 1 },             { "* ", 1, 1 },           { "*,\"x\"", 0, 0 },
        { "\"abc", 0, 0 },         { "", 0, 0 },             { "abc", 1, 0 },
        { "\"a\"b\",\"abc\"", 0, 0 },
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int got = srv_etag_list_match(t[i].h, ETAG, t[i].weak);
        if (got != t[i].want) {
            fprintf(stderr, "FAIL etag list [%s] weak=%d: expected %d got %d\n", t[i].h,
                    t[i].weak, t[i].want, got);
            fails++;
        }
    }
    return fails;
}

static int test_multipart_length(void)
{
    struct srv_range_decision d = { .status = 206, .nranges = 3,
                                    .ranges = { { 0, 0 }, { 100, 199 }, { 9000, 9999 } } };
    char buf[SRV_RANGE_HDR_MAX];
    uint64_t sum = 0;
    const char *ct = "application/octet-stream";
    int fails = 0;

    for (unsigned i = 0; i < d.nranges; i++) {
        size_t n = srv_range_part_header(&d, i, 10000, ct, buf, sizeof(buf));
        if (n == 0 || strstr(buf, "Content-Range: bytes ") == NULL) {
            fprintf(stderr, "FAIL part header %u: [%s]\n", i, buf);
            fails++;
        }
        sum += n + d.ranges[i].last - d.ranges[i].first + 1;
    }
    sum += srv_range_trailer(buf, sizeof(buf));
    if (strcmp(buf, "\r\n--" SRV_RANGE_BOUNDARY "--\r\n") != 0) {
        fprintf(stderr, "FAIL trailer [%s]\n", buf);
        fails++;
    }
    if (sum != srv_range_multipart_length(&d, 10000, ct)) {
        fprintf(stderr, "FAIL multipart length: expected %" PRIu64 " got %" PRIu64 "\n", sum,
                srv_range_multipart_length(&d, 10000, ct));
        fails++;
    }
    srv_range_part_header(&d, 1, 10000, ct, buf, sizeof(buf));
    if (strcmp(buf, "\r\n--" SRV_RANGE_BOUNDARY "\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Range: bytes 100-199/10000\r\n\r\n") != 0) {
        fprintf(stderr, "FAIL part header text [%s]\n", buf);
        fails++;
    }
    return fails;
}

int main(void)
{
    int fails = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct tcase *c = &cases[i];
        struct srv_range_input in = {
            .is_get = c->method == GET,
            .is_head = c->method == HEAD,
            .if_match = c->if_match,
            .if_unmodified_since = c->ius,
            .if_none_match = c->if_none_match,
            .if_modified_since = c->ims,
            .range = c->range,
            .if_range = c->if_range,
            .size = c->empty ? 0 : (c->size ? c->size : 10000),
            .etag = ETAG,
            .mtime = MTIME,
        };
        struct srv_range_decision d;
        char got[2048];

        memset(&d, 0xa5, sizeof(d));
        srv_range_decide(&in, &d);
        fmt_ranges(&d, got, sizeof(got));
        if (d.status != c->status) {
            fprintf(stderr, "FAIL %s: status expected %u got %u\n", c->name, c->status, d.status);
            fails++;
        } else if (d.status == 206 && strcmp(got, c->ranges) != 0) {
            fprintf(stderr, "FAIL %s: ranges expected %s got %s\n", c->name, c->ranges, got);
            fails++;
        } else if (d.status != 206 && d.nranges != 0) {
            fprintf(stderr, "FAIL %s: nranges %u on status %u\n", c->name, d.nranges, d.status);
            fails++;
        }
    }
    /* More range-specs than SRV_RANGE_SPECS_MAX: ignored (200), never slow. */
    {
        static char big[16 * (SRV_RANGE_SPECS_MAX + 10)];
        size_t off = (size_t)snprintf(big, sizeof(big), "bytes=0-0");
        for (int i = 1; i <= SRV_RANGE_SPECS_MAX + 5; i++)
            off += (size_t)snprintf(big + off, sizeof(big) - off, ",%d-%d", i * 90, i * 90);
        struct srv_range_input in = { .is_get = true, .range = big, .size = 100000,
                                      .etag = ETAG, .mtime = MTIME };
        struct srv_range_decision d;
        srv_range_decide(&in, &d);
        if (d.status != 200) {
            fprintf(stderr, "FAIL too many specs: expected 200 got %u\n", d.status);
            fails++;
        }
    }
    fails += test_many_parts();
    fails += test_boundary_case();
    fails += test_etag_lists();
    fails += test_multipart_length();
    printf("%zu decision cases, %d failures\n", sizeof(cases) / sizeof(cases[0]), fails);
    return fails ? 1 : 0;
}
