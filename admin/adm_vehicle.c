/* ota-admin vehicle add|list|show|revoke: the vehicles allowed to talk to the server. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"

static const char *const id_name[] = { "ID" };

static json_t *vehicle_json(const struct ota_vehicle *v)
{
    json_t *attrs = json_loads(v->attributes ? v->attributes : "{}", 0, NULL);

    /* Attributes are stored as JSON text by the server; show it raw if it is not. */
    if (!attrs)
        attrs = json_string(v->attributes ? v->attributes : "");
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", v->id, "model", v->model, "group",
                     v->group, "state", v->revoked ? "revoked" : "active", "attributes", attrs,
                     "created_at", adm_json_time(v->created_at), "last_seen",
                     adm_json_time(v->last_seen));
}

/* Runs @fn(db, id) and an event in one transaction. */
static int vehicle_change(struct ota_db *db, const char *id, const char *kind,
                          int (*add)(struct ota_db *, const char *, const char *, const char *),
                          int (*revoke)(struct ota_db *, const char *), const char *model,
                          const char *group)
{
    int r = ota_db_begin(db);

    if (r < 0)
        return r;
    r = add ? add(db, id, model, group) : revoke(db, id);
    if (r == 0)
        r = adm_ctx_event(db, kind, id, 0, NULL);
    if (r == 0)
        r = ota_db_commit(db);
    if (r < 0)
        ota_db_rollback(db);
    return r;
}

int adm_vehicle_add(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *model = NULL, *group = NULL;
    const struct adm_opt opts[] = {
        { "--model", ADM_OPT_STRING, &model, NULL },
        { "--group", ADM_OPT_STRING, &group, NULL },
    };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    struct ota_edge edge;
    int ret;
    int r;

    ret = adm_args_parse(ctx, argc, argv, opts, 2, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_id_valid(pos[0]))
        return adm_usage(ctx, "invalid vehicle id '%s' (1 to 64 of A-Z a-z 0-9 . _ -)", pos[0]);
    if (model && !adm_label_valid(model, ADM_LABEL_MAX))
        return adm_usage(ctx, "invalid --model '%s' (1 to 128 printable characters, no comma)",
                         model);
    if (group && !adm_label_valid(group, ADM_LABEL_MAX))
        return adm_usage(ctx, "invalid --group '%s' (1 to 128 printable characters, no comma)",
                         group);
    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    r = vehicle_change(db, pos[0], "vehicle.add", ota_db_vehicle_add, NULL, model ? model : "",
                       group ? group : "");
    if (r == -EEXIST) {
        if (ota_db_edge_get(db, pos[0], &edge) == 0)
            adm_fail("id '%s' is already taken by an edge", pos[0]);
        else
            adm_fail("vehicle '%s' already exists", pos[0]);
        goto out;
    }
    if (r < 0) {
        adm_db_fail(db, "adding the vehicle", r);
        goto out;
    }
    if (ctx->json) {
        if (adm_json_emit(json_pack("{s:s, s:s, s:s, s:s}", "id", pos[0], "model",
                                    model ? model : "", "group", group ? group : "", "state",
                                    "active")) != ADM_EXIT_OK)
            goto out;
    } else {
        printf("vehicle %s added\n", pos[0]);
    }
    ret = ADM_EXIT_OK;
out:
    ota_db_close(db);
    return ret;
}

static int list_cb(const struct ota_vehicle *v, void *p)
{
    struct adm_list *l = p;
    char created[32], seen[32];

    if (l->array)
        return adm_list_append(l, vehicle_json(v));
    const char *cells[] = { v->id,
                            v->model[0] ? v->model : "-",
                            v->group[0] ? v->group : "-",
                            v->revoked ? "revoked" : "active",
                            adm_time(v->created_at, created, sizeof(created)),
                            adm_time(v->last_seen, seen, sizeof(seen)) };
    return adm_table_add(l->table, cells);
}

static int list_fill(struct ota_db *db, struct adm_list *l)
{
    return ota_db_vehicle_list(db, list_cb, l);
}

int adm_vehicle_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID", "MODEL", "GROUP", "STATE", "CREATED", "LAST_SEEN" };
    static const struct adm_list_spec spec = { head, 6, "vehicles", "listing vehicles" };
    int ret = adm_args_parse(ctx, argc, argv, NULL, 0, NULL, NULL, 0, 0);

    return ret == ADM_EXIT_OK ? adm_list_run(ctx, &spec, list_fill, NULL) : ret;
}

/* Parses the ID of show and revoke and opens the database. On success *ret_id is the
 * borrowed argv string and *ret_db is new. Returns an enum adm_exit. */
static int vehicle_open(struct adm_ctx *ctx, int argc, char **argv, const char **ret_id,
                        struct ota_db **ret_db)
{
    const char *pos[1] = { NULL };
    int ret;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_id_valid(pos[0]))
        return adm_usage(ctx, "invalid vehicle id '%s'", pos[0]);
    ret = adm_ctx_open_db(ctx, ret_db);
    if (ret == ADM_EXIT_OK)
        *ret_id = pos[0];
    return ret;
}

int adm_vehicle_show(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *id = NULL;
    struct ota_db *db = NULL;
    struct ota_vehicle *v = NULL;
    struct ota_deployment *d = NULL;
    char t1[32], t2[32];
    int ret;
    int r;

    ret = vehicle_open(ctx, argc, argv, &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    r = ota_db_vehicle_get(db, id, &v);
    if (r == -ENOENT) {
        adm_fail("no vehicle '%s'", id);
        goto out;
    }
    if (r < 0) {
        adm_db_fail(db, "reading the vehicle", r);
        goto out;
    }
    r = ota_db_deployment_current(db, v->id, &d);
    if (r < 0 && r != -ENOENT) {
        adm_db_fail(db, "reading the vehicle's deployment", r);
        goto out;
    }
    if (ctx->json) {
        json_t *obj = vehicle_json(v);

        if (obj &&
            json_object_set_new(obj, "deployment",
                                d ? json_pack("{s:I, s:I, s:s, s:s, s:I}", "id", (json_int_t)d->id,
                                              "campaign", (json_int_t)d->campaign, "artifact",
                                              d->artifact, "state", ota_deploy_state_name(d->state),
                                              "bytes", (json_int_t)d->bytes)
                                  : json_null()) < 0) {
            json_decref(obj);
            obj = NULL;
        }
        if (adm_json_emit(obj) != ADM_EXIT_OK)
            goto out;
    } else {
        printf("id          %s\n", v->id);
        printf("model       %s\n", v->model[0] ? v->model : "-");
        printf("group       %s\n", v->group[0] ? v->group : "-");
        printf("state       %s\n", v->revoked ? "revoked" : "active");
        printf("attributes  %s\n", v->attributes ? v->attributes : "{}");
        printf("created     %s\n", adm_time(v->created_at, t1, sizeof(t1)));
        printf("last seen   %s\n", adm_time(v->last_seen, t2, sizeof(t2)));
        if (d)
            printf("deployment  campaign %lld, artifact %s, %s, %llu bytes\n",
                   (long long)d->campaign, d->artifact, ota_deploy_state_name(d->state),
                   (unsigned long long)d->bytes);
        else
            printf("deployment  -\n");
    }
    ret = ADM_EXIT_OK;
out:
    ota_deployment_free(d);
    ota_vehicle_free(v);
    ota_db_close(db);
    return ret;
}

int adm_vehicle_revoke(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *id = NULL;
    struct ota_db *db = NULL;
    int ret;
    int r;

    ret = vehicle_open(ctx, argc, argv, &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    r = vehicle_change(db, id, "vehicle.revoke", NULL, ota_db_vehicle_revoke, NULL, NULL);
    if (r == -ENOENT) {
        adm_fail("no vehicle '%s'", id);
        goto out;
    }
    if (r < 0) {
        adm_db_fail(db, "revoking the vehicle", r);
        goto out;
    }
    if (ctx->json) {
        if (adm_json_emit(json_pack("{s:s, s:s}", "id", id, "state", "revoked")) != ADM_EXIT_OK)
            goto out;
    } else {
        printf("vehicle %s revoked\n", id);
    }
    ret = ADM_EXIT_OK;
out:
    ota_db_close(db);
    return ret;
}
