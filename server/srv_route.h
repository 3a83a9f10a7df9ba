/* Request dispatch: per-connection identity, per-request state, the route table, replies
 * and the access log. Handlers live in their own files and are rows of the table. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>
#include "ota_db.h"
#include "srv_cache.h"
#include "srv_ctx.h"

struct srv_req;

/* Called once the peer is authenticated. Routes without SRV_ROUTE_BODY: once, when the
 * request is complete (*upload_size 0). With SRV_ROUTE_BODY: on every MHD call, the first
 * with req->first set (before any body; queueing a response then closes the
 * connection), then once per body chunk, then with *upload_size 0.
 * @rest is the URL after the route's path (for prefix routes). A handler queues a
 * response with srv_reply*() or returns MHD_YES to be called again. */
typedef enum MHD_Result srv_handler_fn(struct srv_req *req, const char *rest,
                                       const char *upload, size_t *upload_size);

enum srv_route_flags {
    SRV_ROUTE_PREFIX = 1 << 0,       /* path is a prefix; the rest goes to the handler */
    SRV_ROUTE_VEHICLE_ONLY = 1 << 1, /* edges get 403 */
    SRV_ROUTE_BODY = 1 << 2,         /* takes a request body: see srv_handler_fn */
    SRV_ROUTE_TENANT = 1 << 3,       /* hawkBit DDI: path follows a "/{tenant}" segment */
    /* The handler never writes to the database. Without it, the thread's answer cache is
     * dropped after every call of the handler (this thread's own commits do not change
     * its data_version). */
    SRV_ROUTE_READONLY = 1 << 4,
};

struct srv_route {
    const char *method;
    const char *path;
    unsigned flags;
    const char *name; /* metrics label */
    srv_handler_fn *fn;
};

/* One request; allocated on the first call, freed when MHD reports it completed. */
struct srv_req {
    struct srv_ctx *ctx;
    struct MHD_Connection *conn;
    const struct srv_route *route; /* NULL: none matched */
    unsigned route_slot;           /* metrics slot */
    const char *method;            /* MHD's, valid for the request */
    const char *url;
    const char *rest; /* url after the route's path */
    bool first;   /* during MHD's first call (headers only) */
    bool checked; /* route refusals (404, 405, edge 403) evaluated */
    bool is_head;
    char allow[64]; /* methods of the path, for 405 */
    char client[OTA_ID_MAX + 1]; /* the authenticated id, "" before */
    enum ota_client_kind kind;
    struct srv_cache *cache; /* this thread's, synced for this request; NULL: not usable */
    int64_t last_seen; /* the vehicle's, as read at authentication */
    int64_t start_us;
    unsigned status;
    uint64_t bytes; /* body bytes handed to MHD */
    bool corked;    /* srv_req_cork() held the socket's partial segments */
    /* request body, for handlers that take one */
    char *body;
    size_t body_len;
    bool body_too_large;
    char addr[64]; /* peer address, filled when the log line has no client id */
};

/* The request's header value or NULL (borrowed from MHD). */
const char *srv_req_header(struct srv_req *req, const char *name);

/* This thread's database, or NULL (the caller answers 503). */
struct ota_db *srv_req_db(struct srv_req *req);

/* For a large body: hold the socket's partial TCP segments (TCP_CORK) until the request
 * completes, so the body leaves in full segments instead of one packet per 16 KiB TLS
 * record (4x fewer packets, bench/README.md); the tail is pushed when the request ends.
 * Best effort: a failure costs packets, not bytes. */
void srv_req_cork(struct srv_req *req);

/* Queues @resp with @status. Takes @resp always (destroys it). */
enum MHD_Result srv_reply(struct srv_req *req, unsigned status, struct MHD_Response *resp);
/* A JSON error body {"error":code,"message":msg}. */
enum MHD_Result srv_reply_error(struct srv_req *req, unsigned status, const char *code,
                                const char *msg);
/* A body copied from @data. */
enum MHD_Result srv_reply_data(struct srv_req *req, unsigned status, const char *content_type,
                               const void *data, size_t len);
/* Empty body (204). */
enum MHD_Result srv_reply_empty(struct srv_req *req, unsigned status);

/* Accumulates a request body of at most @max bytes into req->body (NUL-terminated); past
 * that, the rest is discarded and req->body_too_large set. Returns true when the whole
 * body has arrived (the handler then answers). A Content-Length over @max sets
 * body_too_large on the first call and returns true at once. */
bool srv_req_body(struct srv_req *req, size_t max, const char *upload, size_t *upload_size);

/* MHD callbacks; @cls is the struct srv_ctx. */
enum MHD_Result srv_route_dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls);
void srv_route_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe);
void srv_route_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code);

/* The route table's labels for srv_metrics_new(): @ret_names/@ret_methods are static
 * arrays of *ret_n entries. */
void srv_route_labels(const char *const **ret_names, const char *const **ret_methods,
                      unsigned *ret_n);
