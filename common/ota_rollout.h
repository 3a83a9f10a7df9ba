/* Staged rollouts as pure decisions (DESIGN.md "Rollouts"): the rollout options parsed
 * and checked (stages, thresholds, durations, times, maintenance windows), the stage sizes
 * for a number of targets, whether a window is open at a time, and what a campaign's
 * counts call for (open the next stage, wait for `campaign advance`, pause on failures).
 * Nothing here reads the clock or the database: counts and time in, actions out; the
 * callers (ota_campaign.c, ota_status.c, ota-notifier) apply the actions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTA_ROLLOUT_STAGES_MAX 16
#define OTA_ROLLOUT_BP_ALL 10000     /* 100 %, in hundredths of a percent */
#define OTA_ROLLOUT_TIMEOUT_MAX (30 * 86400)

/* "25%" (percent with up to two decimals, stored in hundredths: 2500) or "40" (a count). */
struct ota_rollout_amount {
    uint64_t value;
    bool percent;
};

/* Parses "P%" (0 < P <= 100, up to two decimals) or a count N >= 1 (@allow_count). 0 or
 * -EINVAL. */
int ota_rollout_amount_parse(const char *s, bool allow_count, struct ota_rollout_amount *ret);

/* "--stages 1%,10%,50%,100%" or counts "5,50,200": cumulative, so each must be more
 * than the one before where both are of one kind. A list whose last stage is below 100 %
 * gets a final 100 % stage (every target is reached in the end). *ret_n stages. 0 or
 * -EINVAL with the reason in @err. */
int ota_rollout_stages_parse(const char *s, struct ota_rollout_amount ret[OTA_ROLLOUT_STAGES_MAX],
                             unsigned *ret_n, char *err, size_t errlen);

/* The cumulative size of each stage for @targets vehicles: a percentage rounds up, so
 * that 1 % of 50 is one vehicle. -EINVAL (reason in @err) when a stage would hold no
 * vehicle, or a count passes @targets. */
int ota_rollout_stage_sizes(const struct ota_rollout_amount *stages, unsigned n,
                            uint64_t targets, uint64_t ret_sizes[OTA_ROLLOUT_STAGES_MAX],
                            char *err, size_t errlen);

/* "90s", "30m", "2h", "1d" or bare seconds, 1 s .. 30 days. 0 or -EINVAL. */
int ota_rollout_duration_parse(const char *s, int64_t *ret_s);

/* RFC 3339 in UTC ("2026-12-03T10:00:00Z") or "@EPOCH". 0 or -EINVAL. */
int ota_rollout_time_parse(const char *s, int64_t *ret);

/* A maintenance window in UTC: weekdays and a time of day, "mon-fri 01:00-05:00",
 * "sat,sun 22:00-06:00" (past midnight: it runs into the next day), "01:00-05:00" (every
 * day). End 24:00 is the end of the day. */
struct ota_window {
    uint8_t days;       /* bit 0 Sunday .. bit 6 Saturday: the days a window starts on */
    uint16_t start_min; /* minutes after 00:00 */
    uint16_t end_min;   /* 1..1440; below start_min: ends on the next day */
};
/* 0, or -EINVAL with the reason in @err (malformed, no day, start = end: empty). */
int ota_window_parse(const char *s, struct ota_window *ret, char *err, size_t errlen);
bool ota_window_open(const struct ota_window *w, int64_t t);

/* Whether a campaign offers deployments not yet under way at @now: after @start_at
 * (0: no start time) and inside @window (NULL or "": always). A window that does not
 * parse is closed (create refuses those; this keeps a damaged row safe). */
bool ota_rollout_offering(int64_t start_at, const char *window, int64_t now);

/* The rules of one campaign, as created. */
struct ota_rollout_rules {
    unsigned nstages;               /* 0: not staged */
    uint32_t success_bp;            /* share of a stage installed that opens the next */
    bool manual;                    /* the next stage opens only by `campaign advance` */
    struct ota_rollout_amount max_failures; /* value 0: no brake */
    uint64_t min_finished;          /* the brake acts once this many ended */
};

/* A campaign's counts when a rule is checked. */
struct ota_rollout_counts {
    unsigned stage_open;  /* stages open, 1..nstages (staged campaigns) */
    bool waiting;         /* the open stage met its threshold; --manual waits */
    /* the whole campaign, for the brake */
    uint64_t installed, failed;
    /* the deployments of the open stages (1..stage_open), for the success threshold */
    uint64_t open_total, open_installed, open_cancelled;
};

enum ota_rollout_action {
    OTA_ROLLOUT_NONE,
    OTA_ROLLOUT_PAUSE,     /* the failure brake: pause the campaign */
    OTA_ROLLOUT_OPEN_NEXT, /* open stage stage_open + 1 */
    OTA_ROLLOUT_WAIT,      /* --manual: the stage is done, wait for advance */
};

struct ota_rollout_decision {
    enum ota_rollout_action action;
    char reason[200]; /* the rule and the counts, for the event */
};

/* What @c calls for under @rules. The brake comes first: failures reaching the threshold
 * (failed >= N, or failed >= P % of the ended) once installed + failed >= min_finished
 * pause. Then a staged campaign whose open stages have success_bp of their deployments
 * installed (cancelled ones left out; none left counts as met) opens the next stage, or
 * with --manual waits (WAIT once: not again while @c->waiting). */
void ota_rollout_decide(const struct ota_rollout_rules *rules, const struct ota_rollout_counts *c,
                        struct ota_rollout_decision *ret);

/* Whether `campaign advance` may open the next stage now: staged, a stage left, and the
 * open stage met its threshold. -EINVAL with the reason in @err otherwise. */
int ota_rollout_may_advance(const struct ota_rollout_rules *rules,
                            const struct ota_rollout_counts *c, char *err, size_t errlen);
