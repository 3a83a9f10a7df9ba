/* The plain-HTTP admin listener: GET /healthz and GET /metrics (loopback by default). */
#pragma once
#include <microhttpd.h>

/* MHD access handler; @cls is the struct srv_ctx. */
enum MHD_Result srv_admin_dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls);
