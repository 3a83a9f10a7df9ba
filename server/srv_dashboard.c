/* The dashboard's answers: its page files, compiled in (dashboard/, embedded by
 * dashboard/embed.py: the page loads nothing from anywhere else), and the JSON API, read
 * from the database at each request. A campaign's view is ota_json_campaign_show(), the
 * very object `ota-admin campaign show --json` prints, with its progress: ended
 * deployments over time (from their last change), the rate of the last five minutes and
 * the time left at that rate. */
#include "srv_dashboard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "ota_campaign.h"
#include "ota_campaign_json.h"
#include "ota_util.h"
#include "srv_dash_files.h"
#include "srv_admin.h"
#include "srv_dash_req.h"
#include "srv_db.h"
#include "srv_metrics.h"

#define MAX_ARGS  8
#define RATE_SPAN 300 /* seconds of history the rate is taken over */

/* The page may load only itself: scripts, styles and API calls from this origin. */
#define PAGE_CSP                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* Takes @o (NULL: the database or memory failed while it was built: 500). */
static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    if (!text) {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"the answer could "
                                  "not be built (database or memory)\"}";
        return srv_admin_send(conn, 500, "application/json", (void *)oom, sizeof(oom) - 1,
                              MHD_RESPMEM_PERSISTENT, NULL);
    }
    return srv_admin_send(conn, status, "application/json", text, strlen(text),
                          MHD_RESPMEM_MUST_FREE, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *message)
{
    return send_json(conn, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

static json_t *campaigns(struct ota_db *db, int state)
{
    const struct ota_campaign *c;
    struct ota_db_iter it;
    json_t *arr = json_array();
    int r;

    if (!arr)
        return NULL;
    r = ota_db_campaigns_begin(db, &it);
    while (r == 0 && (r = ota_db_campaigns_next(&it, &c)) > 0) {
        r = 0;
        if (state < 0 || (int)c->state == state)
            r = json_array_append_new(arr, ota_json_campaign(c));
    }
    ota_db_iter_end(&it);
    if (r < 0) {
        json_decref(arr);
        return NULL;
    }
    return json_pack("{s:o}", "campaigns", arr);
}

/* Ended deployments (installed, failed) over time: @points cumulative counts from the
 * start to now (or to the campaign's end), each at t0 + i * step, from the time of each
 * deployment's last change; and how many ended in the last RATE_SPAN seconds. */
struct history {
    int64_t t0, step;
    unsigned points;
    uint64_t *installed, *failed;
    uint64_t recent;
};

static int history_read(struct ota_db *db, const struct ota_campaign *c, unsigned points,
                        int64_t now, struct history *h)
{
    static const enum ota_deploy_state ended[] = { OTA_DEPLOY_INSTALLED, OTA_DEPLOY_FAILED };
    int64_t t1 =
        c->state == OTA_CAMPAIGN_RUNNING || c->state == OTA_CAMPAIGN_PAUSED ? now : c->updated_at;

    h->t0 = c->started_at ? c->started_at : c->created_at;
    if (t1 <= h->t0)
        t1 = h->t0 + 1;
    h->points = points;
    h->step = (t1 - h->t0 + points - 2) / (points - 1);
    if (h->step < 1)
        h->step = 1;
    h->installed = calloc(points, sizeof(uint64_t));
    h->failed = calloc(points, sizeof(uint64_t));
    if (!h->installed || !h->failed)
        return -ENOMEM;
    for (size_t k = 0; k < sizeof(ended) / sizeof(ended[0]); k++) {
        uint64_t *series = ended[k] == OTA_DEPLOY_INSTALLED ? h->installed : h->failed;
        const struct ota_deployment *d;
        struct ota_db_iter it;
        int r = ota_db_deployments_begin(db, c->id, ended[k], NULL, &it);

        while (r == 0 && (r = ota_db_deployments_next(&it, &d)) > 0) {
            int64_t at = d->updated_at < h->t0 ? h->t0 : d->updated_at;
            uint64_t i = (uint64_t)((at - h->t0 + h->step - 1) / h->step);

            series[i < points ? i : points - 1]++;
            if (d->updated_at > now - RATE_SPAN)
                h->recent++;
            r = 0;
        }
        ota_db_iter_end(&it);
        if (r < 0)
            return r;
        for (unsigned i = 1; i < points; i++)
            series[i] += series[i - 1];
    }
    return 0;
}

static json_t *series_json(const uint64_t *v, unsigned n)
{
    json_t *arr = json_array();

    for (unsigned i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_integer((json_int_t)v[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *campaign(struct ota_db *db, const struct ota_campaign *c, unsigned points)
{
    struct history h = { 0 };
    int64_t now = ota_now(), span;
    uint64_t left = ota_campaign_unfinished(c);
    json_t *o = NULL, *progress;
    double per_min = 0;

    if (history_read(db, c, points, now, &h) < 0)
        goto out;
    span = now - h.t0 < RATE_SPAN ? now - h.t0 : RATE_SPAN;
    if (c->state == OTA_CAMPAIGN_RUNNING && h.recent > 0 && span > 0)
        per_min = (double)h.recent * 60.0 / (double)span;
    progress = json_pack("{s:o, s:I, s:o, s:o, s:I, s:o, s:o}", "t0", ota_json_time(h.t0), "step_s",
                         (json_int_t)h.step, "installed", series_json(h.installed, points),
                         "failed", series_json(h.failed, points), "unfinished", (json_int_t)left,
                         "rate_per_min", per_min > 0 ? json_real(per_min) : json_null(), "eta_s",
                         per_min > 0 ? json_integer((json_int_t)((double)left * 60.0 / per_min))
                                     : json_null());
    o = ota_json_campaign_show(db, c);
    if (!o || !progress) {
        json_decref(o);
        json_decref(progress);
        o = NULL;
    } else if (json_object_set_new(o, "progress", progress) < 0) { /* takes progress */
        json_decref(o);
        o = NULL;
    }
out:
    free(h.installed);
    free(h.failed);
    return o;
}

static json_t *fleet(struct ota_db *db)
{
    struct ota_version_count v[OTA_VERSIONS_MAX];
    unsigned n = 0;
    uint64_t total = 0;
    json_t *arr;

    if (ota_db_fleet_versions(db, v, &n) < 0 || !(arr = json_array()))
        return NULL;
    for (unsigned i = 0; i < n; i++) {
        total += v[i].n;
        if (json_array_append_new(arr, json_pack("{s:s, s:I}", "version", v[i].version, "vehicles",
                                                 (json_int_t)v[i].n)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return json_pack("{s:I, s:o}", "vehicles", (json_int_t)total, "versions", arr);
}

struct args {
    struct srv_dash_arg a[MAX_ARGS];
    size_t n;
    bool too_many;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct args *args = cls;

    (void)kind;
    if (args->n == MAX_ARGS) {
        args->too_many = true;
        return MHD_NO;
    }
    args->a[args->n++] = (struct srv_dash_arg){ key, value };
    return MHD_YES;
}

bool srv_dashboard_path(const char *url)
{
    return srv_dash_file_find(url) || strncmp(url, "/api/", 5) == 0;
}

bool srv_dashboard_answer(struct srv_ctx *ctx, struct MHD_Connection *conn, const char *url,
                          enum MHD_Result *ret)
{
    struct srv_dash_req req;
    struct args args = { .n = 0 };
    struct ota_campaign *c = NULL;
    struct ota_db *db;
    char err[160];
    int r;

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect, &args);
    switch (srv_dash_req_parse(url, args.a, args.n, &req, err, sizeof(err))) {
    case SRV_DASH_NONE:
        if (strncmp(url, "/api/", 5) != 0)
            return false;
        *ret = send_error(conn, 404, "not_found", "no such API resource");
        return true;
    case SRV_DASH_BAD:
        *ret = send_error(conn, 400, "bad_request", err);
        return true;
    case SRV_DASH_FILE: {
        const struct srv_dash_file *f = srv_dash_file_find(req.file);
        if (!f)
            return false;
        *ret = srv_admin_send(conn, 200, f->ctype, (void *)f->data, f->len, MHD_RESPMEM_PERSISTENT,
                              strncmp(f->ctype, "text/html", 9) == 0 ? PAGE_CSP : NULL);
        return true;
    }
    default:
        break;
    }
    if (args.too_many) {
        *ret = send_error(conn, 400, "bad_request", "too many parameters");
        return true;
    }
    if (req.what == SRV_DASH_TRAFFIC) {
        *ret = send_json(conn, 200, srv_metrics_json(ctx->metrics));
        return true;
    }
    db = srv_db_get(ctx->db);
    if (!db) {
        *ret = send_error(conn, 503, "unavailable", "database unavailable");
        return true;
    }
    switch (req.what) {
    case SRV_DASH_CAMPAIGNS:
        *ret = send_json(conn, 200, campaigns(db, req.state));
        break;
    case SRV_DASH_FLEET:
        *ret = send_json(conn, 200, fleet(db));
        break;
    default: /* SRV_DASH_CAMPAIGN */
        r = ota_db_campaign_get(db, req.campaign, &c);
        if (r == -ENOENT)
            *ret = send_error(conn, 404, "not_found", "no such campaign");
        else if (r < 0)
            *ret = send_error(conn, 503, "unavailable", "database unavailable");
        else
            *ret = send_json(conn, 200, campaign(db, c, req.points));
        ota_campaign_free(c);
        break;
    }
    return true;
}
