/* The operator dashboard on the admin listener: its page and the read-only JSON API
 * under /api/v1/ (srv_dash_req.h lists them). Answers every request that
 * srv_dash_req_parse() does not call SRV_DASH_NONE. */
#pragma once
#include <stdbool.h>
#include <microhttpd.h>
#include "srv_ctx.h"

/* Whether @url is one of the dashboard's (its page files, anything under /api/). */
bool srv_dashboard_path(const char *url);

/* Answers @url on @conn (GET; for HEAD libmicrohttpd leaves the body out), or returns
 * false (and queues nothing) when it is none of the dashboard's paths. *ret the queue
 * result. */
bool srv_dashboard_answer(struct srv_ctx *ctx, struct MHD_Connection *conn, const char *url,
                          enum MHD_Result *ret);
