/* Several TLS records per libmicrohttpd write event: see srv_tls_batch.h. */
#include "srv_tls_batch.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <gnutls/gnutls.h>

typedef ssize_t record_send_fn(gnutls_session_t, const void *, size_t);

/* Written once by srv_tls_batch_init(), before the daemon's threads exist. */
static record_send_fn *gnutls_send;

int srv_tls_batch_init(void)
{
    union {
        void *p;
        record_send_fn *f;
    } sym = { .p = dlsym(RTLD_NEXT, "gnutls_record_send") };

    if (!sym.p || sym.f == gnutls_record_send)
        return -ENOSYS;
    gnutls_send = sym.f;
    return 0;
}

ssize_t gnutls_record_send(gnutls_session_t session, const void *data, size_t size)
{
    const char *p = data;
    size_t sent = 0;

    for (;;) {
        ssize_t r = gnutls_send(session, p + sent, size - sent);
        if (r <= 0)
            return sent > 0 ? (ssize_t)sent : r;
        sent += (size_t)r;
        if (sent >= size || sent >= SRV_TLS_BATCH_MAX)
            return (ssize_t)sent;
    }
}
