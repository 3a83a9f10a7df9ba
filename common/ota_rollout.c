/* Staged rollouts as pure decisions: see ota_rollout.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ota_rollout.h"
#include "ota_util.h"

#define COUNT_MAX 100000000ULL /* a fleet is smaller than this */

/* Digits only, no sign, no leading '+'/' ': strtoull would take those. */
static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;

    if (len == 0 || len > 12)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

int ota_rollout_amount_parse(const char *s, bool allow_count, struct ota_rollout_amount *ret)
{
    size_t len = strlen(s);
    uint64_t v = 0;
    char num[16];

    if (len > 0 && s[len - 1] == '%') {
        if (len >= sizeof(num))
            return -EINVAL;
        memcpy(num, s, len - 1);
        num[len - 1] = '\0';
        if (ota_parse_decimal(num, 100, 2, &v) < 0 || v == 0 || v > OTA_ROLLOUT_BP_ALL)
            return -EINVAL;
        *ret = (struct ota_rollout_amount){ .value = v, .percent = true };
        return 0;
    }
    if (!allow_count || parse_uint(s, len, COUNT_MAX, &v) < 0 || v == 0)
        return -EINVAL;
    *ret = (struct ota_rollout_amount){ .value = v, .percent = false };
    return 0;
}

int ota_rollout_stages_parse(const char *s, struct ota_rollout_amount ret[OTA_ROLLOUT_STAGES_MAX],
                             unsigned *ret_n, char *err, size_t errlen)
{
    struct ota_rollout_amount st[OTA_ROLLOUT_STAGES_MAX];
    unsigned n = 0;
    const char *p = s;

    if (!*s) {
        ota_errf(err, errlen, "--stages: empty; e.g. 5%%,25%%,100%% or 10,50,200");
        return -EINVAL;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[32];

        if (n == OTA_ROLLOUT_STAGES_MAX) {
            ota_errf(err, errlen, "--stages: at most %d stages", OTA_ROLLOUT_STAGES_MAX - 1);
            return -EINVAL;
        }
        if (len == 0 || len >= sizeof(item)) {
            ota_errf(err, errlen, "--stages: stage %u is empty or too long", n + 1);
            return -EINVAL;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (ota_rollout_amount_parse(item, true, &st[n]) < 0) {
            ota_errf(err, errlen, "--stages: stage %u '%s' is neither a share (0%% < P <= "
                     "100%%) nor a count of vehicles (>= 1)", n + 1, item);
            return -EINVAL;
        }
        if (n > 0 && st[n].percent == st[n - 1].percent && st[n].value <= st[n - 1].value) {
            ota_errf(err, errlen, "--stages: stage %u (%s) is not larger than stage %u: stages "
                     "are cumulative and must grow", n + 1, item, n);
            return -EINVAL;
        }
        if (n > 0 && st[n - 1].percent && st[n - 1].value == OTA_ROLLOUT_BP_ALL) {
            ota_errf(err, errlen, "--stages: stage %u comes after 100%%", n + 1);
            return -EINVAL;
        }
        n++;
        if (!end)
            break;
        p = end + 1;
    }
    if (!(st[n - 1].percent && st[n - 1].value == OTA_ROLLOUT_BP_ALL)) {
        if (n == OTA_ROLLOUT_STAGES_MAX) {
            ota_errf(err, errlen, "--stages: at most %d stages", OTA_ROLLOUT_STAGES_MAX - 1);
            return -EINVAL;
        }
        st[n++] = (struct ota_rollout_amount){ .value = OTA_ROLLOUT_BP_ALL, .percent = true };
    }
    memcpy(ret, st, sizeof(st[0]) * n);
    *ret_n = n;
    return 0;
}

int ota_rollout_stage_sizes(const struct ota_rollout_amount *stages, unsigned n,
                            uint64_t targets, uint64_t ret_sizes[OTA_ROLLOUT_STAGES_MAX],
                            char *err, size_t errlen)
{
    uint64_t sizes[OTA_ROLLOUT_STAGES_MAX];

    for (unsigned i = 0; i < n && i < OTA_ROLLOUT_STAGES_MAX; i++) {
        const struct ota_rollout_amount *a = &stages[i];

        if (a->percent) {
            sizes[i] = (targets * a->value + OTA_ROLLOUT_BP_ALL - 1) / OTA_ROLLOUT_BP_ALL;
        } else if (a->value > targets) {
            ota_errf(err, errlen, "--stages: stage %u is %llu vehicles, but the target selects "
                     "%llu", i + 1, (unsigned long long)a->value, (unsigned long long)targets);
            return -EINVAL;
        } else {
            sizes[i] = a->value;
        }
        if (sizes[i] == 0 || (i > 0 && sizes[i] <= sizes[i - 1])) {
            ota_errf(err, errlen, "--stages: stage %u would hold no vehicle (%llu targets)",
                     i + 1, (unsigned long long)targets);
            return -EINVAL;
        }
    }
    memcpy(ret_sizes, sizes, sizeof(sizes[0]) * n);
    return 0;
}

int ota_rollout_duration_parse(const char *s, int64_t *ret_s)
{
    size_t len = strlen(s);
    uint64_t v, unit = 1;

    if (len > 1) {
        switch (s[len - 1]) {
        case 's': unit = 1; len--; break;
        case 'm': unit = 60; len--; break;
        case 'h': unit = 3600; len--; break;
        case 'd': unit = 86400; len--; break;
        default: break;
        }
    }
    if (parse_uint(s, len, OTA_ROLLOUT_TIMEOUT_MAX, &v) < 0 || v == 0 ||
        v * unit > OTA_ROLLOUT_TIMEOUT_MAX)
        return -EINVAL;
    *ret_s = (int64_t)(v * unit);
    return 0;
}

int ota_rollout_time_parse(const char *s, int64_t *ret)
{
    struct tm tm = { 0 };
    uint64_t v;
    const char *end;
    time_t t;

    if (s[0] == '@') {
        if (parse_uint(s + 1, strlen(s + 1), INT64_MAX / 2, &v) < 0)
            return -EINVAL;
        *ret = (int64_t)v;
        return 0;
    }
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || strcmp(end, "Z") != 0 || strlen(s) != 20)
        return -EINVAL;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *ret = (int64_t)t;
    return 0;
}

static const char day_names[7][4] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int day_index(const char *s, size_t len)
{
    for (int i = 0; i < 7; i++) {
        if (len == 3 && memcmp(s, day_names[i], 3) == 0)
            return i;
    }
    return -1;
}

/* "HH:MM", 00:00..24:00 */
static int parse_hhmm(const char *s, size_t len, uint16_t *ret)
{
    uint64_t h, m;

    if (len != 5 || s[2] != ':' || parse_uint(s, 2, 24, &h) < 0 ||
        parse_uint(s + 3, 2, 59, &m) < 0 || (h == 24 && m != 0))
        return -EINVAL;
    *ret = (uint16_t)(h * 60 + m);
    return 0;
}

/* "mon-fri", "sat,sun", "fri-mon" (a range may wrap past Saturday) */
static int parse_days(const char *s, size_t len, uint8_t *ret)
{
    uint8_t days = 0;
    const char *p = s, *end = s + len;

    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        const char *dash = memchr(p, '-', (size_t)(item_end - p));
        int a, b;

        if (dash) {
            a = day_index(p, (size_t)(dash - p));
            b = day_index(dash + 1, (size_t)(item_end - dash - 1));
        } else {
            a = b = day_index(p, (size_t)(item_end - p));
        }
        if (a < 0 || b < 0)
            return -EINVAL;
        for (int d = a;; d = (d + 1) % 7) {
            days |= (uint8_t)(1u << d);
            if (d == b)
                break;
        }
        p = comma ? comma + 1 : end;
        if (comma && p == end)
            return -EINVAL;
    }
    *ret = days;
    return 0;
}

int ota_window_parse(const char *s, struct ota_window *ret, char *err, size_t errlen)
{
    const char *space = strchr(s, ' '), *times = space ? space + 1 : s, *dash;
    struct ota_window w = { .days = 0x7f };

    if (space && parse_days(s, (size_t)(space - s), &w.days) < 0) {
        ota_errf(err, errlen, "--window: '%.*s' is not a list of days (mon-fri, sat,sun)",
                 (int)(space - s), s);
        return -EINVAL;
    }
    dash = strchr(times, '-');
    if (!dash || parse_hhmm(times, (size_t)(dash - times), &w.start_min) < 0 ||
        parse_hhmm(dash + 1, strlen(dash + 1), &w.end_min) < 0 || w.start_min == 24 * 60) {
        ota_errf(err, errlen, "--window: expected [DAYS ]HH:MM-HH:MM in UTC, e.g. 'mon-fri "
                 "01:00-05:00'");
        return -EINVAL;
    }
    if (w.start_min == w.end_min || (w.start_min == 0 && w.end_min == 0)) {
        ota_errf(err, errlen, "--window: %.5s-%s is empty", times, dash + 1);
        return -EINVAL;
    }
    *ret = w;
    return 0;
}

bool ota_window_open(const struct ota_window *w, int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int minute = (int)((t - days * 86400) / 60);
    int wday = (int)((days + 4) % 7); /* 1970-01-01 was a Thursday */

    if (wday < 0)
        wday += 7;
    if (w->start_min < w->end_min)
        return (w->days & (1u << wday)) && minute >= w->start_min && minute < w->end_min;
    /* past midnight: the evening part of a listed day, or the morning after one */
    return ((w->days & (1u << wday)) && minute >= w->start_min) ||
           ((w->days & (1u << ((wday + 6) % 7))) && minute < w->end_min);
}

bool ota_rollout_offering(int64_t start_at, const char *window, int64_t now)
{
    struct ota_window w;
    char err[8];

    if (start_at > 0 && now < start_at)
        return false;
    if (!window || !window[0])
        return true;
    return ota_window_parse(window, &w, err, sizeof(err)) == 0 && ota_window_open(&w, now);
}

/* @part >= @bp hundredths of a percent of @whole */
static bool reaches(uint64_t part, uint64_t whole, uint64_t bp)
{
    return (__uint128_t)part * OTA_ROLLOUT_BP_ALL >= (__uint128_t)whole * bp;
}

static bool stage_met(const struct ota_rollout_rules *rules, const struct ota_rollout_counts *c)
{
    uint64_t live = c->open_total - (c->open_cancelled < c->open_total ? c->open_cancelled
                                                                        : c->open_total);

    return live == 0 || reaches(c->open_installed, live, rules->success_bp);
}

static void fmt_amount(const struct ota_rollout_amount *a, char *buf, size_t len)
{
    if (!a->percent)
        snprintf(buf, len, "%llu", (unsigned long long)a->value);
    else if (a->value % 100 == 0)
        snprintf(buf, len, "%llu%%", (unsigned long long)(a->value / 100));
    else
        snprintf(buf, len, "%llu.%02llu%%", (unsigned long long)(a->value / 100),
                 (unsigned long long)(a->value % 100));
}

void ota_rollout_decide(const struct ota_rollout_rules *rules, const struct ota_rollout_counts *c,
                        struct ota_rollout_decision *ret)
{
    uint64_t ended = c->installed + c->failed;
    char th[24], su[24];
    struct ota_rollout_amount success = { .value = rules->success_bp, .percent = true };

    ret->action = OTA_ROLLOUT_NONE;
    ret->reason[0] = '\0';
    if (rules->max_failures.value > 0 && ended >= rules->min_finished && c->failed > 0 &&
        (rules->max_failures.percent ? reaches(c->failed, ended, rules->max_failures.value)
                                     : c->failed >= rules->max_failures.value)) {
        fmt_amount(&rules->max_failures, th, sizeof(th));
        ret->action = OTA_ROLLOUT_PAUSE;
        snprintf(ret->reason, sizeof(ret->reason),
                 "max-failures %s reached: %llu failed of %llu ended (min-finished %llu)", th,
                 (unsigned long long)c->failed, (unsigned long long)ended,
                 (unsigned long long)rules->min_finished);
        return;
    }
    if (rules->nstages == 0 || c->stage_open >= rules->nstages || !stage_met(rules, c))
        return;
    fmt_amount(&success, su, sizeof(su));
    if (rules->manual && c->waiting)
        return;
    ret->action = rules->manual ? OTA_ROLLOUT_WAIT : OTA_ROLLOUT_OPEN_NEXT;
    snprintf(ret->reason, sizeof(ret->reason),
             "stage %u of %u met success %s: %llu of %llu installed (%llu cancelled)%s",
             c->stage_open, rules->nstages, su, (unsigned long long)c->open_installed,
             (unsigned long long)c->open_total, (unsigned long long)c->open_cancelled,
             rules->manual ? "; waiting for 'campaign advance'" : "");
}

int ota_rollout_may_advance(const struct ota_rollout_rules *rules,
                            const struct ota_rollout_counts *c, char *err, size_t errlen)
{
    char su[24];
    struct ota_rollout_amount success = { .value = rules->success_bp, .percent = true };

    if (rules->nstages == 0) {
        ota_errf(err, errlen, "the campaign is not staged (no --stages)");
        return -EINVAL;
    }
    if (c->stage_open >= rules->nstages) {
        ota_errf(err, errlen, "all %u stages are open", rules->nstages);
        return -EINVAL;
    }
    if (!stage_met(rules, c)) {
        fmt_amount(&success, su, sizeof(su));
        ota_errf(err, errlen, "stage %u of %u is not waiting: %llu of %llu installed, success "
                 "%s needed", c->stage_open, rules->nstages,
                 (unsigned long long)c->open_installed, (unsigned long long)c->open_total, su);
        return -EINVAL;
    }
    return 0;
}
