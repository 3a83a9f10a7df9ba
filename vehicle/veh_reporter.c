/* A vehicle's status reporter (veh_reporter.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_json.h"
#include "ota_log.h"
#include "ota_util.h"
#include "veh_mqtt.h"
#include "veh_reporter.h"
#include "veh_url.h"

#define REPORT_BODY_MAX 4096 /* what we keep of a status answer (errors) */
#define REPORT_TRIES    5
#define REPORT_RETRY_MS 1000

/* A transfer's end, reported by veh_run's loop (outside libcurl): the next may start. */
static void rep_done(struct veh_xfer *x, CURLcode rc)
{
    struct veh_reporter *r = x->owner;
    const struct veh_report_entry *e = veh_report_front(&r->rq);
    long st = r->resp.status;

    r->busy = false;
    free(r->json);
    r->json = NULL;
    if (!e)
        return;
    if (rc == CURLE_OK && st >= 200 && st < 300) {
        ota_debug("%s: reported %s over REST", r->id, ota_deploy_state_name(e->state));
    } else if (rc == CURLE_OK && st >= 400 && st < 500 && st != 408 && st != 429) {
        /* 409: the server will not take it (cancelled, or behind); retrying cannot help */
        ota_warn("%s: status %s refused with HTTP %ld: %.200s", r->id,
                 ota_deploy_state_name(e->state), st, ota_buf_str(&r->body));
    } else if (++r->tries < REPORT_TRIES) {
        r->wake_ms = ota_monotonic_ms() + REPORT_RETRY_MS;
        ota_debug("%s: status report failed (%s, HTTP %ld), retrying", r->id,
                  curl_easy_strerror(rc), st);
        return;
    } else {
        ota_warn("%s: giving up on status %s: %s", r->id, ota_deploy_state_name(e->state),
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "server error");
    }
    r->tries = 0;
    veh_report_pop(&r->rq);
    veh_reporter_pump(r, ota_monotonic_ms());
}

static int rest_send(struct veh_reporter *r, const char *json)
{
    ota_buf_free(&r->body);
    if (veh_http_setup(r->easy, r->status_url, r->tls, &r->resp, &r->x, r->verbose) < 0)
        return -EINVAL;
    if (!r->hdrs) {
        r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        if (!r->hdrs)
            return -ENOMEM;
    }
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, veh_http_buf_write);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &r->body);
    return veh_ctx_start(r->ctx, &r->x);
}

int veh_reporter_init(struct veh_reporter *r, struct veh_ctx *ctx, const char *id,
                      const char *server, const struct veh_tls *tls, bool verbose)
{
    int ret;

    memset(r, 0, sizeof(*r));
    r->ctx = ctx;
    r->id = id;
    r->tls = tls;
    r->verbose = verbose;
    ota_buf_init(&r->body, REPORT_BODY_MAX);
    ret = veh_url_join(server, "/v1/status", r->status_url, sizeof(r->status_url));
    if (ret < 0)
        return ret;
    r->easy = curl_easy_init();
    if (!r->easy)
        return -ENOMEM;
    r->x.easy = r->easy;
    r->x.owner = r;
    r->x.done = rep_done;
    return 0;
}

void veh_reporter_release(struct veh_reporter *r)
{
    if (r->easy) {
        veh_ctx_stop(r->ctx, &r->x);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    ota_buf_free(&r->body);
    free(r->json);
    r->json = NULL;
}

void veh_reporter_push(struct veh_reporter *r, const struct veh_report_entry *e)
{
    if (veh_report_push(&r->rq, e, r->busy) < 0)
        ota_debug("%s: report queue full, %s report dropped", r->id,
                  ota_deploy_state_name(e->state));
}

void veh_reporter_pump(struct veh_reporter *r, int64_t now)
{
    struct veh_mqtt *mqtt = r->mqtt;
    const struct veh_report_entry *e;
    struct ota_status_report rep;
    char *json = NULL;

    while (!r->busy && (e = veh_report_front(&r->rq)) && now >= r->wake_ms) {
        if (mqtt && !veh_mqtt_connected(mqtt) && now < r->mqtt_wait_until) {
            /* just started: the broker is being connected to, reports go there */
            r->wake_ms = r->mqtt_wait_until;
            break;
        }
        memset(&rep, 0, sizeof(rep));
        rep.campaign = e->campaign;
        rep.state = e->state;
        rep.bytes = e->bytes;
        snprintf(rep.detail, sizeof(rep.detail), "%s", e->detail);
        if (ota_json_status_encode(&rep, &json) < 0) {
            veh_report_pop(&r->rq);
            continue;
        }
        if (mqtt && veh_mqtt_connected(mqtt) && !r->final_over_rest &&
            veh_mqtt_publish_status(mqtt, json) == 0) {
            ota_debug("%s: reported %s over MQTT", r->id, ota_deploy_state_name(e->state));
            free(json);
            json = NULL;
            veh_report_pop(&r->rq);
            continue;
        }
        r->json = json;
        json = NULL;
        if (rest_send(r, r->json) < 0) {
            free(r->json);
            r->json = NULL;
            r->wake_ms = now + REPORT_RETRY_MS;
            break;
        }
        r->busy = true;
    }
}

void veh_reporter_drop_queued(struct veh_reporter *r)
{
    while (veh_report_front(&r->rq) && !r->busy)
        veh_report_pop(&r->rq);
}

bool veh_reporter_idle(const struct veh_reporter *r)
{
    return !veh_report_front(&r->rq) && !r->busy;
}

int64_t veh_reporter_wake(const struct veh_reporter *r)
{
    return veh_report_front(&r->rq) && !r->busy ? r->wake_ms : INT64_MAX;
}

void veh_reporter_final_over_rest(struct veh_reporter *r, const struct veh_report_entry *e,
                                  int64_t now)
{
    if (r->final_over_rest)
        return;
    r->final_over_rest = true;
    veh_report_push(&r->rq, e, false);
    veh_reporter_pump(r, now);
}

void veh_reporter_reset_final(struct veh_reporter *r)
{
    r->final_over_rest = false;
}
