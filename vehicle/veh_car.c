/* One vehicle's update journey as a state machine on the shared curl multi handle. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ota_json.h"
#include "ota_log.h"
#include "ota_util.h"
#include "veh_car.h"
#include "veh_check.h"
#include "veh_mqtt.h"
#include "veh_reporter.h"
#include "veh_store.h"
#include "veh_url.h"

#define UPDATE_BODY_MAX  (64 * 1024) /* GET /v1/updates body, as the MQTT message */
#define FINISH_WAIT_MS   15000 /* at most this long for the last reports to go out */
#define MQTT_ACK_WAIT_MS 5000  /* then the final report goes over REST as well */
#define MQTT_GRACE_MS    2000  /* reports wait this long for the first MQTT session */
#define DL_MAX_RETRIES   10    /* consecutive interrupted attempts (faults excluded) */
#define DL_MAX_REFRESHES 3     /* refused links in a row with no byte gained in between */
#define RETRY_BASE_MS    250
#define RETRY_MAX_MS     10000
#define URL_MAX          2048

enum car_phase {
    CAR_IDLE,        /* waiting for the next poll or an MQTT message */
    CAR_POLLING,     /* GET /v1/updates running */
    CAR_WAIT_SLOT,   /* a download is due, waiting for one of --parallel slots */
    CAR_DOWNLOADING, /* GET of the artifact running */
    CAR_RETRY,       /* interrupted download, waiting to resume */
    CAR_FINISHING,   /* result known, last reports going out */
    CAR_DONE,
};

struct veh_car {
    struct veh_ctx *ctx;
    const struct veh_opts *o;
    char id[OTA_ID_MAX + 1];
    char *cert, *key, *dir;
    struct veh_tls tls;
    enum car_phase phase;
    int64_t wake_ms;

    /* polls and downloads share one easy handle: a vehicle does one of them at a time */
    CURL *easy;
    struct veh_xfer x;
    struct veh_resp resp;
    struct ota_buf body;
    struct curl_slist *poll_hdrs;
    char etag[128];
    unsigned poll_after;
    unsigned poll_failures;
    bool gone_check; /* the artifact went away: is the deployment still ours? */
    bool refreshing; /* ...or its link was refused: then a new link resumes it */
    unsigned refreshes;     /* refused links since the download last gained bytes */
    uint64_t refresh_have;  /* bytes on disk at the last refusal */
    bool held;       /* its campaign is paused (409): the download waits for the next offer */

    bool have_job;
    struct ota_update_info job;
    char url[URL_MAX];
    struct veh_dl dl;
    bool dl_open;
    bool holds_slot;
    unsigned step;
    unsigned retries;

    bool have_last;
    bool last_resent; /* the final report of `last` was sent again after a restart */
    struct veh_store_state last;

    struct veh_reporter rep;

    struct veh_mqtt *mqtt;
    struct veh_mqtt_cfg mqtt_cfg;
    char topic_update[512];
    char topic_status[512];

    int64_t finish_start_ms;
    enum veh_car_result result;
    uint64_t bytes;
    char reason[OTA_STATUS_DETAIL_MAX];
};

static void car_start_download(struct veh_car *c, int64_t now);

int veh_ctx_start(struct veh_ctx *ctx, struct veh_xfer *x)
{
    if (curl_multi_add_handle(ctx->multi, x->easy) != CURLM_OK)
        return -EIO;
    x->running = true;
    return 0;
}

void veh_ctx_stop(struct veh_ctx *ctx, struct veh_xfer *x)
{
    if (!x->running)
        return;
    curl_multi_remove_handle(ctx->multi, x->easy);
    x->running = false;
}

/* ---- reports ---- */

static void car_report(struct veh_car *c, enum ota_deploy_state state, uint64_t bytes,
                       const char *detail)
{
    struct veh_report_entry e = { 0 };

    e.campaign = c->job.campaign;
    e.state = state;
    e.bytes = bytes;
    if (detail)
        snprintf(e.detail, sizeof(e.detail), "%s", detail);
    if (e.campaign <= 0)
        return;
    /* Only queued here: this may run inside a libcurl callback, where adding a transfer
     * is not allowed; veh_car_tick() sends. */
    veh_reporter_push(&c->rep, &e);
}

/* ---- results ---- */

static void release_slot(struct veh_car *c)
{
    if (c->holds_slot && c->ctx->downloads_active > 0)
        c->ctx->downloads_active--;
    c->holds_slot = false;
}

static void close_download(struct veh_car *c, bool unlink_partial)
{
    veh_ctx_stop(c->ctx, &c->x);
    if (c->dl_open) {
        c->bytes += c->dl.received;
        veh_dl_close(&c->dl, unlink_partial);
    } else if (unlink_partial && c->dl.path[0]) {
        unlink(c->dl.path); /* closed already, e.g. after the download completed */
    }
    c->dl_open = false;
    release_slot(c);
}

static void remember(struct veh_car *c, enum ota_deploy_state state)
{
    struct veh_store_state s = { 0 };
    int r;

    s.campaign = c->job.campaign;
    snprintf(s.sha256, sizeof(s.sha256), "%s", c->job.sha256);
    snprintf(s.name, sizeof(s.name), "%s", c->job.name ? c->job.name : "");
    snprintf(s.version, sizeof(s.version), "%s", c->job.version ? c->job.version : "");
    s.state = state;
    c->last = s;
    c->have_last = true;
    c->last_resent = true; /* reported just now */
    if ((r = veh_store_state_save(c->dir, &s)) < 0)
        ota_warn("%s: cannot save state: %s", c->id, strerror(-r));
}

static void finish(struct veh_car *c, enum veh_car_result result, int64_t now)
{
    c->result = result;
    c->phase = CAR_FINISHING;
    c->finish_start_ms = now;
    c->have_job = false;
    ota_update_info_clear(&c->job);
    c->dl.path[0] = '\0';
    c->dl.have = 0;
    c->etag[0] = '\0'; /* ask afresh next time */
}

static void car_fail(struct veh_car *c, const char *reason)
{
    int64_t now = ota_monotonic_ms();

    snprintf(c->reason, sizeof(c->reason), "%s", reason);
    ota_err("%s: update %s %s failed: %s", c->id, c->job.name ? c->job.name : "?",
            c->job.version ? c->job.version : "?", reason);
    close_download(c, true);
    car_report(c, OTA_DEPLOY_FAILED, c->dl.have, reason);
    if (c->job.campaign > 0 && ota_sha256_hex_valid(c->job.sha256))
        remember(c, OTA_DEPLOY_FAILED);
    finish(c, VEH_CAR_FAILED, now);
}

static void car_cancel(struct veh_car *c, const char *why)
{
    ota_info("%s: update %s withdrawn (%s); stopped", c->id, c->job.version ? c->job.version : "?",
             why);
    close_download(c, true);
    snprintf(c->reason, sizeof(c->reason), "cancelled: %s", why);
    /* Reports still queued would be refused (409) for a cancelled deployment. */
    veh_reporter_drop_queued(&c->rep);
    finish(c, VEH_CAR_CANCELLED, ota_monotonic_ms());
}

/* The download is complete: verify, then install. */
static void car_install(struct veh_car *c)
{
    char err[OTA_STATUS_DETAIL_MAX];
    int r;

    close_download(c, false);
    car_report(c, OTA_DEPLOY_DOWNLOADED, c->job.size, NULL);
    r = veh_check_artifact(&c->ctx->pub, &c->job, c->dl.path, c->o->hw, err, sizeof(err));
    if (r < 0) {
        car_fail(c, err);
        return;
    }
    car_report(c, OTA_DEPLOY_INSTALLING, c->job.size, NULL);
    if (veh_fail_chosen(&c->o->fail, c->id)) {
        car_fail(c, c->o->fail.reason); /* on purpose: --fail-ids, --fail-rate */
        return;
    }
    r = veh_store_install(c->dir, c->job.sha256, c->job.name);
    if (r < 0) {
        snprintf(err, sizeof(err), "install: %s", strerror(-r));
        car_fail(c, err);
        return;
    }
    remember(c, OTA_DEPLOY_INSTALLED);
    car_report(c, OTA_DEPLOY_INSTALLED, c->job.size, NULL);
    ota_info("%s: installed %s version %s (%" PRIu64 " bytes, %u attempts)", c->id, c->job.name,
             c->job.version, c->job.size, c->dl.attempts);
    finish(c, VEH_CAR_INSTALLED, ota_monotonic_ms());
}

/* ---- download ---- */

static void car_progress(void *owner, uint64_t have)
{
    struct veh_car *c = owner;
    unsigned step = veh_report_step(have, c->job.size);

    if (step > c->step) {
        c->step = step;
        if (step < 10)
            car_report(c, OTA_DEPLOY_DOWNLOADING, have, NULL);
    }
}

static int64_t retry_delay_ms(unsigned retries)
{
    int64_t d = RETRY_BASE_MS;

    for (unsigned i = 1; i < retries && d < RETRY_MAX_MS; i++)
        d *= 2;
    return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

static void car_start_poll(struct veh_car *c, int64_t now);
static void poll_next(struct veh_car *c, int64_t now, bool after_error);

static void dl_done(struct veh_xfer *x, CURLcode rc)
{
    struct veh_car *c = x->owner;
    int64_t now = ota_monotonic_ms();
    bool fault = c->dl.reason[0] && strncmp(c->dl.reason, "fault", 5) == 0;
    char why[OTA_STATUS_DETAIL_MAX];

    switch (veh_dl_finish(&c->dl, rc)) {
    case VEH_DL_COMPLETE:
        car_install(c);
        return;
    case VEH_DL_RETRY:
        release_slot(c);
        if (!fault && ++c->retries > DL_MAX_RETRIES) {
            snprintf(why, sizeof(why), "download: gave up after %u attempts: %s", c->dl.attempts,
                     c->dl.reason);
            car_fail(c, why);
            return;
        }
        ota_info("%s: download interrupted at %" PRIu64 "/%" PRIu64 " (%s); resuming", c->id,
                 c->dl.have, c->job.size, c->dl.reason);
        c->phase = CAR_RETRY;
        c->wake_ms = now + (fault ? 100 : retry_delay_ms(c->retries));
        return;
    case VEH_DL_REFUSED:
        /* A CDN refused the link (expired, 401/403/410): ask /v1/updates for a fresh one
         * and resume. Bounded: a link refused again and again with no progress is not
         * an expiry. Without a CDN it is the origin refusing us: the poll tells. */
        release_slot(c);
        if (c->dl.have > c->refresh_have)
            c->refreshes = 0;
        c->refresh_have = c->dl.have;
        if (++c->refreshes > DL_MAX_REFRESHES) {
            snprintf(why, sizeof(why), "download: the link was refused %u times: %s",
                     DL_MAX_REFRESHES, c->dl.reason);
            car_fail(c, why);
            return;
        }
        ota_info("%s: download link refused at %" PRIu64 "/%" PRIu64 " (%s); asking for a new one",
                 c->id, c->dl.have, c->job.size, c->dl.reason);
        c->gone_check = true;
        c->refreshing = true;
        c->etag[0] = '\0';
        car_start_poll(c, now);
        return;
    case VEH_DL_GONE:
        /* Cancelled, or no longer ours: ask /v1/updates before calling it a failure. */
        release_slot(c);
        ota_info("%s: artifact not available (%s); checking the deployment", c->id, c->dl.reason);
        c->gone_check = true;
        c->etag[0] = '\0';
        car_start_poll(c, now);
        return;
    case VEH_DL_HELD:
        /* Paused before it started here: not a failure. The partial file stays; the
         * next offer of the same job (the resume) carries on from it. */
        release_slot(c);
        ota_info("%s: campaign %" PRId64 " is paused; waiting and polling", c->id,
                 c->job.campaign);
        c->held = true;
        c->etag[0] = '\0';
        c->phase = CAR_IDLE;
        poll_next(c, now, false);
        return;
    case VEH_DL_FAIL:
    default:
        snprintf(why, sizeof(why), "download: %s", c->dl.reason);
        car_fail(c, why);
        return;
    }
}

static void car_start_download(struct veh_car *c, int64_t now)
{
    const struct veh_opts *o = c->o;

    if (c->ctx->downloads_active >= (o->parallel ? o->parallel : 1) && !c->holds_slot) {
        c->phase = CAR_WAIT_SLOT;
        return;
    }
    if (!c->holds_slot) {
        c->ctx->downloads_active++;
        c->holds_slot = true;
    }
    if (veh_dl_prepare(&c->dl, c->easy, c->url, &c->tls, &c->x, o->verbose > 1) < 0 ||
        (c->x.done = dl_done, veh_ctx_start(c->ctx, &c->x)) < 0) {
        car_fail(c, "download: cannot set up the request");
        return;
    }
    (void)now;
    c->phase = CAR_DOWNLOADING;
}

/* The link of announcement @u (its url, or the origin path of its sha256) into @buf. */
static int offer_link(const struct veh_car *c, const struct ota_update_info *u, char *buf,
                      size_t len)
{
    char def[96];

    snprintf(def, sizeof(def), "/v1/artifacts/%s", u->sha256);
    return veh_url_resolve(c->o->server, u->url ? u->url : def, buf, len);
}

/* Takes an announcement (polled or from MQTT); @u is moved from on acceptance. */
static void car_offer(struct veh_car *c, struct ota_update_info *u, int64_t now)
{
    char path[PATH_MAX], err[256];
    const char *bad = NULL;
    int r;

    if (c->have_job) {
        if (c->job.campaign == u->campaign && strcmp(c->job.sha256, u->sha256) == 0) {
            /* A newer link to the same bytes (a CDN token with a later expiry) serves
             * the next attempt; one running goes on with the link it has. */
            char link[URL_MAX];

            if (offer_link(c, u, link, sizeof(link)) == 0)
                memcpy(c->url, link, sizeof(link));
            /* the same again (a poll, a re-delivered retained message), or the resume of a
             * paused campaign whose download waits */
            if (c->held) {
                c->held = false;
                ota_info("%s: campaign %" PRId64 " offered again; resuming", c->id, u->campaign);
                car_start_download(c, now);
            }
            return;
        }
        ota_info("%s: campaign %" PRId64 " replaces %" PRId64, c->id, u->campaign, c->job.campaign);
        close_download(c, true);
        c->have_job = false;
        ota_update_info_clear(&c->job);
    }
    if (c->have_last && c->last.campaign == u->campaign && strcmp(c->last.sha256, u->sha256) == 0) {
        ota_debug("%s: campaign %" PRId64 " already %s", c->id, u->campaign,
                  ota_deploy_state_name(c->last.state));
        if (!c->last_resent) {
            /* Still offered although finished here: the final report was lost (killed
             * before it went out). Say it once more; a repeated final state is harmless. */
            struct veh_report_entry e = { .campaign = c->last.campaign, .state = c->last.state };

            c->last_resent = true;
            ota_info("%s: campaign %" PRId64 " still offered; reporting %s again", c->id,
                     u->campaign, ota_deploy_state_name(c->last.state));
            veh_reporter_push(&c->rep, &e);
            /* The outcome is known, as the first time (a database restored from a backup
             * taken before it offers the campaign again too): --once ends once the
             * report is out, not at its timeout. */
            if (c->phase != CAR_FINISHING && c->phase != CAR_DONE)
                finish(c, c->last.state == OTA_DEPLOY_INSTALLED ? VEH_CAR_INSTALLED
                                                                : VEH_CAR_FAILED,
                       now);
        }
        return;
    }
    if (c->phase == CAR_FINISHING || c->phase == CAR_DONE)
        return;
    c->job = *u;
    memset(u, 0, sizeof(*u));
    c->have_job = true;
    if (c->have_last && c->last.state == OTA_DEPLOY_INSTALLED &&
        strcmp(c->last.sha256, c->job.sha256) == 0 && c->job.campaign > 0) {
        /* Another campaign for the bytes this vehicle runs already (the server did not
         * know: the report of the first install was lost, or the vehicle was flashed in
         * the workshop): no download, the deployment simply ends installed. */
        ota_info("%s: campaign %" PRId64 " offers %s version %s, which is installed here; "
                 "reporting installed",
                 c->id, c->job.campaign, c->job.name ? c->job.name : "?",
                 c->job.version ? c->job.version : "?");
        car_report(c, OTA_DEPLOY_INSTALLED, c->job.size, "already installed");
        remember(c, OTA_DEPLOY_INSTALLED);
        finish(c, VEH_CAR_INSTALLED, now);
        return;
    }
    c->step = 0;
    c->retries = 0;
    c->refreshes = 0;
    c->refresh_have = 0;
    c->reason[0] = '\0';
    if (c->job.campaign <= 0)
        bad = "announcement without a campaign";
    else if (!ota_sha256_hex_valid(c->job.sha256))
        bad = "announcement: sha256 is not 64 lowercase hex digits";
    else if (c->job.size > c->o->max_size)
        bad = "announcement: artifact larger than --max-size";
    else if (!veh_store_name_valid(c->job.name))
        bad = "announcement: name is not a safe file name";
    else if (!c->job.version)
        bad = "announcement: no version";
    else if (!c->job.signature || strlen(c->job.signature) > OTA_SIGN_TEXT_MAX)
        bad = "announcement: signature missing or too long";
    if (!bad && offer_link(c, &c->job, c->url, sizeof(c->url)) < 0)
        bad = "announcement: artifact url is neither a path on the server nor an https link";
    if (bad) {
        car_fail(c, bad);
        return;
    }
    ota_info("%s: update %s version %s (%" PRIu64 " bytes, campaign %" PRId64 ")", c->id,
             c->job.name, c->job.version, c->job.size, c->job.campaign);
    r = veh_store_partial_path(c->dir, c->job.sha256, path, sizeof(path));
    if (r == 0) {
        r = veh_dl_open(&c->dl, path, c->job.sha256, c->job.size, &c->o->faults);
        c->dl_open = true;
    }
    if (r < 0) {
        snprintf(err, sizeof(err), "partial file: %s", strerror(-r));
        car_fail(c, err);
        return;
    }
    c->dl.progress = car_progress;
    c->dl.owner = c;
    c->step = veh_report_step(c->dl.have, c->job.size);
    if (c->dl.have > 0)
        ota_info("%s: resuming from %" PRIu64 " bytes on disk", c->id, c->dl.have);
    car_report(c, OTA_DEPLOY_DOWNLOADING, c->dl.have, NULL);
    if (c->dl.have == c->job.size) {
        car_install(c);
        return;
    }
    car_start_download(c, now);
}

/* ---- polling ---- */

static int64_t poll_interval_ms(const struct veh_car *c)
{
    if (c->o->poll_interval_ms >= 0)
        return c->o->poll_interval_ms;
    return (int64_t)(c->poll_after ? c->poll_after : OTA_POLL_AFTER_DEFAULT) * 1000;
}

static void poll_next(struct veh_car *c, int64_t now, bool failed)
{
    int64_t d = poll_interval_ms(c);

    if (failed) {
        int64_t b = retry_delay_ms(++c->poll_failures) * 4;

        d = b < d ? b : d;
    } else {
        c->poll_failures = 0;
    }
    c->wake_ms = now + d;
}

static void poll_done(struct veh_xfer *x, CURLcode rc)
{
    struct veh_car *c = x->owner;
    int64_t now = ota_monotonic_ms();
    long st = c->resp.status;
    struct ota_update_info u = { 0 };
    char err[256];
    bool gone_check = c->gone_check, refreshing = c->refreshing;

    c->gone_check = false;
    c->refreshing = false;
    curl_slist_free_all(c->poll_hdrs);
    c->poll_hdrs = NULL;
    c->phase = CAR_IDLE;
    if (rc != CURLE_OK || (st != 200 && st != 204 && st != 304)) {
        if (rc == CURLE_OK && (st == 401 || st == 403) && c->o->once) {
            snprintf(err, sizeof(err), "server refused this vehicle (HTTP %ld)", st);
            snprintf(c->reason, sizeof(c->reason), "%s", err);
            ota_err("%s: %s", c->id, err);
            if (c->have_job) {
                car_fail(c, err);
                return;
            }
            finish(c, VEH_CAR_FAILED, now);
            return;
        }
        ota_warn("%s: poll failed: %s", c->id,
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "unexpected HTTP status");
        if (gone_check) {
            car_fail(c, "download: artifact not available and the deployment cannot be checked");
            return;
        }
        poll_next(c, now, true);
        return;
    }
    if (c->resp.has_etag && st != 204)
        snprintf(c->etag, sizeof(c->etag), "%s", c->resp.etag);
    if (st == 200) {
        if (ota_buf_error(&c->body) || ota_json_update_decode(ota_buf_str(&c->body),
                                                              c->body.len, &u, err, sizeof(err)) < 0) {
            ota_warn("%s: unusable /v1/updates answer: %s", c->id,
                     ota_buf_error(&c->body) == -E2BIG ? "too long" : ota_buf_error(&c->body) ? "out of memory" : err);
            c->etag[0] = '\0';
            poll_next(c, now, true);
            return;
        }
        if (u.poll_after > 0)
            c->poll_after = u.poll_after;
    } else if (st == 204) {
        c->etag[0] = '\0';
    }
    if (gone_check) {
        if (st == 200 && c->have_job && u.campaign == c->job.campaign &&
            strcmp(u.sha256, c->job.sha256) == 0) {
            char link[URL_MAX];

            if (refreshing && offer_link(c, &u, link, sizeof(link)) == 0) {
                /* still ours: resume from where it stopped with the fresh link */
                memcpy(c->url, link, sizeof(link));
                ota_update_info_clear(&u);
                ota_info("%s: new download link; resuming at %" PRIu64, c->id, c->dl.have);
                car_start_download(c, now);
                return;
            }
            ota_update_info_clear(&u);
            car_fail(c, "download: the server no longer serves the artifact (HTTP 404)");
            return;
        }
        car_cancel(c, "deployment no longer offered");
        if (st != 200) {
            poll_next(c, now, false);
            return;
        }
    }
    if (st == 200)
        car_offer(c, &u, now);
    ota_update_info_clear(&u);
    if (c->phase == CAR_IDLE)
        poll_next(c, now, false);
}

static void car_start_poll(struct veh_car *c, int64_t now)
{
    char url[URL_MAX], inm[160];

    ota_buf_free(&c->body);
    ota_buf_init(&c->body, UPDATE_BODY_MAX);
    curl_slist_free_all(c->poll_hdrs);
    c->poll_hdrs = NULL;
    if (veh_url_join(c->o->server, "/v1/updates", url, sizeof(url)) < 0 ||
        veh_http_setup(c->easy, url, &c->tls, &c->resp, &c->x, c->o->verbose > 1) < 0)
        goto fail;
    if (c->etag[0]) {
        snprintf(inm, sizeof(inm), "If-None-Match: %s", c->etag);
        c->poll_hdrs = curl_slist_append(NULL, inm);
        if (!c->poll_hdrs)
            goto fail;
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->poll_hdrs);
    }
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, veh_http_buf_write);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->body);
    c->x.done = poll_done;
    if (veh_ctx_start(c->ctx, &c->x) < 0)
        goto fail;
    c->phase = CAR_POLLING;
    return;
fail:
    c->phase = CAR_IDLE;
    poll_next(c, now, true);
}

/* ---- MQTT ---- */

static void mqtt_update(void *owner, const char *payload, size_t len)
{
    struct veh_car *c = owner;
    struct ota_update_info u = { 0 };
    int64_t now = ota_monotonic_ms();
    char err[256];

    if (len == 0) {
        if (c->have_job &&
            (c->phase == CAR_WAIT_SLOT || c->phase == CAR_DOWNLOADING || c->phase == CAR_RETRY))
            car_cancel(c, "update message cleared");
        return;
    }
    if (ota_json_update_decode(payload, len, &u, err, sizeof(err)) < 0) {
        ota_warn("%s: unusable update message: %s", c->id, err);
        return;
    }
    if (u.poll_after > 0)
        c->poll_after = u.poll_after;
    if (c->phase == CAR_IDLE || c->phase == CAR_POLLING || c->have_job) {
        /* A poll running now would end in car_offer() too; stop it, this is fresher. */
        if (c->phase == CAR_POLLING && !c->gone_check) {
            veh_ctx_stop(c->ctx, &c->x);
            c->phase = CAR_IDLE;
        }
        if (c->phase != CAR_POLLING)
            car_offer(c, &u, now);
    }
    ota_update_info_clear(&u);
}

/* ---- lifecycle ---- */

int veh_car_new(struct veh_ctx *ctx, const char *id, const char *cert, const char *key,
                const char *dir, bool with_mqtt, int64_t first_poll_ms, struct veh_car **ret)
{
    const struct veh_opts *o = ctx->opts;
    struct veh_car *c = NULL;
    struct veh_store_state last;
    int r = -ENOMEM;

    if (!ota_id_valid(id))
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        goto out;
    c->ctx = ctx;
    c->o = o;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->cert = cert ? strdup(cert) : NULL;
    c->key = key ? strdup(key) : NULL;
    c->dir = strdup(dir);
    c->easy = curl_easy_init();
    if ((cert && !c->cert) || (key && !c->key) || !c->dir || !c->easy)
        goto out;
    c->tls.cacert = o->cacert;
    c->tls.cert = c->cert;
    c->tls.key = c->key;
    c->x.easy = c->easy;
    c->x.owner = c;
    c->dl.fd = -1;
    c->phase = CAR_IDLE;
    c->wake_ms = first_poll_ms;
    r = veh_reporter_init(&c->rep, ctx, c->id, o->server, &c->tls, o->verbose > 1);
    if (r < 0)
        goto out;
    r = veh_store_prepare(dir);
    if (r < 0)
        goto out;
    r = veh_store_state_load(dir, &last);
    if (r == 0) {
        c->last = last;
        c->have_last = true;
    } else if (r != -ENOENT) {
        goto out;
    }
    if (with_mqtt) {
        r = veh_url_topic(o->topic_prefix, id, "update", c->topic_update, sizeof(c->topic_update));
        if (r == 0)
            r = veh_url_topic(o->topic_prefix, id, "status", c->topic_status,
                              sizeof(c->topic_status));
        if (r < 0)
            goto out;
        c->mqtt_cfg = (struct veh_mqtt_cfg){
            .host = o->mqtt_host,
            .port = o->mqtt_port,
            .cafile = o->mqtt_cafile,
            .certfile = o->mqtt_cert ? o->mqtt_cert : (o->mqtt_cafile ? c->cert : NULL),
            .keyfile = o->mqtt_key ? o->mqtt_key : (o->mqtt_cafile ? c->key : NULL),
            .client_id = c->id,
            .update_topic = c->topic_update,
            .status_topic = c->topic_status,
            .verbose = o->verbose > 1,
        };
        r = veh_mqtt_new(&c->mqtt_cfg, mqtt_update, c, &c->mqtt);
        if (r < 0)
            goto out;
        c->rep.mqtt = c->mqtt;
        c->rep.mqtt_wait_until = first_poll_ms + MQTT_GRACE_MS;
    }
    *ret = c;
    c = NULL;
    r = 0;
out:
    veh_car_free(c);
    return r;
}

void veh_car_free(struct veh_car *c)
{
    if (!c)
        return;
    close_download(c, false);
    veh_ctx_stop(c->ctx, &c->x);
    veh_reporter_release(&c->rep);
    veh_mqtt_free(c->mqtt);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->poll_hdrs);
    ota_buf_free(&c->body);
    ota_update_info_clear(&c->job);
    free(c->cert);
    free(c->key);
    free(c->dir);
    free(c);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static bool reports_flushed(struct veh_car *c, int64_t now)
{
    if (!veh_reporter_idle(&c->rep))
        return false;
    if (veh_mqtt_unacked(c->mqtt) == 0)
        return true;
    if (now - c->finish_start_ms > MQTT_ACK_WAIT_MS && c->last.campaign > 0) {
        /* No PUBACK: say the final word over REST too (the server takes duplicates). */
        struct veh_report_entry e = { 0 };

        e.campaign = c->last.campaign;
        e.state = c->last.state;
        snprintf(e.detail, sizeof(e.detail), "%s", c->reason);
        veh_reporter_final_over_rest(&c->rep, &e, now);
    }
    return false;
}

int64_t veh_car_tick(struct veh_car *c, int64_t now)
{
    int64_t next = now + 1000;

    if (c->phase != CAR_DONE)
        veh_reporter_pump(&c->rep, now);
    switch (c->phase) {
    case CAR_IDLE:
        /* With MQTT too: the broker may have lost the retained message, never had it
         * (notifier behind) or not share it across its nodes. The poll is the safety
         * net that turns that into a delay, never a lost update; with the ETag it costs
         * a 304. */
        if (now >= c->wake_ms)
            car_start_poll(c, now);
        if (c->phase == CAR_IDLE)
            next = c->wake_ms;
        break;
    case CAR_WAIT_SLOT:
        car_start_download(c, now);
        next = now + 50;
        break;
    case CAR_DOWNLOADING:
        veh_dl_unstall(&c->dl, c->easy, now);
        if (c->dl.paused)
            next = c->dl.stall_until_ms;
        break;
    case CAR_RETRY:
        if (now >= c->wake_ms)
            car_start_download(c, now);
        else
            next = c->wake_ms;
        break;
    case CAR_FINISHING:
        if (reports_flushed(c, now) || now - c->finish_start_ms > FINISH_WAIT_MS) {
            veh_reporter_reset_final(&c->rep);
            if (c->o->once || c->o->fleet) {
                c->phase = CAR_DONE;
            } else {
                c->phase = CAR_IDLE;
                c->result = VEH_CAR_NONE;
                poll_next(c, now, false);
            }
        }
        next = now + 100;
        break;
    case CAR_POLLING:
    case CAR_DONE:
        break;
    }
    next = min64(next, veh_reporter_wake(&c->rep));
    return next;
}

bool veh_car_done(const struct veh_car *c)
{
    return c->phase == CAR_DONE;
}

enum veh_car_result veh_car_result(const struct veh_car *c)
{
    return c->result;
}

const char *veh_car_id(const struct veh_car *c)
{
    return c->id;
}

const char *veh_car_reason(const struct veh_car *c)
{
    return c->reason;
}

uint64_t veh_car_bytes(const struct veh_car *c)
{
    return c->bytes + (c->dl_open ? c->dl.received : 0);
}

void veh_car_describe(const struct veh_car *c, char *buf, size_t len)
{
    const char *name = c->job.name ? c->job.name : "?";
    const char *version = c->job.version ? c->job.version : "?";
    double have = (double)(c->dl_open ? c->dl.have : 0) / (1024.0 * 1024.0);
    double size = (double)c->job.size / (1024.0 * 1024.0);

    switch (c->phase) {
    case CAR_IDLE:
    case CAR_POLLING:
        snprintf(buf, len, "%s: no update yet (asking %s)", c->id,
                 c->phase == CAR_POLLING ? "now" : "again soon");
        break;
    case CAR_WAIT_SLOT:
        snprintf(buf, len, "%s: %s %s: waiting for a download slot", c->id, name, version);
        break;
    case CAR_DOWNLOADING:
    case CAR_RETRY:
        snprintf(buf, len, "%s: %s %s: %.1f of %.1f MiB (%.0f%%)%s", c->id, name, version, have,
                 size, size > 0 ? 100.0 * have / size : 0.0,
                 c->phase == CAR_RETRY ? ", resuming soon" : "");
        break;
    case CAR_FINISHING:
    case CAR_DONE:
        snprintf(buf, len, "%s: %s", c->id,
                 c->result == VEH_CAR_INSTALLED   ? "installed"
                 : c->result == VEH_CAR_CANCELLED ? "withdrawn"
                                                  : "failed");
        break;
    }
}

bool veh_car_downloading(const struct veh_car *c)
{
    return c->phase == CAR_DOWNLOADING || c->phase == CAR_RETRY || c->phase == CAR_WAIT_SLOT;
}

struct veh_mqtt *veh_car_mqtt(struct veh_car *c)
{
    return c->mqtt;
}
