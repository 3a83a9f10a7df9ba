/* Queuing answers: every response a handler sends goes through one of these, which
 * record the status and the body bytes for the access log and /metrics. */
#pragma once
#include <stddef.h>
#include <microhttpd.h>
#include "srv_req.h"

/* Queues @resp with @status. Takes @resp always (destroys it). */
enum MHD_Result srv_reply(struct srv_req *req, unsigned status, struct MHD_Response *resp);
/* A JSON error body {"error":code,"message":msg}. */
enum MHD_Result srv_reply_error(struct srv_req *req, unsigned status, const char *code,
                                const char *msg);
/* A 405 JSON error with Allow: @allow. */
enum MHD_Result srv_reply_405(struct srv_req *req, const char *allow);
/* A body copied from @data. */
enum MHD_Result srv_reply_data(struct srv_req *req, unsigned status, const char *content_type,
                               const void *data, size_t len);
/* Empty body (204). */
enum MHD_Result srv_reply_empty(struct srv_req *req, unsigned status);
