/* Campaign life cycle: start, pause, resume and cancel, each one transaction that moves
 * the campaign, its deployments and its outbox rows together (ota-admin's logic). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_campaign.h"
#include "ota_status.h"
#include "ota_util.h"

/* A growable list of vehicle ids, filled from the db callbacks (a statement cannot be
 * reused while it is being stepped, so work on the rows happens after the walk). */
struct id_list {
    char (*id)[OTA_ID_MAX + 1];
    size_t n;
    size_t cap;
};

static void id_list_clear(struct id_list *l)
{
    free(l->id);
    memset(l, 0, sizeof(*l));
}

static int id_list_add(struct id_list *l, const char *id)
{
    size_t len = strlen(id);

    if (len > OTA_ID_MAX)
        return -EINVAL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char(*ids)[OTA_ID_MAX + 1] = realloc(l->id, cap * sizeof(*ids));

        if (!ids)
            return -ENOMEM;
        l->id = ids;
        l->cap = cap;
    }
    memcpy(l->id[l->n], id, len + 1);
    l->n++;
    return 0;
}

struct target_walk {
    struct id_list *list;
    char bad[OTA_ID_MAX + 1]; /* first unknown or revoked id of an explicit list */
};

static int target_cb(const char *vehicle, bool active, void *p)
{
    struct target_walk *w = p;

    if (!active) {
        if (!w->bad[0])
            snprintf(w->bad, sizeof(w->bad), "%s", vehicle);
        return 0;
    }
    return id_list_add(w->list, vehicle);
}

static int deployment_cb(const struct ota_deployment *d, void *p)
{
    return id_list_add(p, d->vehicle);
}

static int record(struct ota_db *db, const char *kind, int64_t campaign, const char *detail)
{
    struct ota_event e = {
        .ts = ota_now(),
        .actor = "admin",
        .kind = kind,
        .vehicle = NULL,
        .campaign = campaign,
        .state = NULL,
        .bytes = -1,
        .detail = detail,
    };

    return ota_db_event_add(db, &e);
}

/* Reads campaign @id inside the transaction and checks it is in one of the @nallowed
 * states; otherwise -EINVAL with "campaign N is <state>: <verb> needs ...". */
static int campaign_check(struct ota_db *db, int64_t id, const enum ota_campaign_state *allowed,
                          size_t nallowed, const char *verb, const char *needs, char *err,
                          size_t errlen, struct ota_campaign **ret)
{
    struct ota_campaign *c = NULL;
    int r;

    r = ota_db_campaign_get(db, id, &c);
    if (r == -ENOENT) {
        snprintf(err, errlen, "no campaign %lld", (long long)id);
        return r;
    }
    if (r < 0)
        return r;
    for (size_t i = 0; i < nallowed; i++) {
        if (c->state == allowed[i]) {
            *ret = c;
            return 0;
        }
    }
    snprintf(err, errlen, "campaign %lld is %s: only a %s campaign can be %s", (long long)id,
             ota_campaign_state_name(c->state), needs, verb);
    ota_campaign_free(c);
    return -EINVAL;
}

/* Why a vehicle of an explicit target list cannot be deployed to. */
static void explain_bad_vehicle(struct ota_db *db, const char *id, int64_t campaign, char *err,
                                size_t errlen)
{
    struct ota_vehicle *v = NULL;
    int r = ota_db_vehicle_get(db, id, &v);

    snprintf(err, errlen, "campaign %lld cannot start: vehicle '%s' is %s", (long long)campaign, id,
             r == -ENOENT           ? "unknown"
             : r == 0 && v->revoked ? "revoked"
                                    : "not active");
    ota_vehicle_free(v);
}

/* An explicit list: each id checked (unknown or revoked ones refuse the start, with the
 * reason) and inserted on its own; such lists are short. *ret_count: deployments. */
static int deploy_listed(struct ota_db *db, const struct ota_campaign *c, int64_t now, char *err,
                         size_t errlen, uint64_t *ret_count)
{
    struct id_list list = { 0 };
    struct target_walk walk = { .list = &list };
    uint64_t n = 0;
    int r;

    r = ota_db_campaign_targets(db, c, target_cb, &walk);
    if (r < 0)
        goto out;
    if (walk.bad[0]) {
        explain_bad_vehicle(db, walk.bad, c->id, err, errlen);
        r = -EINVAL;
        goto out;
    }
    for (size_t i = 0; i < list.n; i++) {
        r = ota_db_deployment_insert(db, c->id, list.id[i], now, NULL);
        if (r == -EEXIST)
            continue; /* the same id twice in a target: one deployment is enough */
        if (r < 0)
            goto out;
        n++;
    }
    *ret_count = n;
    r = 0;
out:
    id_list_clear(&list);
    return r;
}

int ota_campaign_start(struct ota_db *db, int64_t id, unsigned poll_after, char *err, size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_CREATED };
    struct ota_campaign *c = NULL;
    char detail[64];
    char *body = NULL;
    uint64_t deployed = 0, queued = 0;
    int64_t now = ota_now();
    int r;

    err[0] = '\0';
    r = ota_db_begin(db);
    if (r < 0)
        return r;
    r = campaign_check(db, id, allowed, 1, "started", "created", err, errlen, &c);
    if (r < 0)
        goto out;
    /* The snapshot is set-based: one INSERT ... SELECT for the deployments (group, model,
     * all, attributes) and one for the outbox rows, whatever the fleet size, in this one
     * transaction. */
    if (c->target_kind == OTA_TARGET_VEHICLES)
        r = deploy_listed(db, c, now, err, errlen, &deployed);
    else
        r = ota_db_deployment_insert_targets(db, c, now, &deployed);
    if (r < 0)
        goto out;
    if (deployed == 0) {
        snprintf(err, errlen, "campaign %lld cannot start: its target selects no active vehicle",
                 (long long)id);
        r = -EINVAL;
        goto out;
    }
    r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_RUNNING, now);
    if (r < 0)
        goto out;
    /* Every vehicle's message is the same: what GET /v1/updates answers for this campaign
     * (the same function builds both), plus issued_at. Built once, not once per vehicle. */
    {
        struct ota_deployment proto = { .campaign = id };

        memcpy(proto.artifact, c->artifact, sizeof(proto.artifact));
        r = ota_status_update_body(db, &proto, poll_after, now, &body);
        if (r < 0)
            goto out;
    }
    /* One row per deployment, all sharing the one stored body; each row goes to its
     * vehicle's update topic (ota_status_update_topic). */
    r = ota_db_outbox_insert_campaign(db, id, body, now, &queued);
    if (r < 0)
        goto out;
    snprintf(detail, sizeof(detail), "%llu vehicles", (unsigned long long)queued);
    r = record(db, "campaign.start", id, detail);
    if (r < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    free(body);
    ota_campaign_free(c);
    return r;
}

/* pause and resume: one state move and one outbox move, with an event. */
static int campaign_hold(struct ota_db *db, int64_t id, bool pause, char *err, size_t errlen)
{
    const enum ota_campaign_state from = pause ? OTA_CAMPAIGN_RUNNING : OTA_CAMPAIGN_PAUSED;
    struct ota_campaign *c = NULL;
    int r;

    err[0] = '\0';
    r = ota_db_begin(db);
    if (r < 0)
        return r;
    r = campaign_check(db, id, &from, 1, pause ? "paused" : "resumed", pause ? "running" : "paused",
                       err, errlen, &c);
    if (r < 0)
        goto out;
    r = ota_db_campaign_set_state(db, id, pause ? OTA_CAMPAIGN_PAUSED : OTA_CAMPAIGN_RUNNING,
                                  ota_now());
    if (r < 0)
        goto out;
    /* A vehicle that finished during the pause (it had fetched over REST) already got its
     * clearing message; releasing its held update now would leave that update retained. */
    if (!pause)
        r = ota_db_outbox_drop_ended(db, id);
    if (r < 0)
        goto out;
    r = ota_db_outbox_move_campaign(db, id, pause ? OTA_OUTBOX_PENDING : OTA_OUTBOX_HELD,
                                    pause ? OTA_OUTBOX_HELD : OTA_OUTBOX_PENDING);
    if (r < 0)
        goto out;
    r = record(db, pause ? "campaign.pause" : "campaign.resume", id, "");
    if (r < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_campaign_free(c);
    return r;
}

int ota_campaign_pause(struct ota_db *db, int64_t id, char *err, size_t errlen)
{
    return campaign_hold(db, id, true, err, errlen);
}

int ota_campaign_resume(struct ota_db *db, int64_t id, char *err, size_t errlen)
{
    return campaign_hold(db, id, false, err, errlen);
}

int ota_campaign_cancel(struct ota_db *db, int64_t id, unsigned poll_after, char *err,
                        size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_CREATED, OTA_CAMPAIGN_RUNNING,
                                                       OTA_CAMPAIGN_PAUSED };
    struct ota_campaign *c = NULL;
    struct id_list list = { 0 };
    int64_t now = ota_now();
    int r;

    err[0] = '\0';
    r = ota_db_begin(db);
    if (r < 0)
        return r;
    r = campaign_check(db, id, allowed, 3, "cancelled", "created, running or paused", err, errlen,
                       &c);
    if (r < 0)
        goto out;
    r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_CANCELLED, now);
    if (r < 0)
        goto out;
    r = ota_db_deployment_cancel_campaign(db, id, now);
    if (r < 0)
        goto out;
    r = ota_db_outbox_move_campaign(db, id, OTA_OUTBOX_HELD, OTA_OUTBOX_DROPPED);
    if (r < 0)
        goto out;
    r = ota_db_outbox_move_campaign(db, id, OTA_OUTBOX_PENDING, OTA_OUTBOX_DROPPED);
    if (r < 0)
        goto out;
    r = ota_db_deployment_list(db, id, deployment_cb, &list);
    if (r < 0)
        goto out;
    /* The refresh makes each topic say what the vehicle should do now: empty, or another
     * campaign that is still active, so that clearing this one never hides that one. */
    for (size_t i = 0; i < list.n; i++) {
        r = ota_status_queue_refresh(db, list.id[i], poll_after, now);
        if (r < 0)
            goto out;
    }
    r = record(db, "campaign.cancel", id, "");
    if (r < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_campaign_free(c);
    id_list_clear(&list);
    return r;
}
