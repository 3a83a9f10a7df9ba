/* Vehicles and edges: see ota_fleet.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ota_campaign.h"
#include "ota_fleet.h"
#include "ota_util.h"

int ota_fleet_vehicle_check(const char *model, const char *group, const char *attributes,
                            char **ret_attrs, char *err, size_t errlen)
{
    json_t *o = NULL, *v;
    const char *key;
    char *canon = NULL;
    int r = -EINVAL;

    /* a field is echoed in messages: say what is wrong without echoing a huge value */
    if (model && model[0] && !ota_label_valid(model, OTA_LABEL_MAX)) {
        ota_errf(err, errlen, "--model: 1 to %d printable characters without a comma "
                 "(got %zu bytes)", OTA_LABEL_MAX, strlen(model));
        goto out;
    }
    if (group && group[0] && !ota_label_valid(group, OTA_LABEL_MAX)) {
        ota_errf(err, errlen, "--group: 1 to %d printable characters without a comma "
                 "(got %zu bytes)", OTA_LABEL_MAX, strlen(group));
        goto out;
    }
    if (attributes) {
        if (strlen(attributes) > OTA_ATTRIBUTES_MAX) {
            ota_errf(err, errlen, "--attr: more than %d bytes", OTA_ATTRIBUTES_MAX);
            goto out;
        }
        o = json_loads(attributes, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o)) {
            ota_errf(err, errlen, "--attr: not a JSON object of strings");
            goto out;
        }
        json_object_foreach(o, key, v) {
            if (!ota_label_valid(key, OTA_LABEL_MAX) || !json_is_string(v) ||
                strlen(json_string_value(v)) > OTA_LABEL_MAX) {
                ota_errf(err, errlen, "--attr: keys are labels and values strings of at most "
                         "%d bytes", OTA_LABEL_MAX);
                goto out;
            }
        }
        canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        if (!canon) {
            r = -ENOMEM;
            goto out;
        }
    }
    if (ret_attrs) {
        *ret_attrs = canon;
        canon = NULL;
    }
    r = 0;
out:
    free(canon);
    json_decref(o);
    return r;
}

/* Commits or rolls back after @r. */
static int finish(struct ota_db *db, int r)
{
    if (r >= 0)
        r = ota_db_commit(db);
    if (r < 0)
        ota_db_rollback(db);
    return r;
}

/* Why an id cannot be added: a vehicle (revoked or not) or an edge has it. */
static void explain_exists(struct ota_db *db, const char *id, char *err, size_t errlen)
{
    struct ota_vehicle *v = NULL;
    struct ota_edge e;

    if (ota_db_vehicle_get(db, id, &v) == 0)
        ota_errf(err, errlen, "vehicle %s already exists%s", id,
                 v->revoked ? " (revoked: 'vehicle reinstate' makes it active again)" : "");
    else if (ota_db_edge_get(db, id, &e) == 0)
        ota_errf(err, errlen, "%s is already a CDN edge%s: vehicles and edges share one id space",
                 id, e.revoked ? " (revoked)" : "");
    else
        ota_errf(err, errlen, "%s already exists", id);
    ota_vehicle_free(v);
}

int ota_fleet_vehicle_add(struct ota_db *db, const char *actor, const char *id,
                          const char *model, const char *group, const char *attributes,
                          char *err, size_t errlen)
{
    char *attrs = NULL;
    int r;

    if (!ota_id_valid(id)) {
        ota_errf(err, errlen, "invalid vehicle id (1 to %d of A-Z a-z 0-9 . _ -)", OTA_ID_MAX);
        return -EINVAL;
    }
    if ((r = ota_fleet_vehicle_check(model, group, attributes, &attrs, err, errlen)) < 0)
        return r;
    if ((r = ota_db_begin(db)) < 0)
        goto out;
    r = ota_db_vehicle_add(db, id, model, group, attrs);
    if (r == -EEXIST)
        explain_exists(db, id, err, errlen);
    if (r == 0)
        r = ota_db_audit(db, actor, "vehicle.add", id, 0, "");
    r = finish(db, r);
out:
    free(attrs);
    return r;
}

int ota_fleet_vehicle_set(struct ota_db *db, const char *actor, const char *id,
                          const char *model, const char *group, const char *attributes,
                          char *err, size_t errlen)
{
    char *attrs = NULL, detail[256];
    int r;

    if ((r = ota_fleet_vehicle_check(model, group, attributes, &attrs, err, errlen)) < 0)
        return r;
    if ((r = ota_db_begin(db)) < 0)
        goto out;
    r = ota_db_vehicle_set(db, id, model, group, attrs);
    if (r == -ENOENT)
        ota_errf(err, errlen, "no vehicle %s", id);
    snprintf(detail, sizeof(detail), "%s%s%s%s%s", model ? "model " : "", model ? model : "",
             group ? " group " : "", group ? group : "", attrs ? " attributes" : "");
    if (r == 0)
        r = ota_db_audit(db, actor, "vehicle.set", id, 0, detail);
    r = finish(db, r);
out:
    free(attrs);
    return r;
}

int ota_fleet_vehicle_revoke(struct ota_db *db, const char *actor, const char *id, char *err,
                             size_t errlen)
{
    struct ota_vehicle *v = NULL;
    struct ota_deployment *d = NULL;
    int64_t now = ota_now();
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    r = ota_db_vehicle_get(db, id, &v);
    if (r == -ENOENT)
        ota_errf(err, errlen, "no vehicle %s", id);
    if (r < 0 || v->revoked)
        goto out;
    if ((r = ota_db_vehicle_set_revoked(db, id, true)) < 0)
        goto out;
    /* its campaign can still finish: the deployment ends here, not never */
    r = ota_db_deployment_open(db, id, &d);
    if (r == 0 && (r = ota_db_deployment_update(db, d, OTA_DEPLOY_CANCELLED, d->bytes,
                                                "vehicle revoked", now)) == 0)
        r = ota_campaign_finish_if_done(db, d->campaign, now);
    if (r == -ENOENT)
        r = 0;
    /* the broker keeps no update for a vehicle that may no longer fetch it */
    if (r == 0 && (r = ota_db_outbox_drop_vehicle(db, id)) == 0)
        r = ota_db_outbox_insert(db, id, 0, NULL, "", true, OTA_OUTBOX_PENDING, now, NULL);
    if (r == 0)
        r = ota_db_audit(db, actor, "vehicle.revoke", id, d ? d->campaign : 0,
                         d ? "its deployment ended cancelled" : "");
out:
    ota_deployment_free(d);
    ota_vehicle_free(v);
    return finish(db, r);
}

int ota_fleet_vehicle_reinstate(struct ota_db *db, const char *actor, const char *id,
                                char *err, size_t errlen)
{
    struct ota_vehicle *v = NULL;
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    r = ota_db_vehicle_get(db, id, &v);
    if (r == -ENOENT)
        ota_errf(err, errlen, "no vehicle %s", id);
    if (r == 0 && !v->revoked) {
        ota_errf(err, errlen, "vehicle %s is not revoked", id);
        r = -EINVAL;
    }
    if (r == 0 && (r = ota_db_vehicle_set_revoked(db, id, false)) == 0)
        r = ota_db_audit(db, actor, "vehicle.reinstate", id, 0, "");
    ota_vehicle_free(v);
    return finish(db, r);
}

int ota_fleet_edge_add(struct ota_db *db, const char *actor, const char *name, char *err,
                       size_t errlen)
{
    int r;

    if (!ota_id_valid(name)) {
        ota_errf(err, errlen, "invalid edge name (1 to %d of A-Z a-z 0-9 . _ -)", OTA_ID_MAX);
        return -EINVAL;
    }
    if ((r = ota_db_begin(db)) < 0)
        return r;
    r = ota_db_edge_add(db, name);
    if (r == -EEXIST) {
        struct ota_edge e;
        if (ota_db_edge_get(db, name, &e) == 0)
            ota_errf(err, errlen, "edge %s already exists%s", name,
                     e.revoked ? " (revoked: 'edge reinstate' makes it active again)" : "");
        else
            ota_errf(err, errlen, "%s is already a vehicle: vehicles and edges share one id "
                     "space", name);
    }
    if (r == 0)
        r = ota_db_audit(db, actor, "edge.add", NULL, 0, name);
    return finish(db, r);
}

/* revoke and reinstate of an edge: @revoked the state wanted. */
static int edge_set(struct ota_db *db, const char *actor, const char *name, bool revoked,
                    char *err, size_t errlen)
{
    struct ota_edge e;
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    r = ota_db_edge_get(db, name, &e);
    if (r == -ENOENT)
        ota_errf(err, errlen, "no edge %s", name);
    if (r == 0 && !revoked && !e.revoked) {
        ota_errf(err, errlen, "edge %s is not revoked", name);
        r = -EINVAL;
    }
    if (r == 0 && e.revoked != revoked && (r = ota_db_edge_set_revoked(db, name, revoked)) == 0)
        r = ota_db_audit(db, actor, revoked ? "edge.revoke" : "edge.reinstate", NULL, 0, name);
    return finish(db, r);
}

int ota_fleet_edge_revoke(struct ota_db *db, const char *actor, const char *name, char *err,
                          size_t errlen)
{
    return edge_set(db, actor, name, true, err, errlen);
}

int ota_fleet_edge_reinstate(struct ota_db *db, const char *actor, const char *name, char *err,
                             size_t errlen)
{
    return edge_set(db, actor, name, false, err, errlen);
}
