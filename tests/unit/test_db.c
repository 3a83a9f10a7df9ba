/* Unit tests for ota_db and ota_status on a temp database file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "ota_test.h"
#include "ota_db.h"
#include "ota_status.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char dir[] = "/tmp/ota-test-db-XXXXXX";

static struct ota_db *open_fresh(const char *name)
{
    char path[256];
    struct ota_db *db = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_FATAL(ota_db_migrate(db) == 0);
    return db;
}

static void add_artifact(struct ota_db *db, const char *sha)
{
    struct ota_artifact a = { .size = 10, .name = "fw.bin", .version = "1.0", .hw = "",
                              .signature = "sig", .created_at = 1 };

    memcpy(a.sha256, sha, 65);
    memset(a.sha1, '1', 40);
    memset(a.md5, '5', 32);
    CHECK_INT(ota_db_artifact_insert(db, &a), 0);
}

static int count_cb(const void *row, void *ctx)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static void test_open_errors(void)
{
    char path[256];
    struct ota_db *db = NULL;
    int fd;

    snprintf(path, sizeof(path), "%s/missing.db", dir);
    CHECK_INT(ota_db_open(path, 0, &db), -ENOENT);
    snprintf(path, sizeof(path), "%s/garbage.db", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK_FATAL(fd >= 0);
    for (int i = 0; i < 64; i++)
        CHECK_FATAL(write(fd, "this is not a database, just text!", 34) == 34);
    close(fd);
    CHECK_INT(ota_db_open(path, 0, &db), -EIO);
    CHECK(db == NULL);
    /* A database without our schema is refused by the daemons' check. */
    snprintf(path, sizeof(path), "%s/empty.db", dir);
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_INT(ota_db_check_schema(db), -ESTALE);
    CHECK_INT(ota_db_vehicle_add(db, "V1", "", ""), -EIO); /* nothing prepared */
    CHECK_INT(ota_db_migrate(db), 0);
    CHECK_INT(ota_db_migrate(db), 0); /* idempotent */
    CHECK_INT(ota_db_check_schema(db), 0);
    ota_db_close(db);
}

static void test_clients(struct ota_db *db)
{
    struct ota_vehicle *v = NULL;
    struct ota_edge e;
    enum ota_client_kind kind;
    int n = 0;

    CHECK_INT(ota_db_vehicle_add(db, "V1", "m1", "g1"), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V2", "m1", "g2"), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V3", "m2", "g1"), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V1", "", ""), -EEXIST);
    CHECK_INT(ota_db_edge_add(db, "E1"), 0);
    CHECK_INT(ota_db_edge_add(db, "V1"), -EEXIST);
    CHECK_INT(ota_db_vehicle_add(db, "E1", "", ""), -EEXIST);
    CHECK_INT(ota_db_vehicle_get(db, "V1", &v), 0);
    CHECK_STR(v->model, "m1");
    CHECK_STR(v->group, "g1");
    CHECK_STR(v->attributes, "{}");
    CHECK(!v->revoked);
    ota_vehicle_free(v);
    CHECK_INT(ota_db_vehicle_get(db, "nope", &v), -ENOENT);
    CHECK_INT(ota_db_vehicle_list(db, (int (*)(const struct ota_vehicle *, void *))count_cb, &n),
              0);
    CHECK_INT(n, 3);
    CHECK_INT(ota_db_client_lookup(db, "V1", &kind, NULL), 0);
    CHECK_INT(kind, OTA_CLIENT_VEHICLE);
    CHECK_INT(ota_db_client_lookup(db, "E1", &kind, NULL), 0);
    CHECK_INT(kind, OTA_CLIENT_EDGE);
    CHECK_INT(ota_db_client_lookup(db, "X", &kind, NULL), -ENOENT);
    CHECK_INT(ota_db_vehicle_add(db, "V9", "", ""), 0);
    CHECK_INT(ota_db_vehicle_revoke(db, "V9"), 0);
    CHECK_INT(ota_db_client_lookup(db, "V9", &kind, NULL), -EACCES);
    CHECK_INT(ota_db_vehicle_revoke(db, "nope"), -ENOENT);
    CHECK_INT(ota_db_edge_revoke(db, "E1"), 0);
    CHECK_INT(ota_db_edge_get(db, "E1", &e), 0);
    CHECK(e.revoked);
    CHECK_INT(ota_db_client_lookup(db, "E1", &kind, NULL), -EACCES);
    CHECK_INT(ota_db_vehicle_set_attributes(db, "V1", "{\"hw\":\"r2\"}"), 0);
    CHECK_INT(ota_db_vehicle_set_attributes(db, "nope", "{}"), -ENOENT);
}

struct targets {
    char ids[8][OTA_ID_MAX + 1];
    bool active[8];
    int n;
};

static int target_cb(const char *id, bool active, void *ctx)
{
    struct targets *t = ctx;

    if (t->n < 8) {
        snprintf(t->ids[t->n], sizeof(t->ids[0]), "%s", id);
        t->active[t->n] = active;
    }
    t->n++;
    return 0;
}

static void test_campaigns(struct ota_db *db)
{
    struct ota_campaign *c = NULL;
    struct targets t = { 0 };
    int64_t id = 0, id2 = 0;

    add_artifact(db, SHA_A);
    add_artifact(db, SHA_B);
    CHECK_INT(ota_db_campaign_insert(db, "c1", SHA_A, OTA_TARGET_GROUP, "g1", 100, &id), 0);
    CHECK_INT(ota_db_campaign_insert(db, "c1", SHA_A, OTA_TARGET_ALL, "", 100, &id2), -EEXIST);
    CHECK_INT(ota_db_campaign_insert(db, "c2", SHA_A "x", OTA_TARGET_ALL, "", 100, &id2),
              -ENOENT);
    CHECK_INT(ota_db_campaign_get(db, id, &c), 0);
    CHECK_STR(c->name, "c1");
    CHECK_INT(c->state, OTA_CAMPAIGN_CREATED);
    CHECK_INT(c->target_kind, OTA_TARGET_GROUP);
    CHECK_INT(ota_db_campaign_targets(db, c, target_cb, &t), 0);
    CHECK_INT(t.n, 2);
    CHECK_STR(t.ids[0], "V1");
    CHECK_STR(t.ids[1], "V3");
    ota_campaign_free(c);

    /* Explicit lists report unknown and revoked ids as inactive. */
    CHECK_INT(ota_db_campaign_insert(db, "c3", SHA_B, OTA_TARGET_VEHICLES, "V2,nope,V9", 100,
                                     &id2),
              0);
    CHECK_INT(ota_db_campaign_get(db, id2, &c), 0);
    memset(&t, 0, sizeof(t));
    CHECK_INT(ota_db_campaign_targets(db, c, target_cb, &t), 0);
    CHECK_INT(t.n, 3);
    CHECK(t.active[0] && !t.active[1] && !t.active[2]);
    ota_campaign_free(c);
    CHECK_INT(ota_db_campaign_set_state(db, 999, OTA_CAMPAIGN_RUNNING, 1), -ENOENT);

    /* Attribute targets: every wanted key must be a string attribute of equal value. */
    CHECK_INT(ota_db_vehicle_set_attributes(db, "V1", "{\"hwRevision\":\"2\",\"x\":\"y\"}"), 0);
    CHECK_INT(ota_db_vehicle_set_attributes(db, "V2", "{\"hwRevision\":2}"), 0);
    CHECK_INT(ota_db_vehicle_set_attributes(db, "V3", "{\"hwRevision\":\"1\"}"), 0);
    CHECK_INT(ota_db_campaign_insert(db, "c4", SHA_B, OTA_TARGET_ATTRIBUTES,
                                     "{\"hwRevision\":\"2\"}", 100, &id2),
              0);
    CHECK_INT(ota_db_campaign_get(db, id2, &c), 0);
    CHECK_INT(c->target_kind, OTA_TARGET_ATTRIBUTES);
    memset(&t, 0, sizeof(t));
    CHECK_INT(ota_db_campaign_targets(db, c, target_cb, &t), 0);
    CHECK_INT(t.n, 1);
    CHECK_STR(t.ids[0], "V1");
    ota_campaign_free(c);
    CHECK_INT(ota_db_campaign_insert(db, "c5", SHA_B, OTA_TARGET_ATTRIBUTES,
                                     "{\"hwRevision\":\"2\",\"x\":\"z\"}", 100, &id2),
              0);
    CHECK_INT(ota_db_campaign_get(db, id2, &c), 0);
    memset(&t, 0, sizeof(t));
    CHECK_INT(ota_db_campaign_targets(db, c, target_cb, &t), 0);
    CHECK_INT(t.n, 0);
    ota_campaign_free(c);
}

struct outbox_seen {
    int64_t ids[16];
    char payload[16][16];
    int n;
};

static int outbox_cb(const struct ota_outbox_row *r, void *ctx)
{
    struct outbox_seen *s = ctx;

    if (s->n < 16) {
        s->ids[s->n] = r->id;
        /* the due scan reads no body (NULL); the lists do */
        snprintf(s->payload[s->n], sizeof(s->payload[0]), "%s", r->payload ? r->payload : "");
    }
    s->n++;
    return 0;
}

static void test_outbox(struct ota_db *db)
{
    struct outbox_seen s = { 0 };
    uint64_t counts[4];
    int64_t a, b, c;

    CHECK_INT(ota_db_outbox_insert(db, "V1", 0, "vehicles/V1/update", "one", true,
                                   OTA_OUTBOX_PENDING, 1, &a),
              0);
    CHECK_INT(ota_db_outbox_insert(db, "V2", 0, "vehicles/V2/update", "two", true,
                                   OTA_OUTBOX_PENDING, 1, &b),
              0);
    CHECK_INT(ota_db_outbox_insert(db, "V3", 0, "vehicles/V3/update", "", true,
                                   OTA_OUTBOX_HELD, 1, &c),
              0);
    CHECK_INT(ota_db_outbox_insert(db, "nope", 0, "t", "", true, OTA_OUTBOX_PENDING, 1, NULL),
              -EIO); /* foreign key */
    CHECK_INT(ota_db_outbox_due(db, 10, 0, 10, outbox_cb, &s), 0);
    CHECK_INT(s.n, 2);
    CHECK_INT(s.ids[0], a);
    CHECK_INT(s.ids[1], b);
    memset(&s, 0, sizeof(s));
    CHECK_INT(ota_db_outbox_due(db, 10, a, 10, outbox_cb, &s), 0);
    CHECK_INT(s.n, 1);
    CHECK_INT(ota_db_outbox_retry_later(db, a, 50), 0);
    memset(&s, 0, sizeof(s));
    CHECK_INT(ota_db_outbox_due(db, 10, 0, 10, outbox_cb, &s), 0);
    CHECK_INT(s.n, 1);
    CHECK_INT(s.ids[0], b);
    CHECK_INT(ota_db_outbox_mark_published(db, b, 11), 0);
    CHECK_INT(ota_db_outbox_mark_published(db, b, 11), -ENOENT);
    CHECK_INT(ota_db_outbox_mark_published(db, c, 11), -ENOENT); /* held, not sent */
    CHECK_INT(ota_db_outbox_counts(db, counts), 0);
    CHECK_INT(counts[OTA_OUTBOX_PENDING], 1);
    CHECK_INT(counts[OTA_OUTBOX_PUBLISHED], 1);
    CHECK_INT(counts[OTA_OUTBOX_HELD], 1);
}

/* Snapshot of what a rejected report must not change. */
struct snapshot {
    uint64_t outbox[4];
    int events;
    enum ota_deploy_state state;
    uint64_t bytes;
};

static int event_count_cb(const struct ota_event *e, void *ctx)
{
    (void)e;
    (*(int *)ctx)++;
    return 0;
}

static void snap(struct ota_db *db, int64_t campaign, const char *vehicle, struct snapshot *s)
{
    struct ota_deployment *d = NULL;

    memset(s, 0, sizeof(*s));
    CHECK_INT(ota_db_outbox_counts(db, s->outbox), 0);
    CHECK_INT(ota_db_event_list(db, 0, NULL, event_count_cb, &s->events), 0);
    if (ota_db_deployment_get(db, campaign, vehicle, &d) == 0) {
        s->state = d->state;
        s->bytes = d->bytes;
        ota_deployment_free(d);
    }
}

static void expect_rejected(struct ota_db *db, int64_t campaign, const char *vehicle,
                            enum ota_deploy_state state, int want)
{
    struct ota_status_report r = { .campaign = campaign, .state = state, .bytes = 1 };
    struct snapshot before, after;
    char err[256] = "";

    snap(db, campaign, vehicle, &before);
    CHECK_INT(ota_status_apply(db, vehicle, &r, "rest", 60, err, sizeof(err)), want);
    CHECK(err[0] != '\0');
    snap(db, campaign, vehicle, &after);
    CHECK(memcmp(&before, &after, sizeof(before)) == 0);
}

static void test_status(struct ota_db *db)
{
    struct ota_deployment *d = NULL;
    struct ota_campaign *c = NULL;
    struct outbox_seen s = { 0 };
    int64_t cid = 0, did1 = 0, did2 = 0;
    char err[256], *body = NULL;
    static const enum ota_deploy_state path[] = { OTA_DEPLOY_DOWNLOADING, OTA_DEPLOY_DOWNLOADING,
                                                  OTA_DEPLOY_DOWNLOADED, OTA_DEPLOY_INSTALLING,
                                                  OTA_DEPLOY_INSTALLED };

    CHECK_INT(ota_db_campaign_insert(db, "st", SHA_A, OTA_TARGET_VEHICLES, "V1,V2", 1, &cid), 0);
    CHECK_INT(ota_db_deployment_insert(db, cid, "V1", 1, &did1), 0);
    CHECK_INT(ota_db_deployment_insert(db, cid, "V2", 1, &did2), 0);
    CHECK_INT(ota_db_deployment_insert(db, cid, "V2", 1, NULL), -EEXIST);
    /* Not running yet: nothing current, nothing to fetch. */
    CHECK_INT(ota_db_deployment_current(db, "V1", &d), -ENOENT);
    CHECK_INT(ota_db_campaign_set_state(db, cid, OTA_CAMPAIGN_RUNNING, 2), 0);
    CHECK_INT(ota_db_deployment_current(db, "V1", &d), 0);
    CHECK_INT(d->id, did1);
    CHECK_STR(d->artifact, SHA_A);
    CHECK_INT(d->campaign_state, OTA_CAMPAIGN_RUNNING);
    CHECK_INT(ota_status_update_body(db, d, 60, 0, &body), 0);
    CHECK(strstr(body, SHA_A) && strstr(body, "\"poll_after\":60"));
    free(body);
    ota_deployment_free(d);
    CHECK_INT(ota_db_vehicle_may_fetch(db, "V1", SHA_A), 0);
    CHECK_INT(ota_db_vehicle_may_fetch(db, "V1", SHA_B), -ENOENT);
    CHECK_INT(ota_db_vehicle_may_fetch(db, "V3", SHA_A), -ENOENT);

    expect_rejected(db, cid, "V3", OTA_DEPLOY_DOWNLOADING, -ENOENT); /* not in campaign */
    expect_rejected(db, cid + 100, "V1", OTA_DEPLOY_DOWNLOADING, -ENOENT);
    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        struct ota_status_report r = { .campaign = cid, .state = path[i], .bytes = 10 * i };

        CHECK_INT(ota_status_apply(db, "V1", &r, "rest", 60, err, sizeof(err)), 0);
        if (i == 2)
            expect_rejected(db, cid, "V1", OTA_DEPLOY_DOWNLOADING, -EPERM); /* backwards */
    }
    CHECK_INT(ota_db_deployment_get(db, cid, "V1", &d), 0);
    CHECK_INT(d->state, OTA_DEPLOY_INSTALLED);
    CHECK_INT(d->bytes, 40);
    ota_deployment_free(d);
    expect_rejected(db, cid, "V1", OTA_DEPLOY_FAILED, -EPERM);

    {
        /* A repeated final report (MQTT at-least-once) is accepted and changes nothing. */
        struct ota_status_report r = { .campaign = cid, .state = OTA_DEPLOY_INSTALLED };

        CHECK_INT(ota_status_apply(db, "V1", &r, "mqtt", 60, err, sizeof(err)),
                  OTA_STATUS_DUPLICATE);
    }
    /* Completion queued the clearing message for V1. */
    CHECK_INT(ota_db_outbox_list(db, "V1", outbox_cb, &s), 0);
    CHECK_INT(s.n, 2);
    CHECK_STR(s.payload[s.n - 1], "");
    CHECK_INT(ota_db_campaign_get(db, cid, &c), 0);
    CHECK_INT(c->state, OTA_CAMPAIGN_RUNNING);
    ota_campaign_free(c);
    {
        struct ota_status_report r = { .campaign = cid, .state = OTA_DEPLOY_FAILED };

        strcpy(r.detail, "sha256 mismatch");
        CHECK_INT(ota_status_apply(db, "V2", &r, "rest", 60, err, sizeof(err)), 0);
    }
    CHECK_INT(ota_db_campaign_get(db, cid, &c), 0);
    CHECK_INT(c->state, OTA_CAMPAIGN_FINISHED);
    ota_campaign_free(c);
    expect_rejected(db, cid, "V2", OTA_DEPLOY_INSTALLED, -EPERM);

    /* Cancelled deployments refuse reports, and are no longer fetchable. */
    {
        int64_t cid2 = 0;
        uint64_t counts[OTA_DEPLOY_STATE_COUNT];

        CHECK_INT(ota_db_campaign_insert(db, "st2", SHA_B, OTA_TARGET_ALL, "", 1, &cid2), 0);
        CHECK_INT(ota_db_deployment_insert(db, cid2, "V3", 1, NULL), 0);
        CHECK_INT(ota_db_campaign_set_state(db, cid2, OTA_CAMPAIGN_RUNNING, 2), 0);
        CHECK_INT(ota_db_vehicle_may_fetch(db, "V3", SHA_B), 0);
        CHECK_INT(ota_db_deployment_cancel_campaign(db, cid2, 3), 0);
        CHECK_INT(ota_db_campaign_set_state(db, cid2, OTA_CAMPAIGN_CANCELLED, 3), 0);
        CHECK_INT(ota_db_vehicle_may_fetch(db, "V3", SHA_B), -ENOENT);
        expect_rejected(db, cid2, "V3", OTA_DEPLOY_DOWNLOADING, -EPERM);
        CHECK_INT(ota_db_deployment_last_cancelled(db, "V3", &d), 0);
        CHECK_INT(d->campaign, cid2);
        ota_deployment_free(d);
        CHECK_INT(ota_db_deployment_counts(db, cid2, counts), 0);
        CHECK_INT(counts[OTA_DEPLOY_CANCELLED], 1);
        CHECK_INT(counts[OTA_DEPLOY_PENDING], 0);
    }
}

/* A revoked vehicle's report is refused, even for a deployment it has (MQTT status only
 * passes the broker's ACL, not our revocation check). */
static void test_revoked_report(struct ota_db *db)
{
    int64_t cid = 0;

    CHECK_INT(ota_db_campaign_insert(db, "rv", SHA_A, OTA_TARGET_ALL, "", 1, &cid), 0);
    CHECK_INT(ota_db_deployment_insert(db, cid, "V9", 1, NULL), 0);
    CHECK_INT(ota_db_campaign_set_state(db, cid, OTA_CAMPAIGN_RUNNING, 2), 0);
    expect_rejected(db, cid, "V9", OTA_DEPLOY_DOWNLOADING, -EPERM);
}

static void test_refresh_keeps_other_campaign(struct ota_db *db)
{
    struct outbox_seen s = { 0 };
    int64_t cid = 0;

    /* V2 gets a new campaign; refreshing its topic must re-announce it, not clear it. */
    CHECK_INT(ota_db_campaign_insert(db, "re", SHA_B, OTA_TARGET_VEHICLES, "V2", 1, &cid), 0);
    CHECK_INT(ota_db_deployment_insert(db, cid, "V2", 1, NULL), 0);
    CHECK_INT(ota_db_campaign_set_state(db, cid, OTA_CAMPAIGN_RUNNING, 2), 0);
    CHECK_INT(ota_status_queue_refresh(db, "V2", 60, 5), 0);
    CHECK_INT(ota_db_outbox_list(db, "V2", outbox_cb, &s), 0);
    CHECK(s.n >= 1);
    CHECK(strlen(s.payload[s.n - 1]) > 0);
}

/* After a broker lost its retained messages: each vehicle's newest published message is
 * queued again, unless something newer is pending; empty ones only when asked. */
static void test_requeue(void)
{
    struct ota_db *db = open_fresh("requeue.db");
    struct outbox_seen s = { 0 };
    uint64_t n = 99;
    int64_t id;

    CHECK_INT(ota_db_vehicle_add(db, "R1", "", ""), 0);
    CHECK_INT(ota_db_vehicle_add(db, "R2", "", ""), 0);
    CHECK_INT(ota_db_vehicle_add(db, "R3", "", ""), 0);
    CHECK_INT(ota_db_vehicle_add(db, "R4", "", ""), 0);
    struct {
        const char *vehicle, *payload;
        bool publish;
    } rows[] = {
        { "R1", "old", true }, { "R1", "new", true }, /* R1: "new" again */
        { "R2", "sent", true }, { "R2", "next", false }, /* R2: newer pending: nothing */
        { "R3", "", true },                          /* R3: empty, only without skip */
        /* R4: never published: nothing */
        { "R4", "waiting", false },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        CHECK_INT(ota_db_outbox_insert(db, rows[i].vehicle, 0, "t", rows[i].payload, true,
                                       OTA_OUTBOX_PENDING, 1, &id),
                  0);
        if (rows[i].publish)
            CHECK_INT(ota_db_outbox_mark_published(db, id, 2), 0);
    }
    CHECK_INT(ota_db_outbox_requeue_latest(db, true, 3, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(ota_db_outbox_list(db, "R1", outbox_cb, &s), 0);
    CHECK_INT(s.n, 3);
    CHECK_STR(s.payload[2], "new");
    /* Now R1's copy is pending: a second pass adds only R3's empty message. */
    CHECK_INT(ota_db_outbox_requeue_latest(db, false, 4, &n), 0);
    CHECK_INT(n, 1);
    memset(&s, 0, sizeof(s));
    CHECK_INT(ota_db_outbox_list(db, "R3", outbox_cb, &s), 0);
    CHECK_INT(s.n, 2);
    CHECK_STR(s.payload[1], "");
    memset(&s, 0, sizeof(s));
    CHECK_INT(ota_db_outbox_list(db, "R2", outbox_cb, &s), 0);
    CHECK_INT(s.n, 2);
    memset(&s, 0, sizeof(s));
    CHECK_INT(ota_db_outbox_list(db, NULL, outbox_cb, &s), 0);
    CHECK_INT(s.n, 8);
    ota_db_close(db);
}

int main(void)
{
    struct ota_db *db;

    CHECK_FATAL(mkdtemp(dir) != NULL);
    test_open_errors();
    db = open_fresh("ota.db");
    test_clients(db);
    test_campaigns(db);
    test_outbox(db);
    test_status(db);
    test_refresh_keeps_other_campaign(db);
    test_revoked_report(db);
    ota_db_close(db);
    test_requeue();
    {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        CHECK_INT(system(cmd), 0);
    }
    TEST_DONE();
}
