/* Campaign life cycle, the domain rules behind ota-admin's campaign commands: create
 * (what a campaign may target), start (snapshot the targets into deployments, one
 * unfinished deployment per vehicle, already-installed vehicles recorded as such), pause,
 * resume and cancel; each moves the campaign, its deployments, its counts and its
 * messages together (start in batches, the rest in one transaction), with an audit event
 * naming @actor. Staged rollouts (the last section) are ota_campaign_rollout.c's. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "ota_db.h"

/* The rollout options as given (DESIGN.md "Rollouts"); NULL: not given. */
struct ota_rollout_spec {
    const char *stages;       /* "5%,25%,100%" or counts */
    const char *success;      /* "90%" */
    const char *max_failures; /* "10%" or a count */
    const char *min_finished; /* a count */
    const char *timeout;      /* "30m" */
    const char *start_at;     /* RFC 3339 UTC or @EPOCH, in the future */
    const char *window;       /* "mon-fri 01:00-05:00" */
    const char *canary;       /* a group */
    bool manual;
};

struct ota_campaign_spec {
    const char *name;
    const char *artifact; /* sha256 */
    enum ota_target_kind kind;
    /* OTA_TARGET_VEHICLES: a comma list of ids; GROUP, MODEL: the label; ATTRIBUTES: a
     * JSON object of string values; ALL: "" */
    const char *target;
    struct ota_rollout_spec rollout;
};

/* Checks @s and inserts the campaign ('created'). Refused, with the reason in @err naming
 * the option: -EINVAL (malformed: a name, id, label or attribute object that can never
 * work; a rollout option that is malformed, out of range or does not fit the targets
 * now: stages that shrink, pass 100 % or hold no vehicle, a start time in the past, an
 * empty window, --manual/--canary without --stages, --min-finished without
 * --max-failures, a canary group no vehicle has), -ENOENT (no such artifact or it was
 * deleted, a group or model no vehicle has, a listed vehicle that is unknown or revoked),
 * -EEXIST (the name is taken). Otherwise 0 with *ret_id, -EBUSY or -EIO; nothing is
 * written on error. */
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

/* ---- rollouts (DESIGN.md "Rollouts"; the decisions are ota_rollout.c's) ---------------- */

/* Inside the caller's transaction (a status report's, whichever door it came through,
 * or a time-driven one): applies what the running campaign @id's rules call for now:
 * the failure brake pauses it (event "campaign.brake" naming the rule and the counts),
 * a stage that met its success threshold opens the next one (event "campaign.stage"; its
 * update messages are asked for, see ota_campaign_announce) or, with --manual, waits
 * ("campaign.waiting"). From the kept counts: the cost does not depend on the campaign's
 * size. 0, -EBUSY or -EIO. */
int ota_campaign_rules_apply(struct ota_db *db, int64_t id, const char *actor, int64_t now);

/* Queues the update messages @id's rollout asked for (a stage opened, a window opened, a
 * resume, a retry) while it runs and offers: one transaction per batch of START_BATCH,
 * at most @max_batches (0: until done). *ret_n (may be NULL): messages queued. */
int ota_campaign_announce(struct ota_db *db, int64_t id, unsigned poll_after,
                          unsigned max_batches, uint64_t *ret_n);

/* The time-driven part, for ota-notifier's loop: a running campaign's start time or
 * window opening (its offered deployments announced) or closing (their updates withdrawn
 * as by a pause, those under way go on). *ret_changed whether it changed. */
int ota_campaign_offering_update(struct ota_db *db, int64_t id, int64_t now, bool *ret_changed);

/* --timeout: @id's deployments under way for longer than its timeout become failed
 * (detail "timed out", through ota_status_apply() as actor "notifier", so the brake sees
 * them), at most @limit per call. *ret_n: how many. */
int ota_campaign_timeouts(struct ota_db *db, int64_t id, int64_t now, unsigned poll_after,
                          unsigned limit, uint64_t *ret_n);

/* `campaign advance`: opens the next stage of a running staged campaign whose open stage
 * met its success threshold (--manual). -EINVAL (reason in @err): not running, not
 * staged, or not waiting. Then announces the stage. */
int ota_campaign_advance(struct ota_db *db, const char *actor, int64_t id, unsigned poll_after,
                         char *err, size_t errlen);

/* `campaign retry`: the failed deployments of a running, paused or finished campaign
 * pending again (a finished one runs again), offered and notified where offered now;
 * those whose vehicle is revoked or in another unfinished deployment stay failed
 * (*ret_busy). -EINVAL: a created, starting or cancelled campaign, or none failed. */
int ota_campaign_retry(struct ota_db *db, const char *actor, int64_t id, unsigned poll_after,
                       uint64_t *ret_n, uint64_t *ret_busy, char *err, size_t errlen);
