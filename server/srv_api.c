/* Vehicle REST handlers: thin wrappers over ota_status (common) with HTTP semantics. */
#include "srv_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "ota_cdn.h"
#include "ota_json.h"
#include "ota_util.h"
#include "ota_status.h"
#include "srv_cache.h"
#include "srv_range.h"

/* Strong ETag of an update body: its SHA-256 cut to 128 bits ("u<32 hex>"). */
static void body_etag(const char *body, size_t len, char *etag, size_t etaglen)
{
    uint8_t dig[32];
    char hex[33];

    gnutls_hash_fast(GNUTLS_DIG_SHA256, body, len, dig);
    ota_hex(dig, 16, hex);
    snprintf(etag, etaglen, "\"u%s\"", hex);
}

/* Never called: MHD sends no body with a 304. */
static ssize_t no_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* Builds the vehicle's answer from the database: *ret_none when it has no current
 * deployment, else new 200 and 304 responses in *ret_200 and *ret_304, and the ETag. On error
 * queues the refusal itself and returns it in *ret_mhd. Returns 0 or negative. */
static int updates_build(struct srv_req *req, struct ota_db *db, bool *ret_none,
                         struct MHD_Response **ret_200, struct MHD_Response **ret_304,
                         char *etag, size_t etaglen, size_t *ret_len, enum MHD_Result *ret_mhd)
{
    struct ota_deployment *d = NULL;
    struct MHD_Response *r200 = NULL, *r304 = NULL;
    char *body = NULL, link[OTA_CDN_LINK_MAX];
    size_t len;
    int r;

    r = ota_db_deployment_current(db, req->client, &d);
    if (r == -ENOENT) {
        *ret_none = true;
        r = 0;
        goto out;
    }
    if (r < 0) {
        *ret_mhd = srv_reply_error(req, 503, "unavailable", "database unavailable");
        goto out;
    }
    if (req->ctx->cdn) {
        char path[96];

        snprintf(path, sizeof(path), "/v1/artifacts/%s", d->artifact);
        r = ota_cdn_link(req->ctx->cdn, path, req->client,
                         ota_cdn_expiry(req->ctx->cdn, ota_now()), link, sizeof(link));
        if (r < 0) {
            *ret_mhd = srv_reply_error(req, 500, "cdn", "the CDN link cannot be made");
            goto out;
        }
    }
    r = ota_status_update_body(db, d, req->ctx->cdn ? link : NULL,
                               req->ctx->cfg->server.poll_after, 0, &body);
    if (r < 0) {
        *ret_mhd = r == -ENOMEM ? MHD_NO
                                : srv_reply_error(req, r == -ENOENT ? 500 : 503, "unavailable",
                                                  "the update cannot be described now");
        goto out;
    }
    len = strlen(body);
    body_etag(body, len, etag, etaglen);
    r = -ENOMEM;
    *ret_mhd = MHD_NO;
    r200 = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r200)
        goto out;
    body = NULL; /* r200 owns it */
    /* RFC 9110 §8.6: a 304's Content-Length (libmicrohttpd writes the response's size)
     * must be the length of the 200 body, so the 304 has that size and no body. */
    r304 = MHD_create_response_from_callback(len, 64, no_body_read, NULL, NULL);
    if (!r304)
        goto out;
    if (MHD_add_response_header(r200, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
            MHD_YES ||
        MHD_add_response_header(r200, MHD_HTTP_HEADER_ETAG, etag) != MHD_YES ||
        MHD_add_response_header(r200, MHD_HTTP_HEADER_CACHE_CONTROL, "private, no-cache") !=
            MHD_YES ||
        MHD_add_response_header(r304, MHD_HTTP_HEADER_ETAG, etag) != MHD_YES ||
        MHD_add_response_header(r304, MHD_HTTP_HEADER_CACHE_CONTROL, "private, no-cache") !=
            MHD_YES)
        goto out;
    *ret_none = false;
    *ret_200 = r200;
    *ret_304 = r304;
    *ret_len = len;
    r200 = r304 = NULL;
    r = 0;
out:
    if (r200)
        MHD_destroy_response(r200);
    if (r304)
        MHD_destroy_response(r304);
    free(body);
    ota_deployment_free(d);
    return r;
}

/* The answer comes from this thread's cache when it holds it for the data_version checked
 * at authentication; a 304 then costs no allocation and no query. */
enum MHD_Result srv_updates_get(struct srv_req *req, const char *rest, const char *upload,
                                size_t *upload_size)
{
    struct ota_db *db = srv_req_db(req);
    struct srv_cache_entry *e = req->cache ? srv_cache_entry(req->cache, req->client) : NULL;
    struct MHD_Response *r200 = NULL, *r304 = NULL;
    enum MHD_Result mret = MHD_NO;
    const char *inm, *etag;
    char etagbuf[40];
    size_t len = 0;
    bool none = false, match;
    enum MHD_Result ret;

    (void)rest;
    (void)upload;
    (void)upload_size;
    if (e && e->update == SRV_CACHE_UPDATE_NONE)
        return srv_reply_empty(req, 204);
    /* A CDN link in the cached body expires: a new half-period makes a new body. */
    if (e && e->update == SRV_CACHE_UPDATE_BODY && req->ctx->cdn &&
        e->cdn_period != ota_cdn_period(req->ctx->cdn, ota_now()))
        e->update = SRV_CACHE_UPDATE_UNKNOWN;
    if (e && e->update == SRV_CACHE_UPDATE_BODY) {
        r200 = e->resp200;
        r304 = e->resp304;
        etag = e->etag;
        len = e->body_len;
    } else {
        if (!db)
            return srv_reply_error(req, 503, "unavailable", "database unavailable");
        if (updates_build(req, db, &none, &r200, &r304, etagbuf, sizeof(etagbuf), &len,
                          &mret) < 0)
            return mret;
        if (none) {
            if (e)
                e->update = SRV_CACHE_UPDATE_NONE;
            return srv_reply_empty(req, 204);
        }
        etag = etagbuf;
        if (e) {
            srv_cache_set_update(e, r200, r304, etagbuf, len); /* takes both */
            if (e->update != SRV_CACHE_UPDATE_BODY)
                return MHD_NO;
            e->cdn_period = req->ctx->cdn ? ota_cdn_period(req->ctx->cdn, ota_now()) : 0;
            r200 = e->resp200;
            r304 = e->resp304;
            etag = e->etag;
        }
    }
    inm = srv_req_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    match = inm && srv_etag_list_match(inm, etag, true);
    if (!match && !req->is_head)
        req->bytes += len;
    req->status = match ? 304 : 200;
    ret = MHD_queue_response(req->conn, req->status, match ? r304 : r200);
    if (!e) {
        /* not cached: ours alone */
        MHD_destroy_response(r200);
        MHD_destroy_response(r304);
    }
    return ret;
}

enum MHD_Result srv_status_post(struct srv_req *req, const char *rest, const char *upload,
                                size_t *upload_size)
{
    struct ota_status_report rep;
    struct ota_db *db;
    char err[256] = "";
    int r;

    (void)rest;
    if (!srv_req_body(req, upload, upload_size))
        return MHD_YES; /* more body to come */
    if (req->body_too_large)
        return srv_reply_error(req, 413, "too_large", "the status report is too large");
    r = ota_json_status_decode(req->body ? req->body : "", req->body_len, &rep, err, sizeof(err));
    if (r == -EMSGSIZE)
        return srv_reply_error(req, 413, "too_large", "the status report is too large");
    if (r < 0)
        return srv_reply_error(req, 400, "bad_request", err[0] ? err : "malformed report");
    db = srv_req_db(req);
    if (!db)
        return srv_reply_error(req, 503, "unavailable", "database unavailable");
    r = ota_status_apply(db, req->client, &rep, "rest", req->ctx->cfg->server.poll_after, 0, err,
                         sizeof(err));
    switch (r) {
    case 0:
    case OTA_STATUS_DUPLICATE:
        return srv_reply_empty(req, 204);
    case -ENOENT:
    case -EPERM:
        return srv_reply_error(req, 409, "conflict", err[0] ? err : "report refused");
    case -EBUSY:
        return srv_reply_error(req, 503, "busy", "database busy, retry");
    default:
        return srv_reply_error(req, 500, "internal", "the report could not be stored");
    }
}
