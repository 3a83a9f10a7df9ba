/* Status intake: "<prefix>/vehicles/<id>/status" messages recorded through
 * ota_status_apply(), the same code as POST /v1/status; reports that find the database
 * locked wait in a small bounded queue. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "ota_json.h"
#include "ota_util.h"
#include "ntf_stats.h"

#define NTF_STATUS_QUEUE_MAX 256 /* reports waiting for a locked database */

struct ntf_status_item {
    char vehicle[OTA_ID_MAX + 1];
    struct ota_status_report report;
    int64_t first_ms;
};

struct ntf_status_queue {
    struct ntf_status_item *v; /* ring of NTF_STATUS_QUEUE_MAX */
    unsigned head;
    unsigned n;
};

struct ota_db;

/* The intake's state: the queue and the rate limit of its log lines. */
struct ntf_status_intake {
    struct ota_db *db;        /* borrowed */
    const char *topic_prefix; /* borrowed */
    unsigned poll_after;      /* [server] poll_after: the answer's hint (ota_status_apply) */
    struct ntf_stats *stats;  /* borrowed: the counters this module moves */
    struct ntf_status_queue queue;
    unsigned bad_logged; /* bad-message lines in the current window */
    int64_t bad_window_ms;
    unsigned bad_suppressed;
};

void ntf_status_init(struct ntf_status_intake *in, struct ota_db *db, const char *topic_prefix,
                     unsigned poll_after, struct ntf_stats *stats);
void ntf_status_free(struct ntf_status_intake *in);
/* Handles one message from the status subscription; never fails, counts what it refuses. */
void ntf_status_message(struct ntf_status_intake *in, const char *topic, const void *payload,
                        size_t len);
/* Retries reports that found the database locked. */
void ntf_status_retry(struct ntf_status_intake *in);
