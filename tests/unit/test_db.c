/* Unit tests of the database layer (ota_db) on a temp SQLite file: open errors by cause,
 * vehicles and edges, artifacts, campaigns and their kept counts, deployments (current,
 * held, guarded updates, paging), events, and status reports through ota_status. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ota_test.h"
#include "ota_test_db.h"
#include "ota_db.h"
#include "ota_status.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char dir[] = "/tmp/ota-test-db-XXXXXX";

static struct ota_db *open_fresh(const char *name)
{
    char path[512];
    struct ota_db *db = NULL;

    ota_test_db_where(dir, name, path, sizeof(path));
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_FATAL(ota_db_migrate(db) == 0);
    return db;
}

static void add_artifact(struct ota_db *db, const char *sha, const char *version)
{
    struct ota_artifact a = { .size = 10, .name = "fw.bin", .version = (char *)version, .hw = "",
                              .signature = "sig", .created_at = 1 };

    memcpy(a.sha256, sha, 65);
    memset(a.sha1, '1', 40);
    memset(a.md5, '5', 32);
    CHECK_INT(ota_db_artifact_insert(db, &a), 0);
}

static void test_open_errors(void)
{
    char path[256];
    struct ota_db *db = NULL;
    int fd;

    snprintf(path, sizeof(path), "%s/missing.db", dir);
    CHECK_INT(ota_db_open(path, 0, &db), -ENOENT);
    snprintf(path, sizeof(path), "%s/no/such/folder.db", dir);
    CHECK_INT(ota_db_open(path, OTA_DB_CREATE, &db), -ENOENT);
    snprintf(path, sizeof(path), "%s/garbage.db", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK_FATAL(fd >= 0);
    for (int i = 0; i < 64; i++)
        CHECK_FATAL(write(fd, "this is not a database, just text!", 34) == 34);
    close(fd);
    CHECK_INT(ota_db_open(path, 0, &db), -EBADMSG);
    CHECK(db == NULL);
    /* A database without our schema is refused by the daemons' check. */
    snprintf(path, sizeof(path), "%s/empty.db", dir);
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0);
    CHECK_INT(ota_db_check_schema(db), -ESTALE);
    CHECK_INT(ota_db_vehicle_add(db, "V1", "", "", NULL), -EIO); /* nothing prepared */
    CHECK_INT(ota_db_migrate(db), 0);
    CHECK_INT(ota_db_migrate(db), 0); /* idempotent */
    CHECK_INT(ota_db_check_schema(db), 0);
    CHECK_INT(ota_db_schema_target(db), 6);
    ota_db_close(db);
    /* a read-only file (root ignores modes: only when not root) */
    if (geteuid() != 0) {
        CHECK_INT(chmod(path, 0400), 0);
        CHECK_INT(ota_db_open(path, 0, &db), -EROFS);
    }
}

/* Vehicles in a filtered listing, as "V1,V2". */
static void list_ids(struct ota_db *db, const struct ota_vehicle_filter *f, char *buf,
                     size_t len)
{
    const struct ota_vehicle *v;
    struct ota_db_iter it;
    size_t n = 0;

    buf[0] = '\0';
    CHECK_FATAL(ota_db_vehicles_begin(db, f, &it) == 0);
    while (ota_db_vehicles_next(&it, &v) > 0)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", v->id);
    ota_db_iter_end(&it);
}

static void test_clients(struct ota_db *db)
{
    struct ota_vehicle *v = NULL;
    struct ota_edge e;
    enum ota_client_kind kind;
    char ids[256];

    CHECK_INT(ota_db_vehicle_add(db, "V1", "m1", "g1", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V2", "m1", "g2", "{\"hw\":\"r1\"}"), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V3", "m2", "g1", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V1", "", "", NULL), -EEXIST);
    CHECK_INT(ota_db_edge_add(db, "E1"), 0);
    CHECK_INT(ota_db_edge_add(db, "V1"), -EEXIST);
    CHECK_INT(ota_db_vehicle_add(db, "E1", "", "", NULL), -EEXIST);
    CHECK_INT(ota_db_vehicle_get(db, "V1", &v), 0);
    CHECK_STR(v->model, "m1");
    CHECK_STR(v->group, "g1");
    CHECK_STR(v->attributes, "{}");
    CHECK_STR(v->installed_sha256, "");
    CHECK_STR(v->installed_version, "");
    CHECK(!v->revoked);
    ota_vehicle_free(v);
    CHECK_INT(ota_db_vehicle_get(db, "nope", &v), -ENOENT);
    list_ids(db, NULL, ids, sizeof(ids));
    CHECK_STR(ids, "V1,V2,V3");
    list_ids(db, &(struct ota_vehicle_filter){ .group = "g1" }, ids, sizeof(ids));
    CHECK_STR(ids, "V1,V3");
    list_ids(db, &(struct ota_vehicle_filter){ .model = "m1", .group = "g2" }, ids, sizeof(ids));
    CHECK_STR(ids, "V2");
    CHECK_INT(ota_db_vehicle_installed(db, "V3", SHA_A, "1.0", 7), 0);
    list_ids(db, &(struct ota_vehicle_filter){ .version = "1.0" }, ids, sizeof(ids));
    CHECK_STR(ids, "V3");
    CHECK_INT(ota_db_vehicle_installed(db, "nope", SHA_A, "1.0", 7), -ENOENT);
    /* set: only what is given */
    CHECK_INT(ota_db_vehicle_set(db, "V1", NULL, "g9", NULL), 0);
    CHECK_INT(ota_db_vehicle_get(db, "V1", &v), 0);
    CHECK_STR(v->model, "m1");
    CHECK_STR(v->group, "g9");
    ota_vehicle_free(v);
    CHECK_INT(ota_db_vehicle_set(db, "V1", NULL, "g1", NULL), 0);
    CHECK_INT(ota_db_vehicle_set(db, "nope", "m", NULL, NULL), -ENOENT);
    CHECK_INT(ota_db_client_lookup(db, "V1", &kind, NULL), 0);
    CHECK_INT(kind, OTA_CLIENT_VEHICLE);
    CHECK_INT(ota_db_client_lookup(db, "E1", &kind, NULL), 0);
    CHECK_INT(kind, OTA_CLIENT_EDGE);
    CHECK_INT(ota_db_client_lookup(db, "X", &kind, NULL), -ENOENT);
    /* revoke and reinstate, for vehicles and edges */
    CHECK_INT(ota_db_vehicle_add(db, "V9", "", "", NULL), 0);
    CHECK_INT(ota_db_vehicle_set_revoked(db, "V9", true), 0);
    CHECK_INT(ota_db_client_lookup(db, "V9", &kind, NULL), -EACCES);
    CHECK_INT(ota_db_vehicle_set_revoked(db, "V9", false), 0);
    CHECK_INT(ota_db_client_lookup(db, "V9", &kind, NULL), 0);
    CHECK_INT(ota_db_vehicle_set_revoked(db, "nope", true), -ENOENT);
    CHECK_INT(ota_db_edge_set_revoked(db, "E1", true), 0);
    CHECK_INT(ota_db_edge_get(db, "E1", &e), 0);
    CHECK(e.revoked);
    CHECK_INT(ota_db_client_lookup(db, "E1", &kind, NULL), -EACCES);
    CHECK_INT(ota_db_edge_set_revoked(db, "E1", false), 0);
    CHECK_INT(ota_db_client_lookup(db, "E1", &kind, NULL), 0);
    /* the dashboard's installed versions: active vehicles only, most common first */
    {
        struct ota_version_count vc[OTA_VERSIONS_MAX];
        unsigned n = 0;

        CHECK_INT(ota_db_vehicle_set_revoked(db, "V2", true), 0);
        CHECK_INT(ota_db_fleet_versions(db, vc, &n), 0);
        CHECK_INT(n, 2);
        CHECK_STR(vc[0].version, "");
        CHECK_INT((int)vc[0].n, 2); /* V1, V9 */
        CHECK_STR(vc[1].version, "1.0");
        CHECK_INT((int)vc[1].n, 1); /* V3 */
        CHECK_INT(ota_db_vehicle_set_revoked(db, "V2", false), 0);
    }
}

static void test_artifacts(struct ota_db *db)
{
    struct ota_artifact *a = NULL;
    const struct ota_artifact *row;
    struct ota_db_iter it;
    char *sig = NULL;
    uint64_t n = 9;
    int rows = 0;

    CHECK_INT(ota_db_artifact_any_signature(db, &sig), -ENOENT);
    add_artifact(db, SHA_A, "1.0");
    add_artifact(db, SHA_B, "2.0");
    CHECK_INT(ota_db_artifact_any_signature(db, &sig), 0);
    CHECK_STR(sig, "sig");
    free(sig);
    CHECK_INT(ota_db_artifact_in_use(db, SHA_A, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(ota_db_artifact_delete(db, SHA_B, 50), 0);
    CHECK_INT(ota_db_artifact_delete(db, SHA_B, 51), -ENOENT);
    CHECK_INT(ota_db_artifact_get(db, SHA_B, &a), 0);
    CHECK_INT(a->deleted_at, 50);
    ota_artifact_free(a);
    CHECK_INT(ota_db_artifacts_begin(db, false, &it), 0);
    while (ota_db_artifacts_next(&it, &row) > 0)
        rows++;
    ota_db_iter_end(&it);
    CHECK_INT(rows, 1);
    CHECK_INT(ota_db_artifact_revive(db, SHA_B), 0);
    CHECK_INT(ota_db_artifact_revive(db, SHA_B), -ENOENT);
    /* public (schema 006): off unless set, and set on one artifact only */
    CHECK_INT(ota_db_artifact_get(db, SHA_A, &a), 0);
    CHECK(!a->is_public);
    ota_artifact_free(a);
    CHECK_INT(ota_db_artifact_set_public(db, SHA_A, true), 0);
    CHECK_INT(ota_db_artifact_get(db, SHA_A, &a), 0);
    CHECK(a->is_public);
    ota_artifact_free(a);
    CHECK_INT(ota_db_artifact_get(db, SHA_B, &a), 0);
    CHECK(!a->is_public);
    ota_artifact_free(a);
    CHECK_INT(ota_db_artifact_set_public(db, SHA_A, false), 0);
    CHECK_INT(ota_db_artifact_get(db, SHA_A, &a), 0);
    CHECK(!a->is_public);
    ota_artifact_free(a);
    CHECK_INT(ota_db_artifact_set_public(db, "0000000000000000000000000000000000000000000000000000000000000009", true), -ENOENT);
}

static void test_deployments(struct ota_db *db)
{
    struct ota_campaign *c = NULL;
    struct ota_deployment *d = NULL, stale;
    uint64_t installed = 0, pending = 0, busy = 0, n = 0;
    int64_t c1 = 0, c2 = 0, *others = NULL;
    size_t nothers = 0;
    char bad[OTA_ID_MAX + 1], cursor[OTA_ID_MAX + 1];

    CHECK_INT(ota_db_campaign_insert(db, "c1", SHA_A, OTA_TARGET_GROUP, "g1", 100, &c1), 0);
    CHECK_INT(ota_db_campaign_insert(db, "c1", SHA_A, OTA_TARGET_ALL, "", 100, &c2), -EEXIST);
    CHECK_INT(ota_db_campaign_insert(db, "c2", "0" SHA_A, OTA_TARGET_ALL, "", 100, &c2), -ENOENT);
    CHECK_INT(ota_db_campaign_insert(db, "c2", SHA_B, OTA_TARGET_ALL, "", 100, &c2), 0);
    CHECK_INT(ota_db_group_exists(db, "g1"), 0);
    CHECK_INT(ota_db_group_exists(db, "zz"), -ENOENT);
    CHECK_INT(ota_db_model_exists(db, "m2"), 0);

    /* c1: g1 = V1 V3; V3 runs A already */
    CHECK_INT(ota_db_campaign_get(db, c1, &c), 0);
    CHECK_INT(ota_db_targets_gather(db, c, &n, bad), 0);
    CHECK_INT(n, 2);
    ota_campaign_free(c);
    c = NULL;
    cursor[0] = '\0';
    CHECK_INT(ota_db_targets_next_batch(db, c1, cursor, 100, &n), 0);
    CHECK_INT(n, 2);
    CHECK_STR(cursor, "V3");
    CHECK_INT(ota_test_deploy(db, c1, SHA_A, 110, &installed, &pending), 0);
    CHECK_INT(installed, 1);
    CHECK_INT(pending, 1);
    CHECK_INT(ota_db_campaign_set_state(db, c1, OTA_CAMPAIGN_RUNNING, 110), 0);
    CHECK_COUNTS(db);

    /* c2 (all): V1 busy in c1, V2 V3 V9 free */
    CHECK_INT(ota_db_campaign_get(db, c2, &c), 0);
    CHECK_INT(ota_db_targets_gather(db, c, &n, bad), 0);
    CHECK_INT(n, 4);
    ota_campaign_free(c);
    c = NULL;
    CHECK_INT(ota_db_targets_busy_all(db, c2, &busy), 0);
    CHECK_INT(busy, 1);
    /* batches of two, in id order: V1 V2, then V3 V9, then none */
    cursor[0] = '\0';
    CHECK_INT(ota_db_targets_next_batch(db, c2, cursor, 2, &n), 0);
    CHECK_INT(n, 2);
    CHECK_STR(cursor, "V2");
    CHECK_INT(ota_db_targets_next_batch(db, c2, cursor, 2, &n), 0);
    CHECK_INT(n, 2);
    CHECK_STR(cursor, "V9");
    CHECK_INT(ota_db_targets_next_batch(db, c2, cursor, 2, &n), 0);
    CHECK_INT(n, 0);
    CHECK_STR(cursor, "V9");
    cursor[0] = '\0';
    CHECK_INT(ota_db_targets_next_batch(db, c2, cursor, 100, &n), 0);
    CHECK_INT(n, 4);
    CHECK_INT(ota_db_targets_busy(db, c2, &busy), 0);
    CHECK_INT(busy, 1);
    CHECK_INT(ota_test_deploy(db, c2, SHA_B, 120, &installed, &pending), -EEXIST);
    CHECK_INT(ota_db_targets_supersede(db, c2, "superseded", 120, &n, &others, &nothers), 0);
    CHECK_INT(n, 1);
    CHECK_INT(nothers, 1);
    CHECK_INT(others[0], c1);
    free(others);
    CHECK_INT(ota_test_deploy(db, c2, SHA_B, 120, &installed, &pending), 0);
    CHECK_INT(pending, 4);
    CHECK_INT(ota_db_campaign_set_state(db, c2, OTA_CAMPAIGN_RUNNING, 120), 0);
    CHECK_COUNTS(db);

    /* current, open; the guarded update refuses a stale read */
    CHECK_INT(ota_db_deployment_current(db, "V2", &d), 0);
    CHECK_INT(d->campaign, c2);
    CHECK_INT(d->state, OTA_DEPLOY_PENDING);
    stale = *d;
    CHECK_INT(ota_db_deployment_update(db, d, OTA_DEPLOY_DOWNLOADING, 5, NULL, 130), 0);
    CHECK_INT(ota_db_deployment_update(db, &stale, OTA_DEPLOY_FAILED, 5, "x", 130), -EAGAIN);
    ota_deployment_free(d);
    d = NULL;
    /* paused: pending is held, under way is current */
    CHECK_INT(ota_db_campaign_set_state(db, c2, OTA_CAMPAIGN_PAUSED, 131), 0);
    CHECK_INT(ota_db_deployment_current(db, "V9", &d), -ENOENT);
    CHECK_INT(ota_db_deployment_open(db, "V9", &d), 0);
    ota_deployment_free(d);
    d = NULL;
    CHECK_INT(ota_db_vehicle_may_fetch(db, "V9", SHA_B), -EAGAIN);
    CHECK_INT(ota_db_vehicle_may_fetch(db, "V2", SHA_B), 0);
    CHECK_INT(ota_db_vehicle_may_fetch(db, "V2", SHA_A), -ENOENT);
    CHECK_INT(ota_db_deployment_current(db, "V2", &d), 0);
    ota_deployment_free(d);
    d = NULL;
    CHECK_INT(ota_db_campaign_set_state(db, c2, OTA_CAMPAIGN_RUNNING, 132), 0);

    /* paging by vehicle, and a state filter */
    {
        const struct ota_deployment *row;
        struct ota_db_iter it;
        char seen[128] = "";
        size_t len = 0;

        CHECK_INT(ota_db_deployments_begin(db, c2, OTA_DEPLOY_STATE_COUNT, "V1", &it), 0);
        while (ota_db_deployments_next(&it, &row) > 0)
            len += (size_t)snprintf(seen + len, sizeof(seen) - len, "%s ", row->vehicle);
        ota_db_iter_end(&it);
        CHECK_STR(seen, "V2 V3 V9 ");
        CHECK_INT(ota_db_deployments_begin(db, c2, OTA_DEPLOY_DOWNLOADING, NULL, &it), 0);
        CHECK_INT(ota_db_deployments_next(&it, &row), 1);
        CHECK_STR(row->vehicle, "V2");
        CHECK_INT(ota_db_deployments_next(&it, &row), 0);
        ota_db_iter_end(&it);
        /* an iterator ended early leaves the statement usable */
        CHECK_INT(ota_db_deployments_begin(db, c2, OTA_DEPLOY_STATE_COUNT, NULL, &it), 0);
        CHECK_INT(ota_db_deployments_next(&it, &row), 1);
        ota_db_iter_end(&it);
        CHECK_INT(ota_db_deployments_begin(db, c2, OTA_DEPLOY_STATE_COUNT, NULL, &it), 0);
        CHECK_INT(ota_db_deployments_next(&it, &row), 1);
        CHECK_STR(row->vehicle, "V1");
        ota_db_iter_end(&it);
    }

    /* failures grouped; cancel keeps the counts */
    CHECK_INT(ota_db_deployment_get(db, c2, "V3", &d), 0);
    CHECK_INT(ota_db_deployment_update(db, d, OTA_DEPLOY_FAILED, 0, "disk full", 140), 0);
    ota_deployment_free(d);
    CHECK_INT(ota_db_deployment_get(db, c2, "V9", &d), 0);
    CHECK_INT(ota_db_deployment_update(db, d, OTA_DEPLOY_FAILED, 0, "disk full", 140), 0);
    ota_deployment_free(d);
    d = NULL;
    {
        const struct ota_failure_reason *f;
        struct ota_db_iter it;

        CHECK_INT(ota_db_failures_begin(db, c2, 10, &it), 0);
        CHECK_INT(ota_db_failures_next(&it, &f), 1);
        CHECK_STR(f->detail, "disk full");
        CHECK_INT(f->n, 2);
        CHECK_INT(ota_db_failures_next(&it, &f), 0);
        ota_db_iter_end(&it);
    }
    CHECK_INT(ota_db_deployment_cancel_campaign(db, c2, 150, &n), 0);
    CHECK_INT(n, 2); /* V1 pending, V2 downloading */
    CHECK_INT(ota_db_campaign_get(db, c2, &c), 0);
    CHECK_INT(c->counts[OTA_DEPLOY_CANCELLED], 2);
    CHECK_INT(c->counts[OTA_DEPLOY_FAILED], 2);
    CHECK_INT(ota_campaign_unfinished(c), 0);
    ota_campaign_free(c);
    CHECK_COUNTS(db);

    /* one unfinished deployment per vehicle, whatever inserts it */
    CHECK_INT(ota_db_deployment_insert(db, c1, "V2", OTA_DEPLOY_PENDING, NULL, 160, NULL), 0);
    CHECK_INT(ota_db_deployment_insert(db, c2, "V2", OTA_DEPLOY_FAILED, "x", 160, NULL), -EEXIST);
    CHECK_INT(ota_db_campaign_insert(db, "c3", SHA_A, OTA_TARGET_ALL, "", 100, &c2), 0);
    CHECK_INT(ota_db_deployment_insert(db, c2, "V2", OTA_DEPLOY_PENDING, NULL, 160, NULL), -EEXIST);
    CHECK_INT(ota_db_deployment_insert(db, c2, "nope", OTA_DEPLOY_PENDING, NULL, 160, NULL),
              -ENOENT);
    CHECK_COUNTS(db);
}

static void test_events(struct ota_db *db)
{
    struct ota_event_filter f = { 0 };
    const struct ota_event *e;
    struct ota_db_iter it;
    int n;

    CHECK_INT(ota_db_audit(db, "alice", "campaign.create", NULL, 1, "x"), 0);
    CHECK_INT(ota_db_audit(db, "alice", "campaign.start", NULL, 1, "y"), 0);
    CHECK_INT(ota_db_audit(db, "bob", "vehicle.add", "V1", 0, ""), 0);
    f.kind = "campaign.";
    n = 0;
    CHECK_INT(ota_db_events_begin(db, &f, &it), 0);
    while (ota_db_events_next(&it, &e) > 0) {
        CHECK_STR(e->actor, "alice");
        n++;
    }
    ota_db_iter_end(&it);
    CHECK_INT(n, 2);
    f = (struct ota_event_filter){ .limit = 1 };
    CHECK_INT(ota_db_events_begin(db, &f, &it), 0);
    CHECK_INT(ota_db_events_next(&it, &e), 1);
    CHECK_STR(e->kind, "vehicle.add"); /* the newest */
    CHECK_INT(ota_db_events_next(&it, &e), 0);
    ota_db_iter_end(&it);
    f = (struct ota_event_filter){ .vehicle = "V1", .since = ota_now() + 100 };
    CHECK_INT(ota_db_events_begin(db, &f, &it), 0);
    CHECK_INT(ota_db_events_next(&it, &e), 0);
    ota_db_iter_end(&it);
}

/* A status report through ota_status: events, the counts, the vehicle's installed
 * version, the campaign finishing with its last deployment. */
static void test_status(void)
{
    struct ota_db *db = open_fresh("status.db");
    struct ota_status_report r = { .bytes = 100 };
    struct ota_campaign *c = NULL;
    struct ota_vehicle *v = NULL;
    uint64_t installed, pending;
    int64_t id = 0;
    char err[256];

    add_artifact(db, SHA_A, "3.1");
    CHECK_INT(ota_db_vehicle_add(db, "V1", "", "", NULL), 0);
    CHECK_INT(ota_db_vehicle_add(db, "V2", "", "", NULL), 0);
    CHECK_INT(ota_db_campaign_insert(db, "s", SHA_A, OTA_TARGET_ALL, "", 1, &id), 0);
    r.campaign = id;
    r.state = OTA_DEPLOY_DOWNLOADING;
    CHECK_INT(ota_status_apply(db, "V1", &r, "rest", 60, 0, err, sizeof(err)), -ENOENT);
    CHECK_INT(ota_db_campaign_get(db, id, &c), 0);
    {
        char bad[OTA_ID_MAX + 1], cursor[OTA_ID_MAX + 1] = "";
        uint64_t n;
        CHECK_INT(ota_db_targets_gather(db, c, &n, bad), 0);
        CHECK_INT(ota_db_targets_next_batch(db, id, cursor, 100, &n), 0);
        CHECK_INT(n, 2);
    }
    ota_campaign_free(c);
    CHECK_INT(ota_test_deploy(db, id, SHA_A, 2, &installed, &pending), 0);
    /* a campaign being started is not visible yet */
    CHECK_INT(ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_STARTING, 2), 0);
    CHECK_INT(ota_status_apply(db, "V1", &r, "rest", 60, 0, err, sizeof(err)), -ENOENT);
    CHECK_INT(ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_RUNNING, 2), 0);
    CHECK_INT(ota_status_apply(db, "V1", &r, "rest", 60, 0, err, sizeof(err)), 0);
    CHECK_INT(ota_status_apply(db, "V1", &r, "rest", 60, 0, err, sizeof(err)), 0); /* progress */
    r.state = OTA_DEPLOY_INSTALLED;
    CHECK_INT(ota_status_apply(db, "V1", &r, "mqtt", 60, 0, err, sizeof(err)), 0);
    CHECK_INT(ota_status_apply(db, "V1", &r, "mqtt", 60, 0, err, sizeof(err)),
              OTA_STATUS_DUPLICATE);
    r.state = OTA_DEPLOY_DOWNLOADING;
    CHECK_INT(ota_status_apply(db, "V1", &r, "rest", 60, 0, err, sizeof(err)), -EPERM);
    CHECK_INT(ota_db_vehicle_get(db, "V1", &v), 0);
    CHECK_STR(v->installed_sha256, SHA_A);
    CHECK_STR(v->installed_version, "3.1");
    ota_vehicle_free(v);
    CHECK_INT(ota_db_campaign_get(db, id, &c), 0);
    CHECK_INT(c->state, OTA_CAMPAIGN_RUNNING);
    ota_campaign_free(c);
    r.state = OTA_DEPLOY_FAILED;
    CHECK_INT(ota_status_apply(db, "V2", &r, "ddi", 60, 0, err, sizeof(err)), 0);
    CHECK_INT(ota_db_campaign_get(db, id, &c), 0);
    CHECK_INT(c->state, OTA_CAMPAIGN_FINISHED);
    CHECK_INT(c->counts[OTA_DEPLOY_INSTALLED], 1);
    CHECK_INT(c->counts[OTA_DEPLOY_FAILED], 1);
    ota_campaign_free(c);
    /* a revoked vehicle is refused */
    CHECK_INT(ota_db_vehicle_set_revoked(db, "V2", true), 0);
    CHECK_INT(ota_status_apply(db, "V2", &r, "mqtt", 60, 0, err, sizeof(err)), -EPERM);
    CHECK_COUNTS(db);
    ota_db_close(db);
}

/* On PostgreSQL: the answers to a missing database, a closed port and a bad URL, and an
 * empty database's schema check and migration. */
static void test_open_errors_pg(void)
{
    char url[512];
    struct ota_db *db = NULL;

    snprintf(url, sizeof(url), "%s/no_such_db", ota_test_pg());
    CHECK_INT(ota_db_open(url, 0, &db), -ENOENT);
    CHECK(strstr(ota_db_open_error(), "does not exist") != NULL);
    CHECK_INT(ota_db_open("postgresql://postgres@127.0.0.1:1/postgres", 0, &db),
              -ECONNREFUSED);
    CHECK(ota_db_open_error()[0] != '\0');
    CHECK_INT(ota_db_open("postgresql://postgres@127.0.0.1:notaport/x", 0, &db), -EINVAL);
    CHECK(db == NULL);
    ota_test_db_where(dir, "empty", url, sizeof(url));
    CHECK_FATAL(ota_db_open(url, OTA_DB_CREATE, &db) == 0);
    CHECK_INT(ota_db_check_schema(db), -ESTALE);
    if (ota_db_migrate(db) != 0)
        fprintf(stderr, "migrate: %s\n", ota_db_errmsg(db));
    CHECK_INT(ota_db_migrate(db), 0); /* idempotent */
    CHECK_INT(ota_db_check_schema(db), 0);
    CHECK_INT(ota_db_schema_target(db), 1);
    ota_db_close(db);
}

int main(void)
{
    struct ota_db *db;
    char cmd[300];

    CHECK_FATAL(mkdtemp(dir) != NULL);
    if (ota_test_pg())
        test_open_errors_pg();
    else
        test_open_errors();
    db = open_fresh("main.db");
    test_clients(db);
    test_artifacts(db);
    test_deployments(db);
    test_events(db);
    ota_db_close(db);
    test_status();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    TEST_DONE();
}
