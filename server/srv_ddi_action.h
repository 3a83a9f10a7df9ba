/* hawkBit DDI: what each controller endpoint answers, decided against the database.
 * No HTTP here (srv_ddi.c turns an answer into a response), so it is unit-tested on a
 * temp database. actionId = deployment id; moduleId = campaign id (the campaign's
 * artifact is the one software module of the action). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_db.h"

/* The deployment detail that marks a cancellation as acknowledged over DDI, so that the
 * poll stops announcing its cancelAction. */

struct srv_ddi_env {
    const char *public_url; /* [server] public_url */
    const char *tenant;     /* [server] tenant */
    unsigned poll_after;    /* [server] poll_after: config.polling.sleep */
    /* NULL: artifact links at the origin ({base}/softwaremodules/...); else content-
     * addressed links at the CDN with the vehicle's token, valid from @now */
    struct ota_cdn *cdn;
    int64_t now;
};

/* An answer: status, and either a JSON body (2xx) or an error code and message. */
struct srv_ddi_answer {
    unsigned status;
    char *body;       /* new (free with srv_ddi_answer_clear()); NULL for none */
    const char *code; /* static error code for status >= 400 */
    char message[256];
};
void srv_ddi_answer_clear(struct srv_ddi_answer *a);

/* GET {base}: the poll answer for @vehicle: an unacknowledged cancelled deployment is
 * announced as cancelAction first (as hawkBit does, one action at a time); otherwise the
 * current deployment as deploymentBase. configData is linked while the vehicle has no
 * attributes yet (hawkBit's "requestAttributes"): SWUpdate answers a configData link on
 * every poll, before anything else. -ENOENT if the vehicle is unknown.
 * Returns 0 with *a filled, or -ENOMEM/-EIO. */
int srv_ddi_poll(struct ota_db *db, const struct srv_ddi_env *env, const char *vehicle,
                 struct srv_ddi_answer *a);

/* GET {base}/deploymentBase/{action}: 200 for the vehicle's own deployment that is not
 * cancelled, 410 for a cancelled one, 404 otherwise. */
int srv_ddi_deployment(struct ota_db *db, const struct srv_ddi_env *env, const char *vehicle,
                       int64_t action, struct srv_ddi_answer *a);

/* GET {base}/cancelAction/{action}: 200 for the vehicle's own cancelled deployment, 404
 * otherwise. */
int srv_ddi_cancel(struct ota_db *db, const char *vehicle, int64_t action,
                   struct srv_ddi_answer *a);

/* POST {base}/deploymentBase/{action}/feedback or (@cancel) .../cancelAction/{action}/
 * feedback with @body: 200 (applied through ota_status_apply(), actor "ddi", or recorded
 * as an event), 400/413 for a bad body, 404 for another vehicle's or an unknown action,
 * 410 for an action no longer active (deployment finished or cancelled, except a repeat
 * of its final state; for @cancel: a deployment that is not cancelled). */
int srv_ddi_feedback(struct ota_db *db, const struct srv_ddi_env *env, const char *vehicle,
                     int64_t action, bool cancel, const char *body, size_t len,
                     struct srv_ddi_answer *a);

/* PUT {base}/configData: merges "data" into the vehicle's attributes; 200, 400 or 413.
 * Its "status" ("execution":"closed") is not feedback and closes nothing. */
int srv_ddi_config_data(struct ota_db *db, const char *vehicle, const char *body, size_t len,
                        struct srv_ddi_answer *a);

/* Resolves {base}/softwaremodules/{module}/artifacts/{filename} for @vehicle: the
 * campaign @module's artifact, if the vehicle has a deployment in it that may fetch it
 * (same rule as /v1/artifacts/) and @filename equals the artifact's name.
 * Returns 0 with *ret new (ota_artifact_free()), -ENOENT (404) or -EIO. */
int srv_ddi_artifact_find(struct ota_db *db, const char *vehicle, int64_t module,
                          const char *filename, struct ota_artifact **ret);
