/* Counters as Prometheus text and as one log line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ntf_stats.h"

#include "ota_metrics.h"

static const char *const bad_names[NTF_BAD_COUNT] = {
    [NTF_BAD_TOPIC] = "topic",       [NTF_BAD_PAYLOAD] = "payload", [NTF_BAD_UNKNOWN] = "unknown",
    [NTF_BAD_REJECTED] = "rejected", [NTF_BAD_DROPPED] = "dropped",
};

const char *ntf_bad_reason_name(enum ntf_bad_reason r)
{
    return (unsigned)r < NTF_BAD_COUNT ? bad_names[r] : "?";
}

uint64_t ntf_stats_bad_total(const struct ntf_stats *s)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < NTF_BAD_COUNT; i++)
        n += s->status_bad[i];
    return n;
}

static void metric(struct ota_buf *b, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    char full[96];

    snprintf(full, sizeof(full), "ota_notifier_%s", name);
    ota_metrics_one(b, full, type, help, v);
}

int ntf_stats_format(const struct ntf_stats *s, char *buf, size_t len)
{
    struct ota_buf b, *o = &b;

    if (len == 0)
        return -ENOSPC;
    ota_buf_init_fixed(&b, buf, len);
    metric(o, "published_total", "counter", "Outbox rows marked published after PUBACK.",
           s->published);
    metric(o, "sent_total", "counter", "Update messages sent (QoS 1, before PUBACK).", s->sent);
    metric(o, "refused_total", "counter", "PUBACKs carrying an error reason code.", s->refused);
    metric(o, "retries_total", "counter", "Outbox rows deferred after a publish error.",
           s->retries);
    metric(o, "requeued_total", "counter",
           "Rows queued again because the broker lost its retained messages.", s->requeued);
    metric(o, "pending", "gauge", "Outbox rows waiting for the broker.", s->pending);
    metric(o, "held", "gauge", "Outbox rows held by paused campaigns.", s->held);
    metric(o, "inflight", "gauge", "Messages awaiting PUBACK.", s->inflight);
    metric(o, "broker_connected", "gauge", "1 when connected to the broker.", s->connected);
    metric(o, "connects_total", "counter", "Successful broker connections.", s->connects);
    metric(o, "broker_session_failures_total", "counter",
           "Attempts that got no broker session (TCP, TLS, protocol, CONNACK refusal, no "
           "CONNACK, a session dropped at once).",
           s->session_failures);
    metric(o, "broker_retry_delay_ms", "gauge",
           "Wait before the next broker attempt (backoff with jitter); 0 when connected.",
           s->retry_delay_ms);
    metric(o, "db_busy_total", "counter", "Database calls that found the database locked.",
           s->db_busy);
    metric(o, "status_applied_total", "counter", "Vehicle status reports recorded.",
           s->status_applied);
    metric(o, "status_duplicate_total", "counter",
           "Repeated final status reports (at-least-once delivery).", s->status_duplicate);
    ota_metrics_family(o, "ota_notifier_status_bad_total", "counter",
                       "Status messages refused, by reason.");
    for (unsigned i = 0; i < NTF_BAD_COUNT; i++)
        ota_metrics_u64(o, "ota_notifier_status_bad_total", s->status_bad[i], "reason",
                        bad_names[i], NULL);
    if (ota_buf_error(o))
        return -ENOSPC;
    return (int)b.len;
}

int ntf_stats_summary(const struct ntf_stats *s, char *buf, size_t len)
{
    int n =
        snprintf(buf, len,
                 "stats: broker=%s session_failures=%" PRIu64 " published=%" PRIu64 " pending=%" PRIu64 " held=%" PRIu64
                 " inflight=%u retries=%" PRIu64 " requeued=%" PRIu64 " status_applied=%" PRIu64
                 " status_bad=%" PRIu64 " db_busy=%" PRIu64,
                 s->connected ? "up" : "down", s->session_failures, s->published, s->pending, s->held, s->inflight,
                 s->retries, s->requeued, s->status_applied, ntf_stats_bad_total(s), s->db_busy);

    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    return n;
}

int ntf_stats_write(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    int fd = -1, r;
    size_t off = 0;

    r = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (r < 0 || (size_t)r >= sizeof(tmp))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            goto out;
        }
        off += (size_t)n;
    }
    if (close(fd) < 0) {
        fd = -1;
        r = -errno;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = -errno;
        goto out;
    }
    return 0;
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return r;
}
