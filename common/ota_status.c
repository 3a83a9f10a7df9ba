/* One vehicle status report applied to its deployment, shared by REST, MQTT and DDI. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_campaign.h"
#include "ota_status.h"
#include "ota_util.h"

int ota_status_update_body(struct ota_db *db, const struct ota_deployment *d, const char *url,
                           unsigned poll_after, int64_t issued_at, char **ret)
{
    struct ota_artifact *a = NULL;
    struct ota_update_info u = { 0 };
    int r;

    if ((r = ota_db_artifact_get(db, d->artifact, &a)) < 0)
        return r;
    u.campaign = d->campaign;
    memcpy(u.sha256, a->sha256, sizeof(u.sha256));
    u.size = a->size;
    u.name = a->name;
    u.version = a->version;
    u.signature = a->signature;
    u.url = (char *)url; /* only read by the encoder */
    u.poll_after = poll_after;
    u.issued_at = issued_at;
    r = ota_json_update_encode(&u, ret);
    ota_artifact_free(a);
    return r;
}

int ota_status_queue_refresh(struct ota_db *db, const char *vehicle, unsigned poll_after,
                             int64_t now)
{
    struct ota_deployment *d = NULL;
    char *body = NULL;
    int r;

    r = ota_db_deployment_current(db, vehicle, &d);
    if (r == 0)
        r = ota_status_update_body(db, d, NULL, poll_after, now, &body);
    else if (r == -ENOENT)
        r = 0; /* nothing current: the empty retained message clears the topic */
    if (r == 0)
        r = ota_db_outbox_insert(db, vehicle, d ? d->campaign : 0, NULL, body ? body : "", true,
                                 OTA_OUTBOX_PENDING, now, NULL);
    free(body);
    ota_deployment_free(d);
    return r;
}

/* The report's event: what the vehicle said, whatever it changes. */
static int record(struct ota_db *db, const char *vehicle, const struct ota_status_report *r,
                  const char *actor, const char *kind, int64_t now)
{
    struct ota_event e = {
        .ts = now,
        .actor = actor,
        .kind = kind,
        .vehicle = vehicle,
        .campaign = r->campaign,
        .state = ota_deploy_state_name(r->state),
        .bytes = (int64_t)(r->bytes > INT64_MAX ? INT64_MAX : r->bytes),
        .detail = r->detail,
    };

    return ota_db_event_add(db, &e);
}

/* What the vehicle runs now: the deployment's artifact. */
static int record_install(struct ota_db *db, const char *vehicle, const struct ota_deployment *d,
                          int64_t now)
{
    struct ota_artifact *a = NULL;
    int r = ota_db_artifact_get(db, d->artifact, &a);

    if (r == 0)
        r = ota_db_vehicle_installed(db, vehicle, a->sha256, a->version, now);
    ota_artifact_free(a);
    return r;
}

/* A hawkBit report for an action cancelled but not yet acknowledged: kept as an event,
 * and an install recorded as one (the device ran the update before it heard of the
 * cancel). */
static int apply_after_cancel(struct ota_db *db, const char *vehicle,
                              const struct ota_status_report *r, const struct ota_deployment *d,
                              const char *actor, int64_t now)
{
    int ret = record(db, vehicle, r, actor, "status.canceling", now);

    if (ret < 0 || r->state != OTA_DEPLOY_INSTALLED)
        return ret;
    if ((ret = ota_db_deployment_update(db, d, OTA_DEPLOY_INSTALLED, r->bytes,
                                        "installed before the cancel arrived", now)) < 0)
        return ret == -EAGAIN ? -EBUSY : ret;
    return record_install(db, vehicle, d, now);
}

/* The checks and writes of ota_status_apply(), inside its transaction. */
static int apply_locked(struct ota_db *db, const char *vehicle, const struct ota_status_report *r,
                        const char *actor, unsigned poll_after, unsigned flags, char *err,
                        size_t errlen)
{
    struct ota_deployment *d = NULL;
    int64_t now = ota_now();
    enum ota_client_kind kind;
    bool duplicate = false;
    int ret;

    /* REST and DDI reach here authenticated, MQTT only through the broker's ACL: a revoked
     * vehicle's reports are refused on every path alike. */
    ret = ota_db_client_lookup(db, vehicle, &kind, NULL);
    if (ret == -EACCES || (ret == 0 && kind != OTA_CLIENT_VEHICLE)) {
        ota_errf(err, errlen, "vehicle %s is revoked", vehicle);
        ret = -EPERM;
        goto out;
    }
    if (ret < 0)
        goto out;
    ret = ota_db_deployment_get(db, r->campaign, vehicle, &d);
    if (ret == 0 && (d->campaign_state == OTA_CAMPAIGN_CREATED ||
                     d->campaign_state == OTA_CAMPAIGN_STARTING)) {
        ret = -ENOENT; /* not visible yet: as if it were not there */
    }
    if (ret == -ENOENT) {
        ota_errf(err, errlen, "vehicle %s is not in campaign %lld", vehicle,
                 (long long)r->campaign);
        goto out;
    }
    if (ret < 0)
        goto out;
    if (d->state == OTA_DEPLOY_CANCELLED && (flags & OTA_STATUS_AFTER_CANCEL) && !d->cancel_acked) {
        ret = apply_after_cancel(db, vehicle, r, d, actor, now);
        goto out;
    }
    if (d->campaign_state == OTA_CAMPAIGN_CANCELLED || d->state == OTA_DEPLOY_CANCELLED) {
        ota_errf(err, errlen, "campaign %lld was cancelled%s%s", (long long)r->campaign,
                 d->detail && d->detail[0] ? ": " : "", d->detail ? d->detail : "");
        ret = -EPERM;
        goto out;
    }
    if (!ota_deploy_transition_ok(d->state, r->state, &duplicate)) {
        ota_errf(err, errlen, "deployment is %s; %s would move it backwards",
                 ota_deploy_state_name(d->state), ota_deploy_state_name(r->state));
        ret = -EPERM;
        goto out;
    }
    if (d->campaign_state == OTA_CAMPAIGN_PAUSED && d->state == OTA_DEPLOY_PENDING &&
        r->state != OTA_DEPLOY_PENDING) {
        ota_errf(err, errlen, "campaign %lld is paused: wait for it to resume",
                 (long long)r->campaign);
        ret = -EPERM;
        goto out;
    }
    if (d->held) {
        /* a rollout that has not offered it (yet): a later stage, or outside the window */
        ota_errf(err, errlen, "campaign %lld has not offered this update to %s yet (a later "
                 "stage, or outside its maintenance window)", (long long)r->campaign, vehicle);
        ret = -EPERM;
        goto out;
    }
    if ((ret = record(db, vehicle, r, actor, duplicate ? "status.duplicate" : "status", now)) < 0)
        goto out;
    if (duplicate) {
        ret = OTA_STATUS_DUPLICATE;
        goto out;
    }
    ret = ota_db_deployment_update(db, d, r->state, r->bytes, r->detail, now);
    if (ret == -EAGAIN)
        ret = -EBUSY; /* changed under us (another report): the caller retries */
    if (ret < 0 || (ret = ota_db_vehicle_touch(db, vehicle, now)) < 0)
        goto out;
    if (r->state == OTA_DEPLOY_INSTALLED && (ret = record_install(db, vehicle, d, now)) < 0)
        goto out;
    if (!ota_deploy_state_final(r->state))
        goto out;
    if ((ret = ota_status_queue_refresh(db, vehicle, poll_after, now)) < 0)
        goto out;
    /* the report that crosses a rollout threshold acts on it, in its transaction */
    if ((ret = ota_campaign_rules_apply(db, r->campaign, actor, now)) < 0)
        goto out;
    ret = ota_campaign_finish_if_done(db, r->campaign, now);
out:
    ota_deployment_free(d);
    return ret;
}

int ota_status_apply(struct ota_db *db, const char *vehicle, const struct ota_status_report *r,
                     const char *actor, unsigned poll_after, unsigned flags, char *err,
                     size_t errlen)
{
    int ret;

    if (!ota_id_valid(vehicle)) {
        ota_errf(err, errlen, "invalid vehicle id");
        return -ENOENT;
    }
    if ((ret = ota_db_begin(db)) < 0) {
        ota_errf(err, errlen, "database busy");
        return ret;
    }
    ret = apply_locked(db, vehicle, r, actor, poll_after, flags, err, errlen);
    if (ret >= 0) {
        int c = ota_db_commit(db);

        if (c < 0)
            ret = c;
    }
    if (ret < 0) {
        ota_db_rollback(db);
        if (ret == -EBUSY)
            ota_errf(err, errlen, "database busy");
        else if (ret != -ENOENT && ret != -EPERM)
            ota_errf(err, errlen, "database error: %s", ota_db_errmsg(db));
    }
    return ret;
}
