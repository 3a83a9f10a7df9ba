/* libmosquitto wrapper: MQTT 5 by default so that a PUBACK can say "refused" (mosquitto 2
 * answers a publish its ACL denies with reason 0x87 to MQTT 5 clients, but with a plain
 * PUBACK to MQTT 3.1.1 ones, which would make the outbox claim a delivery that did not
 * happen). [mqtt] protocol = 3.1.1 is for brokers without MQTT 5; notifier/README.md says
 * what it costs. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <gnutls/gnutls.h>
#include "ntf_mqtt.h"

/* How long the broker keeps our session (subscriptions, queued status messages) while we
 * are away: a week covers any planned outage. */
#define NTF_SESSION_EXPIRY (7u * 24u * 3600u)

struct ntf_mqtt {
    struct mosquitto *mosq;
    const struct ntf_mqtt_ops *ops;
    void *ctx;
    char *host;
    int port;
    int keepalive;
    bool v5;
};

const char *ntf_mqtt_strerror(int rc)
{
    return mosquitto_strerror(rc);
}

const char *ntf_mqtt_connack_string(const struct ntf_mqtt *m, int rc)
{
    return m->v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc);
}

bool ntf_mqtt_is_v5(const struct ntf_mqtt *m)
{
    return m->v5;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct ntf_mqtt *m = obj;

    (void)mosq;
    (void)props;
    m->ops->connected(m->ctx, rc, (flags & 1) != 0);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    struct ntf_mqtt *m = obj;

    (void)mosq;
    (void)props;
    m->ops->disconnected(m->ctx, rc);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    struct ntf_mqtt *m = obj;

    (void)mosq;
    (void)props;
    m->ops->puback(m->ctx, mid, reason);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct ntf_mqtt *m = obj;

    (void)mosq;
    if (msg->payloadlen < 0)
        return;
    m->ops->message(m->ctx, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

/* GnuTLS parses what libmosquitto's OpenSSL will load at connect time, so that a missing,
 * unreadable or mismatched file is reported at start with its key name instead of as a
 * TLS error on every reconnect. */
static int check_tls_files(const struct ota_config *cfg, char *err, size_t errlen)
{
    gnutls_certificate_credentials_t cred = NULL;
    FILE *f;
    int r = -EINVAL, g;

    f = fopen(cfg->mqtt.cafile, "r");
    if (!f) {
        snprintf(err, errlen, "mqtt.cafile: cannot read %s: %s", cfg->mqtt.cafile, strerror(errno));
        goto out;
    }
    fclose(f);
    if (!cfg->mqtt.certfile[0] != !cfg->mqtt.keyfile[0]) {
        snprintf(err, errlen, "mqtt.%s: must be set together with mqtt.%s",
                 cfg->mqtt.certfile[0] ? "keyfile" : "certfile",
                 cfg->mqtt.certfile[0] ? "certfile" : "keyfile");
        goto out;
    }
    if (cfg->mqtt.certfile[0]) {
        const char *names[2] = { "certfile", "keyfile" };
        const char *paths[2] = { cfg->mqtt.certfile, cfg->mqtt.keyfile };
        for (int i = 0; i < 2; i++) {
            f = fopen(paths[i], "r");
            if (!f) {
                snprintf(err, errlen, "mqtt.%s: cannot read %s: %s", names[i], paths[i],
                         strerror(errno));
                goto out;
            }
            fclose(f);
        }
    }
    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        r = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    g = gnutls_certificate_set_x509_trust_file(cred, cfg->mqtt.cafile, GNUTLS_X509_FMT_PEM);
    if (g <= 0) {
        snprintf(err, errlen, "mqtt.cafile: no CA certificate in %s%s%s", cfg->mqtt.cafile,
                 g < 0 ? ": " : "", g < 0 ? gnutls_strerror(g) : "");
        goto out;
    }
    if (cfg->mqtt.certfile[0]) {
        g = gnutls_certificate_set_x509_key_file(cred, cfg->mqtt.certfile, cfg->mqtt.keyfile,
                                                 GNUTLS_X509_FMT_PEM);
        if (g < 0) {
            snprintf(err, errlen, "mqtt.certfile/mqtt.keyfile: %s and %s: %s", cfg->mqtt.certfile,
                     cfg->mqtt.keyfile, gnutls_strerror(g));
            goto out;
        }
    }
    r = 0;
out:
    if (cred)
        gnutls_certificate_free_credentials(cred);
    return r;
}

int ntf_mqtt_new(const struct ota_config *cfg, const struct ntf_mqtt_ops *ops, void *ctx, char *err,
                 size_t errlen, struct ntf_mqtt **ret)
{
    struct ntf_mqtt *m = NULL;
    int r = -EINVAL, rc;

    if (!cfg->mqtt.host || !cfg->mqtt.host[0]) {
        snprintf(err, errlen, "mqtt.host is required");
        goto out;
    }
    if (cfg->mqtt.port == 0 || cfg->mqtt.port > 65535) {
        snprintf(err, errlen, "mqtt.port: %u is not a TCP port", cfg->mqtt.port);
        goto out;
    }
    if (!cfg->mqtt.client_id || !cfg->mqtt.client_id[0]) {
        snprintf(err, errlen, "mqtt.client_id is required (a fixed id keeps the session)");
        goto out;
    }
    if (cfg->mqtt.cafile && cfg->mqtt.cafile[0]) {
        r = check_tls_files(cfg, err, errlen);
        if (r < 0)
            goto out;
    } else if ((cfg->mqtt.certfile && cfg->mqtt.certfile[0]) ||
               (cfg->mqtt.keyfile && cfg->mqtt.keyfile[0])) {
        r = -EINVAL;
        snprintf(err, errlen, "mqtt.cafile is required when mqtt.certfile/keyfile are set");
        goto out;
    }
    r = -ENOMEM;
    m = calloc(1, sizeof(*m));
    if (!m)
        goto out;
    m->ops = ops;
    m->ctx = ctx;
    m->port = (int)cfg->mqtt.port;
    m->keepalive = cfg->mqtt.keepalive >= 5 ? (int)cfg->mqtt.keepalive : 5;
    m->v5 = strcmp(cfg->mqtt.protocol, "3.1.1") != 0;
    m->host = strdup(cfg->mqtt.host);
    if (!m->host)
        goto out;
    /* clean_session false (3.1.1), or clean start off with a session expiry (5): the
     * broker keeps our subscription and queues status messages that arrive while we are
     * away. */
    m->mosq = mosquitto_new(cfg->mqtt.client_id, false, m);
    if (!m->mosq) {
        r = errno == EINVAL ? -EINVAL : -ENOMEM;
        snprintf(err, errlen, "mqtt.client_id: libmosquitto refused '%s'", cfg->mqtt.client_id);
        goto out;
    }
    r = -EINVAL;
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         m->v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    /* Each PUBLISH leaves at once: with Nagle it waits for the broker's ACK of the one
     * before, and a 10,000-vehicle campaign went out ~6 % slower (bench/run.sh campaign). */
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    /* Our own window is the limit; libmosquitto must never hold messages back. */
    mosquitto_max_inflight_messages_set(m->mosq, cfg->notifier.max_inflight);
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(m->mosq, on_publish);
    mosquitto_message_callback_set(m->mosq, on_message);
    if (cfg->mqtt.cafile && cfg->mqtt.cafile[0]) {
        rc = mosquitto_tls_set(m->mosq, cfg->mqtt.cafile, NULL,
                               cfg->mqtt.certfile[0] ? cfg->mqtt.certfile : NULL,
                               cfg->mqtt.keyfile[0] ? cfg->mqtt.keyfile : NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "mqtt.cafile/certfile/keyfile: %s", mosquitto_strerror(rc));
            goto out;
        }
        /* Verify the broker's certificate and host name; TLS 1.2 or newer. */
        rc = mosquitto_tls_opts_set(m->mosq, 1, NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "mqtt: TLS options: %s", mosquitto_strerror(rc));
            goto out;
        }
    }
    *ret = m;
    m = NULL;
    r = 0;
out:
    ntf_mqtt_free(m);
    return r;
}

void ntf_mqtt_free(struct ntf_mqtt *m)
{
    if (!m)
        return;
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    free(m->host);
    free(m);
}

int ntf_mqtt_connect(struct ntf_mqtt *m, char *err, size_t errlen)
{
    mosquitto_property *props = NULL;
    int rc, r = -EIO, e;

    /* Every (re)connect goes through connect_bind_v5: mosquitto_reconnect() would send
     * CONNECT without the session expiry, and an MQTT 5 session without it ends at the
     * next disconnect. The messages libmosquitto still holds survive this call. MQTT
     * 3.1.1 has no properties: clean_session off alone keeps that session. */
    if (m->v5) {
        rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                          NTF_SESSION_EXPIRY);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "%s", mosquitto_strerror(rc));
            goto out;
        }
    }
    errno = 0;
    rc = mosquitto_connect_bind_v5(m->mosq, m->host, m->port, m->keepalive, NULL, props);
    e = errno;
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        r = 0;
        break;
    case MOSQ_ERR_ERRNO:
        r = e == ECONNREFUSED ? -ECONNREFUSED : -EIO;
        snprintf(err, errlen, "%s", strerror(e));
        break;
    case MOSQ_ERR_TLS:
        r = -EPROTO;
        snprintf(err, errlen,
                 "TLS handshake failed (broker certificate, CA or client "
                 "certificate not accepted)");
        break;
    default:
        snprintf(err, errlen, "%s", mosquitto_strerror(rc));
        break;
    }
out:
    mosquitto_property_free_all(&props);
    return r;
}

void ntf_mqtt_disconnect(struct ntf_mqtt *m)
{
    mosquitto_disconnect(m->mosq);
}

int ntf_mqtt_fd(struct ntf_mqtt *m)
{
    return mosquitto_socket(m->mosq);
}

bool ntf_mqtt_want_write(struct ntf_mqtt *m)
{
    return mosquitto_want_write(m->mosq);
}

int ntf_mqtt_io(struct ntf_mqtt *m, short revents)
{
    int rc = MOSQ_ERR_SUCCESS;

    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        /* loop_read reads about one packet per call, and TLS may hold whole records in
         * its buffer that poll() cannot see: read until the socket says EAGAIN. */
        for (int i = 0; i < 1000; i++) {
            errno = 0;
            rc = mosquitto_loop_read(m->mosq, 1);
            if (rc != MOSQ_ERR_SUCCESS || errno == EAGAIN || errno == EWOULDBLOCK)
                break;
        }
        if (rc != MOSQ_ERR_SUCCESS)
            goto out;
    }
    if (mosquitto_socket(m->mosq) >= 0 && mosquitto_want_write(m->mosq)) {
        rc = mosquitto_loop_write(m->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS)
            goto out;
    }
    if (mosquitto_socket(m->mosq) >= 0)
        rc = mosquitto_loop_misc(m->mosq);
out:
    if (mosquitto_socket(m->mosq) < 0)
        return -ENOTCONN;
    return rc == MOSQ_ERR_SUCCESS ? 0 : -ENOTCONN;
}

int ntf_mqtt_publish(struct ntf_mqtt *m, const char *topic, const void *payload, size_t len,
                     bool retain, int *ret_mid)
{
    int mid = 0, rc;

    if (len > INT32_MAX)
        return -EMSGSIZE;
    rc = mosquitto_publish_v5(m->mosq, &mid, topic, (int)len, payload, 1, retain, NULL);
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        break;
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST:
    case MOSQ_ERR_ERRNO:
        /* A QoS 1 message is queued before it is written: libmosquitto sends it after
         * the reconnect, so it is in flight even though the write failed now. */
        if (mid > 0)
            break;
        return -ENOTCONN;
    case MOSQ_ERR_NOMEM:
        return -ENOMEM;
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
        return -EMSGSIZE;
    default:
        return -EINVAL;
    }
    *ret_mid = mid;
    return 0;
}

int ntf_mqtt_subscribe(struct ntf_mqtt *m, const char *topic)
{
    int rc = mosquitto_subscribe(m->mosq, NULL, topic, 1);

    if (rc == MOSQ_ERR_SUCCESS)
        return 0;
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST)
        return -ENOTCONN;
    return -EINVAL;
}
