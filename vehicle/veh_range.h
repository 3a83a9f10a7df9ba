/* Resuming a download: parsing Content-Range and deciding what a response to a
 * (possibly ranged) artifact request means for the partial file. Pure functions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct veh_content_range {
    uint64_t first;
    uint64_t last;
    uint64_t total;
};

/* Parses a Content-Range value "bytes FIRST-LAST/TOTAL" (RFC 9110 §14.4), @len bytes, not
 * necessarily NUL-terminated, surrounding blanks allowed. The unsatisfied form
 * "bytes * /TOTAL" and "/ *" totals are -EINVAL: a resume needs all three numbers.
 * Returns 0 or -EINVAL; *ret written on success. */
int veh_range_content_range_parse(const char *v, size_t len, struct veh_content_range *ret);

/* Where to resume, given the size of the partial file and the announced artifact size:
 * the partial size, or 0 when the partial is longer than the artifact (it cannot be a
 * prefix of it). A result equal to @size means the download is complete. */
uint64_t veh_range_start(uint64_t partial, uint64_t size);

/* The parts of a response header the decision needs. */
struct veh_resp {
    long status;
    bool has_crange;
    struct veh_content_range crange;
    bool has_clen;
    uint64_t clen;
    bool has_etag;
    char etag[128]; /* the value as sent, quotes included */
};

/* Feeds one header line (as libcurl's CURLOPT_HEADERFUNCTION gets it, CRLF included) into
 * @r: a status line ("HTTP/1.1 206 ...") starts a new response (so 1xx and redirect
 * headers are forgotten), Content-Range, Content-Length and ETag are kept, other lines
 * ignored. Values that do not parse are treated as absent; an over-long ETag too. */
void veh_range_header_line(struct veh_resp *r, const char *line, size_t len);

enum veh_resume {
    VEH_RESUME_APPEND,  /* 206 for exactly [offset, size): append to the partial */
    VEH_RESUME_RESTART, /* 200: the whole artifact follows, truncate the partial first */
    VEH_RESUME_DISCARD, /* 416: the partial is no prefix; truncate and ask again */
    VEH_RESUME_FAIL,    /* anything else; *ret_reason says why */
};

/* Decides for a response to a request for bytes [@offset, @size) of the artifact whose
 * strong ETag is "<@sha256>". *ret_reason is a static string (set for every result). */
enum veh_resume veh_range_decide(const struct veh_resp *r, uint64_t offset, uint64_t size,
                                 const char *sha256, const char **ret_reason);
