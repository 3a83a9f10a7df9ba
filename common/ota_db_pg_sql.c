/* The SQL of every statement of enum ota_stmt in PostgreSQL's dialect (ota_db_pg.c runs
 * them). The same statements as ota_db_sqlite.c, kept in step with it: where SQLite's
 * typing is loose, parameters carry casts ($1::text IS NULL), comparisons that SQLite
 * yields as 0/1 are cast to int, INSERT OR IGNORE is ON CONFLICT DO NOTHING, and a LIMIT
 * of -1 (SQLite's "no limit") is NULL. SQLite's
 * planner hints (INDEXED BY) have no counterpart; the partial indexes are the same. */
#include "ota_db_pg_sql.h"

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
    HELD "::int, (c.win <> '')::int, c.offering FROM deployments d JOIN campaigns c ON c.id = d.campaign"
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
/* Every key of the wanted object ($1) must be a string attribute of equal value: the
 * attributes a device sent as hawkBit configData (hwRevision, ...). */
#define TARGET_ATTRS \
    "v.state = 'active' AND ota_json_object(v.attributes) IS NOT NULL AND NOT EXISTS " \
    "(SELECT 1 FROM jsonb_each_text($1::jsonb) AS want WHERE NOT EXISTS (SELECT 1 FROM " \
    "jsonb_each_text(v.attributes::jsonb) AS have WHERE have.key = want.key AND " \
    "jsonb_typeof(v.attributes::jsonb -> have.key) = 'string' AND " \
    "have.value = want.value))"
/* campaign start: every target into start_all; then batch after batch into
 * start_targets, which the ST_TARGETS_* statements work on */
#define FILL_TARGETS "INSERT INTO start_all (vehicle) SELECT v.id FROM vehicles v WHERE "
#define IGNORE_DUPLICATES " ON CONFLICT DO NOTHING"
/* The stage of target t of campaign $1 (canary group $4): the first whose rank bound
 * holds its rank; 0 when the campaign has no stages (no ota_rank() call then). */
#define STAGE_OF(t) \
    "coalesce((SELECT min(s.stage) FROM campaign_stages s WHERE s.campaign = $1 AND " \
    "s.upto_rank >= ota_rank($1, " t ".vehicle, $4::text <> '' AND v.grp = $4)), 0)"
/* ($2 IS NOT DISTINCT FROM 'x')::int: 1 when $2 is the state x, 0 otherwise, NULL included */
#define COUNT_MOVE(s) "n_" s " = n_" s " - $4::bigint * ($2::text IS NOT DISTINCT FROM '" s "')::int + $4::bigint * ($3::text IS NOT DISTINCT FROM '" s "')::int"
/* A target t with an unfinished deployment in another campaign: a lookup in the partial
 * index deployments_one_unfinished per target (as "vehicle IN (SELECT ...)" SQLite would
 * list every unfinished deployment of the fleet first, per batch). */
#define BUSY(t) \
    "EXISTS (SELECT 1 FROM deployments d WHERE d.vehicle = " t ".vehicle AND " UNFINISHED \
    " AND d.campaign <> $1)"

const char *const ota_db_pg_sql[ST_COUNT] = {
    /* and ota_db_pg.c takes the write lock (see there) */
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* Vehicles and edges share one id space: a certificate CN must name one client. */
    /* VALUES, not INSERT ... SELECT: a statement that may insert several rows needs a
     * statement journal, which made a 1M-row import 20 times slower */
    [ST_VEHICLE_ADD] = "INSERT INTO vehicles (id, model, grp, attributes, created_at) "
                       "VALUES ($1, $2, $3, $4, $5)",
    [ST_VEHICLE_GET] = "SELECT " VEHICLE_COLS " FROM vehicles WHERE id = $1",
    [ST_VEHICLE_LIST] = "SELECT " VEHICLE_COLS " FROM vehicles WHERE ($1::text IS NULL OR grp = $1) "
                        "AND ($2::text IS NULL OR model = $2) AND ($3::text IS NULL OR installed_version "
                        "= $3) ORDER BY id",
    [ST_VEHICLE_SET_STATE] = "UPDATE vehicles SET state = $2 WHERE id = $1",
    [ST_VEHICLE_SET] = "UPDATE vehicles SET model = coalesce($2, model), grp = coalesce($3, "
                       "grp), attributes = coalesce($4, attributes) WHERE id = $1",
    [ST_VEHICLE_TOUCH] = "UPDATE vehicles SET last_seen = $2 WHERE id = $1",
    [ST_VEHICLE_INSTALLED] = "UPDATE vehicles SET installed_sha256 = $2, installed_version = "
                             "$3, installed_at = $4 WHERE id = $1",
    [ST_EDGE_ADD] = "INSERT INTO edges (name, created_at) SELECT $1, $2 "
                    "WHERE NOT EXISTS (SELECT 1 FROM vehicles WHERE id = $1)",
    [ST_EDGE_GET] = "SELECT name, state, created_at FROM edges WHERE name = $1",
    [ST_EDGE_LIST] = "SELECT name, state, created_at FROM edges ORDER BY name",
    [ST_EDGE_SET_STATE] = "UPDATE edges SET state = $2 WHERE name = $1",
    [ST_CLIENT_LOOKUP] = "SELECT 1, state, coalesce(last_seen, 0) FROM vehicles WHERE id = $1 "
                         "UNION ALL SELECT 2, state, 0 FROM edges WHERE name = $1 LIMIT 1",
    [ST_ARTIFACT_INSERT] = "INSERT INTO artifacts (sha256, sha1, md5, size, name, version, hw, "
                           "signature, created_at, public) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                           "$8, $9, $10)",
    [ST_ARTIFACT_SET_PUBLIC] = "UPDATE artifacts SET public = $2 WHERE sha256 = $1",
    [ST_ARTIFACT_GET] = "SELECT " ARTIFACT_COLS " FROM artifacts WHERE sha256 = $1",
    [ST_ARTIFACT_LIST] = "SELECT " ARTIFACT_COLS " FROM artifacts WHERE $1::int <> 0 OR deleted_at IS "
                         "NULL ORDER BY created_at, sha256",
    [ST_ARTIFACT_IN_USE] = "SELECT count(*) FROM campaigns WHERE artifact = $1 AND state IN "
                           "('created', 'starting', 'running', 'paused')",
    [ST_ARTIFACT_DELETE] = "UPDATE artifacts SET deleted_at = $2 WHERE sha256 = $1 AND "
                           "deleted_at IS NULL",
    [ST_ARTIFACT_REVIVE] = "UPDATE artifacts SET deleted_at = NULL WHERE sha256 = $1 AND "
                           "deleted_at IS NOT NULL",
    [ST_ARTIFACT_SIGNED] = "SELECT signature FROM artifacts ORDER BY created_at DESC LIMIT 1",
    [ST_CAMPAIGN_INSERT] = "INSERT INTO campaigns (name, artifact, target_kind, target, state, "
                           "created_at, updated_at) VALUES ($1, $2, $3, $4, 'created', $5, $5) "
                           "RETURNING id",
    [ST_CAMPAIGN_GET] = "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE id = $1",
    [ST_CAMPAIGN_LIST] = "SELECT " CAMPAIGN_COLS " FROM campaigns ORDER BY id",
    [ST_CAMPAIGN_LIST_OPEN] = "SELECT " CAMPAIGN_COLS " FROM campaigns WHERE state IN ('created', "
                              "'starting', 'running', 'paused') ORDER BY id",
    [ST_CAMPAIGN_SET_RULES] = "UPDATE campaigns SET stages = $2, success_bp = $3, max_failures = "
                              "$4, max_failures_pct = $5, min_finished = $6, timeout_s = $7, "
                              "start_at = $8, win = $9, canary = $10, manual = $11 WHERE id = $1",
    [ST_CAMPAIGN_SET_ROLLOUT] = "UPDATE campaigns SET stage_count = $2, stage_open = $3, waiting = "
                                "$4, offering = $5 WHERE id = $1",
    /* a request still open keeps the lower stage; from the first vehicle again */
    [ST_CAMPAIGN_ANNOUNCE_REQUEST] = "UPDATE campaigns SET announce_from = CASE WHEN announce_due "
                                     "= 1 AND announce_from < $2 THEN announce_from ELSE $2 END, "
                                     "announce_due = 1, announce_cursor = '' WHERE id = $1",
    /* the batch's last vehicle: the @limit-th after the cursor (none: the batch is the last) */
    [ST_ANNOUNCE_BATCH_END] = "SELECT d.vehicle FROM deployments d WHERE d.campaign = $1 AND "
                              "d.state = 'pending' AND d.vehicle > $2 AND d.stage BETWEEN $3 AND "
                              "$4 ORDER BY d.vehicle LIMIT 1 OFFSET $5",
    [ST_ANNOUNCE_BATCH] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, state, "
                          "created_at) SELECT d.vehicle, d.campaign, $5, 1, 'pending', $6 FROM "
                          "deployments d WHERE d.campaign = $1 AND d.state = 'pending' AND "
                          "d.vehicle > $2 AND ($3::text IS NULL OR d.vehicle <= $3) AND d.stage "
                          "BETWEEN $4 AND $7 ORDER BY d.vehicle",
    /* $2 NULL: the request is done */
    [ST_ANNOUNCE_CURSOR] = "UPDATE campaigns SET announce_cursor = coalesce($2, ''), "
                           "announce_due = ($2::text IS NOT NULL)::int WHERE id = $1",
    [ST_STAGE_INSERT] = "INSERT INTO campaign_stages (campaign, stage, upto_rank) VALUES ($1, $2, "
                        "$3)",
    [ST_STAGE_OPENED] = "UPDATE campaign_stages SET opened_at = coalesce(opened_at, $3) WHERE "
                        "campaign = $1 AND stage = $2",
    [ST_FLEET_VERSIONS] = "SELECT installed_version, count(*) FROM vehicles WHERE state = "
                          "'active' GROUP BY installed_version ORDER BY 2 DESC, 1 LIMIT $1",
    [ST_STAGE_LIST] = "SELECT stage, upto_rank, coalesce(opened_at, 0), n_pending, n_downloading, "
                      "n_downloaded, n_installing, n_installed, n_failed, n_cancelled FROM "
                      "campaign_stages WHERE campaign = $1 ORDER BY stage",
    [ST_CAMPAIGN_SET_STATE] = "UPDATE campaigns SET state = $2, updated_at = $3, started_at = "
                              "coalesce(started_at, CASE WHEN $2 IN ('starting', 'running') "
                              "THEN $3::bigint END) WHERE id = $1",
    [ST_CAMPAIGN_COUNT_MOVE] = "UPDATE campaigns SET " COUNT_MOVE("pending") ", "
                               COUNT_MOVE("downloading") ", " COUNT_MOVE("downloaded") ", "
                               COUNT_MOVE("installing") ", " COUNT_MOVE("installed") ", "
                               COUNT_MOVE("failed") ", " COUNT_MOVE("cancelled")
                               " WHERE id = $1",
    [ST_CAMPAIGN_COUNT_CANCEL] = "UPDATE campaigns SET n_cancelled = n_cancelled + n_pending + "
                                 "n_downloading + n_downloaded + n_installing, n_pending = 0, "
                                 "n_downloading = 0, n_downloaded = 0, n_installing = 0 WHERE "
                                 "id = $1",
    [ST_GROUP_EXISTS] = "SELECT 1 FROM vehicles WHERE grp = $1 LIMIT 1",
    [ST_MODEL_EXISTS] = "SELECT 1 FROM vehicles WHERE model = $1 LIMIT 1",
    [ST_TARGETS_CLEAR] = "DELETE FROM start_all",
    [ST_TARGETS_ALL_BUSY] = "SELECT count(*) FROM start_all a WHERE " BUSY("a"),
    /* ota_rank(): see rank_fn(); $2 the canary group ('' none), $3 leave busy ones out */
    [ST_TARGETS_RANK_AT] = "SELECT ota_rank($1, a.vehicle, $2::text <> '' AND v.grp = $2) AS r FROM "
                           "start_all a JOIN vehicles v ON v.id = a.vehicle WHERE v.state = "
                           "'active' AND ($3::int = 0 OR NOT " BUSY("a") ") ORDER BY r LIMIT 1 "
                           "OFFSET $4",
    [ST_BATCH_CLEAR] = "DELETE FROM start_targets",
    /* the next targets after $2 that are still active and not yet deployed (a resumed
     * start skips what an interrupted one did) */
    [ST_BATCH_FILL] = "INSERT INTO start_targets (vehicle) SELECT a.vehicle FROM "
                      "start_all a JOIN vehicles v ON v.id = a.vehicle WHERE a.vehicle > "
                      "$2 AND v.state = 'active' AND NOT EXISTS (SELECT 1 FROM deployments d "
                      "WHERE d.campaign = $1 AND d.vehicle = a.vehicle) ORDER BY a.vehicle "
                      "LIMIT nullif($3::bigint, -1)",
    [ST_BATCH_LAST] = "SELECT coalesce(max(vehicle), '') FROM start_targets",
    [ST_TARGETS_ANNOUNCE_HELD] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, "
                                 "state, created_at) SELECT d.vehicle, d.campaign, $2, 1, "
                                 "'held', $3 FROM start_targets t JOIN "
                                 "deployments d ON d.campaign = $1 AND d.vehicle = t.vehicle "
                                 "WHERE d.state = 'pending' AND d.stage <= $4 ORDER BY t.vehicle",
    [ST_TARGETS_FILL_GROUP] = FILL_TARGETS "v.grp = $1 AND v.state = 'active' ORDER BY v.id" IGNORE_DUPLICATES,
    [ST_TARGETS_FILL_MODEL] = FILL_TARGETS "v.model = $1 AND v.state = 'active' ORDER BY v.id" IGNORE_DUPLICATES,
    [ST_TARGETS_FILL_ALL] = FILL_TARGETS "v.state = 'active' ORDER BY v.id" IGNORE_DUPLICATES,
    [ST_TARGETS_FILL_ATTRS] = FILL_TARGETS TARGET_ATTRS " ORDER BY v.id" IGNORE_DUPLICATES,
    [ST_TARGETS_FILL_ONE] = FILL_TARGETS "v.id = $1 AND v.state = 'active'" IGNORE_DUPLICATES,
    [ST_TARGETS_BUSY] = "SELECT count(*) FROM start_targets t WHERE " BUSY("t"),
    [ST_TARGETS_SKIP_BUSY] = "DELETE FROM start_targets AS t WHERE " BUSY("t"),
    [ST_TARGETS_SUPERSEDED] = "SELECT d.campaign, d.state, count(*) FROM deployments d WHERE "
                              UNFINISHED " AND d.campaign <> $1 AND d.vehicle IN (SELECT "
                              "vehicle FROM start_targets) GROUP BY d.campaign, d.state",
    [ST_TARGETS_SUPERSEDE] = "UPDATE deployments AS d SET state = 'cancelled', cancelled_from = "
                             "state, detail = $2, "
                             "updated_at = $3 WHERE " UNFINISHED " AND d.campaign <> $1 AND "
                             "d.vehicle IN (SELECT vehicle FROM start_targets)",
    [ST_TARGETS_DROP_UNSENT] = "UPDATE outbox SET state = 'dropped' WHERE state IN ('held', "
                               "'pending') AND (campaign IS NULL OR campaign <> $1) AND vehicle "
                               "IN (SELECT vehicle FROM start_targets)",
    [ST_TARGETS_DEPLOY_INSTALLED] = "INSERT INTO deployments (campaign, vehicle, state, detail, "
                                    "stage, created_at, updated_at) SELECT $1, t.vehicle, "
                                    "'installed', 'already installed', " STAGE_OF("t") ", $3, $3 "
                                    "FROM start_targets t JOIN vehicles v ON v.id = "
                                    "t.vehicle WHERE v.installed_sha256 = $2 ORDER BY t.vehicle",
    [ST_TARGETS_DEPLOY] = "INSERT INTO deployments (campaign, vehicle, state, stage, created_at, "
                          "updated_at) SELECT $1, t.vehicle, 'pending', " STAGE_OF("t") ", $3, $3 "
                          "FROM start_targets t JOIN vehicles v ON v.id = t.vehicle WHERE "
                          "v.installed_sha256 IS DISTINCT FROM $2::text ORDER BY t.vehicle",
    [ST_DEPLOY_INSERT] = "INSERT INTO deployments (campaign, vehicle, state, detail, "
                         "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    [ST_DEPLOY_GET] = "SELECT " DEPLOY_COLS " WHERE d.campaign = $1 AND d.vehicle = $2",
    [ST_DEPLOY_GET_ID] = "SELECT " DEPLOY_COLS " WHERE d.id = $1",
    /* The partial unique index deployments_one_unfinished finds the vehicle's only
     * unfinished deployment. */
    [ST_DEPLOY_CURRENT] = "SELECT " DEPLOY_COLS " WHERE d.vehicle = $1 AND " UNFINISHED
                          " AND c.state IN ('running', 'paused') AND NOT " HELD,
    [ST_DEPLOY_OPEN] = "SELECT " DEPLOY_COLS " WHERE d.vehicle = $1 AND " UNFINISHED,
    [ST_DEPLOY_LAST_CANCELLED] = "SELECT " DEPLOY_COLS " WHERE d.vehicle = $1 AND "
                                 "d.state = 'cancelled' AND d.cancel_acked = 0 ORDER BY d.id "
                                 "DESC LIMIT 1",
    [ST_DEPLOY_SET] = "UPDATE deployments SET state = $3, bytes = $4, detail = coalesce($5, "
                      "detail), updated_at = $6, cancelled_from = CASE WHEN $3 = 'cancelled' "
                      "THEN $2 ELSE cancelled_from END, started_at = CASE WHEN started_at IS "
                      "NULL AND $3 IN ('downloading', 'downloaded', 'installing') THEN $6 ELSE "
                      "started_at END WHERE id = $1 AND state = $2",
    [ST_DEPLOY_ADD_BYTES] = "UPDATE deployments AS d SET bytes = bytes + $3 WHERE campaign = $1 "
                            "AND vehicle = $2 AND " UNFINISHED,
    [ST_DEPLOY_CANCEL_ACK] = "UPDATE deployments SET cancel_acked = 1 WHERE id = $1",
    [ST_DEPLOY_CANCEL_CAMPAIGN] = "UPDATE deployments AS d SET state = 'cancelled', "
                                  "cancelled_from = state, updated_at = $2 WHERE d.campaign = "
                                  "$1 AND " UNFINISHED,
    /* through the partial index deployments_under_way (schema 005) */
    [ST_DEPLOY_STUCK] = "SELECT " DEPLOY_COLS " WHERE d.campaign = $1 AND d.state IN "
                        "('downloading', 'downloaded', 'installing') AND d.started_at <= $2 "
                        "ORDER BY d.started_at LIMIT nullif($3::bigint, -1)",
    [ST_DEPLOY_RETRY] = "UPDATE deployments AS d SET state = 'pending', started_at = NULL, bytes = "
                        "0, detail = 'retry', updated_at = $2 WHERE d.campaign = $1 AND d.state = "
                        "'failed' AND NOT EXISTS (SELECT 1 FROM deployments o WHERE o.vehicle = "
                        "d.vehicle AND o.state IN " UNFINISHED_IN ") AND EXISTS (SELECT 1 FROM "
                        "vehicles v WHERE v.id = d.vehicle AND v.state = 'active')",
    [ST_DEPLOY_COUNTS] = "SELECT state, count(*) FROM deployments WHERE campaign = $1 "
                         "GROUP BY state",
    [ST_DEPLOY_LIST] = "SELECT " DEPLOY_COLS " WHERE d.campaign = $1 AND d.vehicle > $2 "
                       "ORDER BY d.vehicle",
    [ST_DEPLOY_LIST_STATE] = "SELECT " DEPLOY_COLS " WHERE d.campaign = $1 AND d.vehicle > $2 "
                             "AND d.state = $3 ORDER BY d.vehicle",
    /* A fetchable deployment first: a vehicle in a finished campaign and a paused one of
     * the same artifact may fetch it. */
    [ST_DEPLOY_FETCHABLE] = "SELECT (c.state = 'paused' AND d.state = 'pending')::int FROM "
                            "deployments d JOIN campaigns c ON c.id = d.campaign WHERE "
                            "d.vehicle = $1 AND c.artifact = $2 AND d.state <> 'cancelled' AND "
                            "c.state IN ('running', 'paused', 'finished') AND NOT (c.state = "
                            "'running' AND " HELD ") ORDER BY 1 LIMIT 1",
    [ST_DEPLOY_FAILURES] = "SELECT detail, count(*) FROM deployments WHERE campaign = $1 AND "
                           "state = 'failed' GROUP BY detail ORDER BY 2 DESC, 1 LIMIT nullif($2::bigint, -1)",
    [ST_OUTBOX_INSERT] = "INSERT INTO outbox (vehicle, campaign, topic, payload_id, retain, state, "
                         "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    /* The partial index outbox_due (id, next_attempt_at) WHERE state = 'pending' holds
     * only pending rows, in id order: no sort, published rows never walked, and
     * next_attempt_at filtered in the index. */
    [ST_OUTBOX_DUE] = "SELECT " OUTBOX_COLS " FROM outbox o WHERE "
                      "o.state = 'pending' AND o.id > $2 AND o.next_attempt_at <= $1 "
                      "ORDER BY o.id LIMIT nullif($3::bigint, -1)",
    /* The partial index outbox_deferred (schema 004) holds only the rows a retry put
     * off: the notifier's start-up reads those, not every pending row. */
    [ST_OUTBOX_DEFERRED] = "SELECT " OUTBOX_COLS " FROM outbox o "
                           "WHERE o.state = 'pending' AND o.next_attempt_at > 0 AND o.id > $2 "
                           "AND o.next_attempt_at > $1 ORDER BY o.id LIMIT nullif($3::bigint, -1)",
    [ST_OUTBOX_RETRY] = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 "
                        "WHERE id = $1",
    /* "state <> 'published'" lets the partial index outbox_campaign serve it */
    [ST_OUTBOX_DROP_CAMPAIGN] = "UPDATE outbox SET state = 'dropped' WHERE campaign = $1 AND "
                                "state IN ('held', 'pending') AND state <> 'published'",
    [ST_OUTBOX_DROP_VEHICLE] = "UPDATE outbox SET state = 'dropped' WHERE vehicle = $1 AND "
                               "state IN ('held', 'pending')",
    /* Unsent rows from the partial index; published ones as the rest of the row count (an
     * index walk that counts cells per page), not by reading every row. */
    [ST_OUTBOX_COUNTS] = "SELECT state, count(*) FROM outbox WHERE state <> 'published' GROUP "
                         "BY state UNION ALL SELECT 'published', (SELECT count(*) FROM outbox) - "
                         "(SELECT count(*) FROM outbox WHERE state <> 'published')",
    /* ota-notifier's gauges: index-only counts of the partial indexes, no sort */
    [ST_OUTBOX_UNSENT] = "SELECT (SELECT count(*) FROM outbox WHERE state = "
                         "'pending'), (SELECT count(*) FROM outbox WHERE state = 'held' AND "
                         "state <> 'published')",
    [ST_OUTBOX_LIST] = "SELECT " OUTBOX_COLS OUTBOX_LIST_FROM " WHERE o.vehicle = $1 ORDER BY o.id",
    [ST_OUTBOX_LIST_ALL] = "SELECT " OUTBOX_COLS OUTBOX_LIST_FROM " ORDER BY o.id",
    /* Per vehicle, its newest published retained message again, unless a newer one is
     * pending anyway ($2: not the empty clearing ones). One pass, whatever the fleet. The
     * copy shares the original's payload row. */
    [ST_OUTBOX_REQUEUE] = "INSERT INTO outbox (vehicle, campaign, topic, payload_id, retain, "
                          "state, created_at) SELECT o.vehicle, o.campaign, o.topic, "
                          "o.payload_id, 1, 'pending', $1 FROM outbox o WHERE o.id IN (SELECT "
                          "max(id) FROM outbox WHERE state = 'published' AND retain = 1 GROUP BY "
                          "vehicle) AND "
                          "($2::int = 0 OR o.payload_id IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM "
                          "outbox p WHERE p.vehicle = o.vehicle AND p.state = 'pending' AND "
                          "p.id > o.id) ORDER BY o.id",
    /* through the partial index outbox_campaign (campaign, state): rowid order */
    [ST_OUTBOX_RELEASE_HELD] = "UPDATE outbox SET state = 'pending' WHERE id IN (SELECT id "
                               "FROM outbox WHERE campaign = $1 AND state = 'held' AND state "
                               "<> 'published' ORDER BY id LIMIT nullif($2::bigint, -1))",
    /* per running campaign (a few), one probe of the partial index outbox_campaign:
     * not a walk of every unsent row */
    [ST_OUTBOX_HELD_RUNNING] = "SELECT c.id FROM campaigns c WHERE c.state = 'running' AND "
                               "c.updated_at <= $1 AND EXISTS (SELECT 1 FROM outbox o WHERE "
                               "o.campaign = c.id AND o.state = 'held' AND o.state <> "
                               "'published') ORDER BY c.id LIMIT 1",
    [ST_OUTBOX_PAYLOAD_ADD] = "INSERT INTO outbox_payloads (body) VALUES ($1) RETURNING id",
    [ST_OUTBOX_PAYLOAD_GET] = "SELECT body FROM outbox_payloads WHERE id = $1",
    [ST_OUTBOX_CLEAR_PENDING] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, "
                                "state, created_at) SELECT d.vehicle, d.campaign, NULL, 1, "
                                "'pending', $2 FROM deployments d WHERE d.campaign = $1 AND "
                                "d.state = 'pending' AND d.stage <= (SELECT stage_open FROM "
                                "campaigns WHERE id = $1) ORDER BY d.vehicle",
    [ST_OUTBOX_CLEAR_UNFINISHED] = "INSERT INTO outbox (vehicle, campaign, payload_id, retain, "
                                   "state, created_at) SELECT d.vehicle, d.campaign, NULL, 1, "
                                   "'pending', $2 FROM deployments d WHERE d.campaign = $1 AND "
                                   UNFINISHED " AND (d.state <> 'pending' OR d.stage <= (SELECT "
                                   "stage_open FROM campaigns WHERE id = $1)) ORDER BY d.vehicle",
    /* A run of acknowledged ids: the narrow rows of one or two pages rewritten, and their
     * entries deleted from the two partial indexes; nothing inserted into an index. NOT
     * INDEXED: walk the rowid range; through outbox_due, which the update shrinks, SQLite
     * would collect the rowids first and then update them (two passes). */
    /* OR FAIL: the row's CHECK cannot fail here, and without ABORT's undo SQLite needs
     * no statement journal, whose savepoint cost grew with the database (12 % of the
     * notifier's CPU at a million rows). */
    [ST_OUTBOX_MARK_RANGE] = "UPDATE outbox SET state = 'published', "
                             "published_at = $3 WHERE id BETWEEN $1 AND $2 AND state = "
                             "'pending'",
    [ST_EVENT_ADD] = "INSERT INTO events (ts, actor, kind, vehicle, campaign, state, bytes, "
                     "detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    /* $3 kind: exact, or a prefix when it ends in '.'; $6 newest N (-1 all), in id order */
    [ST_EVENT_LIST] = "SELECT * FROM (SELECT id, ts, actor, kind, vehicle, coalesce(campaign, "
                      "0), state, coalesce(bytes, -1), detail FROM events WHERE ($1::bigint = 0 OR "
                      "campaign = $1) AND ($2::text IS NULL OR vehicle = $2) AND ($3::text IS NULL OR kind = "
                      "$3 OR (right($3, 1) = '.' AND left(kind, length($3)) = $3)) AND "
                      "ts >= $4 ORDER BY id DESC LIMIT nullif($5::bigint, -1)) AS e ORDER BY id",
};
