/* Resume decisions for artifact downloads: Content-Range parsing and response checks. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "ota_util.h"
#include "veh_range.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses digits in [*pos, end) up to a byte in @stops; advances *pos to the stop. */
static int take_number(const char *v, size_t *pos, size_t end, char stop, uint64_t *ret)
{
    size_t start = *pos;

    while (*pos < end && v[*pos] != stop)
        (*pos)++;
    if (stop != '\0' && *pos >= end)
        return -EINVAL;
    if (ota_parse_u64n(v + start, *pos - start, UINT64_MAX, ret) < 0)
        return -EINVAL;
    return 0;
}

int veh_range_content_range_parse(const char *v, size_t len, struct veh_content_range *ret)
{
    struct veh_content_range cr;
    size_t pos = 0, end = len;

    if (!v)
        return -EINVAL;
    while (pos < end && is_blank(v[pos]))
        pos++;
    while (end > pos && is_blank(v[end - 1]))
        end--;
    if (end - pos < 6 || strncmp(v + pos, "bytes ", 6) != 0)
        return -EINVAL;
    pos += 6;
    while (pos < end && v[pos] == ' ')
        pos++;
    if (take_number(v, &pos, end, '-', &cr.first) < 0)
        return -EINVAL;
    pos++;
    if (take_number(v, &pos, end, '/', &cr.last) < 0)
        return -EINVAL;
    pos++;
    if (take_number(v, &pos, end, '\0', &cr.total) < 0)
        return -EINVAL;
    if (cr.first > cr.last || cr.last >= cr.total)
        return -EINVAL;
    *ret = cr;
    return 0;
}

uint64_t veh_range_start(uint64_t partial, uint64_t size)
{
    return partial <= size ? partial : 0;
}

/* A strong ETag equal to "<sha256>"; weak or other tags mean another representation. */
static bool etag_matches(const struct veh_resp *r, const char *sha256)
{
    size_t n = strlen(r->etag);

    if (!r->has_etag)
        return true; /* a CDN may drop it; size, hash and signature still decide */
    return n == strlen(sha256) + 2 && r->etag[0] == '"' && r->etag[n - 1] == '"' &&
           memcmp(r->etag + 1, sha256, n - 2) == 0;
}

enum veh_resume veh_range_decide(const struct veh_resp *r, uint64_t offset, uint64_t size,
                                 const char *sha256, const char **ret_reason)
{
    switch (r->status) {
    case 206:
        if (!etag_matches(r, sha256)) {
            *ret_reason = "ETag does not match the announced sha256";
            return VEH_RESUME_FAIL;
        }
        if (!r->has_crange || r->crange.first != offset || r->crange.last + 1 != size ||
            r->crange.total != size) {
            *ret_reason = "206 with a Content-Range other than the one asked for";
            return VEH_RESUME_FAIL;
        }
        if (r->has_clen && r->clen != size - offset) {
            *ret_reason = "206 with a Content-Length that does not match its range";
            return VEH_RESUME_FAIL;
        }
        *ret_reason = "resuming";
        return VEH_RESUME_APPEND;
    case 200:
        if (!etag_matches(r, sha256)) {
            *ret_reason = "ETag does not match the announced sha256";
            return VEH_RESUME_FAIL;
        }
        if (r->has_clen && r->clen != size) {
            *ret_reason = "Content-Length differs from the announced size";
            return VEH_RESUME_FAIL;
        }
        *ret_reason = offset ? "server sent the whole artifact, restarting" : "downloading";
        return VEH_RESUME_RESTART;
    case 416:
        if (offset == 0) {
            *ret_reason = "416 for a request without a range";
            return VEH_RESUME_FAIL;
        }
        *ret_reason = "partial file is no prefix of the artifact (416), restarting";
        return VEH_RESUME_DISCARD;
    default:
        *ret_reason = "unexpected HTTP status";
        return VEH_RESUME_FAIL;
    }
}

/* Case-insensitive match of header name @name at the start of @line, followed by ':'.
 * Returns the offset of the value, or 0. */
static size_t header_value(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);

    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    n++;
    while (n < len && (line[n] == ' ' || line[n] == '\t'))
        n++;
    return n;
}

static size_t trim_end(const char *line, size_t len)
{
    while (len > 0 && is_blank(line[len - 1]))
        len--;
    return len;
}

void veh_range_header_line(struct veh_resp *r, const char *line, size_t len)
{
    size_t v, end;
    uint64_t num;

    end = trim_end(line, len);
    if (end >= 10 && strncmp(line, "HTTP/", 5) == 0) {
        const char *sp = memchr(line, ' ', end);

        memset(r, 0, sizeof(*r));
        if (sp && (size_t)(sp - line) + 4 <= end && ota_parse_u64n(sp + 1, 3, 999, &num) == 0 &&
            num >= 100)
            r->status = (long)num;
        return;
    }
    if ((v = header_value(line, end, "Content-Range")) > 0) {
        r->has_crange = veh_range_content_range_parse(line + v, end - v, &r->crange) == 0;
    } else if ((v = header_value(line, end, "Content-Length")) > 0) {
        r->has_clen = ota_parse_u64n(line + v, end - v, UINT64_MAX, &num) == 0;
        if (r->has_clen)
            r->clen = num;
    } else if ((v = header_value(line, end, "ETag")) > 0) {
        r->has_etag = end - v < sizeof(r->etag) && end > v;
        if (r->has_etag) {
            memcpy(r->etag, line + v, end - v);
            r->etag[end - v] = '\0';
        }
    }
}
