/* The access log's output: one line per request, buffered per server thread and written
 * before that thread next waits for the network, so a poll costs no write() of its own. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this much is buffered per thread: PIPE_BUF, so one write() to a pipe (stderr
 * under systemd) is never split, and lines of different threads never interleave. */
#define SRV_ALOG_BUF 4096

/* Appends one line (ending in '\n') for @fd. It is buffered when @now is false and this
 * thread's event loop waits in poll() (libmicrohttpd's worker threads in MHD_USE_POLL
 * mode, srv_alog.c): the buffer is written before the thread's next poll(), when it is
 * full, and when the thread ends. Otherwise, or for a line over SRV_ALOG_BUF, it is
 * written at once (after anything buffered). Write errors are ignored: a log line is
 * never worth failing a request. @line is copied. */
void srv_alog_line(int fd, const char *line, size_t len, bool now);

/* @t (seconds since the epoch) as RFC 3339 UTC ("2026-11-26T21:15:09Z"), formatted once
 * per second per thread. Borrowed: valid until this thread's next call. */
const char *srv_alog_time(int64_t t);

/* One request's line: "ts method path status bytes ms client[ cut]". A cut request's
 * line (errors, shutdown) is written at once, others buffered (srv_alog_line). Fields
 * are borrowed; spaces and controls in them are written as '?'. @fd < 0: nothing. */
struct srv_alog_entry {
    int64_t ts;         /* seconds since the epoch */
    const char *method; /* NULL or "" is written "-", like the other strings */
    const char *path;
    unsigned status;
    uint64_t bytes;
    uint64_t us;
    const char *client; /* the client id, else the peer's address */
    bool cut;           /* the request did not complete */
};
void srv_alog_request(int fd, const struct srv_alog_entry *e);

/* Called by srv_interpose.c's poll() as a worker thread is about to wait: writes what the
 * thread buffered, and lets it buffer from now on. Keeps errno. */
void srv_alog_before_poll(void);
