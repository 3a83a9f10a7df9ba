/* Status intake: "<prefix>/vehicles/<id>/status" messages recorded through
 * ota_status_apply(), the same code as POST /v1/status; reports that find the database
 * locked wait in a small bounded queue. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "ota_json.h"
#include "ota_util.h"

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

struct ntf_daemon;

/* Handles one message from the status subscription; never fails, counts what it refuses. */
void ntf_status_message(struct ntf_daemon *d, const char *topic, const void *payload, size_t len);
/* Retries reports that found the database locked. */
void ntf_status_retry(struct ntf_daemon *d);
void ntf_status_queue_free(struct ntf_status_queue *q);
