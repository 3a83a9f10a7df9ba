/* Lock-free request counters and a latency histogram, rendered as Prometheus text. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ota_buf.h"
#include "srv_frame.h"

struct srv_metrics;

enum srv_auth_failure {
    SRV_AUTH_NO_CERT,  /* 401: no client certificate */
    SRV_AUTH_BAD_CERT, /* 401: chain, dates, key usage or CN refused */
    SRV_AUTH_UNKNOWN,  /* 403: id not registered */
    SRV_AUTH_REVOKED,  /* 403: id revoked */
    SRV_AUTH_EDGE,     /* 403: an edge on a vehicle endpoint */
    SRV_AUTH_FAILURE_COUNT
};

/* @route_names: @nroutes labels (borrowed, must outlive @m), one per route slot; slot
 * @nroutes is "other" (no route matched). On success *ret is new. 0 or -ENOMEM. */
int srv_metrics_new(const char *const *route_names, const char *const *route_methods,
                    unsigned nroutes, struct srv_metrics **ret);
void srv_metrics_free(struct srv_metrics *m);

/* One finished request: its route slot, status, body bytes sent and duration. */
void srv_metrics_request(struct srv_metrics *m, unsigned route, unsigned status, uint64_t bytes,
                         uint64_t usec);
void srv_metrics_connection(struct srv_metrics *m, int delta);
void srv_metrics_tls_failure(struct srv_metrics *m);
/* Adds @delta (may be negative) to the bytes of store files mapped by responses in flight
 * and returns the new total: srv_artifact's mapping budget and a gauge. */
int64_t srv_metrics_mapped(struct srv_metrics *m, int64_t delta);
void srv_metrics_auth_failure(struct srv_metrics *m, enum srv_auth_failure why);
/* A request srv_guard refused for its framing, and a connection it closed at the
 * header_timeout. */
void srv_metrics_refused(struct srv_metrics *m, enum srv_frame_error why);
void srv_metrics_header_timeout(struct srv_metrics *m);

/* The dashboard's traffic view: requests and body bytes in all and by route (those with
 * requests), connections open and accepted. A new object, or NULL without memory. */
json_t *srv_metrics_json(struct srv_metrics *m);
/* Appends the Prometheus text exposition to @b. 0, or @b's error (ota_buf_error). */
int srv_metrics_render(struct srv_metrics *m, struct ota_buf *b);
