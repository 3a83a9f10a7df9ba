/* The time-driven part of staged rollouts: see ntf_rollout.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "ota_campaign.h"
#include "ota_log.h"
#include "ntf_rollout.h"

#define CAMPAIGNS_PER_TICK 64 /* open campaigns looked at per tick (the oldest first) */

/* The ids of the open campaigns that have anything time-driven: read first, so that the
 * listing has ended before the changes run. */
static int due_campaigns(struct ota_db *db, int64_t ids[CAMPAIGNS_PER_TICK], unsigned *ret_n)
{
    const struct ota_campaign *c;
    struct ota_db_iter it = { 0 };
    unsigned n = 0;
    int r = ota_db_campaigns_open_begin(db, &it);

    while (r == 0 && n < CAMPAIGNS_PER_TICK && (r = ota_db_campaigns_next(&it, &c)) > 0) {
        r = 0;
        if ((c->state == OTA_CAMPAIGN_RUNNING || c->state == OTA_CAMPAIGN_PAUSED) &&
            (c->stage_count || c->rules.max_failures || c->rules.timeout_s ||
             c->rules.start_at || c->rules.window[0] || c->announce_due))
            ids[n++] = c->id;
    }
    ota_db_iter_end(&it);
    *ret_n = n;
    return r;
}

static void log_error(struct ntf_rollout *ro, struct ota_db *db, int64_t id, const char *what,
                      int r, int64_t now_ms)
{
    if (r == -EBUSY && now_ms - ro->logged_ms < 10000)
        return; /* locked: the next tick tries again */
    ro->logged_ms = now_ms;
    ota_warn("campaign %" PRId64 ": %s: %s", id, what,
             r == -EBUSY ? "database busy" : ota_db_errmsg(db));
}

/* One campaign's time-driven work. true when messages were queued. */
static bool campaign_tick(struct ntf_rollout *ro, struct ota_db *db, int64_t id,
                          unsigned poll_after, int64_t now, int64_t now_ms)
{
    uint64_t n = 0;
    bool changed = false, queued = false;
    int r;

    if ((r = ota_campaign_offering_update(db, id, now, &changed)) < 0)
        log_error(ro, db, id, "start time or window", r, now_ms);
    else if (changed)
        queued = true; /* clearing messages, or a request the announce below serves */
    if ((r = ota_campaign_timeouts(db, id, now, poll_after, NTF_ROLLOUT_TIMEOUTS_PER_TICK, &n)) < 0)
        log_error(ro, db, id, "timeouts", r, now_ms);
    else if (n > 0) {
        ota_info("campaign %" PRId64 ": %" PRIu64 " deployment(s) timed out", id, n);
        queued = true;
    }
    /* what no report triggers: a stage whose last vehicles were cancelled or revoked */
    if ((r = ota_db_begin(db)) == 0) {
        r = ota_campaign_rules_apply(db, id, "notifier", now);
        r = r == 0 ? ota_db_commit(db) : r;
        if (r < 0)
            ota_db_rollback(db);
    }
    if (r < 0)
        log_error(ro, db, id, "rules", r, now_ms);
    if ((r = ota_campaign_announce(db, id, poll_after, NTF_ROLLOUT_ANNOUNCE_BATCHES, &n)) < 0)
        log_error(ro, db, id, "queueing update messages", r, now_ms);
    else if (n > 0) {
        ota_info("campaign %" PRId64 ": %" PRIu64 " update message(s) queued", id, n);
        queued = true;
    }
    return queued;
}

bool ntf_rollout_tick(struct ntf_rollout *ro, struct ota_db *db, unsigned poll_after,
                      int64_t now_ms)
{
    int64_t ids[CAMPAIGNS_PER_TICK], now;
    unsigned n = 0;
    bool queued = false;
    int r;

    if (now_ms < ro->next_ms)
        return false;
    ro->next_ms = now_ms + NTF_ROLLOUT_EVERY_MS;
    if ((r = due_campaigns(db, ids, &n)) < 0) {
        log_error(ro, db, 0, "listing campaigns", r, now_ms);
        return false;
    }
    now = ota_now();
    for (unsigned i = 0; i < n; i++)
        queued |= campaign_tick(ro, db, ids[i], poll_after, now, now_ms);
    return queued;
}
