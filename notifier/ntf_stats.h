/* The notifier's counters, written as Prometheus text to [notifier] stats_file (atomically:
 * temp file + rename, so a reader never sees half a file) and summarised in a log line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ntf_bad_reason {
    NTF_BAD_TOPIC,    /* status topic without a valid vehicle id */
    NTF_BAD_PAYLOAD,  /* not JSON, wrong types, unknown state, too large */
    NTF_BAD_UNKNOWN,  /* vehicle not in that campaign / unknown vehicle */
    NTF_BAD_REJECTED, /* backward move, cancelled or finished deployment */
    NTF_BAD_DROPPED,  /* db unavailable for too long: report dropped */
    NTF_BAD_COUNT
};

struct ntf_stats {
    uint64_t sent;           /* PUBLISH handed to the broker connection */
    uint64_t published;      /* rows marked published after PUBACK */
    uint64_t refused;        /* PUBACK with an error reason code (MQTT 5) */
    uint64_t retries;        /* rows deferred after a publish error */
    uint64_t requeued;       /* rows queued again after the broker lost its state */
    uint64_t connects;       /* successful CONNACKs */
    uint64_t session_failures; /* attempts that got no session (ntf_session.h) */
    unsigned retry_delay_ms;   /* gauge: the wait before the next attempt; 0 when up */
    uint64_t db_busy;        /* db calls that found the database locked */
    uint64_t status_applied; /* status reports recorded */
    uint64_t status_duplicate;
    uint64_t status_bad[NTF_BAD_COUNT];
    uint64_t pending; /* gauges, refreshed from the db */
    uint64_t held;
    unsigned inflight;
    bool connected;
    bool dirty; /* changed since the stats file was last written */
};

const char *ntf_bad_reason_name(enum ntf_bad_reason r);
uint64_t ntf_stats_bad_total(const struct ntf_stats *s);

/* Formats the Prometheus text exposition into @buf. Returns the length, or -ENOSPC. */
int ntf_stats_format(const struct ntf_stats *s, char *buf, size_t len);

/* One-line summary for the log. Returns the length, or -ENOSPC. */
int ntf_stats_summary(const struct ntf_stats *s, char *buf, size_t len);

/* Writes @text to @path atomically (@path.tmp, fsync-free rename: metrics, not data).
 * Returns 0 or a negative errno. */
int ntf_stats_write(const char *path, const char *text, size_t len);
