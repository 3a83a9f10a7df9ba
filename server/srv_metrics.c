/* Server metrics: relaxed atomics only, so counting never serialises the worker threads. */
#include "srv_metrics.h"

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

/* A growable text buffer; on allocation failure it stays failed and render reports it. */
struct buf {
    char *p;
    size_t len, cap;
    int err;
};

static void __attribute__((format(printf, 2, 3))) put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->err)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->err = -EINVAL;
            return;
        }
        if ((size_t)n < b->cap - b->len)
            break;
        size_t cap = b->cap * 2 + (size_t)n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->err = -ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    b->len += (size_t)n;
}

static const char *route_label(const struct srv_metrics *m, unsigned i)
{
    return i < m->nroutes ? m->names[i] : "other";
}

static const char *method_label(const struct srv_metrics *m, unsigned i)
{
    return i < m->nroutes ? m->methods[i] : "";
}

int srv_metrics_render(struct srv_metrics *m, char **ret, size_t *ret_len)
{
    struct buf b = { .p = malloc(4096), .cap = 4096 };
    uint64_t cum = 0;

    if (!b.p)
        return -ENOMEM;
    b.p[0] = '\0';
    put(&b, "# HELP ota_http_requests_total HTTPS requests by route and status.\n"
            "# TYPE ota_http_requests_total counter\n");
    for (unsigned r = 0; r <= m->nroutes; r++)
        for (unsigned s = 0; s < NSTATUS; s++) {
            uint64_t v = GET(m->slots[r].requests[s]);
            if (!v)
                continue;
            if (s < NSTATUS - 1)
                put(&b, "ota_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %" PRIu64 "\n",
                    route_label(m, r), method_label(m, r), statuses[s], v);
            else
                put(&b, "ota_http_requests_total{route=\"%s\",method=\"%s\",status=\"other\"} %" PRIu64 "\n",
                    route_label(m, r), method_label(m, r), v);
        }
    put(&b, "# HELP ota_http_response_bytes_total Body bytes sent, by route (a cut answer: "
            "what reached the socket).\n"
            "# TYPE ota_http_response_bytes_total counter\n");
    for (unsigned r = 0; r <= m->nroutes; r++)
        put(&b, "ota_http_response_bytes_total{route=\"%s\",method=\"%s\"} %" PRIu64 "\n",
            route_label(m, r), method_label(m, r), (uint64_t)GET(m->slots[r].bytes));
    put(&b, "# HELP ota_http_request_duration_seconds Time from request headers to the last byte.\n"
            "# TYPE ota_http_request_duration_seconds histogram\n");
    for (unsigned i = 0; i < NBUCKETS; i++) {
        cum += GET(m->latency[i]);
        if (i < NBUCKETS - 1)
            put(&b, "ota_http_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                (double)buckets_us[i] / 1e6, cum);
        else
            put(&b, "ota_http_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
    }
    put(&b, "ota_http_request_duration_seconds_sum %.6f\n",
        (double)GET(m->latency_sum_us) / 1e6);
    put(&b, "ota_http_request_duration_seconds_count %" PRIu64 "\n",
        (uint64_t)GET(m->latency_count));
    put(&b, "# HELP ota_open_connections HTTPS connections open now.\n"
            "# TYPE ota_open_connections gauge\n"
            "ota_open_connections %" PRId64 "\n",
        (int64_t)GET(m->connections));
    put(&b, "# HELP ota_connections_total HTTPS connections accepted.\n"
            "# TYPE ota_connections_total counter\n"
            "ota_connections_total %" PRIu64 "\n",
        (uint64_t)GET(m->connections_total));
    put(&b, "# HELP ota_artifact_mapped_bytes Bytes of store files mapped by responses in flight.\n"
            "# TYPE ota_artifact_mapped_bytes gauge\n"
            "ota_artifact_mapped_bytes %" PRId64 "\n",
        (int64_t)GET(m->mapped));
    put(&b, "# HELP ota_tls_failures_total Connections closed without a completed TLS handshake.\n"
            "# TYPE ota_tls_failures_total counter\n"
            "ota_tls_failures_total %" PRIu64 "\n",
        (uint64_t)GET(m->tls_failures));
    put(&b, "# HELP ota_auth_failures_total Requests refused for the client's identity.\n"
            "# TYPE ota_auth_failures_total counter\n");
    for (unsigned i = 0; i < SRV_AUTH_FAILURE_COUNT; i++)
        put(&b, "ota_auth_failures_total{reason=\"%s\"} %" PRIu64 "\n", auth_names[i],
            (uint64_t)GET(m->auth[i]));
    put(&b, "# HELP ota_http_refused_total Requests refused for their framing (srv_frame).\n"
            "# TYPE ota_http_refused_total counter\n");
    for (unsigned i = 1; i < SRV_FRAME_E_COUNT; i++)
        put(&b, "ota_http_refused_total{reason=\"%s\"} %" PRIu64 "\n",
            srv_frame_error_reason((enum srv_frame_error)i), (uint64_t)GET(m->refused[i]));
    put(&b, "# HELP ota_http_header_timeouts_total Connections closed because a header section "
            "did not arrive within [server] header_timeout.\n"
            "# TYPE ota_http_header_timeouts_total counter\n"
            "ota_http_header_timeouts_total %" PRIu64 "\n",
        (uint64_t)GET(m->header_timeouts));
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *ret = b.p;
    *ret_len = b.len;
    return 0;
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
