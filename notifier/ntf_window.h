/* The in-flight window (QoS 1 messages awaiting PUBACK, by message id) and the per-vehicle
 * blocks that keep a vehicle's messages in outbox order while one of them is deferred. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "ota_util.h"

struct ntf_slot {
    int mid;     /* libmosquitto message id */
    int64_t row; /* outbox row id */
    bool acked;  /* PUBACK seen, row not yet marked published (db busy) */
    int64_t sent_ms;
    char vehicle[OTA_ID_MAX + 1];
};

/* Slots hold rows sent and not yet marked published: unacknowledged ones (at most
 * @limit, [notifier] max_inflight) and acknowledged ones waiting for the next "published"
 * transaction (the rest of @cap), so that marks can be batched while the broker keeps
 * receiving. */
struct ntf_window {
    struct ntf_slot *slots; /* cap entries, the first used are in use, in send order */
    unsigned cap;
    unsigned limit; /* unacknowledged slots at most (<= cap) */
    unsigned used;
    unsigned acked; /* slots with acked set */
    unsigned hint;   /* where ntf_window_find_mid() starts: PUBACKs come in send order */
    int64_t max_row; /* no slot holds a higher row id (0 when empty) */
};

/* A vehicle whose row @row was deferred until @until (seconds): its later rows wait. */
struct ntf_block {
    char vehicle[OTA_ID_MAX + 1];
    int64_t row;
    int64_t until;
};

struct ntf_blocks {
    struct ntf_block *v;
    unsigned n;
    unsigned cap;
};

/* Allocates @cap slots (>= 1), of which @limit (1..cap) may be unacknowledged.
 * Returns 0, -EINVAL or -ENOMEM. Free with ntf_window_free(). */
int ntf_window_init(struct ntf_window *w, unsigned cap, unsigned limit);
void ntf_window_free(struct ntf_window *w);
/* Returns 0, -ENOSPC (window full) or -EINVAL (bad vehicle). @vehicle is copied. */
int ntf_window_add(struct ntf_window *w, int mid, int64_t row, const char *vehicle, int64_t now_ms);
/* The slot of @mid, or NULL. Borrowed until the next add/remove. */
struct ntf_slot *ntf_window_find_mid(struct ntf_window *w, int mid);
bool ntf_window_has_row(const struct ntf_window *w, int64_t row);
/* Marks @slot acknowledged (its row may now be marked published). */
void ntf_window_ack(struct ntf_window *w, struct ntf_slot *slot);
/* Removes @slot (from ntf_window_find_mid or the slots array). */
void ntf_window_remove(struct ntf_window *w, struct ntf_slot *slot);
/* Removes every acked slot in one pass, keeping the order of the rest. Returns how many. */
unsigned ntf_window_remove_acked(struct ntf_window *w);
/* How many more rows may be sent now. */
static inline unsigned ntf_window_free_slots(const struct ntf_window *w)
{
    unsigned room = w->cap - w->used, unacked = w->used - w->acked;

    if (unacked >= w->limit)
        return 0;
    return w->limit - unacked < room ? w->limit - unacked : room;
}

/* Blocks: a vehicle with a deferred row @row; rows of that vehicle with a higher id must
 * not be published before @until, or they would overtake it (an update then its clearing
 * message must arrive in that order). After @until the deferred row is due again and the
 * id-ordered scan meets it first, so the block is no longer needed. */
void ntf_blocks_free(struct ntf_blocks *b);
/* Adds or updates the vehicle's block (keeping the lowest row id). 0 or -ENOMEM/-EINVAL. */
int ntf_blocks_set(struct ntf_blocks *b, const char *vehicle, int64_t row, int64_t until);
/* True if a row @row of @vehicle must wait at time @now. Drops expired blocks it meets. */
bool ntf_blocks_holds(struct ntf_blocks *b, const char *vehicle, int64_t row, int64_t now);
/* Removes the vehicle's block if it is for @row (the row went out). */
void ntf_blocks_clear(struct ntf_blocks *b, const char *vehicle, int64_t row);
/* True if some block has run out at @now: its deferred row is due again, and a scan must
 * start from the lowest id to meet it before the vehicle's later rows. */
bool ntf_blocks_expired(const struct ntf_blocks *b, int64_t now);
/* Drops the blocks that ran out at @now (after a scan from the lowest id saw every due
 * row). */
void ntf_blocks_prune(struct ntf_blocks *b, int64_t now);
