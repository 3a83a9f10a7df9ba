/* Who is asking: the client certificate verified once per connection (srv_tls), its id
 * looked up on every request (revocation takes effect on the next one), refusals
 * answered and counted; and the vehicle's last contact recorded after a success. */
#pragma once
#include "srv_req.h"

/* Verifies the connection's client certificate, once (after its handshake): 0 with
 * sc->id set, -ENOKEY (none presented) or -EKEYREJECTED. */
int srv_auth_peer(struct srv_conn *sc);

/* Authenticates @req's peer: 0 with req->client and req->kind set (or, on a
 * SRV_ROUTE_ANONYMOUS route without any certificate, req->anonymous), or a negative errno
 * with the refusal (401, 403 or 503, JSON) already queued. */
int srv_auth_request(struct srv_req *req);

/* The 401 for a request without a client certificate, counted in the metrics. */
enum MHD_Result srv_auth_refuse_no_cert(struct srv_req *req);

/* After a request answered below 400 by a vehicle: records its contact time, at most once
 * per OTA_LAST_SEEN_GRANULARITY. A failure only leaves last_seen a little older. */
void srv_auth_touch(struct srv_req *req);
