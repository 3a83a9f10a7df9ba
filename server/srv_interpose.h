/* The library functions ota-server takes over (srv_interpose.c, linked into the
 * ota-server executable only, never into srv_lib that tests and benchmarks link). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct srv_guard;

/* Resolves GnuTLS's own record functions and decides batching: @batching asks for it, and
 * it is used only on a libmicrohttpd version it was proven on (srv_tls_batch_proven();
 * *ret_batching says what was decided). From then on every gnutls_record_recv() of
 * libmicrohttpd goes through @guard. Call once, before the daemon starts. Returns 0, or
 * -ENOSYS with the reason in @err when GnuTLS's functions cannot be found. */
int srv_interpose_init(struct srv_guard *guard, bool batching, const char *mhd_version,
                       bool *ret_batching, char *err, size_t errlen);
