/* Unit tests of staged rollouts in the domain code on a temp database and store
 * (ota_campaign.c over ota_rollout.c): a staged start with a canary group (exact stage
 * sizes, the canary first, only stage 1 notified), a stage opening on the report that
 * meets its threshold and its messages queued in batches, the brake pausing on failures,
 * retry, and the per-stage counts the triggers keep equal to the rows whatever moves a
 * deployment (reports, cancel, retry). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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
#define N     40 /* vehicles R01..R40; R37..R40 in group "canary" */

static char dir[] = "/tmp/ota-test-rollout-XXXXXX";
static char store[300], keys[300];
static char sha_a[65], sha_b[65];

static void publish(struct ota_db *db, const char *name, char c, char ret[65])
{
    char path[400], err[512] = "", buf[1000];
    struct ota_published out;
    struct ota_publish p = { .name = name, .version = name, .store = store, .keys = keys };
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK_FATAL(fd >= 0);
    memset(buf, c, sizeof(buf));
    CHECK_FATAL(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
    CHECK_FATAL(lseek(fd, 0, SEEK_SET) == 0);
    p.fd = fd;
    CHECK_INT(ota_publish_artifact(db, ACTOR, &p, &out, err, sizeof(err)), 0);
    memcpy(ret, out.digests.sha256, 65);
    close(fd);
}

static struct ota_db *setup(void)
{
    struct ota_db *db = NULL;
    char path[400], err[256], id[8];

    ota_test_db_where(dir, "rollout.db", path, sizeof(path));
    snprintf(store, sizeof(store), "%s/store", dir);
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    CHECK_FATAL(mkdir(keys, 0700) == 0 && ota_sign_keygen(keys) == 0);
    CHECK_FATAL(ota_store_init(store) == 0);
    CHECK_FATAL(ota_db_open(path, OTA_DB_CREATE, &db) == 0 && ota_db_migrate(db) == 0);
    publish(db, "a.bin", 'a', sha_a);
    publish(db, "b.bin", 'b', sha_b);
    for (int i = 1; i <= N; i++) {
        snprintf(id, sizeof(id), "R%02d", i);
        CHECK_INT(ota_fleet_vehicle_add(db, ACTOR, id, "m", i > N - 4 ? "canary" : "fleet",
                                        NULL, err, sizeof(err)),
                  0);
    }
    return db;
}

static struct ota_campaign *get(struct ota_db *db, int64_t id)
{
    struct ota_campaign *c = NULL;

    CHECK_FATAL(ota_db_campaign_get(db, id, &c) == 0);
    return c;
}

static int report(struct ota_db *db, const char *vehicle, int64_t campaign,
                  enum ota_deploy_state s)
{
    struct ota_status_report r = { .campaign = campaign, .state = s };
    char err[256] = "";
    int rc = ota_status_apply(db, vehicle, &r, "rest", POLL, 0, err, sizeof(err));

    if (rc < 0)
        fprintf(stderr, "report %s %s: %s\n", vehicle, ota_deploy_state_name(s), err);
    return rc;
}

/* Per stage, the kept counts equal the rows; their sum equals the campaign's counts. */
static void check_stage_counts(struct ota_db *db, int64_t id, unsigned want_stages)
{
    struct ota_stage st[OTA_STAGES_MAX];
    struct ota_campaign *c = get(db, id);
    uint64_t sum[OTA_DEPLOY_STATE_COUNT] = { 0 }, rows[OTA_STAGES_MAX + 1][OTA_DEPLOY_STATE_COUNT];
    const struct ota_deployment *d;
    struct ota_db_iter it = { 0 };
    unsigned n = 0;

    memset(rows, 0, sizeof(rows));
    CHECK_INT(ota_db_stages_get(db, id, st, &n), 0);
    CHECK_INT(n, want_stages);
    CHECK_INT(ota_db_deployments_begin(db, id, OTA_DEPLOY_STATE_COUNT, NULL, &it), 0);
    while (ota_db_deployments_next(&it, &d) > 0)
        rows[d->stage < OTA_STAGES_MAX ? d->stage : 0][d->state]++;
    ota_db_iter_end(&it);
    for (unsigned i = 0; i < n; i++) {
        for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++) {
            CHECK_INT(st[i].counts[s], rows[st[i].stage][s]);
            sum[s] += st[i].counts[s];
        }
    }
    for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
        CHECK_INT(sum[s], c->counts[s]);
    ota_campaign_free(c);
}

/* The vehicles of @stage, in id order, into @out (at most N). */
static unsigned members(struct ota_db *db, int64_t id, unsigned stage, char out[N][8])
{
    const struct ota_deployment *d;
    struct ota_db_iter it = { 0 };
    unsigned n = 0;

    CHECK_INT(ota_db_deployments_begin(db, id, OTA_DEPLOY_STATE_COUNT, NULL, &it), 0);
    while (ota_db_deployments_next(&it, &d) > 0) {
        if (d->stage == stage && n < N)
            snprintf(out[n++], 8, "%.7s", d->vehicle);
    }
    ota_db_iter_end(&it);
    return n;
}

/* Outbox rows with a body for @campaign (update messages queued). */
static unsigned updates_queued(struct ota_db *db, int64_t campaign)
{
    const struct ota_outbox_row *o;
    struct ota_db_iter it = { 0 };
    unsigned n = 0;

    CHECK_INT(ota_db_outbox_list_begin(db, NULL, &it), 0);
    while (ota_db_outbox_next(&it, &o) > 0)
        n += o->campaign == campaign && o->payload_id != 0;
    ota_db_iter_end(&it);
    return n;
}

static int64_t create(struct ota_db *db, const char *name, const char *sha,
                      const struct ota_rollout_spec *ro)
{
    struct ota_campaign_spec s = { name, sha, OTA_TARGET_ALL, "", *ro };
    char err[512] = "";
    int64_t id = 0;

    CHECK_INT(ota_campaign_create(db, ACTOR, &s, &id, err, sizeof(err)), 0);
    if (err[0])
        fprintf(stderr, "create %s: %s\n", name, err);
    return id;
}

static void test_stages(struct ota_db *db)
{
    const struct ota_rollout_spec ro = { .stages = "10%,50%", .canary = "canary" };
    struct ota_start_report rep;
    struct ota_campaign *c;
    char s1[N][8], s2[N][8], err[512] = "";
    int64_t id = create(db, "staged", sha_a, &ro);

    CHECK_INT(ota_campaign_start(db, ACTOR, id, OTA_START_REFUSE, POLL, store, &rep, err,
                                 sizeof(err)),
              0);
    c = get(db, id);
    CHECK_INT(c->stage_count, 3); /* 10 %, 50 % and the 100 % added */
    CHECK_INT(c->stage_open, 1);
    CHECK(c->offering);
    ota_campaign_free(c);
    /* exact sizes; the canary group is stage 1 */
    CHECK_INT(members(db, id, 1, s1), 4);
    CHECK_INT(members(db, id, 2, s2), 16);
    for (int i = 0; i < 4; i++)
        CHECK(strcmp(s1[i], "R37") >= 0);
    check_stage_counts(db, id, 3);
    /* only stage 1 is notified and offered */
    CHECK_INT(updates_queued(db, id), 4);
    {
        struct ota_deployment *d = NULL;
        CHECK_INT(ota_db_deployment_current(db, s2[0], &d), -ENOENT);
        CHECK_INT(ota_db_deployment_current(db, s1[0], &d), 0);
        ota_deployment_free(d);
        CHECK_INT(report(db, s2[0], id, OTA_DEPLOY_DOWNLOADING), -EPERM);
    }
    /* three of four installed: stage 1 not met */
    for (int i = 0; i < 3; i++) {
        CHECK_INT(report(db, s1[i], id, OTA_DEPLOY_DOWNLOADING), 0);
        CHECK_INT(report(db, s1[i], id, OTA_DEPLOY_INSTALLED), 0);
    }
    c = get(db, id);
    CHECK_INT(c->stage_open, 1);
    ota_campaign_free(c);
    CHECK_INT(ota_test_events(db, "campaign.stage", NULL, 0), 0);
    /* the fourth: stage 2 opens in its transaction, by the door it came through */
    CHECK_INT(report(db, s1[3], id, OTA_DEPLOY_INSTALLED), 0);
    c = get(db, id);
    CHECK_INT(c->stage_open, 2);
    CHECK(c->announce_due);
    ota_campaign_free(c);
    {
        char actor[32] = "";
        CHECK_INT(ota_test_events(db, "campaign.stage", actor, sizeof(actor)), 1);
        CHECK_STR(actor, "rest");
    }
    /* offered at once; notified by the announce job */
    {
        struct ota_deployment *d = NULL;
        uint64_t n = 0;
        CHECK_INT(ota_db_deployment_current(db, s2[0], &d), 0);
        ota_deployment_free(d);
        CHECK_INT(ota_campaign_announce(db, id, POLL, 0, &n), 0);
        CHECK_INT(n, 16);
        CHECK_INT(updates_queued(db, id), 20);
        CHECK_INT(ota_campaign_announce(db, id, POLL, 0, &n), 0); /* nothing asked any more */
        CHECK_INT(n, 0);
    }
    check_stage_counts(db, id, 3);
    /* a cancel moves every stage's counts (triggers) */
    CHECK_INT(ota_campaign_cancel(db, ACTOR, id, err, sizeof(err)), 0);
    check_stage_counts(db, id, 3);
}

static void test_brake_retry(struct ota_db *db)
{
    const struct ota_rollout_spec ro = { .stages = "50%", .max_failures = "2" };
    struct ota_start_report rep;
    struct ota_campaign *c;
    char s1[N][8], err[512] = "";
    uint64_t n = 0, busy = 0;
    int64_t id = create(db, "brake", sha_b, &ro);

    CHECK_INT(ota_campaign_start(db, ACTOR, id, OTA_START_REFUSE, POLL, store, &rep, err,
                                 sizeof(err)),
              0);
    CHECK_INT(members(db, id, 1, s1), 20);
    CHECK_INT(report(db, s1[0], id, OTA_DEPLOY_FAILED), 0);
    c = get(db, id);
    CHECK_INT(c->state, OTA_CAMPAIGN_RUNNING);
    ota_campaign_free(c);
    CHECK_INT(report(db, s1[1], id, OTA_DEPLOY_DOWNLOADING), 0);
    CHECK_INT(report(db, s1[1], id, OTA_DEPLOY_FAILED), 0);
    c = get(db, id);
    CHECK_INT(c->state, OTA_CAMPAIGN_PAUSED);
    ota_campaign_free(c);
    CHECK_INT(ota_test_events(db, "campaign.brake", NULL, 0), 1);
    /* paused: a vehicle not under way may not start */
    CHECK_INT(report(db, s1[2], id, OTA_DEPLOY_DOWNLOADING), -EPERM);
    check_stage_counts(db, id, 2);
    /* retry: both pending again, counts and stage counts follow */
    CHECK_INT(ota_campaign_retry(db, ACTOR, id, POLL, &n, &busy, err, sizeof(err)), 0);
    CHECK_INT(n, 2);
    CHECK_INT(busy, 0);
    c = get(db, id);
    CHECK_INT(c->counts[OTA_DEPLOY_FAILED], 0);
    CHECK_INT(c->counts[OTA_DEPLOY_PENDING], N);
    ota_campaign_free(c);
    check_stage_counts(db, id, 2);
    CHECK_INT(ota_campaign_retry(db, ACTOR, id, POLL, &n, &busy, err, sizeof(err)), -EINVAL);
    /* advance on a campaign that is not waiting / not running */
    CHECK_INT(ota_campaign_advance(db, ACTOR, id, POLL, err, sizeof(err)), -EINVAL);
    CHECK_INT(ota_campaign_resume(db, ACTOR, id, POLL, err, sizeof(err)), 0);
    CHECK_INT(ota_campaign_advance(db, ACTOR, id, POLL, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "is not waiting") != NULL);
    CHECK_INT(ota_campaign_cancel(db, ACTOR, id, err, sizeof(err)), 0);
}

int main(void)
{
    struct ota_db *db;
    char cmd[400];

    CHECK_FATAL(mkdtemp(dir) != NULL);
    db = setup();
    test_stages(db);
    test_brake_retry(db);
    ota_db_close(db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    TEST_DONE();
}
