/* Pure RFC 9110 conditional-request and Range decisions (§13.2.2, §14) for a static representation. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits. Real clients ask for many ranges at once (SWUpdate's zchunk delta handler up
 * to 150 per request by default), so the part count is generous; what keeps a request
 * from costing more than it is worth is the body's size: after coalescing, the parts and
 * their headers may exceed the representation by at most 1/8 of it (or 4 KiB for small
 * ones). A request over any limit is answered with the whole representation (200), as
 * RFC 9110 §14.2 allows. */
#define SRV_RANGE_MAX           256  /* hard cap on parts after coalescing */
#define SRV_RANGE_PARTS_DEFAULT 200  /* [server] max_ranges */
#define SRV_RANGE_SPECS_MAX     512  /* range-specs parsed; a longer list is ignored (200) */
#define SRV_RANGE_GAP           80   /* gaps smaller than a part header are coalesced */
#define SRV_RANGE_SLACK_MIN     4096 /* multipart overhead always allowed */
/* Lower case: SWUpdate before 2025.05 lower-cases the Content-Type line, then looks for
 * the boundary in the body case-sensitively. */
#define SRV_RANGE_BOUNDARY "ota-byteranges-7d1f3a9c52e04b68" /* see srv_range_part_header */

/* What the decision looks at. Header values are NULL when absent. @etag includes its
 * quotes ("\"<sha256>\""), @mtime is the Last-Modified time in seconds. */
struct srv_range_input {
    bool is_get;  /* GET: Range applies (§14.2 defines it for GET only) */
    bool is_head; /* HEAD: like GET for conditionals, Range ignored */
    const char *if_match;
    const char *if_unmodified_since;
    const char *if_none_match;
    const char *if_modified_since;
    const char *range;
    const char *if_range;
    uint64_t size;
    const char *etag;
    int64_t mtime;
    unsigned max_parts; /* after coalescing; 0 = SRV_RANGE_PARTS_DEFAULT, capped at
                         * SRV_RANGE_MAX */
};

struct srv_byterange {
    uint64_t first; /* inclusive */
    uint64_t last;  /* inclusive */
};

/* The answer: status 200 (whole body), 206 (nranges parts, non-overlapping, in the order
 * of their first range-spec in the request: RFC 9110 §14.6),
 * 304, 412 or 416 (which carries Content-Range "bytes", a star, a slash and the size). */
struct srv_range_decision {
    unsigned status;
    unsigned nranges; /* 0 unless status is 206 */
    struct srv_byterange ranges[SRV_RANGE_MAX];
};

/* Evaluates the preconditions in RFC 9110 §13.2.2's order (If-Match, If-Unmodified-Since,
 * If-None-Match, If-Modified-Since, If-Range) and then the Range header. Never fails:
 * malformed conditionals are treated as the RFC says, a malformed or abusive Range is
 * ignored (200). */
void srv_range_decide(const struct srv_range_input *in, struct srv_range_decision *ret);

/* True if the entity-tag list @header ("*", or comma-separated "x"/W/"x") matches @etag.
 * @weak selects weak comparison (If-None-Match); strong comparison never matches a weak
 * tag (If-Match, If-Range). A malformed list matches nothing (except "*"). */
bool srv_etag_list_match(const char *header, const char *etag, bool weak);

/* multipart/byteranges layout (§14.6) for a 206 with nranges > 1: part i is
 * srv_range_part_header(i) followed by the bytes of ranges[i]; after the last part comes
 * srv_range_trailer(). Headers are written into @buf (>= SRV_RANGE_HDR_MAX bytes) and
 * their length returned. */
#define SRV_RANGE_HDR_MAX 192
size_t srv_range_part_header(const struct srv_range_decision *d, unsigned i, uint64_t size,
                             const char *content_type, char *buf, size_t len);
size_t srv_range_trailer(char *buf, size_t len);
/* The exact Content-Length of the multipart body. */
uint64_t srv_range_multipart_length(const struct srv_range_decision *d, uint64_t size,
                                    const char *content_type);
