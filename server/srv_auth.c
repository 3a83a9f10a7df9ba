/* Peer authentication per request and the vehicle's last contact: see srv_auth.h. */
#include "srv_auth.h"

#include <errno.h>
#include <string.h>

#include "ota_util.h"
#include "srv_db.h"
#include "srv_metrics.h"
#include "srv_reply.h"
#include "srv_route.h"
#include "srv_tls.h"

int srv_auth_peer(struct srv_conn *sc)
{
    if (sc->verified == 0) {
        const union MHD_ConnectionInfo *ti =
            MHD_get_connection_info(sc->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        int r = ti ? srv_tls_peer_id(ti->tls_session, sc->id) : -ENOKEY;
        sc->verified = r == 0 ? 1 : r;
    }
    return sc->verified == 1 ? 0 : sc->verified;
}

enum MHD_Result srv_auth_refuse_no_cert(struct srv_req *req)
{
    srv_metrics_auth_failure(req->ctx->metrics, SRV_AUTH_NO_CERT);
    return srv_reply_error(req, 401, "no_certificate", "a client certificate is required");
}

/* The certificate, verified once per connection. Returns 0 or the refusal's errno. */
static int verify_peer(struct srv_req *req)
{
    struct srv_conn *sc = req->sc;
    struct srv_metrics *m = req->ctx->metrics;

    if (!sc) {
        srv_reply_error(req, 500, "internal", "no connection state");
        return -EIO;
    }
    (void)srv_auth_peer(sc);
    if (sc->verified == -ENOKEY) {
        srv_auth_refuse_no_cert(req);
        return -EACCES;
    }
    if (sc->verified < 0) {
        srv_metrics_auth_failure(m, SRV_AUTH_BAD_CERT);
        srv_reply_error(req, 401, "bad_certificate",
                        "the client certificate was not accepted (chain, dates, usage or id)");
        return -EACCES;
    }
    return 0;
}

int srv_auth_request(struct srv_req *req)
{
    struct srv_metrics *m = req->ctx->metrics;
    struct srv_cache_entry *e;
    struct ota_db *db;
    const char *id;
    int r;

    if (req->route && (req->route->flags & SRV_ROUTE_ANONYMOUS) && req->sc &&
        srv_auth_peer(req->sc) == -ENOKEY) {
        /* no certificate at all: public artifacts only, decided by the handler */
        req->anonymous = true;
        req->public_only = true;
        return 0;
    }
    if ((r = verify_peer(req)) < 0)
        return r;
    id = req->sc->id;
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
    e = req->cache ? srv_cache_entry(req->cache, id) : NULL;
    if (e && e->known) {
        r = e->lookup;
        req->kind = e->kind;
        req->last_seen = e->last_seen;
    } else {
        r = ota_db_client_lookup(db, id, &req->kind, &req->last_seen);
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
    memcpy(req->client, id, sizeof(req->client));
    return 0;
}

void srv_auth_touch(struct srv_req *req)
{
    int64_t now = ota_now();
    struct ota_db *db;

    if (!req->client[0] || req->kind != OTA_CLIENT_VEHICLE || req->status >= 400 ||
        now - req->last_seen < OTA_LAST_SEEN_GRANULARITY)
        return;
    db = srv_req_db(req);
    /* This write changes only last_seen, so the cached entry is corrected rather than
     * dropped. */
    if (db && ota_db_vehicle_touch(db, req->client, now) == 0 && req->cache) {
        struct srv_cache_entry *e = srv_cache_entry(req->cache, req->client);
        if (e && e->known)
            e->last_seen = now;
    }
}
