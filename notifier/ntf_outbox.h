/* Outbox to broker: publishes due rows in id order into the in-flight window and marks a
 * row published only once its PUBACK has arrived. The module owns its state (struct
 * ntf_outbox: the window, the vehicles blocked behind a deferred row, the scan's cursor
 * and buffers) and reaches the broker only through a sink, so that it runs without one in
 * its unit test (tests/unit/test_ntf_outbox.c); ntf_daemon's sink is ntf_mqtt. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ntf_stats.h"
#include "ntf_window.h"

struct ota_db;
struct ota_cdn;
struct ntf_page;

/* Where messages go. */
struct ntf_outbox_sink {
    /* Sends one message; *ret_mid names its PUBACK (ntf_outbox_puback()). -ENOTCONN: no
     * session (the drain stops, the row stays due); another error: this row failed
     * (deferred, its vehicle's later rows wait behind it). */
    int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, bool retain,
                   int *ret_mid);
    /* Whether a session is up to publish on. */
    bool (*up)(void *ctx);
    void *ctx;
};

struct ntf_outbox {
    struct ota_db *db;        /* borrowed */
    const char *topic_prefix; /* borrowed */
    struct ota_cdn *cdn;      /* borrowed; NULL: messages keep their stored origin link */
    struct ntf_stats *stats;  /* borrowed: the counters this module moves */
    struct ntf_outbox_sink sink;

    struct ntf_window win;    /* messages in flight, by mid */
    struct ntf_blocks blocks; /* vehicles whose rows wait behind a deferred one */
    struct ntf_page *page;    /* the drain's row buffers, reused */
    int64_t cursor;           /* the drain goes on after this row id (0: from the start) */
    int64_t scan_version;     /* ota_db_data_version() read before the last rescan */
    int64_t flush_at_ms;      /* record the waiting PUBACKs by then */
    int64_t busy_logged_ms;   /* rate limit for "database busy" lines */
    bool drain_more;          /* rows may be due: scan the outbox */
    bool rescan;              /* rows below the cursor may be due: scan from id 0 */
    bool backlog;             /* the last scan stopped on a full window */
    bool db_watched; /* another connection's commit reaches the caller's version check
                      * within one loop turn (inotify, NOTIFY): buffered rows need no
                      * check of their own */
};

/* Sets @o up: @max_inflight messages in flight (1..65535). 0, -EINVAL or -ENOMEM. */
int ntf_outbox_init(struct ntf_outbox *o, struct ota_db *db, const char *topic_prefix,
                    struct ota_cdn *cdn, unsigned max_inflight, struct ntf_outbox_sink sink,
                    struct ntf_stats *stats);
/* Frees what @o holds (not the borrowed parts). */
void ntf_outbox_free(struct ntf_outbox *o);

/* Publishes due rows while the window has room, for at most about 50 ms (then it sets
 * drain_more). Returns 0, -EBUSY, -ENOMEM or -EIO (db). */
int ntf_outbox_drain(struct ntf_outbox *o);
/* PUBACK of @mid with MQTT 5 @reason (>= 0x80: refused, the row is deferred):
 * remembered; ntf_outbox_flush_acks() records it. */
void ntf_outbox_puback(struct ntf_outbox *o, int mid, int reason);
/* Marks the acknowledged rows published, in one transaction. 0, -EBUSY or -EIO. */
int ntf_outbox_flush_acks(struct ntf_outbox *o);
/* Queues again each vehicle's latest published retained message (unless a newer one is
 * pending), after the broker may have lost retained messages. @skip_empty: do not repeat
 * clearing messages (the broker lost everything, so there is nothing to clear).
 * Returns 0, -EBUSY, -ENOMEM or -EIO. */
int ntf_outbox_requeue(struct ntf_outbox *o, bool skip_empty);
/* At start: rows deferred by an earlier run block their vehicles' later rows. */
int ntf_outbox_load_blocks(struct ntf_outbox *o);
/* Refreshes the pending/held gauges. */
int ntf_outbox_gauges(struct ntf_outbox *o);
/* A "database busy" moment (counted; logged at most every 5 s). */
void ntf_outbox_note_busy(struct ntf_outbox *o, const char *what);
