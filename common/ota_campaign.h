/* Campaign life cycle (ota-admin's business logic): start snapshots the targets into
 * deployments and outbox rows in one transaction; pause, resume and cancel move the
 * outbox rows that wait for the broker. */
#pragma once
#include <stddef.h>
#include "ota_db.h"

/* created -> running: one deployment and one outbox row (the retained update message,
 * payload = GET /v1/updates body + issued_at) per targeted vehicle, in one transaction.
 * Refuses (-EINVAL, reason in @err) a campaign that is not 'created', an explicit target
 * list naming an unknown or revoked vehicle, or a target that selects no vehicle.
 * Returns 0, -ENOENT, -EINVAL, -EBUSY or -EIO. */
int ota_campaign_start(struct ota_db *db, int64_t id, unsigned poll_after, char *err,
                       size_t errlen);
/* running -> paused: pending outbox rows become held. */
int ota_campaign_pause(struct ota_db *db, int64_t id, char *err, size_t errlen);
/* paused -> running: held rows become pending. */
int ota_campaign_resume(struct ota_db *db, int64_t id, char *err, size_t errlen);
/* created/running/paused -> cancelled: unfinished deployments cancelled, unsent rows
 * dropped, and per vehicle the message that makes its topic current again
 * (ota_status_queue_refresh: empty, or another active campaign with @poll_after). */
int ota_campaign_cancel(struct ota_db *db, int64_t id, unsigned poll_after, char *err,
                        size_t errlen);
