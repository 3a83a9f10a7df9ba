/* The SQLite store: every SQL statement of the system, prepared once per connection.
 * Callers get structs; they never see sqlite3_stmt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "ota_db.h"
#include "ota_schema.h"

#define BUSY_TIMEOUT_MS 5000

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_VEHICLE_ADD,
    ST_VEHICLE_GET,
    ST_VEHICLE_LIST,
    ST_VEHICLE_REVOKE,
    ST_VEHICLE_SET_ATTR,
    ST_VEHICLE_TOUCH,
    ST_EDGE_ADD,
    ST_EDGE_GET,
    ST_EDGE_LIST,
    ST_EDGE_REVOKE,
    ST_CLIENT_LOOKUP,
    ST_ARTIFACT_INSERT,
    ST_ARTIFACT_GET,
    ST_ARTIFACT_LIST,
    ST_CAMPAIGN_INSERT,
    ST_CAMPAIGN_GET,
    ST_CAMPAIGN_LIST,
    ST_CAMPAIGN_SET_STATE,
    ST_TARGETS_GROUP,
    ST_TARGETS_MODEL,
    ST_TARGETS_ALL,
    ST_TARGETS_ATTRS,
    ST_TARGET_ONE,
    ST_DEPLOY_INSERT,
    ST_DEPLOY_GET,
    ST_DEPLOY_GET_ID,
    ST_DEPLOY_CURRENT,
    ST_DEPLOY_LAST_CANCELLED,
    ST_DEPLOY_UPDATE,
    ST_DEPLOY_CANCEL_CAMPAIGN,
    ST_DEPLOY_UNFINISHED,
    ST_DEPLOY_COUNTS,
    ST_DEPLOY_LIST,
    ST_DEPLOY_ADD_GROUP,
    ST_DEPLOY_ADD_MODEL,
    ST_DEPLOY_ADD_ALL,
    ST_DEPLOY_ADD_ATTRS,
    ST_MAY_FETCH,
    ST_OUTBOX_INSERT,
    ST_OUTBOX_DUE,
    ST_OUTBOX_RETRY,
    ST_OUTBOX_MOVE,
    ST_OUTBOX_DROP_ENDED,
    ST_OUTBOX_COUNTS,
    ST_OUTBOX_LIST,
    ST_OUTBOX_LIST_ALL,
    ST_OUTBOX_REQUEUE,
    ST_OUTBOX_PAYLOAD_ADD,
    ST_OUTBOX_PAYLOAD_GET,
    ST_OUTBOX_CAMPAIGN_ADD,
    ST_OUTBOX_MARK_RANGE,
    ST_SYNC_NORMAL,
    ST_SYNC_FULL,
    ST_EVENT_ADD,
    ST_EVENT_LIST,
    ST_DATA_VERSION,
    ST_COUNT
};

#define VEHICLE_COLS "id, model, grp, attributes, state, created_at, coalesce(last_seen, 0)"
#define ARTIFACT_COLS "sha256, sha1, md5, size, name, version, hw, signature, created_at"
#define CAMPAIGN_COLS \
    "id, name, artifact, target_kind, target, state, created_at, coalesce(started_at, 0), " \
    "updated_at"
#define DEPLOY_COLS \
    "d.id, d.campaign, d.vehicle, d.state, d.bytes, d.detail, d.created_at, d.updated_at, " \
    "c.state, c.artifact FROM deployments d JOIN campaigns c ON c.id = d.campaign"
#define UNFINISHED "d.state NOT IN ('installed', 'failed', 'cancelled')"
/* Schema 002: topic NULL is the vehicle's update topic, payload NULL the empty message.
 * The due scan (the notifier's hot path) reads no body; the lists join it in. */
#define OUTBOX_COLS \
    "o.id, o.vehicle, coalesce(o.campaign, 0), o.topic, coalesce(o.payload_id, 0), o.retain, " \
    "o.state, o.attempts, o.next_attempt_at, coalesce(o.published_at, 0)"
#define OUTBOX_LIST_FROM \
    ", coalesce(p.body, '') FROM outbox o LEFT JOIN outbox_payloads p ON p.id = o.payload_id"
/* What each target kind selects: one WHERE for the walk (ota_db_campaign_targets) and the
 * set-based insert of campaign start, so they cannot disagree. */
#define TARGET_GROUP "FROM vehicles v WHERE v.grp = ?1 AND v.state = 'active'"
#define TARGET_MODEL "FROM vehicles v WHERE v.model = ?1 AND v.state = 'active'"
#define TARGET_ALL   "FROM vehicles v WHERE v.state = 'active'"
/* Every key of the wanted object (?1) must be a string attribute of equal value: the
 * attributes a device sent as hawkBit configData (hwRevision, ...). */
#define TARGET_ATTRS \
    "FROM vehicles v WHERE v.state = 'active' AND json_valid(v.attributes) AND NOT EXISTS " \
    "(SELECT 1 FROM json_each(?1) AS want WHERE NOT EXISTS (SELECT 1 FROM " \
    "json_each(v.attributes) AS have WHERE have.key = want.key AND have.type = 'text' AND " \
    "have.value = want.value))"
#define DEPLOY_ADD \
    "INSERT INTO deployments (campaign, vehicle, created_at, updated_at) SELECT ?2, v.id, ?3, " \
    "?3 "

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* Vehicles and edges share one id space: a certificate CN must name one client. */
    [ST_VEHICLE_ADD] = "INSERT INTO vehicles (id, model, grp, created_at) SELECT ?1, ?2, ?3, ?4 "
                       "WHERE NOT EXISTS (SELECT 1 FROM edges WHERE name = ?1)",
    [ST_VEHICLE_GET] = "SELECT " VEHICLE_COLS " FROM vehicles WHERE id = ?1",
    [ST_VEHICLE_LIST] = "SELECT " VEHICLE_COLS " FROM vehicles ORDER BY id",
    [ST_VEHICLE_REVOKE] = "UPDATE vehicles SET state = 'revoked' WHERE id = ?1",
    [ST_VEHICLE_SET_ATTR] = "UPDATE vehicles SET attributes = ?2 WHERE id = ?1",
    [ST_VEHICLE_TOUCH] = "UPDATE vehicles SET last_seen = ?2 WHERE id = ?1",
    [ST_EDGE_ADD] = "INSERT INTO edges (name, created_at) SELECT ?1, ?2 "
                    "WHERE NOT EXISTS (SELECT 1 FROM vehicles WHERE id = ?1)",
    [ST_EDGE_GET] = "SELECT name, state, created_at FROM edges WHERE name = ?1",
    [ST_EDGE_LIST] = "SELECT name, state, created_at FROM edges ORDER BY name",
    [ST_EDGE_REVOKE] = "UPDATE edges SET state = 'revoked' WHERE name = ?1",
    [ST_CLIENT_LOOKUP] = "SELECT 1, state, coalesce(last_seen, 0) FROM vehicles WHERE id = ?1 "
                         "UNION ALL SELECT 2, state, 0 FROM edges WHERE name = ?1 LIMIT 1",
    [ST_ARTIFACT_INSERT] = "INSERT INTO artifacts (" ARTIFACT_COLS ") "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_ARTIFACT_GET] = "SELECT " ARTIFACT_COLS " FROM artifacts WHERE sha256 = ?1",
    [ST_ARTIFACT_LIST] = "SELECT " ARTIFACT_COLS " FROM artifacts ORDER BY created_at, sha256",
    [ST_CAMPAIGN_INSERT] = "INSERT INTO campaigns (name, artifact, target_kind, target, state, "
                           "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'created', ?5, ?5)",
    [ST_CAMPAIGN_GET] = "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE id = ?1",
    [ST_CAMPAIGN_LIST] = "SELECT " CAMPAIGN_COLS " FROM campaigns ORDER BY id",
    [ST_CAMPAIGN_SET_STATE] = "UPDATE campaigns SET state = ?2, updated_at = ?3, started_at = "
                              "coalesce(started_at, CASE WHEN ?2 = 'running' THEN ?3 END) "
                              "WHERE id = ?1",
    [ST_TARGETS_GROUP] = "SELECT v.id " TARGET_GROUP " ORDER BY v.id",
    [ST_TARGETS_MODEL] = "SELECT v.id " TARGET_MODEL " ORDER BY v.id",
    [ST_TARGETS_ALL] = "SELECT v.id " TARGET_ALL " ORDER BY v.id",
    [ST_TARGETS_ATTRS] = "SELECT v.id " TARGET_ATTRS " ORDER BY v.id",
    [ST_TARGET_ONE] = "SELECT state = 'active' FROM vehicles WHERE id = ?1",
    [ST_DEPLOY_INSERT] = "INSERT INTO deployments (campaign, vehicle, created_at, updated_at) "
                         "VALUES (?1, ?2, ?3, ?3)",
    [ST_DEPLOY_GET] = "SELECT " DEPLOY_COLS " WHERE d.campaign = ?1 AND d.vehicle = ?2",
    [ST_DEPLOY_GET_ID] = "SELECT " DEPLOY_COLS " WHERE d.id = ?1",
    [ST_DEPLOY_CURRENT] = "SELECT " DEPLOY_COLS " WHERE d.vehicle = ?1 AND " UNFINISHED
                          " AND (c.state = 'running' OR (c.state = 'paused' AND "
                          "d.state <> 'pending')) ORDER BY d.id DESC LIMIT 1",
    [ST_DEPLOY_LAST_CANCELLED] = "SELECT " DEPLOY_COLS " WHERE d.vehicle = ?1 AND "
                                 "d.state = 'cancelled' ORDER BY d.id DESC LIMIT 1",
    [ST_DEPLOY_UPDATE] = "UPDATE deployments SET state = ?2, bytes = ?3, detail = ?4, "
                         "updated_at = ?5 WHERE id = ?1",
    [ST_DEPLOY_CANCEL_CAMPAIGN] = "UPDATE deployments AS d SET state = 'cancelled', "
                                  "updated_at = ?2 WHERE d.campaign = ?1 AND " UNFINISHED,
    [ST_DEPLOY_UNFINISHED] = "SELECT count(*) FROM deployments d WHERE d.campaign = ?1 AND "
                             UNFINISHED,
    [ST_DEPLOY_COUNTS] = "SELECT state, count(*) FROM deployments WHERE campaign = ?1 "
                         "GROUP BY state",
    [ST_DEPLOY_LIST] = "SELECT " DEPLOY_COLS " WHERE d.campaign = ?1 ORDER BY d.vehicle",
    /* campaign start: the whole snapshot in one statement per target kind (?1 the group,
     * model or attribute object, unused for all). */
    [ST_DEPLOY_ADD_GROUP] = DEPLOY_ADD TARGET_GROUP " ORDER BY v.id",
    [ST_DEPLOY_ADD_MODEL] = DEPLOY_ADD TARGET_MODEL " ORDER BY v.id",
    [ST_DEPLOY_ADD_ALL] = DEPLOY_ADD TARGET_ALL " ORDER BY v.id",
    [ST_DEPLOY_ADD_ATTRS] = DEPLOY_ADD TARGET_ATTRS " ORDER BY v.id",
    [ST_MAY_FETCH] = "SELECT 1 FROM deployments d JOIN campaigns c ON c.id = d.campaign "
                     "WHERE d.vehicle = ?1 AND c.artifact = ?2 AND c.state <> 'cancelled' "
                     "AND d.state <> 'cancelled' LIMIT 1",
    [ST_OUTBOX_INSERT] = "INSERT INTO outbox (vehicle, campaign, topic, payload_id, retain, state, "
                         "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* The partial index outbox_due (id, next_attempt_at) WHERE state = 'pending' holds
     * only pending rows, in id order: no sort, published rows never walked, and
     * next_attempt_at filtered in the index. */
    [ST_OUTBOX_DUE] = "SELECT " OUTBOX_COLS " FROM outbox o INDEXED BY outbox_due WHERE "
                      "o.state = 'pending' AND o.id > ?2 AND o.next_attempt_at <= ?1 "
                      "ORDER BY o.id LIMIT ?3",
    /* A run of acknowledged ids: the narrow rows of one or two pages rewritten, and their
     * entries deleted from the two partial indexes; nothing inserted into an index. NOT
     * INDEXED: walk the rowid range; through outbox_due, which the update shrinks, SQLite
     * would collect the rowids first and then update them (two passes). */
    [ST_OUTBOX_MARK_RANGE] = "UPDATE outbox NOT INDEXED SET state = 'published', "
                             "published_at = ?3 WHERE id BETWEEN ?1 AND ?2 AND state = "
                             "'pending'",
    [ST_OUTBOX_PAYLOAD_ADD] = "INSERT INTO outbox_payloads (body) VALUES (?1)",
    [ST_OUTBOX_PAYLOAD_GET] = "SELECT body FROM outbox_payloads WHERE id = ?1",
    [ST_OUTBOX_CAMPAIGN_ADD] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, state, "
                               "created_at) SELECT d.vehicle, d.campaign, ?2, 1, 'pending', ?3 "
                               "FROM deployments d WHERE d.campaign = ?1 ORDER BY d.vehicle",
    [ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [ST_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [ST_OUTBOX_RETRY] = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2 "
                        "WHERE id = ?1",
    /* "state <> 'published'" (never true of ?2, held or pending) lets the partial index
     * outbox_campaign serve the move. */
    [ST_OUTBOX_MOVE] = "UPDATE outbox SET state = ?3 WHERE campaign = ?1 AND state = ?2 AND "
                       "state <> 'published'",
    [ST_OUTBOX_DROP_ENDED] = "UPDATE outbox SET state = 'dropped' WHERE campaign = ?1 AND "
                             "state = 'held' AND state <> 'published' AND vehicle IN (SELECT "
                             "vehicle FROM deployments d WHERE d.campaign = ?1 AND NOT ("
                             UNFINISHED "))",
    /* Unsent rows from the partial index; published ones as the rest of the row count (an
     * index walk that counts cells per page), not by reading every row. */
    [ST_OUTBOX_COUNTS] = "SELECT state, count(*) FROM outbox WHERE state <> 'published' GROUP "
                         "BY state UNION ALL SELECT 'published', (SELECT count(*) FROM outbox) - "
                         "(SELECT count(*) FROM outbox WHERE state <> 'published')",
    [ST_OUTBOX_LIST] = "SELECT " OUTBOX_COLS OUTBOX_LIST_FROM " WHERE o.vehicle = ?1 ORDER BY o.id",
    [ST_OUTBOX_LIST_ALL] = "SELECT " OUTBOX_COLS OUTBOX_LIST_FROM " ORDER BY o.id",
    /* Per vehicle, its newest published retained message again, unless a newer one is
     * pending anyway (?2: not the empty clearing ones). One pass, whatever the fleet. The
     * copy shares the original's payload row. */
    [ST_OUTBOX_REQUEUE] = "INSERT INTO outbox (vehicle, campaign, topic, payload_id, retain, "
                          "state, created_at) SELECT o.vehicle, o.campaign, o.topic, "
                          "o.payload_id, 1, 'pending', ?1 FROM outbox o WHERE o.id IN (SELECT "
                          "max(id) FROM outbox WHERE state = 'published' AND retain = 1 GROUP BY "
                          "vehicle) AND "
                          "(?2 = 0 OR o.payload_id IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM "
                          "outbox p WHERE p.vehicle = o.vehicle AND p.state = 'pending' AND "
                          "p.id > o.id) ORDER BY o.id",
    [ST_EVENT_ADD] = "INSERT INTO events (ts, actor, kind, vehicle, campaign, state, bytes, "
                     "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_EVENT_LIST] = "SELECT id, ts, actor, kind, vehicle, coalesce(campaign, 0), state, "
                      "coalesce(bytes, -1), detail FROM events WHERE (?1 = 0 OR campaign = ?1) "
                      "AND (?2 IS NULL OR vehicle = ?2) ORDER BY id",
    [ST_DATA_VERSION] = "PRAGMA data_version",
};

struct ota_db {
    sqlite3 *h;
    sqlite3_stmt *stmt[ST_COUNT];
};

static const char *const campaign_states[] = { "created", "running", "paused", "cancelled",
                                               "finished" };
static const char *const target_kinds[] = { "vehicles", "group", "model", "all", "attributes" };
static const char *const outbox_states[] = { "held", "pending", "published", "dropped" };

const char *ota_campaign_state_name(enum ota_campaign_state s)
{
    return (unsigned)s < 5 ? campaign_states[s] : "unknown";
}

const char *ota_target_kind_name(enum ota_target_kind k)
{
    return (unsigned)k < 5 ? target_kinds[k] : "unknown";
}

static int name_index(const char *const *names, unsigned n, const char *s)
{
    for (unsigned i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return 0;
}

/* ---- plumbing -------------------------------------------------------------------------- */

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    default:
        return -EIO;
    }
}

/* Takes a prepared statement, resetting it so a previous caller's state never leaks. */
static sqlite3_stmt *stmt(struct ota_db *db, enum stmt_id id)
{
    sqlite3_stmt *st = db->stmt[id];

    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    return st;
}

static void done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return strdup(t ? (const char *)t : "");
}

static void col_copy(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static const char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t ? (const char *)t : NULL;
}

/* Runs a statement that returns no rows; -ENOENT when it changed nothing and
 * @need_change is set. */
static int exec_change(struct ota_db *db, sqlite3_stmt *st, bool need_change)
{
    int rc = sqlite3_step(st);
    int r = rc == SQLITE_DONE ? 0 : map_rc(rc);

    if (r == 0 && need_change && sqlite3_changes(db->h) == 0)
        r = -ENOENT;
    done(st);
    return r;
}

/* Steps one row: 0 with the row ready, -ENOENT for none, else an error (statement reset). */
static int step_one(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        return 0;
    done(st);
    return rc == SQLITE_DONE ? -ENOENT : map_rc(rc);
}

static int exec_sql(struct ota_db *db, const char *sql)
{
    return map_rc(sqlite3_exec(db->h, sql, NULL, NULL, NULL));
}

static int prepare_all(struct ota_db *db)
{
    for (int i = 0; i < ST_COUNT; i++) {
        if (db->stmt[i])
            continue;
        if (sqlite3_prepare_v3(db->h, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->stmt[i],
                               NULL) != SQLITE_OK)
            return -EIO;
    }
    return 0;
}

int ota_db_open(const char *path, int flags, struct ota_db **ret_db)
{
    struct ota_db *db = NULL;
    sqlite3_stmt *st = NULL;
    int r = -EIO, oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

    if (!(flags & OTA_DB_CREATE) && access(path, F_OK) < 0)
        return -ENOENT;
    if (flags & OTA_DB_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    db = calloc(1, sizeof(*db));
    if (!db)
        return -ENOMEM;
    if (sqlite3_open_v2(path, &db->h, oflags, NULL) != SQLITE_OK)
        goto out;
    sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db->h, 1);
    /* journal_mode reads the header: a file that is not a database fails here, at open. */
    if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
        goto out;
    /* FULL: a committed campaign start or status survives power loss too. (ota-notifier
     * commits its PUBACK marks with NORMAL: losing the newest ones only re-sends.) */
    if ((r = exec_sql(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL")) < 0)
        goto out;
    *ret_db = db;
    db = NULL;
    r = 0;
out:
    sqlite3_finalize(st);
    if (r < 0 && r != -ENOMEM && r != -EBUSY)
        r = -EIO;
    ota_db_close(db);
    return r;
}

void ota_db_close(struct ota_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->stmt[i]);
    sqlite3_close(db->h);
    free(db);
}

const char *ota_db_errmsg(struct ota_db *db)
{
    return db && db->h ? sqlite3_errmsg(db->h) : "no database";
}

static int user_version(struct ota_db *db, unsigned *ret)
{
    sqlite3_stmt *st = NULL;
    int r = -EIO;

    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *ret = (unsigned)sqlite3_column_int(st, 0);
        r = 0;
    }
    sqlite3_finalize(st);
    return r;
}

int ota_db_migrate(struct ota_db *db)
{
    unsigned v;
    int r;

    if ((r = user_version(db, &v)) < 0)
        return r;
    if (v > ota_schema_version)
        return -EPROTO;
    for (; v < ota_schema_version; v++) {
        char sql[64];

        snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", v + 1);
        if ((r = exec_sql(db, "BEGIN IMMEDIATE")) < 0)
            return r;
        if ((r = exec_sql(db, ota_schema_migrations[v])) < 0 || (r = exec_sql(db, sql)) < 0 ||
            (r = exec_sql(db, "COMMIT")) < 0) {
            exec_sql(db, "ROLLBACK");
            return r == -EEXIST ? -EIO : r;
        }
    }
    return prepare_all(db);
}

int ota_db_check_schema(struct ota_db *db)
{
    unsigned v;
    int r;

    if ((r = user_version(db, &v)) < 0)
        return r;
    if (v < ota_schema_version)
        return -ESTALE;
    if (v > ota_schema_version)
        return -EPROTO;
    return prepare_all(db);
}

int ota_db_begin(struct ota_db *db)
{
    sqlite3_stmt *st = stmt(db, ST_BEGIN);

    return st ? exec_change(db, st, false) : -EIO;
}

int ota_db_commit(struct ota_db *db)
{
    sqlite3_stmt *st = stmt(db, ST_COMMIT);

    return st ? exec_change(db, st, false) : -EIO;
}

void ota_db_rollback(struct ota_db *db)
{
    sqlite3_stmt *st = stmt(db, ST_ROLLBACK);

    if (st && sqlite3_get_autocommit(db->h) == 0)
        exec_change(db, st, false);
}

int ota_db_data_version(struct ota_db *db, int64_t *ret)
{
    sqlite3_stmt *st = stmt(db, ST_DATA_VERSION);
    int r;

    if (!st)
        return -EIO;
    if ((r = step_one(st)) < 0)
        return r == -ENOENT ? -EIO : r;
    *ret = sqlite3_column_int64(st, 0);
    done(st);
    return 0;
}

/* Runs @st and hands each row to @row_cb, which converts it and calls the user's callback. */
typedef int row_fn(sqlite3_stmt *st, void *cb, void *ctx);

static int each_row(sqlite3_stmt *st, row_fn *fn, void *cb, void *ctx)
{
    int rc, r = 0;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((r = fn(st, cb, ctx)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = map_rc(rc);
    done(st);
    return r;
}

#define PREPARED(db, id)                     \
    sqlite3_stmt *st = stmt((db), (id));     \
    if (!st)                                 \
        return -EIO

/* ---- vehicles and edges ---------------------------------------------------------------- */

void ota_vehicle_free(struct ota_vehicle *v)
{
    if (!v)
        return;
    free(v->model);
    free(v->group);
    free(v->attributes);
    free(v);
}

static int vehicle_fill(sqlite3_stmt *st, struct ota_vehicle *v)
{
    col_copy(st, 0, v->id, sizeof(v->id));
    v->model = col_dup(st, 1);
    v->group = col_dup(st, 2);
    v->attributes = col_dup(st, 3);
    v->revoked = strcmp(col_str(st, 4), "revoked") == 0;
    v->created_at = sqlite3_column_int64(st, 5);
    v->last_seen = sqlite3_column_int64(st, 6);
    return v->model && v->group && v->attributes ? 0 : -ENOMEM;
}

int ota_db_vehicle_add(struct ota_db *db, const char *id, const char *model, const char *group)
{
    PREPARED(db, ST_VEHICLE_ADD);
    int r;

    if (bind_text(st, 1, id) || bind_text(st, 2, model ? model : "") ||
        bind_text(st, 3, group ? group : "") || sqlite3_bind_int64(st, 4, ota_now())) {
        done(st);
        return -EIO;
    }
    r = exec_change(db, st, true);
    return r == -ENOENT ? -EEXIST : r;
}

int ota_db_vehicle_get(struct ota_db *db, const char *id, struct ota_vehicle **ret)
{
    PREPARED(db, ST_VEHICLE_GET);
    struct ota_vehicle *v = NULL;
    int r;

    if (bind_text(st, 1, id) != SQLITE_OK) {
        done(st);
        return -EIO;
    }
    if ((r = step_one(st)) < 0)
        return r;
    v = calloc(1, sizeof(*v));
    r = v ? vehicle_fill(st, v) : -ENOMEM;
    done(st);
    if (r < 0) {
        ota_vehicle_free(v);
        return r;
    }
    *ret = v;
    return 0;
}

static int vehicle_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct ota_vehicle v = { 0 };
    int r = vehicle_fill(st, &v);

    if (r == 0)
        r = ((int (*)(const struct ota_vehicle *, void *))cb)(&v, ctx);
    free(v.model);
    free(v.group);
    free(v.attributes);
    return r;
}

int ota_db_vehicle_list(struct ota_db *db, int (*cb)(const struct ota_vehicle *, void *),
                        void *ctx)
{
    PREPARED(db, ST_VEHICLE_LIST);
    return each_row(st, vehicle_row, (void *)cb, ctx);
}

static int update_by_id(struct ota_db *db, enum stmt_id id, const char *key, const char *text,
                        int64_t num, bool use_num)
{
    PREPARED(db, id);

    if (bind_text(st, 1, key) ||
        (use_num ? sqlite3_bind_int64(st, 2, num) : text ? bind_text(st, 2, text) : 0)) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, true);
}

int ota_db_vehicle_revoke(struct ota_db *db, const char *id)
{
    return update_by_id(db, ST_VEHICLE_REVOKE, id, NULL, 0, false);
}

int ota_db_vehicle_set_attributes(struct ota_db *db, const char *id, const char *json)
{
    return update_by_id(db, ST_VEHICLE_SET_ATTR, id, json ? json : "{}", 0, false);
}

int ota_db_vehicle_touch(struct ota_db *db, const char *id, int64_t now)
{
    return update_by_id(db, ST_VEHICLE_TOUCH, id, NULL, now, true);
}

static void edge_fill(sqlite3_stmt *st, struct ota_edge *e)
{
    col_copy(st, 0, e->name, sizeof(e->name));
    e->revoked = strcmp(col_str(st, 1), "revoked") == 0;
    e->created_at = sqlite3_column_int64(st, 2);
}

int ota_db_edge_add(struct ota_db *db, const char *name)
{
    PREPARED(db, ST_EDGE_ADD);
    int r;

    if (bind_text(st, 1, name) || sqlite3_bind_int64(st, 2, ota_now())) {
        done(st);
        return -EIO;
    }
    r = exec_change(db, st, true);
    return r == -ENOENT ? -EEXIST : r;
}

int ota_db_edge_get(struct ota_db *db, const char *name, struct ota_edge *ret)
{
    PREPARED(db, ST_EDGE_GET);
    int r;

    if (bind_text(st, 1, name) != SQLITE_OK) {
        done(st);
        return -EIO;
    }
    if ((r = step_one(st)) < 0)
        return r;
    edge_fill(st, ret);
    done(st);
    return 0;
}

static int edge_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct ota_edge e;

    edge_fill(st, &e);
    return ((int (*)(const struct ota_edge *, void *))cb)(&e, ctx);
}

int ota_db_edge_list(struct ota_db *db, int (*cb)(const struct ota_edge *, void *), void *ctx)
{
    PREPARED(db, ST_EDGE_LIST);
    return each_row(st, edge_row, (void *)cb, ctx);
}

int ota_db_edge_revoke(struct ota_db *db, const char *name)
{
    return update_by_id(db, ST_EDGE_REVOKE, name, NULL, 0, false);
}

int ota_db_client_lookup(struct ota_db *db, const char *id, enum ota_client_kind *ret_kind,
                         int64_t *ret_last_seen)
{
    PREPARED(db, ST_CLIENT_LOOKUP);
    int r, kind;
    int64_t last_seen;
    bool revoked;

    if (bind_text(st, 1, id) != SQLITE_OK) {
        done(st);
        return -EIO;
    }
    if ((r = step_one(st)) < 0)
        return r;
    kind = sqlite3_column_int(st, 0);
    revoked = strcmp(col_str(st, 1), "active") != 0;
    last_seen = sqlite3_column_int64(st, 2);
    done(st);
    if (revoked)
        return -EACCES;
    *ret_kind = kind == 1 ? OTA_CLIENT_VEHICLE : OTA_CLIENT_EDGE;
    if (ret_last_seen)
        *ret_last_seen = last_seen;
    return 0;
}

/* ---- artifacts ------------------------------------------------------------------------- */

void ota_artifact_free(struct ota_artifact *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->version);
    free(a->hw);
    free(a->signature);
    free(a);
}

static int artifact_fill(sqlite3_stmt *st, struct ota_artifact *a)
{
    col_copy(st, 0, a->sha256, sizeof(a->sha256));
    col_copy(st, 1, a->sha1, sizeof(a->sha1));
    col_copy(st, 2, a->md5, sizeof(a->md5));
    a->size = (uint64_t)sqlite3_column_int64(st, 3);
    a->name = col_dup(st, 4);
    a->version = col_dup(st, 5);
    a->hw = col_dup(st, 6);
    a->signature = col_dup(st, 7);
    a->created_at = sqlite3_column_int64(st, 8);
    return a->name && a->version && a->hw && a->signature ? 0 : -ENOMEM;
}

int ota_db_artifact_insert(struct ota_db *db, const struct ota_artifact *a)
{
    PREPARED(db, ST_ARTIFACT_INSERT);

    if (a->size > INT64_MAX || bind_text(st, 1, a->sha256) || bind_text(st, 2, a->sha1) ||
        bind_text(st, 3, a->md5) || sqlite3_bind_int64(st, 4, (int64_t)a->size) ||
        bind_text(st, 5, a->name) || bind_text(st, 6, a->version) ||
        bind_text(st, 7, a->hw ? a->hw : "") || bind_text(st, 8, a->signature) ||
        sqlite3_bind_int64(st, 9, a->created_at)) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, false);
}

int ota_db_artifact_get(struct ota_db *db, const char *sha256, struct ota_artifact **ret)
{
    PREPARED(db, ST_ARTIFACT_GET);
    struct ota_artifact *a;
    int r;

    if (bind_text(st, 1, sha256) != SQLITE_OK) {
        done(st);
        return -EIO;
    }
    if ((r = step_one(st)) < 0)
        return r;
    a = calloc(1, sizeof(*a));
    r = a ? artifact_fill(st, a) : -ENOMEM;
    done(st);
    if (r < 0) {
        ota_artifact_free(a);
        return r;
    }
    *ret = a;
    return 0;
}

static int artifact_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct ota_artifact a = { 0 };
    int r = artifact_fill(st, &a);

    if (r == 0)
        r = ((int (*)(const struct ota_artifact *, void *))cb)(&a, ctx);
    free(a.name);
    free(a.version);
    free(a.hw);
    free(a.signature);
    return r;
}

int ota_db_artifact_list(struct ota_db *db, int (*cb)(const struct ota_artifact *, void *),
                         void *ctx)
{
    PREPARED(db, ST_ARTIFACT_LIST);
    return each_row(st, artifact_row, (void *)cb, ctx);
}

/* ---- campaigns ------------------------------------------------------------------------- */

void ota_campaign_free(struct ota_campaign *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->target);
    free(c);
}

static int campaign_fill(sqlite3_stmt *st, struct ota_campaign *c)
{
    c->id = sqlite3_column_int64(st, 0);
    c->name = col_dup(st, 1);
    col_copy(st, 2, c->artifact, sizeof(c->artifact));
    c->target_kind = (enum ota_target_kind)name_index(target_kinds, 5, col_str(st, 3));
    c->target = col_dup(st, 4);
    c->state = (enum ota_campaign_state)name_index(campaign_states, 5, col_str(st, 5));
    c->created_at = sqlite3_column_int64(st, 6);
    c->started_at = sqlite3_column_int64(st, 7);
    c->updated_at = sqlite3_column_int64(st, 8);
    return c->name && c->target ? 0 : -ENOMEM;
}

int ota_db_campaign_insert(struct ota_db *db, const char *name, const char *artifact,
                           enum ota_target_kind kind, const char *target, int64_t now,
                           int64_t *ret_id)
{
    PREPARED(db, ST_CAMPAIGN_INSERT);
    int rc;

    if (bind_text(st, 1, name) || bind_text(st, 2, artifact) ||
        bind_text(st, 3, ota_target_kind_name(kind)) || bind_text(st, 4, target ? target : "") ||
        sqlite3_bind_int64(st, 5, now)) {
        done(st);
        return -EIO;
    }
    rc = sqlite3_step(st);
    done(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return -ENOENT;
    if (rc != SQLITE_DONE)
        return map_rc(rc);
    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

int ota_db_campaign_get(struct ota_db *db, int64_t id, struct ota_campaign **ret)
{
    PREPARED(db, ST_CAMPAIGN_GET);
    struct ota_campaign *c;
    int r;

    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
        done(st);
        return -EIO;
    }
    if ((r = step_one(st)) < 0)
        return r;
    c = calloc(1, sizeof(*c));
    r = c ? campaign_fill(st, c) : -ENOMEM;
    done(st);
    if (r < 0) {
        ota_campaign_free(c);
        return r;
    }
    *ret = c;
    return 0;
}

static int campaign_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct ota_campaign c = { 0 };
    int r = campaign_fill(st, &c);

    if (r == 0)
        r = ((int (*)(const struct ota_campaign *, void *))cb)(&c, ctx);
    free(c.name);
    free(c.target);
    return r;
}

int ota_db_campaign_list(struct ota_db *db, int (*cb)(const struct ota_campaign *, void *),
                         void *ctx)
{
    PREPARED(db, ST_CAMPAIGN_LIST);
    return each_row(st, campaign_row, (void *)cb, ctx);
}

int ota_db_campaign_set_state(struct ota_db *db, int64_t id, enum ota_campaign_state s,
                              int64_t now)
{
    PREPARED(db, ST_CAMPAIGN_SET_STATE);

    if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, ota_campaign_state_name(s)) ||
        sqlite3_bind_int64(st, 3, now)) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, true);
}

struct target_cb {
    int (*cb)(const char *vehicle, bool active, void *);
    void *ctx;
};

static int target_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    (void)cb;
    struct target_cb *t = ctx;

    return t->cb(col_str(st, 0), true, t->ctx);
}

/* An explicit list: each id looked up on its own, unknown and revoked ones reported. */
static int targets_listed(struct ota_db *db, const char *list,
                          int (*cb)(const char *, bool, void *), void *ctx)
{
    const char *p = list;
    int r = 0;

    while (r == 0 && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char id[OTA_ID_MAX + 1];
        bool active = false;

        if (n > OTA_ID_MAX)
            return -EINVAL;
        memcpy(id, p, n);
        id[n] = '\0';
        p += n + (end ? 1 : 0);
        if (n == 0)
            continue;
        {
            PREPARED(db, ST_TARGET_ONE);

            if (bind_text(st, 1, id) != SQLITE_OK) {
                done(st);
                return -EIO;
            }
            r = step_one(st);
            if (r == 0) {
                active = sqlite3_column_int(st, 0) != 0;
                done(st);
            } else if (r != -ENOENT) {
                return r;
            }
        }
        r = cb(id, active, ctx);
    }
    return r;
}

int ota_db_campaign_targets(struct ota_db *db, const struct ota_campaign *c,
                            int (*cb)(const char *vehicle, bool active, void *), void *ctx)
{
    struct target_cb t = { cb, ctx };
    enum stmt_id id;

    switch (c->target_kind) {
    case OTA_TARGET_VEHICLES:
        return targets_listed(db, c->target, cb, ctx);
    case OTA_TARGET_GROUP:
        id = ST_TARGETS_GROUP;
        break;
    case OTA_TARGET_MODEL:
        id = ST_TARGETS_MODEL;
        break;
    case OTA_TARGET_ATTRIBUTES:
        id = ST_TARGETS_ATTRS;
        break;
    default:
        id = ST_TARGETS_ALL;
        break;
    }
    {
        PREPARED(db, id);

        if (id != ST_TARGETS_ALL && bind_text(st, 1, c->target) != SQLITE_OK) {
            done(st);
            return -EIO;
        }
        return each_row(st, target_row, NULL, &t);
    }
}

/* ---- deployments ----------------------------------------------------------------------- */

void ota_deployment_free(struct ota_deployment *d)
{
    if (!d)
        return;
    free(d->detail);
    free(d);
}

static int deployment_fill(sqlite3_stmt *st, struct ota_deployment *d)
{
    d->id = sqlite3_column_int64(st, 0);
    d->campaign = sqlite3_column_int64(st, 1);
    col_copy(st, 2, d->vehicle, sizeof(d->vehicle));
    if (ota_deploy_state_parse(col_str(st, 3), &d->state) < 0)
        d->state = OTA_DEPLOY_PENDING;
    d->bytes = (uint64_t)sqlite3_column_int64(st, 4);
    d->detail = col_dup(st, 5);
    d->created_at = sqlite3_column_int64(st, 6);
    d->updated_at = sqlite3_column_int64(st, 7);
    d->campaign_state = (enum ota_campaign_state)name_index(campaign_states, 5, col_str(st, 8));
    col_copy(st, 9, d->artifact, sizeof(d->artifact));
    return d->detail ? 0 : -ENOMEM;
}

/* Steps a statement already bound, expecting at most one deployment row. */
static int deployment_one(sqlite3_stmt *st, struct ota_deployment **ret)
{
    struct ota_deployment *d;
    int r;

    if ((r = step_one(st)) < 0)
        return r;
    d = calloc(1, sizeof(*d));
    r = d ? deployment_fill(st, d) : -ENOMEM;
    done(st);
    if (r < 0) {
        ota_deployment_free(d);
        return r;
    }
    *ret = d;
    return 0;
}

int ota_db_deployment_insert(struct ota_db *db, int64_t campaign, const char *vehicle,
                             int64_t now, int64_t *ret_id)
{
    PREPARED(db, ST_DEPLOY_INSERT);
    int r;

    if (sqlite3_bind_int64(st, 1, campaign) || bind_text(st, 2, vehicle) ||
        sqlite3_bind_int64(st, 3, now)) {
        done(st);
        return -EIO;
    }
    if ((r = exec_change(db, st, false)) == 0 && ret_id)
        *ret_id = sqlite3_last_insert_rowid(db->h);
    return r;
}

int ota_db_deployment_insert_targets(struct ota_db *db, const struct ota_campaign *c,
                                     int64_t now, uint64_t *ret_count)
{
    enum stmt_id id;
    int r;

    switch (c->target_kind) {
    case OTA_TARGET_GROUP:
        id = ST_DEPLOY_ADD_GROUP;
        break;
    case OTA_TARGET_MODEL:
        id = ST_DEPLOY_ADD_MODEL;
        break;
    case OTA_TARGET_ATTRIBUTES:
        id = ST_DEPLOY_ADD_ATTRS;
        break;
    case OTA_TARGET_ALL:
        id = ST_DEPLOY_ADD_ALL;
        break;
    default:
        return -EINVAL;
    }
    {
        PREPARED(db, id);

        /* ?1 is not used by ST_DEPLOY_ADD_ALL; binding it is harmless. */
        if (bind_text(st, 1, c->target ? c->target : "") || sqlite3_bind_int64(st, 2, c->id) ||
            sqlite3_bind_int64(st, 3, now)) {
            done(st);
            return -EIO;
        }
        if ((r = exec_change(db, st, false)) == 0 && ret_count)
            *ret_count = (uint64_t)sqlite3_changes(db->h);
    }
    return r;
}

int ota_db_deployment_get(struct ota_db *db, int64_t campaign, const char *vehicle,
                          struct ota_deployment **ret)
{
    PREPARED(db, ST_DEPLOY_GET);

    if (sqlite3_bind_int64(st, 1, campaign) || bind_text(st, 2, vehicle)) {
        done(st);
        return -EIO;
    }
    return deployment_one(st, ret);
}

int ota_db_deployment_get_by_id(struct ota_db *db, int64_t id, struct ota_deployment **ret)
{
    PREPARED(db, ST_DEPLOY_GET_ID);

    if (sqlite3_bind_int64(st, 1, id)) {
        done(st);
        return -EIO;
    }
    return deployment_one(st, ret);
}

static int deployment_by_vehicle(struct ota_db *db, enum stmt_id id, const char *vehicle,
                                 struct ota_deployment **ret)
{
    PREPARED(db, id);

    if (bind_text(st, 1, vehicle)) {
        done(st);
        return -EIO;
    }
    return deployment_one(st, ret);
}

int ota_db_deployment_current(struct ota_db *db, const char *vehicle,
                              struct ota_deployment **ret)
{
    return deployment_by_vehicle(db, ST_DEPLOY_CURRENT, vehicle, ret);
}

int ota_db_deployment_last_cancelled(struct ota_db *db, const char *vehicle,
                                     struct ota_deployment **ret)
{
    return deployment_by_vehicle(db, ST_DEPLOY_LAST_CANCELLED, vehicle, ret);
}

int ota_db_deployment_update(struct ota_db *db, int64_t id, enum ota_deploy_state s,
                             uint64_t bytes, const char *detail, int64_t now)
{
    PREPARED(db, ST_DEPLOY_UPDATE);

    if (bytes > INT64_MAX || sqlite3_bind_int64(st, 1, id) ||
        bind_text(st, 2, ota_deploy_state_name(s)) || sqlite3_bind_int64(st, 3, (int64_t)bytes) ||
        bind_text(st, 4, detail ? detail : "") || sqlite3_bind_int64(st, 5, now)) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, true);
}

int ota_db_deployment_cancel_campaign(struct ota_db *db, int64_t campaign, int64_t now)
{
    PREPARED(db, ST_DEPLOY_CANCEL_CAMPAIGN);

    if (sqlite3_bind_int64(st, 1, campaign) || sqlite3_bind_int64(st, 2, now)) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, false);
}

int ota_db_deployment_unfinished(struct ota_db *db, int64_t campaign, uint64_t *ret)
{
    PREPARED(db, ST_DEPLOY_UNFINISHED);
    int r;

    if (sqlite3_bind_int64(st, 1, campaign)) {
        done(st);
        return -EIO;
    }
    if ((r = step_one(st)) < 0)
        return r == -ENOENT ? -EIO : r;
    *ret = (uint64_t)sqlite3_column_int64(st, 0);
    done(st);
    return 0;
}

static int count_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    const char *const *names = cb;
    uint64_t *counts = ctx;
    const char *state = col_str(st, 0);
    unsigned n = names == outbox_states ? 4 : OTA_DEPLOY_STATE_COUNT;

    for (unsigned i = 0; state && i < n; i++) {
        const char *name = names == outbox_states ? outbox_states[i]
                                                  : ota_deploy_state_name((enum ota_deploy_state)i);

        if (strcmp(name, state) == 0)
            counts[i] = (uint64_t)sqlite3_column_int64(st, 1);
    }
    return 0;
}

int ota_db_deployment_counts(struct ota_db *db, int64_t campaign,
                             uint64_t counts[OTA_DEPLOY_STATE_COUNT])
{
    PREPARED(db, ST_DEPLOY_COUNTS);

    memset(counts, 0, sizeof(uint64_t) * OTA_DEPLOY_STATE_COUNT);
    if (sqlite3_bind_int64(st, 1, campaign)) {
        done(st);
        return -EIO;
    }
    return each_row(st, count_row, NULL, counts);
}

static int deployment_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct ota_deployment d = { 0 };
    int r = deployment_fill(st, &d);

    if (r == 0)
        r = ((int (*)(const struct ota_deployment *, void *))cb)(&d, ctx);
    free(d.detail);
    return r;
}

int ota_db_deployment_list(struct ota_db *db, int64_t campaign,
                           int (*cb)(const struct ota_deployment *, void *), void *ctx)
{
    PREPARED(db, ST_DEPLOY_LIST);

    if (sqlite3_bind_int64(st, 1, campaign)) {
        done(st);
        return -EIO;
    }
    return each_row(st, deployment_row, (void *)cb, ctx);
}

int ota_db_vehicle_may_fetch(struct ota_db *db, const char *vehicle, const char *sha256)
{
    PREPARED(db, ST_MAY_FETCH);
    int r;

    if (bind_text(st, 1, vehicle) || bind_text(st, 2, sha256)) {
        done(st);
        return -EIO;
    }
    if ((r = step_one(st)) == 0)
        done(st);
    return r;
}

/* ---- outbox ---------------------------------------------------------------------------- */

/* Column 10 (the body) only in the lists. Nothing is allocated: the strings point into
 * the statement's row or @topic_buf, valid for the callback. */
static int outbox_fill(sqlite3_stmt *st, struct ota_outbox_row *o, char *topic_buf,
                       size_t topic_len, bool with_body)
{
    const char *topic;

    o->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, o->vehicle, sizeof(o->vehicle));
    o->campaign = sqlite3_column_int64(st, 2);
    topic = col_str(st, 3);
    if (!topic) {
        /* NULL: the vehicle's update topic (the text ota_status_update_topic makes); built
         * with memcpy, once per row of the notifier's scan */
        static const char head[] = "vehicles/", tail[] = "/update";
        size_t vlen = strlen(o->vehicle);

        if (sizeof(head) - 1 + vlen + sizeof(tail) > topic_len)
            return -EIO;
        memcpy(topic_buf, head, sizeof(head) - 1);
        memcpy(topic_buf + sizeof(head) - 1, o->vehicle, vlen);
        memcpy(topic_buf + sizeof(head) - 1 + vlen, tail, sizeof(tail));
        topic = topic_buf;
    }
    o->topic = topic;
    o->payload_id = sqlite3_column_int64(st, 4);
    o->retain = sqlite3_column_int(st, 5) != 0;
    o->state = (enum ota_outbox_state)name_index(outbox_states, 4, col_str(st, 6));
    o->attempts = (uint32_t)sqlite3_column_int64(st, 7);
    o->next_attempt_at = sqlite3_column_int64(st, 8);
    o->published_at = sqlite3_column_int64(st, 9);
    o->payload = NULL;
    o->payload_len = 0;
    if (with_body) {
        o->payload = col_str(st, 10);
        if (!o->payload)
            return sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM ? -ENOMEM : -EIO;
        o->payload_len = (size_t)sqlite3_column_bytes(st, 10);
    }
    return 0;
}

static int outbox_row_common(sqlite3_stmt *st, void *cb, void *ctx, bool with_body)
{
    struct ota_outbox_row o = { 0 };
    char topic[OTA_ID_MAX + 32];
    int r = outbox_fill(st, &o, topic, sizeof(topic), with_body);

    if (r == 0)
        r = ((int (*)(const struct ota_outbox_row *, void *))cb)(&o, ctx);
    return r;
}

static int outbox_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    return outbox_row_common(st, cb, ctx, true);
}

static int outbox_due_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    return outbox_row_common(st, cb, ctx, false);
}

/* Stores a non-empty body; *ret_id 0 for the empty message (no row). */
static int payload_add(struct ota_db *db, const char *payload, int64_t *ret_id)
{
    int r;

    if (!payload || !payload[0]) {
        *ret_id = 0;
        return 0;
    }
    {
        PREPARED(db, ST_OUTBOX_PAYLOAD_ADD);

        if (bind_text(st, 1, payload)) {
            done(st);
            return -EIO;
        }
        if ((r = exec_change(db, st, false)) < 0)
            return r == -EEXIST ? -EIO : r;
    }
    *ret_id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

int ota_db_outbox_insert(struct ota_db *db, const char *vehicle, int64_t campaign,
                         const char *topic, const char *payload, bool retain,
                         enum ota_outbox_state state, int64_t now, int64_t *ret_id)
{
    char usual[OTA_ID_MAX + 32];
    int64_t pid = 0;
    int r, n;

    /* The usual topic is stored as NULL (schema 002): narrower rows. */
    n = snprintf(usual, sizeof(usual), "vehicles/%s/update", vehicle ? vehicle : "");
    if (topic && n > 0 && (size_t)n < sizeof(usual) && strcmp(topic, usual) == 0)
        topic = NULL;
    if ((r = payload_add(db, payload, &pid)) < 0)
        return r;
    {
        PREPARED(db, ST_OUTBOX_INSERT);

        if (bind_text(st, 1, vehicle) ||
            (campaign > 0 ? sqlite3_bind_int64(st, 2, campaign) : sqlite3_bind_null(st, 2)) ||
            bind_text(st, 3, topic) ||
            (pid > 0 ? sqlite3_bind_int64(st, 4, pid) : sqlite3_bind_null(st, 4)) ||
            sqlite3_bind_int(st, 5, retain) || bind_text(st, 6, outbox_states[state & 3]) ||
            sqlite3_bind_int64(st, 7, now)) {
            done(st);
            return -EIO;
        }
        if ((r = exec_change(db, st, false)) == 0 && ret_id)
            *ret_id = sqlite3_last_insert_rowid(db->h);
    }
    return r == -EEXIST ? -EIO : r;
}

int ota_db_outbox_insert_campaign(struct ota_db *db, int64_t campaign, const char *payload,
                                  int64_t now, uint64_t *ret_count)
{
    int64_t pid = 0;
    int r;

    if ((r = payload_add(db, payload, &pid)) < 0)
        return r;
    {
        PREPARED(db, ST_OUTBOX_CAMPAIGN_ADD);

        if (sqlite3_bind_int64(st, 1, campaign) ||
            (pid > 0 ? sqlite3_bind_int64(st, 2, pid) : sqlite3_bind_null(st, 2)) ||
            sqlite3_bind_int64(st, 3, now)) {
            done(st);
            return -EIO;
        }
        if ((r = exec_change(db, st, false)) == 0 && ret_count)
            *ret_count = (uint64_t)sqlite3_changes(db->h);
    }
    return r == -EEXIST ? -EIO : r;
}

int ota_db_outbox_payload_get(struct ota_db *db, int64_t id, char **ret, size_t *ret_len)
{
    char *body;
    size_t len;
    int r;

    if (id <= 0) {
        body = strdup("");
        if (!body)
            return -ENOMEM;
        *ret = body;
        *ret_len = 0;
        return 0;
    }
    {
        PREPARED(db, ST_OUTBOX_PAYLOAD_GET);

        if (sqlite3_bind_int64(st, 1, id)) {
            done(st);
            return -EIO;
        }
        if ((r = step_one(st)) < 0)
            return r;
        {
            const unsigned char *t = sqlite3_column_text(st, 0);

            len = t ? (size_t)sqlite3_column_bytes(st, 0) : 0;
            body = t ? malloc(len + 1) : NULL;
            if (body) {
                memcpy(body, t, len);
                body[len] = '\0';
            }
        }
        done(st);
    }
    if (!body)
        return -ENOMEM;
    *ret = body;
    *ret_len = len;
    return 0;
}

int ota_db_outbox_due(struct ota_db *db, int64_t now, int64_t after_id, unsigned limit,
                      int (*cb)(const struct ota_outbox_row *, void *), void *ctx)
{
    PREPARED(db, ST_OUTBOX_DUE);

    if (sqlite3_bind_int64(st, 1, now) || sqlite3_bind_int64(st, 2, after_id) ||
        sqlite3_bind_int64(st, 3, limit)) {
        done(st);
        return -EIO;
    }
    return each_row(st, outbox_due_row, (void *)cb, ctx);
}

int ota_db_outbox_mark_range(struct ota_db *db, int64_t first, int64_t last, int64_t now,
                             uint64_t *ret_count)
{
    int r;

    if (first < 1 || first > last)
        return -EINVAL;
    {
        PREPARED(db, ST_OUTBOX_MARK_RANGE);

        if (sqlite3_bind_int64(st, 1, first) || sqlite3_bind_int64(st, 2, last) ||
            sqlite3_bind_int64(st, 3, now)) {
            done(st);
            return -EIO;
        }
        if ((r = exec_change(db, st, false)) == 0 && ret_count)
            *ret_count = (uint64_t)sqlite3_changes(db->h);
    }
    return r;
}

int ota_db_outbox_mark_published(struct ota_db *db, int64_t id, int64_t now)
{
    uint64_t n = 0;
    int r = ota_db_outbox_mark_range(db, id, id, now, &n);

    return r < 0 ? r : n == 1 ? 0 : -ENOENT;
}

int ota_db_sync_full(struct ota_db *db, bool full)
{
    PREPARED(db, full ? ST_SYNC_FULL : ST_SYNC_NORMAL);

    return exec_change(db, st, false);
}

int ota_db_outbox_retry_later(struct ota_db *db, int64_t id, int64_t next_at)
{
    PREPARED(db, ST_OUTBOX_RETRY);

    if (sqlite3_bind_int64(st, 1, id) || sqlite3_bind_int64(st, 2, next_at)) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, true);
}

int ota_db_outbox_move_campaign(struct ota_db *db, int64_t campaign, enum ota_outbox_state from,
                                enum ota_outbox_state to)
{
    PREPARED(db, ST_OUTBOX_MOVE);

    if (sqlite3_bind_int64(st, 1, campaign) || bind_text(st, 2, outbox_states[from & 3]) ||
        bind_text(st, 3, outbox_states[to & 3])) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, false);
}

int ota_db_outbox_requeue_latest(struct ota_db *db, bool skip_empty, int64_t now,
                                 uint64_t *ret_count)
{
    PREPARED(db, ST_OUTBOX_REQUEUE);
    int r;

    if (sqlite3_bind_int64(st, 1, now) || sqlite3_bind_int(st, 2, skip_empty)) {
        done(st);
        return -EIO;
    }
    if ((r = exec_change(db, st, false)) == 0 && ret_count)
        *ret_count = (uint64_t)sqlite3_changes(db->h);
    return r == -EEXIST ? -EIO : r;
}

int ota_db_outbox_drop_ended(struct ota_db *db, int64_t campaign)
{
    PREPARED(db, ST_OUTBOX_DROP_ENDED);

    if (sqlite3_bind_int64(st, 1, campaign)) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, false);
}

int ota_db_outbox_counts(struct ota_db *db, uint64_t counts[4])
{
    PREPARED(db, ST_OUTBOX_COUNTS);

    memset(counts, 0, sizeof(uint64_t) * 4);
    return each_row(st, count_row, (void *)outbox_states, counts);
}

int ota_db_outbox_list(struct ota_db *db, const char *vehicle,
                       int (*cb)(const struct ota_outbox_row *, void *), void *ctx)
{
    PREPARED(db, vehicle ? ST_OUTBOX_LIST : ST_OUTBOX_LIST_ALL);

    if (vehicle && bind_text(st, 1, vehicle)) {
        done(st);
        return -EIO;
    }
    return each_row(st, outbox_row, (void *)cb, ctx);
}

/* ---- events ---------------------------------------------------------------------------- */

int ota_db_event_add(struct ota_db *db, const struct ota_event *e)
{
    PREPARED(db, ST_EVENT_ADD);

    if (sqlite3_bind_int64(st, 1, e->ts ? e->ts : ota_now()) || bind_text(st, 2, e->actor) ||
        bind_text(st, 3, e->kind) || bind_text(st, 4, e->vehicle) ||
        (e->campaign > 0 ? sqlite3_bind_int64(st, 5, e->campaign) : sqlite3_bind_null(st, 5)) ||
        bind_text(st, 6, e->state) ||
        (e->bytes >= 0 ? sqlite3_bind_int64(st, 7, e->bytes) : sqlite3_bind_null(st, 7)) ||
        bind_text(st, 8, e->detail ? e->detail : "")) {
        done(st);
        return -EIO;
    }
    return exec_change(db, st, false);
}

static int event_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    struct ota_event e = {
        .id = sqlite3_column_int64(st, 0),
        .ts = sqlite3_column_int64(st, 1),
        .actor = col_str(st, 2),
        .kind = col_str(st, 3),
        .vehicle = col_str(st, 4),
        .campaign = sqlite3_column_int64(st, 5),
        .state = col_str(st, 6),
        .bytes = sqlite3_column_int64(st, 7),
        .detail = col_str(st, 8),
    };

    return ((int (*)(const struct ota_event *, void *))cb)(&e, ctx);
}

int ota_db_event_list(struct ota_db *db, int64_t campaign, const char *vehicle,
                      int (*cb)(const struct ota_event *, void *), void *ctx)
{
    PREPARED(db, ST_EVENT_LIST);

    if (sqlite3_bind_int64(st, 1, campaign) || bind_text(st, 2, vehicle)) {
        done(st);
        return -EIO;
    }
    return each_row(st, event_row, (void *)cb, ctx);
}

/* ---- wal-index (ota-server's change check) ------------------------------------------ */

/* A PRAGMA whose one text row must equal @want. */
static bool pragma_is(struct ota_db *db, const char *sql, const char *want)
{
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
              strcmp((const char *)sqlite3_column_text(st, 0), want) == 0;

    sqlite3_finalize(st);
    return ok;
}

int ota_db_wal_index(struct ota_db *db, const volatile void **ret)
{
    sqlite3_file *f = NULL;
    void volatile *p = NULL;

    /* Only a shared-memory wal-index is the one other connections write: not with
     * locking_mode=EXCLUSIVE (SQLite then keeps it in heap memory), nor outside WAL. */
    if (!pragma_is(db, "PRAGMA main.journal_mode", "wal") ||
        !pragma_is(db, "PRAGMA main.locking_mode", "normal"))
        return -ENOTSUP;
    if (sqlite3_file_control(db->h, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK ||
        !f || !f->pMethods || f->pMethods->iVersion < 2 || !f->pMethods->xShmMap)
        return -ENOTSUP;
    /* Region 0 (32 KiB, SQLite's WALINDEX_PGSZ) of the mapping SQLite itself reads; with
     * bExtend 0 nothing is created. */
    if (f->pMethods->xShmMap(f, 0, 32768, 0, &p) != SQLITE_OK || !p)
        return -ENOTSUP;
    *ret = p;
    return 0;
}
