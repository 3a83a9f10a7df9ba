/* Vehicles and edges: see ota_fleet.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ota_campaign.h"
#include "ota_csv.h"
#include "ota_fleet.h"
#include "ota_util.h"

/* What the fields are called where they came from: options, or the columns of import. */
struct field_names {
    const char *model, *group, *attributes;
};
static const struct field_names option_names = { "--model", "--group", "--attr" };
static const struct field_names column_names = { "model", "group", "attributes" };

static int check_fields(const struct field_names *names, const char *model, const char *group,
                        const char *attributes, char **ret_attrs, char *err, size_t errlen)
{
    json_t *o = NULL, *v;
    const char *key;
    char *canon = NULL;
    int r = -EINVAL;

    /* a field is echoed in messages: say what is wrong without echoing a huge value */
    if (model && model[0] && !ota_label_valid(model, OTA_LABEL_MAX)) {
        ota_errf(err, errlen, "%s: 1 to %d printable characters without a comma "
                 "(got %zu bytes)", names->model, OTA_LABEL_MAX, strlen(model));
        goto out;
    }
    if (group && group[0] && !ota_label_valid(group, OTA_LABEL_MAX)) {
        ota_errf(err, errlen, "%s: 1 to %d printable characters without a comma "
                 "(got %zu bytes)", names->group, OTA_LABEL_MAX, strlen(group));
        goto out;
    }
    if (attributes) {
        if (strlen(attributes) > OTA_ATTRIBUTES_MAX) {
            ota_errf(err, errlen, "%s: more than %d bytes", names->attributes,
                     OTA_ATTRIBUTES_MAX);
            goto out;
        }
        o = json_loads(attributes, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o)) {
            ota_errf(err, errlen, "%s: not a JSON object of strings", names->attributes);
            goto out;
        }
        json_object_foreach(o, key, v) {
            if (!ota_label_valid(key, OTA_LABEL_MAX) || !json_is_string(v) ||
                strlen(json_string_value(v)) > OTA_LABEL_MAX) {
                ota_errf(err, errlen, "%s: keys are labels and values strings of at most "
                         "%d bytes", names->attributes, OTA_LABEL_MAX);
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

int ota_fleet_vehicle_check(const char *model, const char *group, const char *attributes,
                            char **ret_attrs, char *err, size_t errlen)
{
    return check_fields(&option_names, model, group, attributes, ret_attrs, err, errlen);
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

/* The columns vehicle import knows, and where each is in the file (-1: absent). */
enum import_col { COL_ID, COL_MODEL, COL_GROUP, COL_ATTRIBUTES, COL_COUNT };
static const char *const import_cols[COL_COUNT] = { "id", "model", "group", "attributes" };

static int import_header(struct ota_csv *csv, int where[COL_COUNT], size_t *ret_n, char *err,
                         size_t errlen)
{
    char **f;
    size_t n;
    int r = ota_csv_next(csv, &f, &n, err, errlen);

    if (r == 0) {
        ota_errf(err, errlen, "the file is empty: its first line names the columns "
                 "(id, and any of model, group, attributes)");
        return -EINVAL;
    }
    if (r < 0)
        return r;
    for (int c = 0; c < COL_COUNT; c++)
        where[c] = -1;
    for (size_t i = 0; i < n; i++) {
        int c = 0;

        while (c < COL_COUNT && strcmp(f[i], import_cols[c]) != 0)
            c++;
        if (c == COL_COUNT) {
            ota_errf(err, errlen, "line 1: unknown column '%.40s' (the columns are id, model, "
                     "group, attributes)", f[i]);
            return -EINVAL;
        }
        if (where[c] >= 0) {
            ota_errf(err, errlen, "line 1: column '%s' named twice", import_cols[c]);
            return -EINVAL;
        }
        where[c] = (int)i;
    }
    if (where[COL_ID] < 0) {
        ota_errf(err, errlen, "line 1: no 'id' column");
        return -EINVAL;
    }
    *ret_n = n;
    return 0;
}

/* One row: checked and added. */
static int import_row(struct ota_db *db, char **f, size_t n, size_t ncols,
                      const int where[COL_COUNT], unsigned long line, char *err, size_t errlen)
{
    const char *v[COL_COUNT] = { NULL };
    char *attrs = NULL, why[256] = "";
    int r;

    if (n != ncols) {
        ota_errf(err, errlen, "line %lu: %zu field%s where the header names %zu", line, n,
                 n == 1 ? "" : "s", ncols);
        return -EINVAL;
    }
    for (int c = 0; c < COL_COUNT; c++)
        if (where[c] >= 0 && f[where[c]][0])
            v[c] = f[where[c]];
    if (!v[COL_ID] || !ota_id_valid(v[COL_ID])) {
        ota_errf(err, errlen, "line %lu: invalid vehicle id '%.64s' (1 to %d of A-Z a-z 0-9 . _ -)",
                 line, v[COL_ID] ? v[COL_ID] : "", OTA_ID_MAX);
        return -EINVAL;
    }
    r = check_fields(&column_names, v[COL_MODEL], v[COL_GROUP], v[COL_ATTRIBUTES], &attrs, why,
                     sizeof(why));
    if (r == 0) {
        r = ota_db_vehicle_add(db, v[COL_ID], v[COL_MODEL], v[COL_GROUP], attrs);
        if (r == -EEXIST)
            explain_exists(db, v[COL_ID], why, sizeof(why));
    }
    if (r < 0 && why[0])
        ota_errf(err, errlen, "line %lu: %s", line, why);
    free(attrs);
    return r;
}

int ota_fleet_vehicle_import(struct ota_db *db, const char *actor, FILE *f, const char *source,
                             uint64_t *ret_count, char *err, size_t errlen)
{
    struct ota_csv *csv = ota_csv_new(f);
    int where[COL_COUNT];
    uint64_t count = 0;
    size_t ncols = 0, n;
    char **fields, detail[160];
    int r;

    err[0] = '\0';
    if (!csv)
        return -ENOMEM;
    if ((r = import_header(csv, where, &ncols, err, errlen)) < 0)
        goto out;
    /* one transaction: all rows or none */
    if ((r = ota_db_begin(db)) < 0)
        goto out;
    while ((r = ota_csv_next(csv, &fields, &n, err, errlen)) == 1) {
        if ((r = import_row(db, fields, n, ncols, where, ota_csv_line(csv), err, errlen)) < 0)
            break;
        count++;
    }
    if (r == 0 && count == 0) {
        ota_errf(err, errlen, "no vehicles after the header line");
        r = -EINVAL;
    }
    if (r == 0) {
        snprintf(detail, sizeof(detail), "%llu vehicles from %.100s", (unsigned long long)count,
                 source);
        r = ota_db_audit(db, actor, "vehicle.import", NULL, 0, detail);
    }
    r = finish(db, r);
out:
    if (r == 0 && ret_count)
        *ret_count = count;
    ota_csv_free(csv);
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
