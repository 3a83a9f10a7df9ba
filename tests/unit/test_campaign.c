/* Unit tests of the domain rules on a temp database, store and key: campaign create (what
 * it refuses), start (busy targets refused, superseded or skipped; already-installed
 * vehicles), pause as a brake, resume, cancel (and hawkBit's canceling), revoke and
 * reinstate, artifact publishing, delete, gc and the signing-key check. Every refusal
 * leaves every row as it was; every step keeps the campaigns' counts equal to their rows. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ota_test.h"
#include "ota_test_db.h"
#include "ota_campaign.h"
#include "ota_fleet.h"
#include "ota_publish.h"
#include "ota_sign.h"
#include "ota_status.h"
#include "ota_store.h"

#define POLL  60
#define ACTOR "tester"

static char dir[] = "/tmp/ota-test-campaign-XXXXXX";
static char dbpath[512], store[300], keys[300];
static char sha_a[65], sha_b[65];

/* A file of @n bytes of @c, uploaded as @name @version; its sha256 in @ret. */
static void publish(struct ota_db *db, const char *name, const char *version, char c, size_t n,
                    char ret[65])
{
    char path[400], err[512] = "", buf[4096];
    struct ota_published out;
    struct ota_publish p = { .name = name, .version = version, .store = store, .keys = keys };
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK_FATAL(fd >= 0);
    memset(buf, c, sizeof(buf));
    for (size_t done = 0; done < n; done += sizeof(buf))
        CHECK_FATAL(write(fd, buf, n - done < sizeof(buf) ? n - done : sizeof(buf)) > 0);
    CHECK_FATAL(lseek(fd, 0, SEEK_SET) == 0);
    p.fd = fd;
    CHECK_INT(ota_publish_artifact(db, ACTOR, &p, &out, err, sizeof(err)), 0);
    if (err[0])
        fprintf(stderr, "publish: %s\n", err);
    memcpy(ret, out.digests.sha256, 65);
    close(fd);
}

static struct ota_db *setup(void)
{
    struct ota_db *db = NULL;
    char err[256];

    ota_test_db_where(dir, "campaign.db", dbpath, sizeof(dbpath));
    snprintf(store, sizeof(store), "%s/store", dir);
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    CHECK_FATAL(mkdir(keys, 0700) == 0 && ota_sign_keygen(keys) == 0);
    CHECK_FATAL(ota_store_init(store) == 0);
    CHECK_FATAL(ota_db_open(dbpath, OTA_DB_CREATE, &db) == 0 && ota_db_migrate(db) == 0);
    publish(db, "fw-a.swu", "1.0", 'a', 10000, sha_a);
    publish(db, "fw-b.swu", "2.0", 'b', 20000, sha_b);
    CHECK_INT(ota_fleet_vehicle_add(db, ACTOR, "V1", "m1", "g1", NULL, err, sizeof(err)), 0);
    CHECK_INT(ota_fleet_vehicle_add(db, ACTOR, "V2", "m1", "g1", NULL, err, sizeof(err)), 0);
    CHECK_INT(ota_fleet_vehicle_add(db, ACTOR, "V3", "m2", "g1", "{\"hw\":\"r2\"}", err,
                                    sizeof(err)),
              0);
    CHECK_INT(ota_fleet_vehicle_add(db, ACTOR, "V4", "m1", "g2", NULL, err, sizeof(err)), 0);
    return db;
}

static int64_t create(struct ota_db *db, const char *name, const char *sha,
                      enum ota_target_kind kind, const char *target)
{
    struct ota_campaign_spec s = { name, sha, kind, target };
    char err[512] = "";
    int64_t id = 0;

    CHECK_INT(ota_campaign_create(db, ACTOR, &s, &id, err, sizeof(err)), 0);
    if (err[0])
        fprintf(stderr, "create %s: %s\n", name, err);
    return id;
}

static struct ota_campaign *get(struct ota_db *db, int64_t id)
{
    struct ota_campaign *c = NULL;

    CHECK_FATAL(ota_db_campaign_get(db, id, &c) == 0);
    return c;
}

static enum ota_deploy_state dstate(struct ota_db *db, int64_t campaign, const char *vehicle)
{
    struct ota_deployment *d = NULL;
    enum ota_deploy_state s;

    CHECK_FATAL(ota_db_deployment_get(db, campaign, vehicle, &d) == 0);
    s = d->state;
    ota_deployment_free(d);
    return s;
}

static int report(struct ota_db *db, const char *vehicle, int64_t campaign,
                  enum ota_deploy_state s, unsigned flags)
{
    struct ota_status_report r = { .campaign = campaign, .state = s, .bytes = 1 };
    char err[256];

    return ota_status_apply(db, vehicle, &r, "rest", POLL, flags, err, sizeof(err));
}

/* ---- create ---------------------------------------------------------------------------- */

static void test_create_refusals(struct ota_db *db)
{
    static char big[100 * 1024];
    const struct {
        const char *what;
        struct ota_campaign_spec s;
        int want;
    } cases[] = {
        { "empty name", { "", sha_a, OTA_TARGET_ALL, "" }, -EINVAL },
        { "name with a comma", { "a,b", sha_a, OTA_TARGET_ALL, "" }, -EINVAL },
        { "bad sha", { "x", "abc", OTA_TARGET_ALL, "" }, -EINVAL },
        { "unknown artifact", { "x", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                OTA_TARGET_ALL, "" }, -ENOENT },
        { "unknown group", { "x", sha_a, OTA_TARGET_GROUP, "nosuch" }, -ENOENT },
        { "unknown model", { "x", sha_a, OTA_TARGET_MODEL, "nosuch" }, -ENOENT },
        { "100 KB model", { "x", sha_a, OTA_TARGET_MODEL, big }, -EINVAL },
        { "bad id in list", { "x", sha_a, OTA_TARGET_VEHICLES, "V1,bad id" }, -EINVAL },
        { "empty id in list", { "x", sha_a, OTA_TARGET_VEHICLES, "V1,,V2" }, -EINVAL },
        { "unknown vehicle", { "x", sha_a, OTA_TARGET_VEHICLES, "V1,V9" }, -ENOENT },
        { "attrs not an object", { "x", sha_a, OTA_TARGET_ATTRIBUTES, "[1]" }, -EINVAL },
        { "attrs number value", { "x", sha_a, OTA_TARGET_ATTRIBUTES, "{\"a\":1}" }, -EINVAL },
        { "attrs empty", { "x", sha_a, OTA_TARGET_ATTRIBUTES, "{}" }, -EINVAL },
    };

    memset(big, 'm', sizeof(big) - 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "", *before = ota_test_dump(dbpath);
        int64_t id = 0;
        int r = ota_campaign_create(db, ACTOR, &cases[i].s, &id, err, sizeof(err));

        if (r != cases[i].want || !err[0] || strlen(err) > 400) {
            fprintf(stderr, "create %s: got %d '%s', want %d and a short reason\n",
                    cases[i].what, r, err, cases[i].want);
            ota_test_failures++;
        }
        CHECK_DUMP_SAME(dbpath, before);
    }
    /* a name twice */
    create(db, "dup", sha_a, OTA_TARGET_GROUP, "g2");
    {
        struct ota_campaign_spec s = { "dup", sha_a, OTA_TARGET_ALL, "" };
        char err[256] = "", *before = ota_test_dump(dbpath);
        int64_t id;
        CHECK_INT(ota_campaign_create(db, ACTOR, &s, &id, err, sizeof(err)), -EEXIST);
        CHECK_DUMP_SAME(dbpath, before);
    }
}

/* ---- start, busy targets, already installed ------------------------------------------- */

static void test_start(struct ota_db *db)
{
    struct ota_start_report rep;
    struct ota_campaign *c;
    char err[512], actor[64] = "", *before;
    int64_t c1, c2, c3;

    /* V1 already runs A: recorded installed, not notified */
    CHECK_INT(ota_db_vehicle_installed(db, "V1", sha_a, "1.0", 5), 0);
    c1 = create(db, "c1", sha_a, OTA_TARGET_GROUP, "g1");
    CHECK_INT(ota_campaign_start(db, ACTOR, c1, OTA_START_REFUSE, POLL, store, &rep, err,
                                 sizeof(err)),
              0);
    CHECK_INT(rep.targets, 3);
    CHECK_INT(rep.installed, 1);
    CHECK_INT(rep.pending, 2);
    CHECK_INT(dstate(db, c1, "V1"), OTA_DEPLOY_INSTALLED);
    CHECK_INT(ota_test_outbox(db, "V1", c1, OTA_OUTBOX_PENDING, NULL, 0), 0);
    CHECK_INT(ota_test_outbox(db, "V2", c1, OTA_OUTBOX_PENDING, NULL, 0), 1);
    c = get(db, c1);
    CHECK_INT(c->state, OTA_CAMPAIGN_RUNNING);
    CHECK_INT(c->counts[OTA_DEPLOY_PENDING], 2);
    CHECK_INT(c->counts[OTA_DEPLOY_INSTALLED], 1);
    ota_campaign_free(c);
    CHECK_INT(ota_test_events(db, "campaign.start", actor, sizeof(actor)), 1);
    CHECK_STR(actor, ACTOR);
    CHECK_COUNTS(db);

    /* a second campaign over busy targets: refused, nothing written */
    c2 = create(db, "c2", sha_b, OTA_TARGET_MODEL, "m1"); /* V1 V2 V4 */
    before = ota_test_dump(dbpath);
    CHECK_INT(ota_campaign_start(db, ACTOR, c2, OTA_START_REFUSE, POLL, store, &rep, err,
                                 sizeof(err)),
              -EEXIST);
    CHECK_INT(rep.busy, 1); /* V2: V1's deployment in c1 has ended (installed) */
    CHECK(strstr(err, "--supersede") != NULL);
    CHECK_DUMP_SAME(dbpath, before);
    /* --skip-busy leaves V2 out */
    CHECK_INT(ota_campaign_start(db, ACTOR, c2, OTA_START_SKIP_BUSY, POLL, store, &rep, err,
                                 sizeof(err)),
              0);
    CHECK_INT(rep.skipped, 1);
    CHECK_INT(rep.pending, 2); /* V1 (runs A, not B), V4 */
    CHECK_INT(ota_db_deployment_get(db, c2, "V2", &(struct ota_deployment *){ NULL }), -ENOENT);
    CHECK_COUNTS(db);

    /* --supersede: V2's and V3's c1 deployments end, c1 finishes, c3 takes them */
    c3 = create(db, "c3", sha_b, OTA_TARGET_VEHICLES, "V2,V3");
    CHECK_INT(report(db, "V3", c1, OTA_DEPLOY_DOWNLOADING, 0), 0);
    CHECK_INT(ota_campaign_start(db, ACTOR, c3, OTA_START_SUPERSEDE, POLL, store, &rep, err,
                                 sizeof(err)),
              0);
    CHECK_INT(rep.superseded, 2);
    CHECK_INT(dstate(db, c1, "V2"), OTA_DEPLOY_CANCELLED);
    CHECK_INT(dstate(db, c1, "V3"), OTA_DEPLOY_CANCELLED);
    c = get(db, c1);
    CHECK_INT(c->state, OTA_CAMPAIGN_FINISHED);
    ota_campaign_free(c);
    {
        struct ota_deployment *d = NULL;
        CHECK_INT(ota_db_deployment_get(db, c1, "V2", &d), 0);
        CHECK(d && strstr(d->detail, "superseded by campaign"));
        ota_deployment_free(d);
    }
    /* a report for the superseded deployment is refused */
    CHECK_INT(report(db, "V3", c1, OTA_DEPLOY_INSTALLED, 0), -EPERM);
    CHECK_COUNTS(db);

    /* the store file gone: start refused */
    {
        char path[600];
        int64_t c4 = create(db, "c4", sha_a, OTA_TARGET_GROUP, "g2");

        CHECK_INT(ota_store_path(store, sha_a, path, sizeof(path)), 0);
        CHECK_INT(rename(path, "/tmp/ota-test-campaign-moved"), 0);
        before = ota_test_dump(dbpath);
        CHECK_INT(ota_campaign_start(db, ACTOR, c4, OTA_START_SUPERSEDE, POLL, store, &rep, err,
                                     sizeof(err)),
                  -ENOENT);
        CHECK(strstr(err, "missing from the store") != NULL);
        CHECK_DUMP_SAME(dbpath, before);
        CHECK_INT(rename("/tmp/ota-test-campaign-moved", path), 0);
        CHECK_INT(ota_campaign_cancel(db, ACTOR, c4, err, sizeof(err)), 0);
    }
    /* c2 and c3 end, to leave the fleet idle */
    CHECK_INT(ota_campaign_cancel(db, ACTOR, c2, err, sizeof(err)), 0);
    CHECK_INT(ota_campaign_cancel(db, ACTOR, c3, err, sizeof(err)), 0);
    CHECK_COUNTS(db);
}

/* ---- pause, resume, cancel, canceling ------------------------------------------------- */

static void test_pause_cancel(struct ota_db *db)
{
    struct ota_start_report rep;
    struct ota_deployment *d = NULL;
    char err[512], last[4096];
    int64_t c;
    struct ota_campaign *cc;

    c = create(db, "p1", sha_b, OTA_TARGET_VEHICLES, "V2,V3,V4");
    CHECK_INT(ota_campaign_start(db, ACTOR, c, OTA_START_REFUSE, POLL, store, &rep, err,
                                 sizeof(err)),
              0);
    CHECK_INT(report(db, "V3", c, OTA_DEPLOY_DOWNLOADING, 0), 0);
    CHECK_INT(ota_campaign_pause(db, ACTOR, c, err, sizeof(err)), 0);
    /* held: not current, retained update cleared, artifact refused as paused */
    CHECK_INT(ota_db_deployment_current(db, "V2", &d), -ENOENT);
    CHECK_INT(ota_test_outbox(db, "V2", c, OTA_OUTBOX_PENDING, last, sizeof(last)), 1);
    CHECK_STR(last, ""); /* the clearing message; the announcement was dropped */
    CHECK_INT(ota_test_outbox(db, "V2", c, OTA_OUTBOX_DROPPED, NULL, 0), 1);
    CHECK_INT(ota_db_vehicle_may_fetch(db, "V2", sha_b), -EAGAIN);
    CHECK_INT(report(db, "V2", c, OTA_DEPLOY_DOWNLOADING, 0), -EPERM);
    /* under way: finishes */
    CHECK_INT(ota_db_deployment_current(db, "V3", &d), 0);
    ota_deployment_free(d);
    d = NULL;
    CHECK_INT(ota_db_vehicle_may_fetch(db, "V3", sha_b), 0);
    CHECK_INT(report(db, "V3", c, OTA_DEPLOY_INSTALLED, 0), 0);
    {
        struct ota_vehicle *v = NULL;
        CHECK_INT(ota_db_vehicle_get(db, "V3", &v), 0);
        CHECK_STR(v->installed_sha256, sha_b);
        CHECK_STR(v->installed_version, "2.0");
        ota_vehicle_free(v);
    }
    /* a paused campaign cannot be paused, a running one not resumed */
    {
        char *before = ota_test_dump(dbpath);
        CHECK_INT(ota_campaign_pause(db, ACTOR, c, err, sizeof(err)), -EINVAL);
        CHECK_DUMP_SAME(dbpath, before);
    }
    CHECK_INT(ota_campaign_resume(db, ACTOR, c, POLL, err, sizeof(err)), 0);
    CHECK_INT(ota_db_deployment_current(db, "V2", &d), 0);
    ota_deployment_free(d);
    d = NULL;
    CHECK_INT(ota_test_outbox(db, "V2", c, OTA_OUTBOX_PENDING, last, sizeof(last)), 2);
    CHECK(strstr(last, sha_b) != NULL); /* the update again, after the clear */
    CHECK_COUNTS(db);

    /* cancel: unfinished cancelled and cleared, installed stays installed */
    CHECK_INT(report(db, "V4", c, OTA_DEPLOY_DOWNLOADING, 0), 0);
    CHECK_INT(ota_campaign_cancel(db, ACTOR, c, err, sizeof(err)), 0);
    CHECK_INT(dstate(db, c, "V3"), OTA_DEPLOY_INSTALLED);
    CHECK_INT(dstate(db, c, "V2"), OTA_DEPLOY_CANCELLED);
    CHECK_INT(ota_test_outbox(db, "V4", c, OTA_OUTBOX_PENDING, last, sizeof(last)), 1);
    CHECK_STR(last, "");
    cc = get(db, c);
    CHECK_INT(cc->counts[OTA_DEPLOY_CANCELLED], 2);
    CHECK_INT(cc->counts[OTA_DEPLOY_INSTALLED], 1);
    ota_campaign_free(cc);
    /* REST refused; a hawkBit client canceling: its install after the cancel counts */
    CHECK_INT(report(db, "V4", c, OTA_DEPLOY_INSTALLED, 0), -EPERM);
    CHECK_INT(report(db, "V4", c, OTA_DEPLOY_DOWNLOADING, OTA_STATUS_AFTER_CANCEL), 0);
    CHECK_INT(dstate(db, c, "V4"), OTA_DEPLOY_CANCELLED);
    CHECK_INT(report(db, "V4", c, OTA_DEPLOY_INSTALLED, OTA_STATUS_AFTER_CANCEL), 0);
    CHECK_INT(dstate(db, c, "V4"), OTA_DEPLOY_INSTALLED);
    /* once the cancel is acknowledged, nothing more */
    CHECK_INT(ota_db_deployment_get(db, c, "V2", &d), 0);
    CHECK_INT(ota_db_deployment_cancel_ack(db, d->id), 0);
    ota_deployment_free(d);
    d = NULL;
    CHECK_INT(report(db, "V2", c, OTA_DEPLOY_INSTALLED, OTA_STATUS_AFTER_CANCEL), -EPERM);
    CHECK_COUNTS(db);
}

/* ---- revoke and the last report finishing a campaign --------------------------------- */

static void test_revoke_finish(struct ota_db *db)
{
    struct ota_start_report rep;
    struct ota_campaign *c;
    struct ota_vehicle *v = NULL;
    char err[512], last[4096];
    int64_t id;

    id = create(db, "r1", sha_a, OTA_TARGET_VEHICLES, "V2,V4");
    CHECK_INT(ota_campaign_start(db, ACTOR, id, OTA_START_REFUSE, POLL, store, &rep, err,
                                 sizeof(err)),
              0);
    CHECK_INT(report(db, "V2", id, OTA_DEPLOY_DOWNLOADING, 0), 0);
    CHECK_INT(report(db, "V4", id, OTA_DEPLOY_INSTALLED, 0), 0);
    c = get(db, id);
    CHECK_INT(c->state, OTA_CAMPAIGN_RUNNING);
    ota_campaign_free(c);
    /* revoke during the download: the deployment ends, the campaign finishes */
    CHECK_INT(ota_fleet_vehicle_revoke(db, ACTOR, "V2", err, sizeof(err)), 0);
    CHECK_INT(dstate(db, id, "V2"), OTA_DEPLOY_CANCELLED);
    c = get(db, id);
    CHECK_INT(c->state, OTA_CAMPAIGN_FINISHED);
    ota_campaign_free(c);
    CHECK_INT(ota_test_outbox(db, "V2", 0, OTA_OUTBOX_PENDING, last, sizeof(last)) >= 1, 1);
    CHECK_STR(last, "");
    CHECK_INT(ota_fleet_vehicle_revoke(db, ACTOR, "V2", err, sizeof(err)), 0); /* again: 0 */
    /* add says why it cannot, reinstate brings it back */
    CHECK_INT(ota_fleet_vehicle_add(db, ACTOR, "V2", "", "", NULL, err, sizeof(err)), -EEXIST);
    CHECK(strstr(err, "reinstate") != NULL);
    CHECK_INT(ota_fleet_vehicle_reinstate(db, ACTOR, "V2", err, sizeof(err)), 0);
    CHECK_INT(ota_db_vehicle_get(db, "V2", &v), 0);
    CHECK(!v->revoked);
    ota_vehicle_free(v);
    CHECK_INT(ota_fleet_vehicle_reinstate(db, ACTOR, "V2", err, sizeof(err)), -EINVAL);
    /* edges likewise */
    CHECK_INT(ota_fleet_edge_add(db, ACTOR, "E1", err, sizeof(err)), 0);
    CHECK_INT(ota_fleet_edge_revoke(db, ACTOR, "E1", err, sizeof(err)), 0);
    CHECK_INT(ota_fleet_edge_add(db, ACTOR, "E1", err, sizeof(err)), -EEXIST);
    CHECK_INT(ota_fleet_edge_reinstate(db, ACTOR, "E1", err, sizeof(err)), 0);
    /* bounded fields, said so without echoing them */
    {
        char big[100 * 1024], *before = ota_test_dump(dbpath);

        memset(big, 'm', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        CHECK_INT(ota_fleet_vehicle_add(db, ACTOR, "V9", big, "", NULL, err, sizeof(err)),
                  -EINVAL);
        CHECK(strlen(err) < 200);
        CHECK_INT(ota_fleet_vehicle_add(db, ACTOR, "V9", "", "", "{\"a\":[1]}", err, sizeof(err)),
                  -EINVAL);
        CHECK_DUMP_SAME(dbpath, before);
    }
    CHECK_COUNTS(db);
}

/* ---- artifacts: upload checks, delete, gc, key ---------------------------------------- */

static void test_artifacts(struct ota_db *db)
{
    char err[512] = "", path[600], *before;
    struct ota_store_gc_report gc;
    struct ota_published out;
    int fd;

    /* names that cannot work, an empty file: refused before anything is stored */
    snprintf(path, sizeof(path), "%s/empty", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK_FATAL(fd >= 0);
    {
        const char *bad_names[] = { "../../etc/x", "a/b", "..", "-rf", "a b" };
        for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
            struct ota_publish p = { .fd = fd, .name = bad_names[i], .version = "1",
                                     .store = store, .keys = keys };
            before = ota_test_dump(dbpath);
            CHECK_INT(ota_publish_artifact(db, ACTOR, &p, &out, err, sizeof(err)), -EINVAL);
            CHECK_DUMP_SAME(dbpath, before);
        }
        {
            struct ota_publish p = { .fd = fd, .name = "e.swu", .version = "1", .store = store,
                                     .keys = keys };
            before = ota_test_dump(dbpath);
            CHECK_INT(ota_publish_artifact(db, ACTOR, &p, &out, err, sizeof(err)), -EINVAL);
            CHECK(strstr(err, "empty") != NULL);
            CHECK_DUMP_SAME(dbpath, before);
        }
    }
    close(fd);

    /* delete: refused while an unfinished campaign uses it */
    {
        struct ota_start_report rep;
        int64_t id = create(db, "d1", sha_b, OTA_TARGET_VEHICLES, "V1");
        CHECK_INT(ota_campaign_start(db, ACTOR, id, OTA_START_SUPERSEDE, POLL, store, &rep, err,
                                     sizeof(err)),
                  0);
        before = ota_test_dump(dbpath);
        CHECK_INT(ota_publish_delete(db, ACTOR, store, sha_b, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "not ended") != NULL);
        CHECK_DUMP_SAME(dbpath, before);
        CHECK_INT(ota_campaign_cancel(db, ACTOR, id, err, sizeof(err)), 0);
    }
    CHECK_INT(ota_publish_delete(db, ACTOR, store, sha_b, err, sizeof(err)), 0);
    CHECK_INT(ota_store_path(store, sha_b, path, sizeof(path)), 0);
    CHECK(access(path, F_OK) < 0);
    CHECK_INT(ota_publish_delete(db, ACTOR, store, sha_b, err, sizeof(err)), -ENOENT);
    {
        /* a campaign cannot be made of a deleted artifact */
        struct ota_campaign_spec s = { "del", sha_b, OTA_TARGET_ALL, "" };
        int64_t id;
        CHECK_INT(ota_campaign_create(db, ACTOR, &s, &id, err, sizeof(err)), -ENOENT);
    }

    /* gc: an old orphan store file and a killed upload's temp file go; a locked temp file
     * (an upload in progress) and the live artifact stay */
    {
        char orphan[600], stale[600], live[600];
        struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
        int lockfd;

        CHECK_INT(ota_store_path(store, "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
                                 orphan, sizeof(orphan)), 0);
        snprintf(path, sizeof(path), "%s/sha256/cc", store);
        mkdir(path, 0755);
        fd = open(orphan, O_WRONLY | O_CREAT, 0444);
        CHECK_FATAL(fd >= 0 && write(fd, "orphan", 6) == 6);
        close(fd);
        snprintf(stale, sizeof(stale), "%s/tmp/ingest.dead01", store);
        fd = open(stale, O_WRONLY | O_CREAT, 0600);
        CHECK_FATAL(fd >= 0 && write(fd, "partial", 7) == 7);
        close(fd);
        snprintf(live, sizeof(live), "%s/tmp/ingest.live01", store);
        lockfd = open(live, O_WRONLY | O_CREAT, 0600);
        CHECK_FATAL(lockfd >= 0 && flock(lockfd, LOCK_EX) == 0);
        utimensat(AT_FDCWD, orphan, old, 0);
        utimensat(AT_FDCWD, stale, old, 0);
        utimensat(AT_FDCWD, live, old, 0);
        CHECK_INT(ota_publish_gc(db, ACTOR, store, true, &gc, err, sizeof(err)), 0);
        CHECK_INT(gc.orphan_files, 1);
        CHECK_INT(gc.tmp_files, 1);
        CHECK(access(orphan, F_OK) == 0); /* dry run */
        CHECK_INT(ota_publish_gc(db, ACTOR, store, false, &gc, err, sizeof(err)), 0);
        CHECK_INT(gc.orphan_files, 1);
        CHECK_INT(gc.tmp_files, 1);
        CHECK_INT(gc.kept_files, 1); /* sha_a */
        CHECK(access(orphan, F_OK) < 0 && access(stale, F_OK) < 0 && access(live, F_OK) == 0);
        close(lockfd);
        unlink(live);
    }

    /* the key check: this folder's key signed the artifacts; another does not pass */
    {
        struct ota_sign_pub pub;
        char other[400];

        snprintf(path, sizeof(path), "%s/ota.pub", keys);
        CHECK_INT(ota_sign_pub_load(path, &pub), 0);
        CHECK_INT(ota_publish_key_matches(db, &pub, err, sizeof(err)), 0);
        snprintf(other, sizeof(other), "%s/otherkeys", dir);
        CHECK_FATAL(mkdir(other, 0700) == 0 && ota_sign_keygen(other) == 0);
        snprintf(path, sizeof(path), "%s/ota.pub", other);
        CHECK_INT(ota_sign_pub_load(path, &pub), 0);
        CHECK_INT(ota_publish_key_matches(db, &pub, err, sizeof(err)), -EKEYREJECTED);
    }
}

/* A file that changes while it is read is refused (ota_store's check, as publishing
 * meets it): here the change is made by the progress callback after the first chunk. */
static int grow_file(uint64_t done, uint64_t total, void *ctx)
{
    (void)total;
    if (done <= 1024 * 1024) {
        int fd = open(ctx, O_WRONLY | O_APPEND);
        if (fd >= 0) {
            (void)!write(fd, "more", 4);
            close(fd);
        }
    }
    return 0;
}

static void test_changed_file(struct ota_db *db)
{
    char path[400], err[512] = "", *before, buf[65536];
    struct ota_published out;
    struct ota_publish p = { .name = "grow.swu", .version = "1", .store = store, .keys = keys,
                             .progress = grow_file };
    int fd;

    snprintf(path, sizeof(path), "%s/grow.swu", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    memset(buf, 'g', sizeof(buf));
    for (int i = 0; i < 48; i++)
        CHECK_FATAL(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
    CHECK_FATAL(lseek(fd, 0, SEEK_SET) == 0);
    p.fd = fd;
    p.progress_ctx = path;
    before = ota_test_dump(dbpath);
    CHECK_INT(ota_publish_artifact(db, ACTOR, &p, &out, err, sizeof(err)), -ESTALE);
    CHECK(strstr(err, "changed while it was read") != NULL);
    CHECK_DUMP_SAME(dbpath, before);
    close(fd);
}

int main(void)
{
    struct ota_db *db;
    char cmd[400];

    CHECK_FATAL(mkdtemp(dir) != NULL);
    db = setup();
    test_create_refusals(db);
    test_start(db);
    test_pause_cancel(db);
    test_revoke_finish(db);
    test_artifacts(db);
    test_changed_file(db);
    ota_db_close(db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    TEST_DONE();
}
