/* Outbox to broker. Program-level code of ota-notifier: it logs.
 *
 * Order. Rows are published in id order on one connection, and MQTT delivers QoS 1
 * messages of one topic in the order they were sent (also when libmosquitto resends them
 * after a reconnect), so a vehicle's update and its later clearing message arrive in
 * order even with many messages in flight. The one way to reorder is a row that fails to
 * publish and is deferred (ota_db_outbox_retry_later): its vehicle is then blocked
 * (struct ntf_blocks) so that none of that vehicle's later rows goes out before it.
 *
 * Scanning. A rescan starts at id 0 (rows that a resumed campaign releases, or deferred
 * rows that came due, have old ids) and pages past the rows already in flight, which are
 * still 'pending' in the database until their PUBACK. Between rescans a drain goes on
 * from the last row it dealt with (the cursor), so a campaign costs one read per row, not
 * one per row and window. That is safe only while no row below the cursor can have become
 * due: rows another connection changes (campaign resume) bump PRAGMA data_version, which
 * is read before every rescan and checked after every page (the page is copied, published
 * only once the check passed); a deferred row coming due again is seen by
 * ntf_blocks_expired(); our own writes that may add due rows ask for a rescan.
 *
 * Budget. One drain stops after DRAIN_BUDGET_MS and asks the loop to come back, so
 * PUBACKs, signals and keepalives are served while a large backlog goes out.
 *
 * Bodies. A row names its body by payload id (schema 002); every row of a campaign start
 * names the same one. The due scan reads no body: publish_row() takes it from a small
 * cache of bodies (struct payload_cache), reading it from the database on a miss. Bodies
 * never change, so the cache needs no invalidation.
 *
 * Marks. The acknowledged rows of a batch are sorted by id and marked published one run
 * of consecutive ids per UPDATE (ota_db_outbox_mark_range): a campaign's rows have
 * consecutive ids, so a batch is one or a few statements. A run holds only ids whose
 * PUBACK arrived, so no row is ever marked that the broker did not acknowledge. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_cdn.h"
#include "ota_db.h"
#include "ota_json.h"
#include "ota_util.h"
#include "ota_log.h"
#include "ntf_outbox.h"
#include "ntf_topic.h"

#define PAGE_EXTRA      64  /* rows per page beyond the window's size */
#define PAGE_ROWS       512 /* rows per page at least: one outbox read per this many rows */
#define MAX_PAGES       64  /* pages per drain: bounds the time one drain takes */
#define DRAIN_BUDGET_MS 50  /* ... and so does this */
#define RETRY_MAX_S     300 /* longest deferral of a failing row */
#define PAYLOAD_SLOTS   8   /* bodies cached: campaigns interleaving in one drain */
/* PUBACKs are recorded ("published") in one transaction, and so one fsync, per batch: when
 * max_inflight of them wait, when nothing else is left to send, or this long after the
 * first of the batch. */
#define FLUSH_DELAY_MS 50

/* A row copied out of the query. The buffers are kept from page to page and only grow,
 * so a steady drain allocates nothing per row. */
struct row_copy {
    int64_t id;
    int64_t campaign;
    int64_t next_attempt_at;
    int64_t payload_id;
    uint32_t attempts;
    bool retain;
    enum ota_outbox_state state;
    char vehicle[OTA_ID_MAX + 1];
    char *topic;
    size_t topic_cap;
};

/* Message bodies by payload id, replaced round robin. Slot bodies are owned here. */
struct payload_cache {
    struct {
        int64_t id; /* 0: slot empty (the empty message needs no slot) */
        char *body;
        size_t len;
    } slot[PAYLOAD_SLOTS];
    unsigned next;
};

/* The due rows read and not yet dealt with: v[pos..n). Kept from one drain to the next
 * while PRAGMA data_version says nothing else changed the database; any rescan empties it. */
struct ntf_page {
    struct row_copy *v;
    unsigned n;
    unsigned pos;
    unsigned cap; /* entries allocated (their buffers too) */
    bool last;    /* the read that filled it found no more due rows */
    bool oom;
    struct payload_cache bodies;
    int64_t *acked; /* ntf_outbox_flush_acks(): the batch's row ids, sorted */
    unsigned acked_cap;
};

static void page_clear(struct ntf_page *p)
{
    p->n = 0;
    p->pos = 0;
    p->last = false;
    p->oom = false;
}

static void page_free(struct ntf_page *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->cap; i++)
        free(p->v[i].topic);
    for (unsigned i = 0; i < PAYLOAD_SLOTS; i++)
        free(p->bodies.slot[i].body);
    free(p->v);
    free(p->acked);
    free(p);
}

int ntf_outbox_init(struct ntf_outbox *o, struct ota_db *db, const char *topic_prefix,
                    struct ota_cdn *cdn, unsigned max_inflight, struct ntf_outbox_sink sink,
                    struct ntf_stats *stats)
{
    memset(o, 0, sizeof(*o));
    o->db = db;
    o->topic_prefix = topic_prefix;
    o->cdn = cdn;
    o->sink = sink;
    o->stats = stats;
    o->drain_more = true;
    o->rescan = true;
    if (max_inflight == 0 || max_inflight > 65535)
        return -EINVAL;
    /* twice max_inflight: a batch of acknowledged rows waits for its transaction while as
     * many again are on the wire */
    return ntf_window_init(&o->win, max_inflight * 2, max_inflight);
}

void ntf_outbox_free(struct ntf_outbox *o)
{
    ntf_window_free(&o->win);
    page_free(o->page);
    o->page = NULL;
    ntf_blocks_free(&o->blocks);
}

/* Makes *buf hold at least @need bytes. */
static int buf_reserve(char **buf, size_t *cap, size_t need)
{
    char *b;
    size_t n = *cap ? *cap : 64;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    b = realloc(*buf, n);
    if (!b)
        return -ENOMEM;
    *buf = b;
    *cap = n;
    return 0;
}

static int row_copy(struct row_copy *c, const struct ota_outbox_row *r)
{
    const char *topic = r->topic ? r->topic : "";
    size_t tlen = strlen(topic);

    if (buf_reserve(&c->topic, &c->topic_cap, tlen + 1) < 0)
        return -ENOMEM;
    c->id = r->id;
    c->campaign = r->campaign;
    c->next_attempt_at = r->next_attempt_at;
    c->payload_id = r->payload_id;
    c->attempts = r->attempts;
    c->retain = r->retain;
    c->state = r->state;
    memcpy(c->vehicle, r->vehicle, sizeof(c->vehicle));
    c->vehicle[OTA_ID_MAX] = '\0';
    memcpy(c->topic, topic, tlen + 1);
    return 0;
}

/* The body of payload @id: borrowed from the cache until the next call. Returns 0,
 * -ENOENT (no such payload), -ENOMEM, -EBUSY or -EIO. */
static int payload_lookup(struct ota_db *db, struct payload_cache *pc, int64_t id, const char **ret,
                          size_t *ret_len)
{
    char *body = NULL;
    size_t len = 0;
    unsigned i;
    int r;

    if (id <= 0) {
        *ret = "";
        *ret_len = 0;
        return 0;
    }
    for (i = 0; i < PAYLOAD_SLOTS; i++) {
        if (pc->slot[i].id == id) {
            *ret = pc->slot[i].body;
            *ret_len = pc->slot[i].len;
            return 0;
        }
    }
    r = ota_db_outbox_payload_get(db, id, &body, &len);
    if (r < 0)
        return r;
    i = pc->next;
    pc->next = (pc->next + 1) % PAYLOAD_SLOTS;
    free(pc->slot[i].body);
    pc->slot[i].id = id;
    pc->slot[i].body = body;
    pc->slot[i].len = len;
    *ret = body;
    *ret_len = len;
    return 0;
}

/* Collects rows: the db's iteration must end before we write (mark, defer). 0 or
 * -ENOMEM (p->oom set). */
static int page_add(const struct ota_outbox_row *r, struct ntf_page *p)
{
    if (p->n == p->cap) {
        unsigned cap = p->cap ? p->cap * 2 : 64;
        struct row_copy *v = realloc(p->v, cap * sizeof(*v));
        if (!v) {
            p->oom = true;
            return -ENOMEM;
        }
        memset(v + p->cap, 0, (cap - p->cap) * sizeof(*v));
        p->v = v;
        p->cap = cap;
    }
    if (row_copy(&p->v[p->n], r) < 0) {
        p->oom = true;
        return -ENOMEM;
    }
    p->n++;
    return 0;
}

/* Up to @limit pending rows after @after into @p, read to the end before anything is
 * written: due at @now, or with @deferred the ones put off past it. */
static int page_fill(struct ota_db *db, int64_t now, bool deferred, int64_t after, unsigned limit,
                     struct ntf_page *p)
{
    const struct ota_outbox_row *row;
    struct ota_db_iter it;
    int r = deferred ? ota_db_outbox_deferred_begin(db, now, after, limit, &it)
                     : ota_db_outbox_due_begin(db, now, after, limit, &it);

    while (r == 0 && (r = ota_db_outbox_next(&it, &row)) > 0)
        r = page_add(row, p);
    ota_db_iter_end(&it);
    return r;
}

/* The daemon's page, allocated on first use, rows kept. NULL when out of memory. */
static struct ntf_page *page_get_keep(struct ntf_outbox *o)
{
    if (!o->page)
        o->page = calloc(1, sizeof(*o->page));
    return o->page;
}

/* The same, emptied for a new read. */
static struct ntf_page *page_get(struct ntf_outbox *o)
{
    struct ntf_page *p = page_get_keep(o);

    if (p)
        page_clear(p);
    return p;
}

void ntf_outbox_note_busy(struct ntf_outbox *o, const char *what)
{
    int64_t now = ota_monotonic_ms();

    o->stats->db_busy++;
    o->stats->dirty = true;
    if (now - o->busy_logged_ms >= 5000) {
        ota_warn("database busy (%s); will retry", what);
        o->busy_logged_ms = now;
    }
}

static int64_t retry_delay(uint32_t attempts)
{
    int64_t s = 1;

    for (uint32_t i = 0; i < attempts && s < RETRY_MAX_S; i++)
        s *= 2;
    return s < RETRY_MAX_S ? s : RETRY_MAX_S;
}

/* A row could not be sent (or the broker refused it): try it again later, and keep its
 * vehicle's later rows behind it. */
static void defer_row(struct ntf_outbox *o, int64_t id, const char *vehicle, uint32_t attempts,
                      const char *why)
{
    int64_t now = ota_now();
    int64_t until = now + retry_delay(attempts);
    int r;

    r = ota_db_outbox_retry_later(o->db, id, until);
    if (r == -EBUSY)
        ntf_outbox_note_busy(o, "deferring a row");
    else if (r < 0 && r != -ENOENT)
        ota_err("outbox row %" PRId64 ": cannot defer: %s", id, ota_db_errmsg(o->db));
    /* Even when the db did not take the deferral, block in memory. */
    if (ntf_blocks_set(&o->blocks, vehicle, id, until) < 0)
        ota_err("out of memory blocking vehicle %s", vehicle);
    o->stats->retries++;
    o->stats->dirty = true;
    ota_warn("outbox row %" PRId64 " (vehicle %s): %s; retry in %" PRId64 " s", id, vehicle, why,
             until - now);
}

/* Returns 1 if the connection is gone (stop the drain), -EBUSY/-ENOMEM/-EIO if the body
 * could not be read (stop the drain, try again later), 0 otherwise. */
struct relink_ctx {
    struct ota_cdn *cdn;
    const char *vehicle;
};

static int cdn_link(void *ctx, const char *sha256, char *url, size_t len)
{
    struct relink_ctx *lc = ctx;
    char path[96];

    snprintf(path, sizeof(path), "/v1/artifacts/%s", sha256);
    return ota_cdn_link(lc->cdn, path, lc->vehicle, ota_cdn_expiry(lc->cdn, ota_now()), url, len);
}

static int publish_row(struct ntf_outbox *o, const struct row_copy *c)
{
    char topic[NTF_TOPIC_MAX], *linked = NULL;
    const char *payload;
    size_t payload_len;
    int mid = 0, r;

    if (ntf_topic_join(o->topic_prefix, c->topic, topic, sizeof(topic)) < 0) {
        defer_row(o, c->id, c->vehicle, c->attempts, "topic too long");
        return 0;
    }
    r = payload_lookup(o->db, &o->page->bodies, c->payload_id, &payload, &payload_len);
    if (r == -ENOENT) {
        /* Cannot happen with foreign keys on; never publish a wrong body. */
        defer_row(o, c->id, c->vehicle, c->attempts, "its payload row is missing");
        return 0;
    }
    if (r == -EBUSY) {
        ntf_outbox_note_busy(o, "reading a payload");
        return r;
    }
    if (r < 0) {
        ota_err("outbox row %" PRId64 ": reading its payload: %s", c->id,
                r == -ENOMEM ? "out of memory" : ota_db_errmsg(o->db));
        return r;
    }
    if (o->cdn && payload_len > 0) {
        /* the stored message has the origin path; each vehicle gets its own CDN link,
         * fresh from now (a retained one read later may be expired: the vehicle then asks
         * GET /v1/updates for a new one) */
        struct relink_ctx lc = { o->cdn, c->vehicle };

        r = ota_json_update_relink(payload, payload_len, cdn_link, &lc, &linked);
        if (r == -ENOMEM)
            return r;
        if (r < 0) {
            defer_row(o, c->id, c->vehicle, c->attempts, "its CDN link cannot be made");
            return 0;
        }
        payload = linked;
        payload_len = strlen(linked);
    }
    r = o->sink.publish(o->sink.ctx, topic, payload, payload_len, c->retain, &mid);
    free(linked);
    if (r == -ENOTCONN)
        return 1;
    if (r < 0) {
        defer_row(o, c->id, c->vehicle, c->attempts, strerror(-r));
        return 0;
    }
    ntf_window_add(&o->win, mid, c->id, c->vehicle, ota_monotonic_ms());
    ntf_blocks_clear(&o->blocks, c->vehicle, c->id);
    o->stats->sent++;
    o->stats->dirty = true;
    ota_debug("sent row %" PRId64 " to %s as mid %d (%zu bytes%s)", c->id, topic, mid, payload_len,
              c->retain ? ", retained" : "");
    return 0;
}

/* Reads the next page of due rows after @after into @p. Returns 0, -ENOMEM, -EBUSY, -EIO
 * (logged here). */
static int read_page(struct ntf_outbox *o, struct ntf_page *p, int64_t now, int64_t after,
                     unsigned limit)
{
    int r;

    page_clear(p);
    r = page_fill(o->db, now, false, after, limit, p);
    if (p->oom) {
        ota_err("reading the outbox: out of memory");
        return -ENOMEM;
    }
    if (r == -EBUSY) {
        ntf_outbox_note_busy(o, "reading the outbox");
        return r;
    }
    if (r < 0) {
        ota_err("reading the outbox: %s", ota_db_errmsg(o->db));
        return r;
    }
    return 0;
}

/* Rows below the cursor, or rows of the buffered page, may have changed through another
 * connection (campaign resume, pause, cancel) since the rescan: 1 if so (a rescan is
 * asked for), 0 if not, or an error. */
static int page_stale(struct ntf_outbox *o)
{
    int64_t v;
    int r = ota_db_data_version(o->db, &v);

    if (r < 0) {
        ntf_outbox_note_busy(o, "reading the outbox");
        return r;
    }
    if (v == o->scan_version)
        return 0;
    o->rescan = true;
    return 1;
}

int ntf_outbox_drain(struct ntf_outbox *o)
{
    struct ntf_page *p = page_get_keep(o);
    int64_t now = ota_now(), t0 = ota_monotonic_ms(), after, v;
    unsigned limit;
    int r = 0;
    bool end = false, rescan, from_zero = false, checked = false;

    if (!p) {
        ota_err("reading the outbox: out of memory");
        return -ENOMEM;
    }
    rescan = o->rescan || ntf_blocks_expired(&o->blocks, now);
    o->backlog = false;
    for (unsigned pg = 0; pg < MAX_PAGES && !end; pg++) {
        bool check; /* the buffered rows must pass page_stale() first */

        if (rescan) {
            /* The version first, then the rows: a commit in between shows up at the next
             * check and costs one more rescan, never a missed row. */
            r = ota_db_data_version(o->db, &v);
            if (r < 0) {
                ntf_outbox_note_busy(o, "reading the outbox");
                goto out;
            }
            o->scan_version = v;
            o->cursor = 0;
            o->rescan = false;
            rescan = false;
            from_zero = true;
            checked = true;
            page_clear(p);
        }
        if (p->pos >= p->n) {
            /* The buffer is used up: the next page after the cursor. A page holds more
             * than the window takes at once; the rest waits in the buffer for the next
             * drains, so a steady drain reads the outbox once per PAGE_ROWS rows, not once
             * per PUBACK. */
            after = o->cursor;
            limit = o->win.cap + PAGE_EXTRA > PAGE_ROWS ? o->win.cap + PAGE_EXTRA : PAGE_ROWS;
            r = read_page(o, p, now, after, limit);
            if (r < 0)
                goto out;
            p->last = p->n < limit;
            check = after > 0;
        } else {
            /* Rows buffered by an earlier drain go out only while nothing changed since
             * they were read: the same check as after every page read. With the inotify
             * watch, another connection's commit sets o->rescan at the next poll(), so
             * buffered rows are at most one loop turn (well under the DRAIN_BUDGET_MS a
             * page's rows could take to go out before) behind a pause or a cancel; then
             * this read transaction per drain is not needed. */
            check = !checked && !o->db_watched;
        }
        if (check && (r = page_stale(o)) != 0) {
            if (r < 0)
                goto out;
            r = 0;
            rescan = true;
            continue;
        }
        checked = true;
        while (p->pos < p->n) {
            const struct row_copy *c = &p->v[p->pos];

            if (ntf_window_has_row(&o->win, c->id) ||
                ntf_blocks_holds(&o->blocks, c->vehicle, c->id, now)) {
                o->cursor = c->id;
                p->pos++;
                continue;
            }
            if (ntf_window_free_slots(&o->win) == 0 || !o->sink.up(o->sink.ctx)) {
                o->backlog = true;
                end = true;
                break;
            }
            r = publish_row(o, c);
            if (r < 0)
                goto out;
            if (r == 1) {
                r = 0;
                end = true;
                break;
            }
            o->cursor = c->id;
            p->pos++;
        }
        if (p->pos >= p->n && p->last) {
            end = true;
            /* Every due row was seen since the rescan: a block whose row did not come up
             * (cancelled while deferred) would force a rescan per drain. */
            if (from_zero)
                ntf_blocks_prune(&o->blocks, now);
        }
        if (!end && ota_monotonic_ms() - t0 >= DRAIN_BUDGET_MS)
            break;
    }
    if (!end) {
        /* Budget used up with rows left: come back after one turn of the loop. */
        o->backlog = true;
        o->drain_more = true;
    }
out:
    if (r < 0) {
        o->rescan = true;
        page_clear(p);
    }
    o->stats->inflight = o->win.used;
    return r;
}

void ntf_outbox_puback(struct ntf_outbox *o, int mid, int reason)
{
    struct ntf_slot *s = ntf_window_find_mid(&o->win, mid);

    if (!s)
        return; /* a resend of a message a previous window forgot: harmless */
    if (reason >= 0x80) {
        /* Refused (MQTT 5 reason code, e.g. 0x87 not authorized): not delivered. */
        char why[64];
        int64_t row = s->row;
        char vehicle[OTA_ID_MAX + 1];

        snprintf(why, sizeof(why), "broker refused it (reason 0x%02x)", (unsigned)reason);
        memcpy(vehicle, s->vehicle, sizeof(vehicle));
        ntf_window_remove(&o->win, s);
        o->stats->refused++;
        defer_row(o, row, vehicle, 0, why);
    } else {
        ntf_window_ack(&o->win, s);
        if (o->win.acked == 1)
            o->flush_at_ms = ota_monotonic_ms() + FLUSH_DELAY_MS;
    }
    o->stats->inflight = o->win.used;
    o->stats->dirty = true;
    if (o->backlog)
        o->drain_more = true;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* The acknowledged slots' row ids, sorted, into p->acked. Returns how many, or -ENOMEM. */
static int acked_sorted(struct ntf_page *p, const struct ntf_window *w)
{
    unsigned n = 0;
    bool sorted = true;

    if (p->acked_cap < w->cap) {
        int64_t *v = realloc(p->acked, w->cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        p->acked = v;
        p->acked_cap = w->cap;
    }
    for (unsigned i = 0; i < w->used; i++) {
        if (!w->slots[i].acked)
            continue;
        if (n > 0 && w->slots[i].row < p->acked[n - 1])
            sorted = false;
        p->acked[n++] = w->slots[i].row;
    }
    /* Sent in id order, except rows a rescan sent behind newer ones. */
    if (!sorted)
        qsort(p->acked, n, sizeof(*p->acked), cmp_id);
    return (int)n;
}

int ntf_outbox_flush_acks(struct ntf_outbox *o)
{
    struct ntf_page *p = page_get_keep(o);
    int64_t now = ota_now();
    unsigned n = o->win.acked;
    int r, k;

    if (n == 0)
        return 0;
    if (!p || (k = acked_sorted(p, &o->win)) < 0) {
        ota_err("marking rows published: out of memory");
        return -ENOMEM;
    }
    /* Unsynced commit (see ota_db_sync_full): a mark a power loss undoes only repeats its
     * message. If the switch fails the commit is synced, which is merely slower. */
    ota_db_sync_full(o->db, false);
    r = ota_db_begin(o->db);
    if (r < 0)
        goto fail;
    /* One UPDATE per run of consecutive ids. A row of a run that is no longer pending
     * (dropped by a cancel while in flight) is left as it is. A row id appears once in
     * the window, so a run never spans an id whose PUBACK did not arrive. */
    for (int i = 0; i < k;) {
        int j = i;

        while (j + 1 < k && p->acked[j + 1] == p->acked[j] + 1)
            j++;
        r = ota_db_outbox_mark_range(o->db, p->acked[i], p->acked[j], now, NULL);
        if (r < 0) {
            ota_db_rollback(o->db);
            goto fail;
        }
        i = j + 1;
    }
    r = ota_db_commit(o->db);
    if (r < 0) {
        ota_db_rollback(o->db);
        goto fail;
    }
    ota_db_sync_full(o->db, true);
    for (unsigned i = 0; i < o->win.used; i++)
        if (o->win.slots[i].acked)
            ota_debug("row %" PRId64 " published", o->win.slots[i].row);
    ntf_window_remove_acked(&o->win);
    o->stats->published += n;
    o->stats->inflight = o->win.used;
    o->stats->dirty = true;
    return 0;
fail:
    ota_db_sync_full(o->db, true);
    if (r == -EBUSY)
        ntf_outbox_note_busy(o, "marking rows published");
    else
        ota_err("marking rows published: %s", ota_db_errmsg(o->db));
    return r;
}

/* ---- requeue after the broker lost retained messages ------------------------------- */

int ntf_outbox_requeue(struct ntf_outbox *o, bool skip_empty)
{
    int64_t now = ota_now();
    uint64_t queued = 0;
    bool in_tx = false;
    int r;

    r = ota_db_begin(o->db);
    if (r < 0)
        goto out;
    in_tx = true;
    r = ota_db_outbox_requeue_latest(o->db, skip_empty, now, &queued);
    if (r < 0)
        goto out;
    if (queued > 0) {
        r = ota_db_audit(o->db, "notifier", "outbox.requeue", NULL, 0,
                         skip_empty ? "broker lost its session: retained messages queued again"
                                    : "broker reconnect: retained messages queued again");
        if (r < 0)
            goto out;
    }
    r = ota_db_commit(o->db);
    if (r < 0)
        goto out;
    in_tx = false;
    o->stats->requeued += queued;
    o->stats->dirty = true;
    o->drain_more = true;
    o->rescan = true;
    ota_log(queued ? OTA_LOG_INFO : OTA_LOG_DEBUG,
            "queued %" PRIu64 " retained message(s) again (%s)", queued,
            skip_empty ? "broker had no session for us" : "reconnected");
out:
    if (in_tx)
        ota_db_rollback(o->db);
    return r;
}

int ntf_outbox_load_blocks(struct ntf_outbox *o)
{
    struct ntf_page *p = page_get(o);
    int64_t after = 0, now = ota_now();
    int r = 0;

    if (!p)
        return -ENOMEM;
    for (unsigned pg = 0; pg < 10000; pg++) {
        page_clear(p);
        r = page_fill(o->db, now, true, after, 512, p);
        if (p->oom)
            r = -ENOMEM;
        if (r < 0)
            break;
        r = 0;
        for (unsigned i = 0; i < p->n; i++) {
            const struct row_copy *c = &p->v[i];

            after = c->id;
            if (ntf_blocks_set(&o->blocks, c->vehicle, c->id, c->next_attempt_at) < 0) {
                r = -ENOMEM;
                goto out;
            }
        }
        if (p->n < 512)
            break;
    }
out:
    page_clear(p); /* these rows are not the drain's buffer */
    return r;
}

int ntf_outbox_gauges(struct ntf_outbox *o)
{
    uint64_t pending = 0, held = 0;
    int r = ota_db_outbox_unsent(o->db, &pending, &held);

    if (r < 0)
        return r;
    if (o->stats->pending != pending || o->stats->held != held)
        o->stats->dirty = true;
    o->stats->pending = pending;
    o->stats->held = held;
    return 0;
}
