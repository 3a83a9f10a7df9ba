/* Several TLS records per libmicrohttpd write event: see srv_tls_batch.h. */
#include "srv_tls_batch.h"

#include <stddef.h>
#include <string.h>

ssize_t srv_tls_batch_send(srv_record_send_fn *send, gnutls_session_t s, const void *data,
                           size_t size)
{
    const char *p = data;
    size_t sent = 0;

    for (;;) {
        ssize_t r = send(s, p + sent, size - sent);
        if (r <= 0)
            return sent > 0 ? (ssize_t)sent : r;
        sent += (size_t)r;
        if (sent >= size || sent >= SRV_TLS_BATCH_MAX)
            return (ssize_t)sent;
    }
}

bool srv_tls_batch_proven(const char *mhd_version)
{
    /* Debian 12's; add a version only after reading its send path and running
     * test_srv_tls_batch and the server_bulk test against it. */
    static const char *const proven[] = { "0.9.75" };

    for (size_t i = 0; mhd_version && i < sizeof(proven) / sizeof(proven[0]); i++)
        if (strcmp(mhd_version, proven[i]) == 0)
            return true;
    return false;
}
