/* Internal to the campaign domain (ota_campaign.c: create, start, pause, resume, cancel;
 * ota_campaign_rollout.c: staged rollouts): the steps both use. Nothing else includes
 * this; the calls for everyone are in ota_campaign.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_campaign.h"

/* Targets (or messages) per write transaction of a start or an announce: about 0.1 s of
 * write lock on this machine, so that other writers (status reports, ota-admin) keep
 * within the busy timeout whatever the campaign's size. */
#define OTA_CAMPAIGN_BATCH 10000

/* Between two batches: a pause longer than the database's busy retry interval, so that
 * every writer waiting for the lock gets it before the next batch takes it again. */
void ota_campaign_let_writers_in(void);

/* Reads campaign @id inside the transaction and checks it is in one of the @nallowed
 * states; otherwise -EINVAL with "campaign N is <state>: only a <needs> campaign can be
 * <verb>" in @err. On success *ret is new. */
int ota_campaign_check_state(struct ota_db *db, int64_t id, const enum ota_campaign_state *allowed,
                             size_t nallowed, const char *verb, const char *needs, char *err,
                             size_t errlen, struct ota_campaign **ret);

/* The update message of a campaign: what GET /v1/updates answers for it + issued_at.
 * *ret_body new. */
int ota_campaign_update_body(struct ota_db *db, const struct ota_campaign *c, unsigned poll_after,
                             int64_t now, char **ret_body);

/* Inside the transaction: the offered updates of @id not yet under way withdrawn: unsent
 * messages dropped, retained ones cleared (*ret_held of them), an announce ended. */
int ota_campaign_withdraw(struct ota_db *db, int64_t id, int64_t now, uint64_t *ret_held);
/* Inside the transaction: running -> paused (the operator's pause, or the brake). */
int ota_campaign_pause_locked(struct ota_db *db, int64_t id, int64_t now, uint64_t *ret_held);

/* The rollout options of create checked on their own; @ret's strings borrow @ro's.
 * -EINVAL with the option named in @err. */
int ota_campaign_rules_parse(const struct ota_rollout_spec *ro, int64_t now,
                             struct ota_campaign_rules *ret, char *err, size_t errlen);
/* Inside the create transaction: the options that depend on the fleet now (every stage
 * holds vehicles of the targets, the canary group exists). */
int ota_campaign_rules_fit(struct ota_db *db, const struct ota_campaign_spec *s,
                           const char *target, const struct ota_campaign_rules *rules,
                           char *err, size_t errlen);
