/* Event loop for one vehicle or a fleet: curl multi + MQTT socket + timers. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mosquitto.h>
#include "ota_log.h"
#include "ota_util.h"
#include "veh_http.h"
#include "veh_ids.h"
#include "veh_mqtt.h"
#include "veh_run.h"

#define LOOP_MAX_WAIT_MS  200 /* bounds signal latency and MQTT housekeeping */
#define PROGRESS_EVERY_MS 250

/* Set by the signal handler only. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct run {
    struct veh_ctx ctx;
    struct veh_car **cars;
    size_t ncars;
    int64_t start_ms;
    bool tty;        /* stderr is a terminal: the live line (progress_line) */
    int64_t rate_ms; /* one vehicle's speed: bytes at rate_ms, MiB/s since the last */
    uint64_t rate_bytes;
    double rate;
};

/* Builds the vehicles of the command line. Returns 0 or an exit code (logged). */
static int make_cars(struct run *run, const struct veh_opts *o)
{
    char **ids = NULL;
    size_t nids = 0, line = 0;
    char idbuf[OTA_ID_MAX + 1], cert[PATH_MAX], key[PATH_MAX], dir[PATH_MAX];
    int64_t now = ota_monotonic_ms();
    int r, ret = VEH_EXIT_FAILED;

    if (!o->fleet) {
        const char *id = o->id;

        run->cars = calloc(1, sizeof(*run->cars));
        if (!run->cars)
            goto out;
        if (!id) {
            r = veh_http_cert_cn(o->cert, idbuf, sizeof(idbuf));
            if (r < 0) {
                ota_err("cannot read the CN of %s: %s", o->cert, strerror(-r));
                goto out;
            }
            id = idbuf;
        }
        r = veh_car_new(&run->ctx, id, o->cert, o->key, o->dir, o->mode == VEH_MODE_MQTT, now,
                        &run->cars[0]);
        if (r < 0) {
            ota_err("vehicle %s: %s", id, strerror(-r));
            goto out;
        }
        run->ncars = 1;
        ret = 0;
        goto out;
    }
    if (o->fleet_ids && o->fleet_ids[0] == '@') {
        r = veh_ids_load(o->fleet_ids + 1, o->fleet, &ids, &nids, &line);
        if (r < 0 || nids < o->fleet) {
            if (r == -EINVAL)
                ota_err("%s:%zu: not a vehicle id", o->fleet_ids + 1, line);
            else
                ota_err("%s: %s", o->fleet_ids + 1,
                        r < 0 ? strerror(-r) : "fewer ids than --fleet");
            goto out;
        }
    }
    run->cars = calloc(o->fleet, sizeof(*run->cars));
    if (!run->cars)
        goto out;
    if (mkdir(o->dir, 0700) < 0 && errno != EEXIST) {
        ota_err("%s: %s", o->dir, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < o->fleet; i++) {
        const char *id = ids ? ids[i] : idbuf;
        /* Spread the first polls over up to a second: N handshakes at once is a thundering
         * herd no real fleet produces. */
        int64_t first = now + (int64_t)(i * (o->fleet > 200 ? 1000 / o->fleet : 5));

        if (!ids && veh_ids_format(o->fleet_ids ? o->fleet_ids : "VEH%04d", o->fleet_first + i,
                                   idbuf, sizeof(idbuf)) < 0) {
            ota_err("--fleet-ids: pattern does not give a valid id for %" PRIu64,
                    o->fleet_first + i);
            goto out;
        }
        if (snprintf(cert, sizeof(cert), "%s/%s.crt", o->fleet_certs, id) >= (int)sizeof(cert) ||
            snprintf(key, sizeof(key), "%s/%s.key", o->fleet_certs, id) >= (int)sizeof(key) ||
            snprintf(dir, sizeof(dir), "%s/%s", o->dir, id) >= (int)sizeof(dir)) {
            ota_err("%s: path too long", id);
            goto out;
        }
        if (access(cert, R_OK) < 0 || access(key, R_OK) < 0) {
            ota_err("%s: no readable %s and %s", id, cert, key);
            goto out;
        }
        r = veh_car_new(&run->ctx, id, cert, key, dir, false, first, &run->cars[i]);
        if (r < 0) {
            ota_err("vehicle %s: %s", id, strerror(-r));
            goto out;
        }
        run->ncars++;
    }
    ret = 0;
out:
    veh_ids_free(ids, nids);
    return ret;
}

static void run_transfers(struct run *run)
{
    CURLMsg *m;
    int running, left;

    curl_multi_perform(run->ctx.multi, &running);
    while ((m = curl_multi_info_read(run->ctx.multi, &left))) {
        CURL *easy = m->easy_handle;
        CURLcode rc = m->data.result;
        struct veh_xfer *x = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(run->ctx.multi, easy);
        if (!x)
            continue;
        x->running = false;
        x->done(x, rc);
    }
}

/* The live line on a terminal (ota_log_status: log lines go above it, never into it):
 * the fleet's totals, or one vehicle's download with its speed. */
static void progress_line(struct run *run, bool last)
{
    size_t done = 0, failed = 0, active = 0;
    uint64_t bytes = 0;

    for (size_t i = 0; i < run->ncars; i++) {
        enum veh_car_result res = veh_car_result(run->cars[i]);

        done += res == VEH_CAR_INSTALLED;
        failed += res == VEH_CAR_FAILED || res == VEH_CAR_CANCELLED;
        active += veh_car_downloading(run->cars[i]);
        bytes += veh_car_bytes(run->cars[i]);
    }
    if (run->ncars == 1) {
        char what[200];
        int64_t now = ota_monotonic_ms();
        double secs = (double)(now - run->rate_ms) / 1000.0;

        veh_car_describe(run->cars[0], what, sizeof(what));
        if (secs >= 1 || last) {
            run->rate = secs > 0 && bytes >= run->rate_bytes
                            ? (double)(bytes - run->rate_bytes) / secs / (1024.0 * 1024.0)
                            : 0;
            run->rate_ms = now;
            run->rate_bytes = bytes;
        }
        if (veh_car_downloading(run->cars[0]) && !last)
            ota_log_status("%s, %.1f MiB/s", what, run->rate);
        else
            ota_log_status("%s", what);
    } else {
        ota_log_status("fleet: %zu/%zu installed, %zu failed, %zu downloading, %.1f MiB", done,
                       run->ncars, failed, active, (double)bytes / (1024.0 * 1024.0));
    }
    if (last)
        ota_log_status_end(true);
}

/* Runs until every vehicle is done, the deadline passes or a signal arrives. Returns
 * true if the deadline passed. */
static bool loop(struct run *run, const struct veh_opts *o)
{
    int64_t deadline = o->timeout_s ? run->start_ms + (int64_t)o->timeout_s * 1000 : INT64_MAX;
    int64_t next_progress = 0;
    struct veh_mqtt *mqtt = run->ncars == 1 ? veh_car_mqtt(run->cars[0]) : NULL;

    while (!stop_requested) {
        int64_t now = ota_monotonic_ms(), next = now + LOOP_MAX_WAIT_MS;
        struct curl_waitfd wfd = { .fd = -1 };
        bool all_done = true, want_write = false;
        unsigned nfd = 0;
        int wait_ms;

        for (size_t i = 0; i < run->ncars; i++) {
            int64_t t;

            if (veh_car_done(run->cars[i]))
                continue;
            all_done = false;
            t = veh_car_tick(run->cars[i], now);
            if (t < next)
                next = t;
        }
        if (all_done && (o->once || o->fleet))
            return false;
        if (now >= deadline)
            return true;
        run_transfers(run);
        if (run->tty && now >= next_progress) {
            progress_line(run, false);
            next_progress = now + PROGRESS_EVERY_MS;
        }
        if (mqtt && (wfd.fd = veh_mqtt_fd(mqtt, &want_write)) >= 0) {
            wfd.events = CURL_WAIT_POLLIN | (want_write ? CURL_WAIT_POLLOUT : 0);
            nfd = 1;
        }
        now = ota_monotonic_ms();
        wait_ms =
            next <= now ? 0 : (int)(next - now > LOOP_MAX_WAIT_MS ? LOOP_MAX_WAIT_MS : next - now);
        if (deadline - now < wait_ms)
            wait_ms = deadline - now < 0 ? 0 : (int)(deadline - now);
        curl_multi_wait(run->ctx.multi, nfd ? &wfd : NULL, nfd, wait_ms, NULL);
        if (mqtt)
            veh_mqtt_io(mqtt, nfd && (wfd.revents & CURL_WAIT_POLLIN),
                        nfd && (wfd.revents & CURL_WAIT_POLLOUT), ota_monotonic_ms());
        run_transfers(run);
    }
    return false;
}

static int summarize(struct run *run, const struct veh_opts *o, bool timed_out)
{
    double secs = (double)(ota_monotonic_ms() - run->start_ms) / 1000.0;
    size_t done = 0, failed = 0;
    uint64_t bytes = 0;

    for (size_t i = 0; i < run->ncars; i++) {
        struct veh_car *c = run->cars[i];
        enum veh_car_result res = veh_car_result(c);

        bytes += veh_car_bytes(c);
        if (res == VEH_CAR_INSTALLED) {
            done++;
            continue;
        }
        failed++;
        if (o->fleet)
            ota_warn("%s: %s", veh_car_id(c),
                     res == VEH_CAR_NONE
                         ? (timed_out ? "no update installed before --timeout" : "stopped")
                         : veh_car_reason(c));
    }
    if (run->tty)
        progress_line(run, true); /* its last state stays on the terminal */
    if (o->fleet) {
        if (o->json)
            printf("{\"done\":%zu,\"failed\":%zu,\"bytes\":%" PRIu64 ",\"seconds\":%.3f}\n", done,
                   failed, bytes, secs);
        else
            printf("done %zu failed %zu bytes %" PRIu64 " seconds %.3f\n", done, failed, bytes,
                   secs);
        fflush(stdout);
        return failed ? VEH_EXIT_FAILED : VEH_EXIT_INSTALLED;
    }
    if (!o->once)
        return VEH_EXIT_INSTALLED; /* a daemon stopped by a signal */
    switch (veh_car_result(run->cars[0])) {
    case VEH_CAR_INSTALLED:
        printf("%s installed\n", veh_car_id(run->cars[0]));
        return VEH_EXIT_INSTALLED;
    case VEH_CAR_FAILED:
        printf("%s failed: %s\n", veh_car_id(run->cars[0]), veh_car_reason(run->cars[0]));
        return VEH_EXIT_FAILED;
    case VEH_CAR_CANCELLED:
        printf("%s cancelled\n", veh_car_id(run->cars[0]));
        return VEH_EXIT_CANCELLED;
    case VEH_CAR_NONE:
    default:
        printf("%s nothing: %s\n", veh_car_id(run->cars[0]),
               timed_out ? "no update finished within --timeout" : "stopped");
        return VEH_EXIT_NOTHING;
    }
}

int veh_run(const struct veh_opts *o)
{
    struct run run = { 0 };
    struct sigaction sa = { 0 };
    bool timed_out, curl_up = false, mosq_up = false;
    int ret = VEH_EXIT_FAILED, r;

    run.ctx.opts = o;
    run.start_ms = ota_monotonic_ms();
    run.tty = isatty(STDERR_FILENO);
    run.rate_ms = run.start_ms;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    r = ota_sign_pub_load(o->pubkey, &run.ctx.pub);
    if (r < 0) {
        ota_err("%s: not a minisign public key (%s)", o->pubkey, strerror(-r));
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ota_err("cannot initialise libcurl");
        goto out;
    }
    curl_up = true;
    if (o->mode == VEH_MODE_MQTT) {
        mosquitto_lib_init();
        mosq_up = true;
    }
    run.ctx.multi = curl_multi_init();
    if (!run.ctx.multi)
        goto out;
    if (make_cars(&run, o) != 0)
        goto out;
    timed_out = loop(&run, o);
    ret = summarize(&run, o, timed_out);
out:
    for (size_t i = 0; i < run.ncars; i++)
        veh_car_free(run.cars[i]);
    free(run.cars);
    if (run.ctx.multi)
        curl_multi_cleanup(run.ctx.multi);
    if (curl_up)
        curl_global_cleanup();
    if (mosq_up)
        mosquitto_lib_cleanup();
    return ret;
}
