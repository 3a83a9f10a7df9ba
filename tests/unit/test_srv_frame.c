/* Table-driven tests of srv_frame: RFC 9112 request framing on raw bytes, each case also
 * fed byte by byte and split in two at every offset (the verdict must not depend on how
 * the stream arrives). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota_test.h"
#include "srv_frame.h"

#define H "Host: o\r\n"

/* The route limits of ota-server, in small: POST /v1/status 100 bytes, DDI POST/PUT 1000. */
static uint64_t limit(void *cls, const char *method, const char *path)
{
    (void)cls;
    if (strcmp(method, "POST") == 0 && strcmp(path, "/v1/status") == 0)
        return 100;
    if ((strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) &&
        strncmp(path, "/DEFAULT/controller/v1/", 23) == 0)
        return 1000;
    return 0;
}

struct tcase {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in); set for inputs with NUL bytes */
    enum srv_frame_error want;
    size_t start; /* refused request's offset when it began after others */
    int idle;     /* for OK: 1 when the stream ends between requests */
};

#define NUL_CASE(n, s, w) { n, s, sizeof(s) - 1, w, 0, 0 }

static const struct tcase cases[] = {
    /* accepted */
    { "simple get", "GET /v1/updates HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_OK, 0, 1 },
    { "http/1.0 without host", "GET / HTTP/1.0\r\n\r\n", 0, SRV_FRAME_OK, 0, 1 },
    { "leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_OK, 0, 1 },
    { "absolute-form", "HEAD https://o:8443/v1/artifacts/ab HTTP/1.1\r\n" H "\r\n", 0,
      SRV_FRAME_OK, 0, 1 },
    { "absolute-form no path", "GET http://o HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_OK, 0, 1 },
    { "asterisk", "OPTIONS * HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_OK, 0, 1 },
    { "escapes and query", "GET /a%20b?x=%2F&y HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_OK, 0, 1 },
    { "ows and obs-text in values", "GET / HTTP/1.1\r\n" H "X: \t a\xe9 b \t\r\n\r\n", 0,
      SRV_FRAME_OK, 0, 1 },
    { "empty value", "GET / HTTP/1.1\r\n" H "X:\r\n\r\n", 0, SRV_FRAME_OK, 0, 1 },
    { "content-length body", "POST /v1/status HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello",
      0, SRV_FRAME_OK, 0, 1 },
    { "content-length ows", "POST /v1/status HTTP/1.1\r\n" H "content-length:  5 \r\n\r\nhello",
      0, SRV_FRAME_OK, 0, 1 },
    { "body not complete", "POST /v1/status HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhel", 0,
      SRV_FRAME_OK, 0, 0 },
    { "zero length on get", "GET / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", 0, SRV_FRAME_OK,
      0, 1 },
    { "chunked", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\nA;name=\"v\"\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n", 0,
      SRV_FRAME_OK, 0, 1 },
    { "chunked case and bws", "POST /v1/status HTTP/1.1\r\n" H "transfer-encoding: Chunked\r\n\r\n"
      "5 ;a\r\nhello\r\n0\r\n\r\n", 0, SRV_FRAME_OK, 0, 1 },
    { "pipelined", "GET / HTTP/1.1\r\n" H "\r\nGET /b HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_OK,
      0, 1 },
    { "ddi put 1000", "PUT /DEFAULT/controller/v1/V/configData HTTP/1.1\r\n" H
      "Content-Length: 1000\r\n\r\n", 0, SRV_FRAME_OK, 0, 0 },
    { "header in progress", "GET / HTTP/1.1\r\nHo", 0, SRV_FRAME_OK, 0, 0 },

    /* Content-Length and Transfer-Encoding (§6) */
    { "two content-length", "POST /v1/status HTTP/1.1\r\n" H
      "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 0, SRV_FRAME_E_CONTENT_LENGTH },
    { "content-length list", "POST /v1/status HTTP/1.1\r\n" H "Content-Length: 5, 5\r\n\r\n", 0,
      SRV_FRAME_E_CONTENT_LENGTH },
    { "content-length sign", "POST /v1/status HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n", 0,
      SRV_FRAME_E_CONTENT_LENGTH },
    { "content-length empty", "POST /v1/status HTTP/1.1\r\n" H "Content-Length:\r\n\r\n", 0,
      SRV_FRAME_E_CONTENT_LENGTH },
    { "content-length overflow", "POST /v1/status HTTP/1.1\r\n" H
      "Content-Length: 18446744073709551616\r\n\r\n", 0, SRV_FRAME_E_TOO_LARGE },
    { "cl and te", "POST /v1/status HTTP/1.1\r\n" H
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
      SRV_FRAME_E_TRANSFER_ENCODING },
    { "te and cl", "POST /v1/status HTTP/1.1\r\n" H
      "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0,
      SRV_FRAME_E_TRANSFER_ENCODING },
    { "te chunked, identity", "POST /v1/status HTTP/1.1\r\n" H
      "Transfer-Encoding: chunked, identity\r\n\r\n", 0, SRV_FRAME_E_TRANSFER_ENCODING },
    { "te gzip, chunked", "POST /v1/status HTTP/1.1\r\n" H
      "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, SRV_FRAME_E_TRANSFER_ENCODING },
    { "te unknown", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: x\r\n\r\n", 0,
      SRV_FRAME_E_TRANSFER_ENCODING },
    { "te twice", "POST /v1/status HTTP/1.1\r\n" H
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
      SRV_FRAME_E_TRANSFER_ENCODING },
    { "te in http/1.0", "POST /v1/status HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
      SRV_FRAME_E_TRANSFER_ENCODING },

    /* Host (§3.2) */
    { "no host", "GET / HTTP/1.1\r\n\r\n", 0, SRV_FRAME_E_HOST },
    { "two hosts", "GET / HTTP/1.1\r\n" H H "\r\n", 0, SRV_FRAME_E_HOST },
    { "two hosts in 1.0", "GET / HTTP/1.0\r\n" H H "\r\n", 0, SRV_FRAME_E_HOST },

    /* field syntax (§5) */
    { "space before colon", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding : chunked\r\n\r\n",
      0, SRV_FRAME_E_FIELD },
    { "tab before colon", "GET / HTTP/1.1\r\n" H "X\t: a\r\n\r\n", 0, SRV_FRAME_E_FIELD },
    { "no colon", "GET / HTTP/1.1\r\n" H "X a\r\n\r\n", 0, SRV_FRAME_E_FIELD },
    { "empty name", "GET / HTTP/1.1\r\n" H ": a\r\n\r\n", 0, SRV_FRAME_E_FIELD },
    { "obs-fold", "GET / HTTP/1.1\r\n" H "X: a\r\n b\r\n\r\n", 0, SRV_FRAME_E_OBS_FOLD },
    { "fold after request line", "GET / HTTP/1.1\r\n " H "\r\n", 0, SRV_FRAME_E_OBS_FOLD },
    NUL_CASE("nul in value", "GET / HTTP/1.1\r\n" H "Range: bytes=0-1\0,5-6\r\n\r\n",
             SRV_FRAME_E_FIELD_VALUE),
    NUL_CASE("nul in content-length", "POST /v1/status HTTP/1.1\r\n" H
             "Content-Length: 47\0" "999\r\n\r\n", SRV_FRAME_E_FIELD_VALUE),
    NUL_CASE("nul in name", "GET / HTTP/1.1\r\n" H "X\0Y: a\r\n\r\n", SRV_FRAME_E_FIELD),
    { "cr in value", "GET / HTTP/1.1\r\n" H "X: a\rb\r\n\r\n", 0, SRV_FRAME_E_FIELD_VALUE },
    { "bare lf ends a value", "GET / HTTP/1.1\r\n" H "X: a\nY: b\r\n\r\n", 0,
      SRV_FRAME_E_FIELD_VALUE },
    { "bare lf blank line", "GET / HTTP/1.1\r\n" H "\n", 0, SRV_FRAME_E_FIELD },
    { "del in value", "GET / HTTP/1.1\r\n" H "X: a\x7f\r\n\r\n", 0, SRV_FRAME_E_FIELD_VALUE },

    /* request line (§3) */
    { "bare lf request line", "GET / HTTP/1.1\n" H "\r\n", 0, SRV_FRAME_E_REQUEST_LINE },
    { "two spaces", "GET  / HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_REQUEST_LINE },
    { "no version", "GET /\r\n\r\n", 0, SRV_FRAME_E_REQUEST_LINE },
    { "lowercase version", "GET / http/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_REQUEST_LINE },
    { "http/2.0", "GET / HTTP/2.0\r\n" H "\r\n", 0, SRV_FRAME_E_VERSION },
    { "http/1.2", "GET / HTTP/1.2\r\n" H "\r\n", 0, SRV_FRAME_E_VERSION },
    { "method too long", "GETGETGETGETGETGETGET / HTTP/1.1\r\n" H "\r\n", 0,
      SRV_FRAME_E_REQUEST_LINE },
    { "too many empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", 0,
      SRV_FRAME_E_REQUEST_LINE },
    NUL_CASE("nul in target", "GET /v1/updates\0/x HTTP/1.1\r\n" H "\r\n", SRV_FRAME_E_TARGET),
    { "%00 in path", "GET /v1/artifacts/ab%00.minisig HTTP/1.1\r\n" H "\r\n", 0,
      SRV_FRAME_E_TARGET },
    { "%0a in path", "GET /v1/updates%0a HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "%7f in query", "GET /v1/updates?a=%7F HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "bad escape", "GET /a%zz HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "short escape", "GET /a% HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "fragment", "GET /a#b HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "tab in target", "GET /a\tb HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "utf-8 in target", "GET /\xc3\xa9 HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "relative target", "GET v1/updates HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "ftp absolute", "GET ftp://o/x HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },
    { "empty authority", "GET http:///x HTTP/1.1\r\n" H "\r\n", 0, SRV_FRAME_E_TARGET },

    /* bodies and their limits */
    { "announced too large", "POST /v1/status HTTP/1.1\r\n" H "Content-Length: 101\r\n\r\n", 0,
      SRV_FRAME_E_TOO_LARGE },
    { "body on get", "GET /v1/updates HTTP/1.1\r\n" H "Content-Length: 1\r\n\r\nx", 0,
      SRV_FRAME_E_TOO_LARGE },
    { "chunk 2^64-1", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
      "ffffffffffffffff\r\n", 0, SRV_FRAME_E_TOO_LARGE },
    { "chunk over limit", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
      "65\r\n", 0, SRV_FRAME_E_TOO_LARGE },
    { "chunks add up over limit", "POST /v1/status HTTP/1.1\r\n" H
      "Transfer-Encoding: chunked\r\n\r\n32\r\n" "01234567890123456789012345678901234567890123456789"
      "\r\n33\r\n", 0, SRV_FRAME_E_TOO_LARGE },
    { "chunk size not hex", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
      "g\r\n", 0, SRV_FRAME_E_CHUNK },
    { "chunk size empty", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
      ";a\r\n", 0, SRV_FRAME_E_CHUNK },
    { "chunk data not followed by crlf", "POST /v1/status HTTP/1.1\r\n" H
      "Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 0, SRV_FRAME_E_CHUNK },
    { "chunk line bare lf", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
      "1\nab\r\n", 0, SRV_FRAME_E_CHUNK },
    { "space then junk after size", "POST /v1/status HTTP/1.1\r\n" H
      "Transfer-Encoding: chunked\r\n\r\n1 x\r\n", 0, SRV_FRAME_E_CHUNK },
    NUL_CASE("nul in chunk ext", "POST /v1/status HTTP/1.1\r\n" H
             "Transfer-Encoding: chunked\r\n\r\n1;a\0\r\n", SRV_FRAME_E_CHUNK),
    { "trailer with fold", "POST /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
      "0\r\nX: a\r\n b\r\n\r\n", 0, SRV_FRAME_E_OBS_FOLD },

    /* a refused request after good ones starts where it starts */
    { "bad after good", "GET / HTTP/1.1\r\n" H "\r\nGET / HTTP/1.1\r\n\r\n", 0, SRV_FRAME_E_HOST,
      27 },
    { "bad after body", "POST /v1/status HTTP/1.1\r\n" H "Content-Length: 2\r\n\r\nhiGET  /",
      0, SRV_FRAME_E_REQUEST_LINE, 58 },
};

/* Feeds @in in pieces of @piece bytes (0: all at once), or split once at @split. */
static enum srv_frame_error run(const char *in, size_t len, size_t piece, size_t split,
                                size_t *ret_start, int *ret_idle)
{
    struct srv_frame f;
    enum srv_frame_error e = SRV_FRAME_OK;
    size_t off = 0, start = 0;

    srv_frame_init(&f, limit, NULL);
    while (off < len) {
        size_t n = piece ? piece : split ? (off < split ? split : len - off) : len;
        if (n > len - off)
            n = len - off;
        e = srv_frame_feed(&f, in + off, n, &start);
        if (e != SRV_FRAME_OK) {
            /* offsets are per call: make it absolute, and "began in an earlier call" 0 */
            *ret_start = start ? off + start : 0;
            *ret_idle = 0;
            return e;
        }
        off += n;
    }
    *ret_start = 0;
    *ret_idle = srv_frame_idle(&f);
    return e;
}

static void check_case(const struct tcase *c)
{
    size_t len = c->len ? c->len : strlen(c->in), start;
    int idle;
    enum srv_frame_error e = run(c->in, len, 0, 0, &start, &idle);

    if (e != c->want || (e != SRV_FRAME_OK && start != c->start) ||
        (e == SRV_FRAME_OK && idle != c->idle)) {
        fprintf(stderr, "%s: got %d (%s) start %zu idle %d, want %d start %zu idle %d\n",
                c->name, e, srv_frame_error_reason(e), start, idle, c->want, c->start, c->idle);
        ota_test_failures++;
        return;
    }
    /* the same verdict however the bytes arrive */
    for (size_t piece = 1; piece <= 3; piece++) {
        enum srv_frame_error p = run(c->in, len, piece, 0, &start, &idle);
        if (p != c->want) {
            fprintf(stderr, "%s: %zu-byte pieces gave %d, want %d\n", c->name, piece, p,
                    c->want);
            ota_test_failures++;
        }
    }
    for (size_t split = 1; split < len; split++) {
        enum srv_frame_error p = run(c->in, len, 0, split, &start, &idle);
        if (p != c->want) {
            fprintf(stderr, "%s: split at %zu gave %d, want %d\n", c->name, split, p, c->want);
            ota_test_failures++;
        }
    }
}

/* Bounds that need long inputs. */
static void check_bounds(void)
{
    char *buf = malloc(2 * SRV_FRAME_HEADER_MAX);
    size_t start, n;
    int idle;

    CHECK_FATAL(buf);
    /* a header section one byte over the bound: 431 */
    n = (size_t)snprintf(buf, 64, "GET / HTTP/1.1\r\n" H "X: ");
    memset(buf + n, 'a', SRV_FRAME_HEADER_MAX - n - 4);
    n = SRV_FRAME_HEADER_MAX - 4;
    memcpy(buf + n, "\r\n\r\n", 4);
    CHECK_INT(run(buf, SRV_FRAME_HEADER_MAX, 0, 0, &start, &idle), SRV_FRAME_OK);
    memmove(buf + n + 1, buf + n, 4);
    buf[n] = 'a';
    CHECK_INT(run(buf, SRV_FRAME_HEADER_MAX + 1, 0, 0, &start, &idle),
              SRV_FRAME_E_HEADER_TOO_LARGE);
    /* too many fields */
    n = (size_t)snprintf(buf, 64, "GET / HTTP/1.1\r\n" H);
    for (int i = 1; i < SRV_FRAME_FIELDS_MAX; i++)
        n += (size_t)snprintf(buf + n, 16, "X: a\r\n");
    memcpy(buf + n, "\r\n", 2);
    CHECK_INT(run(buf, n + 2, 0, 0, &start, &idle), SRV_FRAME_OK);
    n += (size_t)snprintf(buf + n, 16, "X: a\r\n");
    memcpy(buf + n, "\r\n", 2);
    CHECK_INT(run(buf, n + 2, 0, 0, &start, &idle), SRV_FRAME_E_HEADER_TOO_LARGE);
    /* a chunk extension at the bound, and one byte past it (the 100 KB one of the issue
     * is refused at this bound, after 256 bytes, not read) */
    n = (size_t)snprintf(buf, 128, "POST /v1/status HTTP/1.1\r\n" H
                                   "Transfer-Encoding: chunked\r\n\r\n1;");
    memset(buf + n, 'e', SRV_FRAME_CHUNK_LINE_MAX - 2);
    n += SRV_FRAME_CHUNK_LINE_MAX - 2;
    memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
    CHECK_INT(run(buf, n + 10, 0, 0, &start, &idle), SRV_FRAME_OK);
    memmove(buf + n + 1, buf + n, 10);
    buf[n] = 'e';
    CHECK_INT(run(buf, n + 11, 0, 0, &start, &idle), SRV_FRAME_E_CHUNK_EXT);
    /* a long target is kept in part and still routed */
    n = (size_t)snprintf(buf, 64, "GET /v1/");
    memset(buf + n, 'a', 1000);
    n += 1000;
    n += (size_t)snprintf(buf + n, 64, " HTTP/1.1\r\n" H "\r\n");
    CHECK_INT(run(buf, n, 0, 0, &start, &idle), SRV_FRAME_OK);
    free(buf);
}

static void check_paths(void)
{
    static const struct {
        const char *target, *path;
    } t[] = {
        { "/v1/updates", "/v1/updates" },
        { "/v1/updates?x=1", "/v1/updates" },
        { "https://o:8443/v1/status", "/v1/status" },
        { "HTTP://o/v1/status?q", "/v1/status" },
        { "http://o", "/" },
        { "http://o?x", "/" },
        { "*", "" },
        { "ftp://o/x", "" },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t len;
        const char *p = srv_frame_target_path(t[i].target, &len);
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*s", (int)len, p);
        CHECK_STR(buf, t[i].path);
    }
}

/* The state a refusal leaves: refused for good, and what the log line names. */
static void check_refused_state(void)
{
    struct srv_frame f;
    size_t start;
    const char *req = "POST /v1/status?x HTTP/1.1\r\n" H "Content-Length: 1\r\nContent-Length: 1\r\n";

    srv_frame_init(&f, limit, NULL);
    CHECK_INT(srv_frame_feed(&f, req, strlen(req), &start), SRV_FRAME_E_CONTENT_LENGTH);
    CHECK_STR(srv_frame_method(&f), "POST");
    CHECK_STR(srv_frame_target(&f), "/v1/status?x");
    CHECK_INT(srv_frame_feed(&f, "GET", 3, &start), SRV_FRAME_E_CONTENT_LENGTH);
    CHECK_INT(srv_frame_error_status(SRV_FRAME_E_TOO_LARGE), 413);
    CHECK_INT(srv_frame_error_status(SRV_FRAME_E_HEADER_TOO_LARGE), 431);
    CHECK_INT(srv_frame_error_status(SRV_FRAME_E_VERSION), 505);
    CHECK_INT(srv_frame_error_status(SRV_FRAME_E_OBS_FOLD), 400);
    /* header phase: from the first byte to the blank line */
    srv_frame_init(&f, limit, NULL);
    CHECK(srv_frame_idle(&f) && !srv_frame_in_header(&f));
    CHECK_INT(srv_frame_feed(&f, "G", 1, &start), SRV_FRAME_OK);
    CHECK(srv_frame_in_header(&f));
    req = "ET /v1/status HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n";
    CHECK_INT(srv_frame_feed(&f, req, strlen(req), &start), SRV_FRAME_OK);
    CHECK(!srv_frame_in_header(&f) && !srv_frame_idle(&f));
    req = "0\r\nX: 1\r\n";
    CHECK_INT(srv_frame_feed(&f, req, strlen(req), &start), SRV_FRAME_OK);
    CHECK(!srv_frame_in_header(&f)); /* trailers are not the header section */
    CHECK_INT(srv_frame_feed(&f, "\r\n", 2, &start), SRV_FRAME_OK);
    CHECK(srv_frame_idle(&f));
}

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
    check_bounds();
    check_paths();
    check_refused_state();
    TEST_DONE();
}
