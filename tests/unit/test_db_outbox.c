/* Unit tests for the outbox of schema 002: migration 001 -> 002 keeps every row and body,
 * shared payload rows, range marks, the set-based campaign start inserts. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sqlite3.h> /* only to build a version-1 database and look at raw tables */
#include "ota_test.h"
#include "ota_db.h"
#include "ota_schema.h"
#include "ota_test_db.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char dir[] = "/tmp/ota-test-dbout-XXXXXX";

/* The database of case @name, on the backend the test runs on (ota_test_db.h). */
static char where[512];

static struct ota_db *open_fresh(const char *name)
{
    char *path = where;
    struct ota_db *db = NULL;

    ota_test_db_where(dir, name, where, sizeof(where));
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_FATAL(ota_db_migrate(db) == 0);
    return db;
}

static void add_artifact(struct ota_db *db)
{
    struct ota_artifact a = { .size = 10,
                              .name = "fw.bin",
                              .version = "1.0",
                              .hw = "",
                              .signature = "sig",
                              .created_at = 1 };

    memcpy(a.sha256, SHA_A, 65);
    memset(a.sha1, '1', 40);
    memset(a.md5, '5', 32);
    CHECK_INT(ota_db_artifact_insert(db, &a), 0);
}

/* One SQL statement on a raw handle, for the version-1 fixture and raw checks. */
static void raw_exec(sqlite3 *h, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sql failed: %s: %s\n", sql, msg ? msg : "?");
        ota_test_failures++;
    }
    sqlite3_free(msg);
}

static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;

    if (sqlite3_open(path, &h) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "raw query failed: %s: %s\n", sql, h ? sqlite3_errmsg(h) : "?");
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* ---- migration 001 -> 002 ------------------------------------------------------------- */

/* Rows of a version-1 outbox: every kind the old schema could hold. */
static const struct v1_row {
    long long id;
    const char *vehicle;
    long long campaign; /* 0: NULL */
    const char *topic;
    const char *payload;
    int retain;
    const char *state;
    int attempts;
    long long next_attempt_at;
    long long created_at;
    long long published_at; /* 0: NULL */
} v1_rows[] = {
    { 3, "V1", 1, "vehicles/V1/update", "{\"campaign\":1,\"x\":\"shared\"}", 1, "published", 0, 0,
      100, 110 },
    { 4, "V2", 1, "vehicles/V2/update", "{\"campaign\":1,\"x\":\"shared\"}", 1, "pending", 2, 5000,
      100, 0 },
    { 5, "V3", 1, "vehicles/V3/update", "{\"campaign\":1,\"x\":\"shared\"}", 1, "held", 0, 0, 100,
      0 },
    { 7, "V1", 0, "vehicles/V1/update", "", 1, "pending", 0, 0, 120, 0 },
    { 9, "V2", 0, "custom/topic/for-V2", "{\"other\":true}", 0, "dropped", 1, 0, 130, 0 },
    { 12, "V3", 1, "vehicles/V3/update", "{\"campaign\":1,\"x\":\"shared\"}", 1, "pending", 0, 0,
      140, 0 },
    { 13, "V3", 0, "vehicles/V3/update", "", 1, "published", 0, 0, 150, 160 },
};
#define V1_ROWS (sizeof(v1_rows) / sizeof(v1_rows[0]))

static void make_v1_db(const char *path)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;

    CHECK_FATAL(sqlite3_open(path, &h) == SQLITE_OK);
    raw_exec(h, "PRAGMA journal_mode = WAL");
    raw_exec(h, "BEGIN");
    raw_exec(h, ota_schema_sqlite[0]);
    raw_exec(h, "PRAGMA user_version = 1");
    raw_exec(h, "INSERT INTO vehicles (id, created_at) VALUES ('V1', 1), ('V2', 1), ('V3', 1)");
    raw_exec(h, "INSERT INTO artifacts VALUES ('" SHA_A
                "', '1111111111111111111111111111111111111111', "
                "'55555555555555555555555555555555', 10, 'fw', '1', '', 'sig', 1)");
    raw_exec(h, "INSERT INTO campaigns (id, name, artifact, target_kind, state, created_at, "
                "updated_at) VALUES (1, 'c1', '" SHA_A "', 'all', 'running', 1, 1)");
    CHECK_FATAL(sqlite3_prepare_v2(h,
                                   "INSERT INTO outbox (id, vehicle, campaign, topic, payload, "
                                   "retain, state, attempts, next_attempt_at, created_at, "
                                   "published_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                                   "?10, ?11)",
                                   -1, &st, NULL) == SQLITE_OK);
    for (size_t i = 0; i < V1_ROWS; i++) {
        const struct v1_row *r = &v1_rows[i];

        sqlite3_bind_int64(st, 1, r->id);
        sqlite3_bind_text(st, 2, r->vehicle, -1, SQLITE_STATIC);
        if (r->campaign)
            sqlite3_bind_int64(st, 3, r->campaign);
        else
            sqlite3_bind_null(st, 3);
        sqlite3_bind_text(st, 4, r->topic, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, r->payload, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, r->retain);
        sqlite3_bind_text(st, 7, r->state, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 8, r->attempts);
        sqlite3_bind_int64(st, 9, r->next_attempt_at);
        sqlite3_bind_int64(st, 10, r->created_at);
        if (r->published_at)
            sqlite3_bind_int64(st, 11, r->published_at);
        else
            sqlite3_bind_null(st, 11);
        CHECK_INT(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    raw_exec(h, "COMMIT");
    sqlite3_close(h);
}

struct seen_rows {
    struct ota_outbox_row row[16];
    char topic[16][64];
    char payload[16][64];
    int n;
};

static int seen_cb(const struct ota_outbox_row *r, void *ctx)
{
    struct seen_rows *s = ctx;

    if (s->n < 16) {
        s->row[s->n] = *r;
        snprintf(s->topic[s->n], sizeof(s->topic[0]), "%s", r->topic ? r->topic : "(null)");
        snprintf(s->payload[s->n], sizeof(s->payload[0]), "%s", r->payload ? r->payload : "(null)");
        s->row[s->n].topic = NULL; /* borrowed: only valid during the call */
        s->row[s->n].payload = NULL;
    }
    s->n++;
    return 0;
}

static const char *const state_names[] = { "held", "pending", "published", "dropped" };

/* The rows of the outbox (of @vehicle when not NULL), bodies included, through seen_cb. */
static int list_rows(struct ota_db *db, const char *vehicle, struct seen_rows *s)
{
    const struct ota_outbox_row *r;
    struct ota_db_iter it;
    int rc = ota_db_outbox_list_begin(db, vehicle, &it);

    while (rc == 0 && (rc = ota_db_outbox_next(&it, &r)) > 0)
        rc = seen_cb(r, s);
    ota_db_iter_end(&it);
    return rc;
}

/* The due scan (no bodies), through seen_cb. */
/* Pending rows after @after into @s: due at @now, or with @deferred the ones a retry put
 * off past it (ota-notifier's start-up). */
static int scan_rows(struct ota_db *db, bool deferred, int64_t now, int64_t after,
                     unsigned limit, struct seen_rows *s)
{
    const struct ota_outbox_row *r;
    struct ota_db_iter it;
    int rc = deferred ? ota_db_outbox_deferred_begin(db, now, after, limit, &it)
                      : ota_db_outbox_due_begin(db, now, after, limit, &it);

    while (rc == 0 && (rc = ota_db_outbox_next(&it, &r)) > 0)
        rc = seen_cb(r, s);
    ota_db_iter_end(&it);
    return rc;
}

static int due_rows(struct ota_db *db, int64_t now, int64_t after, unsigned limit,
                    struct seen_rows *s)
{
    return scan_rows(db, false, now, after, limit, s);
}

static int deferred_rows(struct ota_db *db, int64_t now, int64_t after, unsigned limit,
                         struct seen_rows *s)
{
    return scan_rows(db, true, now, after, limit, s);
}

static void test_migrate_v1(void)
{
    char path[256];
    struct ota_db *db = NULL;
    struct seen_rows s = { 0 };

    snprintf(path, sizeof(path), "%s/v1.db", dir);
    make_v1_db(path);
    CHECK_INT(ota_db_open(path, 0, &db), 0);
    CHECK_FATAL(db != NULL);
    CHECK_INT(ota_db_check_schema(db), -ESTALE); /* daemons refuse, they never migrate */
    CHECK_INT(ota_db_migrate(db), 0);
    CHECK_INT(ota_db_check_schema(db), 0);
    CHECK_INT(ota_schema_sqlite_version, 6);

    /* Every row, field by field, as it was. */
    CHECK_INT(list_rows(db, NULL, &s), 0);
    CHECK_INT(s.n, (int)V1_ROWS);
    for (int i = 0; i < s.n && i < (int)V1_ROWS; i++) {
        const struct v1_row *w = &v1_rows[i];
        const struct ota_outbox_row *g = &s.row[i];

        CHECK_INT(g->id, w->id);
        CHECK_STR(g->vehicle, w->vehicle);
        CHECK_INT(g->campaign, w->campaign);
        CHECK_STR(s.topic[i], w->topic);
        CHECK_STR(s.payload[i], w->payload ? w->payload : ""); /* (gcc -O2 + ASan: "may be null") */
        CHECK_INT(g->payload_len, strlen(w->payload));
        CHECK_INT(g->payload_id == 0, w->payload[0] == '\0');
        CHECK_INT(g->retain, w->retain);
        CHECK_STR(state_names[g->state & 3], w->state);
        CHECK_INT(g->attempts, w->attempts);
        CHECK_INT(g->next_attempt_at, w->next_attempt_at);
        CHECK_INT(g->published_at, w->published_at);
    }
    /* Rows of one campaign body share one payload row; the empty message has none. */
    CHECK_INT(s.row[0].payload_id, s.row[1].payload_id);
    CHECK_INT(s.row[0].payload_id, s.row[5].payload_id);
    CHECK(s.row[4].payload_id != s.row[0].payload_id);
    ota_db_close(db);
    CHECK_INT(raw_int(path, "SELECT count(*) FROM outbox_payloads"), 2);
    CHECK_INT(raw_int(path, "SELECT count(*) FROM outbox WHERE topic IS NOT NULL"), 1);
    CHECK_INT(raw_int(path, "SELECT count(*) FROM outbox_messages"), V1_ROWS);
    CHECK_INT(raw_int(path, "SELECT count(*) FROM outbox_messages WHERE topic = "
                            "'custom/topic/for-V2' AND payload = '{\"other\":true}'"),
              1);
    CHECK_INT(raw_int(path, "PRAGMA user_version"), 6);
    CHECK_INT(raw_int(path, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    CHECK_INT(raw_int(path, "SELECT count(*) FROM pragma_integrity_check WHERE "
                            "integrity_check <> 'ok'"),
              0);

    /* The migrated rows work as before: due in id order (4 deferred until 5000), marks. */
    CHECK_INT(ota_db_open(path, 0, &db), 0);
    CHECK_INT(ota_db_check_schema(db), 0);
    memset(&s, 0, sizeof(s));
    CHECK_INT(due_rows(db, 1000, 0, 10, &s), 0);
    CHECK_INT(s.n, 2);
    CHECK_INT(s.row[0].id, 7);
    CHECK_INT(s.row[1].id, 12);
    CHECK_STR(s.payload[0], "(null)"); /* the due scan reads no body */
    CHECK_STR(s.topic[1], "vehicles/V3/update");
    memset(&s, 0, sizeof(s));
    CHECK_INT(due_rows(db, 6000, 0, 10, &s), 0);
    CHECK_INT(s.n, 3);
    CHECK_INT(s.row[0].id, 4);
    /* deferred: exactly the one put off past now, and none once its time came */
    memset(&s, 0, sizeof(s));
    CHECK_INT(deferred_rows(db, 1000, 0, 10, &s), 0);
    CHECK_INT(s.n, 1);
    CHECK_INT(s.row[0].id, 4);
    CHECK_INT(s.row[0].next_attempt_at, 5000);
    memset(&s, 0, sizeof(s));
    CHECK_INT(deferred_rows(db, 1000, 4, 10, &s), 0);
    CHECK_INT(s.n, 0);
    CHECK_INT(deferred_rows(db, 5000, 0, 10, &s), 0);
    CHECK_INT(s.n, 0);
    ota_db_close(db);
}

/* ---- payloads, range marks ---------------------------------------------------------- */

static int64_t add_row(struct ota_db *db, const char *vehicle, const char *payload,
                       enum ota_outbox_state state)
{
    int64_t id = 0;

    CHECK_INT(ota_db_outbox_insert(db, vehicle, 0, NULL, payload, true, state, 1, &id), 0);
    return id;
}

static const char *state_of(struct ota_db *db, int64_t id)
{
    struct seen_rows s = { 0 };

    CHECK_INT(list_rows(db, NULL, &s), 0);
    for (int i = 0; i < s.n && i < 16; i++)
        if (s.row[i].id == id)
            return state_names[s.row[i].state & 3];
    return "missing";
}

static void test_payloads_and_marks(void)
{
    struct ota_db *db = open_fresh("marks.db");
    int64_t id[8];
    uint64_t n = 99;
    char *body = NULL;
    size_t len = 0;
    struct seen_rows s = { 0 };

    CHECK_INT(ota_db_vehicle_add(db, "V1", "", "", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V2", "", "", NULL), 0);
    id[0] = add_row(db, "V1", "a", OTA_OUTBOX_PENDING);
    id[1] = add_row(db, "V2", "b", OTA_OUTBOX_PENDING);
    id[2] = add_row(db, "V1", "c", OTA_OUTBOX_HELD);
    id[3] = add_row(db, "V2", "", OTA_OUTBOX_PENDING);
    id[4] = add_row(db, "V1", "e", OTA_OUTBOX_DROPPED);
    id[5] = add_row(db, "V2", "f", OTA_OUTBOX_PENDING);
    id[6] = add_row(db, "V1", "g", OTA_OUTBOX_PENDING);
    for (int i = 1; i < 7; i++)
        CHECK_INT(id[i], id[i - 1] + 1);

    /* Bodies by id; 0 is the empty message. */
    CHECK_INT(list_rows(db, NULL, &s), 0);
    CHECK_INT(s.n, 7);
    CHECK_INT(s.row[3].payload_id, 0);
    CHECK_STR(s.topic[3], "vehicles/V2/update");
    CHECK_INT(ota_db_outbox_payload_get(db, s.row[1].payload_id, &body, &len), 0);
    CHECK_STR(body, "b");
    CHECK_INT(len, 1);
    free(body);
    CHECK_INT(ota_db_outbox_payload_get(db, 0, &body, &len), 0);
    CHECK_STR(body, "");
    CHECK_INT(len, 0);
    free(body);
    CHECK_INT(ota_db_outbox_payload_get(db, 999, &body, &len), -ENOENT);

    /* A range marks exactly its pending rows: not the held or dropped ones inside it,
     * nothing outside it. */
    CHECK_INT(ota_db_outbox_mark_range(db, id[1], id[5], 7, &n), 0);
    CHECK_INT(n, 3); /* id[1], id[3], id[5] */
    CHECK_STR(state_of(db, id[0]), "pending");
    CHECK_STR(state_of(db, id[1]), "published");
    CHECK_STR(state_of(db, id[2]), "held");
    CHECK_STR(state_of(db, id[3]), "published");
    CHECK_STR(state_of(db, id[4]), "dropped");
    CHECK_STR(state_of(db, id[5]), "published");
    CHECK_STR(state_of(db, id[6]), "pending");
    memset(&s, 0, sizeof(s));
    CHECK_INT(list_rows(db, "V2", &s), 0);
    CHECK_INT(s.n, 3);
    CHECK_INT(s.row[0].published_at, 7);
    /* Marking again changes nothing; a single id is a range of one. */
    CHECK_INT(ota_db_outbox_mark_range(db, id[1], id[5], 8, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(ota_db_outbox_mark_range(db, id[6], id[6], 8, &n), 0);
    CHECK_INT(n, 1);
    CHECK_STR(state_of(db, id[0]), "pending");
    CHECK_INT(ota_db_outbox_mark_range(db, id[6], id[5], 8, NULL), -EINVAL);
    CHECK_INT(ota_db_outbox_mark_range(db, 0, id[5], 8, NULL), -EINVAL);
    /* The due scan no longer sees published rows. */
    memset(&s, 0, sizeof(s));
    CHECK_INT(due_rows(db, 10, 0, 10, &s), 0);
    CHECK_INT(s.n, 1);
    CHECK_INT(s.row[0].id, id[0]);
    {
        uint64_t counts[4];

        CHECK_INT(ota_db_outbox_counts(db, counts), 0);
        CHECK_INT(counts[OTA_OUTBOX_PENDING], 1);
        CHECK_INT(counts[OTA_OUTBOX_PUBLISHED], 4);
        CHECK_INT(counts[OTA_OUTBOX_HELD], 1);
        CHECK_INT(counts[OTA_OUTBOX_DROPPED], 1);
        CHECK_INT(ota_db_outbox_unsent(db, &counts[0], &counts[1]), 0);
        CHECK_INT(counts[0], 1); /* pending */
        CHECK_INT(counts[1], 1); /* held */
    }
    /* An explicit topic is kept as given. */
    {
        int64_t x = 0;

        CHECK_INT(ota_db_outbox_insert(db, "V1", 0, "elsewhere/V1", "z", false, OTA_OUTBOX_PENDING,
                                       1, &x),
                  0);
        memset(&s, 0, sizeof(s));
        CHECK_INT(due_rows(db, 10, id[6], 10, &s), 0);
        CHECK_INT(s.n, 1);
        CHECK_STR(s.topic[0], "elsewhere/V1");
        CHECK_INT(s.row[0].retain, 0);
    }
    ota_db_close(db);
}

/* ---- campaign start: set-based inserts ------------------------------------------------ */

/* The target set a campaign of @kind/@target gathers (nothing written). */
static uint64_t gather(struct ota_db *db, enum ota_target_kind kind, const char *target)
{
    struct ota_campaign c = { .target_kind = kind, .target = (char *)target };
    char bad[OTA_ID_MAX + 1];
    uint64_t n = 0;

    CHECK_INT(ota_db_targets_gather(db, &c, &n, bad), 0);
    return n;
}

static void test_campaign_inserts(void)
{
    struct ota_db *db = open_fresh("start.db");
    struct seen_rows s = { 0 };
    int64_t cid = 0;
    uint64_t n = 0, installed = 0, pending = 0;
    char bad[OTA_ID_MAX + 1], cursor[OTA_ID_MAX + 1];

    add_artifact(db);
    /* Inserted out of id order: deployments and rows still go in vehicle id order. */
    CHECK_INT(ota_db_vehicle_add(db, "V3", "m1", "g1", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V1", "m1", "g1", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V2", "m2", "g1", "{\"hw\":\"r2\"}"), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V4", "m1", "g2", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V5", "m1", "g1", NULL), 0);
    CHECK_INT(ota_db_vehicle_set_revoked(db, "V5", true), 0);

    /* what each kind selects: active vehicles only */
    CHECK_INT(gather(db, OTA_TARGET_MODEL, "m1"), 3); /* V1 V3 V4 */
    CHECK_INT(gather(db, OTA_TARGET_ALL, ""), 4);
    CHECK_INT(gather(db, OTA_TARGET_ATTRIBUTES, "{\"hw\":\"r2\"}"), 1);
    CHECK_INT(gather(db, OTA_TARGET_VEHICLES, "V1,V2,V1"), 2);
    {
        struct ota_campaign c = { .target_kind = OTA_TARGET_VEHICLES, .target = "V1,V5" };
        CHECK_INT(ota_db_targets_gather(db, &c, &n, bad), -EINVAL);
        CHECK_STR(bad, "V5");
    }

    CHECK_INT(ota_db_campaign_insert(db, "g", SHA_A, OTA_TARGET_GROUP, "g1", 1, &cid), 0);
    CHECK_INT(gather(db, OTA_TARGET_GROUP, "g1"), 3); /* V1 V2 V3; V5 is revoked, V4 in g2 */
    cursor[0] = '\0';
    CHECK_INT(ota_db_targets_next_batch(db, cid, cursor, 100, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(ota_test_deploy(db, cid, SHA_A, 5, &installed, &pending), 0);
    CHECK_INT(pending, 3);
    CHECK_INT(installed, 0);
    /* the announce job (resume, a stage opening): batches of two, after a cursor */
    CHECK_INT(ota_db_campaign_set_state(db, cid, OTA_CAMPAIGN_RUNNING, 6), 0);
    CHECK_INT(ota_db_campaign_announce_request(db, cid, 0), 0);
    {
        struct ota_campaign *c = NULL;
        int64_t pid = 0;
        uint64_t total = 0;
        bool done = false;

        CHECK_INT(ota_db_outbox_payload_add(db, "{\"body\":1}", &pid), 0);
        for (int b = 0; b < 5 && !done; b++) {
            CHECK_INT(ota_db_campaign_get(db, cid, &c), 0);
            CHECK(c->announce_due);
            CHECK_INT(ota_db_campaign_announce_batch(db, c, pid, 2, 6, &n, &done), 0);
            CHECK_INT(n, b == 0 ? 2 : 1);
            total += n;
            ota_campaign_free(c);
        }
        CHECK(done);
        CHECK_INT(total, 3);
        CHECK_INT(ota_db_campaign_get(db, cid, &c), 0);
        CHECK(!c->announce_due);
        ota_campaign_free(c);
    }
    CHECK_INT(due_rows(db, 10, 0, 10, &s), 0);
    CHECK_INT(s.n, 3);
    CHECK_STR(s.row[0].vehicle, "V1");
    CHECK_STR(s.row[1].vehicle, "V2");
    CHECK_STR(s.row[2].vehicle, "V3");
    CHECK_STR(s.topic[2], "vehicles/V3/update");
    CHECK_INT(s.row[0].campaign, cid);
    CHECK(s.row[0].retain);
    CHECK_INT(s.row[1].id, s.row[0].id + 1);
    CHECK(s.row[0].payload_id > 0);
    CHECK_INT(s.row[1].payload_id, s.row[0].payload_id);
    CHECK_INT(s.row[2].payload_id, s.row[0].payload_id);
    {
        char *body = NULL;
        size_t len = 0;

        CHECK_INT(ota_db_outbox_payload_get(db, s.row[2].payload_id, &body, &len), 0);
        CHECK_STR(body, "{\"body\":1}");
        free(body);
    }
    /* the same targets again: one unfinished deployment per vehicle */
    CHECK_INT(ota_test_deploy(db, cid, SHA_A, 5, &installed, &pending), -EEXIST);
    ota_db_close(db);
    CHECK_INT(ota_test_sql_int(where, "SELECT count(*) FROM outbox_payloads"), 1);
    CHECK_INT(ota_test_sql_int(where, "SELECT count(*) FROM deployments"), 3);
    CHECK_INT(ota_test_sql_int(where, "SELECT n_pending FROM campaigns"), 3);
}

/* A start in batches: the batches' messages are held (not due) until released, which
 * happens oldest first, a limit at a time, and only while the campaign runs. */
static void test_start_held(void)
{
    struct ota_db *db = open_fresh("held.db");
    struct seen_rows s = { 0 };
    int64_t cid = 0, pid = 0, running = 0;
    uint64_t n = 0, installed = 0, pending = 0, total = 0;
    char cursor[OTA_ID_MAX + 1] = "";

    add_artifact(db);
    CHECK_INT(ota_db_vehicle_add(db, "V2", "", "", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V1", "", "", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V3", "", "", NULL), 0);
    CHECK_INT(ota_db_campaign_insert(db, "h", SHA_A, OTA_TARGET_ALL, "", 1, &cid), 0);
    CHECK_INT(gather(db, OTA_TARGET_ALL, ""), 3);
    CHECK_INT(ota_db_campaign_set_state(db, cid, OTA_CAMPAIGN_STARTING, 2), 0);
    CHECK_INT(ota_db_outbox_payload_add(db, "{\"h\":1}", &pid), 0);
    while (ota_db_targets_next_batch(db, cid, cursor, 2, &n) == 0 && n > 0) {
        CHECK_INT(ota_test_deploy(db, cid, SHA_A, 3, &installed, &pending), 0);
        CHECK_INT(ota_db_targets_announce_held(db, cid, pid, 0, 3, &n), 0);
        total += n;
    }
    CHECK_INT(total, 3);
    /* gathered again (a resumed start): nothing left to deploy */
    CHECK_INT(gather(db, OTA_TARGET_ALL, ""), 3);
    cursor[0] = '\0';
    CHECK_INT(ota_db_targets_next_batch(db, cid, cursor, 2, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(due_rows(db, 10, 0, 10, &s), 0);
    CHECK_INT(s.n, 0);
    /* not running yet: nothing to release */
    CHECK_INT(ota_db_outbox_held_running(db, 100, &running), -ENOENT);
    CHECK_INT(ota_db_campaign_set_state(db, cid, OTA_CAMPAIGN_RUNNING, 4), 0);
    /* running since 4: not yet when asked for campaigns running since 3 or earlier */
    CHECK_INT(ota_db_outbox_held_running(db, 3, &running), -ENOENT);
    CHECK_INT(ota_db_outbox_held_running(db, 100, &running), 0);
    CHECK_INT(running, cid);
    CHECK_INT(ota_db_outbox_release_held(db, cid, 2, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(due_rows(db, 10, 0, 10, &s), 0);
    CHECK_INT(s.n, 2);
    CHECK_STR(s.row[0].vehicle, "V1");
    CHECK_STR(s.row[1].vehicle, "V2");
    CHECK_INT(ota_db_outbox_release_held(db, cid, 2, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(ota_db_outbox_held_running(db, 100, &running), -ENOENT);
    memset(&s, 0, sizeof(s));
    CHECK_INT(due_rows(db, 10, 0, 10, &s), 0);
    CHECK_INT(s.n, 3);
    CHECK_INT(s.row[2].payload_id, pid);
    ota_db_close(db);
}

int main(void)
{
    CHECK_FATAL(mkdtemp(dir) != NULL);
    if (!ota_test_pg()) /* SQLite's migration chain; PostgreSQL starts at schema 006 */
        test_migrate_v1();
    test_payloads_and_marks();
    test_campaign_inserts();
    test_start_held();
    {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        CHECK_INT(system(cmd), 0);
    }
    TEST_DONE();
}
