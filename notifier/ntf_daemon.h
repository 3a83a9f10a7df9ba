/* The notifier's one thread: a poll() loop over the broker socket, an inotify watch on the
 * database's folder and a signalfd, which drains the outbox into the in-flight window and
 * records status messages. All database work happens on this thread. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "ota_config.h"
#include "ota_db.h"
#include "ntf_mqtt.h"
#include "ntf_outbox.h"
#include "ntf_stats.h"
#include "ntf_window.h"
#include "ntf_status.h"
#include "ntf_rollout.h"
#include "ntf_session.h"

struct ota_cdn;

struct ntf_daemon {
    const struct ota_config *cfg; /* borrowed */
    struct ota_db *db;            /* borrowed */
    struct ntf_mqtt *mqtt;
    struct ntf_outbox outbox; /* the rows to publish and those in flight (ntf_outbox.h) */
    struct ntf_stats stats;
    struct ntf_status_intake status; /* vehicles' MQTT status reports (ntf_status.h) */
    struct ntf_rollout rollout;
    struct ota_cdn *cdn; /* NULL: messages keep the origin link they were stored with */

    bool had_connection; /* a previous connection of this process was lost */
    bool need_subscribe;
    bool need_refresh;       /* queue every vehicle's latest retained message again */
    bool refresh_skip_empty; /* the broker lost everything: clearing messages are moot */
    bool stopping;

    struct ntf_session session; /* connected: ntf_session_is_up() */
    int64_t data_version;
    int64_t next_version_ms;
    int64_t recheck_ms; /* 0, or the delay of the last quick re-check (recheck_soon()) */
    int64_t next_scan_ms;
    int64_t next_stats_ms;
    int64_t next_gauges_ms;
    int64_t next_summary_ms;
    int64_t stop_deadline_ms;
};

/* Runs until SIGTERM/SIGINT: then stops taking rows, waits (bounded) for the PUBACKs of
 * messages in flight, records them and returns 0. @cfg and @db are borrowed. Returns 0,
 * or a negative errno with a reason in @err when start-up fails (bad TLS settings,
 * inotify, signals). */
int ntf_daemon_run(const struct ota_config *cfg, struct ota_db *db, char *err, size_t errlen);
