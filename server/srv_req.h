/* One connection and one request as the handlers see them: the peer's identity, the
 * request's state, and the helpers that read the request (headers, body, database). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>
#include "ota_db.h"
#include "srv_cache.h"
#include "srv_ctx.h"
#include "srv_guard.h"

struct srv_route;

/* Per connection (MHD's socket context), from its notification STARTED to CLOSED. */
struct srv_conn {
    struct MHD_Connection *conn;
    int verified; /* 0 not yet, 1 ok, or -ENOKEY / -EKEYREJECTED (srv_auth) */
    bool handshake_done;
    bool in_request; /* a struct srv_req exists for the current request */
    char id[OTA_ID_MAX + 1]; /* the certificate's id once verified */
    struct srv_guard_conn guard;
    /* srv_guard refused the current request's body: its completion logs this */
    enum srv_frame_error refusal;
    uint64_t refusal_bytes;
    /* plaintext bytes GnuTLS took for the socket (srv_route_sent()), responses' headers
     * included: what a cut download really cost */
    uint64_t sent;
};

/* One request; allocated on the first call, freed when MHD reports it completed. */
struct srv_req {
    struct srv_ctx *ctx;
    struct MHD_Connection *conn;
    struct srv_conn *sc;           /* NULL only when MHD gave no socket context */
    const struct srv_route *route; /* NULL: none matched */
    unsigned route_slot;           /* metrics slot */
    const char *method;            /* MHD's, valid for the request */
    const char *url;               /* the path: an absolute-form target's prefix removed */
    const char *rest;              /* url after the route's path */
    bool checked; /* route refusals (404, 405, edge 403) evaluated */
    bool is_head;
    char allow[64]; /* methods of the path, for 405 */
    char client[OTA_ID_MAX + 1]; /* the authenticated id, "" before */
    enum ota_client_kind kind;
    bool anonymous;   /* no client certificate, on a SRV_ROUTE_ANONYMOUS route */
    bool public_only; /* only a public artifact may be served (srv_artifact.c) */
    struct srv_cache *cache; /* this thread's, synced for this request; NULL: not usable */
    int64_t last_seen; /* the vehicle's, as read at authentication */
    int64_t start_us;
    unsigned status;
    uint64_t bytes; /* body bytes handed to MHD; at completion, the ones sent */
    uint64_t sent_at_start; /* sc->sent when the request began */
    bool corked;    /* srv_req_cork() held the socket's partial segments */
    /* a hawkBit download of this campaign's artifact: its bytes count on the deployment
     * when the request completes (0: none) */
    int64_t bytes_campaign;
    /* request body, for handlers that take one */
    char *body;
    size_t body_len;
    bool body_too_large;
};

/* The request's header value or NULL (borrowed from MHD). srv_frame refused every
 * request whose values held a NUL, so the C string is the whole value. */
const char *srv_req_header(struct srv_req *req, const char *name);

/* This thread's database, or NULL (the caller answers 503). */
struct ota_db *srv_req_db(struct srv_req *req);

/* For a large body: hold the socket's partial TCP segments (TCP_CORK) until the request
 * completes, so the body leaves in full segments instead of one packet per 16 KiB TLS
 * record (4x fewer packets, bench/README.md); the tail is pushed when the request ends.
 * Best effort: a failure costs packets, not bytes. */
void srv_req_cork(struct srv_req *req);
/* Undoes srv_req_cork() (when the request ends). */
void srv_req_uncork(struct srv_req *req);

/* Accumulates a request body of at most the route's max_body bytes into req->body
 * (NUL-terminated); past that (which srv_guard refuses first on the mTLS listener) the
 * rest is discarded and req->body_too_large set. Returns true when the whole body has
 * arrived (*upload_size 0: the handler then answers). */
bool srv_req_body(struct srv_req *req, const char *upload, size_t *upload_size);
