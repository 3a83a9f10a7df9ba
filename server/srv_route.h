/* Request dispatch: the route table, the libmicrohttpd callbacks (access handler,
 * completion, connection notifications), and what the request guard asks of the routes
 * (body limits) and tells them (refusals, for the access log and /metrics). Handlers
 * live in their own files and are rows of the table. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include "srv_guard.h"
#include "srv_reply.h"
#include "srv_req.h"

/* Called once the peer is authenticated and the route's own refusals passed (404, 405,
 * an edge on a vehicle route). Routes without SRV_ROUTE_BODY: once, when the request is
 * complete (*upload_size 0). With SRV_ROUTE_BODY: once per body chunk (the handler
 * consumes it, usually with srv_req_body()), then with *upload_size 0.
 * @rest is the URL after the route's path (for prefix routes). A handler queues a
 * response with srv_reply*() or returns MHD_YES to be called again. */
typedef enum MHD_Result srv_handler_fn(struct srv_req *req, const char *rest,
                                       const char *upload, size_t *upload_size);

enum srv_route_flags {
    SRV_ROUTE_PREFIX = 1 << 0,       /* path is a prefix; the rest goes to the handler */
    SRV_ROUTE_VEHICLE_ONLY = 1 << 1, /* edges get 403 */
    SRV_ROUTE_BODY = 1 << 2,         /* takes a request body of up to max_body bytes */
    SRV_ROUTE_TENANT = 1 << 3,       /* hawkBit DDI: path follows a "/{tenant}" segment */
    /* The handler never writes to the database. Without it, the thread's answer cache is
     * dropped after every call of the handler (this thread's own commits do not change
     * its data_version). */
    SRV_ROUTE_READONLY = 1 << 4,
    /* A client with no certificate at all reaches the handler (req->anonymous), which
     * serves public artifacts only; a bad certificate is refused as everywhere. */
    SRV_ROUTE_ANONYMOUS = 1 << 5,
};

struct srv_route {
    const char *method;
    const char *path;
    unsigned flags;
    const char *name;  /* metrics label */
    uint64_t max_body; /* SRV_ROUTE_BODY: larger bodies get 413 (srv_guard, before reading) */
    srv_handler_fn *fn;
};

/* MHD callbacks; @cls is the struct srv_ctx. */
enum MHD_Result srv_route_dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls);
void srv_route_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe);
void srv_route_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code);

/* A body sent where no route takes one is read and dropped up to this size, so the
 * answer is the route's own (404, 405, 403 or the resource), not a 413. */
#define SRV_ROUTE_DISCARD_MAX 4096

/* For srv_guard_new(), @cls the struct srv_ctx: the body limit of a route
 * (SRV_ROUTE_DISCARD_MAX when no route of that method and path takes a body), and the
 * refusals' log line and count. */
uint64_t srv_route_body_limit(void *cls, const char *method, const char *path);
void srv_route_refused(void *cls, struct srv_guard_conn *c, enum srv_frame_error e,
                       uint64_t bytes);

/* GnuTLS took @n plaintext bytes of @s's connection for the socket (srv_interpose.c calls
 * it; then set ctx->counts_sent). libmicrohttpd stores its connection as the session's
 * user pointer. */
void srv_route_sent(gnutls_session_t s, size_t n);

/* The route table's labels for srv_metrics_new(): @ret_names/@ret_methods are static
 * arrays of *ret_n entries. */
void srv_route_labels(const char *const **ret_names, const char *const **ret_methods,
                      unsigned *ret_n);
