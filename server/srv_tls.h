/* TLS credentials for the mTLS listener: loading, SIGHUP reload, session tickets and
 * client-certificate verification (MHD only requests the certificate). */
#pragma once
#include <stddef.h>
#include <gnutls/gnutls.h>
#include "ota_config.h"
#include "ota_util.h"

struct srv_tls;

/* Loads [tls] cert, key and client_ca from @cfg (paths copied). On success *ret is new;
 * free with srv_tls_free(). Returns 0, -ENOENT (a file is missing), -EINVAL (unusable
 * contents) or -ENOMEM, with the key and reason in @err. */
int srv_tls_new(const struct ota_config *cfg, struct srv_tls **ret, char *err, size_t errlen);

/* Reads the files again; new connections get the new credentials, existing ones keep
 * theirs. On error the old ones stay. Returns 0 or as srv_tls_new(). Thread-safe. */
int srv_tls_reload(struct srv_tls *t, char *err, size_t errlen);

/* PEM text loaded at start, for MHD's MHD_OPTION_HTTPS_MEM_* options (borrowed). */
const char *srv_tls_cert_pem(const struct srv_tls *t);
const char *srv_tls_key_pem(const struct srv_tls *t);
const char *srv_tls_ca_pem(const struct srv_tls *t);

/* Before the handshake of a new connection: installs the current credentials and
 * enables session tickets on @s. */
void srv_tls_session_start(struct srv_tls *t, gnutls_session_t s);

/* After the handshake: verifies the peer's chain against the client CA, its validity
 * dates and its clientAuth key purpose, and writes the subject CN into @ret_id.
 * Returns 0, -ENOKEY (no certificate) or -EKEYREJECTED (any check failed). */
int srv_tls_peer_id(gnutls_session_t s, char ret_id[OTA_ID_MAX + 1]);

/* The client id of a DER certificate (@len bytes, peer input): its subject must hold
 * exactly one CN, and that CN must be a valid id (ota_id_valid()). Checks nothing else:
 * chain, dates and key purpose are srv_tls_peer_id()'s. On success @ret_id holds the id.
 * Returns 0, -EINVAL (not a DER certificate), -EKEYREJECTED (no CN, several, or not an
 * id) or -ENOMEM. */
int srv_tls_id_from_der(const unsigned char *der, size_t len, char ret_id[OTA_ID_MAX + 1]);

/* NULL is a no-op. Only after every connection has ended. */
void srv_tls_free(struct srv_tls *t);
