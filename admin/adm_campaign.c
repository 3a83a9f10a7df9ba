/* ota-admin campaign create|start|pause|resume|cancel|list|show. The rules are
 * common/ota_campaign.c's; this file parses, prints, and streams the per-vehicle rows of
 * show so its memory does not grow with the campaign. Rollouts: adm_rollout.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_campaign.h"
#include "ota_campaign_json.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_list.h"
#include "adm_output.h"
#include "adm_rollout.h"

static const char *const id_name[] = { "ID" };

static int print_created(struct ota_db *db, int64_t id);

#define SHOW_LIMIT_DEFAULT 100 /* vehicle rows of a human show without --limit */
#define FAILURE_GROUPS     10

int adm_campaign_create(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *vehicles = NULL, *group = NULL, *model = NULL, *attr = NULL;
    struct ota_campaign_spec spec = { 0 };
    bool all = false;
    const struct adm_opt opts[] = {
        { "--name", ADM_OPT_STRING, &spec.name, NULL },
        { "--artifact", ADM_OPT_STRING, &spec.artifact, NULL },
        { "--vehicles", ADM_OPT_STRING, &vehicles, NULL },
        { "--group", ADM_OPT_STRING, &group, NULL },
        { "--model", ADM_OPT_STRING, &model, NULL },
        { "--all", ADM_OPT_FLAG, NULL, &all },
        { "--attr", ADM_OPT_STRING, &attr, NULL },
        { "--stages", ADM_OPT_STRING, &spec.rollout.stages, NULL },
        { "--success", ADM_OPT_STRING, &spec.rollout.success, NULL },
        { "--max-failures", ADM_OPT_STRING, &spec.rollout.max_failures, NULL },
        { "--min-finished", ADM_OPT_STRING, &spec.rollout.min_finished, NULL },
        { "--timeout", ADM_OPT_STRING, &spec.rollout.timeout, NULL },
        { "--start-at", ADM_OPT_STRING, &spec.rollout.start_at, NULL },
        { "--window", ADM_OPT_STRING, &spec.rollout.window, NULL },
        { "--canary", ADM_OPT_STRING, &spec.rollout.canary, NULL },
        { "--manual", ADM_OPT_FLAG, NULL, &spec.rollout.manual },
    };
    struct ota_db *db = NULL;
    char err[512] = "", *attrs = NULL;
    int64_t id = 0;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), NULL, NULL, 0,
                         0);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (!spec.name)
        return adm_usage(ctx, "missing --name");
    if (!spec.artifact)
        return adm_usage(ctx, "missing --artifact");
    if ((vehicles != NULL) + (group != NULL) + (model != NULL) + (attr != NULL) + all != 1)
        return adm_usage(ctx,
                         "give exactly one target: --vehicles, --group, --model, --attr or --all");
    if (vehicles) {
        spec.kind = OTA_TARGET_VEHICLES;
        spec.target = vehicles;
    } else if (group) {
        spec.kind = OTA_TARGET_GROUP;
        spec.target = group;
    } else if (model) {
        spec.kind = OTA_TARGET_MODEL;
        spec.target = model;
    } else if (attr) {
        if ((ret = adm_parse_attrs(ctx, "--attr", attr, &attrs)) != ADM_EXIT_OK)
            return ret;
        spec.kind = OTA_TARGET_ATTRIBUTES;
        spec.target = attrs;
    } else {
        spec.kind = OTA_TARGET_ALL;
        spec.target = "";
    }
    ret = adm_ctx_open_db(ctx, &db);
    if (ret != ADM_EXIT_OK)
        goto out;
    r = ota_campaign_create(db, ctx->actor, &spec, &id, err, sizeof(err));
    if (r == -EINVAL) {
        ret = adm_usage(ctx, "%s", err);
        goto out;
    }
    if (r < 0) {
        ret = adm_domain_fail(db, "creating the campaign", r, err);
        goto out;
    }
    if (ctx->json)
        ret = print_created(db, id);
    else
        ret = printf("%lld\n", (long long)id) < 0 ? ADM_EXIT_FAIL : ADM_EXIT_OK;
out:
    free(attrs);
    ota_db_close(db);
    return ret;
}

static void target_text(const struct ota_campaign *c, char *buf, size_t len)
{
    if (c->target_kind == OTA_TARGET_ALL)
        snprintf(buf, len, "all");
    else
        snprintf(buf, len, "%s:%.120s%s", ota_target_kind_name(c->target_kind), c->target,
                 strlen(c->target) > 120 ? "..." : "");
}

/* The answer of create: the id, or the campaign as stored (its target normalised). */
static int print_created(struct ota_db *db, int64_t id)
{
    struct ota_campaign *c = NULL;
    int ret, r = ota_db_campaign_get(db, id, &c);

    if (r < 0)
        return adm_db_fail(db, "reading the campaign back", r);
    ret = adm_json_emit(ota_json_campaign(c));
    ota_campaign_free(c);
    return ret;
}

int adm_campaign_open(struct adm_ctx *ctx, const char *arg, int64_t *ret_id,
                         struct ota_db **ret_db)
{
    int64_t id;
    int ret;

    if (adm_parse_id(arg, &id) < 0)
        return adm_usage(ctx, "invalid campaign id '%.40s' (a positive number)", arg);
    ret = adm_ctx_open_db(ctx, ret_db);
    if (ret == ADM_EXIT_OK)
        *ret_id = id;
    return ret;
}

/* The answer of start/pause/resume/cancel: the campaign as it is now. */
static int print_changed(const struct adm_ctx *ctx, struct ota_db *db, int64_t id,
                         const char *done, const struct ota_start_report *rep)
{
    struct ota_campaign *c = NULL;
    int ret, r = ota_db_campaign_get(db, id, &c);

    if (r < 0) /* the change is committed; only the report failed */
        return adm_db_fail(db, "reading the campaign back", r);
    if (ctx->json) {
        json_t *o = ota_json_campaign(c);
        if (o && rep &&
            json_object_set_new(o, "start",
                                json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "targets",
                                          (json_int_t)rep->targets, "busy", (json_int_t)rep->busy,
                                          "superseded", (json_int_t)rep->superseded, "skipped",
                                          (json_int_t)rep->skipped, "installed",
                                          (json_int_t)rep->installed, "pending",
                                          (json_int_t)rep->pending)) < 0) {
            json_decref(o);
            o = NULL;
        }
        ret = adm_json_emit(o);
    } else {
        printf("campaign %lld %s: %s", (long long)id, done, ota_campaign_state_name(c->state));
        if (rep)
            printf(", %llu vehicles notified, %llu already installed, %llu superseded, "
                   "%llu skipped (busy)",
                   (unsigned long long)rep->pending, (unsigned long long)rep->installed,
                   (unsigned long long)rep->superseded, (unsigned long long)rep->skipped);
        printf("\n");
        ret = ADM_EXIT_OK;
    }
    ota_campaign_free(c);
    return ret;
}

int adm_campaign_start(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const keys[] = { "paths.store", NULL };
    bool supersede = false, skip = false;
    const struct adm_opt opts[] = {
        { "--supersede", ADM_OPT_FLAG, NULL, &supersede },
        { "--skip-busy", ADM_OPT_FLAG, NULL, &skip },
    };
    const char *pos[1] = { NULL };
    struct ota_start_report rep = { 0 };
    struct ota_db *db = NULL;
    char err[512] = "";
    int64_t id = 0;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, 2, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (supersede && skip)
        return adm_usage(ctx, "--supersede and --skip-busy exclude each other");
    if (adm_ctx_require(ctx, keys) != ADM_EXIT_OK)
        return ADM_EXIT_FAIL;
    ret = adm_campaign_open(ctx, pos[0], &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    r = ota_campaign_start(db, ctx->actor, id,
                           supersede ? OTA_START_SUPERSEDE
                           : skip    ? OTA_START_SKIP_BUSY
                                     : OTA_START_REFUSE,
                           ctx->config.server.poll_after, ctx->config.paths.store, &rep, err,
                           sizeof(err));
    if (r < 0)
        ret = adm_domain_fail(db, "starting the campaign", r, err);
    else
        ret = print_changed(ctx, db, id, "started", &rep);
    ota_db_close(db);
    return ret;
}

/* pause/resume/cancel: ID only. */
static int campaign_change(struct adm_ctx *ctx, int argc, char **argv, const char *done)
{
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    char err[512] = "";
    int64_t id = 0;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = adm_campaign_open(ctx, pos[0], &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (strcmp(done, "paused") == 0)
        r = ota_campaign_pause(db, ctx->actor, id, err, sizeof(err));
    else if (strcmp(done, "resumed") == 0)
        r = ota_campaign_resume(db, ctx->actor, id, ctx->config.server.poll_after, err,
                                sizeof(err));
    else
        r = ota_campaign_cancel(db, ctx->actor, id, err, sizeof(err));
    if (r < 0)
        ret = adm_domain_fail(db, "changing the campaign", r, err);
    else
        ret = print_changed(ctx, db, id, done, NULL);
    ota_db_close(db);
    return ret;
}

int adm_campaign_pause(struct adm_ctx *ctx, int argc, char **argv)
{
    return campaign_change(ctx, argc, argv, "paused");
}

int adm_campaign_resume(struct adm_ctx *ctx, int argc, char **argv)
{
    return campaign_change(ctx, argc, argv, "resumed");
}

int adm_campaign_cancel(struct adm_ctx *ctx, int argc, char **argv)
{
    return campaign_change(ctx, argc, argv, "cancelled");
}

static int list_fill(struct ota_db *db, struct adm_list *l)
{
    const struct ota_campaign *c;
    struct ota_db_iter it;
    int r = ota_db_campaigns_begin(db, &it);

    while (r == 0 && (r = ota_db_campaigns_next(&it, &c)) > 0) {
        char id[24], target[160], created[32], started[32], done[48];
        uint64_t total = 0;
        const char *cells[] = { id,
                                c->name,
                                ota_campaign_state_name(c->state),
                                c->artifact,
                                target,
                                done,
                                adm_time(c->created_at, created, sizeof(created)),
                                adm_time(c->started_at, started, sizeof(started)) };

        for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
            total += c->counts[s];
        snprintf(id, sizeof(id), "%lld", (long long)c->id);
        snprintf(done, sizeof(done), "%llu/%llu", (unsigned long long)c->counts[OTA_DEPLOY_INSTALLED],
                 (unsigned long long)total);
        target_text(c, target, sizeof(target));
        r = l->array ? adm_list_append(l, ota_json_campaign(c)) : adm_table_add(l->table, cells);
    }
    ota_db_iter_end(&it);
    return r;
}

int adm_campaign_list(struct adm_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = { "ID",        "NAME",    "STATE",  "ARTIFACT",
                                        "TARGET",    "INSTALLED", "CREATED", "STARTED" };
    static const struct adm_list_spec spec = { head, 8, "campaigns", "listing campaigns" };
    int ret = adm_args_parse(ctx, argc, argv, NULL, 0, NULL, NULL, 0, 0);

    return ret == ADM_EXIT_OK ? adm_list_run(ctx, &spec, list_fill, NULL) : ret;
}

/* The failure reasons, grouped: a JSON array, or lines after the counts. */
/* The failure reasons, grouped, as lines after the counts (the JSON view is
 * ota_json_campaign_failures). */
static int print_failures(struct ota_db *db, int64_t id)
{
    const struct ota_failure_reason *f;
    struct ota_db_iter it;
    bool any = false;
    int r = ota_db_failures_begin(db, id, FAILURE_GROUPS, &it);

    while (r == 0 && (r = ota_db_failures_next(&it, &f)) > 0) {
        r = 0;
        if (!any)
            printf("failures\n");
        any = true;
        printf("  %8llu  %s\n", (unsigned long long)f->n, f->detail[0] ? f->detail : "(no detail)");
    }
    ota_db_iter_end(&it);
    return r;
}

static json_t *deployment_json(const struct ota_deployment *d)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:b, s:o, s:I}", "vehicle", d->vehicle, "state",
                     ota_deploy_state_name(d->state), "bytes", (json_int_t)d->bytes, "detail",
                     d->detail ? d->detail : "", "cancel_acked", d->cancel_acked, "updated_at",
                     adm_json_time(d->updated_at), "stage", (json_int_t)d->stage);
}

struct show_opts {
    bool vehicles;
    enum ota_deploy_state state; /* OTA_DEPLOY_STATE_COUNT: any */
    const char *after;
    uint64_t limit; /* 0: all */
};

/* The per-vehicle rows, streamed: one JSON array element or one table line each, never
 * the whole campaign in memory. @last: the last vehicle written (for the next page),
 * *ret_n: rows written. */
static int stream_rows(const struct adm_ctx *ctx, struct ota_db *db, int64_t id,
                       const struct show_opts *o, char last[OTA_ID_MAX + 1], uint64_t *ret_n)
{
    const struct ota_deployment *d;
    struct ota_db_iter it;
    uint64_t n = 0;
    int r;

    /* each page is read once: a small cache keeps the memory flat however long the
     * campaign (not fatal on another backend) */
    (void)ota_db_cache_kib(db, 2048);
    r = ota_db_deployments_begin(db, id, o->state, o->after, &it);
    if (!ctx->json && r == 0)
        printf("%-24s %-12s %12s  %-20s %s\n", "VEHICLE", "STATE", "BYTES", "UPDATED", "DETAIL");
    while (r == 0 && (!o->limit || n < o->limit) && (r = ota_db_deployments_next(&it, &d)) > 0) {
        r = 0;
        if (ctx->json) {
            json_t *row = deployment_json(d);
            char *text = row ? json_dumps(row, JSON_COMPACT) : NULL;
            if (!text)
                r = -ENOMEM;
            else
                printf("%s%s", n ? "," : "", text);
            free(text);
            json_decref(row);
        } else {
            char updated[32];
            printf("%-24s %-12s %12llu  %-20s %s\n", d->vehicle, ota_deploy_state_name(d->state),
                   (unsigned long long)d->bytes, adm_time(d->updated_at, updated, sizeof(updated)),
                   d->detail && d->detail[0] ? d->detail : "-");
        }
        snprintf(last, OTA_ID_MAX + 1, "%s", d->vehicle);
        n++;
    }
    ota_db_iter_end(&it);
    *ret_n = n;
    return r;
}

int adm_campaign_show(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *state = NULL, *limit = NULL;
    struct show_opts o = { .state = OTA_DEPLOY_STATE_COUNT };
    const struct adm_opt opts[] = {
        { "--vehicles", ADM_OPT_FLAG, NULL, &o.vehicles },
        { "--state", ADM_OPT_STRING, &state, NULL },
        { "--after", ADM_OPT_STRING, &o.after, NULL },
        { "--limit", ADM_OPT_STRING, &limit, NULL },
    };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    struct ota_campaign *c = NULL;
    char target[160], t1[32], t2[32], last[OTA_ID_MAX + 1] = "";
    json_t *obj = NULL;
    uint64_t n = 0;
    int64_t id = 0;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, 4, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if ((state || o.after || limit) && !o.vehicles)
        o.vehicles = true; /* asking for rows of a kind means rows */
    if (state && ota_deploy_state_parse(state, &o.state) < 0)
        return adm_usage(ctx, "invalid --state '%.40s' (pending, downloading, downloaded, "
                         "installing, installed, failed, cancelled)", state);
    if (o.after && !ota_id_valid(o.after))
        return adm_usage(ctx, "invalid --after (a vehicle id)");
    if (limit && (ota_parse_u64(limit, 100000000, &o.limit) < 0 || o.limit == 0))
        return adm_usage(ctx, "invalid --limit '%.40s' (1 to 100000000)", limit);
    if (!limit && !ctx->json)
        o.limit = SHOW_LIMIT_DEFAULT;
    ret = adm_campaign_open(ctx, pos[0], &id, &db);
    if (ret != ADM_EXIT_OK)
        return ret;
    ret = ADM_EXIT_FAIL;
    r = ota_db_campaign_get(db, id, &c);
    if (r == -ENOENT) {
        adm_fail("no campaign %lld", (long long)id);
        goto out;
    }
    if (r < 0) {
        adm_db_fail(db, "reading the campaign", r);
        goto out;
    }
    if (ctx->json) {
        char *head;
        size_t len;

        obj = ota_json_campaign_show(db, c);
        if (!obj) {
            adm_fail("reading the campaign's failures and rollout: %s", ota_db_errmsg(db));
            goto out;
        }
        if (!o.vehicles) {
            ret = adm_json_emit(obj);
            obj = NULL;
            goto out;
        }
        /* {"...":...,"deployments":[rows...]}: the head, then the rows as they are read */
        head = json_dumps(obj, JSON_COMPACT);
        if (!head) {
            adm_fail("out of memory");
            goto out;
        }
        len = strlen(head);
        printf("%.*s,\"deployments\":[", (int)(len - 1), head);
        free(head);
        r = stream_rows(ctx, db, id, &o, last, &n);
        printf("]}\n");
    } else {
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
                   (unsigned long long)c->counts[s]);
        printf("\n");
        r = adm_rollout_print(db, c);
        if (r == 0)
            r = print_failures(db, id);
        if (r == 0 && o.vehicles) {
            printf("\n");
            r = stream_rows(ctx, db, id, &o, last, &n);
            if (r == 0 && o.limit && n == o.limit)
                printf("(more: --after %s)\n", last);
        }
    }
    if (r < 0) {
        adm_db_fail(db, "reading the deployments", r);
        goto out;
    }
    ret = ADM_EXIT_OK;
out:
    json_decref(obj);
    ota_campaign_free(c);
    ota_db_close(db);
    return ret;
}
