/* Exponential backoff with equal jitter (see ota_backoff.h). */
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "ota_backoff.h"

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

void ota_backoff_init(struct ota_backoff *b, unsigned min_ms, unsigned max_ms, uint64_t seed)
{
    b->min_ms = min_ms < 2 ? 2 : min_ms;
    b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
    b->cur_ms = b->min_ms;
    if (seed == 0 && getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        /* No entropy yet (early boot): jitter only has to differ between processes. */
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
    }
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

unsigned ota_backoff_next(struct ota_backoff *b)
{
    unsigned half = b->cur_ms / 2;
    unsigned d = half + (unsigned)(xorshift64(&b->rng) % ((uint64_t)(b->cur_ms - half) + 1));

    b->cur_ms = b->cur_ms > b->max_ms / 2 ? b->max_ms : b->cur_ms * 2;
    return d;
}

void ota_backoff_reset(struct ota_backoff *b)
{
    b->cur_ms = b->min_ms;
}
