/* One vehicle's status reporter: the queue of reports still to send (veh_report.h) and
 * sending them in order, over MQTT while the broker is connected, else POST /v1/status
 * with retries; a final report that MQTT does not acknowledge in time goes over REST too.
 * It owns its curl handle, so a report never waits for a download. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include "veh_car.h"
#include "ota_buf.h"
#include "veh_http.h"
#include "veh_report.h"

struct veh_mqtt;

struct veh_reporter {
    struct veh_ctx *ctx;          /* borrowed */
    const char *id;               /* borrowed: the vehicle's id, for log lines */
    const struct veh_tls *tls;    /* borrowed */
    struct veh_mqtt *mqtt;        /* borrowed, may be NULL: the vehicle's MQTT session */
    bool verbose;                 /* curl's own trace */
    char status_url[2048];
    struct veh_report_queue rq;
    CURL *easy;
    struct veh_xfer x;
    struct veh_resp resp;
    struct ota_buf body;
    struct curl_slist *hdrs;
    char *json;     /* the report being sent over REST */
    int64_t mqtt_wait_until; /* till then an MQTT session being set up is waited for */
    bool busy;      /* a POST is running */
    unsigned tries; /* of the report at the front */
    int64_t wake_ms; /* no REST attempt before this */
    bool final_over_rest;
};

/* Sets @r up for vehicle @id at @server. Returns 0, -ENOMEM or -EINVAL (the URL). */
int veh_reporter_init(struct veh_reporter *r, struct veh_ctx *ctx, const char *id,
                      const char *server, const struct veh_tls *tls, bool verbose);
/* Stops a POST in flight and frees what @r holds; safe on a zeroed struct. */
void veh_reporter_release(struct veh_reporter *r);

/* Queues @e (may run inside a libcurl callback: sending happens in veh_reporter_pump()). */
void veh_reporter_push(struct veh_reporter *r, const struct veh_report_entry *e);
/* Sends what is due at @now: over r->mqtt when connected, else REST. */
void veh_reporter_pump(struct veh_reporter *r, int64_t now);
/* Drops the reports not yet being sent (a cancelled deployment refuses them). */
void veh_reporter_drop_queued(struct veh_reporter *r);
/* Nothing queued and nothing in flight over REST. */
bool veh_reporter_idle(const struct veh_reporter *r);
/* When the next REST attempt is due, or INT64_MAX when nothing waits. */
int64_t veh_reporter_wake(const struct veh_reporter *r);
/* The final report @e once more over REST, once per finish (MQTT gave no PUBACK in
 * time; the server takes duplicates). */
void veh_reporter_final_over_rest(struct veh_reporter *r, const struct veh_report_entry *e,
                                  int64_t now);
/* A new journey: the final report may go over MQTT again. */
void veh_reporter_reset_final(struct veh_reporter *r);
