/* ota-admin campaign advance|retry|watch, and the rollout part of campaign show. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ota_campaign.h"
#include "ota_campaign_json.h"
#include "adm_args.h"
#include "adm_commands.h"
#include "adm_output.h"
#include "adm_rollout.h"

static const char *const id_name[] = { "ID" };

#define WATCH_REASONS 3 /* failure reasons a watch shows */

int adm_rollout_print(struct ota_db *db, const struct ota_campaign *c)
{
    struct ota_stage st[OTA_STAGES_MAX];
    char success[16], maxf[24], t[32];
    unsigned n = 0;
    int r;

    if (!ota_campaign_has_rules(c))
        return 0;
    if ((r = ota_db_stages_get(db, c->id, st, &n)) < 0)
        return r;
    ota_fmt_bp(c->rules.success_bp, success, sizeof(success));
    ota_fmt_max_failures(c, maxf, sizeof(maxf));
    printf("rollout   stages %s, success %s%s, max-failures %s (min-finished %llu), timeout %llds\n",
           c->rules.stages[0] ? c->rules.stages : "(none)", success,
           c->rules.manual ? " (manual)" : "", maxf, (unsigned long long)c->rules.min_finished,
           (long long)c->rules.timeout_s);
    if (c->rules.start_at || c->rules.window[0] || c->rules.canary[0])
        printf("          start-at %s, window %s, canary %s\n",
               c->rules.start_at ? adm_time(c->rules.start_at, t, sizeof(t)) : "-",
               c->rules.window[0] ? c->rules.window : "-",
               c->rules.canary[0] ? c->rules.canary : "-");
    printf("          %s%s\n", c->offering ? "offering" : "not offering (before its start or outside its window)",
           c->waiting ? "; waiting for 'campaign advance'" : "");
    for (unsigned i = 0; i < n; i++) {
        uint64_t total = 0;

        for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
            total += st[i].counts[s];
        printf("stage %-3u %-7s %6llu vehicles:", st[i].stage,
               st[i].stage <= c->stage_open ? "open" : "waiting", (unsigned long long)total);
        for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++) {
            if (st[i].counts[s])
                printf(" %s=%llu", ota_deploy_state_name((enum ota_deploy_state)s),
                       (unsigned long long)st[i].counts[s]);
        }
        printf("\n");
    }
    return 0;
}

/* advance: ID only; a refusal (not staged, not waiting) is a usage error (2). */
int adm_campaign_advance(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    struct ota_campaign *c = NULL;
    char err[512] = "";
    int64_t id = 0;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if ((ret = adm_campaign_open(ctx, pos[0], &id, &db)) != ADM_EXIT_OK)
        return ret;
    r = ota_campaign_advance(db, ctx->actor, id, ctx->config.server.poll_after, err, sizeof(err));
    if (r == -EINVAL)
        ret = adm_usage(ctx, "%s", err);
    else if (r < 0)
        ret = adm_domain_fail(db, "advancing the campaign", r, err);
    else if ((r = ota_db_campaign_get(db, id, &c)) < 0)
        ret = adm_db_fail(db, "reading the campaign back", r);
    else if (ctx->json)
        ret = adm_json_emit(json_pack("{s:I, s:s, s:I, s:I}", "id", (json_int_t)id, "state",
                                      ota_campaign_state_name(c->state), "stage_open",
                                      (json_int_t)c->stage_open, "stage_count",
                                      (json_int_t)c->stage_count));
    else
        printf("campaign %lld advanced: stage %u of %u open\n", (long long)id, c->stage_open,
               c->stage_count);
    ota_campaign_free(c);
    ota_db_close(db);
    return ret;
}

int adm_campaign_retry(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    uint64_t n = 0, busy = 0;
    char err[512] = "";
    int64_t id = 0;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, NULL, 0, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if ((ret = adm_campaign_open(ctx, pos[0], &id, &db)) != ADM_EXIT_OK)
        return ret;
    r = ota_campaign_retry(db, ctx->actor, id, ctx->config.server.poll_after, &n, &busy, err,
                           sizeof(err));
    if (r < 0)
        ret = adm_domain_fail(db, "retrying the campaign", r, err);
    else if (ctx->json)
        ret = adm_json_emit(json_pack("{s:I, s:I, s:I}", "id", (json_int_t)id, "retried",
                                      (json_int_t)n, "left_failed", (json_int_t)busy));
    else
        printf("campaign %lld: %llu failed deployments offered again, %llu left failed\n",
               (long long)id, (unsigned long long)n, (unsigned long long)busy);
    ota_db_close(db);
    return ret;
}

/* ---- watch ----------------------------------------------------------------------------- */

struct watch_rate {
    double t0;         /* monotonic seconds of the first look */
    uint64_t ended0;   /* deployments ended then */
};

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t ended_of(const struct ota_campaign *c)
{
    return c->counts[OTA_DEPLOY_INSTALLED] + c->counts[OTA_DEPLOY_FAILED] +
           c->counts[OTA_DEPLOY_CANCELLED];
}

/* What a watch shows; the "change" part is what decides whether a new line is due. */
static json_t *watch_snapshot(struct ota_db *db, const struct ota_campaign *c,
                              const struct watch_rate *rate, json_t **ret_change)
{
    uint64_t total = 0, ended = ended_of(c);
    double dt = mono_s() - rate->t0, per_min = 0;
    json_t *counts = ota_json_counts(c->counts, &total);
    json_t *reasons = ota_json_campaign_failures(db, c->id, WATCH_REASONS), *change, *o;

    if (!counts || !reasons) {
        json_decref(counts);
        json_decref(reasons);
        return NULL;
    }
    change = json_pack("{s:s, s:O, s:I, s:b, s:b, s:O}", "state",
                       ota_campaign_state_name(c->state), "counts", counts, "stage_open",
                       (json_int_t)c->stage_open, "waiting", c->waiting, "offering", c->offering,
                       "failures", reasons);
    if (dt >= 1 && ended > rate->ended0)
        per_min = (double)(ended - rate->ended0) * 60.0 / dt;
    o = json_pack("{s:I, s:s, s:o, s:I, s:o, s:I, s:I, s:b, s:b, s:o, s:o, s:o}", "id",
                  (json_int_t)c->id, "state", ota_campaign_state_name(c->state), "time",
                  adm_json_time(ota_now()), "deployments", (json_int_t)total, "counts", counts,
                  "stage_open", (json_int_t)c->stage_open, "stage_count",
                  (json_int_t)c->stage_count, "waiting", c->waiting, "offering", c->offering,
                  "failures", reasons, "rate_per_min",
                  per_min > 0 ? json_real((double)(long long)(per_min * 10 + 0.5) / 10) : json_null(), "eta_s",
                  per_min > 0 ? json_integer((json_int_t)((double)(total - ended) * 60.0 / per_min))
                              : json_null());
    if (!o || !change) {
        json_decref(o);
        json_decref(change);
        return NULL;
    }
    *ret_change = change;
    return o;
}

static void watch_draw(struct ota_db *db, const struct ota_campaign *c, const json_t *snap,
                       bool tty)
{
    const json_t *rate = json_object_get(snap, "rate_per_min"), *eta = json_object_get(snap, "eta_s");
    const json_t *reasons = json_object_get(snap, "failures"), *f;
    uint64_t total = (uint64_t)json_integer_value(json_object_get(snap, "deployments"));
    char t[32];
    size_t i;

    if (tty)
        printf("\033[H\033[2J");
    printf("campaign %lld %s: %s   %s\n", (long long)c->id, c->name, ota_campaign_state_name(c->state),
           adm_time(ota_now(), t, sizeof(t)));
    printf("deployments %llu:", (unsigned long long)total);
    for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
        printf(" %s=%llu", ota_deploy_state_name((enum ota_deploy_state)s),
               (unsigned long long)c->counts[s]);
    printf("\n");
    if (json_is_real(rate))
        printf("rate %.1f/min, eta %llds\n", json_real_value(rate),
               (long long)json_integer_value(eta));
    else
        printf("rate -, eta -\n");
    (void)adm_rollout_print(db, c);
    json_array_foreach(reasons, i, f)
        printf("failure %6lld  %s\n", (long long)json_integer_value(json_object_get(f, "count")),
               json_string_value(json_object_get(f, "detail")));
    if (!tty)
        printf("\n");
    fflush(stdout);
}

int adm_campaign_watch(struct adm_ctx *ctx, int argc, char **argv)
{
    const char *interval = NULL, *timeout = NULL;
    const struct adm_opt opts[] = {
        { "--interval", ADM_OPT_STRING, &interval, NULL },
        { "--timeout", ADM_OPT_STRING, &timeout, NULL },
    };
    const char *pos[1] = { NULL };
    struct ota_db *db = NULL;
    struct watch_rate rate = { 0 };
    json_t *last = NULL;
    uint64_t interval_ms = 1000, timeout_s = 0;
    bool tty = isatty(STDOUT_FILENO), first = true;
    double deadline = 0;
    int64_t id = 0;
    int ret, r;

    ret = adm_args_parse(ctx, argc, argv, opts, 2, id_name, pos, 1, 1);
    if (ret != ADM_EXIT_OK)
        return ret;
    if (interval && (ota_parse_u64(interval, 60000, &interval_ms) < 0 || interval_ms < 50))
        return adm_usage(ctx, "invalid --interval '%.40s' (50 to 60000 ms)", interval);
    if (timeout && (ota_parse_u64(timeout, 7 * 86400, &timeout_s) < 0 || timeout_s == 0))
        return adm_usage(ctx, "invalid --timeout '%.40s' (1 to 604800 s)", timeout);
    if ((ret = adm_campaign_open(ctx, pos[0], &id, &db)) != ADM_EXIT_OK)
        return ret;
    rate.t0 = mono_s();
    deadline = timeout_s ? rate.t0 + (double)timeout_s : 0;
    for (;;) {
        struct ota_campaign *c = NULL;
        json_t *snap = NULL, *change = NULL;
        bool ended;

        r = ota_db_campaign_get(db, id, &c);
        if (r == -ENOENT) {
            ret = adm_fail("no campaign %lld", (long long)id);
            break;
        }
        if (r < 0) {
            ret = adm_db_fail(db, "reading the campaign", r);
            break;
        }
        if (first)
            rate.ended0 = ended_of(c);
        snap = watch_snapshot(db, c, &rate, &change);
        if (!snap) {
            ota_campaign_free(c);
            ret = adm_fail("reading the campaign: out of memory or a database error");
            break;
        }
        if (first || !json_equal(change, last)) {
            if (ctx->json) {
                char *line = json_dumps(snap, JSON_COMPACT);
                if (line)
                    printf("%s\n", line);
                free(line);
                fflush(stdout);
            } else {
                watch_draw(db, c, snap, tty);
            }
        }
        first = false;
        json_decref(last);
        last = change;
        json_decref(snap);
        ended = !ota_campaign_state_open(c->state);
        ota_campaign_free(c);
        if (ended) {
            ret = ADM_EXIT_OK;
            break;
        }
        if (deadline && mono_s() >= deadline) {
            adm_fail("campaign %lld has not ended within --timeout %llus", (long long)id,
                     (unsigned long long)timeout_s);
            ret = 3; /* as ota-vehicle's "nothing finished within --timeout" */
            break;
        }
        usleep((useconds_t)(interval_ms * 1000));
    }
    json_decref(last);
    ota_db_close(db);
    return ret;
}
