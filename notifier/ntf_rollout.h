/* The time-driven part of staged rollouts (DESIGN.md "Rollouts"), run from the
 * notifier's loop once a second: start times and maintenance windows opening and closing,
 * deployments timing out, update messages a stage or window asked for queued in batches,
 * and the rules checked again for what no report triggers (a stage emptied by cancels).
 * The decisions are common/'s (ota_campaign.c, ota_rollout.c); this module owns only
 * when they run. It reads the clock through ota_now(), which tests move (OTA_TEST_CLOCK). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "ota_db.h"

#define NTF_ROLLOUT_EVERY_MS 1000
#define NTF_ROLLOUT_TIMEOUTS_PER_TICK 200 /* deployments timed out per campaign and tick */
#define NTF_ROLLOUT_ANNOUNCE_BATCHES 4    /* batches of update messages per campaign and tick */

struct ntf_rollout {
    int64_t next_ms;   /* monotonic time of the next tick */
    int64_t logged_ms; /* rate limit for database errors */
};

/* Runs a tick when one is due at @now_ms. Returns true when it queued messages (the
 * outbox has rows to drain). */
bool ntf_rollout_tick(struct ntf_rollout *ro, struct ota_db *db, unsigned poll_after,
                      int64_t now_ms);
