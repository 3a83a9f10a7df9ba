/* ntf_outbox without a broker: rows of a real database (SQLite, or PostgreSQL under
 * with_pg.sh) published through a recording sink. Id order, the in-flight limit, marks
 * only after a PUBACK, a refused PUBACK deferring its row and holding back that vehicle's
 * later rows (and no other vehicle's), a publish error likewise, no session: nothing sent
 * and nothing lost. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ota_db.h"
#include "ota_test.h"
#include "ota_test_db.h"
#include "ntf_outbox.h"

static char dir[] = "/tmp/ota-test-ntfout-XXXXXX";

/* The sink: what was sent, in order; a switch for "no session" and a failing topic. */
struct sent {
    char topic[128];
    char payload[256];
    bool retain;
    int mid;
};
static struct recorder {
    struct sent msg[64];
    unsigned n;
    int next_mid;
    bool down;
    const char *fail_topic; /* publishing to it fails with -EIO */
} rec;

static int rec_publish(void *ctx, const char *topic, const void *payload, size_t len, bool retain,
                       int *ret_mid)
{
    struct recorder *r = ctx;

    if (r->down)
        return -ENOTCONN;
    if (r->fail_topic && strcmp(topic, r->fail_topic) == 0)
        return -EIO;
    CHECK_FATAL(r->n < 64 && len < sizeof(r->msg[0].payload));
    snprintf(r->msg[r->n].topic, sizeof(r->msg[0].topic), "%s", topic);
    memcpy(r->msg[r->n].payload, payload, len);
    r->msg[r->n].payload[len] = '\0';
    r->msg[r->n].retain = retain;
    r->msg[r->n].mid = ++r->next_mid;
    *ret_mid = r->msg[r->n].mid;
    r->n++;
    return 0;
}

static bool rec_up(void *ctx)
{
    return !((struct recorder *)ctx)->down;
}

static int64_t add_row(struct ota_db *db, const char *vehicle, const char *payload)
{
    int64_t id = 0;

    CHECK_INT(ota_db_outbox_insert(db, vehicle, 0, NULL, payload, true, OTA_OUTBOX_PENDING,
                                   ota_now(), &id),
              0);
    return id;
}

static int state_of(struct ota_db *db, const char *vehicle, int64_t id)
{
    const struct ota_outbox_row *r;
    struct ota_db_iter it;
    int state = -1;

    CHECK_FATAL(ota_db_outbox_list_begin(db, vehicle, &it) == 0);
    while (ota_db_outbox_next(&it, &r) > 0)
        if (r->id == id)
            state = (int)r->state;
    ota_db_iter_end(&it);
    return state;
}

/* PUBACKs for messages [from, to) of the recorder, with @reason. */
static void ack(struct ntf_outbox *o, unsigned from, unsigned to, int reason)
{
    for (unsigned i = from; i < to; i++)
        ntf_outbox_puback(o, rec.msg[i].mid, reason);
}

int main(void)
{
    struct ntf_stats stats = { 0 };
    struct ntf_outbox o;
    struct ota_db *db = NULL;
    char where[512];
    int64_t a1, a2, b1, a3, c1;

    CHECK_FATAL(mkdtemp(dir) != NULL);
    ota_test_db_where(dir, "outbox.db", where, sizeof(where));
    CHECK_FATAL(ota_db_open(where, OTA_DB_CREATE, &db) == 0 && ota_db_migrate(db) == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "VA", "", "", NULL) == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "VB", "", "", NULL) == 0);
    CHECK_FATAL(ota_db_vehicle_add(db, "VC", "", "", NULL) == 0);
    a1 = add_row(db, "VA", "{\"n\":1}");
    b1 = add_row(db, "VB", "{\"n\":2}");
    a2 = add_row(db, "VA", ""); /* the empty (clearing) message */

    CHECK_INT(ntf_outbox_init(&o, db, "ota/v1", NULL, 0, (struct ntf_outbox_sink){ 0 }, &stats),
              -EINVAL);
    ntf_outbox_free(&o);
    CHECK_INT(ntf_outbox_init(&o, db, "ota/v1", NULL, 2,
                              (struct ntf_outbox_sink){ rec_publish, rec_up, &rec }, &stats),
              0);

    /* no session: nothing goes out, nothing changes */
    rec.down = true;
    CHECK_INT(ntf_outbox_drain(&o), 0);
    CHECK_INT(rec.n, 0);
    CHECK_INT(state_of(db, "VA", a1), OTA_OUTBOX_PENDING);
    rec.down = false;

    /* two in flight at most, in id order, with the prefix */
    CHECK_INT(ntf_outbox_drain(&o), 0);
    CHECK_INT(rec.n, 2);
    CHECK_STR(rec.msg[0].topic, "ota/v1/vehicles/VA/update");
    CHECK_STR(rec.msg[0].payload, "{\"n\":1}");
    CHECK(rec.msg[0].retain);
    CHECK_STR(rec.msg[1].topic, "ota/v1/vehicles/VB/update");
    CHECK_INT(stats.sent, 2);
    CHECK(o.backlog);
    /* not marked before the PUBACK */
    CHECK_INT(ntf_outbox_flush_acks(&o), 0);
    CHECK_INT(state_of(db, "VA", a1), OTA_OUTBOX_PENDING);
    ack(&o, 0, 1, 0);
    CHECK_INT(ntf_outbox_flush_acks(&o), 0);
    CHECK_INT(state_of(db, "VA", a1), OTA_OUTBOX_PUBLISHED);
    CHECK_INT(state_of(db, "VB", b1), OTA_OUTBOX_PENDING);
    CHECK_INT(stats.published, 1);
    /* a slot is free again: the clearing message of VA, empty */
    CHECK_INT(ntf_outbox_drain(&o), 0);
    CHECK_INT(rec.n, 3);
    CHECK_STR(rec.msg[2].topic, "ota/v1/vehicles/VA/update");
    CHECK_STR(rec.msg[2].payload, "");
    ack(&o, 1, 3, 0);
    CHECK_INT(ntf_outbox_flush_acks(&o), 0);
    CHECK_INT(state_of(db, "VB", b1), OTA_OUTBOX_PUBLISHED);
    CHECK_INT(state_of(db, "VA", a2), OTA_OUTBOX_PUBLISHED);
    CHECK_INT(stats.published, 3);

    /* a refused PUBACK (MQTT 5 0x87): the row is deferred and VA's later row waits
     * behind it; VC's row goes out */
    a3 = add_row(db, "VA", "{\"n\":3}");
    CHECK_INT(ntf_outbox_drain(&o), 0);
    CHECK_INT(rec.n, 4);
    ack(&o, 3, 4, 0x87);
    CHECK_INT(stats.refused, 1);
    CHECK_INT(state_of(db, "VA", a3), OTA_OUTBOX_PENDING);
    int64_t a4 = add_row(db, "VA", "{\"n\":4}");
    c1 = add_row(db, "VC", "{\"n\":5}");
    o.rescan = true;
    CHECK_INT(ntf_outbox_drain(&o), 0);
    CHECK_INT(rec.n, 5);
    CHECK_STR(rec.msg[4].topic, "ota/v1/vehicles/VC/update");
    ack(&o, 4, 5, 0);
    CHECK_INT(ntf_outbox_flush_acks(&o), 0);
    CHECK_INT(state_of(db, "VC", c1), OTA_OUTBOX_PUBLISHED);
    CHECK_INT(state_of(db, "VA", a4), OTA_OUTBOX_PENDING);
    CHECK_INT(stats.retries, 1);

    /* a publish error defers likewise (VB's topic fails) */
    int64_t b2 = add_row(db, "VB", "{\"n\":6}");
    rec.fail_topic = "ota/v1/vehicles/VB/update";
    o.rescan = true;
    CHECK_INT(ntf_outbox_drain(&o), 0);
    CHECK_INT(rec.n, 5);
    CHECK_INT(stats.retries, 2);
    CHECK_INT(state_of(db, "VB", b2), OTA_OUTBOX_PENDING);
    rec.fail_topic = NULL;

    /* a new outbox on the same database (a restart): the deferred rows still hold their
     * vehicles back */
    ntf_outbox_free(&o);
    CHECK_INT(ntf_outbox_init(&o, db, "ota/v1", NULL, 4,
                              (struct ntf_outbox_sink){ rec_publish, rec_up, &rec }, &stats),
              0);
    CHECK_INT(ntf_outbox_load_blocks(&o), 0);
    CHECK_INT(ntf_outbox_drain(&o), 0);
    CHECK_INT(rec.n, 5);
    CHECK_INT(ntf_outbox_gauges(&o), 0);
    CHECK_INT(stats.pending, 3);
    ntf_outbox_free(&o);
    ota_db_close(db);
    if (!ota_db_is_url(where))
        ota_test_remove_db(where);
    rmdir(dir);
    TEST_DONE();
}
