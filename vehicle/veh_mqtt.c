/* MQTT session of one vehicle, on the caller's event loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include "ota_backoff.h"
#include "ota_log.h"
#include "ota_util.h"
#include "veh_mqtt.h"

#define KEEPALIVE_S    30
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 10000

struct veh_mqtt {
    struct mosquitto *mosq;
    const struct veh_mqtt_cfg *cfg;
    veh_mqtt_update_fn *fn;
    void *owner;
    bool connected;
    bool started; /* a connect was issued and the socket is (being) set up */
    int64_t next_try_ms;
    struct ota_backoff backoff; /* with jitter: a fleet cut off at once comes back spread */
    unsigned unacked;
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct veh_mqtt *m = obj;

    if (rc != 0) {
        /* Refused (bad credentials, ACL): keep trying, slowly; REST carries the reports. */
        m->connected = false;
        return;
    }
    m->connected = true;
    ota_backoff_reset(&m->backoff);
    mosquitto_subscribe(mosq, NULL, m->cfg->update_topic, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct veh_mqtt *m = obj;

    (void)mosq;
    (void)rc;
    m->connected = false;
    m->started = false;
    m->next_try_ms = ota_monotonic_ms() + ota_backoff_next(&m->backoff);
    /* QoS 1 messages in flight are lost with this clean session: the caller falls back to
     * REST for reports it still waits on, and the server accepts duplicates. */
    m->unacked = 0;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct veh_mqtt *m = obj;

    (void)mosq;
    (void)mid;
    if (m->unacked > 0)
        m->unacked--;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct veh_mqtt *m = obj;

    (void)mosq;
    if (!msg->topic || strcmp(msg->topic, m->cfg->update_topic) != 0)
        return;
    if (msg->payloadlen < 0 || msg->payloadlen > VEH_MQTT_PAYLOAD_MAX)
        return;
    m->fn(m->owner, msg->payload, (size_t)msg->payloadlen);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    (void)mosq;
    (void)obj;
    (void)level;
    ota_debug("mqtt: %s", str);
}

int veh_mqtt_new(const struct veh_mqtt_cfg *cfg, veh_mqtt_update_fn *fn, void *owner,
                 struct veh_mqtt **ret)
{
    struct veh_mqtt *m = NULL;
    int r = -ENOMEM;

    m = calloc(1, sizeof(*m));
    if (!m)
        goto out;
    m->cfg = cfg;
    m->fn = fn;
    m->owner = owner;
    ota_backoff_init(&m->backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS, 0);
    m->mosq = mosquitto_new(cfg->client_id, true, m);
    if (!m->mosq)
        goto out;
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_message_callback_set(m->mosq, on_message);
    if (cfg->verbose)
        mosquitto_log_callback_set(m->mosq, on_log);
    if (cfg->cafile && mosquitto_tls_set(m->mosq, cfg->cafile, NULL, cfg->certfile, cfg->keyfile,
                                         NULL) != MOSQ_ERR_SUCCESS) {
        r = -EINVAL;
        goto out;
    }
    *ret = m;
    m = NULL;
    r = 0;
out:
    veh_mqtt_free(m);
    return r;
}

void veh_mqtt_free(struct veh_mqtt *m)
{
    if (!m)
        return;
    if (m->mosq) {
        if (m->connected) {
            mosquitto_disconnect(m->mosq);
            mosquitto_loop_write(m->mosq, 1);
        }
        mosquitto_destroy(m->mosq);
    }
    free(m);
}

int veh_mqtt_fd(struct veh_mqtt *m, bool *ret_want_write)
{
    int fd = mosquitto_socket(m->mosq);

    *ret_want_write = fd >= 0 && mosquitto_want_write(m->mosq);
    return fd;
}

static void try_connect(struct veh_mqtt *m, int64_t now_ms)
{
    int rc;

    if (now_ms < m->next_try_ms)
        return;
    rc = mosquitto_connect_async(m->mosq, m->cfg->host, (int)m->cfg->port, KEEPALIVE_S);
    if (rc == MOSQ_ERR_SUCCESS) {
        m->started = true;
        return;
    }
    m->next_try_ms = now_ms + ota_backoff_next(&m->backoff);
}

void veh_mqtt_io(struct veh_mqtt *m, bool readable, bool writable, int64_t now_ms)
{
    if (mosquitto_socket(m->mosq) < 0) {
        m->connected = false;
        try_connect(m, now_ms);
        return;
    }
    /* loop_read handles one packet per call; TLS may hold more already decrypted, so read
     * a bounded number of times (it returns at once when nothing is there). */
    for (int i = 0; readable && i < 16 && mosquitto_socket(m->mosq) >= 0; i++)
        if (mosquitto_loop_read(m->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
    if (mosquitto_socket(m->mosq) >= 0 && (writable || mosquitto_want_write(m->mosq)))
        mosquitto_loop_write(m->mosq, 1);
    if (mosquitto_socket(m->mosq) >= 0)
        mosquitto_loop_misc(m->mosq);
    if (mosquitto_socket(m->mosq) < 0) {
        if (m->connected || m->started)
            on_disconnect(m->mosq, m, 1);
    }
}

bool veh_mqtt_connected(const struct veh_mqtt *m)
{
    return m && m->connected;
}

int veh_mqtt_publish_status(struct veh_mqtt *m, const char *json)
{
    int rc;

    if (!m->connected)
        return -ENOTCONN;
    rc = mosquitto_publish(m->mosq, NULL, m->cfg->status_topic, (int)strlen(json), json, 1, false);
    if (rc != MOSQ_ERR_SUCCESS)
        return -EIO;
    m->unacked++;
    return 0;
}

unsigned veh_mqtt_unacked(const struct veh_mqtt *m)
{
    return m ? m->unacked : 0;
}
