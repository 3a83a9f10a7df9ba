/* One vehicle as a state machine on a shared curl multi handle: learn of an update (poll
 * or MQTT), download and resume it, verify, install, report. A single vehicle and each
 * member of a --fleet are the same code. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include "ota_sign.h"
#include "veh_dl.h"
#include "veh_fail.h"

enum veh_mode { VEH_MODE_POLL, VEH_MODE_MQTT };

/* Parsed command line; strings point into argv. */
struct veh_opts {
    const char *id;
    const char *cert;
    const char *key;
    const char *cacert;
    const char *server;
    const char *pubkey;
    const char *dir;
    const char *hw;
    enum veh_mode mode;
    const char *mqtt_host;
    unsigned mqtt_port;
    const char *mqtt_cafile;
    const char *mqtt_cert;
    const char *mqtt_key;
    const char *topic_prefix;
    bool once;
    unsigned timeout_s;       /* 0 = none */
    int64_t poll_interval_ms; /* -1 = as the server says (poll_after) */
    uint64_t max_size;        /* largest artifact accepted */
    struct veh_faults faults;
    struct veh_fail fail; /* vehicles that fail on purpose */
    unsigned fleet; /* 0 = a single vehicle */
    const char *fleet_certs;
    const char *fleet_ids; /* a pattern with %d, or @FILE */
    uint64_t fleet_first;
    unsigned parallel;
    bool json;
    int verbose;
};

/* What every vehicle shares; owned by veh_run(). */
struct veh_ctx {
    const struct veh_opts *opts;
    CURLM *multi;
    struct ota_sign_pub pub;
    unsigned downloads_active; /* bounded by opts->parallel */
};

/* Adds a prepared transfer to the multi handle / takes it off (no done callback). */
int veh_ctx_start(struct veh_ctx *ctx, struct veh_xfer *x);
void veh_ctx_stop(struct veh_ctx *ctx, struct veh_xfer *x);

enum veh_car_result { VEH_CAR_NONE, VEH_CAR_INSTALLED, VEH_CAR_FAILED, VEH_CAR_CANCELLED };

struct veh_car;

/* A vehicle @id with client certificate @cert/@key, state folder @dir (created), and an
 * MQTT session when @with_mqtt. Strings are copied; @ctx is borrowed. The first poll is
 * at @first_poll_ms (monotonic). On success *ret is new (veh_car_free()).
 * Returns 0, -ENOMEM, -EINVAL or -errno of the state folder. */
int veh_car_new(struct veh_ctx *ctx, const char *id, const char *cert, const char *key,
                const char *dir, bool with_mqtt, int64_t first_poll_ms, struct veh_car **ret);
/* Stops its transfers and frees it; NULL is a no-op. */
void veh_car_free(struct veh_car *c);

/* Runs what is due at @now_ms (polls, retries, reports, the end of a stall). Returns the
 * time it next needs a tick (monotonic ms). */
int64_t veh_car_tick(struct veh_car *c, int64_t now_ms);

/* With --once or in a fleet: finished (its result is final and reports are sent). */
bool veh_car_done(const struct veh_car *c);
enum veh_car_result veh_car_result(const struct veh_car *c);
const char *veh_car_id(const struct veh_car *c);
const char *veh_car_reason(const struct veh_car *c);
/* Bytes received over the network, and bytes of the current download present. */
uint64_t veh_car_bytes(const struct veh_car *c);
bool veh_car_downloading(const struct veh_car *c);
/* One line on where @c stands: waiting, MiB of its download, its result. */
void veh_car_describe(const struct veh_car *c, char *buf, size_t len);
/* Its MQTT session, or NULL. */
struct veh_mqtt *veh_car_mqtt(struct veh_car *c);
