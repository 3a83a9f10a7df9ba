/* The request helpers handlers share: headers, body, database, corking. */
#include "srv_req.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "srv_db.h"
#include "srv_route.h"

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
 * here holds until srv_req_uncork() takes it off, after the last byte was sent. */
void srv_req_cork(struct srv_req *req)
{
    int fd = conn_fd(req->conn), one = 1;

    if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) == 0)
        req->corked = true;
}

void srv_req_uncork(struct srv_req *req)
{
    int fd, zero = 0;

    if (!req->corked)
        return;
    /* pushes the body's last partial segment now, not after the 200 ms cork limit */
    fd = conn_fd(req->conn);
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));
    req->corked = false;
}

bool srv_req_body(struct srv_req *req, const char *upload, size_t *upload_size)
{
    size_t max = req->route ? (size_t)req->route->max_body : 0;

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
