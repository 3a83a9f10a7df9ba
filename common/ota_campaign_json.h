/* The JSON views of a campaign that `ota-admin campaign show|list --json` prints and the
 * dashboard's API (/api/v1/campaigns) serves: one builder, so both say the same. Every
 * function returns a new reference, or NULL when out of memory or the database failed. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "ota_db.h"

/* A time as RFC 3339 UTC, JSON null for 0 ("never"). */
json_t *ota_json_time(int64_t t);
/* {"pending":N, ... every deployment state}; *ret_total their sum (may be NULL). */
json_t *ota_json_counts(const uint64_t counts[OTA_DEPLOY_STATE_COUNT], uint64_t *ret_total);
/* The summary: id, name, state, artifact, target, times, deployments, counts. */
json_t *ota_json_campaign(const struct ota_campaign *c);
/* The failure reasons, most frequent first, at most @limit: [{"detail", "count"}]. */
json_t *ota_json_campaign_failures(struct ota_db *db, int64_t id, unsigned limit);
/* The rollout: rules, stage states with their counts; JSON null without rules. */
json_t *ota_json_campaign_rollout(struct ota_db *db, const struct ota_campaign *c);
/* What `campaign show --json` prints before its vehicles: the summary with "failures"
 * (at most 10 reasons) and "rollout". */
json_t *ota_json_campaign_show(struct ota_db *db, const struct ota_campaign *c);

/* Rules beyond a plain campaign (stages, brake, timeout, start time, window). */
bool ota_campaign_has_rules(const struct ota_campaign *c);
/* Hundredths of a percent as text: "90%", "12.50%". */
void ota_fmt_bp(uint64_t bp, char *buf, size_t len);
/* The brake as text: "none", a count, or a percentage. */
void ota_fmt_max_failures(const struct ota_campaign *c, char *buf, size_t len);
