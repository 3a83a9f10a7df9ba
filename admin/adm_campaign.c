/* ota-admin campaign create|start|pause|resume|cancel|list|show. The state changes are
 * common/ota_campaign.c's; this file parses, checks arguments and prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_campaign.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"

static const char *const id_name[] = { "ID" };

/* Checks and normalises --vehicles: valid ids, duplicates dropped, order kept. On success
 * *ret is a new comma list (free()). Returns ADM_EXIT_OK or ADM_EXIT_USAGE. */
static int vehicle_list_parse(const struct adm_ctx *ctx, const char *list, char **ret)
{
    size_t len = strlen(list);
    char *copy = strdup(list);
    char *out = malloc(len + 1);
    char *save = NULL;
    size_t used = 0;
    int r = ADM_EXIT_FAIL;

    if (!copy || !out) {
        adm_fail("out of memory");
        goto out;
    }
    out[0] = '\0';
    if (list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,")) {
        r = adm_usage(ctx, "invalid --vehicles '%s' (an empty id)", list);
        goto out;
    }
    for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(id);
        bool dup = false;

        if (!ota_id_valid(id)) {
            r = adm_usage(ctx, "invalid vehicle id '%s' in --vehicles", id);
            goto out;
        }
        /* Exact whole-item match against what is already in @out. */
        for (const char *p = out; *p && !dup;) {
            const char *end = strchr(p, ',');
            size_t k = end ? (size_t)(end - p) : strlen(p);

            dup = k == n && memcmp(p, id, n) == 0;
            p = end ? end + 1 : p + k;
        }
        if (dup)
            continue;
        if (used)
            out[used++] = ',';
        memcpy(out + used, id, n + 1);
        used += n;
    }
    *ret = out;
    out = NULL;
    r = ADM_EXIT_OK;
out:
    free(copy);
    free(out);
    return r;
}

/* Inside a transaction: every id of an explicit list must name an active vehicle. */
static int vehicles_active(struct ota_db *db, const char *list)
{
    char *copy = strdup(list);
    char *save = NULL;
    int ret = ADM_EXIT_FAIL;

    if (!copy)
        return adm_fail("out of memory");
    for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        struct ota_vehicle *v = NULL;
        int r = ota_db_vehicle_get(db, id, &v);
        bool revoked = r == 0 && v->revoked;

        ota_vehicle_free(v);
        if (r == -ENOENT) {
            adm_fail("unknown vehicle '%s' in --vehicles", id);
            goto out;
        }
        if (r < 0) {
            adm_db_fail(db, "reading the vehicles", r);
            goto out;
        }
        if (revoked) {
            adm_fail("vehicle '%s' in --vehicles is revoked", id);
            goto out;
        }
    }
    ret = ADM_EXIT_OK;
out:
    free(copy);
    return ret;
}

/* Turns --attr "k=v,k2=v2" into the JSON object the db matches against each vehicle's
 * attributes (hawkBit configData): keys are labels, values non-empty strings without a
 * comma. On success *ret is new (free()). Returns ADM_EXIT_OK or ADM_EXIT_USAGE. */
static int attr_target_parse(struct adm_ctx *ctx, const char *text, char **ret)
{
    json_t *obj = json_object();
    char *copy = strdup(text), *save = NULL, *dumped = NULL;
    int r = ADM_EXIT_USAGE;

    if (!obj || !copy) {
        r = adm_usage(ctx, "out of memory");
        goto out;
    }
    for (char *pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(pair, '=');

        if (!eq || eq == pair || !eq[1]) {
            r = adm_usage(ctx, "invalid --attr '%s' (KEY=VALUE[,KEY=VALUE...])", text);
            goto out;
        }
        *eq = '\0';
        if (!adm_label_valid(pair, ADM_LABEL_MAX) || !adm_label_valid(eq + 1, ADM_LABEL_MAX)) {
            r = adm_usage(ctx, "invalid --attr '%s' (KEY=VALUE[,KEY=VALUE...])", text);
            goto out;
        }
        if (json_object_get(obj, pair)) {
            r = adm_usage(ctx, "--attr names '%s' twice", pair);
            goto out;
        }
        if (json_object_set_new(obj, pair, json_string(eq + 1)) < 0) {
            r = adm_usage(ctx, "out of memory");
            goto out;
        }
    }
    if (json_object_size(obj) == 0) {
        r = adm_usage(ctx, "invalid --attr '%s' (KEY=VALUE[,KEY=VALUE...])", text);
        goto out;
    }
    dumped = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!dumped) {
        r = adm_usage(ctx, "out of memory");
        goto out;
    }
    *ret = dumped;
    r = ADM_EXIT_OK;
out:
    json_decref(obj);
    free(copy);
    return r;
}

int adm_campaign_create(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *name = NULL, *artifact = NULL, *vehicles = NULL, *group = NULL, *model = NULL;
    const char *attr = NULL;
    bool all = false;
    const struct adm_opt opts[] = {
        { "--name", ADM_OPT_STRING, &name, NULL },
        { "--artifact", ADM_OPT_STRING, &artifact, NULL },
        { "--vehicles", ADM_OPT_STRING, &vehicles, NULL },
        { "--group", ADM_OPT_STRING, &group, NULL },
        { "--model", ADM_OPT_STRING, &model, NULL },
        { "--all", ADM_OPT_FLAG, NULL, &all },
        { "--attr", ADM_OPT_STRING, &attr, NULL },
    };
    enum ota_target_kind kind;
    const char *target;
    char *list = NULL;
    char detail[256];
    struct ota_db *db = NULL;
    int64_t id = 0;
    int ret;
    int r;

    ret = adm_args_parse(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), NULL, NULL, 0,
                         0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!name)
        return adm_usage(ctx, "missing --name");
    if (!artifact)
        return adm_usage(ctx, "missing --artifact");
    if ((vehicles != NULL) + (group != NULL) + (model != NULL) + (attr != NULL) + all != 1)
        return adm_usage(ctx,
                         "give exactly one target: --vehicles, --group, --model, --attr or --all");
    if (!adm_label_valid(name, ADM_LABEL_MAX))
        return adm_usage(ctx, "invalid --name '%s' (1 to 128 printable characters, no comma)",
                         name);
    if (!ota_sha256_hex_valid(artifact))
        return adm_usage(ctx, "invalid --artifact '%s' (64 lowercase hex digits)", artifact);
    if (group && !adm_label_valid(group, ADM_LABEL_MAX))
        return adm_usage(ctx, "invalid --group '%s'", group);
    if (model && !adm_label_valid(model, ADM_LABEL_MAX))
        return adm_usage(ctx, "invalid --model '%s'", model);
    if (vehicles) {
        ret = vehicle_list_parse(ctx, vehicles, &list);
        if (ret != ADM_EXIT_OK)
            return ret;
        kind = OTA_TARGET_VEHICLES;
        target = list;
    } else if (group) {
        kind = OTA_TARGET_GROUP;
        target = group;
    } else if (model) {
        kind = OTA_TARGET_MODEL;
        target = model;
    } else if (attr) {
        ret = attr_target_parse(ctx, attr, &list);
        if (ret != ADM_EXIT_OK)
            return ret;
        kind = OTA_TARGET_ATTRIBUTES;
        target = list;
    } else {
        kind = OTA_TARGET_ALL;
        target = "";
    }

    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        goto out;
    ret = ADM_EXIT_FAIL;
    r = ota_db_begin(db);
    if (r < 0) {
        adm_db_fail(db, "creating the campaign", r);
        goto out;
    }
    if (kind == OTA_TARGET_VEHICLES && vehicles_active(db, list) != ADM_EXIT_OK) {
        ota_db_rollback(db);
        goto out;
    }
    r = ota_db_campaign_insert(db, name, artifact, kind, target, ota_now(), &id);
    if (r == 0) {
        snprintf(detail, sizeof(detail), "%s %s%s%.150s", artifact, ota_target_kind_name(kind),
                 target[0] ? ":" : "", target);
        r = adm_ctx_event(db, "campaign.create", NULL, id, detail);
    }
    if (r == 0)
        r = ota_db_commit(db);
    if (r < 0)
        ota_db_rollback(db);
    if (r == -EEXIST) {
        adm_fail("a campaign named '%s' already exists", name);
        goto out;
    }
    if (r == -ENOENT) {
        adm_fail("no artifact %s: upload it first", artifact);
        goto out;
    }
    if (r < 0) {
        adm_db_fail(db, "creating the campaign", r);
        goto out;
    }
    if (ctx->json)
        ret = adm_json_emit(json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)id,
                                      "name", name, "state", "created", "artifact", artifact,
                                      "target_kind", ota_target_kind_name(kind), "target", target));
    else
        ret = printf("%lld\n", (long long)id) < 0 ? ADM_EXIT_FAIL : ADM_EXIT_OK;
out:
    free(list);
    ota_db_close(db);
    return ret;
}

static json_t *counts_json(const uint64_t counts[OTA_DEPLOY_STATE_COUNT])
{
    json_t *o = json_object();

    for (int s = 0; o && s < OTA_DEPLOY_STATE_COUNT; s++)
        if (json_object_set_new(o, ota_deploy_state_name((enum ota_deploy_state)s),
                                json_integer((json_int_t)counts[s])) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

/* The campaign's summary object: list rows, and the head of show. */
static json_t *campaign_json(const struct ota_campaign *c)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)c->id,
                     "name", c->name, "state", ota_campaign_state_name(c->state), "artifact",
                     c->artifact, "target_kind", ota_target_kind_name(c->target_kind), "target",
                     c->target, "created_at", adm_json_time(c->created_at), "started_at",
                     adm_json_time(c->started_at), "updated_at", adm_json_time(c->updated_at));
}

/* campaign_json() with the deployment counts: the answer of a state change, the head of
 * show. */
static json_t *campaign_counts_json(const struct ota_campaign *c,
                                    const uint64_t counts[OTA_DEPLOY_STATE_COUNT])
{
    json_t *o = campaign_json(c);

    if (o && json_object_set_new(o, "counts", counts_json(counts)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static void target_text(const struct ota_campaign *c, char *buf, size_t len)
{
    if (c->target_kind == OTA_TARGET_ALL)
        snprintf(buf, len, "all");
    else
        snprintf(buf, len, "%s:%s", ota_target_kind_name(c->target_kind), c->target);
}

/* start and cancel write update messages, which carry [server] poll_after. */
typedef int campaign_op_fn(struct ota_db *db, int64_t id, unsigned poll_after, char *err,
                           size_t errlen);

static int pause_op(struct ota_db *db, int64_t id, unsigned poll_after, char *err, size_t errlen)
{
    (void)poll_after;
    return ota_campaign_pause(db, id, err, errlen);
}

static int resume_op(struct ota_db *db, int64_t id, unsigned poll_after, char *err, size_t errlen)
{
    (void)poll_after;
    return ota_campaign_resume(db, id, err, errlen);
}

/* Parses the ID of start/pause/resume/cancel and show and opens the database. On success
 * *ret_db is new. Returns an enum adm_exit. */
static int campaign_open(struct adm_ctx *ctx, int argc, char **argv, int64_t *ret_id,
                         struct ota_db **ret_db)
{
    const char *pos[1] = { NULL };
    int64_t id;
    int ret;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (adm_parse_id(pos[0], &id) < 0)
        return adm_usage(ctx, "invalid campaign id '%s' (a positive number)", pos[0]);
    ret = adm_ctx_open_db(ctx, ret_db);
    if (ret == ADM_EXIT_OK)
        *ret_id = id;
    return ret;
}

/* start/pause/resume/cancel: parse ID, run @op, print the new state. */
static int campaign_change(struct adm_ctx *ctx, int argc, char **argv, campaign_op_fn *op,
                           const char *done)
{
    struct ota_db *db = NULL;
    struct ota_campaign *c = NULL;
    uint64_t counts[OTA_DEPLOY_STATE_COUNT] = { 0 };
    uint64_t total = 0;
    char err[512] = "";
    int64_t id = 0;
    int ret;
    int r;

    ret = campaign_open(ctx, argc, argv, &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    r = op(db, id, ctx->config.server.poll_after, err, sizeof(err));
    if (r == -ENOENT) {
        adm_fail("no campaign %lld", (long long)id);
        goto out;
    }
    if (r == -EINVAL) {
        adm_fail("%s", err[0] ? err : "refused");
        goto out;
    }
    if (r < 0) {
        if (err[0])
            adm_fail("campaign %lld: %s", (long long)id, err);
        else
            adm_db_fail(db, "changing the campaign", r);
        goto out;
    }
    r = ota_db_campaign_get(db, id, &c);
    if (r == 0)
        r = ota_db_deployment_counts(db, id, counts);
    if (r < 0) {
        /* The change is committed; only the report failed. */
        adm_db_fail(db, "reading the campaign back", r);
        goto out;
    }
    for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
        total += counts[s];
    if (ctx->json) {
        ret = adm_json_emit(campaign_counts_json(c, counts));
    } else {
        printf("campaign %lld %s: %s, %llu deployment%s\n", (long long)id, done,
               ota_campaign_state_name(c->state), (unsigned long long)total, total == 1 ? "" : "s");
        ret = ADM_EXIT_OK;
    }
out:
    ota_campaign_free(c);
    ota_db_close(db);
    return ret;
}

int adm_campaign_start(struct adm_ctx *ctx, int argc, char **argv)
{
    return campaign_change(ctx, argc, argv, ota_campaign_start, "started");
}

int adm_campaign_pause(struct adm_ctx *ctx, int argc, char **argv)
{
    return campaign_change(ctx, argc, argv, pause_op, "paused");
}

int adm_campaign_resume(struct adm_ctx *ctx, int argc, char **argv)
{
    return campaign_change(ctx, argc, argv, resume_op, "resumed");
}

int adm_campaign_cancel(struct adm_ctx *ctx, int argc, char **argv)
{
    return campaign_change(ctx, argc, argv, ota_campaign_cancel, "cancelled");
}

static int list_cb(const struct ota_campaign *c, void *p)
{
    struct adm_list *l = p;
    char id[24], target[160], created[32], started[32];

    if (l->array)
        return adm_list_append(l, campaign_json(c));
    snprintf(id, sizeof(id), "%lld", (long long)c->id);
    target_text(c, target, sizeof(target));
    const char *cells[] = { id,
                            c->name,
                            ota_campaign_state_name(c->state),
                            c->artifact,
                            target,
                            adm_time(c->created_at, created, sizeof(created)),
                            adm_time(c->started_at, started, sizeof(started)) };
    return adm_table_add(l->table, cells);
}

static int list_fill(struct ota_db *db, struct adm_list *l)
{
    return ota_db_campaign_list(db, list_cb, l);
}

int adm_campaign_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID",     "NAME",    "STATE",  "ARTIFACT",
                                        "TARGET", "CREATED", "STARTED" };
    static const struct adm_list_spec spec = { head, 7, "campaigns", "listing campaigns" };
    int ret = adm_args_parse(ctx, argc, argv, NULL, 0, NULL, NULL, 0, 0);

    return ret == ADM_EXIT_OK ? adm_list_run(ctx, &spec, list_fill, NULL) : ret;
}

static int deployment_cb(const struct ota_deployment *d, void *p)
{
    struct adm_list *l = p;
    char bytes[24], updated[32];

    if (l->array)
        return adm_list_append(
            l, json_pack("{s:s, s:s, s:I, s:s, s:o}", "vehicle", d->vehicle, "state",
                         ota_deploy_state_name(d->state), "bytes", (json_int_t)d->bytes, "detail",
                         d->detail ? d->detail : "", "updated_at", adm_json_time(d->updated_at)));
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)d->bytes);
    const char *cells[] = { d->vehicle, ota_deploy_state_name(d->state), bytes,
                            adm_time(d->updated_at, updated, sizeof(updated)),
                            d->detail && d->detail[0] ? d->detail : "-" };
    return adm_table_add(l->table, cells);
}

/* @l->arg is the campaign id. */
static int deployment_fill(struct ota_db *db, struct adm_list *l)
{
    return ota_db_deployment_list(db, *(const int64_t *)l->arg, deployment_cb, l);
}

int adm_campaign_show(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "VEHICLE", "STATE", "BYTES", "UPDATED", "DETAIL" };
    static const struct adm_list_spec spec = { head, 5, "deployments", "listing the deployments" };
    struct ota_db *db = NULL;
    struct ota_campaign *c = NULL;
    struct adm_list l = { NULL, NULL, NULL };
    uint64_t counts[OTA_DEPLOY_STATE_COUNT] = { 0 };
    char target[160], t1[32], t2[32];
    json_t *obj = NULL;
    int64_t id = 0;
    int ret;
    int r;

    ret = campaign_open(ctx, argc, argv, &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    r = ota_db_campaign_get(db, id, &c);
    if (r == -ENOENT) {
        adm_fail("no campaign %lld", (long long)id);
        goto out;
    }
    if (r == 0)
        r = ota_db_deployment_counts(db, id, counts);
    if (r < 0) {
        adm_db_fail(db, "reading the campaign", r);
        goto out;
    }
    if (adm_list_fill(ctx, db, &spec, deployment_fill, &id, &l) != ADM_EXIT_OK)
        goto out;
    if (ctx->json) {
        obj = campaign_counts_json(c, counts);
        if (obj && json_object_set(obj, spec.key, l.array) < 0) {
            json_decref(obj);
            obj = NULL;
        }
        ret = adm_json_emit(obj);
        goto out;
    }
    target_text(c, target, sizeof(target));
    printf("campaign  %lld\n", (long long)c->id);
    printf("name      %s\n", c->name);
    printf("state     %s\n", ota_campaign_state_name(c->state));
    printf("artifact  %s\n", c->artifact);
    printf("target    %s\n", target);
    printf("created   %s\n", adm_time(c->created_at, t1, sizeof(t1)));
    printf("started   %s\n", adm_time(c->started_at, t2, sizeof(t2)));
    printf("counts   ");
    for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
        printf(" %s=%llu", ota_deploy_state_name((enum ota_deploy_state)s),
               (unsigned long long)counts[s]);
    printf("\n\n");
    adm_table_print(l.table, stdout);
    ret = ADM_EXIT_OK;
out:
    adm_list_release(&l);
    ota_campaign_free(c);
    ota_db_close(db);
    return ret;
}
