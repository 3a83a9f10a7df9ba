/* Unit tests for ota_campaign: start, pause, resume and cancel on a temp database, with
 * the outbox rows they leave, and every refusal leaving the database unchanged. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "ota_test.h"
#include "ota_campaign.h"
#include "ota_db.h"
#include "ota_json.h"
#include "ota_status.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define POLL  60

static char dir[] = "/tmp/ota-test-campaign-XXXXXX";
static const char *const all_vehicles[] = { "V1", "V2", "V3", "V4" };

/* ---- what a refusal must not change ------------------------------------------------- */

struct snapshot {
    uint64_t outbox[4];
    int events;
    int deployments;
    int rows;
    enum ota_campaign_state state[16];
};

static int count_cb(const void *row, void *ctx)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

static void snap(struct ota_db *db, struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    CHECK_INT(ota_db_outbox_counts(db, s->outbox), 0);
    CHECK_INT(ota_db_event_list(db, 0, NULL, (int (*)(const struct ota_event *, void *))count_cb,
                                &s->events),
              0);
    for (int64_t id = 1; id < 16; id++) {
        struct ota_campaign *c = NULL;

        if (ota_db_campaign_get(db, id, &c) == 0) {
            s->state[id] = c->state;
            ota_campaign_free(c);
            CHECK_INT(ota_db_deployment_list(
                          db, id, (int (*)(const struct ota_deployment *, void *))count_cb,
                          &s->deployments),
                      0);
        }
    }
    for (size_t i = 0; i < 4; i++)
        CHECK_INT(ota_db_outbox_list(db, all_vehicles[i],
                                     (int (*)(const struct ota_outbox_row *, void *))count_cb,
                                     &s->rows),
                  0);
}

static void check_unchanged(struct ota_db *db, const struct snapshot *before, int line)
{
    struct snapshot after;

    snap(db, &after);
    if (memcmp(before, &after, sizeof(after)) != 0) {
        fprintf(stderr, "line %d: the database changed on a refusal\n", line);
        ota_test_failures++;
    }
}

/* ---- outbox inspection -------------------------------------------------------------- */

struct rows {
    int n;
    int per_state[4];
    struct ota_outbox_row last; /* shallow copy of the newest row's scalars */
    char last_topic[256];
    char last_payload[4096];
};

static int rows_cb(const struct ota_outbox_row *r, void *ctx)
{
    struct rows *s = ctx;

    s->n++;
    s->per_state[r->state]++;
    s->last = *r;
    snprintf(s->last_topic, sizeof(s->last_topic), "%s", r->topic);
    snprintf(s->last_payload, sizeof(s->last_payload), "%.*s", (int)r->payload_len, r->payload);
    s->last.topic = NULL;
    s->last.payload = NULL;
    return 0;
}

static struct rows outbox_of(struct ota_db *db, const char *vehicle)
{
    struct rows s;

    memset(&s, 0, sizeof(s));
    CHECK_INT(ota_db_outbox_list(db, vehicle, rows_cb, &s), 0);
    return s;
}

/* Counts one campaign's rows of @vehicle in @state. */
struct campaign_rows {
    int64_t campaign;
    int per_state[4];
};

static int campaign_rows_cb(const struct ota_outbox_row *r, void *ctx)
{
    struct campaign_rows *s = ctx;

    if (r->campaign == s->campaign)
        s->per_state[r->state]++;
    return 0;
}

static struct campaign_rows campaign_outbox(struct ota_db *db, const char *vehicle, int64_t id)
{
    struct campaign_rows s = { .campaign = id };

    CHECK_INT(ota_db_outbox_list(db, vehicle, campaign_rows_cb, &s), 0);
    return s;
}

static enum ota_campaign_state state_of(struct ota_db *db, int64_t id)
{
    struct ota_campaign *c = NULL;
    enum ota_campaign_state s;

    CHECK_FATAL(ota_db_campaign_get(db, id, &c) == 0);
    s = c->state;
    ota_campaign_free(c);
    return s;
}

static enum ota_deploy_state deployment_state(struct ota_db *db, int64_t id, const char *vehicle)
{
    struct ota_deployment *d = NULL;
    enum ota_deploy_state s;

    CHECK_FATAL(ota_db_deployment_get(db, id, vehicle, &d) == 0);
    s = d->state;
    ota_deployment_free(d);
    return s;
}

static int deployments_of(struct ota_db *db, int64_t id)
{
    int n = 0;

    CHECK_INT(ota_db_deployment_list(db, id,
                                     (int (*)(const struct ota_deployment *, void *))count_cb, &n),
              0);
    return n;
}

static int64_t create(struct ota_db *db, const char *name, enum ota_target_kind kind,
                      const char *target)
{
    int64_t id = 0;

    CHECK_FATAL(ota_db_campaign_insert(db, name, SHA_A, kind, target, ota_now(), &id) == 0);
    return id;
}

static struct ota_db *setup(void)
{
    char path[256];
    struct ota_db *db = NULL;
    struct ota_artifact a = { .size = 10,
                              .name = "fw.swu",
                              .version = "1.0",
                              .hw = "",
                              .signature = "untrusted comment: x\nRWQ\ntrusted comment: y\nz\n",
                              .created_at = 1 };

    snprintf(path, sizeof(path), "%s/campaign.db", dir);
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_FATAL(ota_db_migrate(db) == 0);
    CHECK_FATAL(ota_db_check_schema(db) == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "V1", "m1", "g1") == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "V2", "m1", "g2") == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "V3", "m2", "g1") == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "V4", "m1", "g1") == 0);
    CHECK_FATAL(ota_db_vehicle_revoke(db, "V4") == 0);
    memcpy(a.sha256, SHA_A, 65);
    memset(a.sha1, '1', 40);
    memset(a.md5, '5', 32);
    CHECK_FATAL(ota_db_artifact_insert(db, &a) == 0);
    return db;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_start_explicit(struct ota_db *db, int64_t *ret_id)
{
    struct ota_update_info u;
    char topic[256];
    char err[256];
    struct rows r;
    int64_t id = create(db, "explicit", OTA_TARGET_VEHICLES, "V1,V2");
    struct snapshot before;

    snap(db, &before);
    CHECK_INT(ota_campaign_start(db, id, POLL, err, sizeof(err)), 0);
    CHECK_INT(state_of(db, id), OTA_CAMPAIGN_RUNNING);
    CHECK_INT(deployments_of(db, id), 2);
    CHECK_INT(deployment_state(db, id, "V1"), OTA_DEPLOY_PENDING);
    CHECK_INT(deployment_state(db, id, "V2"), OTA_DEPLOY_PENDING);

    r = outbox_of(db, "V1");
    CHECK_INT(r.n, 1);
    CHECK_INT(r.per_state[OTA_OUTBOX_PENDING], 1);
    CHECK(r.last.retain);
    CHECK_INT(r.last.campaign, id);
    CHECK_INT(ota_status_update_topic("V1", topic, sizeof(topic)), 0);
    CHECK_STR(r.last_topic, topic);
    memset(&u, 0, sizeof(u));
    CHECK_INT(ota_json_update_decode(r.last_payload, strlen(r.last_payload), &u, err, sizeof(err)),
              0);
    CHECK_INT(u.campaign, id);
    CHECK_STR(u.sha256, SHA_A);
    CHECK_INT(u.size, 10);
    CHECK_INT(u.poll_after, POLL);
    CHECK(strstr(r.last_payload, "\"issued_at\":\"") != NULL); /* MQTT carries issued_at */
    ota_update_info_clear(&u);
    CHECK_INT(outbox_of(db, "V2").per_state[OTA_OUTBOX_PENDING], 1);
    CHECK_INT(outbox_of(db, "V3").n, 0);

    /* Starting a running campaign is refused and changes nothing. */
    snap(db, &before);
    err[0] = '\0';
    CHECK_INT(ota_campaign_start(db, id, POLL, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "running") != NULL);
    check_unchanged(db, &before, __LINE__);
    *ret_id = id;
}

static void test_pause_resume(struct ota_db *db, int64_t id)
{
    struct snapshot before;
    char err[256];

    CHECK_INT(ota_campaign_pause(db, id, err, sizeof(err)), 0);
    CHECK_INT(state_of(db, id), OTA_CAMPAIGN_PAUSED);
    CHECK_INT(campaign_outbox(db, "V1", id).per_state[OTA_OUTBOX_HELD], 1);
    CHECK_INT(campaign_outbox(db, "V1", id).per_state[OTA_OUTBOX_PENDING], 0);
    CHECK_INT(campaign_outbox(db, "V2", id).per_state[OTA_OUTBOX_HELD], 1);

    snap(db, &before);
    CHECK_INT(ota_campaign_pause(db, id, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "paused") != NULL);
    CHECK_INT(ota_campaign_start(db, id, POLL, err, sizeof(err)), -EINVAL);
    check_unchanged(db, &before, __LINE__);

    CHECK_INT(ota_campaign_resume(db, id, err, sizeof(err)), 0);
    CHECK_INT(state_of(db, id), OTA_CAMPAIGN_RUNNING);
    CHECK_INT(campaign_outbox(db, "V1", id).per_state[OTA_OUTBOX_PENDING], 1);
    CHECK_INT(campaign_outbox(db, "V1", id).per_state[OTA_OUTBOX_HELD], 0);

    snap(db, &before);
    CHECK_INT(ota_campaign_resume(db, id, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "running") != NULL);
    check_unchanged(db, &before, __LINE__);
}

static void test_refusals(struct ota_db *db)
{
    struct snapshot before;
    char err[256];
    int64_t revoked = create(db, "revoked", OTA_TARGET_VEHICLES, "V1,V4");
    int64_t unknown = create(db, "unknown", OTA_TARGET_VEHICLES, "V2,V9");
    int64_t empty = create(db, "empty", OTA_TARGET_GROUP, "nogroup");
    int64_t created = create(db, "created", OTA_TARGET_ALL, "");

    snap(db, &before);
    err[0] = '\0';
    CHECK_INT(ota_campaign_start(db, revoked, POLL, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "V4") != NULL && strstr(err, "revoked") != NULL);
    err[0] = '\0';
    CHECK_INT(ota_campaign_start(db, unknown, POLL, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "V9") != NULL && strstr(err, "unknown") != NULL);
    err[0] = '\0';
    CHECK_INT(ota_campaign_start(db, empty, POLL, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "no active vehicle") != NULL);
    CHECK_INT(ota_campaign_start(db, 999, POLL, err, sizeof(err)), -ENOENT);
    CHECK_INT(ota_campaign_pause(db, 999, err, sizeof(err)), -ENOENT);
    CHECK_INT(ota_campaign_resume(db, 999, err, sizeof(err)), -ENOENT);
    CHECK_INT(ota_campaign_cancel(db, 999, 60, err, sizeof(err)), -ENOENT);
    CHECK_INT(ota_campaign_pause(db, created, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "created") != NULL);
    CHECK_INT(ota_campaign_resume(db, created, err, sizeof(err)), -EINVAL);
    check_unchanged(db, &before, __LINE__);
    CHECK_INT(state_of(db, revoked), OTA_CAMPAIGN_CREATED);
    CHECK_INT(deployments_of(db, revoked), 0);

    /* A created campaign may be cancelled; it never had deployments or messages. */
    CHECK_INT(ota_campaign_cancel(db, created, 60, err, sizeof(err)), 0);
    CHECK_INT(state_of(db, created), OTA_CAMPAIGN_CANCELLED);
    CHECK_INT(deployments_of(db, created), 0);
    snap(db, &before);
    err[0] = '\0';
    CHECK_INT(ota_campaign_start(db, created, POLL, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "cancelled") != NULL);
    CHECK_INT(ota_campaign_cancel(db, created, 60, err, sizeof(err)), -EINVAL);
    check_unchanged(db, &before, __LINE__);
}

static void test_selectors(struct ota_db *db, int64_t *ret_group)
{
    char err[256];
    int64_t group = create(db, "group g1", OTA_TARGET_GROUP, "g1");
    int64_t model = create(db, "model m2", OTA_TARGET_MODEL, "m2");
    int64_t all = create(db, "all", OTA_TARGET_ALL, "");
    struct ota_deployment *d = NULL;

    CHECK_INT(ota_campaign_start(db, group, POLL, err, sizeof(err)), 0);
    CHECK_INT(deployments_of(db, group), 2); /* V1, V3; V4 is revoked */
    CHECK_INT(ota_db_deployment_get(db, group, "V4", &d), -ENOENT);
    CHECK_INT(campaign_outbox(db, "V3", group).per_state[OTA_OUTBOX_PENDING], 1);

    CHECK_INT(ota_campaign_start(db, model, POLL, err, sizeof(err)), 0);
    CHECK_INT(deployments_of(db, model), 1);
    CHECK_INT(deployment_state(db, model, "V3"), OTA_DEPLOY_PENDING);

    /* An id named twice gets one deployment and one message. */
    int64_t twice = create(db, "twice", OTA_TARGET_VEHICLES, "V2,V2");
    CHECK_INT(ota_campaign_start(db, twice, POLL, err, sizeof(err)), 0);
    CHECK_INT(deployments_of(db, twice), 1);
    CHECK_INT(campaign_outbox(db, "V2", twice).per_state[OTA_OUTBOX_PENDING], 1);
    CHECK_INT(ota_campaign_cancel(db, twice, 60, err, sizeof(err)), 0);

    CHECK_INT(ota_campaign_start(db, all, POLL, err, sizeof(err)), 0);
    CHECK_INT(deployments_of(db, all), 3);
    CHECK_INT(campaign_outbox(db, "V4", all).per_state[OTA_OUTBOX_PENDING], 0);
    /* Cancel these two again so the vehicles' current deployment is the group's. */
    CHECK_INT(ota_campaign_cancel(db, all, 60, err, sizeof(err)), 0);
    CHECK_INT(ota_campaign_cancel(db, model, 60, err, sizeof(err)), 0);
    *ret_group = group;
}

static void test_cancel(struct ota_db *db, int64_t explicit, int64_t group)
{
    struct ota_update_info u;
    struct snapshot before;
    char err[256];
    struct rows v1, v2;
    struct campaign_rows c;
    int events_before, events_after;

    snap(db, &before);
    events_before = before.events;
    CHECK_INT(ota_campaign_cancel(db, explicit, 60, err, sizeof(err)), 0);
    CHECK_INT(state_of(db, explicit), OTA_CAMPAIGN_CANCELLED);
    CHECK_INT(deployment_state(db, explicit, "V1"), OTA_DEPLOY_CANCELLED);
    CHECK_INT(deployment_state(db, explicit, "V2"), OTA_DEPLOY_CANCELLED);
    /* The unsent announcements (the start's, and the refreshes queued when "twice" and
     * "all" were cancelled) are dropped ... */
    c = campaign_outbox(db, "V2", explicit);
    CHECK_INT(c.per_state[OTA_OUTBOX_PENDING] + c.per_state[OTA_OUTBOX_HELD], 0);
    CHECK_INT(c.per_state[OTA_OUTBOX_DROPPED], 3);
    /* ... and V2, which has nothing else to do, gets the empty retained message ... */
    v2 = outbox_of(db, "V2");
    CHECK_INT(v2.last.state, OTA_OUTBOX_PENDING);
    CHECK(v2.last.retain);
    CHECK_INT(v2.last.payload_len, 0);
    /* ... while V1's topic is refreshed to the group campaign it is still in. */
    v1 = outbox_of(db, "V1");
    CHECK_INT(v1.last.state, OTA_OUTBOX_PENDING);
    memset(&u, 0, sizeof(u));
    CHECK_INT(
        ota_json_update_decode(v1.last_payload, strlen(v1.last_payload), &u, err, sizeof(err)), 0);
    CHECK_INT(u.campaign, group);
    ota_update_info_clear(&u);
    snap(db, &before);
    events_after = before.events;
    CHECK(events_after > events_before);

    /* Cancelled is final. */
    err[0] = '\0';
    CHECK_INT(ota_campaign_start(db, explicit, POLL, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "cancelled") != NULL);
    CHECK_INT(ota_campaign_cancel(db, explicit, 60, err, sizeof(err)), -EINVAL);
    CHECK_INT(ota_campaign_pause(db, explicit, err, sizeof(err)), -EINVAL);
    CHECK_INT(ota_campaign_resume(db, explicit, err, sizeof(err)), -EINVAL);
    check_unchanged(db, &before, __LINE__);

    /* A paused campaign's held rows are dropped on cancel. */
    CHECK_INT(ota_campaign_pause(db, group, err, sizeof(err)), 0);
    c = campaign_outbox(db, "V3", group);
    CHECK(c.per_state[OTA_OUTBOX_HELD] >= 1);
    CHECK_INT(c.per_state[OTA_OUTBOX_PENDING], 0);
    CHECK_INT(ota_campaign_cancel(db, group, 60, err, sizeof(err)), 0);
    c = campaign_outbox(db, "V3", group);
    CHECK_INT(c.per_state[OTA_OUTBOX_HELD] + c.per_state[OTA_OUTBOX_PENDING], 0);
    CHECK(c.per_state[OTA_OUTBOX_DROPPED] >= 1);
    v1 = outbox_of(db, "V1");
    CHECK_INT(v1.last.payload_len, 0); /* nothing left for V1: its topic is cleared */
}

static void test_events(struct ota_db *db, int64_t id)
{
    int n = 0;

    CHECK_INT(
        ota_db_event_list(db, id, NULL, (int (*)(const struct ota_event *, void *))count_cb, &n),
        0);
    /* start, pause, resume, cancel of the explicit campaign */
    CHECK(n >= 4);
}

/* A vehicle that finishes while its campaign is paused (it fetched over REST) got its
 * clearing message then; resume must not release its old held update after that. */
static void test_resume_drops_ended(struct ota_db *db)
{
    struct ota_status_report rep = { .state = OTA_DEPLOY_INSTALLED };
    char err[256];
    int64_t id = create(db, "paused-end", OTA_TARGET_VEHICLES, "V1,V2");

    CHECK_INT(ota_campaign_start(db, id, POLL, err, sizeof(err)), 0);
    CHECK_INT(ota_campaign_pause(db, id, err, sizeof(err)), 0);
    rep.campaign = id;
    CHECK_INT(ota_status_apply(db, "V2", &rep, "rest", POLL, err, sizeof(err)), 0);
    CHECK_INT(ota_campaign_resume(db, id, err, sizeof(err)), 0);
    CHECK_INT(campaign_outbox(db, "V2", id).per_state[OTA_OUTBOX_HELD], 0);
    CHECK_INT(campaign_outbox(db, "V2", id).per_state[OTA_OUTBOX_PENDING], 0);
    CHECK_INT(campaign_outbox(db, "V2", id).per_state[OTA_OUTBOX_DROPPED], 1);
    CHECK_INT(campaign_outbox(db, "V1", id).per_state[OTA_OUTBOX_PENDING], 1);
}

int main(void)
{
    char path[256];
    struct ota_db *db;
    int64_t explicit = 0, group = 0;

    CHECK_FATAL(mkdtemp(dir) != NULL);
    db = setup();
    test_start_explicit(db, &explicit);
    test_pause_resume(db, explicit);
    test_refusals(db);
    test_selectors(db, &group);
    test_cancel(db, explicit, group);
    test_events(db, explicit);
    test_resume_drops_ended(db);
    ota_db_close(db);

    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
    TEST_DONE();
}
