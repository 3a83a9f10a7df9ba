/* ota-admin's view of staged rollouts: the rules and stages of a campaign for `campaign
 * show`, and the commands `campaign advance`, `retry` and `watch` (adm_rollout.c). The
 * rules themselves are common/ota_campaign.c's and common/ota_rollout.c's. */
#pragma once
#include <jansson.h>
#include "adm_ctx.h"
#include "ota_db.h"

/* Parses the ID of a campaign command and opens the database (adm_campaign.c). On
 * success *ret_db is new. Returns an enum adm_exit. */
int adm_campaign_open(struct adm_ctx *ctx, const char *arg, int64_t *ret_id,
                      struct ota_db **ret_db);

/* @c's rules and stages (ota_json_campaign_rollout is the JSON view) as lines of `campaign show` (nothing when it has no rule). 0 or an error. */
int adm_rollout_print(struct ota_db *db, const struct ota_campaign *c);
