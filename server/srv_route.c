/* Dispatch: authenticate the peer, find the route, call its handler, log and count. */
#include "srv_route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ota_json.h"
#include "ota_util.h"
#include "srv_alog.h"
#include "srv_api.h"
#include "srv_artifact.h"
#include "srv_db.h"
#include "srv_ddi.h"
#include "srv_metrics.h"
#include "srv_tls.h"

/* A new endpoint is a row here plus a handler in its own file. */
static const struct srv_route routes[] = {
#define RO SRV_ROUTE_READONLY
    { MHD_HTTP_METHOD_GET, "/v1/artifacts/", SRV_ROUTE_PREFIX | RO, "artifacts",
      srv_artifact_get },
    { MHD_HTTP_METHOD_HEAD, "/v1/artifacts/", SRV_ROUTE_PREFIX | RO, "artifacts",
      srv_artifact_get },
    { MHD_HTTP_METHOD_GET, "/v1/updates", SRV_ROUTE_VEHICLE_ONLY | RO, "updates",
      srv_updates_get },
    { MHD_HTTP_METHOD_HEAD, "/v1/updates", SRV_ROUTE_VEHICLE_ONLY | RO, "updates",
      srv_updates_get },
    { MHD_HTTP_METHOD_POST, "/v1/status", SRV_ROUTE_VEHICLE_ONLY | SRV_ROUTE_BODY, "status",
      srv_status_post },
    /* hawkBit DDI, /{tenant}/controller/v1/{controllerId}/...: srv_ddi.c checks the rest */
#define DDI_FLAGS (SRV_ROUTE_PREFIX | SRV_ROUTE_TENANT | SRV_ROUTE_VEHICLE_ONLY)
    { MHD_HTTP_METHOD_GET, "/controller/v1/", DDI_FLAGS, "ddi", srv_ddi_handle },
    { MHD_HTTP_METHOD_HEAD, "/controller/v1/", DDI_FLAGS, "ddi", srv_ddi_handle },
    { MHD_HTTP_METHOD_POST, "/controller/v1/", DDI_FLAGS | SRV_ROUTE_BODY, "ddi",
      srv_ddi_handle },
    { MHD_HTTP_METHOD_PUT, "/controller/v1/", DDI_FLAGS | SRV_ROUTE_BODY, "ddi",
      srv_ddi_handle },
};
#undef RO
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Per connection (MHD socket context): the peer's verified id, checked once. */
struct srv_conn {
    int verified; /* 0 not yet, 1 ok, or -ENOKEY / -EKEYREJECTED */
    bool handshake_done;
    char id[OTA_ID_MAX + 1];
};

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

const char *srv_req_header(struct srv_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct ota_db *srv_req_db(struct srv_req *req)
{
    return srv_db_get(req->ctx->db);
}

static int conn_fd(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

    return fi ? fi->connect_fd : -1;
}

/* libmicrohttpd 0.9.75 keeps its own idea of the cork state and, for a body sent with TLS,
 * leaves the socket alone once TCP_NODELAY is on (srv_route_connection): the cork set
 * here holds until srv_route_completed() takes it off, after the last byte was sent. */
void srv_req_cork(struct srv_req *req)
{
    int fd = conn_fd(req->conn), one = 1;

    if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) == 0)
        req->corked = true;
}

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

enum MHD_Result srv_reply_error(struct srv_req *req, unsigned status, const char *code,
                                const char *msg)
{
    char *body = NULL;
    enum MHD_Result ret;

    if (ota_json_error(code, msg, &body) < 0)
        return MHD_NO;
    ret = srv_reply_data(req, status, "application/json", body, strlen(body));
    free(body);
    return ret;
}

bool srv_req_body(struct srv_req *req, size_t max, const char *upload, size_t *upload_size)
{
    if (req->first) {
        const char *cl = srv_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t n;
        if (cl && ota_parse_u64(cl, UINT64_MAX, &n) == 0 && n > max) {
            req->body_too_large = true;
            return true; /* answer before the body is read */
        }
        return false;
    }
    if (*upload_size == 0)
        return true;
    if (!req->body_too_large && req->body_len + *upload_size <= max) {
        if (!req->body) {
            req->body = malloc(max + 1);
            if (!req->body) {
                req->body_too_large = true; /* answered 413; nothing else is safe */
                *upload_size = 0;
                return false;
            }
        }
        memcpy(req->body + req->body_len, upload, *upload_size);
        req->body_len += *upload_size;
        req->body[req->body_len] = '\0';
    } else {
        req->body_too_large = true; /* the rest is read and dropped, never kept */
    }
    *upload_size = 0;
    return false;
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
 * the path does have (for 405), or leaves it empty (404). */
static const struct srv_route *lookup(const char *method, const char *url, const char *tenant,
                                      const char **ret_rest, unsigned *ret_slot, char *allow,
                                      size_t allowlen)
{
    size_t off = 0;

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
        if (!strstr(allow, r->method)) {
            int n = snprintf(allow + off, allowlen - off, "%s%s", off ? ", " : "", r->method);
            if (n > 0 && (size_t)n < allowlen - off)
                off += (size_t)n;
        }
        *ret_slot = (unsigned)i;
    }
    return NULL;
}

/* Authenticates the peer: the certificate once per connection, the id on every request
 * (revocation takes effect on the next request). Queues the refusal itself. */
static int authenticate(struct srv_req *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct srv_conn *sc = ci ? ci->socket_context : NULL;
    struct srv_metrics *m = req->ctx->metrics;
    struct srv_cache_entry *e;
    struct ota_db *db;
    int r;

    if (!sc) {
        srv_reply_error(req, 500, "internal", "no connection state");
        return -EIO;
    }
    if (sc->verified == 0) {
        const union MHD_ConnectionInfo *ti =
            MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        r = ti ? srv_tls_peer_id(ti->tls_session, sc->id) : -ENOKEY;
        sc->verified = r == 0 ? 1 : r;
    }
    if (sc->verified == -ENOKEY) {
        srv_metrics_auth_failure(m, SRV_AUTH_NO_CERT);
        srv_reply_error(req, 401, "no_certificate", "a client certificate is required");
        return -EACCES;
    }
    if (sc->verified < 0) {
        srv_metrics_auth_failure(m, SRV_AUTH_BAD_CERT);
        srv_reply_error(req, 401, "bad_certificate",
                        "the client certificate was not accepted (chain, dates, usage or id)");
        return -EACCES;
    }
    db = srv_req_db(req);
    if (!db) {
        srv_reply_error(req, 503, "unavailable", "database unavailable");
        return -EIO;
    }
    /* Every answer this request takes from the cache is at least as new as this check:
     * a revocation committed before it is seen. */
    req->cache = srv_db_cache(req->ctx->db);
    if (req->cache && srv_cache_sync(req->cache, db) < 0)
        req->cache = NULL;
    e = req->cache ? srv_cache_entry(req->cache, sc->id) : NULL;
    if (e && e->known) {
        r = e->lookup;
        req->kind = e->kind;
        req->last_seen = e->last_seen;
    } else {
        r = ota_db_client_lookup(db, sc->id, &req->kind, &req->last_seen);
        if (e && (r == 0 || r == -ENOENT || r == -EACCES)) {
            e->known = true;
            e->lookup = r;
            e->kind = req->kind;
            e->last_seen = req->last_seen;
        }
    }
    if (r == -ENOENT || r == -EACCES) {
        srv_metrics_auth_failure(m, r == -ENOENT ? SRV_AUTH_UNKNOWN : SRV_AUTH_REVOKED);
        srv_reply_error(req, 403, r == -ENOENT ? "unknown_client" : "revoked",
                        r == -ENOENT ? "this client id is not registered"
                                     : "this client id is revoked");
        return -EACCES;
    }
    if (r < 0) {
        srv_reply_error(req, 503, "unavailable", "database unavailable");
        return -EIO;
    }
    memcpy(req->client, sc->id, sizeof(req->client));
    return 0;
}

/* Records a vehicle's contact after a request that was answered successfully: a refused
 * request changes nothing, and a poll writes at most once per OTA_LAST_SEEN_GRANULARITY. */
static void touch_vehicle(struct srv_req *req)
{
    int64_t now = ota_now();
    struct ota_db *db;

    if (!req->client[0] || req->kind != OTA_CLIENT_VEHICLE || req->status >= 400 ||
        now - req->last_seen < OTA_LAST_SEEN_GRANULARITY)
        return;
    db = srv_req_db(req);
    /* A failed touch (database busy) only leaves last_seen a little older. This write
     * changes only last_seen, so the cached entry is corrected rather than dropped. */
    if (db && ota_db_vehicle_touch(db, req->client, now) == 0 && req->cache) {
        struct srv_cache_entry *e = srv_cache_entry(req->cache, req->client);
        if (e && e->known)
            e->last_seen = now;
    }
}

/* Answers what needs no handler: 405, 404 and an edge on a vehicle endpoint. Returns
 * true when it queued a response. */
static bool refuse_route(struct srv_req *req, enum MHD_Result *ret)
{
    if (!req->route && req->allow[0]) {
        struct MHD_Response *resp;
        char *body = NULL;
        if (ota_json_error("method_not_allowed", "method not allowed on this path", &body) < 0) {
            *ret = MHD_NO;
            return true;
        }
        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(body);
            *ret = MHD_NO;
            return true;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, req->allow);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (!req->is_head)
            req->bytes += strlen(body);
        *ret = srv_reply(req, 405, resp);
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

enum MHD_Result srv_route_dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls)
{
    struct srv_ctx *ctx = cls;
    struct srv_req *req = *req_cls;
    enum MHD_Result ret;

    (void)version;
    if (req) {
        req->first = false;
        if (req->status) {
            *upload_size = 0; /* answered already: drop any body */
            return MHD_YES;
        }
        if (!req->checked) {
            if (*upload_size) {
                *upload_size = 0; /* a body this route does not take: read and dropped */
                return MHD_YES;
            }
            req->checked = true;
            if (refuse_route(req, &ret))
                return ret;
        }
        return call_handler(req, upload, upload_size);
    }
    req = calloc(1, sizeof(*req));
    if (!req)
        return MHD_NO;
    *req_cls = req;
    atomic_fetch_add(&ctx->active, 1);
    req->ctx = ctx;
    req->conn = conn;
    req->method = method;
    req->url = url;
    req->rest = "";
    req->first = true;
    req->is_head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    req->start_us = now_us();
    req->route_slot = NROUTES;
    req->route = lookup(method, url, ctx->cfg->server.tenant, &req->rest, &req->route_slot, req->allow,
                        sizeof(req->allow));
    /* libmicrohttpd 0.9.75 closes the connection after any response queued in this first
     * call, so only refusals that should end the connection are answered here: an
     * unauthenticated peer, or a body announced too large. Everything else waits for
     * the next call. */
    if (authenticate(req) < 0)
        return MHD_YES;
    if (req->route && (req->route->flags & SRV_ROUTE_BODY)) {
        /* The handler sees this call too, to refuse a body announced too large before
         * reading it. */
        req->checked = true;
        if (refuse_route(req, &ret))
            return ret;
        return call_handler(req, upload, upload_size);
    }
    return MHD_YES;
}

/* The access-log line under construction: appends stop at the end of the buffer. */
struct log_line {
    char buf[800];
    size_t len;
};

static void log_char(struct log_line *l, char c)
{
    if (l->len + 1 < sizeof(l->buf))
        l->buf[l->len++] = c;
}

static void log_str(struct log_line *l, const char *s)
{
    for (; *s; s++)
        log_char(l, *s);
}

/* @s as one field: at most @max bytes, no spaces or control bytes, "-" when empty. */
static void log_token(struct log_line *l, const char *s, size_t max)
{
    size_t i = 0;

    for (; s && s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        log_char(l, (c <= 0x20 || c == 0x7f) ? '?' : (char)c);
    }
    if (i == 0)
        log_char(l, '-');
}

/* @v in decimal, zero-padded to @width digits. */
static void log_u64(struct log_line *l, uint64_t v, unsigned width)
{
    char d[24];
    unsigned n = 0;

    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(d));
    while (n < width && n < sizeof(d))
        d[n++] = '0';
    while (n)
        log_char(l, d[--n]);
}

void srv_route_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct srv_ctx *ctx = cls;
    struct srv_req *req = *req_cls;
    struct log_line l = { .len = 0 };
    bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    uint64_t us;

    if (!req)
        return;
    *req_cls = NULL;
    if (req->corked) {
        int fd = conn_fd(conn), zero = 0;
        /* pushes the body's last partial segment now, not after the 200 ms cork limit */
        if (fd >= 0)
            (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));
    }
    us = (uint64_t)(now_us() - req->start_us);
    /* A request cut before any answer is logged as 499, as nginx does. */
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && req->status == 0)
        req->status = 499;
    srv_metrics_request(ctx->metrics, req->route_slot, req->status, req->bytes, us);
    touch_vehicle(req);
    /* ts method path status bytes ms client (DESIGN.md "Operation") */
    log_str(&l, srv_alog_time(ota_now()));
    log_char(&l, ' ');
    log_token(&l, req->method, 32);
    log_char(&l, ' ');
    log_token(&l, req->url, 511);
    log_char(&l, ' ');
    log_u64(&l, req->status, 1);
    log_char(&l, ' ');
    log_u64(&l, req->bytes, 1);
    log_char(&l, ' ');
    log_u64(&l, us / 1000, 1);
    log_char(&l, '.');
    log_u64(&l, us % 1000, 3);
    log_char(&l, ' ');
    if (!req->client[0])
        peer_addr(conn, req->addr, sizeof(req->addr));
    log_str(&l, req->client[0] ? req->client : req->addr);
    if (!ok)
        log_str(&l, " cut");
    l.buf[l.len++] = '\n'; /* log_char() keeps a byte free for it */
    /* Buffered until this thread next waits for the network (srv_alog.c); a cut request's
     * line (errors, shutdown) goes out at once. */
    if (ctx->access_fd >= 0)
        srv_alog_line(ctx->access_fd, l.buf, l.len, !ok);
    free(req->body);
    free(req);
    atomic_fetch_sub(&ctx->active, 1);
}

/* After the client's Finished: the handshake completed (counted at close otherwise).
 * libmicrohttpd stores its connection as the session's user pointer. */
static int handshake_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                          const gnutls_datum_t *msg)
{
    struct MHD_Connection *conn = gnutls_session_get_ptr(s);
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    struct srv_conn *sc = ci ? ci->socket_context : NULL;

    (void)htype;
    (void)when;
    (void)msg;
    if (sc && incoming)
        sc->handshake_done = true;
    return 0;
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
        int fd = conn_fd(conn), one = 1;

        /* libmicrohttpd sets TCP_NODELAY only around responses: without it from the start,
         * every handshake flight waits for Nagle + delayed ACK (~40 ms per connection).
         * A failure (not TCP) only costs latency. */
        if (fd >= 0)
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        sc = calloc(1, sizeof(*sc)); /* NULL: its requests get 500 */
        *socket_ctx = sc;
        if (session) {
            srv_tls_session_start(ctx->tls, session);
            if (gnutls_session_get_ptr(session) == conn)
                gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_FINISHED,
                                                   GNUTLS_HOOK_POST, handshake_hook);
            else if (sc)
                sc->handshake_done = true; /* cannot tell: never count a failure */
        }
        srv_metrics_connection(ctx->metrics, 1);
        return;
    }
    sc = *socket_ctx;
    if (session && sc && !sc->handshake_done)
        srv_metrics_tls_failure(ctx->metrics);
    srv_metrics_connection(ctx->metrics, -1);
    free(sc);
    *socket_ctx = NULL;
}
