/* Unit tests for veh_range: Content-Range parsing, header lines, resume decisions. */
#include <errno.h>
#include <string.h>
#include "ota_test.h"
#include "veh_range.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_content_range(void)
{
    static const struct {
        const char *in;
        int ret;
        uint64_t first, last, total;
    } cases[] = {
        { "bytes 0-99/100", 0, 0, 99, 100 },
        { "  bytes 100-199/1000\r\n", 0, 100, 199, 1000 },
        { "bytes 5-5/6", 0, 5, 5, 6 },
        { "bytes */100", -EINVAL, 0, 0, 0 },
        { "bytes 0-99/*", -EINVAL, 0, 0, 0 },
        { "bytes 10-5/100", -EINVAL, 0, 0, 0 },
        { "bytes 0-100/100", -EINVAL, 0, 0, 0 },
        { "bytes -1-5/100", -EINVAL, 0, 0, 0 },
        { "octets 0-1/2", -EINVAL, 0, 0, 0 },
        { "bytes 0-1/2x", -EINVAL, 0, 0, 0 },
        { "bytes 0-1", -EINVAL, 0, 0, 0 },
        { "bytes 0-99999999999999999999999/100", -EINVAL, 0, 0, 0 },
        { "", -EINVAL, 0, 0, 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct veh_content_range cr = { 7, 7, 7 };
        int r = veh_range_content_range_parse(cases[i].in, strlen(cases[i].in), &cr);

        CHECK_INT(r, cases[i].ret);
        if (r == 0) {
            CHECK_INT(cr.first, cases[i].first);
            CHECK_INT(cr.last, cases[i].last);
            CHECK_INT(cr.total, cases[i].total);
        } else {
            CHECK_INT(cr.first, 7); /* untouched on failure */
        }
    }
}

static void feed(struct veh_resp *r, const char *line)
{
    veh_range_header_line(r, line, strlen(line));
}

static void test_header_lines(void)
{
    struct veh_resp r;

    memset(&r, 0xff, sizeof(r));
    feed(&r, "HTTP/1.1 100 Continue\r\n");
    CHECK_INT(r.status, 100);
    feed(&r, "ETag: \"old\"\r\n");
    feed(&r, "HTTP/1.1 206 Partial Content\r\n");
    CHECK_INT(r.status, 206);
    CHECK(!r.has_etag); /* forgotten with the interim response */
    feed(&r, "content-range: bytes 10-19/20\r\n");
    feed(&r, "Content-Length:   10\r\n");
    feed(&r, "ETag: \"" SHA "\"\r\n");
    feed(&r, "X-Other: 1\r\n");
    feed(&r, "\r\n");
    CHECK(r.has_crange);
    CHECK_INT(r.crange.first, 10);
    CHECK(r.has_clen);
    CHECK_INT(r.clen, 10);
    CHECK(r.has_etag);
    CHECK_STR(r.etag, "\"" SHA "\"");

    feed(&r, "HTTP/2 200 \r\n");
    CHECK_INT(r.status, 200);
    feed(&r, "Content-Length: 12x\r\n");
    CHECK(!r.has_clen);
    feed(&r, "Content-Range: nonsense\r\n");
    CHECK(!r.has_crange);
}

static struct veh_resp resp(long status, const char *crange, long long clen, const char *etag)
{
    struct veh_resp r;

    memset(&r, 0, sizeof(r));
    r.status = status;
    if (crange)
        r.has_crange = veh_range_content_range_parse(crange, strlen(crange), &r.crange) == 0;
    if (clen >= 0) {
        r.has_clen = true;
        r.clen = (uint64_t)clen;
    }
    if (etag) {
        r.has_etag = true;
        snprintf(r.etag, sizeof(r.etag), "%s", etag);
    }
    return r;
}

static void test_decide(void)
{
    static const char *const good = "\"" SHA "\"";
    const struct {
        struct veh_resp r;
        uint64_t offset, size;
        enum veh_resume want;
    } cases[] = {
        { resp(200, NULL, 100, good), 0, 100, VEH_RESUME_RESTART },
        { resp(200, NULL, -1, NULL), 0, 100, VEH_RESUME_RESTART },
        { resp(200, NULL, 100, good), 40, 100, VEH_RESUME_RESTART }, /* If-Range failed */
        { resp(200, NULL, 99, good), 0, 100, VEH_RESUME_FAIL },      /* size mismatch */
        { resp(200, NULL, 100, "\"other\""), 0, 100, VEH_RESUME_FAIL },
        { resp(200, NULL, 100, "W/\"" SHA "\""), 0, 100, VEH_RESUME_FAIL },
        { resp(206, "bytes 40-99/100", 60, good), 40, 100, VEH_RESUME_APPEND },
        { resp(206, "bytes 40-99/100", -1, NULL), 40, 100, VEH_RESUME_APPEND },
        { resp(206, "bytes 40-98/100", 59, good), 40, 100, VEH_RESUME_FAIL }, /* not to end */
        { resp(206, "bytes 41-99/100", 59, good), 40, 100, VEH_RESUME_FAIL }, /* elsewhere */
        { resp(206, "bytes 40-99/101", 60, good), 40, 100, VEH_RESUME_FAIL }, /* other size */
        { resp(206, "bytes 40-99/100", 61, good), 40, 100, VEH_RESUME_FAIL },
        { resp(206, NULL, 60, good), 40, 100, VEH_RESUME_FAIL },
        { resp(416, NULL, -1, NULL), 40, 100, VEH_RESUME_DISCARD },
        { resp(416, NULL, -1, NULL), 0, 100, VEH_RESUME_FAIL },
        { resp(404, NULL, -1, NULL), 40, 100, VEH_RESUME_FAIL },
        { resp(503, NULL, -1, NULL), 0, 100, VEH_RESUME_FAIL },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        enum veh_resume got =
            veh_range_decide(&cases[i].r, cases[i].offset, cases[i].size, SHA, &why);

        if (got != cases[i].want)
            fprintf(stderr, "case %zu: %s\n", i, why ? why : "(no reason)");
        CHECK_INT(got, cases[i].want);
        CHECK(why != NULL);
    }
}

static void test_start(void)
{
    CHECK_INT(veh_range_start(0, 100), 0);
    CHECK_INT(veh_range_start(40, 100), 40);
    CHECK_INT(veh_range_start(100, 100), 100);
    CHECK_INT(veh_range_start(101, 100), 0);
}

int main(void)
{
    test_content_range();
    test_header_lines();
    test_decide();
    test_start();
    TEST_DONE();
}
