/* The access log: one line per request, formatted here and buffered per thread.
 *
 * A write() per request was ~6 % of ota-server's CPU on small polls. libmicrohttpd's
 * worker threads (MHD_USE_POLL) run: poll(), then every ready connection (request,
 * response, completion callback: srv_route_completed() hands its line here), then poll()
 * again. Lines are kept in a thread-local buffer and written in one write() when the
 * thread calls poll() again (srv_alog_before_poll(), called by srv_interpose.c's poll()),
 * i.e. once the round of ready connections is done, before the thread can sleep: under
 * load one write() carries tens of lines; a lone request's line is written as soon as its
 * connection is served. So a client that has its answer finds its line in the log as
 * promptly as it did with a write() per line.
 *
 * A thread buffers only after it has been seen calling poll(), so if libmicrohttpd ever
 * waits elsewhere (epoll or select mode), or the hook is not there (tests), lines go out
 * one write() each instead of waiting for a poll() that does not come. A thread's buffer
 * is also written when it is full, before a line for another descriptor, before an
 * unbuffered line, and by a thread-specific-data destructor when the thread ends
 * (libmicrohttpd's workers end in MHD_stop_daemon(), after their last completions).
 * Lines of cut requests (shutdown, errors) are written at once by the caller.
 */
#include "srv_alog.h"

#include "ota_buf.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One thread's state. Thread-local, never shared: it is what the poll() hook can see. */
struct alog_thread {
    bool polls;      /* this thread has called poll(): its lines may wait for the next */
    bool registered; /* the exit destructor is armed for this thread */
    int fd;
    size_t len;
    int64_t ts_sec; /* the second ts was formatted for; 0: none */
    char ts[32];
    char buf[SRV_ALOG_BUF];
};

static _Thread_local struct alog_thread alog;
static pthread_key_t alog_key;
static pthread_once_t alog_once = PTHREAD_ONCE_INIT;
static bool alog_key_ok;

static void write_all(int fd, const char *p, size_t n)
{
    /* Bounded: a descriptor that makes no progress ends the loop. */
    for (int i = 0; n > 0 && i < 64; i++) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void flush_state(struct alog_thread *a)
{
    if (a->len == 0)
        return;
    write_all(a->fd, a->buf, a->len);
    a->len = 0;
}

/* Thread exit: the thread's static TLS outlives its thread-specific-data destructors. */
static void alog_exit(void *p)
{
    flush_state(p);
}

static void make_key(void)
{
    alog_key_ok = pthread_key_create(&alog_key, alog_exit) == 0;
}

/* Arms the exit destructor once per thread; false if that is impossible (then nothing is
 * buffered: lines could be lost at thread exit). */
static bool arm_exit(void)
{
    if (alog.registered)
        return true;
    pthread_once(&alog_once, make_key);
    if (!alog_key_ok || pthread_setspecific(alog_key, &alog) != 0)
        return false;
    alog.registered = true;
    return true;
}

void srv_alog_line(int fd, const char *line, size_t len, bool now)
{
    if (alog.len > 0 && alog.fd != fd)
        flush_state(&alog);
    if (!now && alog.polls && len <= sizeof(alog.buf) && arm_exit()) {
        if (alog.len + len > sizeof(alog.buf))
            flush_state(&alog);
        memcpy(alog.buf + alog.len, line, len);
        alog.len += len;
        alog.fd = fd;
        return;
    }
    flush_state(&alog);
    write_all(fd, line, len);
}

const char *srv_alog_time(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t != alog.ts_sec || !alog.ts[0]) {
        if (!gmtime_r(&tt, &tm) || strftime(alog.ts, sizeof(alog.ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            snprintf(alog.ts, sizeof(alog.ts), "-");
        alog.ts_sec = t;
    }
    return alog.ts;
}

void srv_alog_before_poll(void)
{
    alog.polls = true;
    if (alog.len > 0) {
        int saved = errno;
        flush_state(&alog);
        errno = saved;
    }
}

/* The line is built in an ota_buf over a stack array: what passes its end is cut, one
 * byte kept free for the newline. */
#define LINE_MAX_BYTES 800

static void log_str(struct ota_buf *l, const char *s)
{
    for (; *s; s++)
        ota_buf_putc(l, *s);
}

/* @s as one field: at most @max bytes, no spaces or control bytes, "-" when empty. */
static void log_token(struct ota_buf *l, const char *s, size_t max)
{
    size_t i = 0;

    for (; s && s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        ota_buf_putc(l, (c <= 0x20 || c == 0x7f) ? '?' : (char)c);
    }
    if (i == 0)
        ota_buf_putc(l, '-');
}

/* @v in decimal, zero-padded to @width digits. */
static void log_u64(struct ota_buf *l, uint64_t v, unsigned width)
{
    char d[24];
    unsigned n = 0;

    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(d));
    while (n < width && n < sizeof(d))
        d[n++] = '0';
    while (n)
        ota_buf_putc(l, d[--n]);
}

void srv_alog_request(int fd, const struct srv_alog_entry *e)
{
    char buf[LINE_MAX_BYTES];
    struct ota_buf l;

    if (fd < 0)
        return;
    ota_buf_init_fixed(&l, buf, sizeof(buf) - 1);
    /* ts method path status bytes ms client (DESIGN.md "Operation") */
    log_str(&l, srv_alog_time(e->ts));
    ota_buf_putc(&l, ' ');
    log_token(&l, e->method, 32);
    ota_buf_putc(&l, ' ');
    log_token(&l, e->path, 511);
    ota_buf_putc(&l, ' ');
    log_u64(&l, e->status, 1);
    ota_buf_putc(&l, ' ');
    log_u64(&l, e->bytes, 1);
    ota_buf_putc(&l, ' ');
    log_u64(&l, e->us / 1000, 1);
    ota_buf_putc(&l, '.');
    log_u64(&l, e->us % 1000, 3);
    ota_buf_putc(&l, ' ');
    log_token(&l, e->client, 128);
    if (e->cut)
        log_str(&l, " cut");
    buf[l.len] = '\n'; /* the byte left out of the buffer */
    srv_alog_line(fd, buf, l.len + 1, e->cut);
}
