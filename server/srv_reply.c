/* Queuing answers with their status and byte count recorded: see srv_reply.h. */
#include "srv_reply.h"

#include <stdlib.h>
#include <string.h>

#include "ota_json.h"

enum MHD_Result srv_reply(struct srv_req *req, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    req->status = status;
    ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result srv_reply_data(struct srv_req *req, unsigned status, const char *content_type,
                               const void *data, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);

    if (!resp)
        return MHD_NO;
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (!req->is_head)
        req->bytes += len;
    return srv_reply(req, status, resp);
}

enum MHD_Result srv_reply_empty(struct srv_req *req, unsigned status)
{
    return srv_reply(req, status,
                     MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

/* A JSON error response, not yet queued; NULL when out of memory. */
static struct MHD_Response *error_response(struct srv_req *req, const char *code,
                                           const char *msg)
{
    struct MHD_Response *resp;
    char *body = NULL;
    size_t len;

    if (ota_json_error(code, msg, &body) < 0)
        return NULL;
    len = strlen(body);
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (!req->is_head)
        req->bytes += len;
    return resp;
}

enum MHD_Result srv_reply_error(struct srv_req *req, unsigned status, const char *code,
                                const char *msg)
{
    return srv_reply(req, status, error_response(req, code, msg));
}

enum MHD_Result srv_reply_405(struct srv_req *req, const char *allow)
{
    struct MHD_Response *resp =
        error_response(req, "method_not_allowed", "method not allowed on this path");

    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return srv_reply(req, 405, resp);
}
