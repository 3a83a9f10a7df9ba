/* The only symbols ota-server defines in its libraries' place: gnutls_record_send() and
 * gnutls_record_recv() of GnuTLS and poll() of the C library, as libmicrohttpd calls them.
 * The executable's definition of a symbol that a shared library imports is the one the
 * library's call binds to; this file is linked into the ota-server executable only, so
 * the unit tests, benchmarks and other programs that link srv_lib keep the real ones.
 *
 * - gnutls_record_recv: every byte a peer sends passes srv_guard (strict framing, body
 *   limits, refusals) before libmicrohttpd parses it; see srv_guard.h.
 * - gnutls_record_send: several TLS records per write event (srv_tls_batch.h), on a
 *   libmicrohttpd version where that was proven safe, else GnuTLS's as is; what GnuTLS
 *   took for the socket is counted per connection (srv_route_sent()), so a cut answer
 *   is logged with the bytes it really cost.
 * - poll: the access log's per-thread buffer is written before a worker thread waits
 *   (srv_alog.c), then ppoll() does the waiting.
 * Each hook keeps no state of its own beyond the resolved functions, written once by
 * srv_interpose_init() before any thread of libmicrohttpd exists. */
#undef _FORTIFY_SOURCE /* poll() is defined here; the fortified header makes it inline */
#include "srv_interpose.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <gnutls/gnutls.h>

#include "srv_alog.h"
#include "srv_guard.h"
#include "srv_record.h"
#include "srv_route.h"
#include "srv_tls_batch.h"

static srv_record_send_fn *real_send;
static srv_record_recv_fn *real_recv;
static struct srv_guard *the_guard;
static bool batching;

/* dlsym()'s void * as a function pointer, without a cast the C standard leaves open. */
static void *next_symbol(const char *name, void *ours)
{
    void *p = dlsym(RTLD_NEXT, name);

    return p == ours ? NULL : p;
}

int srv_interpose_init(struct srv_guard *guard, bool want_batching, const char *mhd_version,
                       bool *ret_batching, char *err, size_t errlen)
{
    union {
        void *p;
        srv_record_send_fn *f;
    } send = { .p = next_symbol("gnutls_record_send", (void *)(uintptr_t)gnutls_record_send) };
    union {
        void *p;
        srv_record_recv_fn *f;
    } recv = { .p = next_symbol("gnutls_record_recv", (void *)(uintptr_t)gnutls_record_recv) };

    if (!send.p || !recv.p) {
        snprintf(err, errlen, "cannot find GnuTLS's gnutls_record_send/gnutls_record_recv");
        return -ENOSYS;
    }
    real_send = send.f;
    real_recv = recv.f;
    the_guard = guard;
    batching = want_batching && srv_tls_batch_proven(mhd_version);
    *ret_batching = batching;
    return 0;
}

ssize_t gnutls_record_send(gnutls_session_t session, const void *data, size_t size)
{
    ssize_t n;

    if (!real_send)
        return GNUTLS_E_INTERNAL_ERROR; /* before srv_interpose_init(): nothing sends */
    n = batching ? srv_tls_batch_send(real_send, session, data, size)
                 : real_send(session, data, size);
    if (n > 0)
        srv_route_sent(session, (size_t)n);
    return n;
}

ssize_t gnutls_record_recv(gnutls_session_t session, void *data, size_t size)
{
    if (!real_recv)
        return GNUTLS_E_INTERNAL_ERROR;
    if (!the_guard)
        return real_recv(session, data, size);
    return srv_guard_recv(the_guard, session, data, size, real_recv, real_send);
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    struct timespec ts, *tsp = NULL;

    srv_alog_before_poll();
    if (timeout >= 0) {
        ts.tv_sec = timeout / 1000;
        ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
        tsp = &ts;
    }
    return ppoll(fds, nfds, tsp, NULL);
}
