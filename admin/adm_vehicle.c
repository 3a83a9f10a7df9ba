/* ota-admin vehicle add|import|set|list|show|revoke|reinstate: the vehicles allowed to talk to
 * the server. The rules are common/ota_fleet.c's; this file parses and prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_fleet.h"
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
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o}", "id", v->id, "model",
                     v->model, "group", v->group, "state", v->revoked ? "revoked" : "active",
                     "attributes", attrs, "created_at", adm_json_time(v->created_at), "last_seen",
                     adm_json_time(v->last_seen), "installed_artifact",
                     adm_json_str(v->installed_sha256[0] ? v->installed_sha256 : NULL),
                     "installed_version", v->installed_version, "installed_at",
                     adm_json_time(v->installed_at));
}

/* The answer of add, set, revoke and reinstate: the vehicle as it is now. */
static int print_vehicle(const struct adm_ctx *ctx, struct ota_db *db, const char *id,
                         const char *done)
{
    struct ota_vehicle *v = NULL;
    int r = ota_db_vehicle_get(db, id, &v), ret;

    if (r < 0)
        return adm_db_fail(db, "reading the vehicle back", r);
    if (ctx->json)
        ret = adm_json_emit(vehicle_json(v));
    else
        ret = printf("vehicle %s %s\n", id, done) < 0 ? ADM_EXIT_FAIL : ADM_EXIT_OK;
    ota_vehicle_free(v);
    return ret;
}

/* add and set: the fields as options. */
static int vehicle_write(struct adm_ctx *ctx, int argc, char **argv, bool add)
{
    const char *model = NULL, *group = NULL, *attr = NULL;
    const struct adm_opt opts[] = {
        { "--model", ADM_OPT_STRING, &model, NULL },
        { "--group", ADM_OPT_STRING, &group, NULL },
        { "--attr", ADM_OPT_STRING, &attr, NULL },
    };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    char err[512] = "", *attrs = NULL;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, 3, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_id_valid(pos[0]))
        return adm_usage(ctx, "invalid vehicle id '%.80s' (1 to %d of A-Z a-z 0-9 . _ -)", pos[0], OTA_ID_MAX);
    if (!add && !model && !group && !attr)
        return adm_usage(ctx, "nothing to set: give --model, --group or --attr");
    if (attr && (ret = adm_parse_attrs(ctx, "--attr", attr, &attrs)) != ADM_EXIT_OK)
        return ret;
    /* the field checks first: a usage error, before the database is opened */
    if (ota_fleet_vehicle_check(model, group, attrs, NULL, err, sizeof(err)) < 0) {
        free(attrs);
        return adm_usage(ctx, "%s", err);
    }
    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        goto out;
    r = add ? ota_fleet_vehicle_add(db, ctx->actor, pos[0], model, group, attrs, err, sizeof(err))
            : ota_fleet_vehicle_set(db, ctx->actor, pos[0], model, group, attrs, err, sizeof(err));
    if (r < 0)
        ret = adm_domain_fail(db, add ? "adding the vehicle" : "changing the vehicle", r, err);
    else
        ret = print_vehicle(ctx, db, pos[0], add ? "added" : "changed");
out:
    free(attrs);
    ota_db_close(db);
    return ret;
}

int adm_vehicle_add(struct adm_ctx *ctx, int argc, char **argv)
{
    return vehicle_write(ctx, argc, argv, true);
}

int adm_vehicle_set(struct adm_ctx *ctx, int argc, char **argv)
{
    return vehicle_write(ctx, argc, argv, false);
}

int adm_vehicle_import(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const file_name[] = { "FILE.csv" };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    uint64_t count = 0;
    char err[512] = "";
    FILE *f;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, file_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    f = strcmp(pos[0], "-") == 0 ? stdin : fopen(pos[0], "r");
    if (!f)
        return adm_fail("cannot open %s: %s", pos[0], strerror(errno));
    ret = adm_ctx_open_db(ctx, &db);
    if (ret == ADM_EXIT_OK) {
        r = ota_fleet_vehicle_import(db, ctx->actor, f, strcmp(pos[0], "-") ? pos[0] : "stdin",
                                     &count, err, sizeof(err));
        if (r < 0)
            ret = adm_domain_fail(db, "importing the vehicles", r, err);
        else if (ctx->json)
            ret = adm_json_emit(json_pack("{s:I}", "imported", (json_int_t)count));
        else
            ret = printf("%llu vehicles imported\n", (unsigned long long)count) < 0
                      ? ADM_EXIT_FAIL
                      : ADM_EXIT_OK;
    }
    if (f != stdin)
        fclose(f);
    ota_db_close(db);
    return ret;
}

static int list_fill(struct ota_db *db, struct adm_list *l)
{
    const struct ota_vehicle *v;
    struct ota_db_iter it;
    int r = ota_db_vehicles_begin(db, l->arg, &it);

    while (r == 0 && (r = ota_db_vehicles_next(&it, &v)) > 0) {
        char created[32], seen[32];
        const char *cells[] = { v->id,
                                v->model[0] ? v->model : "-",
                                v->group[0] ? v->group : "-",
                                v->revoked ? "revoked" : "active",
                                v->installed_version[0] ? v->installed_version : "-",
                                adm_time(v->created_at, created, sizeof(created)),
                                adm_time(v->last_seen, seen, sizeof(seen)) };

        r = l->array ? adm_list_append(l, vehicle_json(v)) : adm_table_add(l->table, cells);
    }
    ota_db_iter_end(&it);
    return r;
}

int adm_vehicle_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID",      "MODEL",   "GROUP",    "STATE",
                                        "VERSION", "CREATED", "LAST_SEEN" };
    static const struct adm_list_spec spec = { head, 7, "vehicles", "listing vehicles" };
    struct ota_vehicle_filter f = { NULL, NULL, NULL };
    const struct adm_opt opts[] = {
        { "--group", ADM_OPT_STRING, &f.group, NULL },
        { "--model", ADM_OPT_STRING, &f.model, NULL },
        { "--version", ADM_OPT_STRING, &f.version, NULL },
    };
    int ret = adm_args_parse(ctx, argc, argv, opts, 3, NULL, NULL, 0, 0);

    return ret == ADM_EXIT_OK ? adm_list_run(ctx, &spec, list_fill, &f) : ret;
}

/* Parses the ID of show, revoke and reinstate and opens the database. On success
 * *ret_id is the borrowed argv string and *ret_db is new. Returns an enum adm_exit. */
static int vehicle_open(struct adm_ctx *ctx, int argc, char **argv, const char **ret_id,
                        struct ota_db **ret_db)
{
    const char *pos[1] = { NULL };
    int ret;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!ota_id_valid(pos[0]))
        return adm_usage(ctx, "invalid vehicle id '%.80s' (1 to %d of A-Z a-z 0-9 . _ -)", pos[0], OTA_ID_MAX);
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
    char t1[32], t2[32], t3[32];
    int ret;
    int r;

    ret = vehicle_open(ctx, argc, argv, &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    r = ota_db_vehicle_get(db, id, &v);
    if (r == -ENOENT) {
        adm_fail("no vehicle %s", id);
        goto out;
    }
    if (r < 0) {
        adm_db_fail(db, "reading the vehicle", r);
        goto out;
    }
    /* its one unfinished deployment, whatever its campaign's state */
    r = ota_db_deployment_open(db, v->id, &d);
    if (r < 0 && r != -ENOENT) {
        adm_db_fail(db, "reading the vehicle's deployment", r);
        goto out;
    }
    if (ctx->json) {
        json_t *obj = vehicle_json(v);

        if (obj &&
            json_object_set_new(obj, "deployment",
                                d ? json_pack("{s:I, s:I, s:s, s:s, s:s, s:I}", "id",
                                              (json_int_t)d->id, "campaign",
                                              (json_int_t)d->campaign, "campaign_state",
                                              ota_campaign_state_name(d->campaign_state),
                                              "artifact", d->artifact, "state",
                                              ota_deploy_state_name(d->state), "bytes",
                                              (json_int_t)d->bytes)
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
        if (v->installed_sha256[0])
            printf("installed   %s (artifact %s, %s)\n", v->installed_version, v->installed_sha256,
                   adm_time(v->installed_at, t3, sizeof(t3)));
        else
            printf("installed   -\n");
        if (d)
            printf("deployment  campaign %lld (%s), artifact %s, %s, %llu bytes\n",
                   (long long)d->campaign, ota_campaign_state_name(d->campaign_state), d->artifact,
                   ota_deploy_state_name(d->state), (unsigned long long)d->bytes);
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

/* revoke and reinstate */
static int vehicle_state(struct adm_ctx *ctx, int argc, char **argv, bool revoke)
{
    const char *id = NULL;
    struct ota_db *db = NULL;
    char err[512] = "";
    int ret, r;

    ret = vehicle_open(ctx, argc, argv, &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    r = revoke ? ota_fleet_vehicle_revoke(db, ctx->actor, id, err, sizeof(err))
               : ota_fleet_vehicle_reinstate(db, ctx->actor, id, err, sizeof(err));
    if (r < 0)
        ret = adm_domain_fail(db, revoke ? "revoking the vehicle" : "reinstating the vehicle", r,
                              err);
    else
        ret = print_vehicle(ctx, db, id, revoke ? "revoked" : "reinstated");
    ota_db_close(db);
    return ret;
}

int adm_vehicle_revoke(struct adm_ctx *ctx, int argc, char **argv)
{
    return vehicle_state(ctx, argc, argv, true);
}

int adm_vehicle_reinstate(struct adm_ctx *ctx, int argc, char **argv)
{
    return vehicle_state(ctx, argc, argv, false);
}
