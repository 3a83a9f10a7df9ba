/* common/ota_backoff: growth to the cap, the jitter's bounds and spread, reset. */
#include "ota_test.h"
#include "ota_backoff.h"

static void test_growth_and_bounds(void)
{
    struct ota_backoff b;
    unsigned ceiling = 500;

    ota_backoff_init(&b, 500, 30000, 42);
    for (int i = 0; i < 20; i++) {
        unsigned d = ota_backoff_next(&b);

        if (d < ceiling / 2 || d > ceiling) {
            fprintf(stderr, "attempt %d: delay %u outside [%u, %u]\n", i, d, ceiling / 2, ceiling);
            ota_test_failures++;
        }
        ceiling = ceiling * 2 > 30000 ? 30000 : ceiling * 2;
    }
    CHECK_INT(b.cur_ms, 30000);
    ota_backoff_reset(&b);
    CHECK_INT(b.cur_ms, 500);
    CHECK(ota_backoff_next(&b) <= 500);
}

/* Jitter spreads: at the cap, 50 delays are not all the same, and two processes seeded
 * differently do not draw the same sequence. */
static void test_spread(void)
{
    struct ota_backoff a, b;
    unsigned lo = ~0u, hi = 0, same = 0;

    ota_backoff_init(&a, 1000, 1000, 1);
    ota_backoff_init(&b, 1000, 1000, 0);
    for (int i = 0; i < 50; i++) {
        unsigned x = ota_backoff_next(&a), y = ota_backoff_next(&b);

        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        same += x == y;
    }
    CHECK(lo >= 500 && hi <= 1000);
    CHECK(hi - lo >= 250); /* 50 uniform draws over 500 ms: a narrower spread is ~1e-14 */
    CHECK(same < 10);
}

/* Degenerate settings stay usable: no division by zero, no delay above the cap. */
static void test_edges(void)
{
    struct ota_backoff b;

    ota_backoff_init(&b, 0, 0, 7);
    for (int i = 0; i < 5; i++)
        CHECK(ota_backoff_next(&b) <= 2);
    ota_backoff_init(&b, 3000, 1000, 7);
    CHECK(ota_backoff_next(&b) <= 3000);
    ota_backoff_init(&b, 2, 4000000000u, 7);
    for (int i = 0; i < 40; i++)
        CHECK(ota_backoff_next(&b) <= 4000000000u);
    CHECK_INT(b.cur_ms, 4000000000u);
}

int main(void)
{
    test_growth_and_bounds();
    test_spread();
    test_edges();
    return ota_test_failures ? 1 : 0;
}
