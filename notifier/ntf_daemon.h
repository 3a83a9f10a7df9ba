/* The notifier's one thread: a poll() loop over the broker socket, an inotify watch on the
 * database's folder and a signalfd, which drains the outbox into the in-flight window and
 * records status messages. All database work happens on this thread. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "ota_config.h"
#include "ota_db.h"
#include "ntf_mqtt.h"
#include "ntf_stats.h"
#include "ntf_window.h"
#include "ntf_status.h"
#include "ntf_rollout.h"
#include "ntf_session.h"

struct ntf_page;

/* PUBACKs are recorded ("published") in one transaction, and so one fsync, per batch: when
 * max_inflight of them wait, when nothing else is left to send, or this long after the
 * first of the batch. */
#define NTF_FLUSH_DELAY_MS 50

struct ota_cdn;

struct ntf_daemon {
    const struct ota_config *cfg; /* borrowed */
    struct ota_db *db;            /* borrowed */
    struct ntf_mqtt *mqtt;
    struct ntf_window win;
    struct ntf_blocks blocks;
    struct ntf_stats stats;
    struct ntf_status_queue squeue;
    struct ntf_rollout rollout;
    struct ota_cdn *cdn; /* NULL: messages keep the origin link they were stored with */

    bool had_connection; /* a previous connection of this process was lost */
    bool need_subscribe;
    bool need_refresh;       /* queue every vehicle's latest retained message again */
    bool refresh_skip_empty; /* the broker lost everything: clearing messages are moot */
    bool drain_more;         /* rows may be due: scan the outbox */
    bool rescan;             /* rows below the cursor may be due: scan from id 0 */
    bool backlog;            /* the last scan stopped on a full window */
    bool stats_dirty;
    bool stopping;
    bool db_watched; /* inotify on the database folder works: another connection's commit
                      * reaches check_version() at the next poll(), within one loop turn */

    struct ntf_session session; /* connected: ntf_session_is_up() */
    struct ntf_page *page;  /* the drain's row buffers, reused (ntf_outbox.c) */
    int64_t cursor;         /* the drain goes on after this row id (0: from the start) */
    int64_t scan_version;   /* PRAGMA data_version read before the last rescan */
    int64_t flush_at_ms;    /* record the waiting PUBACKs by then */
    int64_t data_version;
    int64_t next_version_ms;
    int64_t recheck_ms; /* 0, or the delay of the last quick re-check (recheck_soon()) */
    int64_t next_scan_ms;
    int64_t next_stats_ms;
    int64_t next_gauges_ms;
    int64_t next_summary_ms;
    int64_t stop_deadline_ms;
    int64_t busy_logged_ms; /* rate limit for "database busy" lines */
    unsigned bad_logged;    /* rate limit for bad status messages */
    int64_t bad_window_ms;
    unsigned bad_suppressed;
};

/* Runs until SIGTERM/SIGINT: then stops taking rows, waits (bounded) for the PUBACKs of
 * messages in flight, records them and returns 0. @cfg and @db are borrowed. Returns 0,
 * or a negative errno with a reason in @err when start-up fails (bad TLS settings,
 * inotify, signals). */
int ntf_daemon_run(const struct ota_config *cfg, struct ota_db *db, char *err, size_t errlen);
