/* Vehicle REST handlers: thin wrappers over ota_status (common) with HTTP semantics. */
#include "srv_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "ota_json.h"
#include "ota_status.h"
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

enum MHD_Result srv_updates_get(struct srv_req *req, const char *rest, const char *upload,
                                size_t *upload_size)
{
    struct ota_db *db = srv_req_db(req);
    struct ota_deployment *d = NULL;
    struct MHD_Response *resp = NULL;
    const char *inm;
    char *body = NULL;
    char etag[40];
    size_t len;
    unsigned status = 200;
    enum MHD_Result ret = MHD_NO;
    int r;

    (void)rest;
    (void)upload;
    (void)upload_size;
    if (!db)
        return srv_reply_error(req, 503, "unavailable", "database unavailable");
    r = ota_db_deployment_current(db, req->client, &d);
    if (r == -ENOENT)
        return srv_reply_empty(req, 204);
    if (r < 0)
        return srv_reply_error(req, 503, "unavailable", "database unavailable");
    r = ota_status_update_body(db, d, req->ctx->cfg->server.poll_after, 0, &body);
    if (r < 0) {
        ret = r == -ENOMEM ? MHD_NO
                           : srv_reply_error(req, r == -ENOENT ? 500 : 503, "unavailable",
                                             "the update cannot be described now");
        goto out;
    }
    len = strlen(body);
    body_etag(body, len, etag, sizeof(etag));
    inm = srv_req_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && srv_etag_list_match(inm, etag, true)) {
        status = 304;
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (resp) {
            body = NULL; /* resp owns it */
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
            if (!req->is_head)
                req->bytes += len;
        }
    }
    if (!resp)
        goto out;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "private, no-cache");
    ret = srv_reply(req, status, resp);
out:
    free(body);
    ota_deployment_free(d);
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
    if (!srv_req_body(req, OTA_STATUS_BODY_MAX, upload, upload_size))
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
    r = ota_status_apply(db, req->client, &rep, "rest", req->ctx->cfg->server.poll_after, err,
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
