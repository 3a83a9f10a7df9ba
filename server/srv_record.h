/* GnuTLS's record I/O functions as the modules that wrap them take them (srv_guard,
 * srv_tls_batch): srv_interpose.c hands them the library's own, tests their own. */
#pragma once
#include <sys/types.h>
#include <gnutls/gnutls.h>

typedef ssize_t srv_record_recv_fn(gnutls_session_t, void *, size_t);
typedef ssize_t srv_record_send_fn(gnutls_session_t, const void *, size_t);
