/* Outbox to broker: publishes due rows in id order into the in-flight window and marks a
 * row published only once its PUBACK has arrived. */
#pragma once
#include <stdbool.h>

struct ntf_daemon;
struct ntf_page;

/* Publishes due rows while the window has room, for at most about 50 ms (then it sets
 * drain_more). Returns 0, -EBUSY, -ENOMEM or -EIO (db). */
int ntf_outbox_drain(struct ntf_daemon *d);
/* PUBACK of @mid: remembered; ntf_outbox_flush_acks() records it. */
void ntf_outbox_puback(struct ntf_daemon *d, int mid, int reason);
/* Marks the acknowledged rows published, in one transaction. 0, -EBUSY or -EIO. */
int ntf_outbox_flush_acks(struct ntf_daemon *d);
/* Queues again each vehicle's latest published retained message (unless a newer one is
 * pending), after the broker may have lost retained messages. @skip_empty: do not repeat
 * clearing messages (the broker lost everything, so there is nothing to clear).
 * Returns 0, -EBUSY, -ENOMEM or -EIO. */
int ntf_outbox_requeue(struct ntf_daemon *d, bool skip_empty);
/* At start: rows deferred by an earlier run block their vehicles' later rows. */
int ntf_outbox_load_blocks(struct ntf_daemon *d);
/* Refreshes the pending/held gauges. */
int ntf_outbox_gauges(struct ntf_daemon *d);
/* Frees the drain's buffers (d->page); NULL is a no-op. */
void ntf_outbox_page_free(struct ntf_page *p);
