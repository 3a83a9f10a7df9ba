/* Campaign life cycle, the domain rules behind ota-admin's campaign commands: create
 * (what a campaign may target), start (snapshot the targets into deployments, one
 * unfinished deployment per vehicle, already-installed vehicles recorded as such), pause,
 * resume and cancel; each moves the campaign, its deployments, its counts and its
 * messages together (start in batches, the rest in one transaction), with an audit event
 * naming @actor. */
#pragma once
#include <stddef.h>
#include "ota_db.h"

struct ota_campaign_spec {
    const char *name;
    const char *artifact; /* sha256 */
    enum ota_target_kind kind;
    /* OTA_TARGET_VEHICLES: a comma list of ids; GROUP, MODEL: the label; ATTRIBUTES: a
     * JSON object of string values; ALL: "" */
    const char *target;
};

/* Checks @s and inserts the campaign ('created'). Refused, with the reason in @err naming
 * the option: -EINVAL (malformed: a name, id, label or attribute object that can never
 * work), -ENOENT (no such artifact or it was deleted, a group or model no vehicle has, a
 * listed vehicle that is unknown or revoked), -EEXIST (the name is taken). Otherwise 0
 * with *ret_id, -EBUSY or -EIO; nothing is written on error. */
int ota_campaign_create(struct ota_db *db, const char *actor, const struct ota_campaign_spec *s,
                        int64_t *ret_id, char *err, size_t errlen);

/* What start does with targets that are in another campaign's unfinished deployment. */
enum ota_start_busy {
    OTA_START_REFUSE,    /* refuse the start (-EEXIST, the count in report->busy) */
    OTA_START_SUPERSEDE, /* end their older deployment: cancelled, "superseded by campaign N" */
    OTA_START_SKIP_BUSY, /* leave them out */
};

struct ota_start_report {
    uint64_t targets;    /* active vehicles the target selects */
    uint64_t busy;       /* of them in another campaign's unfinished deployment */
    uint64_t superseded; /* older deployments ended (OTA_START_SUPERSEDE) */
    uint64_t skipped;    /* targets left out (OTA_START_SKIP_BUSY) */
    uint64_t installed;  /* recorded as already installed (they run the artifact) */
    uint64_t pending;    /* deployments offered and notified */
};

/* created -> starting -> running, in steps so that a start of any size never holds the
 * write lock for long: (1) read-only checks, and the targets gathered; a refusal here
 * writes nothing; (2) 'starting'; (3) batches of targets, one transaction each: one
 * deployment per target ('installed' for a vehicle that runs the artifact already,
 * 'pending' otherwise, busy ones per @busy) and a held update message (GET /v1/updates
 * body + issued_at) for each pending one; (4) 'running' in one transaction, which makes
 * every deployment visible at once (a campaign whose every target runs the artifact is
 * finished at once); (5) the held messages released, oldest first, in batches.
 *
 * Guarantee: until (4) vehicles are offered nothing of it and status reports treat its
 * deployments as absent; an interrupted or failed start leaves it 'starting', and calling
 * this again goes on where it stopped (campaign cancel ends it instead). With
 * OTA_START_SUPERSEDE, the batches done have already ended the older deployments of
 * their vehicles. Messages a crash left held are released by the next start call or by
 * ota-notifier (ota_campaign_release_held).
 *
 * Refuses in (1) (reason in @err): -EINVAL a campaign that is not 'created' or
 * 'starting', or a target that selects no active vehicle; -ENOENT an artifact deleted or
 * missing from @store, or a listed vehicle no longer active; -EEXIST busy targets with
 * OTA_START_REFUSE (or every target busy with OTA_START_SKIP_BUSY). Otherwise 0, -EBUSY
 * or -EIO. @report is filled either way (pending and installed: the campaign's totals). */
int ota_campaign_start(struct ota_db *db, const char *actor, int64_t id,
                       enum ota_start_busy busy, unsigned poll_after, const char *store,
                       struct ota_start_report *report, char *err, size_t errlen);

/* Makes @id's held messages due, START_BATCH per transaction, while it is running; at most
 * @max_batches transactions (0: until none is left). *ret_n (may be NULL): released. */
int ota_campaign_release_held(struct ota_db *db, int64_t id, unsigned max_batches,
                              uint64_t *ret_n);

/* running -> paused: an emergency brake. Deployments not yet under way are held: their
 * unsent messages dropped and their retained update cleared (GET /v1/updates answers 204
 * for them, their artifact requests 409); those under way finish. */
int ota_campaign_pause(struct ota_db *db, const char *actor, int64_t id, char *err,
                       size_t errlen);
/* paused -> running: the held deployments are offered and notified again. */
int ota_campaign_resume(struct ota_db *db, const char *actor, int64_t id, unsigned poll_after,
                        char *err, size_t errlen);
/* created/starting/running/paused -> cancelled: unfinished deployments cancelled (hawkBit clients
 * see a cancelAction until they acknowledge it), unsent messages dropped and every
 * vehicle's retained update cleared; installed ones keep 'installed'. */
int ota_campaign_cancel(struct ota_db *db, const char *actor, int64_t id, char *err,
                        size_t errlen);

/* Inside the caller's transaction: a running or paused campaign whose deployments have
 * all ended becomes finished. From its counts: the cost does not depend on its size. */
int ota_campaign_finish_if_done(struct ota_db *db, int64_t id, int64_t now);
