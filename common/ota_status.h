/* Applies one vehicle status report to its deployment: the single code path behind
 * POST /v1/status, the MQTT status topic and hawkBit feedback. */
#pragma once
#include <stddef.h>
#include "ota_db.h"
#include "ota_json.h"

#define OTA_STATUS_DUPLICATE 1 /* ota_status_apply(): a harmless repeat (at-least-once) */

enum ota_status_flags {
    /* hawkBit: a cancelled action stays "canceling" until the device acknowledges the
     * cancel; meanwhile its feedback is accepted, and an install it reports is recorded
     * (the cancel came too late). */
    OTA_STATUS_AFTER_CANCEL = 1 << 0,
};

/* In one transaction: checks the vehicle is in the report's campaign and the move is
 * allowed (ota_deploy_transition_ok), updates the deployment (and its campaign's counts),
 * records an event (actor 'rest', 'mqtt' or 'ddi'), records an install as what the
 * vehicle runs, and when the deployment ends queues the vehicle's retained update message
 * (ota_status_queue_refresh) and finishes the campaign if that was its last unfinished
 * deployment. A revoked vehicle (or an edge) is refused with -EPERM, whichever path the
 * report took. Returns 0 (applied), OTA_STATUS_DUPLICATE (a repeat of the final state:
 * recorded as an event, nothing else changed; answer it like 0), -ENOENT (vehicle not in
 * that campaign), -EPERM (a backward move, a start while the campaign is paused, or the
 * deployment/campaign is no longer active: cancelled or finished), -EBUSY or -EIO;
 * nothing changes on error. @err says why, for the response body or log. */
int ota_status_apply(struct ota_db *db, const char *vehicle, const struct ota_status_report *r,
                     const char *actor, unsigned poll_after, unsigned flags, char *err,
                     size_t errlen);

/* Inside the caller's transaction: queues the message that makes @vehicle's retained
 * update topic say what ota_db_deployment_current() says now: the update body (+
 * issued_at) of its current deployment, or the empty message that clears the topic when
 * it has none. Returns 0, -ENOMEM or -EIO. */
int ota_status_queue_refresh(struct ota_db *db, const char *vehicle, unsigned poll_after,
                             int64_t now);

/* Builds the update body for a deployment (GET /v1/updates, and with @issued_at > 0 the
 * MQTT message), with @url as artifact.url (NULL: the origin path, /v1/artifacts/<sha256>;
 * a CDN link otherwise, ota_cdn_link()). *ret new (free()). Returns 0, -ENOENT (artifact gone), -ENOMEM, -EIO. */
int ota_status_update_body(struct ota_db *db, const struct ota_deployment *d, const char *url,
                           unsigned poll_after, int64_t issued_at, char **ret);
