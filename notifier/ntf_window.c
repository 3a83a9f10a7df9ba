/* In-flight window and per-vehicle blocks: small arrays, searched linearly (the window is
 * [notifier] max_inflight long, blocks exist only while rows fail to publish). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ntf_window.h"

int ntf_window_init(struct ntf_window *w, unsigned cap, unsigned limit)
{
    if (cap == 0 || limit == 0 || limit > cap)
        return -EINVAL;
    w->slots = calloc(cap, sizeof(*w->slots));
    if (!w->slots)
        return -ENOMEM;
    w->cap = cap;
    w->limit = limit;
    w->used = 0;
    w->acked = 0;
    w->hint = 0;
    w->max_row = 0;
    return 0;
}

void ntf_window_free(struct ntf_window *w)
{
    if (!w)
        return;
    free(w->slots);
    w->slots = NULL;
    w->cap = w->limit = w->used = w->acked = 0;
}

int ntf_window_add(struct ntf_window *w, int mid, int64_t row, const char *vehicle, int64_t now_ms)
{
    struct ntf_slot *s;
    size_t len = strlen(vehicle);

    if (len > OTA_ID_MAX)
        return -EINVAL;
    if (ntf_window_free_slots(w) == 0)
        return -ENOSPC;
    s = &w->slots[w->used++];
    s->mid = mid;
    s->row = row;
    s->acked = false;
    s->sent_ms = now_ms;
    memcpy(s->vehicle, vehicle, len + 1);
    if (row > w->max_row)
        w->max_row = row;
    return 0;
}

/* The broker acknowledges in send order, so the slot after the last one found is nearly
 * always the next match: a PUBACK costs O(1), not O(window). */
struct ntf_slot *ntf_window_find_mid(struct ntf_window *w, int mid)
{
    unsigned start = w->hint < w->used ? w->hint : 0;

    for (unsigned i = start; i < w->used; i++)
        if (w->slots[i].mid == mid) {
            w->hint = i + 1;
            return &w->slots[i];
        }
    for (unsigned i = 0; i < start; i++)
        if (w->slots[i].mid == mid) {
            w->hint = i + 1;
            return &w->slots[i];
        }
    return NULL;
}

bool ntf_window_has_row(const struct ntf_window *w, int64_t row)
{
    if (w->used == 0 || row > w->max_row)
        return false; /* rows are sent in id order: a scan past the window costs nothing */
    for (unsigned i = 0; i < w->used; i++)
        if (w->slots[i].row == row)
            return true;
    return false;
}

static void window_emptied(struct ntf_window *w)
{
    if (w->used == 0) {
        w->max_row = 0;
        w->hint = 0;
    }
}

void ntf_window_ack(struct ntf_window *w, struct ntf_slot *slot)
{
    if (!slot->acked) {
        slot->acked = true;
        w->acked++;
    }
}

void ntf_window_remove(struct ntf_window *w, struct ntf_slot *slot)
{
    size_t i = (size_t)(slot - w->slots);

    if (i >= w->used)
        return;
    if (slot->acked)
        w->acked--;
    /* Keep send order: the oldest slot stays first (diagnostics, tests). */
    memmove(&w->slots[i], &w->slots[i + 1], (w->used - i - 1) * sizeof(*slot));
    w->used--;
    if (w->hint > i)
        w->hint--;
    window_emptied(w);
}

unsigned ntf_window_remove_acked(struct ntf_window *w)
{
    unsigned keep = 0, n = 0;

    for (unsigned i = 0; i < w->used; i++) {
        if (w->slots[i].acked) {
            n++;
            continue;
        }
        if (keep != i)
            w->slots[keep] = w->slots[i];
        keep++;
    }
    w->used = keep;
    w->acked = 0;
    w->hint = 0;
    window_emptied(w);
    return n;
}

void ntf_blocks_free(struct ntf_blocks *b)
{
    if (!b)
        return;
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

static struct ntf_block *blocks_find(struct ntf_blocks *b, const char *vehicle)
{
    for (unsigned i = 0; i < b->n; i++)
        if (strcmp(b->v[i].vehicle, vehicle) == 0)
            return &b->v[i];
    return NULL;
}

static void blocks_drop(struct ntf_blocks *b, struct ntf_block *e)
{
    *e = b->v[--b->n];
}

int ntf_blocks_set(struct ntf_blocks *b, const char *vehicle, int64_t row, int64_t until)
{
    struct ntf_block *e = blocks_find(b, vehicle);
    size_t len = strlen(vehicle);

    if (len > OTA_ID_MAX)
        return -EINVAL;
    if (e) {
        if (row <= e->row) {
            e->row = row;
            e->until = until;
        } else if (until > e->until) {
            e->until = until;
        }
        return 0;
    }
    if (b->n == b->cap) {
        unsigned cap = b->cap ? b->cap * 2 : 16;
        struct ntf_block *v = realloc(b->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        b->v = v;
        b->cap = cap;
    }
    e = &b->v[b->n++];
    memcpy(e->vehicle, vehicle, len + 1);
    e->row = row;
    e->until = until;
    return 0;
}

bool ntf_blocks_holds(struct ntf_blocks *b, const char *vehicle, int64_t row, int64_t now)
{
    struct ntf_block *e = blocks_find(b, vehicle);

    if (!e)
        return false;
    if (now >= e->until) {
        blocks_drop(b, e);
        return false;
    }
    return row > e->row;
}

void ntf_blocks_clear(struct ntf_blocks *b, const char *vehicle, int64_t row)
{
    struct ntf_block *e = blocks_find(b, vehicle);

    if (e && e->row == row)
        blocks_drop(b, e);
}

bool ntf_blocks_expired(const struct ntf_blocks *b, int64_t now)
{
    for (unsigned i = 0; i < b->n; i++)
        if (now >= b->v[i].until)
            return true;
    return false;
}

void ntf_blocks_prune(struct ntf_blocks *b, int64_t now)
{
    for (unsigned i = 0; i < b->n;) {
        if (now >= b->v[i].until)
            blocks_drop(b, &b->v[i]);
        else
            i++;
    }
}
