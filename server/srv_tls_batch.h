/* Several TLS records per libmicrohttpd write event, for large bodies.
 *
 * libmicrohttpd 0.9.75 calls gnutls_record_send() once per time the socket polls writable,
 * and GnuTLS sends at most one record (16 KiB) per call: a 512 MiB download cost 32,768
 * poll() rounds through the whole connection loop. srv_tls_batch_send() keeps calling
 * GnuTLS's until the data handed over is sent, SRV_TLS_BATCH_MAX bytes went out, or the
 * socket is full; srv_interpose.c puts it in front of libmicrohttpd's calls.
 *
 * Why this is safe: the caller is told only the bytes of the records GnuTLS accepted. When
 * a later record of the batch hits EAGAIN, GnuTLS keeps that record and requires the next
 * call to carry the same data; libmicrohttpd's next call starts exactly where the bytes
 * reported end (the rest of its buffer, which it does not move or refill before it is
 * sent), so it is that call. Any other error is returned to the caller when the batch made
 * no progress, and met again by its next call otherwise. That is libmicrohttpd 0.9.75's
 * behaviour, read in its source (mhd_send.c) and tested here; on another version the
 * batching is switched off (srv_tls_batch_proven()). */
#pragma once
#include <stdbool.h>
#include "srv_record.h"

#define SRV_TLS_BATCH_MAX (256 * 1024) /* bytes per call: one busy download cannot keep
                                        * its thread from the other connections for long */

/* Sends from @data with @send (GnuTLS's gnutls_record_send) as described above. Returns
 * the bytes sent, or @send's error when none were. */
ssize_t srv_tls_batch_send(srv_record_send_fn *send, gnutls_session_t s, const void *data,
                           size_t size);

/* True for the libmicrohttpd versions (MHD_get_version()) batching was proven on. */
bool srv_tls_batch_proven(const char *mhd_version);
