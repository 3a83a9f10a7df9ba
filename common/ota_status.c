/* One vehicle status report applied to its deployment, shared by REST, MQTT and DDI. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_status.h"
#include "ota_util.h"

int ota_status_update_topic(const char *vehicle, char *buf, size_t len)
{
    int n;

    if (!ota_id_valid(vehicle))
        return -EINVAL;
    n = snprintf(buf, len, "vehicles/%s/update", vehicle);
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int ota_status_update_body(struct ota_db *db, const struct ota_deployment *d,
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
    char topic[OTA_ID_MAX + 32], *body = NULL;
    int r;

    if ((r = ota_status_update_topic(vehicle, topic, sizeof(topic))) < 0)
        return r;
    r = ota_db_deployment_current(db, vehicle, &d);
    if (r == 0)
        r = ota_status_update_body(db, d, poll_after, now, &body);
    else if (r == -ENOENT)
        r = 0; /* nothing current: the empty retained message clears the topic */
    if (r == 0)
        r = ota_db_outbox_insert(db, vehicle, d ? d->campaign : 0, topic, body ? body : "",
                                 true, OTA_OUTBOX_PENDING, now, NULL);
    free(body);
    ota_deployment_free(d);
    return r;
}

/* The checks and writes of ota_status_apply(), inside its transaction. */
static int apply_locked(struct ota_db *db, const char *vehicle, const struct ota_status_report *r,
                        const char *actor, unsigned poll_after, char *err, size_t errlen)
{
    struct ota_deployment *d = NULL;
    int64_t now = ota_now();
    enum ota_client_kind kind;
    bool duplicate = false;
    uint64_t unfinished;
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
    if (ret == -ENOENT) {
        ota_errf(err, errlen, "vehicle %s is not in campaign %lld", vehicle,
                (long long)r->campaign);
        goto out;
    }
    if (ret < 0)
        goto out;
    if (d->campaign_state == OTA_CAMPAIGN_CANCELLED || d->state == OTA_DEPLOY_CANCELLED) {
        ota_errf(err, errlen, "campaign %lld was cancelled", (long long)r->campaign);
        ret = -EPERM;
        goto out;
    }
    if (!ota_deploy_transition_ok(d->state, r->state, &duplicate)) {
        ota_errf(err, errlen, "deployment is %s; %s would move it backwards",
                ota_deploy_state_name(d->state), ota_deploy_state_name(r->state));
        ret = -EPERM;
        goto out;
    }
    {
        struct ota_event e = {
            .ts = now,
            .actor = actor,
            .kind = duplicate ? "status.duplicate" : "status",
            .vehicle = vehicle,
            .campaign = r->campaign,
            .state = ota_deploy_state_name(r->state),
            .bytes = (int64_t)(r->bytes > INT64_MAX ? INT64_MAX : r->bytes),
            .detail = r->detail,
        };

        if ((ret = ota_db_event_add(db, &e)) < 0)
            goto out;
    }
    if (duplicate) {
        ret = OTA_STATUS_DUPLICATE;
        goto out;
    }
    if ((ret = ota_db_deployment_update(db, d->id, r->state, r->bytes, r->detail, now)) < 0 ||
        (ret = ota_db_vehicle_touch(db, vehicle, now)) < 0)
        goto out;
    if (!ota_deploy_state_final(r->state))
        goto out;
    if ((ret = ota_status_queue_refresh(db, vehicle, poll_after, now)) < 0 ||
        (ret = ota_db_deployment_unfinished(db, r->campaign, &unfinished)) < 0)
        goto out;
    if (unfinished == 0 && d->campaign_state != OTA_CAMPAIGN_FINISHED)
        ret = ota_db_campaign_set_state(db, r->campaign, OTA_CAMPAIGN_FINISHED, now);
out:
    ota_deployment_free(d);
    return ret;
}

int ota_status_apply(struct ota_db *db, const char *vehicle, const struct ota_status_report *r,
                     const char *actor, unsigned poll_after, char *err, size_t errlen)
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
    ret = apply_locked(db, vehicle, r, actor, poll_after, err, errlen);
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
