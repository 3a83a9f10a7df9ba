/* The plain-HTTP admin listener: GET /healthz, /metrics, the dashboard and its API
 * (srv_dashboard.h); loopback by default. */
#pragma once
#include <microhttpd.h>

/* MHD access handler; @cls is the struct srv_ctx. */
enum MHD_Result srv_admin_dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls);

/* Queues @body (@len bytes, @mode as libmicrohttpd's) with its Content-Type, no-store and
 * nosniff; @csp, when not NULL, as Content-Security-Policy with framing denied (pages). */
enum MHD_Result srv_admin_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                               void *body, size_t len, enum MHD_ResponseMemoryMode mode,
                               const char *csp);
