/* Dispatch: find the route, have the peer authenticated, call the handler, and account
 * for every request (access log, /metrics) including those the guard refused. */
#include "srv_route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ota_json.h"
#include "ota_util.h"
#include "srv_alog.h"
#include "srv_api.h"
#include "srv_artifact.h"
#include "srv_auth.h"
#include "srv_db.h"
#include "srv_ddi.h"
#include "srv_ddi_feedback.h"
#include "srv_frame.h"
#include "srv_metrics.h"
#include "srv_tls.h"

/* A new endpoint is a row here plus a handler in its own file. */
static const struct srv_route routes[] = {
#define RO SRV_ROUTE_READONLY
    { MHD_HTTP_METHOD_GET, "/v1/artifacts/", SRV_ROUTE_PREFIX | SRV_ROUTE_ANONYMOUS | RO, "artifacts", 0,
      srv_artifact_get },
    { MHD_HTTP_METHOD_HEAD, "/v1/artifacts/", SRV_ROUTE_PREFIX | SRV_ROUTE_ANONYMOUS | RO, "artifacts", 0,
      srv_artifact_get },
    { MHD_HTTP_METHOD_GET, "/v1/updates", SRV_ROUTE_VEHICLE_ONLY | RO, "updates", 0,
      srv_updates_get },
    { MHD_HTTP_METHOD_HEAD, "/v1/updates", SRV_ROUTE_VEHICLE_ONLY | RO, "updates", 0,
      srv_updates_get },
    { MHD_HTTP_METHOD_POST, "/v1/status", SRV_ROUTE_VEHICLE_ONLY | SRV_ROUTE_BODY, "status",
      OTA_STATUS_BODY_MAX, srv_status_post },
    /* hawkBit DDI, /{tenant}/controller/v1/{controllerId}/...: srv_ddi.c checks the rest */
#define DDI_FLAGS (SRV_ROUTE_PREFIX | SRV_ROUTE_TENANT | SRV_ROUTE_VEHICLE_ONLY)
    { MHD_HTTP_METHOD_GET, "/controller/v1/", DDI_FLAGS, "ddi", 0, srv_ddi_handle },
    { MHD_HTTP_METHOD_HEAD, "/controller/v1/", DDI_FLAGS, "ddi", 0, srv_ddi_handle },
    { MHD_HTTP_METHOD_POST, "/controller/v1/", DDI_FLAGS | SRV_ROUTE_BODY, "ddi",
      SRV_DDI_BODY_MAX, srv_ddi_handle },
    { MHD_HTTP_METHOD_PUT, "/controller/v1/", DDI_FLAGS | SRV_ROUTE_BODY, "ddi",
      SRV_DDI_BODY_MAX, srv_ddi_handle },
};
#undef RO
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *route_names[NROUTES];
static const char *route_methods[NROUTES];
static pthread_once_t labels_once = PTHREAD_ONCE_INIT;

static void fill_labels(void)
{
    for (size_t i = 0; i < NROUTES; i++) {
        route_names[i] = routes[i].name;
        route_methods[i] = routes[i].method;
    }
}

void srv_route_labels(const char *const **ret_names, const char *const **ret_methods,
                      unsigned *ret_n)
{
    pthread_once(&labels_once, fill_labels);
    *ret_names = route_names;
    *ret_methods = route_methods;
    *ret_n = NROUTES;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void peer_addr(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(buf, len, "-");
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
}

/* Who the log line names: the certificate's id when it was verified (refusals for an
 * unknown or revoked id included), else the peer's address. */
static const char *log_client(struct srv_conn *sc, struct MHD_Connection *conn, char *buf,
                              size_t len)
{
    if (sc && sc->verified == 1)
        return sc->id;
    peer_addr(conn, buf, len);
    return buf;
}

/* Strips "/<tenant>" from @url for SRV_ROUTE_TENANT rows; NULL when it does not start so.
 * hawkBit tenant names compare case-insensitively. */
static const char *after_tenant(const char *url, const char *tenant)
{
    size_t tlen = strlen(tenant);

    if (url[0] != '/' || tlen == 0 || strncasecmp(url + 1, tenant, tlen) != 0 ||
        url[1 + tlen] != '/')
        return NULL;
    return url + 1 + tlen;
}

/* Finds the route for @method and @url; on no match, fills @allow with the methods that
 * the path does have (for 405), or leaves it empty (404). @allow may be NULL. */
static const struct srv_route *lookup(const char *method, const char *url, const char *tenant,
                                      const char **ret_rest, unsigned *ret_slot, char *allow,
                                      size_t allowlen)
{
    size_t off = 0;

    if (allow)
        allow[0] = '\0';
    for (size_t i = 0; i < NROUTES; i++) {
        const struct srv_route *r = &routes[i];
        const char *u = (r->flags & SRV_ROUTE_TENANT) ? after_tenant(url, tenant) : url;
        size_t plen = strlen(r->path);
        bool match;

        if (!u)
            continue;
        match = (r->flags & SRV_ROUTE_PREFIX) ? strncmp(u, r->path, plen) == 0
                                              : strcmp(u, r->path) == 0;
        if (!match)
            continue;
        if (strcmp(method, r->method) == 0) {
            *ret_rest = u + plen;
            *ret_slot = (unsigned)i;
            return r;
        }
        if (allow && !strstr(allow, r->method)) {
            int n = snprintf(allow + off, allowlen - off, "%s%s", off ? ", " : "", r->method);
            if (n > 0 && (size_t)n < allowlen - off)
                off += (size_t)n;
        }
        *ret_slot = (unsigned)i;
    }
    return NULL;
}

uint64_t srv_route_body_limit(void *cls, const char *method, const char *path)
{
    const struct srv_ctx *ctx = cls;
    const struct srv_route *r;
    const char *rest;
    unsigned slot;

    r = lookup(method, path, ctx->cfg->server.tenant, &rest, &slot, NULL, 0);
    return r && (r->flags & SRV_ROUTE_BODY) ? r->max_body : SRV_ROUTE_DISCARD_MAX;
}

/* Answers what needs no handler: 405, 404 and an edge on a vehicle endpoint. Returns
 * true when it queued a response. */
static bool refuse_route(struct srv_req *req, enum MHD_Result *ret)
{
    if (!req->route && req->allow[0]) {
        *ret = srv_reply_405(req, req->allow);
        return true;
    }
    if (!req->route) {
        *ret = srv_reply_error(req, 404, "not_found", "no such resource");
        return true;
    }
    if ((req->route->flags & SRV_ROUTE_VEHICLE_ONLY) && req->kind != OTA_CLIENT_VEHICLE) {
        srv_metrics_auth_failure(req->ctx->metrics, SRV_AUTH_EDGE);
        *ret = srv_reply_error(req, 403, "forbidden", "this endpoint is for vehicles only");
        return true;
    }
    return false;
}

/* Runs the route's handler. One that may write drops this thread's cache right after,
 * before this thread serves any other request. */
static enum MHD_Result call_handler(struct srv_req *req, const char *upload,
                                    size_t *upload_size)
{
    enum MHD_Result ret = req->route->fn(req, req->rest, upload, upload_size);

    if (!(req->route->flags & SRV_ROUTE_READONLY))
        srv_cache_flush(srv_db_cache(req->ctx->db));
    return ret;
}

static struct srv_conn *conn_state(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

/* The first call, headers complete: the request's state, its route and its peer. */
static enum MHD_Result begin(struct srv_ctx *ctx, struct MHD_Connection *conn, const char *url,
                             const char *method, void **req_cls)
{
    struct srv_req *req = calloc(1, sizeof(*req));
    enum MHD_Result ret;
    size_t plen;

    if (!req)
        return MHD_NO;
    *req_cls = req;
    atomic_fetch_add(&ctx->active, 1);
    req->ctx = ctx;
    req->conn = conn;
    req->sc = conn_state(conn);
    if (req->sc) {
        req->sc->in_request = true;
        req->sent_at_start = req->sc->sent;
    }
    req->method = method;
    /* An absolute-form target (§3.2.2 of RFC 9112) comes whole from libmicrohttpd, which
     * split off the query; routes see its path. */
    req->url = srv_frame_target_path(url, &plen);
    if (req->url[0] == '\0')
        req->url = url; /* "*" and the like: no route has it */
    req->rest = "";
    req->is_head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    req->start_us = now_us();
    req->route_slot = NROUTES;
    req->route = lookup(method, req->url, ctx->cfg->server.tenant, &req->rest, &req->route_slot,
                        req->allow, sizeof(req->allow));
    /* An answer queued in this first call ends the connection when a body was announced
     * (libmicrohttpd 0.9.75 does not read it then): right for refusals. Other answers
     * wait for the final call so the connection stays open. */
    if (srv_auth_request(req) < 0)
        return MHD_YES;
    if (req->route && (req->route->flags & SRV_ROUTE_BODY)) {
        req->checked = true;
        if (refuse_route(req, &ret))
            return ret;
    }
    return MHD_YES;
}

enum MHD_Result srv_route_dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls)
{
    struct srv_req *req = *req_cls;
    enum MHD_Result ret;

    (void)version;
    if (!req)
        return begin(cls, conn, url, method, req_cls);
    if (req->status) {
        *upload_size = 0; /* answered already: drop any body */
        return MHD_YES;
    }
    if (*upload_size && !(req->route && (req->route->flags & SRV_ROUTE_BODY))) {
        /* srv_guard lets no body through to a route without SRV_ROUTE_BODY; without the
         * guard it is read and dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (!req->checked) {
        req->checked = true;
        if (refuse_route(req, &ret))
            return ret;
    }
    return call_handler(req, upload, upload_size);
}

/* A hawkBit download's bytes onto its deployment (DESIGN.md: campaign show counts them). A
 * failure leaves the count short; the download itself succeeded. */
static void account_bytes(struct srv_req *req)
{
    struct ota_db *db;

    if (!req->bytes_campaign || !req->bytes || (req->status != 200 && req->status != 206) ||
        !(db = srv_req_db(req)))
        return;
    (void)ota_db_deployment_add_bytes(db, req->bytes_campaign, req->client, req->bytes);
}

void srv_route_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct srv_ctx *ctx = cls;
    struct srv_req *req = *req_cls;
    struct srv_alog_entry e;
    char addr[64];
    bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;

    if (!req)
        return;
    *req_cls = NULL;
    srv_req_uncork(req);
    if (req->sc)
        req->sc->in_request = false;
    e = (struct srv_alog_entry){
        .ts = ota_now(),
        .method = req->method,
        .path = req->url,
        .us = (uint64_t)(now_us() - req->start_us),
        .client = req->client[0] ? req->client : log_client(req->sc, conn, addr, sizeof(addr)),
        .cut = !ok,
    };
    if (!ok && req->status == 0 && req->sc && req->sc->refusal) {
        /* srv_guard refused its body: the refusal is what it got */
        req->status = srv_frame_error_status(req->sc->refusal);
        req->bytes = req->sc->refusal_bytes;
        srv_metrics_refused(ctx->metrics, req->sc->refusal);
        req->sc->refusal = SRV_FRAME_OK;
    }
    /* A cut answer counts what went to the socket, not what MHD was handed (a download
     * cut after 1 MB is not the whole artifact); its headers are in that count. */
    if (!ok && ctx->counts_sent && req->sc && req->sc->sent - req->sent_at_start < req->bytes)
        req->bytes = req->sc->sent - req->sent_at_start;
    /* A request cut before any answer is logged as 499, as nginx does. */
    if (!ok && req->status == 0)
        req->status = 499;
    e.status = req->status;
    e.bytes = req->bytes;
    srv_metrics_request(ctx->metrics, req->route_slot, req->status, req->bytes, e.us);
    srv_auth_touch(req);
    account_bytes(req);
    srv_alog_request(ctx->access_fd, &e);
    free(req->body);
    free(req);
    atomic_fetch_sub(&ctx->active, 1);
}

void srv_route_refused(void *cls, struct srv_guard_conn *c, enum srv_frame_error why,
                       uint64_t bytes)
{
    struct srv_ctx *ctx = cls;
    struct srv_conn *sc = (struct srv_conn *)((char *)c - offsetof(struct srv_conn, guard));
    const struct srv_frame *f = srv_guard_conn_frame(c);
    char addr[64];
    struct srv_alog_entry e = {
        .ts = ota_now(),
        .method = srv_frame_method(f),
        .path = srv_frame_target(f),
        .status = srv_frame_error_status(why),
        .bytes = bytes,
        .cut = true,
    };

    if (sc->in_request) {
        /* its request is logged when libmicrohttpd completes it, with this status */
        sc->refusal = why;
        sc->refusal_bytes = bytes;
        return;
    }
    if (sc->handshake_done)
        (void)srv_auth_peer(sc); /* names the sender in the log when its certificate is good */
    e.client = log_client(sc, sc->conn, addr, sizeof(addr));
    srv_metrics_refused(ctx->metrics, why);
    srv_metrics_request(ctx->metrics, NROUTES, e.status, bytes, 0);
    srv_alog_request(ctx->access_fd, &e);
}

void srv_route_sent(gnutls_session_t s, size_t n)
{
    struct MHD_Connection *conn = gnutls_session_get_ptr(s);
    struct srv_conn *sc = conn ? conn_state(conn) : NULL;

    if (sc)
        sc->sent += n;
}

/* After the client's Finished: the handshake completed (counted at close otherwise).
 * libmicrohttpd stores its connection as the session's user pointer. */
static int handshake_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                          const gnutls_datum_t *msg)
{
    struct MHD_Connection *conn = gnutls_session_get_ptr(s);
    struct srv_conn *sc = conn ? conn_state(conn) : NULL;

    (void)htype;
    (void)when;
    (void)msg;
    if (sc && incoming)
        sc->handshake_done = true;
    return 0;
}

static void connection_started(struct srv_ctx *ctx, struct MHD_Connection *conn,
                               gnutls_session_t session, void **socket_ctx)
{
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = fi ? fi->connect_fd : -1, one = 1;
    struct srv_conn *sc;

    /* libmicrohttpd sets TCP_NODELAY only around responses: without it from the start,
     * every handshake flight waits for Nagle + delayed ACK (~40 ms per connection).
     * A failure (not TCP) only costs latency. */
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    srv_metrics_connection(ctx->metrics, 1);
    sc = calloc(1, sizeof(*sc));
    *socket_ctx = sc;
    if (sc)
        sc->conn = conn;
    if (!sc || !session || !ctx->guard ||
        srv_guard_conn_start(ctx->guard, &sc->guard, fd, session) < 0) {
        /* Unguarded is never served: the peer sees the connection close. */
        if (fd >= 0)
            (void)shutdown(fd, SHUT_RDWR);
        return;
    }
    srv_tls_session_start(ctx->tls, session);
    if (gnutls_session_get_ptr(session) == conn)
        gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_FINISHED,
                                           GNUTLS_HOOK_POST, handshake_hook);
    else
        sc->handshake_done = true; /* cannot tell: never count a failure */
}

void srv_route_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct srv_ctx *ctx = cls;
    const union MHD_ConnectionInfo *ti =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = ti ? ti->tls_session : NULL;
    struct srv_conn *sc;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        connection_started(ctx, conn, session, socket_ctx);
        return;
    }
    sc = *socket_ctx;
    if (sc && srv_guard_conn_end(&sc->guard)) {
        /* header_timeout: a header section (or the handshake) that did not arrive in time */
        char addr[64];
        struct srv_alog_entry e = {
            .ts = ota_now(),
            .method = srv_frame_method(srv_guard_conn_frame(&sc->guard)),
            .path = srv_frame_target(srv_guard_conn_frame(&sc->guard)),
            .status = 408,
            .client = log_client(sc, conn, addr, sizeof(addr)),
            .cut = true,
        };
        srv_metrics_header_timeout(ctx->metrics);
        srv_metrics_request(ctx->metrics, NROUTES, 408, 0, 0);
        srv_alog_request(ctx->access_fd, &e);
    }
    if (session && sc && !sc->handshake_done)
        srv_metrics_tls_failure(ctx->metrics);
    srv_metrics_connection(ctx->metrics, -1);
    free(sc);
    *socket_ctx = NULL;
}
