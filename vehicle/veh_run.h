/* The event loop: one curl multi handle (plus the MQTT socket of a single vehicle) driving
 * one vehicle or a --fleet of them to the end, then the summary. */
#pragma once
#include "veh_car.h"

/* Exit codes of ota-vehicle. */
enum {
    VEH_EXIT_INSTALLED = 0, /* the update is installed (fleet: every vehicle) */
    VEH_EXIT_FAILED = 1,    /* an update failed, or the vehicle could not run */
    VEH_EXIT_USAGE = 2,
    VEH_EXIT_NOTHING = 3,   /* --once: no update arrived (or finished) within --timeout */
    VEH_EXIT_CANCELLED = 4, /* --once: the deployment was withdrawn mid-way */
};

/* Runs until done (--once, --fleet), --timeout, or SIGINT/SIGTERM. @o is borrowed.
 * Returns one of the exit codes above. */
int veh_run(const struct veh_opts *o);
