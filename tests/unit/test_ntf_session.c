/* notifier/ntf_session: every kind of failure backs off the same way, a line only when it
 * is news, recovery reports the outage, and a session dropped at once is no recovery. */
#include "ota_test.h"
#include "ntf_session.h"

/* A broker that refuses every attempt for 60 s: attempts thin out to the cap. */
static void test_refusing_broker(void)
{
    struct ntf_session s;
    int64_t now = 1000;
    unsigned attempts = 0, lines = 0;

    ntf_session_init(&s, 99);
    CHECK(ntf_session_due(&s, now));
    while (now < 61000) {
        if (ntf_session_due(&s, now)) {
            attempts++;
            ntf_session_connecting(&s, now);
            lines += ntf_session_failed(&s, now + 2, "the broker closed the connection");
        }
        now += 10;
    }
    /* 0.5+1+2+4+8+16 s at the ceiling (≥ half of it with jitter) then 30 s: ≤ 13 without
     * jitter's luck, never the 120 of a fixed 500 ms */
    CHECK(attempts >= 5 && attempts <= 13);
    CHECK_INT(lines, 1);
    CHECK_INT(s.failures, attempts);
    CHECK_INT(s.failures_total, attempts);
    CHECK(s.last_delay_ms >= 15000 && s.last_delay_ms <= 30000);
    /* a new reason is news again; the same one is not */
    CHECK(ntf_session_failed(&s, now, "connect: Connection refused"));
    CHECK(!ntf_session_failed(&s, now, "connect: Connection refused"));
    CHECK_STR(s.reason, "connect: Connection refused");
    /* recovery says how many failures it ends */
    ntf_session_connecting(&s, now);
    CHECK_INT(ntf_session_up(&s, now + 5), attempts + 2);
    CHECK_INT(s.failures, 0);
    CHECK(s.state == NTF_SESSION_UP);
    CHECK(!ntf_session_due(&s, now + 100000));
}

/* A session lost after a stable while starts over at the short delay. */
static void test_stable_loss(void)
{
    struct ntf_session s;

    ntf_session_init(&s, 5);
    for (int i = 0; i < 8; i++)
        ntf_session_failed(&s, 0, "x");
    ntf_session_connecting(&s, 100000);
    ntf_session_up(&s, 100000);
    CHECK(!ntf_session_lost(&s, 100000 + NTF_SESSION_STABLE_MS));
    CHECK(s.state == NTF_SESSION_DOWN);
    CHECK_INT(s.failures, 0);
    CHECK(s.last_delay_ms <= NTF_SESSION_BACKOFF_MIN_MS);
    CHECK(!ntf_session_due(&s, 100000 + NTF_SESSION_STABLE_MS));
    CHECK(ntf_session_due(&s, 100000 + NTF_SESSION_STABLE_MS + NTF_SESSION_BACKOFF_MIN_MS));
}

/* A broker that accepts and drops us at once, again and again: failures, growing waits,
 * one line. */
static void test_young_losses(void)
{
    struct ntf_session s;
    int64_t now = 0;
    unsigned lines = 0, prev_ceiling = 0;

    ntf_session_init(&s, 11);
    for (int i = 0; i < 6; i++) {
        ntf_session_connecting(&s, now);
        ntf_session_up(&s, now + 1);
        lines += ntf_session_lost(&s, now + 50);
        CHECK(s.state == NTF_SESSION_DOWN);
        CHECK(s.backoff.cur_ms >= prev_ceiling);
        prev_ceiling = s.backoff.cur_ms;
        now = s.next_ms;
    }
    CHECK_INT(lines, 1);
    CHECK_INT(s.failures_total, 6);
    CHECK(s.backoff.cur_ms == NTF_SESSION_BACKOFF_MAX_MS);
    CHECK(strstr(s.reason, "closed the session") != NULL);
    /* nothing to announce at the next CONNACK; once it holds, once */
    CHECK_INT(ntf_session_up(&s, now), 0);
    CHECK(!ntf_session_stable(&s, now + NTF_SESSION_STABLE_MS - 1));
    CHECK(ntf_session_stable(&s, now + NTF_SESSION_STABLE_MS));
    CHECK(!ntf_session_stable(&s, now + 2 * NTF_SESSION_STABLE_MS));
    CHECK_INT(s.backoff.cur_ms, NTF_SESSION_BACKOFF_MIN_MS);
    CHECK_STR(s.reason, "");
}

static void test_connack_deadline(void)
{
    struct ntf_session s;

    ntf_session_init(&s, 3);
    CHECK(!ntf_session_connack_overdue(&s, 0));
    ntf_session_connecting(&s, 1000);
    CHECK(!ntf_session_due(&s, 5000));
    CHECK(!ntf_session_connack_overdue(&s, 1000 + NTF_SESSION_CONNACK_MS - 1));
    CHECK(ntf_session_connack_overdue(&s, 1000 + NTF_SESSION_CONNACK_MS));
}

int main(void)
{
    test_refusing_broker();
    test_stable_loss();
    test_young_losses();
    test_connack_deadline();
    return ota_test_failures ? 1 : 0;
}
