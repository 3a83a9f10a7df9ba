/* Admin listener handlers: health from a database round trip, metrics as Prometheus text,
 * the dashboard and its API (srv_dashboard.c). */
#include "srv_admin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota_metrics.h"
#include "srv_ctx.h"
#include "srv_dashboard.h"
#include "srv_db.h"
#include "srv_metrics.h"

/* /metrics's most: a sanity bound (tens of KiB with a few hundred campaigns open) */
#define METRICS_MAX (16u << 20)

enum MHD_Result srv_admin_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                               void *body, size_t len, enum MHD_ResponseMemoryMode mode,
                               const char *csp)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    enum MHD_Result ret;

    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (csp) {
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *s)
{
    return srv_admin_send(conn, status, "text/plain; charset=utf-8", (char *)s, strlen(s),
                          MHD_RESPMEM_PERSISTENT, NULL);
}

/* RFC 9110 §15.5.6: a 405 names the methods the resource takes. */
static enum MHD_Result not_allowed(struct MHD_Connection *conn)
{
    static const char body[] = "method not allowed\n";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(conn, 405, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Deployments by state of each campaign not yet ended (created, starting, running,
 * paused), labelled with its id and name: a finished campaign's series end with it (its
 * numbers stay in `campaign show`), so the series stay as many as the campaigns that
 * matter now. ota_campaign_series_up says whether the database answered. */
static void campaign_metrics(struct ota_db *db, struct ota_buf *b)
{
    const struct ota_campaign *c;
    struct ota_db_iter it;
    int r = db ? ota_db_campaigns_open_begin(db, &it) : -EIO;

    ota_metrics_family(b, "ota_campaign_deployments", "gauge",
                       "Deployments of each campaign not yet ended, by state.");
    while (r == 0 && (r = ota_db_campaigns_next(&it, &c)) > 0) {
        char id[24];

        snprintf(id, sizeof(id), "%lld", (long long)c->id);
        for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
            ota_metrics_u64(b, "ota_campaign_deployments", c->counts[s], "campaign", id, "name",
                            c->name, "state", ota_deploy_state_name((enum ota_deploy_state)s),
                            NULL);
        r = 0;
    }
    if (db)
        ota_db_iter_end(&it);
    ota_metrics_one(b, "ota_campaign_series_up", "gauge",
                    "1 when the campaign series above were read from the database.", r == 0);
}

enum MHD_Result srv_admin_dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **req_cls)
{
    struct srv_ctx *ctx = cls;
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    (void)version;
    (void)upload;
    (void)req_cls;
    if (*upload_size) {
        *upload_size = 0; /* no endpoint takes a body */
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") == 0) {
        struct ota_db *db;
        int64_t v;
        if (!get)
            return not_allowed(conn);
        db = srv_db_get(ctx->db);
        if (!db || ota_db_data_version(db, &v) < 0)
            return text(conn, 503, "database unavailable\n");
        return text(conn, 200, "ok\n");
    }
    if (strcmp(url, "/metrics") == 0) {
        struct ota_buf b;
        char *body;
        size_t len;
        if (!get)
            return not_allowed(conn);
        ota_buf_init(&b, METRICS_MAX);
        srv_metrics_render(ctx->metrics, &b);
        campaign_metrics(srv_db_get(ctx->db), &b);
        body = ota_buf_take(&b, &len);
        if (!body)
            return text(conn, 500, "metrics: out of memory or over their size limit\n");
        return srv_admin_send(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body, len,
                              MHD_RESPMEM_MUST_FREE, NULL);
    }
    if (srv_dashboard_path(url)) {
        enum MHD_Result ret;
        if (!get)
            return not_allowed(conn);
        if (srv_dashboard_answer(ctx, conn, url, &ret))
            return ret;
    }
    return text(conn, 404, "not found\n");
}
