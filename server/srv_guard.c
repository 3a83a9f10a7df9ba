/* The request guard: srv_frame on every byte read, refusals, header deadlines. See
 * srv_guard.h for where each check lives and why. */
#include "srv_guard.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ota_json.h"
#include "ota_util.h"

#define REFUSAL_MAX 1024
#define DRAIN_MAX   (64 * 1024) /* raw bytes read and dropped before a refused close */

struct srv_guard {
    unsigned timeout_ms;
    srv_frame_limit_fn *limit;
    void *limit_cls;
    srv_guard_refused_fn *refused;
    void *refused_cls;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    /* Connections with a deadline, oldest first: every deadline is "now + timeout" taken
     * under the lock, so appending keeps the list sorted. */
    struct srv_guard_conn *head, *tail;
    bool stop;
    bool thread_started;
    pthread_t thread;
    /* Registered connections by descriptor. Each slot is written when its connection
     * starts and cleared when it ends, both on the connection's thread, which is also
     * the only one that reads it (its reads), before and after: no lock needed. */
    struct srv_guard_conn **conns;
    size_t nconns;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unlink_conn(struct srv_guard *g, struct srv_guard_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        g->tail = c->prev;
    c->prev = c->next = NULL;
    c->linked = false;
}

/* Puts @c on the watchdog list with a fresh deadline (@want) or takes it off. */
static void track(struct srv_guard_conn *c, bool want)
{
    struct srv_guard *g = c->g;

    c->armed = want;
    pthread_mutex_lock(&g->lock);
    if (c->linked)
        unlink_conn(g, c);
    if (want && !c->timed_out) {
        c->deadline_ms = now_ms() + g->timeout_ms;
        c->prev = g->tail;
        if (g->tail)
            g->tail->next = c;
        else
            g->head = c;
        g->tail = c;
        c->linked = true;
        if (g->head == c)
            pthread_cond_signal(&g->cond);
    }
    pthread_mutex_unlock(&g->lock);
}

static void *watchdog(void *arg)
{
    struct srv_guard *g = arg;

    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        struct srv_guard_conn *c = g->head;
        struct timespec ts;
        int64_t now = now_ms();

        if (!c) {
            pthread_cond_wait(&g->cond, &g->lock);
            continue;
        }
        if (c->deadline_ms > now) {
            ts.tv_sec = c->deadline_ms / 1000;
            ts.tv_nsec = (long)(c->deadline_ms % 1000) * 1000000L;
            pthread_cond_timedwait(&g->cond, &g->lock, &ts);
            continue;
        }
        /* Its descriptor is still open: srv_guard_conn_end() takes it off this list
         * under this lock before libmicrohttpd closes it. */
        unlink_conn(g, c);
        c->timed_out = true;
        (void)shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int srv_guard_new(unsigned header_timeout_s, srv_frame_limit_fn *limit, void *limit_cls,
                  srv_guard_refused_fn *refused, void *refused_cls, size_t max_fds,
                  struct srv_guard **ret)
{
    struct srv_guard *g = calloc(1, sizeof(*g));
    pthread_condattr_t ca;
    bool lock_ok = false, cond_ok = false;
    int r = -ENOMEM;

    if (!g)
        goto out;
    g->timeout_ms = header_timeout_s * 1000u;
    g->limit = limit;
    g->limit_cls = limit_cls;
    g->refused = refused;
    g->refused_cls = refused_cls;
    g->nconns = max_fds;
    g->conns = calloc(max_fds ? max_fds : 1, sizeof(g->conns[0]));
    if (!g->conns)
        goto out;
    if ((r = -pthread_mutex_init(&g->lock, NULL)) < 0)
        goto out;
    lock_ok = true;
    if ((r = -pthread_condattr_init(&ca)) < 0)
        goto out;
    r = -pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (r == 0)
        r = -pthread_cond_init(&g->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (r < 0)
        goto out;
    cond_ok = true;
    if ((r = -pthread_create(&g->thread, NULL, watchdog, g)) < 0)
        goto out;
    g->thread_started = true;
    *ret = g;
    g = NULL;
    r = 0;
out:
    if (g) {
        if (cond_ok)
            pthread_cond_destroy(&g->cond);
        if (lock_ok)
            pthread_mutex_destroy(&g->lock);
        free(g->conns);
        free(g);
    }
    return r;
}

void srv_guard_free(struct srv_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->stop = true;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->lock);
    if (g->thread_started)
        pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    free(g->conns);
    free(g);
}

int srv_guard_conn_start(struct srv_guard *g, struct srv_guard_conn *c, int fd,
                         gnutls_session_t s)
{
    if (fd < 0 || (size_t)fd >= g->nconns || gnutls_transport_get_int(s) != fd)
        return -EPROTO;
    c->g = g;
    c->fd = fd;
    srv_frame_init(&c->frame, g->limit, g->limit_cls);
    g->conns[fd] = c;
    track(c, true);
    return 0;
}

bool srv_guard_conn_end(struct srv_guard_conn *c)
{
    struct srv_guard *g = c->g;
    bool timed_out;

    if (!g)
        return false;
    if (g->conns[c->fd] == c)
        g->conns[c->fd] = NULL;
    pthread_mutex_lock(&g->lock);
    if (c->linked)
        unlink_conn(g, c);
    timed_out = c->timed_out;
    pthread_mutex_unlock(&g->lock);
    return timed_out;
}

const struct srv_frame *srv_guard_conn_frame(const struct srv_guard_conn *c)
{
    return &c->frame;
}

static const char *status_text(unsigned status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

size_t srv_guard_refusal(enum srv_frame_error e, const char *date, char *buf, size_t len)
{
    unsigned status = srv_frame_error_status(e);
    char *body = NULL;
    int n;

    if (ota_json_error(srv_frame_error_code(e), srv_frame_error_message(e), &body) < 0)
        return 0;
    n = snprintf(buf, len,
                 "HTTP/1.1 %u %s\r\nDate: %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 status, status_text(status), date, strlen(body), body);
    free(body);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* Writes the refusal for @e (bounded: a peer that does not read gets none), drops what
 * already arrived of the rest so closing sends a FIN, not a reset that could overtake
 * the answer, and reports it. Returns what libmicrohttpd's read gets: a failure. */
static ssize_t refuse(struct srv_guard_conn *c, gnutls_session_t s, srv_record_send_fn *send,
                      enum srv_frame_error e)
{
    char buf[REFUSAL_MAX], date[40], drain[4096];
    size_t len, drained = 0;
    uint64_t sent = 0;

    ota_http_date(ota_now(), date, sizeof(date));
    len = srv_guard_refusal(e, date, buf, sizeof(buf));
    for (int i = 0; len > 0 && i < 3; i++) {
        /* a record of this size goes out whole or not at all (GNUTLS_E_AGAIN) */
        ssize_t w = send(s, buf, len);
        struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
        if (w == (ssize_t)len) {
            sent = len;
            break;
        }
        if (w != GNUTLS_E_AGAIN && w != GNUTLS_E_INTERRUPTED)
            break;
        (void)poll(&pfd, 1, 100);
    }
    while (drained < DRAIN_MAX) {
        ssize_t n = recv(c->fd, drain, sizeof(drain), MSG_DONTWAIT);
        if (n <= 0)
            break;
        drained += (size_t)n;
    }
    if (c->g->refused)
        c->g->refused(c->g->refused_cls, c, e, sent);
    return GNUTLS_E_PULL_ERROR;
}

ssize_t srv_guard_recv(struct srv_guard *g, gnutls_session_t s, void *buf, size_t len,
                       srv_record_recv_fn *recv, srv_record_send_fn *send)
{
    int fd = gnutls_transport_get_int(s);
    struct srv_guard_conn *c = fd >= 0 && (size_t)fd < g->nconns ? g->conns[fd] : NULL;
    enum srv_frame_error e;
    size_t start;
    ssize_t n;
    bool in_header;
    uint32_t requests;

    if (!c)
        return recv(s, buf, len);
    if (c->refused) {
        if (c->pending == SRV_FRAME_OK)
            return GNUTLS_E_PULL_ERROR;
        /* The requests before the refused one were answered: now its refusal. */
        e = c->pending;
        c->pending = SRV_FRAME_OK;
        return refuse(c, s, send, e);
    }
    n = recv(s, buf, len);
    if (n <= 0)
        return n;
    e = srv_frame_feed(&c->frame, buf, (size_t)n, &start);
    if (e != SRV_FRAME_OK) {
        c->refused = true;
        if (c->armed)
            track(c, false);
        if (start == 0)
            return refuse(c, s, send, e);
        /* Complete requests came first in this read: libmicrohttpd answers them, then its
         * next read ends at once (read side shut) and carries the refusal. */
        c->pending = e;
        (void)shutdown(c->fd, SHUT_RD);
        return (ssize_t)start;
    }
    /* A request that began in this read gets its own deadline, even when the one before
     * ended in the same read and the connection never looked idle. */
    in_header = srv_frame_in_header(&c->frame);
    requests = srv_frame_requests(&c->frame);
    if (in_header != c->armed || (in_header && requests != c->requests && requests > 1))
        track(c, in_header);
    c->requests = requests;
    return n;
}
