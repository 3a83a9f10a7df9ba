/* Fuzzes srv_frame_feed() with the raw bytes a peer sends, and checks what the framing
 * module promises: the verdict does not depend on how the stream is split into reads (the
 * first input byte picks a split point and a piece size), a refused stream stays refused,
 * the refused request's offset lies inside the read it began in, and an accepted stream's
 * method, target and body limit stay within their bounds. */
#include "fuzz_util.h"
#include "srv_frame.h"

/* ota-server's route limits in small (srv_route_body_limit): one body route, 4 KiB. */
static uint64_t limit(void *cls, const char *method, const char *path)
{
    (void)cls;
    FUZZ_CHECK(strlen(method) <= SRV_FRAME_METHOD_MAX);
    FUZZ_CHECK(strlen(path) <= SRV_FRAME_TARGET_KEEP);
    return strcmp(method, "POST") == 0 && strcmp(path, "/v1/status") == 0 ? 4096 : 64;
}

/* Feeds @data in pieces of @piece bytes (0: one read), the first cut at @split. Returns
 * the verdict; *ret_at the absolute offset of the refused request when it began in the
 * read that refused it (else the start of that read). */
static enum srv_frame_error feed(const uint8_t *data, size_t size, size_t split, size_t piece,
                                 size_t *ret_at)
{
    struct srv_frame f;
    size_t off = 0;

    srv_frame_init(&f, limit, NULL);
    while (off < size) {
        size_t n = off < split ? split - off : piece ? piece : size - off, start = 0;
        enum srv_frame_error e;
        char *copy;

        if (n > size - off)
            n = size - off;
        copy = fuzz_cstr(data + off, n); /* exactly n bytes for ASan */
        e = srv_frame_feed(&f, copy, n, &start);
        free(copy);
        if (e != SRV_FRAME_OK) {
            FUZZ_CHECK(start < n || (start == 0 && n == 0));
            FUZZ_CHECK(srv_frame_feed(&f, "x", 1, &start) == e); /* refused for good */
            FUZZ_CHECK(srv_frame_error_status(e) >= 400);
            *ret_at = off + start;
            return e;
        }
        FUZZ_CHECK(strlen(srv_frame_method(&f)) <= SRV_FRAME_METHOD_MAX);
        FUZZ_CHECK(strlen(srv_frame_target(&f)) <= SRV_FRAME_TARGET_KEEP);
        off += n;
    }
    *ret_at = 0;
    return SRV_FRAME_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum srv_frame_error whole, split;
    size_t cut, piece, at_whole, at_split;

    if (size < 1)
        return 0;
    cut = size > 1 ? data[0] % size : 0;
    piece = (size_t)(data[0] >> 5); /* 0..7 */
    data++;
    size--;
    whole = feed(data, size, 0, 0, &at_whole);
    split = feed(data, size, cut, piece, &at_split);
    FUZZ_CHECK(whole == split);
    /* both refusals name the same request: the one whose bytes contain the violation,
     * which in the whole read began at at_whole */
    FUZZ_CHECK(whole == SRV_FRAME_OK || at_split <= size);
    return 0;
}
