/* The vehicle's MQTT session (libmosquitto), driven by the caller's event loop (no
 * thread): subscribes to its retained update topic and publishes status reports, QoS 1,
 * reconnecting with backoff. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEH_MQTT_PAYLOAD_MAX (64 * 1024) /* longer update messages are ignored */

struct veh_mqtt;

struct veh_mqtt_cfg {
    const char *host;
    unsigned port;
    const char *cafile;   /* NULL: plain MQTT */
    const char *certfile; /* client certificate for the broker, may be NULL */
    const char *keyfile;
    const char *client_id;
    const char *update_topic;
    const char *status_topic;
    bool verbose;
};

/* Called for each message on the update topic (len 0: the retained message was cleared).
 * @payload is borrowed for the call only. */
typedef void veh_mqtt_update_fn(void *owner, const char *payload, size_t len);

/* Creates the client and starts connecting (without blocking on the broker). @cfg strings
 * are borrowed and must outlive the client. On success *ret is new: free with
 * veh_mqtt_free(). Returns 0, -EINVAL (TLS files) or -ENOMEM. */
int veh_mqtt_new(const struct veh_mqtt_cfg *cfg, veh_mqtt_update_fn *fn, void *owner,
                 struct veh_mqtt **ret);
void veh_mqtt_free(struct veh_mqtt *m);

/* The socket to poll (-1 when none) and whether to poll it for writing too. */
int veh_mqtt_fd(struct veh_mqtt *m, bool *ret_want_write);
/* Does the I/O the poll said is possible, keepalive, and reconnects when it is time. */
void veh_mqtt_io(struct veh_mqtt *m, bool readable, bool writable, int64_t now_ms);

/* Connected (CONNACK accepted). */
bool veh_mqtt_connected(const struct veh_mqtt *m);
/* Publishes @json on the status topic, QoS 1, not retained. Returns 0 or -ENOTCONN/-EIO. */
int veh_mqtt_publish_status(struct veh_mqtt *m, const char *json);
/* Published messages without PUBACK yet. */
unsigned veh_mqtt_unacked(const struct veh_mqtt *m);
