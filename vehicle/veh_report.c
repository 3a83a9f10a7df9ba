/* Status report queue with progress coalescing. */
#include <errno.h>
#include <string.h>
#include "veh_report.h"

int veh_report_push(struct veh_report_queue *rq, const struct veh_report_entry *e, bool head_busy)
{
    if (rq->count > 0 && e->state == OTA_DEPLOY_DOWNLOADING) {
        unsigned tail = (rq->head + rq->count - 1) % VEH_REPORT_QUEUE;
        struct veh_report_entry *t = &rq->q[tail];

        if (t->state == OTA_DEPLOY_DOWNLOADING && t->campaign == e->campaign &&
            !(head_busy && rq->count == 1)) {
            *t = *e;
            return 0;
        }
    }
    if (rq->count >= VEH_REPORT_QUEUE)
        return -ENOBUFS;
    rq->q[(rq->head + rq->count) % VEH_REPORT_QUEUE] = *e;
    rq->count++;
    return 0;
}

const struct veh_report_entry *veh_report_front(const struct veh_report_queue *rq)
{
    return rq->count ? &rq->q[rq->head] : NULL;
}

void veh_report_pop(struct veh_report_queue *rq)
{
    if (rq->count == 0)
        return;
    rq->head = (rq->head + 1) % VEH_REPORT_QUEUE;
    rq->count--;
}

unsigned veh_report_step(uint64_t have, uint64_t size)
{
    if (size == 0 || have >= size)
        return 10;
    /* have * 10 may overflow for sizes near 2^64; divide first then. */
    if (have > UINT64_MAX / 10) {
        uint64_t s = have / (size / 10);

        return s > 9 ? 9 : (unsigned)s;
    }
    return (unsigned)(have * 10 / size);
}
