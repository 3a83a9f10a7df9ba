/* The one server context every handler gets: configuration and the shared services. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include "ota_config.h"

struct ota_cdn;
struct srv_db;
struct srv_guard;
struct srv_mapcache;
struct srv_metrics;
struct srv_tls;

struct srv_ctx {
    const struct ota_config *cfg; /* borrowed from main */
    struct srv_db *db;            /* per-thread database connections */
    struct srv_metrics *metrics;
    struct srv_mapcache *maps;    /* shared mappings of store files */
    struct srv_tls *tls;
    struct srv_guard *guard;      /* request framing and header deadlines (mTLS listener) */
    struct ota_cdn *cdn;          /* NULL: artifact links are origin links */
    int access_fd;       /* access log: 2 (stderr) or an O_APPEND file */
    bool counts_sent;    /* srv_route_sent() sees every send: cut answers count those */
    atomic_uint active;  /* requests in flight, for a bounded SIGTERM drain */
};
