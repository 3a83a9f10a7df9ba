/* Vehicles that fail on purpose (--fail-ids, --fail-rate, --fail-reason), so tests and the
 * quickstart can drive a staged rollout's brakes with real vehicles: a chosen vehicle
 * downloads and verifies its update as usual, reports `installing`, then `failed` with
 * the reason instead of installing. Which ones: the listed ids, and those whose id hashes
 * below the rate (FNV-1a 64 of the id, modulo 10000, below the rate in hundredths of a
 * percent), so the same ids fail on every run and about, not exactly, that share. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEH_FAIL_REASON_MAX 200
#define VEH_FAIL_REASON_DEFAULT "simulated install failure"

struct veh_fail {
    char **ids;       /* --fail-ids, new strings */
    size_t n;
    uint32_t rate_bp; /* --fail-rate in hundredths of a percent (0: none) */
    const char *reason;
};

/* --fail-ids: a comma list of ids or @FILE (one per line, as --fleet-ids @FILE). 0, or
 * -EINVAL / -ENOENT... with the reason in @err. */
int veh_fail_ids(struct veh_fail *f, const char *arg, char *err, size_t errlen);
/* --fail-rate: "P" or "P.PP", 0 <= P <= 100. 0 or -EINVAL. */
int veh_fail_rate(const char *s, uint32_t *ret_bp);
/* --fail-reason: printable ASCII, 1..VEH_FAIL_REASON_MAX bytes. */
bool veh_fail_reason_valid(const char *s);
/* Whether vehicle @id fails on purpose. */
bool veh_fail_chosen(const struct veh_fail *f, const char *id);
void veh_fail_clear(struct veh_fail *f);
