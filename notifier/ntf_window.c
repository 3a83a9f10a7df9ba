/* In-flight window and per-vehicle blocks: small arrays, searched linearly (the window is
 * [notifier] max_inflight long, blocks exist only while rows fail to publish). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ntf_window.h"

int ntf_window_init(struct ntf_window *w, unsigned cap)
{
    if (cap == 0)
        return -EINVAL;
    w->slots = calloc(cap, sizeof(*w->slots));
    if (!w->slots)
        return -ENOMEM;
    w->cap = cap;
    w->used = 0;
    return 0;
}

void ntf_window_free(struct ntf_window *w)
{
    if (!w)
        return;
    free(w->slots);
    w->slots = NULL;
    w->cap = w->used = 0;
}

int ntf_window_add(struct ntf_window *w, int mid, int64_t row, const char *vehicle, int64_t now_ms)
{
    struct ntf_slot *s;
    size_t len = strlen(vehicle);

    if (len > OTA_ID_MAX)
        return -EINVAL;
    if (w->used >= w->cap)
        return -ENOSPC;
    s = &w->slots[w->used++];
    s->mid = mid;
    s->row = row;
    s->acked = false;
    s->sent_ms = now_ms;
    memcpy(s->vehicle, vehicle, len + 1);
    return 0;
}

struct ntf_slot *ntf_window_find_mid(struct ntf_window *w, int mid)
{
    for (unsigned i = 0; i < w->used; i++)
        if (w->slots[i].mid == mid)
            return &w->slots[i];
    return NULL;
}

bool ntf_window_has_row(const struct ntf_window *w, int64_t row)
{
    for (unsigned i = 0; i < w->used; i++)
        if (w->slots[i].row == row)
            return true;
    return false;
}

void ntf_window_remove(struct ntf_window *w, struct ntf_slot *slot)
{
    size_t i = (size_t)(slot - w->slots);

    if (i >= w->used)
        return;
    /* Keep send order: the oldest slot stays first (diagnostics, tests). */
    memmove(&w->slots[i], &w->slots[i + 1], (w->used - i - 1) * sizeof(*slot));
    w->used--;
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
