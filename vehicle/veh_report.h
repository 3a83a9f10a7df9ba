/* The queue of status reports a vehicle still has to send, in order, with progress
 * reports coalesced; and when download progress is worth a report. Pure. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "ota_json.h"
#include "ota_state.h"

#define VEH_REPORT_QUEUE  16
#define VEH_REPORT_DETAIL (OTA_STATUS_DETAIL_MAX + 1)

struct veh_report_entry {
    int64_t campaign;
    enum ota_deploy_state state;
    uint64_t bytes;
    char detail[VEH_REPORT_DETAIL];
};

struct veh_report_queue {
    struct veh_report_entry q[VEH_REPORT_QUEUE];
    unsigned head;
    unsigned count;
};

/* Appends a copy of @e. A progress report (downloading) replaces a downloading report of
 * the same campaign at the tail, unless that tail is the head and @head_busy (being
 * sent). Returns 0, or -ENOBUFS when full (then a progress report is dropped, which is
 * harmless; a final one is not expected to meet a full queue: see VEH_REPORT_QUEUE). */
int veh_report_push(struct veh_report_queue *rq, const struct veh_report_entry *e, bool head_busy);
/* The oldest entry, or NULL when empty; borrowed until the next pop. */
const struct veh_report_entry *veh_report_front(const struct veh_report_queue *rq);
void veh_report_pop(struct veh_report_queue *rq);

/* Progress step (0..10, tenths of @size) @have bytes are at; a report is due when it
 * grows. An empty artifact is at step 10. */
unsigned veh_report_step(uint64_t have, uint64_t size);
