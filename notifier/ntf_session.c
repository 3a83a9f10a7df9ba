/* The broker session's state machine (see ntf_session.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "ntf_session.h"

void ntf_session_init(struct ntf_session *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->state = NTF_SESSION_DOWN;
    ota_backoff_init(&s->backoff, NTF_SESSION_BACKOFF_MIN_MS, NTF_SESSION_BACKOFF_MAX_MS, seed);
}

bool ntf_session_due(const struct ntf_session *s, int64_t now)
{
    return s->state == NTF_SESSION_DOWN && now >= s->next_ms;
}

void ntf_session_connecting(struct ntf_session *s, int64_t now)
{
    s->state = NTF_SESSION_CONNECTING;
    s->deadline_ms = now + NTF_SESSION_CONNACK_MS;
}

bool ntf_session_connack_overdue(const struct ntf_session *s, int64_t now)
{
    return s->state == NTF_SESSION_CONNECTING && now >= s->deadline_ms;
}

bool ntf_session_failed(struct ntf_session *s, int64_t now, const char *reason)
{
    bool news = strcmp(reason, s->reason) != 0;

    if (s->failures == 0)
        s->outage_since_ms = now;
    s->failures++;
    s->failures_total++;
    snprintf(s->reason, sizeof(s->reason), "%s", reason);
    s->last_delay_ms = ota_backoff_next(&s->backoff);
    s->next_ms = now + s->last_delay_ms;
    s->state = NTF_SESSION_DOWN;
    return news;
}

unsigned ntf_session_up(struct ntf_session *s, int64_t now)
{
    unsigned had = s->young_loss ? 0 : s->failures;

    s->state = NTF_SESSION_UP;
    s->up_since_ms = now;
    s->failures = 0;
    return had;
}

/* A session held: the outage behind it is over, the next one starts afresh. */
static void forget_outage(struct ntf_session *s)
{
    ota_backoff_reset(&s->backoff);
    s->reason[0] = '\0';
    s->young_loss = false;
}

bool ntf_session_lost(struct ntf_session *s, int64_t now)
{
    char why[NTF_SESSION_REASON_MAX];

    if (now - s->up_since_ms >= NTF_SESSION_STABLE_MS) {
        forget_outage(s);
        s->last_delay_ms = ota_backoff_next(&s->backoff);
        s->next_ms = now + s->last_delay_ms;
        s->state = NTF_SESSION_DOWN;
        return false;
    }
    /* One reason for every such loss, however long each lasted, so that it is logged once. */
    snprintf(why, sizeof(why), "the broker closed the session within %d s of accepting it",
             NTF_SESSION_STABLE_MS / 1000);
    s->young_loss = true;
    return ntf_session_failed(s, now, why);
}

bool ntf_session_stable(struct ntf_session *s, int64_t now)
{
    if (s->state != NTF_SESSION_UP || !s->young_loss ||
        now - s->up_since_ms < NTF_SESSION_STABLE_MS)
        return false;
    forget_outage(s);
    return true;
}

bool ntf_session_is_up(const struct ntf_session *s)
{
    return s->state == NTF_SESSION_UP;
}

void ntf_session_closed(struct ntf_session *s)
{
    s->state = NTF_SESSION_DOWN;
}
