/* The SQLite store: the only file that includes <sqlite3.h> is ota_db.c. Every SQL
 * statement lives there; callers get structs. One struct ota_db per thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_util.h"
#include "ota_state.h"

struct ota_db;

enum ota_db_open_flags {
    OTA_DB_CREATE = 1 << 0, /* create the file if missing (ota-admin init only) */
};

/* Opens @path in WAL mode with foreign keys and a busy timeout; prepares every statement.
 * Daemons call ota_db_check_schema() next; ota-admin init calls ota_db_migrate().
 * Returns 0, -ENOENT (no file and no OTA_DB_CREATE), -EIO (not a database, corrupt) or
 * -ENOMEM. On failure *ret_db is untouched. */
int ota_db_open(const char *path, int flags, struct ota_db **ret_db);

/* Applies the migrations the database lacks, each in its own transaction.
 * Returns 0, -EPROTO (database newer than this program) or -EIO. */
int ota_db_migrate(struct ota_db *db);

/* Returns 0 if the schema is exactly this program's, -ESTALE if older (run ota-admin
 * init), -EPROTO if newer, -EIO on error. Then prepares the statements. */
int ota_db_check_schema(struct ota_db *db);

/* Closes; NULL is a no-op. */
void ota_db_close(struct ota_db *db);

/* The last SQLite error message, for program-level logging. */
const char *ota_db_errmsg(struct ota_db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Returns 0, -EBUSY or -EIO. rollback always ends. */
int ota_db_begin(struct ota_db *db);
int ota_db_commit(struct ota_db *db);
void ota_db_rollback(struct ota_db *db);

/* ---- vehicles and edges ------------------------------------------------------------ */

struct ota_vehicle {
    char id[OTA_ID_MAX + 1];
    char *model;      /* "" when none */
    char *group;      /* "" when none */
    char *attributes; /* JSON object text */
    bool revoked;
    int64_t created_at;
    int64_t last_seen; /* 0 = never */
};
void ota_vehicle_free(struct ota_vehicle *v);

/* Returns 0, -EEXIST (a vehicle or an edge has that id) or -EIO. */
int ota_db_vehicle_add(struct ota_db *db, const char *id, const char *model, const char *group);
/* On success *ret is new; free with ota_vehicle_free(). Returns 0, -ENOENT, -EIO. */
int ota_db_vehicle_get(struct ota_db *db, const char *id, struct ota_vehicle **ret);
/* Calls @cb for each vehicle in id order; a non-zero return from @cb stops and is
 * returned. The struct passed to @cb is borrowed for the call only. */
int ota_db_vehicle_list(struct ota_db *db, int (*cb)(const struct ota_vehicle *, void *),
                        void *ctx);
/* Returns 0, -ENOENT or -EIO. Revoking a revoked vehicle is 0. */
int ota_db_vehicle_revoke(struct ota_db *db, const char *id);
/* Replaces the attributes JSON text. Returns 0, -ENOENT or -EIO. */
int ota_db_vehicle_set_attributes(struct ota_db *db, const char *id, const char *json);
/* Records contact time. Returns 0, -ENOENT or -EIO. */
int ota_db_vehicle_touch(struct ota_db *db, const char *id, int64_t now);

struct ota_edge {
    char name[OTA_ID_MAX + 1];
    bool revoked;
    int64_t created_at;
};
/* Returns 0, -EEXIST (an edge or a vehicle has that name) or -EIO. */
int ota_db_edge_add(struct ota_db *db, const char *name);
int ota_db_edge_get(struct ota_db *db, const char *name, struct ota_edge *ret);
int ota_db_edge_list(struct ota_db *db, int (*cb)(const struct ota_edge *, void *), void *ctx);
int ota_db_edge_revoke(struct ota_db *db, const char *name);

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
};
void ota_artifact_free(struct ota_artifact *a);

/* Returns 0, -EEXIST or -EIO. created_at is set by the caller. */
int ota_db_artifact_insert(struct ota_db *db, const struct ota_artifact *a);
/* On success *ret is new. Returns 0, -ENOENT, -EIO. */
int ota_db_artifact_get(struct ota_db *db, const char *sha256, struct ota_artifact **ret);
int ota_db_artifact_list(struct ota_db *db, int (*cb)(const struct ota_artifact *, void *),
                         void *ctx);

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
    OTA_CAMPAIGN_RUNNING,
    OTA_CAMPAIGN_PAUSED,
    OTA_CAMPAIGN_CANCELLED,
    OTA_CAMPAIGN_FINISHED,
};
const char *ota_target_kind_name(enum ota_target_kind k);
const char *ota_campaign_state_name(enum ota_campaign_state s);

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
};
void ota_campaign_free(struct ota_campaign *c);

/* Returns 0 with *ret_id, -EEXIST (name taken), -ENOENT (no such artifact) or -EIO. */
int ota_db_campaign_insert(struct ota_db *db, const char *name, const char *artifact,
                           enum ota_target_kind kind, const char *target, int64_t now,
                           int64_t *ret_id);
int ota_db_campaign_get(struct ota_db *db, int64_t id, struct ota_campaign **ret);
int ota_db_campaign_list(struct ota_db *db, int (*cb)(const struct ota_campaign *, void *),
                         void *ctx);
int ota_db_campaign_set_state(struct ota_db *db, int64_t id, enum ota_campaign_state s,
                              int64_t now);

/* Calls @cb with the id of each active vehicle that the campaign's target selects, in id
 * order. For OTA_TARGET_VEHICLES, ids that are unknown or revoked are reported through
 * @cb too, with @active false, so the caller can refuse the start. */
int ota_db_campaign_targets(struct ota_db *db, const struct ota_campaign *c,
                            int (*cb)(const char *vehicle, bool active, void *), void *ctx);
/* Inside the caller's transaction (campaign start): one deployment of @c for each active
 * vehicle its group, model, all or attributes target selects, in vehicle id order, in one
 * statement. *ret_count (may be NULL): deployments inserted. Returns 0, -EINVAL (an
 * explicit list, OTA_TARGET_VEHICLES: insert those one by one with
 * ota_db_deployment_insert()), -EEXIST (a vehicle already in @c) or -EIO. */
int ota_db_deployment_insert_targets(struct ota_db *db, const struct ota_campaign *c,
                                     int64_t now, uint64_t *ret_count);

/* ---- deployments --------------------------------------------------------------------- */

struct ota_deployment {
    int64_t id;
    int64_t campaign;
    char vehicle[OTA_ID_MAX + 1];
    enum ota_deploy_state state;
    uint64_t bytes;
    char *detail;
    int64_t created_at;
    int64_t updated_at;
    enum ota_campaign_state campaign_state;
    char artifact[65]; /* the campaign's artifact sha256 */
};
void ota_deployment_free(struct ota_deployment *d);

/* Returns 0, -EEXIST (vehicle already in the campaign) or -EIO. */
int ota_db_deployment_insert(struct ota_db *db, int64_t campaign, const char *vehicle,
                             int64_t now, int64_t *ret_id);
/* The vehicle's deployment in @campaign. Returns 0, -ENOENT, -EIO. */
int ota_db_deployment_get(struct ota_db *db, int64_t campaign, const char *vehicle,
                          struct ota_deployment **ret);
int ota_db_deployment_get_by_id(struct ota_db *db, int64_t id, struct ota_deployment **ret);
/* What the vehicle should be doing now: its newest unfinished deployment (not installed,
 * failed or cancelled) whose campaign is running, or paused with the deployment already
 * under way (a pause holds back vehicles that were not told yet, not those mid-update).
 * Returns 0, -ENOENT (nothing to do), -EIO. */
int ota_db_deployment_current(struct ota_db *db, const char *vehicle,
                              struct ota_deployment **ret);
/* The vehicle's newest cancelled deployment, for hawkBit cancelAction. 0, -ENOENT, -EIO. */
int ota_db_deployment_last_cancelled(struct ota_db *db, const char *vehicle,
                                     struct ota_deployment **ret);
/* Returns 0, -ENOENT or -EIO. */
int ota_db_deployment_update(struct ota_db *db, int64_t id, enum ota_deploy_state s,
                             uint64_t bytes, const char *detail, int64_t now);
/* Marks every deployment of @campaign that is not installed/failed as cancelled. */
int ota_db_deployment_cancel_campaign(struct ota_db *db, int64_t campaign, int64_t now);
/* Number of @campaign's deployments not yet installed, failed or cancelled. */
int ota_db_deployment_unfinished(struct ota_db *db, int64_t campaign, uint64_t *ret);
/* Fills counts[OTA_DEPLOY_STATE_COUNT] for @campaign. */
int ota_db_deployment_counts(struct ota_db *db, int64_t campaign,
                             uint64_t counts[OTA_DEPLOY_STATE_COUNT]);
int ota_db_deployment_list(struct ota_db *db, int64_t campaign,
                           int (*cb)(const struct ota_deployment *, void *), void *ctx);
/* 0 if @vehicle has a deployment of @sha256 in a campaign that is not cancelled and a
 * deployment state that is not cancelled; -ENOENT otherwise; -EIO. */
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
    const char *topic;  /* relative to [mqtt] topic_prefix; borrowed for the call */
    int64_t payload_id; /* 0 = the empty message */
    const char *payload; /* "" clears a retained message; borrowed for the call. NULL
                          * from ota_db_outbox_due(): see there */
    size_t payload_len;
    bool retain;
    enum ota_outbox_state state;
    uint32_t attempts;
    int64_t next_attempt_at;
    int64_t published_at;
};

/* Stores @payload ("" or NULL: the empty message, no row) and queues one row for it.
 * @topic is relative to [mqtt] topic_prefix (NULL: the vehicle's update topic).
 * Returns 0 with *ret_id (may be NULL) or -EIO. */
int ota_db_outbox_insert(struct ota_db *db, const char *vehicle, int64_t campaign,
                         const char *topic, const char *payload, bool retain,
                         enum ota_outbox_state state, int64_t now, int64_t *ret_id);
/* Inside the caller's transaction (campaign start): stores @payload once and queues one
 * pending retained row per deployment of @campaign, to that vehicle's update topic, in
 * vehicle id order; one statement. *ret_count (may be NULL): rows queued.
 * Returns 0, -EIO or -EBUSY. */
int ota_db_outbox_insert_campaign(struct ota_db *db, int64_t campaign, const char *payload,
                                  int64_t now, uint64_t *ret_count);
/* Calls @cb for up to @limit pending rows with next_attempt_at <= @now and id > @after_id,
 * in id order. The row is borrowed for the call. This is ota-notifier's hot path: the body
 * is not read (row->payload NULL, payload_len 0); many rows share one payload_id, whose
 * body ota_db_outbox_payload_get() returns. */
int ota_db_outbox_due(struct ota_db *db, int64_t now, int64_t after_id, unsigned limit,
                      int (*cb)(const struct ota_outbox_row *, void *), void *ctx);
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
 * (PRAGMA synchronous FULL, the default of ota_db_open) or not (NORMAL: in WAL mode a
 * power loss may then undo the newest commits, never tear one). ota-notifier commits its
 * PUBACK marks unsynced: losing a mark only sends that message again, which
 * at-least-once allows, and WAL keeps commits in order, so what a power loss undoes is
 * always the newest marks and each vehicle's topic still ends on its newest message.
 * Returns 0 or -EIO. */
int ota_db_sync_full(struct ota_db *db, bool full);
/* Counts one more attempt and defers the row to @next_at. */
int ota_db_outbox_retry_later(struct ota_db *db, int64_t id, int64_t next_at);
/* Moves @campaign's rows from state @from to @to (pause: pending->held, resume:
 * held->pending, cancel: held/pending->dropped via two calls). */
int ota_db_outbox_move_campaign(struct ota_db *db, int64_t campaign, enum ota_outbox_state from,
                                enum ota_outbox_state to);
/* For a broker that lost its retained messages: per vehicle, queues its newest published
 * retained message again as a new pending row, unless a newer row is pending anyway;
 * with @skip_empty not the empty clearing messages. One statement, linear in the outbox.
 * *ret_count (may be NULL) is the number queued. Returns 0 or -EIO/-EBUSY. */
int ota_db_outbox_requeue_latest(struct ota_db *db, bool skip_empty, int64_t now,
                                 uint64_t *ret_count);
/* Drops @campaign's held rows for vehicles whose deployment in it has ended (installed,
 * failed, cancelled) — e.g. while the campaign was paused: their topic was already made
 * current when the deployment ended, and the old update must not follow it. */
int ota_db_outbox_drop_ended(struct ota_db *db, int64_t campaign);
/* Number of rows per state, index enum ota_outbox_state. */
int ota_db_outbox_counts(struct ota_db *db, uint64_t counts[4]);
/* Calls @cb for every row of @vehicle in id order (tests, ota-admin). */
int ota_db_outbox_list(struct ota_db *db, const char *vehicle,
                       int (*cb)(const struct ota_outbox_row *, void *), void *ctx);
/* PRAGMA data_version: changes when another connection commits. For cheap change checks. */
int ota_db_data_version(struct ota_db *db, int64_t *ret);

/* ---- events -------------------------------------------------------------------------- */

struct ota_event {
    int64_t id;
    int64_t ts;
    const char *actor;   /* 'admin', 'rest', 'mqtt', 'ddi', 'notifier' */
    const char *kind;    /* 'status', 'vehicle.add', 'campaign.start', ... */
    const char *vehicle; /* NULL = none */
    int64_t campaign;    /* 0 = none */
    const char *state;   /* NULL = none */
    int64_t bytes;       /* -1 = none */
    const char *detail;
};
/* Returns 0 or -EIO. */
int ota_db_event_add(struct ota_db *db, const struct ota_event *e);
/* Events of a campaign (@campaign > 0) or a vehicle (@vehicle non-NULL), or all, in id
 * order; fields borrowed for the call. */
int ota_db_event_list(struct ota_db *db, int64_t campaign, const char *vehicle,
                      int (*cb)(const struct ota_event *, void *), void *ctx);

/* ---- wal-index ------------------------------------------------------------------------ */

/* The start of SQLite's shared-memory wal-index for @db's connection (region 0: two
 * copies of the 48-byte WalIndexHdr, sqlite.org/walformat.html §2.2.1), the very mapping
 * SQLite reads to see other connections' commits. Borrowed: valid until
 * ota_db_close(@db), as long as nobody changes journal_mode or locking_mode on @db.
 * Call it after a statement has run on @db. Read only, as SQLite's walIndexTryHdr does.
 * Returns 0, or -ENOTSUP (not in WAL mode, exclusive locking, no shared memory). */
int ota_db_wal_index(struct ota_db *db, const volatile void **ret);
