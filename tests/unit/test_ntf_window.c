/* Unit tests for ntf_window.c: the in-flight window and per-vehicle blocks. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ntf_window.h"
#include "ota_test.h"

static void test_window(void)
{
    struct ntf_window w;
    struct ntf_slot *s;

    CHECK(ntf_window_init(&w, 0, 0) == -EINVAL);
    CHECK(ntf_window_init(&w, 3, 4) == -EINVAL);
    CHECK(ntf_window_init(&w, 3, 3) == 0);
    CHECK(ntf_window_free_slots(&w) == 3);
    CHECK(ntf_window_add(&w, 1, 10, "VIN1", 0) == 0);
    CHECK(ntf_window_add(&w, 2, 11, "VIN2", 0) == 0);
    CHECK(ntf_window_add(&w, 3, 12, "VIN1", 0) == 0);
    CHECK(ntf_window_add(&w, 4, 13, "VIN3", 0) == -ENOSPC);
    CHECK(ntf_window_free_slots(&w) == 0);
    CHECK(ntf_window_has_row(&w, 11));
    CHECK(!ntf_window_has_row(&w, 13));
    s = ntf_window_find_mid(&w, 2);
    CHECK(s && s->row == 11 && strcmp(s->vehicle, "VIN2") == 0);
    ntf_window_remove(&w, s);
    CHECK(!ntf_window_has_row(&w, 11));
    CHECK(ntf_window_find_mid(&w, 2) == NULL);
    /* Order of the rest is kept. */
    CHECK(w.used == 2 && w.slots[0].row == 10 && w.slots[1].row == 12);
    CHECK(ntf_window_find_mid(&w, 99) == NULL);
    {
        char longid[80];
        memset(longid, 'A', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = '\0';
        CHECK(ntf_window_add(&w, 5, 14, longid, 0) == -EINVAL);
    }
    ntf_window_free(&w);
    ntf_window_free(NULL);
}

/* Acknowledged slots wait for their transaction without holding back sending; PUBACKs
 * found from the hint, in or out of order; one-pass removal keeps the order. */
static void test_window_batch(void)
{
    struct ntf_window w;
    struct ntf_slot *s;

    CHECK(ntf_window_init(&w, 4, 2) == 0);
    CHECK(ntf_window_free_slots(&w) == 2);
    CHECK(ntf_window_add(&w, 1, 10, "VIN1", 0) == 0);
    CHECK(ntf_window_add(&w, 2, 11, "VIN2", 0) == 0);
    CHECK(ntf_window_add(&w, 3, 12, "VIN3", 0) == -ENOSPC); /* two unacknowledged */
    s = ntf_window_find_mid(&w, 1);
    CHECK(s && s->row == 10);
    ntf_window_ack(&w, s);
    ntf_window_ack(&w, s); /* twice counts once */
    CHECK(w.acked == 1 && ntf_window_free_slots(&w) == 1);
    CHECK(ntf_window_add(&w, 3, 12, "VIN3", 0) == 0);
    s = ntf_window_find_mid(&w, 3); /* out of order */
    CHECK(s && s->row == 12);
    ntf_window_ack(&w, s);
    s = ntf_window_find_mid(&w, 2); /* wraps around the hint */
    CHECK(s && s->row == 11);
    ntf_window_ack(&w, s);
    CHECK(w.acked == 3 && ntf_window_free_slots(&w) == 1); /* room for 4 in all */
    CHECK(ntf_window_add(&w, 4, 13, "VIN4", 0) == 0);
    CHECK(ntf_window_free_slots(&w) == 0);
    CHECK(ntf_window_has_row(&w, 13) && !ntf_window_has_row(&w, 14));
    CHECK(ntf_window_remove_acked(&w) == 3);
    CHECK(w.used == 1 && w.acked == 0 && w.slots[0].row == 13);
    CHECK(ntf_window_free_slots(&w) == 1);
    s = ntf_window_find_mid(&w, 4);
    CHECK(s != NULL);
    ntf_window_ack(&w, s);
    ntf_window_remove(&w, s);
    CHECK(w.used == 0 && w.acked == 0 && w.max_row == 0);
    CHECK(!ntf_window_has_row(&w, 13));
    ntf_window_free(&w);
}

static void test_blocks(void)
{
    struct ntf_blocks b = { 0 };
    static const struct {
        const char *vehicle;
        long row;
        long now;
        int holds;
    } cases[] = {
        { "VIN1", 5, 100, 0 }, /* the deferred row itself may go when due */
        { "VIN1", 6, 100, 1 }, /* a later row of the same vehicle waits */
        { "VIN1", 4, 100, 0 }, /* an earlier row does not */
        { "VIN2", 6, 100, 0 }, /* another vehicle does not */
        { "VIN1", 7, 160, 0 }, /* after the deadline the block is gone */
        { "VIN1", 7, 100, 0 }, /* ... and stays gone */
    };

    CHECK(ntf_blocks_set(&b, "VIN1", 5, 150) == 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool h = ntf_blocks_holds(&b, cases[i].vehicle, cases[i].row, cases[i].now);
        if (h != (cases[i].holds != 0)) {
            fprintf(stderr, "blocks case %zu: expected %d got %d\n", i, cases[i].holds, h);
            ota_test_failures++;
        }
    }
    /* Keeps the lowest row id; clear only by that row. */
    CHECK(ntf_blocks_set(&b, "VIN3", 9, 200) == 0);
    CHECK(ntf_blocks_set(&b, "VIN3", 12, 300) == 0);
    CHECK(ntf_blocks_holds(&b, "VIN3", 10, 250));
    ntf_blocks_clear(&b, "VIN3", 12);
    CHECK(ntf_blocks_holds(&b, "VIN3", 10, 250));
    ntf_blocks_clear(&b, "VIN3", 9);
    CHECK(!ntf_blocks_holds(&b, "VIN3", 10, 250));
    /* Growth past the first allocation. */
    for (int i = 0; i < 100; i++) {
        char id[16];
        snprintf(id, sizeof(id), "V%d", i);
        CHECK(ntf_blocks_set(&b, id, i + 1, 1000) == 0);
    }
    CHECK(ntf_blocks_holds(&b, "V42", 44, 10));
    CHECK(!ntf_blocks_holds(&b, "V42", 43, 10));
    /* Expiry: seen without dropping, then pruned. */
    CHECK(!ntf_blocks_expired(&b, 999));
    CHECK(ntf_blocks_set(&b, "SHORT", 7, 50) == 0);
    CHECK(!ntf_blocks_expired(&b, 49));
    CHECK(ntf_blocks_expired(&b, 50));
    CHECK(ntf_blocks_expired(&b, 50)); /* still there */
    ntf_blocks_prune(&b, 50);
    CHECK(!ntf_blocks_expired(&b, 50));
    CHECK(b.n == 100); /* the V* blocks; VIN1 ran out, VIN3 cleared, SHORT pruned */
    ntf_blocks_free(&b);
    ntf_blocks_free(NULL);
}

int main(void)
{
    test_window();
    test_window_batch();
    test_blocks();
    if (ota_test_failures) {
        fprintf(stderr, "%d check(s) failed\n", ota_test_failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
