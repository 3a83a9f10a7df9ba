/* Artifact delivery: decision from srv_range; body from the shared mapping of the store
 * file (srv_mapcache), or a pread callback when the mapping budget is spent and for
 * multipart (flat memory). */
#include "srv_artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ota_json.h"
#include "ota_log.h"
#include "ota_store.h"
#include "ota_util.h"
#include "srv_auth.h"
#include "srv_ddi_json.h"
#include "srv_mapcache.h"
#include "srv_range.h"

#define CT_BYTES   "application/octet-stream"
#define CT_MINISIG "text/plain; charset=utf-8"

/* The body being streamed: a store file (fd) or a small owned buffer (signature). */
struct body {
    int fd;
    char *mem;
    uint64_t size;
    const char *ctype;
    struct srv_range_decision d;
    size_t hlen[SRV_RANGE_MAX]; /* multipart part header lengths */
    uint64_t *sent;             /* the request's byte counter; the callback runs only
                                 * while the request is alive */
};

static void body_free(void *cls)
{
    struct body *b = cls;

    if (!b)
        return;
    if (b->fd >= 0)
        close(b->fd);
    free(b->mem);
    free(b);
}

static ssize_t read_at(struct body *b, uint64_t off, char *buf, size_t n)
{
    ssize_t r;

    if (b->fd < 0) {
        memcpy(buf, b->mem + off, n);
        return (ssize_t)n;
    }
    do
        r = pread(b->fd, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    /* The store is immutable: a short file is corruption, not end of stream. */
    return r > 0 ? r : MHD_CONTENT_READER_END_WITH_ERROR;
}

static size_t min_sz(uint64_t a, size_t b)
{
    return a < b ? (size_t)a : b;
}

/* multipart/byteranges: the piece at @pos (a part header, a range's bytes or the
 * trailer), located by position; at most up to the end of that piece. */
static ssize_t read_multipart_piece(struct body *b, uint64_t pos, char *buf, size_t max)
{
    char hdr[SRV_RANGE_HDR_MAX];
    uint64_t off = 0;

    for (unsigned i = 0; i < b->d.nranges; i++) {
        uint64_t dlen = b->d.ranges[i].last - b->d.ranges[i].first + 1;
        if (pos < off + b->hlen[i]) {
            srv_range_part_header(&b->d, i, b->size, b->ctype, hdr, sizeof(hdr));
            size_t n = min_sz(off + b->hlen[i] - pos, max);
            memcpy(buf, hdr + (pos - off), n);
            return (ssize_t)n;
        }
        off += b->hlen[i];
        if (pos < off + dlen)
            return read_at(b, b->d.ranges[i].first + (pos - off), buf, min_sz(off + dlen - pos, max));
        off += dlen;
    }
    size_t tlen = srv_range_trailer(hdr, sizeof(hdr));
    if (pos >= off + tlen)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = min_sz(off + tlen - pos, max);
    memcpy(buf, hdr + (pos - off), n);
    return (ssize_t)n;
}

/* Fills @buf across piece boundaries: each return becomes at least one TLS record, and
 * SWUpdate's delta requests have 150 parts of a few dozen KiB, so handing over a part
 * header (~100 bytes) or a part's tail on its own would send hundreds of runt records.
 * An error after some bytes returns those; the next call meets the error again. */
static ssize_t read_multipart(struct body *b, uint64_t pos, char *buf, size_t max)
{
    size_t done = 0;

    while (done < max) {
        ssize_t r = read_multipart_piece(b, pos + done, buf + done, max - done);
        if (r < 0) {
            if (done > 0)
                break;
            return r;
        }
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct body *b = cls;
    ssize_t r;

    if (b->d.status == 206 && b->d.nranges > 1) {
        r = read_multipart(b, pos, buf, max);
    } else {
        uint64_t first = 0, len = b->size;
        if (b->d.status == 206) {
            first = b->d.ranges[0].first;
            len = b->d.ranges[0].last - first + 1;
        }
        if (pos >= len)
            return MHD_CONTENT_READER_END_OF_STREAM;
        r = read_at(b, first + pos, buf, min_sz(len - pos, max));
    }
    if (r > 0)
        *b->sent += (uint64_t)r;
    return r;
}

static void map_release(void *cls)
{
    srv_mapcache_put(cls);
}

/* A response that GnuTLS encrypts straight from the shared mapping of the store file
 * (srv_mapcache): @len bytes from @first. NULL when no mapping can be had; the caller
 * then streams. */
static struct MHD_Response *map_response(struct srv_mapcache *maps, const char *sha256, int fd,
                                         uint64_t size, uint64_t first, uint64_t len)
{
    struct srv_map *m = srv_mapcache_get(maps, sha256, fd, size);
    struct MHD_Response *resp;

    if (!m)
        return NULL;
    resp = MHD_create_response_from_buffer_with_free_callback_cls(
        (size_t)len, (void *)(m->addr + first), map_release, m);
    if (!resp)
        srv_mapcache_put(m);
    return resp;
}

/* Never called: MHD sends no body with a 304, only the headers of the response. */
static ssize_t no_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* A 304: RFC 9110 §8.6 allows Content-Length in it only with the length a 200 would have
 * (libmicrohttpd writes the response's size), so the response has that size and no body. */
static struct MHD_Response *not_modified_response(uint64_t size)
{
    return MHD_create_response_from_callback(size, 64, no_body_read, NULL, NULL);
}

static void add_validators(struct MHD_Response *resp, const char *etag, const char *lastmod,
                           bool edge)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, lastmod);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            edge ? "public, max-age=31536000, immutable"
                                 : "private, max-age=31536000, immutable");
}

enum MHD_Result srv_artifact_serve(struct srv_req *req, const char *sha256,
                                   enum srv_artifact_part part)
{
    struct ota_db *db = srv_req_db(req);
    struct ota_artifact *art = NULL;
    struct body *b = NULL;
    struct MHD_Response *resp = NULL;
    struct srv_range_input in;
    char etag[80], lastmod[40], crange[96];
    bool edge = req->kind == OTA_CLIENT_EDGE;
    struct srv_range_decision d;
    const char *ctype = NULL;
    uint64_t length, block;
    enum MHD_Result ret = MHD_NO;
    struct stat st;
    int r;

    if (!db) {
        ret = srv_reply_error(req, 503, "unavailable", "database unavailable");
        goto out;
    }
    r = ota_db_artifact_get(db, sha256, &art);
    if (req->public_only && (r == -ENOENT || (r == 0 && (!art->is_public || art->deleted_at)))) {
        /* The answer it would have had without public artifacts, whether or not the
         * artifact exists. */
        ret = req->anonymous ? srv_auth_refuse_no_cert(req) : srv_artifact_refuse(req, -ENOENT);
        goto out;
    }
    if (r == -ENOENT) {
        ret = srv_reply_error(req, 404, "not_found", "no such artifact");
        goto out;
    }
    if (r < 0) {
        ret = srv_reply_error(req, 503, "unavailable", "database unavailable");
        goto out;
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        goto out;
    b->fd = -1;
    b->sent = &req->bytes;
    if (part == SRV_ARTIFACT_BYTES) {
        b->ctype = CT_BYTES;
        b->fd = ota_store_open(req->ctx->cfg->paths.store, sha256);
        if (b->fd == -ENOENT) {
            /* Known to the database, not (yet) in this origin's store: with several
             * origins, a copy that has not arrived. 503, not 404: a CDN must not cache
             * it as gone, and a balancer or the vehicle tries again. */
            b->fd = -1;
            ota_warn("artifact %s is in the database but not in the store %s", sha256,
                     req->ctx->cfg->paths.store);
            ret = srv_reply_error(req, 503, "unavailable", "artifact missing from this origin's store");
            goto out;
        }
        if (b->fd < 0 || fstat(b->fd, &st) < 0 || (uint64_t)st.st_size != art->size) {
            if (b->fd < 0)
                b->fd = -1;
            ret = srv_reply_error(req, 500, "store", "artifact file unreadable or wrong size");
            goto out;
        }
        b->size = art->size;
        snprintf(etag, sizeof(etag), "\"%s\"", sha256);
    } else if (part == SRV_ARTIFACT_MINISIG) {
        b->ctype = CT_MINISIG;
        b->mem = strdup(art->signature ? art->signature : "");
        if (!b->mem)
            goto out;
        b->size = strlen(b->mem);
        snprintf(etag, sizeof(etag), "\"%s.minisig\"", sha256);
    } else {
        b->ctype = CT_MINISIG;
        if (srv_ddi_md5sum_body(art, &b->mem) < 0)
            goto out;
        b->size = strlen(b->mem);
        snprintf(etag, sizeof(etag), "\"%s.MD5SUM\"", sha256);
    }
    /* Last-Modified is the artifact's upload time from the database, not the file's
     * mtime: it survives store copies and restores, and the bytes never change. */
    ota_http_date(art->created_at, lastmod, sizeof(lastmod));
    in = (struct srv_range_input){
        .is_get = !req->is_head,
        .is_head = req->is_head,
        .if_match = srv_req_header(req, MHD_HTTP_HEADER_IF_MATCH),
        .if_unmodified_since = srv_req_header(req, MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE),
        .if_none_match = srv_req_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH),
        .if_modified_since = srv_req_header(req, MHD_HTTP_HEADER_IF_MODIFIED_SINCE),
        .range = srv_req_header(req, MHD_HTTP_HEADER_RANGE),
        .if_range = srv_req_header(req, MHD_HTTP_HEADER_IF_RANGE),
        .size = b->size,
        .etag = etag,
        .mtime = art->created_at,
        .max_parts = req->ctx->cfg->server.max_ranges,
    };
    srv_range_decide(&in, &b->d);

    switch (b->d.status) {
    case 304:
        resp = not_modified_response(b->size);
        if (!resp)
            goto out;
        add_validators(resp, etag, lastmod, edge);
        ret = srv_reply(req, 304, resp);
        goto out;
    case 412:
        ret = srv_reply_error(req, 412, "precondition_failed", "If-Match or If-Unmodified-Since failed");
        goto out;
    case 416: {
        char *body = NULL;
        if (ota_json_error("range_not_satisfiable", "no requested range overlaps the artifact",
                           &body) < 0)
            goto out;
        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(body);
            goto out;
        }
        if (!req->is_head)
            req->bytes += strlen(body);
        snprintf(crange, sizeof(crange), "bytes */%" PRIu64, b->size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        ret = srv_reply(req, 416, resp);
        goto out;
    }
    default:
        break;
    }
    d = b->d;
    if (d.status == 206 && d.nranges > 1) {
        char hdr[SRV_RANGE_HDR_MAX];
        for (unsigned i = 0; i < d.nranges; i++)
            b->hlen[i] = srv_range_part_header(&d, i, b->size, b->ctype, hdr, sizeof(hdr));
        length = srv_range_multipart_length(&d, b->size, b->ctype);
        ctype = "multipart/byteranges; boundary=" SRV_RANGE_BOUNDARY;
    } else if (d.status == 206) {
        length = d.ranges[0].last - d.ranges[0].first + 1;
        snprintf(crange, sizeof(crange), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                 d.ranges[0].first, d.ranges[0].last, b->size);
    } else {
        length = b->size;
    }
    if (!ctype)
        ctype = b->ctype;
    /* MHD allocates the whole block per response: small bodies and HEAD get small ones. */
    block = req->is_head ? 1024 : length < SRV_ARTIFACT_BLOCK ? (length > 1024 ? length : 1024)
                                                              : SRV_ARTIFACT_BLOCK;
    if (!req->is_head && b->fd >= 0 && length > 0 &&
        !(d.status == 206 && d.nranges > 1))
        resp = map_response(req->ctx->maps, sha256, b->fd, b->size,
                            d.status == 206 ? d.ranges[0].first : 0, length);
    if (resp) {
        req->bytes += length; /* all of it handed to MHD at once */
    } else {
        resp = MHD_create_response_from_callback(length, (size_t)block, body_read, b,
                                                 body_free);
        if (!resp)
            goto out;
        b = NULL; /* the response owns it now, and frees it with body_free() */
    }
    add_validators(resp, etag, lastmod, edge);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (d.status == 206 && d.nranges == 1)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
    if (!req->is_head && length >= SRV_ARTIFACT_CORK_MIN)
        srv_req_cork(req);
    ret = srv_reply(req, d.status, resp);
out:
    if (b)
        body_free(b);
    ota_artifact_free(art);
    return ret;
}

enum MHD_Result srv_artifact_refuse(struct srv_req *req, int r)
{
    if (r == -ENOENT) /* same answer as a missing artifact: existence is not leaked */
        return srv_reply_error(req, 404, "not_found", "no such artifact");
    if (r == -EAGAIN)
        return srv_reply_error(req, 409, "paused",
                               "the campaign is paused: keep polling GET /v1/updates");
    return srv_reply_error(req, 503, "unavailable", "database unavailable");
}

enum MHD_Result srv_artifact_get(struct srv_req *req, const char *rest, const char *upload,
                                 size_t *upload_size)
{
    char sha256[65];
    enum srv_artifact_part part = SRV_ARTIFACT_BYTES;
    size_t len = strlen(rest);
    int r;

    (void)upload;
    (void)upload_size;
    if (len == 64 + strlen(".minisig") && strcmp(rest + 64, ".minisig") == 0)
        part = SRV_ARTIFACT_MINISIG;
    else if (len == 64 + strlen(".MD5SUM") && strcmp(rest + 64, ".MD5SUM") == 0)
        part = SRV_ARTIFACT_MD5SUM; /* the md5sum link of hawkBit clients behind a CDN */
    else if (len != 64)
        return srv_reply_error(req, 404, "not_found", "no such artifact");
    memcpy(sha256, rest, 64);
    sha256[64] = '\0';
    if (!ota_sha256_hex_valid(sha256))
        return srv_reply_error(req, 404, "not_found", "no such artifact");
    if (req->kind == OTA_CLIENT_VEHICLE) {
        struct ota_db *db = srv_req_db(req);
        r = db ? ota_db_vehicle_may_fetch(db, req->client, sha256) : -EIO;
        /* Not one of its deployments: a public artifact (a delta's .zck the .swu points
         * at) it may still have, as anyone may. A paused deployment stays paused. */
        if (r == -ENOENT)
            req->public_only = true;
        else if (r < 0)
            return srv_artifact_refuse(req, r);
    }
    return srv_artifact_serve(req, sha256, part);
}
