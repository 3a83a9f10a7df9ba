/* Reconnect delays: exponential from a minimum to a cap, with jitter, so that a broker
 * that refuses every attempt is asked ever more rarely, and a fleet (or several
 * notifiers) cut off at the same moment does not come back in lock-step.
 * Pure: no clock, no I/O; the caller adds the delay to its own clock. */
#pragma once
#include <stdint.h>

struct ota_backoff {
    unsigned min_ms;
    unsigned max_ms;
    unsigned cur_ms; /* the ceiling of the next delay */
    uint64_t rng;    /* xorshift64 state, never 0 */
};

/* Sets @b up for delays from @min_ms (>= 2) to @max_ms (>= @min_ms). @seed 0 seeds from
 * the system's random source (a fixed seed makes the sequence reproducible in tests). */
void ota_backoff_init(struct ota_backoff *b, unsigned min_ms, unsigned max_ms, uint64_t seed);
/* The delay before the next attempt, then doubles the ceiling (up to the cap). "Equal
 * jitter": uniform in [ceiling/2, ceiling], so it still grows, never collapses to 0. */
unsigned ota_backoff_next(struct ota_backoff *b);
/* After a success: the next delay is short again. */
void ota_backoff_reset(struct ota_backoff *b);
