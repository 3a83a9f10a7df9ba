/* Campaign life cycle: see ota_campaign.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "ota_campaign.h"
#include "ota_rollout.h"
#include "ota_status.h"
#include "ota_store.h"
#include "ota_util.h"

#define TARGET_LIST_MAX (1024 * 1024) /* an explicit --vehicles list, bytes */

_Static_assert(OTA_STAGES_MAX == OTA_ROLLOUT_STAGES_MAX, "one limit on stages");

/* ---- create ------------------------------------------------------------------------------ */

/* Each id of a comma list valid, no empty item; duplicates dropped, order kept. *ret new. */
static int normalize_ids(const char *list, char **ret, char *err, size_t errlen)
{
    size_t len = strlen(list);
    char *out = NULL, *copy = NULL, *save = NULL;
    size_t used = 0;
    int r = -EINVAL;

    if (len == 0 || len > TARGET_LIST_MAX || list[0] == ',' || list[len - 1] == ',' ||
        strstr(list, ",,")) {
        ota_errf(err, errlen, "--vehicles: an empty id, or longer than %d bytes", TARGET_LIST_MAX);
        goto out;
    }
    copy = strdup(list);
    out = malloc(len + 1);
    if (!copy || !out) {
        r = -ENOMEM;
        goto out;
    }
    out[0] = '\0';
    for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(id);
        bool dup = false;

        if (!ota_id_valid(id)) {
            ota_errf(err, errlen, "--vehicles: invalid vehicle id '%.*s'", 80, id);
            goto out;
        }
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
    r = 0;
out:
    free(copy);
    free(out);
    return r;
}

/* An attribute target: a non-empty JSON object of label strings, keys sorted. *ret new. */
static int normalize_attrs(const char *text, char **ret, char *err, size_t errlen)
{
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    const char *key;
    json_t *v;
    int r = -EINVAL;

    if (!json_is_object(o) || json_object_size(o) == 0) {
        ota_errf(err, errlen, "--attr: expected KEY=VALUE[,KEY=VALUE...]");
        goto out;
    }
    json_object_foreach(o, key, v) {
        if (!ota_label_valid(key, OTA_LABEL_MAX) || !json_is_string(v) ||
            !ota_label_valid(json_string_value(v), OTA_LABEL_MAX)) {
            ota_errf(err, errlen, "--attr: keys and values are 1 to %d printable characters "
                     "without a comma", OTA_LABEL_MAX);
            goto out;
        }
    }
    *ret = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    r = *ret ? 0 : -ENOMEM;
out:
    json_decref(o);
    return r;
}

/* Inside the transaction: every id of an explicit list must name an active vehicle. */
static int listed_active(struct ota_db *db, const char *list, char *err, size_t errlen)
{
    char *copy = strdup(list), *save = NULL;
    int r = 0;

    if (!copy)
        return -ENOMEM;
    for (char *id = strtok_r(copy, ",", &save); id && r == 0; id = strtok_r(NULL, ",", &save)) {
        struct ota_vehicle *v = NULL;

        r = ota_db_vehicle_get(db, id, &v);
        if (r == -ENOENT)
            ota_errf(err, errlen, "--vehicles: unknown vehicle '%s'", id);
        else if (r == 0 && v->revoked) {
            ota_errf(err, errlen, "--vehicles: vehicle '%s' is revoked", id);
            r = -ENOENT;
        }
        ota_vehicle_free(v);
    }
    free(copy);
    return r;
}

/* The artifact must exist with its bytes (not deleted). */
static int artifact_usable(struct ota_db *db, const char *sha256, char *err, size_t errlen)
{
    struct ota_artifact *a = NULL;
    int r = ota_db_artifact_get(db, sha256, &a);

    if (r == -ENOENT)
        ota_errf(err, errlen, "--artifact: no artifact %s: upload it first", sha256);
    else if (r == 0 && a->deleted_at) {
        ota_errf(err, errlen, "--artifact: artifact %s was deleted", sha256);
        r = -ENOENT;
    }
    ota_artifact_free(a);
    return r;
}

/* ---- rollout options ------------------------------------------------------------------ */

/* The rollout options checked on their own (those that need the targets are checked in
 * rules_fit); @ret's strings borrow @ro's. */
static int rules_parse(const struct ota_rollout_spec *ro, int64_t now,
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
static int rules_fit(struct ota_db *db, const struct ota_campaign_spec *s, const char *target,
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

/* The checks that need the database, inside the transaction. */
static int create_checks(struct ota_db *db, const struct ota_campaign_spec *s, const char *target,
                         char *err, size_t errlen)
{
    int r = artifact_usable(db, s->artifact, err, errlen);

    if (r < 0)
        return r;
    switch (s->kind) {
    case OTA_TARGET_VEHICLES:
        return listed_active(db, target, err, errlen);
    case OTA_TARGET_GROUP:
        r = ota_db_group_exists(db, target);
        if (r == -ENOENT)
            ota_errf(err, errlen, "--group: no vehicle is in group '%s'", target);
        return r;
    case OTA_TARGET_MODEL:
        r = ota_db_model_exists(db, target);
        if (r == -ENOENT)
            ota_errf(err, errlen, "--model: no vehicle is of model '%s'", target);
        return r;
    default:
        return 0;
    }
}

int ota_campaign_create(struct ota_db *db, const char *actor, const struct ota_campaign_spec *s,
                        int64_t *ret_id, char *err, size_t errlen)
{
    struct ota_campaign_rules rules;
    char *norm = NULL, detail[256];
    const char *target = s->target ? s->target : "";
    int64_t id = 0;
    int r = -EINVAL;

    err[0] = '\0';
    if (!s->name || !ota_label_valid(s->name, OTA_LABEL_MAX)) {
        ota_errf(err, errlen, "--name: 1 to %d printable characters without a comma",
                 OTA_LABEL_MAX);
        return -EINVAL;
    }
    if (!s->artifact || !ota_sha256_hex_valid(s->artifact)) {
        ota_errf(err, errlen, "--artifact: 64 lowercase hex digits");
        return -EINVAL;
    }
    switch (s->kind) {
    case OTA_TARGET_VEHICLES:
        if ((r = normalize_ids(target, &norm, err, errlen)) < 0)
            return r;
        target = norm;
        break;
    case OTA_TARGET_ATTRIBUTES:
        if ((r = normalize_attrs(target, &norm, err, errlen)) < 0)
            return r;
        target = norm;
        break;
    case OTA_TARGET_GROUP:
    case OTA_TARGET_MODEL:
        if (!ota_label_valid(target, OTA_LABEL_MAX)) {
            ota_errf(err, errlen, "--%s: 1 to %d printable characters without a comma",
                     s->kind == OTA_TARGET_GROUP ? "group" : "model", OTA_LABEL_MAX);
            return -EINVAL;
        }
        break;
    case OTA_TARGET_ALL:
        target = "";
        break;
    default:
        return -EINVAL;
    }
    if ((r = rules_parse(&s->rollout, ota_now(), &rules, err, errlen)) < 0)
        goto out;
    if ((r = ota_db_begin(db)) < 0)
        goto out;
    if ((r = create_checks(db, s, target, err, errlen)) < 0 ||
        (r = rules_fit(db, s, target, &rules, err, errlen)) < 0)
        goto out;
    r = ota_db_campaign_insert(db, s->name, s->artifact, s->kind, target, ota_now(), &id);
    if (r == -EEXIST) {
        ota_errf(err, errlen, "--name: a campaign named '%s' already exists", s->name);
        goto out;
    }
    if (r < 0 || (r = ota_db_campaign_set_rules(db, id, &rules)) < 0)
        goto out;
    snprintf(detail, sizeof(detail), "%s %s%s%.150s", s->artifact, ota_target_kind_name(s->kind),
             target[0] ? ":" : "", target);
    if ((r = ota_db_audit(db, actor, "campaign.create", NULL, id, detail)) < 0 ||
        (r = ota_db_commit(db)) < 0)
        goto out;
    *ret_id = id;
out:
    if (r < 0)
        ota_db_rollback(db);
    free(norm);
    return r;
}

/* ---- life cycle ---------------------------------------------------------------------------- */

/* Reads campaign @id inside the transaction and checks it is in one of the @nallowed
 * states; otherwise -EINVAL with "campaign N is <state>: only a <needs> campaign can be
 * <verb>". */
static int campaign_check(struct ota_db *db, int64_t id, const enum ota_campaign_state *allowed,
                          size_t nallowed, const char *verb, const char *needs, char *err,
                          size_t errlen, struct ota_campaign **ret)
{
    struct ota_campaign *c = NULL;
    int r = ota_db_campaign_get(db, id, &c);

    if (r == -ENOENT)
        ota_errf(err, errlen, "no campaign %lld", (long long)id);
    if (r < 0)
        return r;
    for (size_t i = 0; i < nallowed; i++) {
        if (c->state == allowed[i]) {
            *ret = c;
            return 0;
        }
    }
    ota_errf(err, errlen, "campaign %lld is %s: only a %s campaign can be %s", (long long)id,
             ota_campaign_state_name(c->state), needs, verb);
    ota_campaign_free(c);
    return -EINVAL;
}

int ota_campaign_finish_if_done(struct ota_db *db, int64_t id, int64_t now)
{
    struct ota_campaign *c = NULL;
    int r = ota_db_campaign_get(db, id, &c);

    if (r == 0 && (c->state == OTA_CAMPAIGN_RUNNING || c->state == OTA_CAMPAIGN_PAUSED) &&
        ota_campaign_unfinished(c) == 0)
        r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_FINISHED, now);
    ota_campaign_free(c);
    return r;
}

/* The artifact's bytes must be in the store, or every vehicle would get 404. */
static int stored(struct ota_db *db, const char *store, const char *sha256, char *err,
                  size_t errlen)
{
    int r = artifact_usable(db, sha256, err, errlen), fd;

    if (r < 0 || !store)
        return r;
    fd = ota_store_open(store, sha256);
    if (fd < 0) {
        ota_errf(err, errlen, "artifact %s is missing from the store %s (%s)", sha256, store,
                 strerror(-fd));
        return -ENOENT;
    }
    close(fd);
    return 0;
}

/* Targets per write transaction of a start: about 0.1 s of write lock on this machine,
 * so that other writers (status reports, ota-admin) keep within the busy timeout
 * whatever the campaign's size. */
#define START_BATCH 10000

/* The batch's targets that are busy in another campaign, per @busy. */
static int settle_busy(struct ota_db *db, const char *actor, int64_t id, enum ota_start_busy busy,
                       int64_t now, struct ota_start_report *rep, char *err, size_t errlen)
{
    int64_t *others = NULL;
    uint64_t n = 0, done = 0;
    size_t nothers = 0;
    char detail[96];
    int r;

    if ((r = ota_db_targets_busy(db, id, &n)) < 0 || n == 0)
        return r;
    switch (busy) {
    case OTA_START_REFUSE:
        /* became busy after the start's first check (another start meanwhile) */
        ota_errf(err, errlen,
                 "%llu targets are now in another campaign's unfinished deployment: start "
                 "again with --supersede (end those) or --skip-busy (leave them out)",
                 (unsigned long long)n);
        return -EEXIST;
    case OTA_START_SKIP_BUSY:
        if ((r = ota_db_targets_skip_busy(db, id, &done)) == 0)
            rep->skipped += done;
        return r;
    case OTA_START_SUPERSEDE:
        snprintf(detail, sizeof(detail), "superseded by campaign %lld", (long long)id);
        r = ota_db_targets_supersede(db, id, detail, now, &done, &others, &nothers);
        rep->superseded += done;
        for (size_t i = 0; r == 0 && i < nothers; i++) {
            if ((r = ota_campaign_finish_if_done(db, others[i], now)) == 0)
                r = ota_db_audit(db, actor, "campaign.superseded", NULL, others[i], detail);
        }
        free(others);
        return r;
    }
    return -EINVAL;
}

/* The update message of a campaign: what GET /v1/updates answers for it (the same
 * function builds both) + issued_at. *ret_body new. */
static int update_body(struct ota_db *db, const struct ota_campaign *c, unsigned poll_after,
                       int64_t now, char **ret_body)
{
    struct ota_deployment proto = { .campaign = c->id };

    memcpy(proto.artifact, c->artifact, sizeof(proto.artifact));
    return ota_status_update_body(db, &proto, poll_after, now, ret_body);
}

/* A staged start's stages: the highest order rank of each (the last holds every rank). */
struct start_plan {
    unsigned n; /* 0: not staged, or resumed (the stages exist) */
    int64_t upto[OTA_ROLLOUT_STAGES_MAX];
};

/* Stage sizes for the targets that will be deployed, and the rank at each boundary. */
static int plan_stages(struct ota_db *db, const struct ota_campaign *c, enum ota_start_busy busy,
                       const struct ota_start_report *rep, struct start_plan *plan, char *err,
                       size_t errlen)
{
    struct ota_rollout_amount st[OTA_ROLLOUT_STAGES_MAX];
    uint64_t sizes[OTA_ROLLOUT_STAGES_MAX];
    uint64_t targets = rep->targets - (busy == OTA_START_SKIP_BUSY ? rep->busy : 0);
    bool skip = busy == OTA_START_SKIP_BUSY;
    unsigned n = 0;
    int r;

    plan->n = 0;
    if (!c->rules.stages[0] || c->stage_count > 0)
        return 0;
    if ((r = ota_rollout_stages_parse(c->rules.stages, st, &n, err, errlen)) < 0 ||
        (r = ota_rollout_stage_sizes(st, n, targets, sizes, err, errlen)) < 0) {
        size_t len = strlen(err);
        if (len + 1 < errlen)
            snprintf(err + len, errlen - len, " (campaign %lld cannot start)", (long long)c->id);
        return r;
    }
    for (unsigned k = 0; k + 1 < n; k++) {
        if ((r = ota_db_targets_rank_at(db, c->id, c->rules.canary, skip, sizes[k] - 1,
                                        &plan->upto[k])) < 0)
            return r == -ENOENT ? -EIO : r;
    }
    plan->upto[n - 1] = INT64_MAX;
    plan->n = n;
    return 0;
}

/* Start, step 1, read only: the campaign may start, its artifact is stored, its targets
 * are gathered (into the connection's temporary target set) and their busy ones are
 * acceptable; a staged campaign's stages are planned. Nothing is written: a refusal here
 * changes nothing. */
static int start_check(struct ota_db *db, int64_t id, enum ota_start_busy busy,
                       const char *store, struct ota_start_report *rep, struct start_plan *plan,
                       char *err, size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_CREATED,
                                                       OTA_CAMPAIGN_STARTING };
    struct ota_campaign *c = NULL;
    char bad[OTA_ID_MAX + 1] = "";
    int r;

    if ((r = campaign_check(db, id, allowed, 2, "started", "created", err, errlen, &c)) < 0 ||
        (r = stored(db, store, c->artifact, err, errlen)) < 0)
        goto out;
    r = ota_db_targets_gather(db, c, &rep->targets, bad);
    if (r == -EINVAL && bad[0]) {
        ota_errf(err, errlen, "campaign %lld cannot start: vehicle '%s' is no longer active",
                 (long long)id, bad);
        r = -ENOENT;
    }
    if (r < 0)
        goto out;
    if (rep->targets == 0) {
        ota_errf(err, errlen, "campaign %lld cannot start: its target selects no active vehicle",
                 (long long)id);
        r = -EINVAL;
        goto out;
    }
    if ((r = ota_db_targets_busy_all(db, id, &rep->busy)) < 0)
        goto out;
    if (rep->busy == 0) {
        r = plan_stages(db, c, busy, rep, plan, err, errlen);
        goto out;
    }
    if (busy == OTA_START_REFUSE) {
        ota_errf(err, errlen,
                 "%llu of the %llu targets are in another campaign's unfinished deployment: "
                 "start with --supersede (end those) or --skip-busy (leave them out)",
                 (unsigned long long)rep->busy, (unsigned long long)rep->targets);
        r = -EEXIST;
    } else if (busy == OTA_START_SKIP_BUSY && rep->busy == rep->targets) {
        ota_errf(err, errlen, "all %llu targets are in another campaign's unfinished "
                 "deployment", (unsigned long long)rep->targets);
        r = -EEXIST;
    } else {
        r = plan_stages(db, c, busy, rep, plan, err, errlen);
    }
out:
    ota_campaign_free(c);
    return r;
}

/* The stages planned, stage 1 open, and whether it offers now (its start time, its
 * window): all invisible until the campaign runs. @c follows. */
static int start_rollout(struct ota_db *db, struct ota_campaign *c, const struct start_plan *plan,
                         int64_t now)
{
    int r;

    for (unsigned k = 0; k < plan->n; k++) {
        if ((r = ota_db_stage_insert(db, c->id, k + 1, plan->upto[k])) < 0)
            return r;
    }
    if (plan->n > 0) {
        c->stage_count = plan->n;
        c->stage_open = 1;
        if ((r = ota_db_stage_opened(db, c->id, 1, now)) < 0)
            return r;
    }
    c->offering = ota_rollout_offering(c->rules.start_at, c->rules.window, now);
    return ota_db_campaign_set_rollout(db, c->id, c->stage_count, c->stage_open, false,
                                       c->offering);
}

/* Start, step 2: created -> starting (a resumed start finds it starting), the rollout
 * set up, and the update message stored once: *ret_payload for the rows of the batches,
 * *ret_c the campaign (new) for its id, artifact and rollout. */
static int start_begin(struct ota_db *db, int64_t id, const struct start_plan *plan,
                       unsigned poll_after, int64_t now, int64_t *ret_payload,
                       struct ota_campaign **ret_c, char *err, size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_CREATED,
                                                       OTA_CAMPAIGN_STARTING };
    struct ota_campaign *c = NULL;
    char *body = NULL;
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = campaign_check(db, id, allowed, 2, "started", "created", err, errlen, &c)) < 0 ||
        (c->state == OTA_CAMPAIGN_CREATED &&
         (r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_STARTING, now)) < 0) ||
        (r = start_rollout(db, c, plan, now)) < 0 ||
        (r = update_body(db, c, poll_after, now, &body)) < 0 ||
        (r = ota_db_outbox_payload_add(db, body, ret_payload)) < 0)
        goto out;
    if ((r = ota_db_commit(db)) == 0) {
        *ret_c = c;
        c = NULL;
    }
out:
    if (r < 0)
        ota_db_rollback(db);
    free(body);
    ota_campaign_free(c);
    return r;
}

/* Start, step 3, one transaction per batch: the next targets' deployments, with their
 * messages held back. Invisible until step 4: a 'starting' campaign offers nothing, and
 * status reports treat its deployments as absent. 1 for a batch done, 0 when none was
 * left. */
static int start_batch(struct ota_db *db, const char *actor, const struct ota_campaign *c,
                       enum ota_start_busy busy, char cursor[OTA_ID_MAX + 1], int64_t payload,
                       int64_t now, struct ota_start_report *rep, char *err, size_t errlen)
{
    uint64_t n = 0, installed = 0, pending = 0;
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = ota_db_targets_next_batch(db, c->id, cursor, START_BATCH, &n)) < 0)
        goto out;
    if (n > 0 && ((r = settle_busy(db, actor, c->id, busy, now, rep, err, errlen)) < 0 ||
                  (r = ota_db_targets_deploy(db, c, now, &installed, &pending)) < 0 ||
                  (r = ota_db_targets_announce_held(db, c->id, payload,
                                                    c->offering ? (int)c->stage_open : -1, now,
                                                    NULL)) < 0))
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    return r < 0 ? r : n > 0;
}

/* Start, step 4: starting -> running (or finished, when every target already runs the
 * artifact), which makes every deployment visible at once. */
static int start_finish(struct ota_db *db, const char *actor, int64_t id, int64_t now,
                        struct ota_start_report *rep, char *err, size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_STARTING };
    struct ota_campaign *c = NULL;
    char detail[192];
    int r;

    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = campaign_check(db, id, allowed, 1, "started", "starting", err, errlen, &c)) < 0)
        goto out;
    rep->pending = c->counts[OTA_DEPLOY_PENDING];
    rep->installed = c->counts[OTA_DEPLOY_INSTALLED];
    if (ota_campaign_unfinished(c) == 0 && rep->installed == 0) {
        ota_errf(err, errlen, "campaign %lld cannot start: every target left it meanwhile",
                 (long long)id);
        r = -EINVAL;
        goto out;
    }
    r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_RUNNING, now);
    if (r == 0 && ota_campaign_unfinished(c) == 0)
        r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_FINISHED, now);
    if (r < 0)
        goto out;
    snprintf(detail, sizeof(detail),
             "%llu vehicles: %llu notified, %llu already installed, %llu superseded, %llu skipped",
             (unsigned long long)(rep->pending + rep->installed), (unsigned long long)rep->pending,
             (unsigned long long)rep->installed, (unsigned long long)rep->superseded,
             (unsigned long long)rep->skipped);
    if ((r = ota_db_audit(db, actor, "campaign.start", NULL, id, detail)) < 0 ||
        (r = ota_campaign_rules_apply(db, id, actor, now)) < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_campaign_free(c);
    return r;
}

/* Between two batches: a pause longer than the database's busy retry interval (1 ms,
 * ota_db_sqlite.c), so that every writer waiting for the lock gets it before the next
 * batch takes it again. ~0.2 s over a start of 1M vehicles. */
static void let_writers_in(void)
{
    usleep(2000);
}

int ota_campaign_release_held(struct ota_db *db, int64_t id, unsigned max_batches,
                              uint64_t *ret_n)
{
    struct ota_campaign *c = NULL;
    uint64_t n = START_BATCH, total = 0;
    int r = 0;

    for (unsigned b = 0; n == START_BATCH && (max_batches == 0 || b < max_batches); b++) {
        if ((r = ota_db_begin(db)) < 0)
            break;
        /* a pause or cancel meanwhile dropped the rows; nothing to release then */
        if ((r = ota_db_campaign_get(db, id, &c)) == 0 && c->state == OTA_CAMPAIGN_RUNNING)
            r = ota_db_outbox_release_held(db, id, START_BATCH, &n);
        else if (r == 0)
            n = 0;
        ota_campaign_free(c);
        c = NULL;
        if (r == 0)
            r = ota_db_commit(db);
        if (r < 0) {
            ota_db_rollback(db);
            break;
        }
        total += n;
        if (n == START_BATCH)
            let_writers_in();
    }
    if (ret_n)
        *ret_n = total;
    return r;
}

int ota_campaign_start(struct ota_db *db, const char *actor, int64_t id,
                       enum ota_start_busy busy, unsigned poll_after, const char *store,
                       struct ota_start_report *report, char *err, size_t errlen)
{
    struct ota_start_report rep = { 0 };
    struct start_plan plan = { 0 };
    struct ota_campaign *c = NULL;
    char cursor[OTA_ID_MAX + 1] = "";
    int64_t now = ota_now(), payload = 0;
    int r;

    err[0] = '\0';
    if ((r = start_check(db, id, busy, store, &rep, &plan, err, errlen)) < 0 ||
        (r = start_begin(db, id, &plan, poll_after, now, &payload, &c, err, errlen)) < 0)
        goto out;
    /* The batches need not survive a power loss (the start goes on where the database
     * says it stopped): without an fsync each they take half the time. The step that
     * makes the campaign visible is durable again. */
    (void)ota_db_sync_full(db, false);
    while ((r = start_batch(db, actor, c, busy, cursor, payload, now, &rep, err, errlen)) > 0)
        let_writers_in();
    (void)ota_db_sync_full(db, true);
    if (r == 0)
        r = start_finish(db, actor, id, now, &rep, err, errlen);
    if (r < 0) {
        /* what the batches wrote stays invisible; 'campaign start' again goes on */
        size_t len = strlen(err);

        if (len + 1 < errlen)
            snprintf(err + len, errlen - len, "%scampaign %lld is left 'starting' (nothing of it "
                     "is offered): 'campaign start %lld' again goes on, 'campaign cancel "
                     "%lld' ends it", len ? "; " : "", (long long)id, (long long)id,
                     (long long)id);
        goto out;
    }
    /* the messages, oldest first, in batches too; what a crash leaves held, ota-notifier
     * releases */
    (void)ota_db_sync_full(db, false);
    r = ota_campaign_release_held(db, id, 0, NULL);
    if (r == 0)
        r = ota_campaign_announce(db, id, poll_after, 0, NULL); /* stages a rule opened */
    (void)ota_db_sync_full(db, true);
out:
    if (report)
        *report = rep;
    ota_campaign_free(c);
    return r;
}

/* Inside the transaction: the offered updates of @id not yet under way withdrawn: unsent
 * messages dropped, retained ones cleared (*ret_held of them), an announce ended. */
static int withdraw(struct ota_db *db, int64_t id, int64_t now, uint64_t *ret_held)
{
    int r;

    if ((r = ota_db_outbox_drop_campaign(db, id)) < 0 ||
        (r = ota_db_outbox_clear_pending(db, id, now, ret_held)) < 0)
        return r;
    return ota_db_campaign_announce_end(db, id);
}

/* Inside the transaction: running -> paused, by the operator or by the brake. */
static int pause_locked(struct ota_db *db, int64_t id, int64_t now, uint64_t *ret_held)
{
    int r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_PAUSED, now);

    return r < 0 ? r : withdraw(db, id, now, ret_held);
}

int ota_campaign_pause(struct ota_db *db, const char *actor, int64_t id, char *err,
                       size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_RUNNING };
    struct ota_campaign *c = NULL;
    int64_t now = ota_now();
    uint64_t held = 0;
    char detail[64];
    int r;

    err[0] = '\0';
    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = campaign_check(db, id, allowed, 1, "paused", "running", err, errlen, &c)) < 0 ||
        (r = pause_locked(db, id, now, &held)) < 0)
        goto out;
    snprintf(detail, sizeof(detail), "%llu deployments held", (unsigned long long)held);
    if ((r = ota_db_audit(db, actor, "campaign.pause", NULL, id, detail)) < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_campaign_free(c);
    return r;
}

int ota_campaign_resume(struct ota_db *db, const char *actor, int64_t id, unsigned poll_after,
                        char *err, size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_PAUSED };
    struct ota_campaign *c = NULL;
    int64_t now = ota_now();
    int r;

    err[0] = '\0';
    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = campaign_check(db, id, allowed, 1, "resumed", "paused", err, errlen, &c)) < 0 ||
        (r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_RUNNING, now)) < 0 ||
        (r = ota_db_campaign_announce_request(db, id, 0)) < 0 ||
        (r = ota_db_audit(db, actor, "campaign.resume", NULL, id, "")) < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_campaign_free(c);
    /* the held ones offered again, in batches: what a crash leaves, ota-notifier does */
    if (r == 0)
        r = ota_campaign_announce(db, id, poll_after, 0, NULL);
    return r;
}

int ota_campaign_cancel(struct ota_db *db, const char *actor, int64_t id, char *err,
                        size_t errlen)
{
    static const enum ota_campaign_state allowed[] = { OTA_CAMPAIGN_CREATED, OTA_CAMPAIGN_STARTING,
                                                       OTA_CAMPAIGN_RUNNING, OTA_CAMPAIGN_PAUSED };
    struct ota_campaign *c = NULL;
    int64_t now = ota_now();
    uint64_t n = 0;
    char detail[64];
    int r;

    err[0] = '\0';
    if ((r = ota_db_begin(db)) < 0)
        return r;
    if ((r = campaign_check(db, id, allowed, 4, "cancelled", "created, starting, running or paused",
                            err, errlen, &c)) < 0 ||
        (r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_CANCELLED, now)) < 0 ||
        (r = ota_db_outbox_drop_campaign(db, id)) < 0)
        goto out;
    /* the clearing messages before the deployments end: they go to the vehicles whose
     * deployment is still unfinished (a start that never finished announced nothing) */
    if ((c->state != OTA_CAMPAIGN_STARTING &&
         (r = ota_db_outbox_clear_unfinished(db, id, now, NULL)) < 0) ||
        (r = ota_db_deployment_cancel_campaign(db, id, now, &n)) < 0)
        goto out;
    snprintf(detail, sizeof(detail), "%llu deployments cancelled", (unsigned long long)n);
    if ((r = ota_db_audit(db, actor, "campaign.cancel", NULL, id, detail)) < 0)
        goto out;
    r = ota_db_commit(db);
out:
    if (r < 0)
        ota_db_rollback(db);
    ota_campaign_free(c);
    return r;
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
            if ((r = pause_locked(db, id, now, &held)) == 0) {
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
            if ((r = update_body(db, c, poll_after, now, &body)) == 0 &&
                (r = ota_db_outbox_payload_add(db, body, &payload)) == 0)
                r = ota_db_campaign_announce_batch(db, c, payload, START_BATCH, now, &n, &done);
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
            let_writers_in();
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
        (r = want ? ota_db_campaign_announce_request(db, id, 0) : withdraw(db, id, now, &held)) < 0)
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
    if ((r = campaign_check(db, id, allowed, 1, "advanced", "running", err, errlen, &c)) < 0)
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
    if ((r = campaign_check(db, id, allowed, 3, "retried", "running, paused or finished", err,
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
