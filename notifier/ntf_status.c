/* Status intake over MQTT. Program-level code of ota-notifier: it logs (rate-limited,
 * since a misbehaving vehicle could send a flood). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_log.h"
#include "ota_status.h"
#include "ntf_status.h"
#include "ntf_topic.h"

#define BAD_LOG_WINDOW_MS 10000
#define BAD_LOG_MAX       20    /* bad-message log lines per window */
#define QUEUE_GIVE_UP_MS  60000 /* a report waits this long for a locked database */

static void bad(struct ntf_status_intake *in, enum ntf_bad_reason reason, const char *vehicle,
                const char *why)
{
    int64_t now = ota_monotonic_ms();

    in->stats->status_bad[reason]++;
    in->stats->dirty = true;
    if (now - in->bad_window_ms >= BAD_LOG_WINDOW_MS) {
        if (in->bad_suppressed)
            ota_warn("%u more bad status message(s) not logged", in->bad_suppressed);
        in->bad_window_ms = now;
        in->bad_logged = 0;
        in->bad_suppressed = 0;
    }
    if (in->bad_logged < BAD_LOG_MAX) {
        in->bad_logged++;
        ota_warn("status from %s refused (%s): %s", vehicle ? vehicle : "?",
                 ntf_bad_reason_name(reason), why);
    } else {
        in->bad_suppressed++;
    }
}

/* Returns 0 when done with the report (applied or refused), -EBUSY to try again. */
static int apply(struct ntf_status_intake *in, const char *vehicle, const struct ota_status_report *rep)
{
    char err[256] = "";
    int r;

    r = ota_status_apply(in->db, vehicle, rep, "mqtt", in->poll_after, 0, err,
                         sizeof(err));
    switch (r) {
    case 0:
        in->stats->status_applied++;
        in->stats->dirty = true;
        ota_info("status from %s: campaign %" PRId64 " %s (%" PRIu64 " bytes)", vehicle,
                 rep->campaign, ota_deploy_state_name(rep->state), rep->bytes);
        return 0;
    case OTA_STATUS_DUPLICATE:
        in->stats->status_duplicate++;
        in->stats->dirty = true;
        ota_info("status from %s: campaign %" PRId64 " %s again (duplicate, ignored)", vehicle,
                 rep->campaign, ota_deploy_state_name(rep->state));
        return 0;
    case -ENOENT:
        bad(in, NTF_BAD_UNKNOWN, vehicle, err[0] ? err : "not in that campaign");
        return 0;
    case -EPERM:
        bad(in, NTF_BAD_REJECTED, vehicle, err[0] ? err : "not allowed now");
        return 0;
    case -EBUSY:
        in->stats->db_busy++;
        in->stats->dirty = true;
        return -EBUSY;
    default:
        bad(in, NTF_BAD_DROPPED, vehicle, err[0] ? err : ota_db_errmsg(in->db));
        return 0;
    }
}

static int enqueue(struct ntf_status_intake *in, const char *vehicle, const struct ota_status_report *rep)
{
    struct ntf_status_queue *q = &in->queue;
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

void ntf_status_message(struct ntf_status_intake *in, const char *topic, const void *payload, size_t len)
{
    char vehicle[OTA_ID_MAX + 1];
    char err[256] = "";
    struct ota_status_report rep;
    int r;

    if (ntf_topic_status_vehicle(in->topic_prefix, topic, vehicle) < 0) {
        bad(in, NTF_BAD_TOPIC, NULL, "topic has no valid vehicle id");
        return;
    }
    if (len > OTA_STATUS_BODY_MAX) {
        char why[64];
        snprintf(why, sizeof(why), "%zu bytes, more than %d", len, OTA_STATUS_BODY_MAX);
        bad(in, NTF_BAD_PAYLOAD, vehicle, why);
        return;
    }
    memset(&rep, 0, sizeof(rep));
    r = ota_json_status_decode(payload, len, &rep, err, sizeof(err));
    if (r < 0) {
        bad(in, NTF_BAD_PAYLOAD, vehicle, err[0] ? err : "malformed");
        return;
    }
    /* Keep the order of one vehicle's reports: if earlier ones wait, this one waits too. */
    if (in->queue.n == 0 && apply(in, vehicle, &rep) == 0)
        return;
    r = enqueue(in, vehicle, &rep);
    if (r < 0)
        bad(in, NTF_BAD_DROPPED, vehicle, "database locked and the retry queue is full");
}

void ntf_status_retry(struct ntf_status_intake *in)
{
    struct ntf_status_queue *q = &in->queue;
    int64_t now = ota_monotonic_ms();

    while (q->n > 0) {
        struct ntf_status_item *it = &q->v[q->head];
        if (apply(in, it->vehicle, &it->report) == -EBUSY) {
            if (now - it->first_ms < QUEUE_GIVE_UP_MS)
                return;
            bad(in, NTF_BAD_DROPPED, it->vehicle, "database locked for too long");
        }
        q->head = (q->head + 1) % NTF_STATUS_QUEUE_MAX;
        q->n--;
    }
}

void ntf_status_init(struct ntf_status_intake *in, struct ota_db *db, const char *topic_prefix,
                     unsigned poll_after, struct ntf_stats *stats)
{
    memset(in, 0, sizeof(*in));
    in->db = db;
    in->topic_prefix = topic_prefix;
    in->poll_after = poll_after;
    in->stats = stats;
}

void ntf_status_free(struct ntf_status_intake *in)
{
    free(in->queue.v);
    in->queue.v = NULL;
    in->queue.n = in->queue.head = 0;
}
