/* JSON views of campaigns shared by ota-admin and ota-server's dashboard API. */
#include "ota_campaign_json.h"

#include <stdio.h>
#include "ota_campaign.h"
#include "ota_util.h"

#define SHOW_FAILURE_GROUPS 10

json_t *ota_json_time(int64_t t)
{
    char buf[32];

    if (t == 0)
        return json_null();
    ota_rfc3339(t, buf, sizeof(buf));
    return json_string(buf);
}

json_t *ota_json_counts(const uint64_t counts[OTA_DEPLOY_STATE_COUNT], uint64_t *ret_total)
{
    json_t *o = json_object();
    uint64_t total = 0;

    for (int s = 0; o && s < OTA_DEPLOY_STATE_COUNT; s++) {
        total += counts[s];
        if (json_object_set_new(o, ota_deploy_state_name((enum ota_deploy_state)s),
                                json_integer((json_int_t)counts[s])) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    if (ret_total)
        *ret_total = total;
    return o;
}

json_t *ota_json_campaign(const struct ota_campaign *c)
{
    uint64_t total = 0;
    json_t *counts = ota_json_counts(c->counts, &total);

    if (!counts)
        return NULL;
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:o}", "id",
                     (json_int_t)c->id, "name", c->name, "state", ota_campaign_state_name(c->state),
                     "artifact", c->artifact, "target_kind", ota_target_kind_name(c->target_kind),
                     "target", c->target, "created_at", ota_json_time(c->created_at), "started_at",
                     ota_json_time(c->started_at), "updated_at", ota_json_time(c->updated_at),
                     "deployments", (json_int_t)total, "counts", counts);
}

json_t *ota_json_campaign_failures(struct ota_db *db, int64_t id, unsigned limit)
{
    const struct ota_failure_reason *f;
    struct ota_db_iter it;
    json_t *arr = json_array();
    int r;

    if (!arr)
        return NULL;
    r = ota_db_failures_begin(db, id, limit, &it);
    while (r == 0 && (r = ota_db_failures_next(&it, &f)) > 0)
        r = json_array_append_new(
            arr, json_pack("{s:s, s:I}", "detail", f->detail, "count", (json_int_t)f->n));
    ota_db_iter_end(&it);
    if (r < 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

bool ota_campaign_has_rules(const struct ota_campaign *c)
{
    return c->rules.stages[0] || c->rules.max_failures || c->rules.timeout_s || c->rules.start_at ||
           c->rules.window[0];
}

void ota_fmt_bp(uint64_t bp, char *buf, size_t len)
{
    if (bp % 100 == 0)
        snprintf(buf, len, "%llu%%", (unsigned long long)(bp / 100));
    else
        snprintf(buf, len, "%llu.%02llu%%", (unsigned long long)(bp / 100),
                 (unsigned long long)(bp % 100));
}

void ota_fmt_max_failures(const struct ota_campaign *c, char *buf, size_t len)
{
    if (c->rules.max_failures == 0)
        snprintf(buf, len, "none");
    else if (c->rules.max_failures_pct)
        ota_fmt_bp(c->rules.max_failures, buf, len);
    else
        snprintf(buf, len, "%llu", (unsigned long long)c->rules.max_failures);
}

json_t *ota_json_campaign_rollout(struct ota_db *db, const struct ota_campaign *c)
{
    struct ota_stage st[OTA_STAGES_MAX];
    char success[16], maxf[24];
    unsigned n = 0;
    json_t *stages;

    if (!ota_campaign_has_rules(c))
        return json_null();
    if (ota_db_stages_get(db, c->id, st, &n) < 0)
        return NULL;
    ota_fmt_bp(c->rules.success_bp, success, sizeof(success));
    ota_fmt_max_failures(c, maxf, sizeof(maxf));
    stages = json_array();
    for (unsigned i = 0; stages && i < n; i++) {
        uint64_t total = 0;
        json_t *counts = ota_json_counts(st[i].counts, &total);

        if (!counts ||
            json_array_append_new(stages, json_pack("{s:I, s:b, s:o, s:I, s:o}", "stage",
                                                    (json_int_t)st[i].stage, "open",
                                                    st[i].stage <= c->stage_open, "opened_at",
                                                    ota_json_time(st[i].opened_at), "size",
                                                    (json_int_t)total, "counts", counts)) < 0) {
            json_decref(stages);
            return NULL;
        }
    }
    if (!stages)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:s, s:s, s:b, s:I, s:I, s:b, s:b, s:o}",
                     "stages_spec", c->rules.stages, "success", success, "max_failures", maxf,
                     "min_finished", (json_int_t)c->rules.min_finished, "timeout_s",
                     (json_int_t)c->rules.timeout_s, "start_at", ota_json_time(c->rules.start_at),
                     "window", c->rules.window, "canary", c->rules.canary, "manual",
                     c->rules.manual, "stage_count", (json_int_t)c->stage_count, "stage_open",
                     (json_int_t)c->stage_open, "waiting", c->waiting, "offering", c->offering,
                     "stages", stages);
}

json_t *ota_json_campaign_show(struct ota_db *db, const struct ota_campaign *c)
{
    json_t *o = ota_json_campaign(c);
    json_t *fails = ota_json_campaign_failures(db, c->id, SHOW_FAILURE_GROUPS);
    json_t *rollout = ota_json_campaign_rollout(db, c);

    if (!o || !fails || !rollout) {
        json_decref(o);
        json_decref(fails);
        json_decref(rollout);
        return NULL;
    }
    if (json_object_set_new(o, "failures", fails) < 0) { /* takes fails either way */
        json_decref(o);
        json_decref(rollout);
        return NULL;
    }
    if (json_object_set_new(o, "rollout", rollout) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
