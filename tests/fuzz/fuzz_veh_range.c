/* Fuzzes the vehicle's reading of an artifact response: the header lines libcurl hands
 * veh_range_header_line() (one per '\n', CRLF kept, not NUL-terminated), then
 * veh_range_decide() for a fresh and a resumed download, and veh_range_content_range_parse()
 * on the whole input. The vehicle reads no multipart bodies: it only ever asks for one
 * range ("bytes=N-"), so a 206 it appends must be exactly that range. */
#include <inttypes.h>

#include "fuzz_util.h"
#include "veh_range.h"

#define SHA256 "8c3e5a4f0d2b7e91a6c4f3b2d1e0a9f8c7b6a5948372615f4e3d2c1b0a998877"
#define SIZE   300000

static void check_decide(const struct veh_resp *r, uint64_t offset, uint64_t size)
{
    const char *why = NULL;
    enum veh_resume d = veh_range_decide(r, offset, size, SHA256, &why);

    FUZZ_CHECK(why != NULL);
    switch (d) {
    case VEH_RESUME_APPEND:
        FUZZ_CHECK(r->status == 206 && r->has_crange && r->crange.first == offset &&
                   r->crange.last + 1 == size && r->crange.total == size);
        FUZZ_CHECK(!r->has_clen || r->clen == size - offset);
        break;
    case VEH_RESUME_RESTART:
        FUZZ_CHECK(r->status == 200 && (!r->has_clen || r->clen == size));
        break;
    case VEH_RESUME_DISCARD:
        FUZZ_CHECK(r->status == 416 && offset > 0);
        break;
    case VEH_RESUME_FAIL:
        break;
    default:
        FUZZ_CHECK(!"unknown decision");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veh_resp r;
    struct veh_content_range cr;
    const uint8_t *p = data, *end = data + size, *line;
    size_t len;

    memset(&r, 0, sizeof(r)); /* as veh_http_setup() leaves it */
    while ((line = fuzz_next_line(&p, end, 1, &len))) {
        /* An exact-size copy: libcurl's buffer is no C string either. */
        char *copy = malloc(len ? len : 1);

        FUZZ_CHECK(copy != NULL);
        memcpy(copy, line, len);
        veh_range_header_line(&r, copy, len);
        free(copy);
        FUZZ_CHECK(r.status == 0 || (r.status >= 100 && r.status <= 999));
        FUZZ_CHECK(!r.has_etag || strlen(r.etag) < sizeof(r.etag));
        if (r.has_crange)
            FUZZ_CHECK(r.crange.first <= r.crange.last && r.crange.last < r.crange.total);
    }
    check_decide(&r, 0, SIZE);
    check_decide(&r, 1000, SIZE);
    if (r.has_crange) {
        check_decide(&r, r.crange.first, r.crange.total);
        check_decide(&r, r.crange.first, SIZE);
    }

    if (veh_range_content_range_parse((const char *)data, size, &cr) == 0) {
        struct veh_content_range back;
        char text[80];
        int n;

        FUZZ_CHECK(cr.first <= cr.last && cr.last < cr.total);
        /* what ota-server and nginx write parses to the same three numbers */
        n = snprintf(text, sizeof(text), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, cr.first,
                     cr.last, cr.total);
        FUZZ_CHECK(veh_range_content_range_parse(text, (size_t)n, &back) == 0);
        FUZZ_CHECK(back.first == cr.first && back.last == cr.last && back.total == cr.total);
    }
    return 0;
}
