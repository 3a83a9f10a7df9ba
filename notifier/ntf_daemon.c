/* ota-notifier's event loop (program-level: logs). One thread: poll() on the broker socket,
 * an inotify watch on the database folder (a commit by ota-admin writes the -wal file, so
 * a new campaign is seen at once, without polling the database) and a signalfd. A cheap
 * PRAGMA data_version check every min(interval_ms, 250) ms backs the watch up (network
 * file systems, a database without WAL), and a full outbox scan every 5 s picks up rows
 * whose retry time came. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "ota_campaign.h"
#include "ota_cdn.h"
#include "ota_log.h"
#include "ota_sdnotify.h"
#include "ntf_daemon.h"
#include "ntf_outbox.h"
#include "ntf_session.h"
#include "ntf_topic.h"

#define SCAN_EVERY_MS    5000
#define GAUGES_EVERY_MS  2000
#define STATS_EVERY_MS   1000
#define SUMMARY_EVERY_MS 60000
#define STOP_GRACE_MS    5000 /* SIGTERM: wait this long for PUBACKs in flight */
#define RECHECK_MAX_MS   64   /* see recheck_soon() */

/* An attempt or a young session failed (counted and backed off by ntf_session): the
 * stats, and a line when it is news. */
static void note_failure(struct ntf_daemon *d, bool news)
{
    if (news)
        ota_warn("broker %s:%u: no session: %s; trying again in %.1f s, backing off up to %d s",
                 d->cfg->mqtt.host, d->cfg->mqtt.port, d->session.reason,
                 d->session.last_delay_ms / 1000.0, NTF_SESSION_BACKOFF_MAX_MS / 1000);
    d->stats.session_failures = d->session.failures_total;
    d->stats.retry_delay_ms = d->session.last_delay_ms;
    d->stats.dirty = true;
}

static void session_failed(struct ntf_daemon *d, int64_t now, const char *reason)
{
    note_failure(d, ntf_session_failed(&d->session, now, reason));
}

static void on_connected(void *ctx, int rc, bool session_present)
{
    struct ntf_daemon *d = ctx;
    int64_t now = ota_monotonic_ms();
    unsigned failures;

    if (rc != 0) {
        char why[NTF_SESSION_REASON_MAX];

        snprintf(why, sizeof(why), "CONNACK refused the session: 0x%02x %s", (unsigned)rc,
                 ntf_mqtt_connack_string(d->mqtt, rc));
        session_failed(d, now, why);
        return;
    }
    failures = ntf_session_up(&d->session, now);
    d->stats.connected = true;
    d->stats.connects++;
    d->stats.retry_delay_ms = 0;
    d->stats.dirty = true;
    d->need_subscribe = true;
    d->outbox.drain_more = true;
    d->outbox.rescan = true;
    /* Retained messages the broker may have lost. Without our session it restarted
     * without persistence (or expired us): everything is gone. After a lost connection
     * with the session kept, a persistent broker may still have restarted from a snapshot
     * older than our last PUBACKs (mosquitto saves every autosave_interval), and we
     * cannot tell that from a network blip: repeat each vehicle's latest message then,
     * too. Retained messages make the repeats harmless; see notifier/README.md. */
    if (!session_present) {
        d->need_refresh = true;
        d->refresh_skip_empty = true;
    } else if (d->had_connection) {
        d->need_refresh = true;
        d->refresh_skip_empty = false;
    }
    if (failures > 0)
        ota_info("broker %s:%u: session established (MQTT %s, session %s) after %u failed "
                 "attempt(s) over %.1f s; the last: %s",
                 d->cfg->mqtt.host, d->cfg->mqtt.port, d->cfg->mqtt.protocol,
                 session_present ? "present" : "new", failures,
                 (now - d->session.outage_since_ms) / 1000.0, d->session.reason);
    else
        ota_info("connected to broker %s:%u (MQTT %s, session %s)", d->cfg->mqtt.host,
                 d->cfg->mqtt.port, d->cfg->mqtt.protocol, session_present ? "present" : "new");
    ota_sd_notify(OTA_SD_STATUS, "publishing: connected to broker %s:%u", d->cfg->mqtt.host,
                  d->cfg->mqtt.port);
}

static void on_disconnected(void *ctx, int rc)
{
    struct ntf_daemon *d = ctx;
    int64_t now = ota_monotonic_ms();
    char why[NTF_SESSION_REASON_MAX];
    bool news;

    switch (d->session.state) {
    case NTF_SESSION_UP:
        d->had_connection = true;
        if (d->stopping) {
            ntf_session_closed(&d->session); /* our own DISCONNECT */
            break;
        }
        news = ntf_session_lost(&d->session, now);
        if (d->session.failures > 0)
            note_failure(d, news); /* it did not last: a failed attempt */
        else
            ota_warn("broker connection lost (%s); %u message(s) in flight will be sent again",
                     ntf_mqtt_strerror(rc), d->outbox.win.used - d->outbox.win.acked);
        ota_sd_notify(OTA_SD_STATUS, "broker %s:%u lost (%s): reconnecting", d->cfg->mqtt.host,
                      d->cfg->mqtt.port, ntf_mqtt_strerror(rc));
        break;
    case NTF_SESSION_CONNECTING:
        /* What a broker that does not speak our protocol version does (RabbitMQ 3.10
         * with MQTT 5), and also a TLS client certificate refused after the handshake. */
        snprintf(why, sizeof(why), "the broker closed the connection before its CONNACK%s",
                 ntf_mqtt_is_v5(d->mqtt) ? " (a broker without MQTT 5 does that: see "
                                           "[mqtt] protocol)"
                                         : "");
        session_failed(d, now, why);
        break;
    case NTF_SESSION_DOWN:
        break; /* the failure that closed it was counted already (a refusing CONNACK) */
    }
    d->stats.connected = false;
    d->stats.dirty = true;
}

static void on_puback(void *ctx, int mid, int reason)
{
    struct ntf_daemon *d = ctx;

    ntf_outbox_puback(&d->outbox, mid, reason);
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct ntf_daemon *d = ctx;

    ntf_status_message(&d->status, topic, payload, len);
    /* A report that ends a deployment queues its clearing message: our own commit, which
     * PRAGMA data_version does not show us. It is a new row, after the cursor: no rescan. */
    d->outbox.drain_more = true;
}

static const struct ntf_mqtt_ops mqtt_ops = {
    .connected = on_connected,
    .disconnected = on_disconnected,
    .puback = on_puback,
    .message = on_message,
};

static void try_connect(struct ntf_daemon *d, int64_t now)
{
    char err[NTF_SESSION_REASON_MAX - 32], why[NTF_SESSION_REASON_MAX];

    if (ntf_mqtt_connect(d->mqtt, err, sizeof(err)) == 0) {
        ntf_session_connecting(&d->session, now); /* the CONNACK decides */
        return;
    }
    snprintf(why, sizeof(why), "connect: %s", err);
    session_failed(d, now, why);
}

/* True if another connection committed since the last check (rows may be due). */
static bool check_version(struct ntf_daemon *d)
{
    int64_t v;

    if (ota_db_data_version(d->db, &v) < 0)
        return false;
    if (v == d->data_version)
        return false;
    d->data_version = v;
    d->outbox.drain_more = true;
    d->outbox.rescan = true;
    return true;
}

/* An inotify hit whose commit is not visible yet: a writer writes its WAL frames (each
 * an event; a big transaction spills pages before it commits) and only then publishes
 * the commit in the -shm index, which raises no event. So look again after 1, 2, 4 ...
 * RECHECK_MAX_MS ms instead of waiting for the next periodic check (up to 250 ms: that
 * was most of a large campaign's start-to-first-publish time). */
static void recheck_soon(struct ntf_daemon *d, int64_t now)
{
    d->recheck_ms = 1;
    if (d->next_version_ms > now + 1)
        d->next_version_ms = now + 1;
}

static void write_stats(struct ntf_daemon *d, int64_t now, bool force)
{
    char buf[4096];
    int n, r;

    if (now >= d->next_gauges_ms || force) {
        int64_t took;

        if (ntf_outbox_gauges(&d->outbox) < 0)
            d->stats.db_busy++;
        /* The counts walk the unsent rows (~0.1 s for a million): never more than 2 % of
         * the loop's time, however long the outbox. */
        took = ota_monotonic_ms() - now;
        d->next_gauges_ms = now + (took * 50 > GAUGES_EVERY_MS ? took * 50 : GAUGES_EVERY_MS);
    }
    if (now >= d->next_summary_ms || force) {
        if (ntf_stats_summary(&d->stats, buf, sizeof(buf)) > 0)
            ota_info("%s", buf);
        d->next_summary_ms = now + SUMMARY_EVERY_MS;
    }
    if (!d->cfg->notifier.stats_file || !d->cfg->notifier.stats_file[0])
        return;
    if (!(d->stats.dirty && now >= d->next_stats_ms) && !force)
        return;
    d->stats.dirty = false;
    d->next_stats_ms = now + STATS_EVERY_MS;
    n = ntf_stats_format(&d->stats, buf, sizeof(buf));
    if (n < 0)
        return;
    r = ntf_stats_write(d->cfg->notifier.stats_file, buf, (size_t)n);
    if (r < 0)
        ota_warn("notifier.stats_file %s: %s", d->cfg->notifier.stats_file, strerror(-r));
}

/* Watches the database's folder: the -wal file changes on every commit, and a watch on
 * the file itself would be lost when a checkpoint removes and recreates it. */
static int watch_db(const char *db_path, char *ret_base, size_t baselen)
{
    char *tmp = NULL, *tmp2 = NULL;
    int fd = -1, r = -ENOMEM;

    tmp = strdup(db_path);
    tmp2 = strdup(db_path);
    if (!tmp || !tmp2)
        goto out;
    snprintf(ret_base, baselen, "%s", basename(tmp2));
    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    if (inotify_add_watch(fd, dirname(tmp), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
        r = -errno;
        close(fd);
        fd = -1;
        goto out;
    }
    r = fd;
out:
    free(tmp);
    free(tmp2);
    return r;
}

/* True if an event names the database or its -wal file. */
static bool drain_inotify(int fd, const char *base)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    size_t blen = strlen(base);
    bool hit = false;

    for (int i = 0; i < 64; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len > 0 && strncmp(ev->name, base, blen) == 0)
                hit = true;
            p += sizeof(*ev) + ev->len;
        }
    }
    return hit;
}

/* Messages of a running campaign still held a minute after it started running: its
 * start stopped (a crash) before it released them. One batch per scan tick, so the
 * loop keeps publishing meanwhile. */
#define HELD_GRACE_S 60

static void release_stale_held(struct ntf_daemon *d)
{
    int64_t campaign = 0;
    uint64_t n = 0;

    if (ota_db_outbox_held_running(d->db, ota_now() - HELD_GRACE_S, &campaign) != 0)
        return;
    if (ota_campaign_release_held(d->db, campaign, 1, &n) < 0) {
        ota_warn("campaign %" PRId64 ": releasing its held messages: %s", campaign,
                 ota_db_errmsg(d->db));
        return;
    }
    if (n > 0) {
        ota_info("campaign %" PRId64 ": released %" PRIu64 " messages its start left held",
                 campaign, n);
        d->outbox.drain_more = true;
    }
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The outbox's sink: the broker connection. */
static int sink_publish(void *ctx, const char *topic, const void *payload, size_t len,
                        bool retain, int *ret_mid)
{
    struct ntf_daemon *d = ctx;

    return ntf_mqtt_publish(d->mqtt, topic, payload, len, retain, ret_mid);
}

static bool sink_up(void *ctx)
{
    struct ntf_daemon *d = ctx;

    return ntf_session_is_up(&d->session);
}

int ntf_daemon_run(const struct ota_config *cfg, struct ota_db *db, char *err, size_t errlen)
{
    struct ntf_daemon *d = NULL;
    char base[NAME_MAX + 1], sub[NTF_TOPIC_MAX];
    int ino = -1, sfd = -1, r;
    bool lost_lead = false;
    unsigned version_every;
    sigset_t mask;

    r = -ENOMEM;
    d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    d->cfg = cfg;
    d->db = db;
    ntf_session_init(&d->session, 0);
    version_every = cfg->notifier.interval_ms < 250 ? cfg->notifier.interval_ms : 250;
    if (version_every < 10)
        version_every = 10;
    r = ntf_topic_status_sub(cfg->mqtt.topic_prefix, sub, sizeof(sub));
    if (r < 0) {
        snprintf(err, errlen, "mqtt.topic_prefix: too long");
        goto out;
    }
    ntf_status_init(&d->status, db, cfg->mqtt.topic_prefix, cfg->server.poll_after, &d->stats);
    r = ota_cdn_open(cfg, &d->cdn, err, errlen);
    if (r < 0)
        goto out;
    {
        struct ntf_outbox_sink sink = { sink_publish, sink_up, d };
        unsigned limit = cfg->notifier.max_inflight ? cfg->notifier.max_inflight : 1;

        r = ntf_outbox_init(&d->outbox, db, cfg->mqtt.topic_prefix, d->cdn, limit, sink,
                            &d->stats);
    }
    if (r < 0) {
        snprintf(err, errlen, "notifier.max_inflight: %s", strerror(-r));
        goto out;
    }
    r = ntf_mqtt_new(cfg, &mqtt_ops, d, err, errlen, &d->mqtt);
    if (r < 0)
        goto out;
    /* PostgreSQL announces commits on the connection itself (NOTIFY ota_changed, polled
     * below through ota_db_wait_fd); a SQLite file's folder is watched instead. */
    ino = ota_db_is_url(cfg->paths.db) ? -ENOTSUP : watch_db(cfg->paths.db, base, sizeof(base));
    d->outbox.db_watched = ino >= 0;
    if (ino < 0 && ino != -ENOTSUP) {
        /* Not fatal: the data_version check still finds new rows. */
        ota_warn("inotify on the database folder: %s; checking every %u ms instead", strerror(-ino),
                 version_every);
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
        (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        r = -errno;
        snprintf(err, errlen, "signals: %s", strerror(errno));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    r = ntf_outbox_load_blocks(&d->outbox);
    if (r < 0) {
        snprintf(err, errlen, "reading the outbox: %s", ota_db_errmsg(db));
        goto out;
    }
    ota_db_data_version(db, &d->data_version);
    d->outbox.drain_more = true;
    d->outbox.rescan = true;
    /* the first gauges and summary once the first messages are out, not before them */
    d->next_gauges_ms = d->next_summary_ms = ota_monotonic_ms() + GAUGES_EVERY_MS;
    ota_info("started: broker %s:%u%s, topic prefix %s, max_inflight %u, stats_file %s",
             cfg->mqtt.host, cfg->mqtt.port, cfg->mqtt.cafile[0] ? " (TLS)" : "",
             cfg->mqtt.topic_prefix, d->outbox.win.limit,
             cfg->notifier.stats_file[0] ? cfg->notifier.stats_file : "(none)");
    ota_sd_notify(OTA_SD_READY, "publishing: connecting to broker %s:%u", cfg->mqtt.host,
                  cfg->mqtt.port);

    for (;;) {
        int64_t now = ota_monotonic_ms(), wake;
        struct pollfd pfd[4];
        int nfd = 0, mfd, ifd = -1, mi = -1, si, dbfd, di = -1;

        /* The lead (see main.c) goes with the database session: after a reconnect it is
         * taken again, unless a standby took it meanwhile; then this one stops
         * publishing, records the PUBACKs it has and leaves. */
        if (!d->stopping && ota_db_lead(db) == 0) {
            ota_err("another ota-notifier leads on this database now (this one lost its "
                    "database session): stopping");
            lost_lead = true;
            break;
        }

        if (ntf_session_connack_overdue(&d->session, now)) {
            char why[NTF_SESSION_REASON_MAX];

            snprintf(why, sizeof(why), "no CONNACK within %d s of CONNECT",
                     NTF_SESSION_CONNACK_MS / 1000);
            session_failed(d, now, why);
            ntf_mqtt_disconnect(d->mqtt); /* its callback finds the failure counted */
            ntf_mqtt_io(d->mqtt, 0);
        }
        if (ntf_session_stable(&d->session, now))
            ota_info("broker %s:%u: the session held %d s; it is no longer dropped at once",
                     d->cfg->mqtt.host, d->cfg->mqtt.port, NTF_SESSION_STABLE_MS / 1000);
        if (!d->stopping && ntf_mqtt_fd(d->mqtt) < 0 && ntf_session_due(&d->session, now))
            try_connect(d, now);
        if (ntf_session_is_up(&d->session) && d->need_subscribe) {
            if (ntf_mqtt_subscribe(d->mqtt, sub) == 0)
                d->need_subscribe = false;
        }
        if (d->outbox.win.acked > 0 && !d->stopping &&
            (d->outbox.win.acked >= d->outbox.win.limit || !d->outbox.backlog || now >= d->outbox.flush_at_ms)) {
            if (ntf_outbox_flush_acks(&d->outbox) < 0)
                d->outbox.flush_at_ms = now + 100; /* busy: try again */
        }
        if (d->status.queue.n > 0) {
            unsigned queued = d->status.queue.n;
            ntf_status_retry(&d->status);
            if (d->status.queue.n != queued)
                d->outbox.drain_more = true; /* as in on_message() */
        }
        if (now >= d->next_version_ms) {
            if (!check_version(d) && d->recheck_ms > 0 && d->recheck_ms < RECHECK_MAX_MS) {
                d->recheck_ms *= 2;
                d->next_version_ms = now + d->recheck_ms;
            } else {
                d->recheck_ms = 0;
                d->next_version_ms = now + version_every;
            }
        }
        if (now >= d->next_scan_ms) {
            d->outbox.drain_more = true;
            d->outbox.rescan = true; /* deferred rows whose time came */
            d->next_scan_ms = now + SCAN_EVERY_MS;
            if (!d->stopping)
                release_stale_held(d);
        }
        if (!d->stopping && ntf_rollout_tick(&d->rollout, db, cfg->server.poll_after, now))
            d->outbox.drain_more = true;
        if (d->outbox.drain_more && ntf_session_is_up(&d->session) && !d->stopping &&
            ntf_window_free_slots(&d->outbox.win)) {
            d->outbox.drain_more = false;
            if (ntf_outbox_drain(&d->outbox) < 0)
                d->outbox.drain_more = false; /* busy: the next scan tick retries */
        }
        /* after the drain: the copies are new rows, published after the due ones anyway,
         * and the first messages go out before this walk of the outbox */
        if (ntf_session_is_up(&d->session) && d->need_refresh && !d->stopping) {
            r = ntf_outbox_requeue(&d->outbox, d->refresh_skip_empty);
            if (r == 0)
                d->need_refresh = false;
            else if (r != -EBUSY)
                ota_err("queueing retained messages again: %s", ota_db_errmsg(db));
        }
        write_stats(d, now, false);
        if (d->stopping) {
            /* Only PUBACKs are waited for; they are recorded once, after the loop, so
             * that a locked database delays the exit by one busy timeout at most. */
            if (d->outbox.win.used == d->outbox.win.acked || !ntf_session_is_up(&d->session) ||
                now >= d->stop_deadline_ms) {
                if (d->outbox.win.used > d->outbox.win.acked)
                    ota_warn("stopping with %u message(s) unacknowledged; they stay pending",
                             d->outbox.win.used - d->outbox.win.acked);
                break;
            }
        }

        wake = min64(d->next_version_ms, d->next_scan_ms);
        wake = min64(wake, d->rollout.next_ms);
        wake = min64(wake, d->next_stats_ms > now ? d->next_stats_ms : now + STATS_EVERY_MS);
        if (ntf_mqtt_fd(d->mqtt) < 0 && !d->stopping)
            wake = min64(wake, d->session.next_ms);
        if (d->session.state == NTF_SESSION_CONNECTING)
            wake = min64(wake, d->session.deadline_ms);
        if (d->stopping)
            wake = min64(wake, d->stop_deadline_ms);
        if (d->status.queue.n > 0 || (d->need_refresh && ntf_session_is_up(&d->session)))
            wake = min64(wake, now + 200);
        if (d->outbox.drain_more && ntf_session_is_up(&d->session) && ntf_window_free_slots(&d->outbox.win))
            wake = now;
        if (d->outbox.win.acked > 0)
            wake = min64(wake, d->outbox.flush_at_ms > now ? d->outbox.flush_at_ms : now);
        if (ntf_session_is_up(&d->session))
            wake = min64(wake, now + 1000); /* keepalive bookkeeping */

        si = nfd;
        pfd[nfd++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        if (ino >= 0) {
            ifd = nfd;
            pfd[nfd++] = (struct pollfd){ .fd = ino, .events = POLLIN };
        }
        dbfd = ota_db_wait_fd(d->db); /* asked each time: a reconnect changes it */
        if (dbfd >= 0) {
            di = nfd;
            pfd[nfd++] = (struct pollfd){ .fd = dbfd, .events = POLLIN };
        }
        mfd = ntf_mqtt_fd(d->mqtt);
        if (mfd >= 0) {
            mi = nfd;
            pfd[nfd++] = (struct pollfd){
                .fd = mfd,
                .events = POLLIN | (ntf_mqtt_want_write(d->mqtt) ? POLLOUT : 0),
            };
        }
        r = poll(pfd, (nfds_t)nfd, (int)(wake > now ? min64(wake - now, 60000) : 0));
        if (r < 0 && errno != EINTR) {
            r = -errno;
            snprintf(err, errlen, "poll: %s", strerror(errno));
            goto out;
        }
        if (r > 0 && (pfd[si].revents & POLLIN)) {
            struct signalfd_siginfo si_info;
            while (read(sfd, &si_info, sizeof(si_info)) == (ssize_t)sizeof(si_info)) {
                if (si_info.ssi_signo == SIGHUP)
                    continue;
                if (!d->stopping) {
                    ota_info("signal %u: stopping (waiting up to %d ms for %u PUBACK(s))",
                             si_info.ssi_signo, STOP_GRACE_MS, d->outbox.win.used - d->outbox.win.acked);
                    d->stopping = true;
                    ota_sd_notify(OTA_SD_STOPPING, "stopping: waiting for %u PUBACK(s)",
                                  d->outbox.win.used - d->outbox.win.acked);
                    d->stop_deadline_ms = ota_monotonic_ms() + STOP_GRACE_MS;
                }
            }
        }
        if (r > 0 && ifd >= 0 && (pfd[ifd].revents & POLLIN)) {
            if (drain_inotify(ino, base) && !check_version(d))
                recheck_soon(d, ota_monotonic_ms());
        }
        if (r > 0 && di >= 0 && (pfd[di].revents & (POLLIN | POLLHUP | POLLERR)))
            (void)check_version(d); /* reads the notifications off the connection */
        if (mi >= 0)
            ntf_mqtt_io(d->mqtt, r > 0 ? pfd[mi].revents : 0);
    }
    /* Record what was acknowledged (one attempt: rows not recorded stay pending and go
     * out again next time, harmless for retained messages), then leave the broker. */
    if (d->outbox.win.acked > 0 && ntf_outbox_flush_acks(&d->outbox) < 0)
        ota_warn("%u acknowledged row(s) not recorded; they will be sent again", d->outbox.win.acked);
    if (ntf_mqtt_fd(d->mqtt) >= 0) {
        ntf_mqtt_disconnect(d->mqtt);
        ntf_mqtt_io(d->mqtt, 0);
    }
    write_stats(d, ota_monotonic_ms(), true);
    r = 0;
    if (lost_lead) {
        snprintf(err, errlen, "lost the lead to another ota-notifier");
        r = -EAGAIN;
    }
out:
    if (sfd >= 0)
        close(sfd);
    if (ino >= 0)
        close(ino);
    if (d) {
        ntf_mqtt_free(d->mqtt);
        ntf_outbox_free(&d->outbox);
        ntf_status_free(&d->status);
        ota_cdn_free(d->cdn);
        free(d);
    }
    return r;
}
