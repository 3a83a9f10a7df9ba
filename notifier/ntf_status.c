/* Status intake over MQTT. Program-level code of ota-notifier: it logs (rate-limited,
 * since a misbehaving vehicle could send a flood). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_log.h"
#include "ota_status.h"
#include "ntf_daemon.h"
#include "ntf_status.h"
#include "ntf_topic.h"

#define BAD_LOG_WINDOW_MS 10000
#define BAD_LOG_MAX       20    /* bad-message log lines per window */
#define QUEUE_GIVE_UP_MS  60000 /* a report waits this long for a locked database */

static void bad(struct ntf_daemon *d, enum ntf_bad_reason reason, const char *vehicle,
                const char *why)
{
    int64_t now = ota_monotonic_ms();

    d->stats.status_bad[reason]++;
    d->stats_dirty = true;
    if (now - d->bad_window_ms >= BAD_LOG_WINDOW_MS) {
        if (d->bad_suppressed)
            ota_warn("%u more bad status message(s) not logged", d->bad_suppressed);
        d->bad_window_ms = now;
        d->bad_logged = 0;
        d->bad_suppressed = 0;
    }
    if (d->bad_logged < BAD_LOG_MAX) {
        d->bad_logged++;
        ota_warn("status from %s refused (%s): %s", vehicle ? vehicle : "?",
                 ntf_bad_reason_name(reason), why);
    } else {
        d->bad_suppressed++;
    }
}

/* Returns 0 when done with the report (applied or refused), -EBUSY to try again. */
static int apply(struct ntf_daemon *d, const char *vehicle, const struct ota_status_report *rep)
{
    char err[256] = "";
    int r;

    r = ota_status_apply(d->db, vehicle, rep, "mqtt", d->cfg->server.poll_after, 0, err,
                         sizeof(err));
    switch (r) {
    case 0:
        d->stats.status_applied++;
        d->stats_dirty = true;
        ota_info("status from %s: campaign %" PRId64 " %s (%" PRIu64 " bytes)", vehicle,
                 rep->campaign, ota_deploy_state_name(rep->state), rep->bytes);
        return 0;
    case OTA_STATUS_DUPLICATE:
        d->stats.status_duplicate++;
        d->stats_dirty = true;
        ota_info("status from %s: campaign %" PRId64 " %s again (duplicate, ignored)", vehicle,
                 rep->campaign, ota_deploy_state_name(rep->state));
        return 0;
    case -ENOENT:
        bad(d, NTF_BAD_UNKNOWN, vehicle, err[0] ? err : "not in that campaign");
        return 0;
    case -EPERM:
        bad(d, NTF_BAD_REJECTED, vehicle, err[0] ? err : "not allowed now");
        return 0;
    case -EBUSY:
        d->stats.db_busy++;
        d->stats_dirty = true;
        return -EBUSY;
    default:
        bad(d, NTF_BAD_DROPPED, vehicle, err[0] ? err : ota_db_errmsg(d->db));
        return 0;
    }
}

static int enqueue(struct ntf_daemon *d, const char *vehicle, const struct ota_status_report *rep)
{
    struct ntf_status_queue *q = &d->squeue;
    struct ntf_status_item *it;

    if (!q->v) {
        q->v = calloc(NTF_STATUS_QUEUE_MAX, sizeof(*q->v));
        if (!q->v)
            return -ENOMEM;
    }
    if (q->n >= NTF_STATUS_QUEUE_MAX)
        return -ENOSPC;
    it = &q->v[(q->head + q->n) % NTF_STATUS_QUEUE_MAX];
    snprintf(it->vehicle, sizeof(it->vehicle), "%s", vehicle);
    it->report = *rep;
    it->first_ms = ota_monotonic_ms();
    q->n++;
    return 0;
}

void ntf_status_message(struct ntf_daemon *d, const char *topic, const void *payload, size_t len)
{
    char vehicle[OTA_ID_MAX + 1];
    char err[256] = "";
    struct ota_status_report rep;
    int r;

    if (ntf_topic_status_vehicle(d->cfg->mqtt.topic_prefix, topic, vehicle) < 0) {
        bad(d, NTF_BAD_TOPIC, NULL, "topic has no valid vehicle id");
        return;
    }
    if (len > OTA_STATUS_BODY_MAX) {
        char why[64];
        snprintf(why, sizeof(why), "%zu bytes, more than %d", len, OTA_STATUS_BODY_MAX);
        bad(d, NTF_BAD_PAYLOAD, vehicle, why);
        return;
    }
    memset(&rep, 0, sizeof(rep));
    r = ota_json_status_decode(payload, len, &rep, err, sizeof(err));
    if (r < 0) {
        bad(d, NTF_BAD_PAYLOAD, vehicle, err[0] ? err : "malformed");
        return;
    }
    /* Keep the order of one vehicle's reports: if earlier ones wait, this one waits too. */
    if (d->squeue.n == 0 && apply(d, vehicle, &rep) == 0)
        return;
    r = enqueue(d, vehicle, &rep);
    if (r < 0)
        bad(d, NTF_BAD_DROPPED, vehicle, "database locked and the retry queue is full");
}

void ntf_status_retry(struct ntf_daemon *d)
{
    struct ntf_status_queue *q = &d->squeue;
    int64_t now = ota_monotonic_ms();

    while (q->n > 0) {
        struct ntf_status_item *it = &q->v[q->head];
        if (apply(d, it->vehicle, &it->report) == -EBUSY) {
            if (now - it->first_ms < QUEUE_GIVE_UP_MS)
                return;
            bad(d, NTF_BAD_DROPPED, it->vehicle, "database locked for too long");
        }
        q->head = (q->head + 1) % NTF_STATUS_QUEUE_MAX;
        q->n--;
    }
}

void ntf_status_queue_free(struct ntf_status_queue *q)
{
    if (!q)
        return;
    free(q->v);
    q->v = NULL;
    q->n = q->head = 0;
}
