/* The request guard of the mTLS listener: every byte a peer sends is checked by
 * srv_frame before libmicrohttpd parses it, refused requests are answered here, and the
 * header section of each request must arrive within [server] header_timeout.
 *
 * Where each check lives, and why (libmicrohttpd 0.9.75):
 * - Framing (Content-Length/Transfer-Encoding, Host, field syntax, NUL/CR/LF in values,
 *   obs-fold, the request-target's escapes, chunk extensions, body limits): srv_frame, on
 *   the decrypted bytes, called from srv_guard_recv(), which srv_interpose.c puts in front
 *   of libmicrohttpd's gnutls_record_recv(). libmicrohttpd's own parse cannot tell those
 *   cases apart any more (srv_frame.h), and it cannot queue an answer while a body is
 *   being read, so a 413 for a chunked body can only be sent from here.
 * - The refusal: written here on the TLS session, with "Connection: close", and the
 *   connection failed so libmicrohttpd closes it. That is safe because libmicrohttpd only
 *   reads while no response of its own is being sent: the refusal never interleaves with
 *   one. When the refused request follows complete requests in the same read, those are
 *   handed over first, the read side is shut so the next read comes at once after their
 *   answers, and that read sends the refusal.
 * - header_timeout: libmicrohttpd's timeout counts idle time, so a peer trickling a byte
 *   at a time holds a connection for ever. Here a deadline runs from the connection's
 *   start (TLS handshake included) and from each later request's first byte, until the
 *   blank line ending its fields; one watchdog thread shuts the socket of a connection
 *   that misses it (shutdown(2), which libmicrohttpd then sees as the peer leaving). The
 *   connection notification registers and removes connections, under the lock the
 *   watchdog holds, before libmicrohttpd closes the descriptor, so a descriptor is never
 *   shut after it was reused.
 * - Still libmicrohttpd's (MHD_OPTION_STRICT_FOR_CLIENT 1): spaces in the URI and Host on
 *   HTTP/1.1, checked again by it after srv_frame. The plain-HTTP admin listener has no
 *   guard: it is loopback-only by default and takes no bodies. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <gnutls/gnutls.h>
#include "srv_frame.h"
#include "srv_record.h"

struct srv_guard;
struct srv_guard_conn;

/* Called when a request is refused, on the connection's thread, once per refusal: why
 * (srv_frame_error_status() gives the status), the bytes written for it (0 when the
 * peer could not take them), and @c for the method and target (srv_guard_conn_frame()).
 * A connection ended by the header_timeout is reported by srv_guard_conn_end(). */
typedef void srv_guard_refused_fn(void *cls, struct srv_guard_conn *c, enum srv_frame_error e,
                                  uint64_t bytes);

/* One connection's guard state, embedded in its context; zeroed by the owner. */
struct srv_guard_conn {
    struct srv_guard *g;
    struct srv_frame frame;
    int fd;
    struct srv_guard_conn *prev, *next; /* watchdog list, under g->lock */
    int64_t deadline_ms;
    bool linked;    /* on the watchdog list (g->lock) */
    bool armed;     /* the connection's thread wants a deadline: linked unless it expired */
    bool timed_out; /* the watchdog shut it (g->lock) */
    bool refused;   /* a refusal was decided; nothing more is read */
    enum srv_frame_error pending; /* refusal to send at the next read */
    uint32_t requests;            /* srv_frame_requests() when last looked at */
};

/* @header_timeout_s >= 1. @limit gives each request's body limit (srv_frame_limit_fn).
 * @max_fds: descriptors above it cannot be guarded (the process's RLIMIT_NOFILE). Starts
 * the watchdog thread. On success *ret is new. 0, -ENOMEM or -errno. */
int srv_guard_new(unsigned header_timeout_s, srv_frame_limit_fn *limit, void *limit_cls,
                  srv_guard_refused_fn *refused, void *refused_cls, size_t max_fds,
                  struct srv_guard **ret);
/* Stops the watchdog; only after every connection ended. NULL is a no-op. */
void srv_guard_free(struct srv_guard *g);

/* A TLS connection of socket @fd and session @s began (before its handshake): @c is
 * registered under @fd, where srv_guard_recv() finds it, and its first deadline runs.
 * Returns 0, or -EPROTO when @s does not do its I/O on @fd (GnuTLS's transport is not
 * the descriptor: then @s cannot be guarded and the caller must end the connection) or
 * @fd is out of range. */
int srv_guard_conn_start(struct srv_guard *g, struct srv_guard_conn *c, int fd,
                         gnutls_session_t s);
/* The connection is closing (before its descriptor is closed); a no-op when it was not
 * started. Returns true when the watchdog ended it (header_timeout). */
bool srv_guard_conn_end(struct srv_guard_conn *c);

/* gnutls_record_recv() for libmicrohttpd: @recv and @send are GnuTLS's own. Returns what
 * GnuTLS returned, a prefix of it, or GNUTLS_E_PULL_ERROR once the connection's current
 * request was refused (the refusal written). A session that was never registered reads
 * unguarded: every connection is registered when it starts, or ended. */
ssize_t srv_guard_recv(struct srv_guard *g, gnutls_session_t s, void *buf, size_t len,
                       srv_record_recv_fn *recv, srv_record_send_fn *send);

/* The connection's framing state (method and target of the request being read). */
const struct srv_frame *srv_guard_conn_frame(const struct srv_guard_conn *c);

/* The whole refusal for @e (status line, headers with "Connection: close", JSON body)
 * into @buf; its length, or 0 when @len is too small. @date is an IMF-fixdate. */
size_t srv_guard_refusal(enum srv_frame_error e, const char *date, char *buf, size_t len);
