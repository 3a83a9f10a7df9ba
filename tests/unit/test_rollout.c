/* common/ota_rollout: the option parsers, stage sizes, windows and the rule decisions,
 * as tables. */
#include <errno.h>
#include "ota_rollout.h"
#include "ota_test.h"

static void test_amounts(void)
{
    static const struct {
        const char *in;
        bool allow_count;
        int rc;
        uint64_t value;
        bool percent;
    } t[] = {
        { "5%", true, 0, 500, true },
        { "100%", false, 0, 10000, true },
        { "0.5%", true, 0, 50, true },
        { "12.25%", true, 0, 1225, true },
        { "99.9%", true, 0, 9990, true },
        { "40", true, 0, 40, false },
        { "40", false, -EINVAL, 0, false },   /* a threshold that must be a share */
        { "0%", true, -EINVAL, 0, false },
        { "0", true, -EINVAL, 0, false },
        { "101%", true, -EINVAL, 0, false },
        { "100.01%", true, -EINVAL, 0, false },
        { "1.234%", true, -EINVAL, 0, false },
        { "1.%", true, -EINVAL, 0, false },
        { "%", true, -EINVAL, 0, false },
        { "", true, -EINVAL, 0, false },
        { "-5", true, -EINVAL, 0, false },
        { "+5", true, -EINVAL, 0, false },
        { " 5", true, -EINVAL, 0, false },
        { "5x", true, -EINVAL, 0, false },
        { "1000000000000", true, -EINVAL, 0, false },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ota_rollout_amount a = { 0 };
        int rc = ota_rollout_amount_parse(t[i].in, t[i].allow_count, &a);

        if (rc != t[i].rc)
            fprintf(stderr, "amount '%s'\n", t[i].in);
        CHECK_INT(rc, t[i].rc);
        if (rc == 0) {
            CHECK_INT(a.value, t[i].value);
            CHECK_INT(a.percent, t[i].percent);
        }
    }
}

static void test_stages(void)
{
    static const struct {
        const char *in;
        uint64_t targets;
        int rc; /* of parse, then of sizes */
        unsigned n;
        uint64_t sizes[5];
    } t[] = {
        { "5%,25%,100%", 200, 0, 3, { 10, 50, 200 } },
        { "1%,10%,50%,100%", 50, 0, 4, { 1, 5, 25, 50 } }, /* rounds up */
        { "10,50", 200, 0, 3, { 10, 50, 200 } },            /* a final 100 % added */
        { "10%", 20, 0, 2, { 2, 20 } },
        { "5,100%", 5, -EINVAL, 0, { 0 } },                 /* stage 2 holds nobody */
        { "1%,2%", 10, -EINVAL, 0, { 0 } },                 /* 1 and 1 */
        { "300", 200, -EINVAL, 0, { 0 } },                  /* a count past the targets */
        { "25%,10%", 200, -EINVAL, 0, { 0 } },              /* shrinks */
        { "10,10", 200, -EINVAL, 0, { 0 } },
        { "100%,100%", 200, -EINVAL, 0, { 0 } },
        { "50%,150%", 200, -EINVAL, 0, { 0 } },             /* passes 100 % */
        { "5%,,100%", 200, -EINVAL, 0, { 0 } },
        { "", 200, -EINVAL, 0, { 0 } },
        { ",", 200, -EINVAL, 0, { 0 } },
        { "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", 200, -EINVAL, 0, { 0 } },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ota_rollout_amount st[OTA_ROLLOUT_STAGES_MAX];
        uint64_t sizes[OTA_ROLLOUT_STAGES_MAX] = { 0 };
        unsigned n = 0;
        char err[200] = "";
        int rc = ota_rollout_stages_parse(t[i].in, st, &n, err, sizeof(err));

        if (rc == 0)
            rc = ota_rollout_stage_sizes(st, n, t[i].targets, sizes, err, sizeof(err));
        if (rc != t[i].rc)
            fprintf(stderr, "stages '%s' x %llu: %s\n", t[i].in,
                    (unsigned long long)t[i].targets, err);
        CHECK_INT(rc, t[i].rc);
        if (rc < 0) {
            CHECK(strstr(err, "--stages") != NULL);
            continue;
        }
        CHECK_INT(n, t[i].n);
        for (unsigned k = 0; k < n && k < 5; k++)
            CHECK_INT(sizes[k], t[i].sizes[k]);
    }
}

static void test_durations_times(void)
{
    static const struct {
        const char *in;
        int rc;
        int64_t s;
    } d[] = {
        { "90", 0, 90 }, { "90s", 0, 90 }, { "30m", 0, 1800 }, { "2h", 0, 7200 },
        { "1d", 0, 86400 }, { "30d", 0, 30 * 86400 }, { "31d", -EINVAL, 0 }, { "0", -EINVAL, 0 },
        { "0m", -EINVAL, 0 }, { "m", -EINVAL, 0 }, { "1w", -EINVAL, 0 }, { "", -EINVAL, 0 },
        { "-1", -EINVAL, 0 }, { "1.5h", -EINVAL, 0 },
    };
    static const struct {
        const char *in;
        int rc;
        int64_t t;
    } tm[] = {
        { "2026-12-03T10:00:00Z", 0, 1796292000 },
        { "1970-01-01T00:00:00Z", 0, 0 },
        { "@1796292000", 0, 1796292000 },
        { "2026-12-03T10:00:00", -EINVAL, 0 },        /* UTC must be said */
        { "2026-12-03T10:00:00+01:00", -EINVAL, 0 },
        { "2026-12-03 10:00:00Z", -EINVAL, 0 },
        { "2026-13-03T10:00:00Z", -EINVAL, 0 },
        { "tomorrow", -EINVAL, 0 },
        { "@", -EINVAL, 0 },
        { "@-5", -EINVAL, 0 },
        { "", -EINVAL, 0 },
    };

    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        int64_t s = -1;
        int rc = ota_rollout_duration_parse(d[i].in, &s);

        if (rc != d[i].rc)
            fprintf(stderr, "duration '%s'\n", d[i].in);
        CHECK_INT(rc, d[i].rc);
        if (rc == 0)
            CHECK_INT(s, d[i].s);
    }
    for (size_t i = 0; i < sizeof(tm) / sizeof(tm[0]); i++) {
        int64_t t = -1;
        int rc = ota_rollout_time_parse(tm[i].in, &t);

        if (rc != tm[i].rc)
            fprintf(stderr, "time '%s'\n", tm[i].in);
        CHECK_INT(rc, tm[i].rc);
        if (rc == 0)
            CHECK_INT(t, tm[i].t);
    }
}

/* 2026-11-30 was a Monday */
#define MON_0000 1795996800LL
#define AT(day, h, m) (MON_0000 + (day) * 86400LL + (h) * 3600LL + (m) * 60LL)

static void test_windows(void)
{
    static const struct {
        const char *spec;
        int rc;
        int64_t t;
        bool open;
    } t[] = {
        { "mon-fri 01:00-05:00", 0, AT(0, 1, 0), true },    /* Monday 01:00 */
        { "mon-fri 01:00-05:00", 0, AT(0, 4, 59), true },
        { "mon-fri 01:00-05:00", 0, AT(0, 5, 0), false },   /* end is exclusive */
        { "mon-fri 01:00-05:00", 0, AT(0, 0, 59), false },
        { "mon-fri 01:00-05:00", 0, AT(4, 2, 0), true },    /* Friday */
        { "mon-fri 01:00-05:00", 0, AT(5, 2, 0), false },   /* Saturday */
        { "mon-fri 01:00-05:00", 0, AT(6, 2, 0), false },   /* Sunday */
        { "01:00-05:00", 0, AT(6, 2, 0), true },            /* every day */
        { "sat,sun 22:00-06:00", 0, AT(5, 23, 0), true },   /* Saturday night */
        { "sat,sun 22:00-06:00", 0, AT(6, 5, 59), true },   /* ...into Sunday */
        { "sat,sun 22:00-06:00", 0, AT(7, 5, 0), true },    /* Sunday night into Monday */
        { "sat,sun 22:00-06:00", 0, AT(7, 22, 30), false }, /* Monday night */
        { "sat,sun 22:00-06:00", 0, AT(5, 5, 0), false },   /* Saturday morning: Friday no */
        { "fri-mon 00:00-24:00", 0, AT(0, 12, 0), true },   /* a range past Saturday */
        { "fri-mon 00:00-24:00", 0, AT(1, 12, 0), false },  /* Tuesday */
        { "wed 12:00-13:00", 0, AT(2, 12, 30), true },
        { "mon-fri 05:00-05:00", -EINVAL, 0, false },       /* empty */
        { "mon-fri", -EINVAL, 0, false },
        { "mon-fri 1:00-5:00", -EINVAL, 0, false },
        { "mon-fry 01:00-05:00", -EINVAL, 0, false },
        { "mon, 01:00-05:00", -EINVAL, 0, false },
        { "mon-fri 01:00-25:00", -EINVAL, 0, false },
        { "mon-fri 24:00-01:00", -EINVAL, 0, false },
        { "mon-fri 01:60-02:00", -EINVAL, 0, false },
        { "", -EINVAL, 0, false },
        { "Mon-Fri 01:00-05:00", -EINVAL, 0, false },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ota_window w;
        char err[200] = "";
        int rc = ota_window_parse(t[i].spec, &w, err, sizeof(err));

        if (rc != t[i].rc)
            fprintf(stderr, "window '%s': %s\n", t[i].spec, err);
        CHECK_INT(rc, t[i].rc);
        if (rc < 0) {
            CHECK(strstr(err, "--window") != NULL);
            continue;
        }
        if (ota_window_open(&w, t[i].t) != t[i].open)
            fprintf(stderr, "window '%s' at %lld\n", t[i].spec, (long long)t[i].t);
        CHECK_INT(ota_window_open(&w, t[i].t), t[i].open);
    }
    /* start time and window together */
    CHECK(ota_rollout_offering(0, "", AT(0, 12, 0)));
    CHECK(!ota_rollout_offering(AT(1, 0, 0), "", AT(0, 12, 0)));
    CHECK(ota_rollout_offering(AT(1, 0, 0), "", AT(1, 0, 0)));
    CHECK(!ota_rollout_offering(0, "mon 01:00-02:00", AT(0, 12, 0)));
    CHECK(ota_rollout_offering(0, "mon 01:00-02:00", AT(0, 1, 30)));
    CHECK(!ota_rollout_offering(0, "garbage", AT(0, 1, 30))); /* a damaged row: closed */
}

static void test_decisions(void)
{
    const struct ota_rollout_amount pct10 = { 1000, true }, n3 = { 3, false }, none = { 0, false };
    static const struct ota_rollout_amount zero = { 0, false };
    struct {
        const char *what;
        struct ota_rollout_rules rules;
        struct ota_rollout_counts c;
        enum ota_rollout_action want;
        const char *reason_has;
    } t[] = {
        { "unstaged, no brake: nothing",
          { 0, 10000, false, zero, 1 }, { 0, false, 5, 5, 0, 0, 0 }, OTA_ROLLOUT_NONE, "" },
        { "brake at 10%: 1 of 10 ended",
          { 3, 10000, false, pct10, 1 }, { 1, false, 9, 1, 10, 9, 0 }, OTA_ROLLOUT_PAUSE,
          "max-failures 10% reached: 1 failed of 10 ended" },
        { "brake waits for min-finished",
          { 3, 10000, false, pct10, 20 }, { 1, false, 9, 1, 10, 9, 0 }, OTA_ROLLOUT_NONE, "" },
        { "brake at min-finished exactly",
          { 3, 10000, false, pct10, 10 }, { 1, false, 9, 1, 10, 9, 0 }, OTA_ROLLOUT_PAUSE,
          "min-finished 10" },
        { "below 10%: no brake, stage not met",
          { 3, 10000, false, pct10, 1 }, { 1, false, 19, 1, 25, 19, 0 }, OTA_ROLLOUT_NONE, "" },
        { "brake by count",
          { 0, 10000, false, n3, 1 }, { 0, false, 100, 3, 0, 0, 0 }, OTA_ROLLOUT_PAUSE,
          "max-failures 3 reached: 3 failed of 103 ended" },
        { "count not reached",
          { 0, 10000, false, n3, 1 }, { 0, false, 100, 2, 0, 0, 0 }, OTA_ROLLOUT_NONE, "" },
        { "stage 1 of 3 all installed: open",
          { 3, 10000, false, none, 1 }, { 1, false, 10, 0, 10, 10, 0 }, OTA_ROLLOUT_OPEN_NEXT,
          "stage 1 of 3 met success 100%: 10 of 10 installed" },
        { "stage 1 of 3, 9 of 10: wait for more",
          { 3, 10000, false, none, 1 }, { 1, false, 9, 0, 10, 9, 0 }, OTA_ROLLOUT_NONE, "" },
        { "success 90%: 9 of 10 opens",
          { 3, 9000, false, none, 1 }, { 1, false, 9, 0, 10, 9, 0 }, OTA_ROLLOUT_OPEN_NEXT,
          "success 90%" },
        { "cancelled ones left out: 9 of 10 with 1 cancelled",
          { 3, 10000, false, none, 1 }, { 1, false, 9, 0, 10, 9, 1 }, OTA_ROLLOUT_OPEN_NEXT,
          "(1 cancelled)" },
        { "all of a stage cancelled: met",
          { 3, 10000, false, none, 1 }, { 2, false, 10, 0, 12, 10, 2 }, OTA_ROLLOUT_OPEN_NEXT, "" },
        { "last stage: nothing to open",
          { 3, 10000, false, none, 1 }, { 3, false, 200, 0, 200, 200, 0 }, OTA_ROLLOUT_NONE, "" },
        { "manual: wait",
          { 3, 10000, true, none, 1 }, { 1, false, 10, 0, 10, 10, 0 }, OTA_ROLLOUT_WAIT,
          "waiting for 'campaign advance'" },
        { "manual, already waiting: nothing again",
          { 3, 10000, true, none, 1 }, { 1, true, 10, 0, 10, 10, 0 }, OTA_ROLLOUT_NONE, "" },
        { "the brake before the stage",
          { 3, 9000, false, pct10, 1 }, { 1, false, 9, 1, 10, 9, 0 }, OTA_ROLLOUT_PAUSE, "" },
        { "a count brake of 1: the first failure",
          { 3, 10000, false, { 1, false }, 1 }, { 1, false, 0, 1, 10, 0, 0 }, OTA_ROLLOUT_PAUSE,
          "1 failed of 1 ended" },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ota_rollout_decision d;

        ota_rollout_decide(&t[i].rules, &t[i].c, &d);
        if (d.action != t[i].want || !strstr(d.reason, t[i].reason_has))
            fprintf(stderr, "decision '%s': %d '%s'\n", t[i].what, d.action, d.reason);
        CHECK_INT(d.action, t[i].want);
        CHECK(strstr(d.reason, t[i].reason_has) != NULL);
    }
}

static void test_advance(void)
{
    const struct ota_rollout_amount none = { 0, false };
    struct ota_rollout_rules staged = { 3, 10000, true, none, 1 }, flat = { 0, 10000, false, none, 1 };
    struct ota_rollout_counts met = { 1, true, 10, 0, 10, 10, 0 }, unmet = { 1, false, 5, 0, 10, 5, 0 },
                              last = { 3, true, 200, 0, 200, 200, 0 };
    char err[200];

    CHECK_INT(ota_rollout_may_advance(&staged, &met, err, sizeof(err)), 0);
    CHECK_INT(ota_rollout_may_advance(&staged, &unmet, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "not waiting: 5 of 10 installed") != NULL);
    CHECK_INT(ota_rollout_may_advance(&staged, &last, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "all 3 stages are open") != NULL);
    CHECK_INT(ota_rollout_may_advance(&flat, &met, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "not staged") != NULL);
}

int main(void)
{
    test_amounts();
    test_stages();
    test_durations_times();
    test_windows();
    test_decisions();
    test_advance();
    return ota_test_failures ? 1 : 0;
}
