/* Unit tests for veh_report: queue order, progress coalescing, progress steps. */
#include <errno.h>
#include "ota_test.h"
#include "veh_report.h"

static struct veh_report_entry e(int64_t campaign, enum ota_deploy_state s, uint64_t bytes)
{
    struct veh_report_entry x = { .campaign = campaign, .state = s, .bytes = bytes };

    return x;
}

static void test_queue(void)
{
    struct veh_report_queue q = { 0 };
    struct veh_report_entry x;

    CHECK(veh_report_front(&q) == NULL);
    x = e(1, OTA_DEPLOY_DOWNLOADING, 0);
    CHECK_INT(veh_report_push(&q, &x, false), 0);
    x = e(1, OTA_DEPLOY_DOWNLOADING, 10);
    CHECK_INT(veh_report_push(&q, &x, false), 0); /* replaces */
    CHECK_INT(q.count, 1);
    CHECK_INT(veh_report_front(&q)->bytes, 10);
    x = e(1, OTA_DEPLOY_DOWNLOADING, 20);
    CHECK_INT(veh_report_push(&q, &x, true), 0); /* head is being sent: appended */
    CHECK_INT(q.count, 2);
    x = e(1, OTA_DEPLOY_DOWNLOADING, 30);
    CHECK_INT(veh_report_push(&q, &x, true), 0); /* tail is not the head: replaced */
    CHECK_INT(q.count, 2);
    x = e(1, OTA_DEPLOY_DOWNLOADED, 100);
    CHECK_INT(veh_report_push(&q, &x, true), 0);
    x = e(1, OTA_DEPLOY_DOWNLOADING, 40); /* never replaces a state change */
    CHECK_INT(veh_report_push(&q, &x, true), 0);
    CHECK_INT(q.count, 4);
    CHECK_INT(veh_report_front(&q)->bytes, 10);
    veh_report_pop(&q);
    CHECK_INT(veh_report_front(&q)->bytes, 30);
    veh_report_pop(&q);
    CHECK_INT(veh_report_front(&q)->state, OTA_DEPLOY_DOWNLOADED);
    veh_report_pop(&q);
    veh_report_pop(&q);
    veh_report_pop(&q); /* popping empty is harmless */
    CHECK(veh_report_front(&q) == NULL);

    for (int i = 0; i < VEH_REPORT_QUEUE; i++) {
        x = e(1, i % 2 ? OTA_DEPLOY_INSTALLING : OTA_DEPLOY_DOWNLOADED, (uint64_t)i);
        CHECK_INT(veh_report_push(&q, &x, false), 0);
    }
    CHECK_INT(veh_report_push(&q, &x, false), -ENOBUFS);
    for (int i = 0; i < VEH_REPORT_QUEUE; i++) {
        CHECK_INT(veh_report_front(&q)->bytes, i); /* order kept across the wrap */
        veh_report_pop(&q);
    }
}

static void test_step(void)
{
    CHECK_INT(veh_report_step(0, 100), 0);
    CHECK_INT(veh_report_step(9, 100), 0);
    CHECK_INT(veh_report_step(10, 100), 1);
    CHECK_INT(veh_report_step(99, 100), 9);
    CHECK_INT(veh_report_step(100, 100), 10);
    CHECK_INT(veh_report_step(0, 0), 10);
    CHECK_INT(veh_report_step(UINT64_MAX - 1, UINT64_MAX), 9);
    CHECK_INT(veh_report_step(UINT64_MAX / 2, UINT64_MAX), 5);
}

int main(void)
{
    test_queue();
    test_step();
    TEST_DONE();
}
