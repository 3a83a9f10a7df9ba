/* The database, for every caller: one struct ota_db per thread, structs in and out, never
 * a statement or a result handle. Behind it ota_db.c maps rows to structs over a backend
 * (ota_db_driver.h: SQLite, the embedded default); the SQL is in the backend's file.
 *
 * Lists come as typed iterators (ota_db_*_begin / _next / ota_db_iter_end): rows are read
 * one at a time, so a listing of any size takes constant memory. While an iterator is
 * open, the same connection runs nothing else: read it to the end (or end it) first. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_db_stmt.h"
#include "ota_state.h"
#include "ota_util.h"

struct ota_db;

enum ota_db_open_flags {
    OTA_DB_CREATE = 1 << 0, /* create the database if missing (ota-admin init only) */
};

/* Opens @where (a SQLite file path) with foreign keys and a busy timeout. Daemons call
 * ota_db_check_schema() next; ota-admin init calls ota_db_migrate(). Returns 0, -ENOENT
 * (no database and no OTA_DB_CREATE, or a missing folder), -EACCES (no permission),
 * -EROFS (read-only where writing is needed), -EBADMSG (not an ota-origin database, or
 * corrupt), -ENOMEM or -EIO. On failure *ret_db is untouched. */
int ota_db_open(const char *where, int flags, struct ota_db **ret_db);

/* Whether @where names a PostgreSQL database (postgresql:// or postgres://) rather than
 * a SQLite file. */
bool ota_db_is_url(const char *where);

/* Why this thread's last ota_db_open() failed, in the backend's words ("" if it gave
 * none): PostgreSQL's "connection refused", "database does not exist", ... */
const char *ota_db_open_error(void);

/* @where for messages and logs: a URL's password replaced by "***". Returns @buf. */
const char *ota_db_display(const char *where, char *buf, size_t len);

/* What a failed ota_db_open() of a PostgreSQL URL (@r) means, for the operator:
 * "database ... does not exist (create it, then run ota-admin init)", "cannot connect to
 * ...: <libpq's words>", ... Written to @buf; returns @buf. */
const char *ota_db_open_explain(int r, const char *where, char *buf, size_t len);

/* The schema version this program brings @db's backend to (ota_db_migrate()). */
unsigned ota_db_schema_target(const struct ota_db *db);

/* Applies the migrations the database lacks, each in its own transaction.
 * Returns 0, -EPROTO (database newer than this program) or -EIO. */
int ota_db_migrate(struct ota_db *db);

/* Returns 0 if the schema is exactly this program's, -ESTALE if older (run ota-admin
 * init), -EPROTO if newer, -EIO on error. Then prepares the statements. */
int ota_db_check_schema(struct ota_db *db);

/* A descriptor that becomes readable when another connection may have committed (the
 * PostgreSQL connection, on which NOTIFY arrives; read it with ota_db_data_version()),
 * or -1 when the backend has none (SQLite: watch the file's folder). */
int ota_db_wait_fd(struct ota_db *db);

/* The lead among the ota-notifiers of one database: 1 if this connection holds it (taken
 * now if it was free), 0 if another session holds it, or an error (-ECONNRESET: the
 * connection is down). PostgreSQL: a session advisory lock, so the lead goes with the
 * session when its process dies or its connection breaks; asking again while held costs
 * no round trip. SQLite: always 1 (one host runs one notifier). */
int ota_db_lead(struct ota_db *db);

/* Closes; NULL is a no-op. */
void ota_db_close(struct ota_db *db);

/* The backend's last error message, for program-level logging. */
const char *ota_db_errmsg(struct ota_db *db);

/* BEGIN (IMMEDIATE on SQLite) / COMMIT / ROLLBACK. Returns 0, -EBUSY or -EIO; rollback
 * always ends the transaction (a no-op outside one). */
int ota_db_begin(struct ota_db *db);
int ota_db_commit(struct ota_db *db);
void ota_db_rollback(struct ota_db *db);

/* An open listing; see the top of this file. Zero it before the first begin(). */
struct ota_db_iter {
    struct ota_db *db;
    enum ota_stmt stmt;
    int pending;   /* 1 a row is ready, 0 done, < 0 an error to return */
    bool consumed; /* the ready row was handed out: step before the next */
    void *cur;   /* the struct the last next() returned, owned by the iterator */
    void (*cur_clear)(void *);
};
/* Ends @it (at any point); safe on a zeroed or ended iterator. */
void ota_db_iter_end(struct ota_db_iter *it);

/* ---- vehicles and edges ------------------------------------------------------------ */

struct ota_vehicle {
    char id[OTA_ID_MAX + 1];
    char *model;      /* "" when none */
    char *group;      /* "" when none */
    char *attributes; /* JSON object text */
    bool revoked;
    int64_t created_at;
    int64_t last_seen; /* 0 = never */
    /* what it runs: its last installed report's artifact, "" for none known */
    char installed_sha256[65];
    char *installed_version; /* "" when none */
    int64_t installed_at;    /* 0 = never */
};
void ota_vehicle_free(struct ota_vehicle *v);

/* Returns 0, -EEXIST (a vehicle or an edge has that id) or -EIO. @attributes: a JSON
 * object text or NULL for "{}". Two statements (the edge check, the insert): call it in a
 * transaction. */
int ota_db_vehicle_add(struct ota_db *db, const char *id, const char *model, const char *group,
                       const char *attributes);
/* On success *ret is new; free with ota_vehicle_free(). Returns 0, -ENOENT, -EIO. */
int ota_db_vehicle_get(struct ota_db *db, const char *id, struct ota_vehicle **ret);

/* What vehicle listings select: NULL fields match everything. */
struct ota_vehicle_filter {
    const char *group;
    const char *model;
    const char *version; /* installed version */
};
/* Vehicles in id order; next() returns 1 with *ret (borrowed until the next call), 0 at
 * the end, or an error. */
int ota_db_vehicles_begin(struct ota_db *db, const struct ota_vehicle_filter *f,
                          struct ota_db_iter *it);
int ota_db_vehicles_next(struct ota_db_iter *it, const struct ota_vehicle **ret);
/* Returns 0, -ENOENT or -EIO. Setting the state it has is 0. */
int ota_db_vehicle_set_revoked(struct ota_db *db, const char *id, bool revoked);
/* Changes what is not NULL. Returns 0, -ENOENT or -EIO. */
int ota_db_vehicle_set(struct ota_db *db, const char *id, const char *model, const char *group,
                       const char *attributes);
/* Records contact time. Returns 0, -ENOENT or -EIO. */
int ota_db_vehicle_touch(struct ota_db *db, const char *id, int64_t now);
/* Records what the vehicle runs now. Returns 0, -ENOENT or -EIO. */
int ota_db_vehicle_installed(struct ota_db *db, const char *id, const char *sha256,
                             const char *version, int64_t now);

struct ota_edge {
    char name[OTA_ID_MAX + 1];
    bool revoked;
    int64_t created_at;
};
/* Returns 0, -EEXIST (an edge or a vehicle has that name) or -EIO. */
int ota_db_edge_add(struct ota_db *db, const char *name);
int ota_db_edge_get(struct ota_db *db, const char *name, struct ota_edge *ret);
int ota_db_edges_begin(struct ota_db *db, struct ota_db_iter *it);
int ota_db_edges_next(struct ota_db_iter *it, const struct ota_edge **ret);
int ota_db_edge_set_revoked(struct ota_db *db, const char *name, bool revoked);

enum ota_client_kind { OTA_CLIENT_VEHICLE = 1, OTA_CLIENT_EDGE = 2 };

/* Maps a certificate id to an active client: 0 with *ret_kind and, when @ret_last_seen is
 * not NULL, the vehicle's last contact (0 for never, and for edges) set; -ENOENT
 * (unknown), -EACCES (revoked) or -EIO. One indexed read, no write; called once per
 * request so that revocation takes effect on the next request. */
int ota_db_client_lookup(struct ota_db *db, const char *id, enum ota_client_kind *ret_kind,
                         int64_t *ret_last_seen);

/* How stale vehicles.last_seen may get before a request refreshes it: polls then cost a
 * write once a minute per vehicle, not on every request. */
#define OTA_LAST_SEEN_GRANULARITY 60

/* ---- artifacts ----------------------------------------------------------------------- */

struct ota_artifact {
    char sha256[65];
    char sha1[41];
    char md5[33];
    uint64_t size;
    char *name;
    char *version;
    char *hw;        /* "" = any hardware */
    char *signature; /* minisign .minisig text */
    int64_t created_at;
    int64_t deleted_at; /* 0 = in the store; else its bytes were deleted then */
    bool is_public;     /* GET/HEAD without a client certificate (schema 006) */
};
void ota_artifact_free(struct ota_artifact *a);

/* Returns 0, -EEXIST or -EIO. created_at is set by the caller. */
int ota_db_artifact_insert(struct ota_db *db, const struct ota_artifact *a);
/* On success *ret is new (a deleted artifact too: see deleted_at). 0, -ENOENT, -EIO. */
int ota_db_artifact_get(struct ota_db *db, const char *sha256, struct ota_artifact **ret);
/* Artifacts in upload order; @deleted: the deleted ones too. */
int ota_db_artifacts_begin(struct ota_db *db, bool deleted, struct ota_db_iter *it);
int ota_db_artifacts_next(struct ota_db_iter *it, const struct ota_artifact **ret);
/* Campaigns not yet ended (created, starting, running, paused) that use @sha256. */
int ota_db_artifact_in_use(struct ota_db *db, const char *sha256, uint64_t *ret);
/* Marks @sha256 deleted at @now / in the store again. 0, -ENOENT (not so), -EIO. */
int ota_db_artifact_delete(struct ota_db *db, const char *sha256, int64_t now);
int ota_db_artifact_revive(struct ota_db *db, const char *sha256);
/* Sets whether @sha256 may be fetched without a client certificate. 0, -ENOENT, -EIO. */
int ota_db_artifact_set_public(struct ota_db *db, const char *sha256, bool is_public);
/* The signature text of one stored artifact (any), for checking a signing key against
 * what the fleet trusts. *ret new (free()). 0, -ENOENT (no artifact), -ENOMEM, -EIO. */
int ota_db_artifact_any_signature(struct ota_db *db, char **ret);

/* ---- campaigns ----------------------------------------------------------------------- */

enum ota_target_kind {
    OTA_TARGET_VEHICLES,
    OTA_TARGET_GROUP,
    OTA_TARGET_MODEL,
    OTA_TARGET_ALL,
    OTA_TARGET_ATTRIBUTES, /* target: JSON object; every key must equal the vehicle's */
};
enum ota_campaign_state {
    OTA_CAMPAIGN_CREATED,
    OTA_CAMPAIGN_STARTING, /* snapshot being taken: nothing of it visible to vehicles */
    OTA_CAMPAIGN_RUNNING,
    OTA_CAMPAIGN_PAUSED,
    OTA_CAMPAIGN_CANCELLED,
    OTA_CAMPAIGN_FINISHED,
    OTA_CAMPAIGN_STATE_COUNT
};
const char *ota_target_kind_name(enum ota_target_kind k);
const char *ota_campaign_state_name(enum ota_campaign_state s);
/* 0 and *ret, or -EINVAL for an unknown name. */
int ota_campaign_state_parse(const char *name, enum ota_campaign_state *ret);
/* created, starting, running and paused campaigns have not ended. */
bool ota_campaign_state_open(enum ota_campaign_state s);

/* A campaign's rollout rules as created (DESIGN.md "Rollouts", ota_rollout.h); the
 * zero value with success_bp 10000 and min_finished 1 is "no rule". */
struct ota_campaign_rules {
    char *stages;           /* "5%,25%,100%"; "" not staged */
    uint32_t success_bp;    /* 1..10000 */
    uint64_t max_failures;  /* 0: no brake */
    bool max_failures_pct;  /* max_failures in hundredths of a percent */
    uint64_t min_finished;
    int64_t timeout_s;      /* 0: none */
    int64_t start_at;       /* 0: none */
    char *window;           /* "" none */
    char *canary;           /* a group ordered first; "" none */
    bool manual;
};

struct ota_campaign {
    int64_t id;
    char *name;
    char artifact[65];
    enum ota_target_kind target_kind;
    char *target; /* comma list of ids, the group, the model, a JSON object; "" for all */
    enum ota_campaign_state state;
    int64_t created_at;
    int64_t started_at; /* 0 = not started */
    int64_t updated_at;
    /* deployments by state, kept in the same transaction as every change (so reading
     * them costs nothing, whatever the campaign's size) */
    uint64_t counts[OTA_DEPLOY_STATE_COUNT];
    struct ota_campaign_rules rules;
    /* where the rollout is (schema 005) */
    unsigned stage_count; /* 0: not staged */
    unsigned stage_open;  /* stages open (deployments of stage <= it are offered) */
    bool waiting;         /* --manual: the open stage met its threshold */
    bool offering;        /* after start_at, inside the window (ota-notifier keeps it) */
    bool announce_due;    /* update messages of offered pending deployments to queue */
    unsigned announce_from;
    char announce_cursor[OTA_ID_MAX + 1];
};
void ota_campaign_free(struct ota_campaign *c);
/* Deployments of @c not yet ended. */
uint64_t ota_campaign_unfinished(const struct ota_campaign *c);

/* Returns 0 with *ret_id, -EEXIST (name taken), -ENOENT (no such artifact) or -EIO. */
int ota_db_campaign_insert(struct ota_db *db, const char *name, const char *artifact,
                           enum ota_target_kind kind, const char *target, int64_t now,
                           int64_t *ret_id);
int ota_db_campaign_get(struct ota_db *db, int64_t id, struct ota_campaign **ret);
int ota_db_campaigns_begin(struct ota_db *db, struct ota_db_iter *it);
int ota_db_campaigns_next(struct ota_db_iter *it, const struct ota_campaign **ret);
int ota_db_campaign_set_state(struct ota_db *db, int64_t id, enum ota_campaign_state s,
                              int64_t now);
/* Campaigns that have not ended (created, starting, running, paused), by id. */
int ota_db_campaigns_open_begin(struct ota_db *db, struct ota_db_iter *it);
/* Stores @r on a campaign just inserted (create). 0 or -EIO. */
int ota_db_campaign_set_rules(struct ota_db *db, int64_t id, const struct ota_campaign_rules *r);
/* The rollout state columns: stages and the one open, waiting, offering. */
int ota_db_campaign_set_rollout(struct ota_db *db, int64_t id, unsigned stage_count,
                                unsigned stage_open, bool waiting, bool offering);
/* Asks for the update messages of @id's offered pending deployments of stage >= @from
 * (merged with a request still open: the lower stage, from the first vehicle again).
 * @from 0: every stage. */
int ota_db_campaign_announce_request(struct ota_db *db, int64_t id, unsigned from);
/* Ends an announce request unfinished (its updates were withdrawn). */
int ota_db_campaign_announce_end(struct ota_db *db, int64_t id);
/* Queues the next batch of at most @limit of those messages (payload @payload_id) after
 * the campaign's cursor, in vehicle order, and moves the cursor; the last batch ends the
 * request. *ret_n rows queued, *ret_done whether the request ended. */
int ota_db_campaign_announce_batch(struct ota_db *db, const struct ota_campaign *c,
                                   int64_t payload_id, unsigned limit, int64_t now,
                                   uint64_t *ret_n, bool *ret_done);

/* One stage of a staged campaign, with its deployments by state (kept by triggers). */
struct ota_stage {
    unsigned stage;      /* 1.. */
    int64_t upto_rank;   /* the highest order rank it holds */
    int64_t opened_at;   /* 0: not open */
    uint64_t counts[OTA_DEPLOY_STATE_COUNT];
};
/* Records stage @stage of @campaign up to @upto_rank (campaign start). 0, -EEXIST, -EIO. */
int ota_db_stage_insert(struct ota_db *db, int64_t campaign, unsigned stage, int64_t upto_rank);
/* Marks @stage opened at @now. */
int ota_db_stage_opened(struct ota_db *db, int64_t campaign, unsigned stage, int64_t now);
/* @campaign's stages in order, at most OTA_STAGES_MAX: *ret_n of them in @ret. */
#define OTA_STAGES_MAX 16
int ota_db_stages_get(struct ota_db *db, int64_t campaign, struct ota_stage ret[OTA_STAGES_MAX],
                      unsigned *ret_n);
/* The installed versions of the active vehicles, most common first ("" for vehicles
 * that reported none): at most OTA_VERSIONS_MAX in @ret, *ret_n of them. */
#define OTA_VERSIONS_MAX 32
struct ota_version_count {
    char version[129]; /* a version label (OTA_LABEL_MAX), cut if longer */
    uint64_t n;
};
int ota_db_fleet_versions(struct ota_db *db, struct ota_version_count ret[OTA_VERSIONS_MAX],
                          unsigned *ret_n);
/* Whether any vehicle (of any state) has that group / model. 0 (yes), -ENOENT, -EIO. */
int ota_db_group_exists(struct ota_db *db, const char *group);
int ota_db_model_exists(struct ota_db *db, const char *model);

/* ---- campaign start (inside the caller's transaction) ------------------------------- */

/* Gathers @c's targets into the connection's target set: every vehicle its group, model,
 * all or attributes target selects; for an explicit list each id, and through @bad the
 * first one that is unknown or revoked (-EINVAL). *ret_n: targets. */
int ota_db_targets_gather(struct ota_db *db, const struct ota_campaign *c, uint64_t *ret_n,
                          char bad[OTA_ID_MAX + 1]);
/* A staged start's order: the order rank at 0-based position @pos of the gathered targets
 * (without the busy ones when @skip_busy), ranks being a hash of (@campaign, vehicle id)
 * with the vehicles of group @canary ("" none) first. -ENOENT past the end. */
int ota_db_targets_rank_at(struct ota_db *db, int64_t campaign, const char *canary,
                           bool skip_busy, uint64_t pos, int64_t *ret_rank);
/* Of all gathered targets, those with an unfinished deployment in another campaign. */
int ota_db_targets_busy_all(struct ota_db *db, int64_t campaign, uint64_t *ret);
/* The next batch of at most @limit gathered targets after @cursor (in id order; "" at
 * first) that are still active and have no deployment of @campaign yet: the target set
 * the calls below work on. @cursor moves to the batch's last id; *ret_n 0 when done. */
int ota_db_targets_next_batch(struct ota_db *db, int64_t campaign, char cursor[OTA_ID_MAX + 1],
                              unsigned limit, uint64_t *ret_n);
/* Targets of the batch with an unfinished deployment in another campaign. */
int ota_db_targets_busy(struct ota_db *db, int64_t campaign, uint64_t *ret);
/* Leaves the busy targets out of the set (--skip-busy). */
int ota_db_targets_skip_busy(struct ota_db *db, int64_t campaign, uint64_t *ret_skipped);
/* Ends the busy targets' other unfinished deployments cancelled with @detail, the other
 * campaigns' counts kept, their unsent messages to those vehicles dropped (--supersede).
 * *ret_n: deployments ended; *ret_campaigns (new, free()) the *ret_ncampaigns campaigns
 * they were in, which the caller finishes when they have none left. */
int ota_db_targets_supersede(struct ota_db *db, int64_t campaign, const char *detail,
                             int64_t now, uint64_t *ret_n, int64_t **ret_campaigns,
                             size_t *ret_ncampaigns);
/* One deployment of @campaign per target: 'installed' (detail "already installed") for
 * those whose installed artifact is @sha256, 'pending' for the rest; counts kept.
 * *ret_installed, *ret_pending: how many of each. */
/* Each deployment gets the stage its order rank falls in (0 when @c is not staged). */
int ota_db_targets_deploy(struct ota_db *db, const struct ota_campaign *c, int64_t now,
                          uint64_t *ret_installed, uint64_t *ret_pending);
/* An outbox row in state 'held' (not yet due) with payload @payload_id for each pending
 * deployment of @campaign in the batch whose stage is <= @upto_stage (-1: none): released
 * by ota_db_outbox_release_held(). */
int ota_db_targets_announce_held(struct ota_db *db, int64_t campaign, int64_t payload_id,
                                 int upto_stage, int64_t now, uint64_t *ret_n);

/* ---- deployments --------------------------------------------------------------------- */

struct ota_deployment {
    int64_t id;
    int64_t campaign;
    char vehicle[OTA_ID_MAX + 1];
    enum ota_deploy_state state;
    uint64_t bytes;
    char *detail;
    bool cancel_acked; /* a hawkBit client acknowledged the cancel (cancelAction feedback) */
    /* cancelled: the state it was cancelled in; else OTA_DEPLOY_STATE_COUNT */
    enum ota_deploy_state cancelled_from;
    int64_t created_at;
    int64_t updated_at;
    enum ota_campaign_state campaign_state;
    char artifact[65]; /* the campaign's artifact sha256 */
    unsigned stage;     /* 0: its campaign is not staged */
    int64_t started_at; /* its first report (0: still pending) */
    /* pending and not offered: its campaign is not running, its stage is not open, or
     * it is outside the start time or window */
    bool held;
    bool window;   /* its campaign has a maintenance window... */
    bool offering; /* ...and is inside it (and past its start time) */
};
void ota_deployment_free(struct ota_deployment *d);

/* Inserts one deployment in state @s (campaign start inserts through the target set).
 * Returns 0, -EEXIST (vehicle already in the campaign, or in another unfinished
 * deployment), -ENOENT (no such campaign or vehicle) or -EIO. Counts kept. */
int ota_db_deployment_insert(struct ota_db *db, int64_t campaign, const char *vehicle,
                             enum ota_deploy_state s, const char *detail, int64_t now,
                             int64_t *ret_id);
/* The vehicle's deployment in @campaign. Returns 0, -ENOENT, -EIO. */
int ota_db_deployment_get(struct ota_db *db, int64_t campaign, const char *vehicle,
                          struct ota_deployment **ret);
int ota_db_deployment_get_by_id(struct ota_db *db, int64_t id, struct ota_deployment **ret);
/* What the vehicle should be doing now: its unfinished deployment if its campaign is
 * running, or paused with the deployment already under way (a pause holds back vehicles
 * that had not started, not those mid-update). 0, -ENOENT (nothing to do), -EIO. */
int ota_db_deployment_current(struct ota_db *db, const char *vehicle,
                              struct ota_deployment **ret);
/* The vehicle's unfinished deployment whatever its campaign's state (there is at most
 * one). 0, -ENOENT, -EIO. */
int ota_db_deployment_open(struct ota_db *db, const char *vehicle, struct ota_deployment **ret);
/* The vehicle's newest cancelled deployment whose cancel no hawkBit client acknowledged
 * yet, for cancelAction. 0, -ENOENT, -EIO. */
int ota_db_deployment_last_cancelled(struct ota_db *db, const char *vehicle,
                                     struct ota_deployment **ret);
/* Moves deployment @d (as read in this transaction) to @s with @bytes and @detail (NULL:
 * unchanged), keeping its campaign's counts. 0, -EAGAIN (it changed since it was read:
 * read it again), -EIO. */
int ota_db_deployment_update(struct ota_db *db, const struct ota_deployment *d,
                             enum ota_deploy_state s, uint64_t bytes, const char *detail,
                             int64_t now);
/* Adds @bytes served to @vehicle's unfinished deployment in @campaign (hawkBit clients
 * report no byte counts: the server counts what it sent them). 0, -ENOENT, -EIO. */
int ota_db_deployment_add_bytes(struct ota_db *db, int64_t campaign, const char *vehicle,
                                uint64_t bytes);
/* Records that a hawkBit client acknowledged @id's cancel. 0, -ENOENT, -EIO. */
int ota_db_deployment_cancel_ack(struct ota_db *db, int64_t id);
/* Ends every unfinished deployment of @campaign cancelled (counts kept). *ret_n (may be
 * NULL): how many. */
int ota_db_deployment_cancel_campaign(struct ota_db *db, int64_t campaign, int64_t now,
                                      uint64_t *ret_n);
/* @campaign's deployments under way since @before or earlier (--timeout), oldest first,
 * at most @limit. */
int ota_db_deployments_stuck_begin(struct ota_db *db, int64_t campaign, int64_t before,
                                   unsigned limit, struct ota_db_iter *it);
/* campaign retry: @campaign's failed deployments pending again (detail "retry", bytes 0),
 * counts kept; those whose vehicle is in another unfinished deployment meanwhile stay
 * failed (*ret_busy). */
int ota_db_deployment_retry_campaign(struct ota_db *db, int64_t campaign, int64_t now,
                                     uint64_t *ret_n, uint64_t *ret_busy);
/* Counts by state of @campaign recounted from the rows (the kept counts are in struct
 * ota_campaign): for tests and consistency checks. */
int ota_db_deployment_recount(struct ota_db *db, int64_t campaign,
                              uint64_t counts[OTA_DEPLOY_STATE_COUNT]);
/* @campaign's deployments in vehicle id order, after @after_vehicle ("" or NULL: from the
 * start), only those in @state when it is not OTA_DEPLOY_STATE_COUNT. */
int ota_db_deployments_begin(struct ota_db *db, int64_t campaign, enum ota_deploy_state state,
                             const char *after_vehicle, struct ota_db_iter *it);
int ota_db_deployments_next(struct ota_db_iter *it, const struct ota_deployment **ret);
/* Why @campaign's failed deployments failed: their details grouped, most frequent first,
 * at most @limit groups. */
struct ota_failure_reason {
    const char *detail; /* borrowed until the next call */
    uint64_t n;
};
int ota_db_failures_begin(struct ota_db *db, int64_t campaign, unsigned limit,
                          struct ota_db_iter *it);
int ota_db_failures_next(struct ota_db_iter *it, const struct ota_failure_reason **ret);
/* May @vehicle fetch @sha256? 0 when it is the artifact of one of its deployments that is
 * not cancelled, in a campaign that is visible and not cancelled; -EAGAIN when that
 * deployment is held (its campaign paused before it started); -ENOENT otherwise; -EIO. */
int ota_db_vehicle_may_fetch(struct ota_db *db, const char *vehicle, const char *sha256);

/* ---- outbox -------------------------------------------------------------------------- */

enum ota_outbox_state {
    OTA_OUTBOX_HELD,
    OTA_OUTBOX_PENDING,
    OTA_OUTBOX_PUBLISHED,
    OTA_OUTBOX_DROPPED,
};

/* A message body is stored once (outbox_payloads, schema 002) and shared by every row
 * that sends it, e.g. all rows of a campaign start; payload_id 0 is the empty message. */
struct ota_outbox_row {
    int64_t id;
    char vehicle[OTA_ID_MAX + 1];
    int64_t campaign;   /* 0 = none */
    const char *topic;  /* relative to [mqtt] topic_prefix; borrowed */
    int64_t payload_id; /* 0 = the empty message */
    const char *payload; /* "" clears a retained message; borrowed. NULL from
                          * ota_db_outbox_due(): see there */
    size_t payload_len;
    bool retain;
    enum ota_outbox_state state;
    uint32_t attempts;
    int64_t next_attempt_at;
    int64_t published_at;
    char topic_buf[OTA_ID_MAX + 32]; /* where @topic points when it is the usual one */
};

/* The topic of a vehicle's update message, relative to [mqtt] topic_prefix:
 * "vehicles/<id>/update". The one place that names it. 0 or -EINVAL/-ENAMETOOLONG. */
int ota_update_topic(const char *vehicle, char *buf, size_t len);

/* Stores @payload ("" or NULL: the empty message, no row) and queues one row for it.
 * @topic is relative to [mqtt] topic_prefix (NULL: the vehicle's update topic).
 * Returns 0 with *ret_id (may be NULL) or -EIO. */
int ota_db_outbox_insert(struct ota_db *db, const char *vehicle, int64_t campaign,
                         const char *topic, const char *payload, bool retain,
                         enum ota_outbox_state state, int64_t now, int64_t *ret_id);
/* Stores a message body once: *ret_id for the rows that send it (0 for ""). */
int ota_db_outbox_payload_add(struct ota_db *db, const char *payload, int64_t *ret_id);
/* Makes up to @limit of @campaign's held rows pending (due), oldest first. */
int ota_db_outbox_release_held(struct ota_db *db, int64_t campaign, unsigned limit,
                               uint64_t *ret_n);
/* A campaign running since @before or earlier (its updated_at) that still has held rows
 * (a start that stopped before releasing them): 0 and *ret_campaign, or -ENOENT. */
int ota_db_outbox_held_running(struct ota_db *db, int64_t before, int64_t *ret_campaign);
/* The empty retained message to every vehicle of a *pending* deployment of @campaign in an
 * open stage (pause, a window closing: their update is withdrawn until it is offered
 * again). */
int ota_db_outbox_clear_pending(struct ota_db *db, int64_t campaign, int64_t now,
                                uint64_t *ret_count);
/* The empty retained message to every vehicle of an unfinished deployment of @campaign
 * that was ever offered (under way, or of an open stage) (cancel: call it before the
 * deployments are cancelled). */
int ota_db_outbox_clear_unfinished(struct ota_db *db, int64_t campaign, int64_t now,
                                   uint64_t *ret_count);
/* Up to @limit pending rows with next_attempt_at <= @now and id > @after_id, in id
 * order. This is ota-notifier's hot path: the body is not read (payload NULL,
 * payload_len 0); many rows share one payload_id, whose body ota_db_outbox_payload_get()
 * returns. */
int ota_db_outbox_due_begin(struct ota_db *db, int64_t now, int64_t after_id, unsigned limit,
                            struct ota_db_iter *it);
/* The same for the pending rows a retry put off: next_attempt_at > @now. */
int ota_db_outbox_deferred_begin(struct ota_db *db, int64_t now, int64_t after_id,
                                 unsigned limit, struct ota_db_iter *it);
int ota_db_outbox_next(struct ota_db_iter *it, const struct ota_outbox_row **ret);
/* Every row (of @vehicle when not NULL) in id order, bodies included (tests, ota-admin). */
int ota_db_outbox_list_begin(struct ota_db *db, const char *vehicle, struct ota_db_iter *it);
/* The body of payload @id (0: ""). On success *ret is new (free()) and *ret_len its
 * length. Returns 0, -ENOENT, -ENOMEM or -EIO. */
int ota_db_outbox_payload_get(struct ota_db *db, int64_t id, char **ret, size_t *ret_len);
/* Marks the pending rows @first..@last (inclusive) published, in one statement: only for
 * a run of ids that were ALL acknowledged (rows of that run no longer pending, e.g.
 * dropped by a cancel meanwhile, are left alone). *ret_count (may be NULL): rows marked.
 * Returns 0, -EINVAL (@first > @last or < 1) or -EIO. */
int ota_db_outbox_mark_range(struct ota_db *db, int64_t first, int64_t last, int64_t now,
                             uint64_t *ret_count);
/* The one-row case: 0, -ENOENT (not pending), -EINVAL (@id < 1) or -EIO. */
int ota_db_outbox_mark_published(struct ota_db *db, int64_t id, int64_t now);
/* Outside a transaction: whether this connection's next commits are synced to disk
 * (SQLite's PRAGMA synchronous FULL, the default of ota_db_open) or not (NORMAL: in WAL
 * mode a power loss may then undo the newest commits, never tear one). ota-notifier
 * commits its PUBACK marks unsynced: losing a mark only sends that message again, which
 * at-least-once allows, and WAL keeps commits in order. Returns 0, -ENOTSUP (another
 * backend) or -EIO. */
int ota_db_sync_full(struct ota_db *db, bool full);

/* A consistent copy of the whole database in a new file @path, taken while other
 * connections go on writing (SQLite's online backup API in one step: one read snapshot,
 * which in WAL mode blocks no writer). Written to a temporary file beside @path, synced,
 * then renamed: nothing is left at @path on failure. The copy keeps the schema version it
 * had: restore it where the database was, then `ota-admin init` migrates it. Any schema
 * version is copied. Returns 0, -EEXIST (@path exists), -ENOTSUP (PostgreSQL: pg_dump),
 * -ENOSPC, or another -errno. */
int ota_db_backup(struct ota_db *db, const char *path);
/* This connection's page cache, at most @kib KiB (ota_db_open gives 32 MiB, for the
 * appends of a large import or start). A command that only streams rows once, such as
 * `campaign show --vehicles`, needs little: its memory then stays flat with the campaign.
 * Returns 0, -ENOTSUP (another backend) or -EIO. */
int ota_db_cache_kib(struct ota_db *db, unsigned kib);
/* Counts one more attempt and defers the row to @next_at. */
int ota_db_outbox_retry_later(struct ota_db *db, int64_t id, int64_t next_at);
/* Drops @campaign's unsent (held or pending) rows. */
int ota_db_outbox_drop_campaign(struct ota_db *db, int64_t campaign);
/* Drops @vehicle's unsent rows. */
int ota_db_outbox_drop_vehicle(struct ota_db *db, const char *vehicle);
/* For a broker that lost its retained messages: per vehicle, queues its newest published
 * retained message again as a new pending row, unless a newer row is pending anyway;
 * with @skip_empty not the empty clearing messages. One statement, linear in the outbox.
 * *ret_count (may be NULL) is the number queued. Returns 0 or -EIO/-EBUSY. */
int ota_db_outbox_requeue_latest(struct ota_db *db, bool skip_empty, int64_t now,
                                 uint64_t *ret_count);
/* Number of rows per state, index enum ota_outbox_state. */
int ota_db_outbox_counts(struct ota_db *db, uint64_t counts[4]);
/* Pending and held rows only, from the partial indexes (ota-notifier's gauges; cheaper
 * than ota_db_outbox_counts, which counts every row for the published figure). */
int ota_db_outbox_unsent(struct ota_db *db, uint64_t *ret_pending, uint64_t *ret_held);
/* PRAGMA data_version (SQLite): changes when another connection commits. -ENOTSUP on
 * another backend. */
int ota_db_data_version(struct ota_db *db, int64_t *ret);

/* ---- events -------------------------------------------------------------------------- */

struct ota_event {
    int64_t id;
    int64_t ts;
    const char *actor;   /* an operating-system user (ota-admin), 'rest', 'mqtt', 'ddi',
                          * 'notifier' */
    const char *kind;    /* 'status', 'vehicle.add', 'campaign.start', ... */
    const char *vehicle; /* NULL = none */
    int64_t campaign;    /* 0 = none */
    const char *state;   /* NULL = none */
    int64_t bytes;       /* -1 = none */
    const char *detail;
};
/* Returns 0 or -EIO. ts 0 is now. */
int ota_db_event_add(struct ota_db *db, const struct ota_event *e);
/* An event with only the common fields: ota_db_event_add() of {@actor, @kind, @vehicle,
 * @campaign, @detail}. The one way ota-admin and the domain code record their actions. */
int ota_db_audit(struct ota_db *db, const char *actor, const char *kind, const char *vehicle,
                 int64_t campaign, const char *detail);

/* What an events listing selects: zero fields match everything. */
struct ota_event_filter {
    int64_t campaign;
    const char *vehicle;
    const char *kind;  /* exact, or a prefix ending in '.' ("campaign.") */
    int64_t since;     /* ts >= since */
    uint64_t limit;    /* 0: no limit; else the newest @limit (still in id order) */
};
int ota_db_events_begin(struct ota_db *db, const struct ota_event_filter *f,
                        struct ota_db_iter *it);
int ota_db_events_next(struct ota_db_iter *it, const struct ota_event **ret);

/* ---- SQLite only ---------------------------------------------------------------------- */

/* The start of SQLite's shared-memory wal-index for @db's connection (region 0: two
 * copies of the 48-byte WalIndexHdr, sqlite.org/walformat.html §2.2.1), the very mapping
 * SQLite reads to see other connections' commits. Borrowed: valid until
 * ota_db_close(@db), as long as nobody changes journal_mode or locking_mode on @db.
 * Call it after a statement has run on @db. Read only, as SQLite's walIndexTryHdr does.
 * Returns 0, or -ENOTSUP (another backend, not in WAL mode, exclusive locking, no shared
 * memory). */
int ota_db_wal_index(struct ota_db *db, const volatile void **ret);
