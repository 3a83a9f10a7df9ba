/* Server metrics: relaxed atomics only, so counting never serialises the worker threads. */
#include "srv_metrics.h"

#include "ota_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "srv_frame.h"

static const unsigned statuses[] = { 200, 204, 206, 304, 400, 401, 403, 404, 405, 408,
                                     409, 410, 412, 413, 416, 431, 499, 500, 503, 505 };
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1) /* + "other" */

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const uint64_t buckets_us[] = { 1000,   5000,    10000,   25000,   50000,  100000,
                                       250000, 500000,  1000000, 2500000, 5000000, 10000000 };
#define NBUCKETS (sizeof(buckets_us) / sizeof(buckets_us[0]) + 1)

static const char *const auth_names[SRV_AUTH_FAILURE_COUNT] = {
    [SRV_AUTH_NO_CERT] = "no_cert", [SRV_AUTH_BAD_CERT] = "bad_cert",
    [SRV_AUTH_UNKNOWN] = "unknown", [SRV_AUTH_REVOKED] = "revoked",
    [SRV_AUTH_EDGE] = "edge_forbidden",
};

struct slot {
    atomic_uint_fast64_t requests[NSTATUS];
    atomic_uint_fast64_t bytes;
};

struct srv_metrics {
    const char *const *names;
    const char *const *methods;
    unsigned nroutes;
    struct slot *slots; /* nroutes + 1 */
    atomic_uint_fast64_t latency[NBUCKETS];
    atomic_uint_fast64_t latency_sum_us;
    atomic_uint_fast64_t latency_count;
    atomic_int_fast64_t connections;
    atomic_uint_fast64_t connections_total;
    atomic_uint_fast64_t tls_failures;
    atomic_int_fast64_t mapped; /* bytes of store files mapped by responses */
    atomic_uint_fast64_t auth[SRV_AUTH_FAILURE_COUNT];
    atomic_uint_fast64_t refused[SRV_FRAME_E_COUNT]; /* by srv_frame_error; [0] unused */
    atomic_uint_fast64_t header_timeouts;
};

int srv_metrics_new(const char *const *route_names, const char *const *route_methods,
                    unsigned nroutes, struct srv_metrics **ret)
{
    struct srv_metrics *m = calloc(1, sizeof(*m));

    if (!m)
        return -ENOMEM;
    m->slots = calloc(nroutes + 1, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return -ENOMEM;
    }
    m->names = route_names;
    m->methods = route_methods;
    m->nroutes = nroutes;
    *ret = m;
    return 0;
}

void srv_metrics_free(struct srv_metrics *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)
#define GET(x)    atomic_load_explicit(&(x), memory_order_relaxed)

void srv_metrics_request(struct srv_metrics *m, unsigned route, unsigned status, uint64_t bytes,
                         uint64_t usec)
{
    unsigned s = NSTATUS - 1, b = NBUCKETS - 1;

    if (route > m->nroutes)
        route = m->nroutes;
    for (unsigned i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status)
            s = i;
    for (unsigned i = 0; i < NBUCKETS - 1; i++)
        if (usec <= buckets_us[i]) {
            b = i;
            break;
        }
    ADD(m->slots[route].requests[s], 1);
    ADD(m->slots[route].bytes, bytes);
    ADD(m->latency[b], 1);
    ADD(m->latency_sum_us, usec);
    ADD(m->latency_count, 1);
}

void srv_metrics_connection(struct srv_metrics *m, int delta)
{
    ADD(m->connections, delta);
    if (delta > 0)
        ADD(m->connections_total, 1);
}

int64_t srv_metrics_mapped(struct srv_metrics *m, int64_t delta)
{
    return ADD(m->mapped, delta) + delta;
}

void srv_metrics_tls_failure(struct srv_metrics *m)
{
    ADD(m->tls_failures, 1);
}

void srv_metrics_auth_failure(struct srv_metrics *m, enum srv_auth_failure why)
{
    if ((unsigned)why < SRV_AUTH_FAILURE_COUNT)
        ADD(m->auth[why], 1);
}

void srv_metrics_refused(struct srv_metrics *m, enum srv_frame_error why)
{
    if ((unsigned)why < SRV_FRAME_E_COUNT)
        ADD(m->refused[why], 1);
}

void srv_metrics_header_timeout(struct srv_metrics *m)
{
    ADD(m->header_timeouts, 1);
}

static const char *route_label(const struct srv_metrics *m, unsigned i)
{
    return i < m->nroutes ? m->names[i] : "other";
}

static const char *method_label(const struct srv_metrics *m, unsigned i)
{
    return i < m->nroutes ? m->methods[i] : "";
}

int srv_metrics_render(struct srv_metrics *m, struct ota_buf *b)
{
    uint64_t cum = 0;
    char le[32], status[16];

    ota_metrics_family(b, "ota_http_requests_total", "counter",
                       "HTTPS requests by route and status.");
    for (unsigned r = 0; r <= m->nroutes; r++)
        for (unsigned s = 0; s < NSTATUS; s++) {
            uint64_t v = GET(m->slots[r].requests[s]);
            if (!v)
                continue;
            if (s < NSTATUS - 1)
                snprintf(status, sizeof(status), "%u", statuses[s]);
            else
                snprintf(status, sizeof(status), "other");
            ota_metrics_u64(b, "ota_http_requests_total", v, "route", route_label(m, r),
                            "method", method_label(m, r), "status", status, NULL);
        }
    ota_metrics_family(b, "ota_http_response_bytes_total", "counter",
                       "Body bytes sent, by route (a cut answer: what reached the socket).");
    for (unsigned r = 0; r <= m->nroutes; r++)
        ota_metrics_u64(b, "ota_http_response_bytes_total", GET(m->slots[r].bytes), "route",
                        route_label(m, r), "method", method_label(m, r), NULL);
    ota_metrics_family(b, "ota_http_request_duration_seconds", "histogram",
                       "Time from request headers to the last byte.");
    for (unsigned i = 0; i < NBUCKETS; i++) {
        cum += GET(m->latency[i]);
        if (i < NBUCKETS - 1)
            snprintf(le, sizeof(le), "%g", (double)buckets_us[i] / 1e6);
        else
            snprintf(le, sizeof(le), "+Inf");
        ota_metrics_u64(b, "ota_http_request_duration_seconds_bucket", cum, "le", le, NULL);
    }
    ota_metrics_f64(b, "ota_http_request_duration_seconds_sum",
                    (double)GET(m->latency_sum_us) / 1e6, NULL);
    ota_metrics_u64(b, "ota_http_request_duration_seconds_count", GET(m->latency_count), NULL);
    ota_metrics_family(b, "ota_open_connections", "gauge", "HTTPS connections open now.");
    ota_metrics_i64(b, "ota_open_connections", GET(m->connections), NULL);
    ota_metrics_one(b, "ota_connections_total", "counter", "HTTPS connections accepted.",
                    GET(m->connections_total));
    ota_metrics_family(b, "ota_artifact_mapped_bytes", "gauge",
                       "Bytes of store files mapped by responses in flight.");
    ota_metrics_i64(b, "ota_artifact_mapped_bytes", GET(m->mapped), NULL);
    ota_metrics_one(b, "ota_tls_failures_total", "counter",
                    "Connections closed without a completed TLS handshake.",
                    GET(m->tls_failures));
    ota_metrics_family(b, "ota_auth_failures_total", "counter",
                       "Requests refused for the client's identity.");
    for (unsigned i = 0; i < SRV_AUTH_FAILURE_COUNT; i++)
        ota_metrics_u64(b, "ota_auth_failures_total", GET(m->auth[i]), "reason", auth_names[i],
                        NULL);
    ota_metrics_family(b, "ota_http_refused_total", "counter",
                       "Requests refused for their framing (srv_frame).");
    for (unsigned i = 1; i < SRV_FRAME_E_COUNT; i++)
        ota_metrics_u64(b, "ota_http_refused_total", GET(m->refused[i]), "reason",
                        srv_frame_error_reason((enum srv_frame_error)i), NULL);
    ota_metrics_one(b, "ota_http_header_timeouts_total", "counter",
                    "Connections closed because a header section did not arrive within "
                    "[server] header_timeout.",
                    GET(m->header_timeouts));
    return ota_buf_error(b);
}

json_t *srv_metrics_json(struct srv_metrics *m)
{
    json_t *routes = json_array(), *o;
    uint64_t requests = 0, bytes = 0;

    for (unsigned r = 0; routes && r <= m->nroutes; r++) {
        uint64_t n = 0, b = GET(m->slots[r].bytes);

        for (unsigned s = 0; s < NSTATUS; s++)
            n += GET(m->slots[r].requests[s]);
        requests += n;
        bytes += b;
        if (n && json_array_append_new(routes, json_pack("{s:s, s:s, s:I, s:I}", "route",
                                                         route_label(m, r), "method",
                                                         method_label(m, r), "requests",
                                                         (json_int_t)n, "bytes",
                                                         (json_int_t)b)) < 0) {
            json_decref(routes);
            return NULL;
        }
    }
    if (!routes)
        return NULL;
    o = json_pack("{s:I, s:I, s:I, s:I, s:o}", "requests", (json_int_t)requests, "bytes",
                  (json_int_t)bytes, "connections_open", (json_int_t)GET(m->connections),
                  "connections_total", (json_int_t)GET(m->connections_total), "routes", routes);
    return o;
}
