/* The SQLite backend: the only file that includes <sqlite3.h>. Every statement's SQL in
 * SQLite's dialect, prepared once per connection; WAL, a busy handler, foreign keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "ota_db_driver.h"
#include "ota_schema.h"

#define BUSY_TIMEOUT_MS 5000
#define BUSY_RETRY_US   1000

#define VEHICLE_COLS                                                                        \
    "id, model, grp, attributes, state, created_at, coalesce(last_seen, 0), "               \
    "coalesce(installed_sha256, ''), installed_version, coalesce(installed_at, 0)"
#define ARTIFACT_COLS \
    "sha256, sha1, md5, size, name, version, hw, signature, created_at, "                      \
    "coalesce(deleted_at, 0), public"
#define CAMPAIGN_COLS                                                                         \
    "id, name, artifact, target_kind, target, state, created_at, coalesce(started_at, 0), "   \
    "updated_at, n_pending, n_downloading, n_downloaded, n_installing, n_installed, n_failed, " \
    "n_cancelled, stages, success_bp, max_failures, max_failures_pct, min_finished, timeout_s, " \
    "start_at, win, canary, manual, stage_count, stage_open, waiting, offering, announce_due, "  \
    "announce_from, announce_cursor"
#define DEPLOY_COLS                                                                         \
    "d.id, d.campaign, d.vehicle, d.state, d.bytes, d.detail, d.cancel_acked, d.created_at, " \
    "d.updated_at, c.state, c.artifact, d.cancelled_from, d.stage, coalesce(d.started_at, 0), " \
    HELD ", c.win <> '', c.offering FROM deployments d JOIN campaigns c ON c.id = d.campaign"
#define UNFINISHED_IN "('pending', 'downloading', 'downloaded', 'installing')"
/* A deployment d of campaign c that is offered when not yet under way (schema 005): the
 * campaign runs, after its start time and inside its window, and d's stage is open. */
#define OFFERED_PENDING "(c.state = 'running' AND c.offering = 1 AND d.stage <= c.stage_open)"
#define HELD "(d.state = 'pending' AND NOT " OFFERED_PENDING ")"
#define UNFINISHED    "d.state IN " UNFINISHED_IN
/* Schema 002: topic NULL is the vehicle's update topic, payload NULL the empty message.
 * The due scan (the notifier's hot path) reads no body; the lists join it in. */
#define OUTBOX_COLS \
    "o.id, o.vehicle, coalesce(o.campaign, 0), o.topic, coalesce(o.payload_id, 0), o.retain, " \
    "o.state, o.attempts, o.next_attempt_at, coalesce(o.published_at, 0)"
#define OUTBOX_LIST_FROM \
    ", coalesce(p.body, '') FROM outbox o LEFT JOIN outbox_payloads p ON p.id = o.payload_id"
/* Every key of the wanted object (?1) must be a string attribute of equal value: the
 * attributes a device sent as hawkBit configData (hwRevision, ...). */
#define TARGET_ATTRS \
    "v.state = 'active' AND json_valid(v.attributes) AND NOT EXISTS " \
    "(SELECT 1 FROM json_each(?1) AS want WHERE NOT EXISTS (SELECT 1 FROM " \
    "json_each(v.attributes) AS have WHERE have.key = want.key AND have.type = 'text' AND " \
    "have.value = want.value))"
/* campaign start: every target into temp.start_all; then batch after batch into
 * temp.start_targets, which the ST_TARGETS_* statements work on */
#define FILL_TARGETS "INSERT OR IGNORE INTO temp.start_all (vehicle) SELECT v.id FROM vehicles v WHERE "
/* The stage of target t of campaign ?1 (canary group ?4): the first whose rank bound
 * holds its rank; 0 when the campaign has no stages (no ota_rank() call then). */
#define STAGE_OF(t) \
    "coalesce((SELECT min(s.stage) FROM campaign_stages s WHERE s.campaign = ?1 AND " \
    "s.upto_rank >= ota_rank(?1, " t ".vehicle, ?4 <> '' AND v.grp = ?4)), 0)"
/* (?2 IS 'x'): 1 when ?2 is the state x, 0 otherwise, NULL included */
#define COUNT_MOVE(s) "n_" s " = n_" s " - ?4 * (?2 IS '" s "') + ?4 * (?3 IS '" s "')"
/* A target t with an unfinished deployment in another campaign: a lookup in the partial
 * index deployments_one_unfinished per target (as "vehicle IN (SELECT ...)" SQLite would
 * list every unfinished deployment of the fleet first, per batch). */
#define BUSY(t) \
    "EXISTS (SELECT 1 FROM deployments d WHERE d.vehicle = " t ".vehicle AND " UNFINISHED \
    " AND d.campaign <> ?1)"

static const char *const sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* Vehicles and edges share one id space: a certificate CN must name one client. */
    /* VALUES, not INSERT ... SELECT: a statement that may insert several rows needs a
     * statement journal, which made a 1M-row import 20 times slower */
    [ST_VEHICLE_ADD] = "INSERT INTO vehicles (id, model, grp, attributes, created_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_VEHICLE_GET] = "SELECT " VEHICLE_COLS " FROM vehicles WHERE id = ?1",
    [ST_VEHICLE_LIST] = "SELECT " VEHICLE_COLS " FROM vehicles WHERE (?1 IS NULL OR grp = ?1) "
                        "AND (?2 IS NULL OR model = ?2) AND (?3 IS NULL OR installed_version "
                        "= ?3) ORDER BY id",
    [ST_VEHICLE_SET_STATE] = "UPDATE vehicles SET state = ?2 WHERE id = ?1",
    [ST_VEHICLE_SET] = "UPDATE vehicles SET model = coalesce(?2, model), grp = coalesce(?3, "
                       "grp), attributes = coalesce(?4, attributes) WHERE id = ?1",
    [ST_VEHICLE_TOUCH] = "UPDATE vehicles SET last_seen = ?2 WHERE id = ?1",
    [ST_VEHICLE_INSTALLED] = "UPDATE vehicles SET installed_sha256 = ?2, installed_version = "
                             "?3, installed_at = ?4 WHERE id = ?1",
    [ST_EDGE_ADD] = "INSERT INTO edges (name, created_at) SELECT ?1, ?2 "
                    "WHERE NOT EXISTS (SELECT 1 FROM vehicles WHERE id = ?1)",
    [ST_EDGE_GET] = "SELECT name, state, created_at FROM edges WHERE name = ?1",
    [ST_EDGE_LIST] = "SELECT name, state, created_at FROM edges ORDER BY name",
    [ST_EDGE_SET_STATE] = "UPDATE edges SET state = ?2 WHERE name = ?1",
    [ST_CLIENT_LOOKUP] = "SELECT 1, state, coalesce(last_seen, 0) FROM vehicles WHERE id = ?1 "
                         "UNION ALL SELECT 2, state, 0 FROM edges WHERE name = ?1 LIMIT 1",
    [ST_ARTIFACT_INSERT] = "INSERT INTO artifacts (sha256, sha1, md5, size, name, version, hw, "
                           "signature, created_at, public) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                           "?8, ?9, ?10)",
    [ST_ARTIFACT_SET_PUBLIC] = "UPDATE artifacts SET public = ?2 WHERE sha256 = ?1",
    [ST_ARTIFACT_GET] = "SELECT " ARTIFACT_COLS " FROM artifacts WHERE sha256 = ?1",
    [ST_ARTIFACT_LIST] = "SELECT " ARTIFACT_COLS " FROM artifacts WHERE ?1 OR deleted_at IS "
                         "NULL ORDER BY created_at, sha256",
    [ST_ARTIFACT_IN_USE] = "SELECT count(*) FROM campaigns WHERE artifact = ?1 AND state IN "
                           "('created', 'starting', 'running', 'paused')",
    [ST_ARTIFACT_DELETE] = "UPDATE artifacts SET deleted_at = ?2 WHERE sha256 = ?1 AND "
                           "deleted_at IS NULL",
    [ST_ARTIFACT_REVIVE] = "UPDATE artifacts SET deleted_at = NULL WHERE sha256 = ?1 AND "
                           "deleted_at IS NOT NULL",
    [ST_ARTIFACT_SIGNED] = "SELECT signature FROM artifacts ORDER BY created_at DESC LIMIT 1",
    [ST_CAMPAIGN_INSERT] = "INSERT INTO campaigns (name, artifact, target_kind, target, state, "
                           "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'created', ?5, ?5) "
                           "RETURNING id",
    [ST_CAMPAIGN_GET] = "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE id = ?1",
    [ST_CAMPAIGN_LIST] = "SELECT " CAMPAIGN_COLS " FROM campaigns ORDER BY id",
    [ST_CAMPAIGN_LIST_OPEN] = "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE state IN ('created', "
                              "'starting', 'running', 'paused') ORDER BY id",
    [ST_CAMPAIGN_SET_RULES] = "UPDATE campaigns SET stages = ?2, success_bp = ?3, max_failures = "
                              "?4, max_failures_pct = ?5, min_finished = ?6, timeout_s = ?7, "
                              "start_at = ?8, win = ?9, canary = ?10, manual = ?11 WHERE id = ?1",
    [ST_CAMPAIGN_SET_ROLLOUT] = "UPDATE campaigns SET stage_count = ?2, stage_open = ?3, waiting = "
                                "?4, offering = ?5 WHERE id = ?1",
    /* a request still open keeps the lower stage; from the first vehicle again */
    [ST_CAMPAIGN_ANNOUNCE_REQUEST] = "UPDATE campaigns SET announce_from = CASE WHEN announce_due "
                                     "= 1 AND announce_from < ?2 THEN announce_from ELSE ?2 END, "
                                     "announce_due = 1, announce_cursor = '' WHERE id = ?1",
    /* the batch's last vehicle: the @limit-th after the cursor (none: the batch is the last) */
    [ST_ANNOUNCE_BATCH_END] = "SELECT d.vehicle FROM deployments d WHERE d.campaign = ?1 AND "
                              "d.state = 'pending' AND d.vehicle > ?2 AND d.stage BETWEEN ?3 AND "
                              "?4 ORDER BY d.vehicle LIMIT 1 OFFSET ?5",
    [ST_ANNOUNCE_BATCH] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, state, "
                          "created_at) SELECT d.vehicle, d.campaign, ?5, 1, 'pending', ?6 FROM "
                          "deployments d WHERE d.campaign = ?1 AND d.state = 'pending' AND "
                          "d.vehicle > ?2 AND (?3 IS NULL OR d.vehicle <= ?3) AND d.stage "
                          "BETWEEN ?4 AND ?7 ORDER BY d.vehicle",
    /* ?2 NULL: the request is done */
    [ST_ANNOUNCE_CURSOR] = "UPDATE campaigns SET announce_cursor = coalesce(?2, ''), "
                           "announce_due = (?2 IS NOT NULL) WHERE id = ?1",
    [ST_STAGE_INSERT] = "INSERT INTO campaign_stages (campaign, stage, upto_rank) VALUES (?1, ?2, "
                        "?3)",
    [ST_STAGE_OPENED] = "UPDATE campaign_stages SET opened_at = coalesce(opened_at, ?3) WHERE "
                        "campaign = ?1 AND stage = ?2",
    /* the dashboard's installed versions: an index scan of vehicles_installed_version */
    [ST_FLEET_VERSIONS] = "SELECT installed_version, count(*) FROM vehicles WHERE state = "
                          "'active' GROUP BY installed_version ORDER BY 2 DESC, 1 LIMIT ?1",
    [ST_STAGE_LIST] = "SELECT stage, upto_rank, coalesce(opened_at, 0), n_pending, n_downloading, "
                      "n_downloaded, n_installing, n_installed, n_failed, n_cancelled FROM "
                      "campaign_stages WHERE campaign = ?1 ORDER BY stage",
    [ST_CAMPAIGN_SET_STATE] = "UPDATE campaigns SET state = ?2, updated_at = ?3, started_at = "
                              "coalesce(started_at, CASE WHEN ?2 IN ('starting', 'running') "
                              "THEN ?3 END) WHERE id = ?1",
    [ST_CAMPAIGN_COUNT_MOVE] = "UPDATE campaigns SET " COUNT_MOVE("pending") ", "
                               COUNT_MOVE("downloading") ", " COUNT_MOVE("downloaded") ", "
                               COUNT_MOVE("installing") ", " COUNT_MOVE("installed") ", "
                               COUNT_MOVE("failed") ", " COUNT_MOVE("cancelled")
                               " WHERE id = ?1",
    [ST_CAMPAIGN_COUNT_CANCEL] = "UPDATE campaigns SET n_cancelled = n_cancelled + n_pending + "
                                 "n_downloading + n_downloaded + n_installing, n_pending = 0, "
                                 "n_downloading = 0, n_downloaded = 0, n_installing = 0 WHERE "
                                 "id = ?1",
    [ST_GROUP_EXISTS] = "SELECT 1 FROM vehicles WHERE grp = ?1 LIMIT 1",
    [ST_MODEL_EXISTS] = "SELECT 1 FROM vehicles WHERE model = ?1 LIMIT 1",
    [ST_TARGETS_CLEAR] = "DELETE FROM temp.start_all",
    [ST_TARGETS_ALL_BUSY] = "SELECT count(*) FROM temp.start_all a WHERE " BUSY("a"),
    /* ota_rank(): see rank_fn(); ?2 the canary group ('' none), ?3 leave busy ones out */
    [ST_TARGETS_RANK_AT] = "SELECT ota_rank(?1, a.vehicle, ?2 <> '' AND v.grp = ?2) AS r FROM "
                           "temp.start_all a JOIN vehicles v ON v.id = a.vehicle WHERE v.state = "
                           "'active' AND (?3 = 0 OR NOT " BUSY("a") ") ORDER BY r LIMIT 1 "
                           "OFFSET ?4",
    [ST_BATCH_CLEAR] = "DELETE FROM temp.start_targets",
    /* the next targets after ?2 that are still active and not yet deployed (a resumed
     * start skips what an interrupted one did) */
    [ST_BATCH_FILL] = "INSERT INTO temp.start_targets (vehicle) SELECT a.vehicle FROM "
                      "temp.start_all a JOIN vehicles v ON v.id = a.vehicle WHERE a.vehicle > "
                      "?2 AND v.state = 'active' AND NOT EXISTS (SELECT 1 FROM deployments d "
                      "WHERE d.campaign = ?1 AND d.vehicle = a.vehicle) ORDER BY a.vehicle "
                      "LIMIT ?3",
    [ST_BATCH_LAST] = "SELECT coalesce(max(vehicle), '') FROM temp.start_targets",
    /* CROSS JOIN: from the batch (SQLite has no statistics for the temporary table and
     * would otherwise walk all the campaign's pending deployments, per batch) */
    [ST_TARGETS_ANNOUNCE_HELD] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, "
                                 "state, created_at) SELECT d.vehicle, d.campaign, ?2, 1, "
                                 "'held', ?3 FROM temp.start_targets t CROSS JOIN "
                                 "deployments d ON d.campaign = ?1 AND d.vehicle = t.vehicle "
                                 "WHERE d.state = 'pending' AND d.stage <= ?4 ORDER BY t.vehicle",
    [ST_TARGETS_FILL_GROUP] = FILL_TARGETS "v.grp = ?1 AND v.state = 'active' ORDER BY v.id",
    [ST_TARGETS_FILL_MODEL] = FILL_TARGETS "v.model = ?1 AND v.state = 'active' ORDER BY v.id",
    [ST_TARGETS_FILL_ALL] = FILL_TARGETS "v.state = 'active' ORDER BY v.id",
    [ST_TARGETS_FILL_ATTRS] = FILL_TARGETS TARGET_ATTRS " ORDER BY v.id",
    [ST_TARGETS_FILL_ONE] = FILL_TARGETS "v.id = ?1 AND v.state = 'active'",
    [ST_TARGETS_BUSY] = "SELECT count(*) FROM temp.start_targets t WHERE " BUSY("t"),
    [ST_TARGETS_SKIP_BUSY] = "DELETE FROM temp.start_targets AS t WHERE " BUSY("t"),
    [ST_TARGETS_SUPERSEDED] = "SELECT d.campaign, d.state, count(*) FROM deployments d WHERE "
                              UNFINISHED " AND d.campaign <> ?1 AND d.vehicle IN (SELECT "
                              "vehicle FROM temp.start_targets) GROUP BY d.campaign, d.state",
    [ST_TARGETS_SUPERSEDE] = "UPDATE deployments AS d SET state = 'cancelled', cancelled_from = "
                             "state, detail = ?2, "
                             "updated_at = ?3 WHERE " UNFINISHED " AND d.campaign <> ?1 AND "
                             "d.vehicle IN (SELECT vehicle FROM temp.start_targets)",
    [ST_TARGETS_DROP_UNSENT] = "UPDATE outbox SET state = 'dropped' WHERE state IN ('held', "
                               "'pending') AND (campaign IS NULL OR campaign <> ?1) AND vehicle "
                               "IN (SELECT vehicle FROM temp.start_targets)",
    [ST_TARGETS_DEPLOY_INSTALLED] = "INSERT INTO deployments (campaign, vehicle, state, detail, "
                                    "stage, created_at, updated_at) SELECT ?1, t.vehicle, "
                                    "'installed', 'already installed', " STAGE_OF("t") ", ?3, ?3 "
                                    "FROM temp.start_targets t JOIN vehicles v ON v.id = "
                                    "t.vehicle WHERE v.installed_sha256 = ?2 ORDER BY t.vehicle",
    [ST_TARGETS_DEPLOY] = "INSERT INTO deployments (campaign, vehicle, state, stage, created_at, "
                          "updated_at) SELECT ?1, t.vehicle, 'pending', " STAGE_OF("t") ", ?3, ?3 "
                          "FROM temp.start_targets t JOIN vehicles v ON v.id = t.vehicle WHERE "
                          "v.installed_sha256 IS NOT ?2 ORDER BY t.vehicle",
    [ST_DEPLOY_INSERT] = "INSERT INTO deployments (campaign, vehicle, state, detail, "
                         "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
    [ST_DEPLOY_GET] = "SELECT " DEPLOY_COLS " WHERE d.campaign = ?1 AND d.vehicle = ?2",
    [ST_DEPLOY_GET_ID] = "SELECT " DEPLOY_COLS " WHERE d.id = ?1",
    /* The partial unique index deployments_one_unfinished finds the vehicle's only
     * unfinished deployment. */
    [ST_DEPLOY_CURRENT] = "SELECT " DEPLOY_COLS " WHERE d.vehicle = ?1 AND " UNFINISHED
                          " AND c.state IN ('running', 'paused') AND NOT " HELD,
    [ST_DEPLOY_OPEN] = "SELECT " DEPLOY_COLS " WHERE d.vehicle = ?1 AND " UNFINISHED,
    [ST_DEPLOY_LAST_CANCELLED] = "SELECT " DEPLOY_COLS " WHERE d.vehicle = ?1 AND "
                                 "d.state = 'cancelled' AND d.cancel_acked = 0 ORDER BY d.id "
                                 "DESC LIMIT 1",
    [ST_DEPLOY_SET] = "UPDATE deployments SET state = ?3, bytes = ?4, detail = coalesce(?5, "
                      "detail), updated_at = ?6, cancelled_from = CASE WHEN ?3 = 'cancelled' "
                      "THEN ?2 ELSE cancelled_from END, started_at = CASE WHEN started_at IS "
                      "NULL AND ?3 IN ('downloading', 'downloaded', 'installing') THEN ?6 ELSE "
                      "started_at END WHERE id = ?1 AND state = ?2",
    [ST_DEPLOY_ADD_BYTES] = "UPDATE deployments AS d SET bytes = bytes + ?3 WHERE campaign = ?1 "
                            "AND vehicle = ?2 AND " UNFINISHED,
    [ST_DEPLOY_CANCEL_ACK] = "UPDATE deployments SET cancel_acked = 1 WHERE id = ?1",
    [ST_DEPLOY_CANCEL_CAMPAIGN] = "UPDATE deployments AS d SET state = 'cancelled', "
                                  "cancelled_from = state, updated_at = ?2 WHERE d.campaign = "
                                  "?1 AND " UNFINISHED,
    /* through the partial index deployments_under_way (schema 005) */
    [ST_DEPLOY_STUCK] = "SELECT " DEPLOY_COLS " WHERE d.campaign = ?1 AND d.state IN "
                        "('downloading', 'downloaded', 'installing') AND d.started_at <= ?2 "
                        "ORDER BY d.started_at LIMIT ?3",
    [ST_DEPLOY_RETRY] = "UPDATE deployments AS d SET state = 'pending', started_at = NULL, bytes = "
                        "0, detail = 'retry', updated_at = ?2 WHERE d.campaign = ?1 AND d.state = "
                        "'failed' AND NOT EXISTS (SELECT 1 FROM deployments o WHERE o.vehicle = "
                        "d.vehicle AND o.state IN " UNFINISHED_IN ") AND EXISTS (SELECT 1 FROM "
                        "vehicles v WHERE v.id = d.vehicle AND v.state = 'active')",
    [ST_DEPLOY_COUNTS] = "SELECT state, count(*) FROM deployments WHERE campaign = ?1 "
                         "GROUP BY state",
    [ST_DEPLOY_LIST] = "SELECT " DEPLOY_COLS " WHERE d.campaign = ?1 AND d.vehicle > ?2 "
                       "ORDER BY d.vehicle",
    [ST_DEPLOY_LIST_STATE] = "SELECT " DEPLOY_COLS " WHERE d.campaign = ?1 AND d.vehicle > ?2 "
                             "AND d.state = ?3 ORDER BY d.vehicle",
    /* A fetchable deployment first: a vehicle in a finished campaign and a paused one of
     * the same artifact may fetch it. */
    [ST_DEPLOY_FETCHABLE] = "SELECT c.state = 'paused' AND d.state = 'pending' FROM "
                            "deployments d JOIN campaigns c ON c.id = d.campaign WHERE "
                            "d.vehicle = ?1 AND c.artifact = ?2 AND d.state <> 'cancelled' AND "
                            "c.state IN ('running', 'paused', 'finished') AND NOT (c.state = "
                            "'running' AND " HELD ") ORDER BY 1 LIMIT 1",
    [ST_DEPLOY_FAILURES] = "SELECT detail, count(*) FROM deployments WHERE campaign = ?1 AND "
                           "state = 'failed' GROUP BY detail ORDER BY 2 DESC, 1 LIMIT ?2",
    [ST_OUTBOX_INSERT] = "INSERT INTO outbox (vehicle, campaign, topic, payload_id, retain, state, "
                         "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
    /* The partial index outbox_due (id, next_attempt_at) WHERE state = 'pending' holds
     * only pending rows, in id order: no sort, published rows never walked, and
     * next_attempt_at filtered in the index. */
    [ST_OUTBOX_DUE] = "SELECT " OUTBOX_COLS " FROM outbox o INDEXED BY outbox_due WHERE "
                      "o.state = 'pending' AND o.id > ?2 AND o.next_attempt_at <= ?1 "
                      "ORDER BY o.id LIMIT ?3",
    /* The partial index outbox_deferred (schema 004) holds only the rows a retry put
     * off: the notifier's start-up reads those, not every pending row. */
    [ST_OUTBOX_DEFERRED] = "SELECT " OUTBOX_COLS " FROM outbox o INDEXED BY outbox_deferred "
                           "WHERE o.state = 'pending' AND o.next_attempt_at > 0 AND o.id > ?2 "
                           "AND o.next_attempt_at > ?1 ORDER BY o.id LIMIT ?3",
    [ST_OUTBOX_RETRY] = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2 "
                        "WHERE id = ?1",
    /* "state <> 'published'" lets the partial index outbox_campaign serve it */
    [ST_OUTBOX_DROP_CAMPAIGN] = "UPDATE outbox SET state = 'dropped' WHERE campaign = ?1 AND "
                                "state IN ('held', 'pending') AND state <> 'published'",
    [ST_OUTBOX_DROP_VEHICLE] = "UPDATE outbox SET state = 'dropped' WHERE vehicle = ?1 AND "
                               "state IN ('held', 'pending')",
    /* Unsent rows from the partial index; published ones as the rest of the row count (an
     * index walk that counts cells per page), not by reading every row. */
    [ST_OUTBOX_COUNTS] = "SELECT state, count(*) FROM outbox WHERE state <> 'published' GROUP "
                         "BY state UNION ALL SELECT 'published', (SELECT count(*) FROM outbox) - "
                         "(SELECT count(*) FROM outbox WHERE state <> 'published')",
    /* ota-notifier's gauges: index-only counts of the partial indexes, no sort */
    [ST_OUTBOX_UNSENT] = "SELECT (SELECT count(*) FROM outbox INDEXED BY outbox_due WHERE state = "
                         "'pending'), (SELECT count(*) FROM outbox WHERE state = 'held' AND "
                         "state <> 'published')",
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
    /* through the partial index outbox_campaign (campaign, state): rowid order */
    [ST_OUTBOX_RELEASE_HELD] = "UPDATE outbox SET state = 'pending' WHERE id IN (SELECT id "
                               "FROM outbox WHERE campaign = ?1 AND state = 'held' AND state "
                               "<> 'published' ORDER BY id LIMIT ?2)",
    /* per running campaign (a few), one probe of the partial index outbox_campaign:
     * not a walk of every unsent row */
    [ST_OUTBOX_HELD_RUNNING] = "SELECT c.id FROM campaigns c WHERE c.state = 'running' AND "
                               "c.updated_at <= ?1 AND EXISTS (SELECT 1 FROM outbox o WHERE "
                               "o.campaign = c.id AND o.state = 'held' AND o.state <> "
                               "'published') ORDER BY c.id LIMIT 1",
    [ST_OUTBOX_PAYLOAD_ADD] = "INSERT INTO outbox_payloads (body) VALUES (?1) RETURNING id",
    [ST_OUTBOX_PAYLOAD_GET] = "SELECT body FROM outbox_payloads WHERE id = ?1",
    [ST_OUTBOX_CLEAR_PENDING] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, "
                                "state, created_at) SELECT d.vehicle, d.campaign, NULL, 1, "
                                "'pending', ?2 FROM deployments d WHERE d.campaign = ?1 AND "
                                "d.state = 'pending' AND d.stage <= (SELECT stage_open FROM "
                                "campaigns WHERE id = ?1) ORDER BY d.vehicle",
    [ST_OUTBOX_CLEAR_UNFINISHED] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, "
                                   "state, created_at) SELECT d.vehicle, d.campaign, NULL, 1, "
                                   "'pending', ?2 FROM deployments d WHERE d.campaign = ?1 AND "
                                   UNFINISHED " AND (d.state <> 'pending' OR d.stage <= (SELECT "
                                   "stage_open FROM campaigns WHERE id = ?1)) ORDER BY d.vehicle",
    /* A run of acknowledged ids: the narrow rows of one or two pages rewritten, and their
     * entries deleted from the two partial indexes; nothing inserted into an index. NOT
     * INDEXED: walk the rowid range; through outbox_due, which the update shrinks, SQLite
     * would collect the rowids first and then update them (two passes). */
    /* OR FAIL: the row's CHECK cannot fail here, and without ABORT's undo SQLite needs
     * no statement journal, whose savepoint cost grew with the database (12 % of the
     * notifier's CPU at a million rows). */
    [ST_OUTBOX_MARK_RANGE] = "UPDATE OR FAIL outbox NOT INDEXED SET state = 'published', "
                             "published_at = ?3 WHERE id BETWEEN ?1 AND ?2 AND state = "
                             "'pending'",
    [ST_EVENT_ADD] = "INSERT INTO events (ts, actor, kind, vehicle, campaign, state, bytes, "
                     "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* ?3 kind: exact, or a prefix when it ends in '.'; ?6 newest N (-1 all), in id order */
    [ST_EVENT_LIST] = "SELECT * FROM (SELECT id, ts, actor, kind, vehicle, coalesce(campaign, "
                      "0), state, coalesce(bytes, -1), detail FROM events WHERE (?1 = 0 OR "
                      "campaign = ?1) AND (?2 IS NULL OR vehicle = ?2) AND (?3 IS NULL OR kind = "
                      "?3 OR (substr(?3, -1) = '.' AND substr(kind, 1, length(?3)) = ?3)) AND "
                      "ts >= ?4 ORDER BY id DESC LIMIT ?5) ORDER BY id",
};

struct conn {
    sqlite3 *h;
    sqlite3_stmt *st[ST_COUNT];
    struct timespec busy_since;
};

/* The busy handler: tries again every millisecond for BUSY_TIMEOUT_MS. SQLite's own busy
 * timeout sleeps ever longer between tries (up to 100 ms), so a writer that has waited a
 * while misses the short gaps between another writer's transactions: behind a campaign
 * start committing a batch every ~0.1 s, a status report waited 0.8 s, not one batch. */
static int busy_retry(void *arg, int count)
{
    struct conn *c = arg;
    struct timespec now;
    int64_t waited_ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (count == 0)
        c->busy_since = now;
    waited_ms = (int64_t)(now.tv_sec - c->busy_since.tv_sec) * 1000 +
                (now.tv_nsec - c->busy_since.tv_nsec) / 1000000;
    if (waited_ms >= BUSY_TIMEOUT_MS)
        return 0;
    usleep(BUSY_RETRY_US);
    return 1;
}

/* ota_rank(campaign, vehicle, canary): a staged campaign's order of vehicles (DESIGN.md
 * "Rollouts"), fixed at its start: a 64-bit FNV-1a hash of the vehicle id seeded by the
 * campaign id, mixed (splitmix64's finalizer) and cut to 62 bits, canary vehicles below
 * every other. Deterministic, so a resumed start assigns the same stages. */
static void rank_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    uint64_t h = 0xcbf29ce484222325ULL, seed = (uint64_t)sqlite3_value_int64(argv[0]);
    const unsigned char *id = sqlite3_value_text(argv[1]);
    int len = sqlite3_value_bytes(argv[1]);

    (void)argc;
    for (int i = 0; i < 8; i++) {
        h ^= (seed >> (8 * i)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    for (int i = 0; id && i < len; i++) {
        h ^= id[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    h >>= 2;
    if (!sqlite3_value_int(argv[2]))
        h |= 1ULL << 62;
    sqlite3_result_int64(ctx, (sqlite3_int64)h);
}

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
        return rc == SQLITE_CONSTRAINT_FOREIGNKEY ? -ENOENT : -EEXIST;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return -EBADMSG;
    default:
        return -EIO;
    }
}

static int exec(struct conn *c, const char *s)
{
    return map_rc(sqlite3_exec(c->h, s, NULL, NULL, NULL));
}

static void disconnect(void *p)
{
    struct conn *c = p;

    if (!c)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->h);
    free(c);
}

/* Why a file cannot be opened, from the file system: what SQLite's own codes blur (a
 * read-only file and a missing folder both say "unable to open"). */
static int file_error(const char *path, bool create)
{
    struct stat st;
    char dir[4096];
    const char *slash = strrchr(path, '/');

    if (stat(path, &st) == 0)
        return access(path, R_OK | W_OK) == 0 ? -EIO : -EACCES;
    if (errno != ENOENT)
        return -errno;
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (!create || stat(dir, &st) < 0)
        return -ENOENT;
    return access(dir, W_OK | X_OK) == 0 ? -EIO : -EACCES;
}

static int connect(const char *path, bool create, void **ret)
{
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    int r, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

    if (!create && access(path, F_OK) < 0)
        return errno == ENOENT ? -ENOENT : -errno;
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    r = sqlite3_open_v2(path, &c->h, flags, NULL);
    if (r != SQLITE_OK) {
        r = r == SQLITE_CANTOPEN ? file_error(path, create) : map_rc(r);
        goto out;
    }
    sqlite3_busy_handler(c->h, busy_retry, c);
    sqlite3_extended_result_codes(c->h, 1);
    /* journal_mode reads the header: a file that is not a database fails here, at open;
     * a read-only one cannot switch to WAL. */
    r = sqlite3_prepare_v2(c->h, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (r == SQLITE_OK)
        r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        r = map_rc(r == SQLITE_OK ? sqlite3_errcode(c->h) : r);
        if (r == -EIO || r == -EACCES)
            r = file_error(path, create) == -EACCES ? -EACCES : r;
        goto out;
    }
    if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
        r = -EROFS; /* a read-only database stays in its old journal mode */
        goto out;
    }
    /* FULL: a committed campaign start or status survives power loss too. (ota-notifier
     * commits its PUBACK marks with NORMAL: losing the newest ones only re-sends.) The
     * target set of campaign start lives in the connection's temporary database. A page
     * cache of up to 32 MiB (SQLite's default is 2 MiB): a million-vehicle campaign start
     * or import keeps the indexes it appends to in memory (it grows only as used). */
    r = exec(c, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA cache_size = -32768; "
                "CREATE TEMP TABLE IF NOT EXISTS start_all (vehicle TEXT PRIMARY KEY); "
                "CREATE TEMP TABLE IF NOT EXISTS start_targets (vehicle TEXT PRIMARY KEY)");
    if (r < 0)
        goto out;
    r = sqlite3_create_function_v2(c->h, "ota_rank", 3,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   rank_fn, NULL, NULL, NULL);
    if (r != SQLITE_OK) {
        r = map_rc(r);
        goto out;
    }
    *ret = c;
    c = NULL;
out:
    sqlite3_finalize(st);
    disconnect(c);
    return r;
}

static const char *errmsg(void *p)
{
    struct conn *c = p;

    return c && c->h ? sqlite3_errmsg(c->h) : "no database";
}

static int schema_version(void *p, unsigned *ret)
{
    struct conn *c = p;
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(c->h, "PRAGMA user_version", -1, &st, NULL);

    if (r == SQLITE_OK)
        r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *ret = (unsigned)sqlite3_column_int(st, 0);
        r = 0;
    } else {
        r = map_rc(r == SQLITE_OK ? SQLITE_ERROR : r);
        if (r == 0)
            r = -EIO;
    }
    sqlite3_finalize(st);
    return r;
}

/* One migration in one transaction. Foreign keys are off while it runs (a migration may
 * rebuild a referenced table, SQLite's documented way to change a table) and checked
 * before it commits. */
static int migrate(void *p, unsigned to, const char *script)
{
    struct conn *c = p;
    sqlite3_stmt *st = NULL;
    char v[64];
    int r;

    snprintf(v, sizeof(v), "PRAGMA user_version = %u", to);
    if ((r = exec(c, "PRAGMA foreign_keys = OFF")) < 0)
        return r;
    if ((r = exec(c, "BEGIN IMMEDIATE")) < 0)
        goto out;
    if ((r = exec(c, script)) < 0 || (r = exec(c, v)) < 0)
        goto out;
    r = sqlite3_prepare_v2(c->h, "PRAGMA foreign_key_check", -1, &st, NULL);
    if (r == SQLITE_OK)
        r = sqlite3_step(st);
    r = r == SQLITE_DONE ? 0 : r == SQLITE_ROW ? -EIO : map_rc(r);
    sqlite3_finalize(st);
    if (r == 0)
        r = exec(c, "COMMIT");
out:
    if (r < 0 && !sqlite3_get_autocommit(c->h))
        exec(c, "ROLLBACK");
    exec(c, "PRAGMA foreign_keys = ON");
    return r == -EEXIST ? -EIO : r;
}

static int prepare(void *p)
{
    struct conn *c = p;

    for (int i = 0; i < ST_COUNT; i++) {
        if (c->st[i])
            continue;
        if (sqlite3_prepare_v3(c->h, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL) !=
            SQLITE_OK)
            return -EIO;
    }
    return 0;
}

static void reset(void *p, enum ota_stmt id)
{
    struct conn *c = p;

    if (c->st[id]) {
        sqlite3_reset(c->st[id]);
        sqlite3_clear_bindings(c->st[id]);
    }
}

static int step(struct conn *c, enum ota_stmt id)
{
    int rc = sqlite3_step(c->st[id]);

    if (rc == SQLITE_ROW)
        return 1;
    reset(c, id);
    return rc == SQLITE_DONE ? 0 : map_rc(rc);
}

static int run(void *p, enum ota_stmt id, const struct ota_db_arg *args, unsigned nargs)
{
    struct conn *c = p;
    sqlite3_stmt *st = c->st[id];
    int rc = SQLITE_OK;

    if (!st)
        return -EIO;
    reset(c, id);
    for (unsigned i = 0; i < nargs && rc == SQLITE_OK; i++) {
        int col = (int)i + 1;
        switch (args[i].type) {
        case OTA_ARG_INT:
            rc = sqlite3_bind_int64(st, col, args[i].i);
            break;
        case OTA_ARG_TEXT:
            rc = sqlite3_bind_text(st, col, args[i].s, -1, SQLITE_STATIC);
            break;
        case OTA_ARG_NULL:
            rc = sqlite3_bind_null(st, col);
            break;
        }
    }
    if (rc != SQLITE_OK) {
        reset(c, id);
        return map_rc(rc) ? map_rc(rc) : -EIO;
    }
    return step(c, id);
}

static int next(void *p, enum ota_stmt id)
{
    return step(p, id);
}

static const char *text(void *p, enum ota_stmt id, unsigned col)
{
    struct conn *c = p;

    return (const char *)sqlite3_column_text(c->st[id], (int)col);
}

static size_t text_len(void *p, enum ota_stmt id, unsigned col)
{
    struct conn *c = p;

    return (size_t)sqlite3_column_bytes(c->st[id], (int)col);
}

static int64_t integer(void *p, enum ota_stmt id, unsigned col)
{
    struct conn *c = p;

    return sqlite3_column_int64(c->st[id], (int)col);
}

static int64_t changes(void *p, enum ota_stmt id)
{
    struct conn *c = p;

    (void)id;
    return sqlite3_changes64(c->h);
}

static bool in_transaction(void *p)
{
    struct conn *c = p;

    return !sqlite3_get_autocommit(c->h);
}

static int data_version(void *conn, int64_t *ret);

const struct ota_db_driver ota_db_sqlite_driver = {
    .name = "sqlite",
    .migrations = ota_schema_sqlite,
    .version = &ota_schema_sqlite_version,
    .connect = connect,
    .disconnect = disconnect,
    .errmsg = errmsg,
    .schema_version = schema_version,
    .migrate = migrate,
    .prepare = prepare,
    .run = run,
    .next = next,
    .reset = reset,
    .text = text,
    .text_len = text_len,
    .integer = integer,
    .changes = changes,
    .in_transaction = in_transaction,
    .data_version = data_version,
};

/* ---- what only SQLite has -------------------------------------------------------- */

/* A PRAGMA's one value: an integer in *ret_int or text compared with @want. */
static int pragma(struct conn *c, const char *s, int64_t *ret_int, const char *want, bool *ret_eq)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(c->h, s, -1, &st, NULL);

    if (r == SQLITE_OK)
        r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        if (ret_int)
            *ret_int = sqlite3_column_int64(st, 0);
        if (ret_eq)
            *ret_eq = sqlite3_column_text(st, 0) &&
                      strcmp((const char *)sqlite3_column_text(st, 0), want) == 0;
        r = 0;
    } else {
        r = r == SQLITE_DONE ? 0 : map_rc(r);
    }
    sqlite3_finalize(st);
    return r;
}

static int data_version(void *conn, int64_t *ret)
{
    return pragma(conn, "PRAGMA data_version", ret, NULL, NULL);
}

int ota_db_sqlite_sync_full(void *conn, bool full)
{
    return exec(conn, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

int ota_db_sqlite_cache_kib(void *conn, unsigned kib)
{
    char sql[48];

    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%u", kib);
    return exec(conn, sql);
}

int ota_db_sqlite_wal_index(void *conn, const volatile void **ret)
{
    struct conn *c = conn;
    sqlite3_file *f = NULL;
    void volatile *p = NULL;
    bool wal = false, normal = false;

    /* Only a shared-memory wal-index is the one other connections write: not with
     * locking_mode=EXCLUSIVE (SQLite then keeps it in heap memory), nor outside WAL. */
    if (pragma(c, "PRAGMA main.journal_mode", NULL, "wal", &wal) < 0 || !wal ||
        pragma(c, "PRAGMA main.locking_mode", NULL, "normal", &normal) < 0 || !normal)
        return -ENOTSUP;
    if (sqlite3_file_control(c->h, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK ||
        !f || !f->pMethods || f->pMethods->iVersion < 2 || !f->pMethods->xShmMap)
        return -ENOTSUP;
    /* Region 0 (32 KiB, SQLite's WALINDEX_PGSZ) of the mapping SQLite itself reads; with
     * bExtend 0 nothing is created. */
    if (f->pMethods->xShmMap(f, 0, 32768, 0, &p) != SQLITE_OK || !p)
        return -ENOTSUP;
    *ret = p;
    return 0;
}

/* sqlite.org/backup.html: all pages in one step, so one read transaction sees one
 * snapshot (a copy made in several steps restarts whenever another connection writes,
 * which during a campaign may be always). In WAL mode that read blocks no writer. A
 * checkpoint or a writer in rollback mode may hold the lock a moment: tried again for up
 * to BACKUP_BUSY_MS. */
#define BACKUP_BUSY_MS 10000

int ota_db_sqlite_backup(void *conn, const char *path)
{
    struct conn *c = conn;
    sqlite3 *dst = NULL;
    sqlite3_backup *b;
    int rc, waited = 0;

    rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        goto out;
    b = sqlite3_backup_init(dst, "main", c->h, "main");
    if (!b) {
        rc = sqlite3_errcode(dst);
        goto out;
    }
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (waited >= BACKUP_BUSY_MS)
            break;
        sqlite3_sleep(10);
        waited += 10;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    if (sqlite3_backup_finish(b) != SQLITE_OK && rc == SQLITE_OK)
        rc = sqlite3_errcode(dst);
out:
    if (sqlite3_close(dst) != SQLITE_OK && rc == SQLITE_OK)
        rc = SQLITE_IOERR;
    if (rc != SQLITE_OK)
        unlink(path);
    return map_rc(rc);
}
