/* Several TLS records per libmicrohttpd write event, for large bodies.
 *
 * libmicrohttpd 0.9.75 calls gnutls_record_send() once per time the socket polls writable,
 * and GnuTLS sends at most one record (16 KiB) per call: a 512 MiB download cost 32,768
 * poll() rounds through the whole connection loop. This module defines
 * gnutls_record_send() in ota-server itself (symbol interposition: the executable's
 * definition is the one libmicrohttpd's call binds to) and keeps calling GnuTLS's until
 * the data handed over is sent, SRV_TLS_BATCH_MAX bytes went out, or the socket is full.
 *
 * Why this is safe: the caller is told only the bytes of the records GnuTLS accepted. When
 * a later record of the batch hits EAGAIN, GnuTLS keeps that record and requires the next
 * call to carry the same data; libmicrohttpd's next call starts exactly where the bytes
 * reported end (the rest of its buffer, which it does not move or refill before it is
 * sent), so it is that call. Any other error is returned to the caller when the batch made
 * no progress, and met again by its next call otherwise. */
#pragma once

#define SRV_TLS_BATCH_MAX (256 * 1024) /* bytes per call: one busy download cannot keep
                                        * its thread from the other connections for long */

/* Resolves GnuTLS's own gnutls_record_send. Call once before any connection; 0 or
 * -ENOSYS when it cannot be found (the server must not start then). */
int srv_tls_batch_init(void);
