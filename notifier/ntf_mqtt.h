/* The broker connection: libmosquitto (MQTT 5 or 3.1.1 as [mqtt] protocol says, QoS 1,
 * optional TLS with a client certificate) driven from the caller's poll() loop, so every callback runs on the
 * caller's thread, the one that owns the database connection. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "ota_config.h"

struct ntf_mqtt;

/* Called from inside ntf_mqtt_io()/ntf_mqtt_connect(), on the caller's thread. */
struct ntf_mqtt_ops {
    /* CONNACK: @rc is the MQTT 5 reason code or the 3.1.1 return code (0 = accepted). */
    void (*connected)(void *ctx, int rc, bool session_present);
    void (*disconnected)(void *ctx, int rc);
    /* PUBACK of @mid; @reason >= 0x80 means the broker refused the message (MQTT 5 only:
     * a 3.1.1 PUBACK has no reason, @reason is 0). */
    void (*puback)(void *ctx, int mid, int reason);
    /* A message on a subscribed topic; @payload is borrowed for the call. */
    void (*message)(void *ctx, const char *topic, const void *payload, size_t len);
};

/* Checks the [mqtt] settings (TLS files readable and usable: the CA parses, the key
 * matches the certificate) and sets up the client; connects nothing yet. @ops and @ctx
 * are borrowed for the client's life. On error @err names the key and why.
 * Returns 0, -EINVAL or -ENOMEM; *ret new on success (ntf_mqtt_free()). */
int ntf_mqtt_new(const struct ota_config *cfg, const struct ntf_mqtt_ops *ops, void *ctx, char *err,
                 size_t errlen, struct ntf_mqtt **ret);
/* Disconnects and frees; NULL is a no-op. */
void ntf_mqtt_free(struct ntf_mqtt *m);

/* Opens the TCP (and TLS) connection and sends CONNECT (clean start off, so the broker
 * keeps the session: subscriptions and queued status messages survive reconnects); the
 * CONNACK arrives through ntf_mqtt_io(). Blocks for the TCP/TLS handshake. Messages
 * libmosquitto holds unacknowledged are sent again after the CONNACK.
 * Returns 0 or -ECONNREFUSED/-EIO/-EPROTO with a reason in @err. */
int ntf_mqtt_connect(struct ntf_mqtt *m, char *err, size_t errlen);
/* Sends DISCONNECT (best effort). */
void ntf_mqtt_disconnect(struct ntf_mqtt *m);

/* The socket to poll, or -1 when there is no connection. */
int ntf_mqtt_fd(struct ntf_mqtt *m);
bool ntf_mqtt_want_write(struct ntf_mqtt *m);
/* Reads, writes and runs keepalive as @revents (poll) say. Returns 0, or -ENOTCONN when
 * the connection is gone (the disconnected callback has run). */
int ntf_mqtt_io(struct ntf_mqtt *m, short revents);

/* Publishes with QoS 1. *ret_mid is set when libmosquitto holds the message (it is then
 * sent, or sent again after a reconnect, until PUBACK): returns 0 in that case even if
 * the connection just dropped. Otherwise -EMSGSIZE, -EINVAL (bad topic), -ENOMEM or
 * -ENOTCONN (nothing queued). */
int ntf_mqtt_publish(struct ntf_mqtt *m, const char *topic, const void *payload, size_t len,
                     bool retain, int *ret_mid);
/* Subscribes with QoS 1. Returns 0, -ENOTCONN or -EINVAL. */
int ntf_mqtt_subscribe(struct ntf_mqtt *m, const char *topic);

/* Text for a libmosquitto error code. */
const char *ntf_mqtt_strerror(int rc);
/* Text for a CONNACK code of this client's protocol. */
const char *ntf_mqtt_connack_string(const struct ntf_mqtt *m, int rc);
/* Speaks MQTT 5 (else 3.1.1). */
bool ntf_mqtt_is_v5(const struct ntf_mqtt *m);
