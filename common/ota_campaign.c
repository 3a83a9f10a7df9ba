/* Campaign life cycle: see ota_campaign.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "ota_campaign.h"
#include "ota_campaign_int.h"
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
    if ((r = ota_campaign_rules_parse(&s->rollout, ota_now(), &rules, err, errlen)) < 0)
        goto out;
    if ((r = ota_db_begin(db)) < 0)
        goto out;
    if ((r = create_checks(db, s, target, err, errlen)) < 0 ||
        (r = ota_campaign_rules_fit(db, s, target, &rules, err, errlen)) < 0)
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
int ota_campaign_check_state(struct ota_db *db, int64_t id, const enum ota_campaign_state *allowed,
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
int ota_campaign_update_body(struct ota_db *db, const struct ota_campaign *c, unsigned poll_after,
                       int64_t now, char **ret_body)
{
    struct ota_deployment proto = { .campaign = c->id };

    memcpy(proto.artifact, c->artifact, sizeof(proto.artifact));
    return ota_status_update_body(db, &proto, NULL, poll_after, now, ret_body);
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

    if ((r = ota_campaign_check_state(db, id, allowed, 2, "started", "created", err, errlen, &c)) < 0 ||
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
    if ((r = ota_campaign_check_state(db, id, allowed, 2, "started", "created", err, errlen, &c)) < 0 ||
        (c->state == OTA_CAMPAIGN_CREATED &&
         (r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_STARTING, now)) < 0) ||
        (r = start_rollout(db, c, plan, now)) < 0 ||
        (r = ota_campaign_update_body(db, c, poll_after, now, &body)) < 0 ||
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
    if ((r = ota_db_targets_next_batch(db, c->id, cursor, OTA_CAMPAIGN_BATCH, &n)) < 0)
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
    if ((r = ota_campaign_check_state(db, id, allowed, 1, "started", "starting", err, errlen, &c)) < 0)
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
void ota_campaign_let_writers_in(void)
{
    usleep(2000);
}

int ota_campaign_release_held(struct ota_db *db, int64_t id, unsigned max_batches,
                              uint64_t *ret_n)
{
    struct ota_campaign *c = NULL;
    uint64_t n = OTA_CAMPAIGN_BATCH, total = 0;
    int r = 0;

    for (unsigned b = 0; n == OTA_CAMPAIGN_BATCH && (max_batches == 0 || b < max_batches); b++) {
        if ((r = ota_db_begin(db)) < 0)
            break;
        /* a pause or cancel meanwhile dropped the rows; nothing to release then */
        if ((r = ota_db_campaign_get(db, id, &c)) == 0 && c->state == OTA_CAMPAIGN_RUNNING)
            r = ota_db_outbox_release_held(db, id, OTA_CAMPAIGN_BATCH, &n);
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
        if (n == OTA_CAMPAIGN_BATCH)
            ota_campaign_let_writers_in();
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
        ota_campaign_let_writers_in();
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
int ota_campaign_withdraw(struct ota_db *db, int64_t id, int64_t now, uint64_t *ret_held)
{
    int r;

    if ((r = ota_db_outbox_drop_campaign(db, id)) < 0 ||
        (r = ota_db_outbox_clear_pending(db, id, now, ret_held)) < 0)
        return r;
    return ota_db_campaign_announce_end(db, id);
}

/* Inside the transaction: running -> paused, by the operator or by the brake. */
int ota_campaign_pause_locked(struct ota_db *db, int64_t id, int64_t now, uint64_t *ret_held)
{
    int r = ota_db_campaign_set_state(db, id, OTA_CAMPAIGN_PAUSED, now);

    return r < 0 ? r : ota_campaign_withdraw(db, id, now, ret_held);
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
    if ((r = ota_campaign_check_state(db, id, allowed, 1, "paused", "running", err, errlen, &c)) < 0 ||
        (r = ota_campaign_pause_locked(db, id, now, &held)) < 0)
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
    if ((r = ota_campaign_check_state(db, id, allowed, 1, "resumed", "paused", err, errlen, &c)) < 0 ||
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
    if ((r = ota_campaign_check_state(db, id, allowed, 4, "cancelled", "created, starting, running or paused",
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

