/* Campaign rollouts, the domain rules behind staged campaigns (DESIGN.md "Rollouts"):
 * the rollout options checked at create, the rules applied in the transaction of a report
 * that crosses a threshold, the update messages of opened stages queued in batches, the
 * time-driven transitions (start times, windows, timeouts), advance and retry. The
 * decisions themselves are pure (ota_rollout.c); this file applies them. See
 * ota_campaign.h for the calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota_campaign.h"
#include "ota_campaign_int.h"
#include "ota_rollout.h"
#include "ota_status.h"
#include "ota_util.h"

/* ---- rollout options ------------------------------------------------------------------ */

/* The rollout options checked on their own (those that need the targets are checked in
 * rules_fit); @ret's strings borrow @ro's. */
int ota_campaign_rules_parse(const struct ota_rollout_spec *ro, int64_t now,
                       struct ota_campaign_rules *ret, char *err, size_t errlen)
{
    struct ota_rollout_amount st[OTA_ROLLOUT_STAGES_MAX], a;
    struct ota_campaign_rules r = { .success_bp = OTA_ROLLOUT_BP_ALL, .min_finished = 1,
                                    .stages = "", .window = "", .canary = "" };
    struct ota_window w;
    unsigned n = 0;
    uint64_t count = 0;
    int rc;

    if (ro->stages) {
        if ((rc = ota_rollout_stages_parse(ro->stages, st, &n, err, errlen)) < 0)
            return rc;
        r.stages = (char *)ro->stages; /* borrowed: @ret is only read */
    }
    if (!ro->stages && (ro->success || ro->manual || ro->canary)) {
        ota_errf(err, errlen, "%s needs --stages", ro->success ? "--success" :
                 ro->manual ? "--manual" : "--canary");
        return -EINVAL;
    }
    if (ro->success) {
        if (ota_rollout_amount_parse(ro->success, false, &a) < 0) {
            ota_errf(err, errlen, "--success: '%s' is not a share 0%% < P <= 100%%", ro->success);
            return -EINVAL;
        }
        r.success_bp = (uint32_t)a.value;
    }
    if (ro->max_failures) {
        if (ota_rollout_amount_parse(ro->max_failures, true, &a) < 0) {
            ota_errf(err, errlen, "--max-failures: '%s' is neither a share (0%% < P <= 100%%) "
                     "nor a count (>= 1)", ro->max_failures);
            return -EINVAL;
        }
        r.max_failures = a.value;
        r.max_failures_pct = a.percent;
    }
    if (ro->min_finished) {
        if (!ro->max_failures) {
            ota_errf(err, errlen, "--min-finished needs --max-failures");
            return -EINVAL;
        }
        if (ota_rollout_amount_parse(ro->min_finished, true, &a) < 0 || a.percent) {
            ota_errf(err, errlen, "--min-finished: '%s' is not a count (>= 1)", ro->min_finished);
            return -EINVAL;
        }
        count = a.value;
        r.min_finished = count;
    }
    if (ro->timeout && ota_rollout_duration_parse(ro->timeout, &r.timeout_s) < 0) {
        ota_errf(err, errlen, "--timeout: '%s' is not a duration from 1s to 30d (90s, 30m, 2h, "
                 "1d)", ro->timeout);
        return -EINVAL;
    }
    if (ro->start_at) {
        if (ota_rollout_time_parse(ro->start_at, &r.start_at) < 0) {
            ota_errf(err, errlen, "--start-at: '%s' is not a time in UTC "
                     "(2026-12-03T01:00:00Z or @EPOCH)", ro->start_at);
            return -EINVAL;
        }
        if (r.start_at <= now) {
            ota_errf(err, errlen, "--start-at: %s is in the past", ro->start_at);
            return -EINVAL;
        }
    }
    if (ro->window) {
        if ((rc = ota_window_parse(ro->window, &w, err, errlen)) < 0)
            return rc;
        r.window = (char *)ro->window;
    }
    if (ro->canary) {
        if (!ota_label_valid(ro->canary, OTA_LABEL_MAX)) {
            ota_errf(err, errlen, "--canary: 1 to %d printable characters without a comma",
                     OTA_LABEL_MAX);
            return -EINVAL;
        }
        r.canary = (char *)ro->canary;
    }
    r.manual = ro->manual;
    *ret = r;
    return 0;
}

/* Inside the create transaction: the options that depend on the fleet now: every stage
 * holds vehicles of the targets, the canary group exists. */
int ota_campaign_rules_fit(struct ota_db *db, const struct ota_campaign_spec *s, const char *target,
                     const struct ota_campaign_rules *rules, char *err, size_t errlen)
{
    struct ota_rollout_amount st[OTA_ROLLOUT_STAGES_MAX];
    uint64_t sizes[OTA_ROLLOUT_STAGES_MAX], targets = 0;
    struct ota_campaign proto = { .target_kind = s->kind, .target = (char *)target };
    char bad[OTA_ID_MAX + 1];
    unsigned n = 0;
    int r;

    if (!rules->stages[0])
        return 0;
    if (rules->canary[0] && (r = ota_db_group_exists(db, rules->canary)) < 0) {
        if (r == -ENOENT) {
            ota_errf(err, errlen, "--canary: no vehicle is in group '%s'", rules->canary);
            r = -EINVAL;
        }
        return r;
    }
    if ((r = ota_rollout_stages_parse(rules->stages, st, &n, err, errlen)) < 0 ||
        (r = ota_db_targets_gather(db, &proto, &targets, bad)) < 0)
        return r;
    return ota_rollout_stage_sizes(st, n, targets, sizes, err, errlen);
}

/* ---- rollouts ------------------------------------------------------------------------------ */

static void rules_of(const struct ota_campaign *c, struct ota_rollout_rules *r)
{
    *r = (struct ota_rollout_rules){
        .nstages = c->stage_count,
        .success_bp = c->rules.success_bp,
        .manual = c->rules.manual,
        .max_failures = { .value = c->rules.max_failures, .percent = c->rules.max_failures_pct },
        .min_finished = c->rules.min_finished,
    };
}

/* The counts a rule reads: the campaign's, and its open stages' (kept by triggers). */
static int rollout_counts(struct ota_db *db, const struct ota_campaign *c,
                          struct ota_rollout_counts *rc)
{
    struct ota_stage st[OTA_STAGES_MAX];
    unsigned n = 0;
    int r;

    *rc = (struct ota_rollout_counts){
        .stage_open = c->stage_open,
        .waiting = c->waiting,
        .installed = c->counts[OTA_DEPLOY_INSTALLED],
        .failed = c->counts[OTA_DEPLOY_FAILED],
    };
    if (c->stage_count == 0)
        return 0;
    if ((r = ota_db_stages_get(db, c->id, st, &n)) < 0)
        return r;
    for (unsigned i = 0; i < n; i++) {
        if (st[i].stage > c->stage_open)
            continue;
        for (int s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
            rc->open_total += st[i].counts[s];
        rc->open_installed += st[i].counts[OTA_DEPLOY_INSTALLED];
        rc->open_cancelled += st[i].counts[OTA_DEPLOY_CANCELLED];
    }
    return 0;
}

/* Inside the transaction: stage @stage of @c opens; its update messages are asked for. */
static int open_stage(struct ota_db *db, const struct ota_campaign *c, unsigned stage,
                      int64_t now)
{
    int r;

    if ((r = ota_db_campaign_set_rollout(db, c->id, c->stage_count, stage, false,
                                         c->offering)) < 0 ||
        (r = ota_db_stage_opened(db, c->id, stage, now)) < 0)
        return r;
    return ota_db_campaign_announce_request(db, c->id, stage);
}

int ota_campaign_rules_apply(struct ota_db *db, int64_t id, const char *actor, int64_t now)
{
    struct ota_campaign *c = NULL;
    int r = 0;

    /* each turn opens a stage at most: a stage already met (every vehicle of it ran the
     * artifact before) lets the next one open in the same transaction */
    for (unsigned turn = 0; turn <= OTA_STAGES_MAX; turn++) {
        struct ota_rollout_rules rules;
        struct ota_rollout_counts counts;
        struct ota_rollout_decision d;
        char detail[256];
        uint64_t held = 0;

        ota_campaign_free(c);
        c = NULL;
        if ((r = ota_db_campaign_get(db, id, &c)) < 0 || c->state != OTA_CAMPAIGN_RUNNING ||
            (c->stage_count == 0 && c->rules.max_failures == 0))
            break;
        rules_of(c, &rules);
        if ((r = rollout_counts(db, c, &counts)) < 0)
            break;
        ota_rollout_decide(&rules, &counts, &d);
        switch (d.action) {
        case OTA_ROLLOUT_NONE:
            goto out;
        case OTA_ROLLOUT_PAUSE:
            if ((r = ota_campaign_pause_locked(db, id, now, &held)) == 0) {
                snprintf(detail, sizeof(detail), "paused: %s; %llu deployments held", d.reason,
                         (unsigned long long)held);
                r = ota_db_audit(db, actor, "campaign.brake", NULL, id, detail);
            }
            goto out;
        case OTA_ROLLOUT_WAIT:
            if ((r = ota_db_campaign_set_rollout(db, id, c->stage_count, c->stage_open, true,
                                                 c->offering)) == 0)
                r = ota_db_audit(db, actor, "campaign.waiting", NULL, id, d.reason);
            goto out;
        case OTA_ROLLOUT_OPEN_NEXT:
            snprintf(detail, sizeof(detail), "stage %u of %u opened: %s", c->stage_open + 1,
                     c->stage_count, d.reason);
            if ((r = open_stage(db, c, c->stage_open + 1, now)) < 0 ||
                (r = ota_db_audit(db, actor, "campaign.stage", NULL, id, detail)) < 0)
                goto out;
            break;
        }
    }
out:
    ota_campaign_free(c);
    return r;
}

int ota_campaign_announce(struct ota_db *db, int64_t id, unsigned poll_after,
                          unsigned max_batches, uint64_t *ret_n)
{
    uint64_t total = 0;
    bool done = false;
    int r = 0;

    for (unsigned b = 0; !done && (max_batches == 0 || b < max_batches); b++) {
        struct ota_campaign *c = NULL;
        int64_t now = ota_now(), payload = 0;
        uint64_t n = 0;
        char *body = NULL;

        if ((r = ota_db_begin(db)) < 0)
            break;
        r = ota_db_campaign_get(db, id, &c);
        if (r == 0 && c->state == OTA_CAMPAIGN_RUNNING && c->offering && c->announce_due) {
            if ((r = ota_campaign_update_body(db, c, poll_after, now, &body)) == 0 &&
                (r = ota_db_outbox_payload_add(db, body, &payload)) == 0)
                r = ota_db_campaign_announce_batch(db, c, payload, OTA_CAMPAIGN_BATCH, now, &n, &done);
        } else {
            done = true; /* nothing asked for, or not offering now: the notifier goes on */
        }
        free(body);
        ota_campaign_free(c);
        if (r == 0)
            r = ota_db_commit(db);
        if (r < 0) {
            ota_db_rollback(db);
            break;
        }
        total += n;
        if (!done)
            ota_campaign_let_writers_in();
    }
    if (ret_n)
        *ret_n = total;
    return r;
}

int ota_campaign_offering_update(struct ota_db *db, int64_t id, int64_t now, bool *ret_changed)
{
    struct ota_campaign *c = NULL;
    char detail[160];
    bool want = false;
    uint64_t held = 0;
    int r;

    *ret_changed = false;
    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = ota_db_campaign_get(db, id, &c)) < 0 || c->state != OTA_CAMPAIGN_RUNNING)
        goto out;
    want = ota_rollout_offering(c->rules.start_at, c->rules.window, now);
    if (want == c->offering)
        goto out;
    if ((r = ota_db_campaign_set_rollout(db, id, c->stage_count, c->stage_open, c->waiting,
                                         want)) < 0 ||
        (r = want ? ota_db_campaign_announce_request(db, id, 0) : ota_campaign_withdraw(db, id, now, &held)) < 0)
        goto out;
    if (want)
        snprintf(detail, sizeof(detail), "offering: %s%s", c->rules.window[0] ? "window " : "start time",
                 c->rules.window);
    else
        snprintf(detail, sizeof(detail), "not offering: window %s closed; %llu deployments held",
                 c->rules.window, (unsigned long long)held);
    if ((r = ota_db_audit(db, "notifier", "campaign.window", NULL, id, detail)) < 0)
        goto out;
    r = ota_db_commit(db);
    *ret_changed = r == 0;
out:
    if (r < 0 || !*ret_changed)
        ota_db_rollback(db);
    ota_campaign_free(c);
    return r;
}

int ota_campaign_timeouts(struct ota_db *db, int64_t id, int64_t now, unsigned poll_after,
                          unsigned limit, uint64_t *ret_n)
{
    struct ota_campaign *c = NULL;
    struct ota_db_iter it = { 0 };
    const struct ota_deployment *d;
    char (*vehicles)[OTA_ID_MAX + 1] = NULL;
    unsigned n = 0;
    uint64_t failed = 0;
    int r;

    *ret_n = 0;
    if ((r = ota_db_campaign_get(db, id, &c)) < 0)
        return r;
    if ((c->state != OTA_CAMPAIGN_RUNNING && c->state != OTA_CAMPAIGN_PAUSED) ||
        c->rules.timeout_s == 0 || limit == 0)
        goto out;
    vehicles = calloc(limit, sizeof(*vehicles));
    if (!vehicles) {
        r = -ENOMEM;
        goto out;
    }
    /* the ids first: the iterator must end before the reports run */
    if ((r = ota_db_deployments_stuck_begin(db, id, now - c->rules.timeout_s, limit, &it)) < 0)
        goto out;
    while (n < limit && (r = ota_db_deployments_next(&it, &d)) > 0)
        memcpy(vehicles[n++], d->vehicle, sizeof(vehicles[0]));
    ota_db_iter_end(&it);
    if (r < 0)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        struct ota_status_report rep = { .campaign = id, .state = OTA_DEPLOY_FAILED };
        char err[256];
        int a;

        snprintf(rep.detail, sizeof(rep.detail), "timed out");
        a = ota_status_apply(db, vehicles[i], &rep, "notifier", poll_after, 0, err, sizeof(err));
        if (a == 0)
            failed++;
        else if (a != -EPERM && a != -ENOENT) { /* those ended meanwhile */
            r = a;
            break;
        }
    }
    *ret_n = failed;
out:
    ota_db_iter_end(&it);
    free(vehicles);
    ota_campaign_free(c);
    return r < 0 ? r : 0;
}

int ota_campaign_advance(struct ota_db *db, const char *actor, int64_t id, unsigned poll_after,
                         char *err, size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_RUNNING };
    struct ota_campaign *c = NULL;
    struct ota_rollout_rules rules;
    struct ota_rollout_counts counts;
    int64_t now = ota_now();
    char why[200], detail[96];
    int r;

    err[0] = '\0';
    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = ota_campaign_check_state(db, id, allowed, 1, "advanced", "running", err, errlen, &c)) < 0)
        goto out;
    rules_of(c, &rules);
    if ((r = rollout_counts(db, c, &counts)) < 0)
        goto out;
    if ((r = ota_rollout_may_advance(&rules, &counts, why, sizeof(why))) < 0) {
        ota_errf(err, errlen, "campaign %lld cannot advance: %s", (long long)id, why);
        goto out;
    }
    snprintf(detail, sizeof(detail), "stage %u of %u opened", c->stage_open + 1, c->stage_count);
    if ((r = open_stage(db, c, c->stage_open + 1, now)) < 0 ||
        (r = ota_db_audit(db, actor, "campaign.advance", NULL, id, detail)) < 0 ||
        (r = ota_campaign_rules_apply(db, id, actor, now)) < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_campaign_free(c);
    if (r == 0)
        r = ota_campaign_announce(db, id, poll_after, 0, NULL);
    return r;
}

int ota_campaign_retry(struct ota_db *db, const char *actor, int64_t id, unsigned poll_after,
                       uint64_t *ret_n, uint64_t *ret_busy, char *err, size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_RUNNING, OTA_CAMPAIGN_PAUSED,
                                                       OTA_CAMPAIGN_FINISHED };
    struct ota_campaign *c = NULL;
    int64_t now = ota_now();
    uint64_t n = 0, busy = 0;
    char detail[160];
    int r;

    err[0] = '\0';
    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = ota_campaign_check_state(db, id, allowed, 3, "retried", "running, paused or finished", err,
                            errlen, &c)) < 0 ||
        (r = ota_db_deployment_retry_campaign(db, id, now, &n, &busy)) < 0)
        goto out;
    if (n == 0) {
        ota_errf(err, errlen, "campaign %lld has no failed deployment to retry%s", (long long)id,
                 busy ? " (those failed are revoked or in another unfinished deployment)" : "");
        r = -EINVAL;
        goto out;
    }
    snprintf(detail, sizeof(detail), "%llu failed deployments offered again, %llu left failed "
             "(revoked, or in another unfinished deployment)", (unsigned long long)n,
             (unsigned long long)busy);
    if ((c->state == OTA_CAMPAIGN_FINISHED &&
         (r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_RUNNING, now)) < 0) ||
        (r = ota_db_campaign_announce_request(db, id, 0)) < 0 ||
        (r = ota_db_audit(db, actor, "campaign.retry", NULL, id, detail)) < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_campaign_free(c);
    if (r == 0) {
        *ret_n = n;
        *ret_busy = busy;
        r = ota_campaign_announce(db, id, poll_after, 0, NULL);
    }
    return r;
}
