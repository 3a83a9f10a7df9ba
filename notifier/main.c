/* ota-notifier: options and configuration, then the event loop of ntf_daemon.c. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_config.h"
#include "ota_db.h"
#include "ota_log.h"
#include "ota_sdnotify.h"
#include "ntf_daemon.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ota-notifier [--config FILE] [--set SECTION.KEY=VALUE]... [--debug]\n"
               "Publishes the outbox to the MQTT broker ([mqtt]) and records vehicle status\n"
               "messages. Counters go to [notifier] stats_file (Prometheus text) and to a\n"
               "log line every minute. Exit: 0 stopped by SIGTERM, 1 failed, 2 usage.\n");
}

/* Several ota-notifiers may run on one PostgreSQL database: one leads (publishes the
 * outbox, takes the status, runs the rollout timers), the others stand by until its
 * session ends (it stopped, died or lost the database), so that no two publish the same
 * row at once. Waits for the lead: 0 once held, 1 on SIGTERM/SIGINT, -errno on failure.
 * The signals stay blocked for ntf_daemon's signalfd. */
static int wait_for_lead(struct ota_db *db)
{
    struct timespec tick = { 1, 0 };
    bool said = false;
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return -errno;
    for (;;) {
        int r = ota_db_lead(db);

        if (r == 1) {
            if (said)
                ota_info("took the lead: publishing from now on");
            return 0;
        }
        if (r == 0 && !said) {
            ota_info("standing by: another ota-notifier leads on this database; taking over "
                     "when it stops");
            ota_sd_notify(OTA_SD_READY, "standing by: another ota-notifier leads");
            said = true;
        } else if (r < 0 && r != -ECONNRESET) {
            return r;
        }
        if (sigtimedwait(&mask, NULL, &tick) >= 0)
            return 1;
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "set", required_argument, NULL, 's' },
        { "debug", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const required[] = { "paths.db", "mqtt.host", "mqtt.topic_prefix",
                                            "mqtt.client_id", NULL };
    struct ota_config cfg;
    struct ota_db *db = NULL;
    const char *config = NULL;
    char err[512] = "";
    bool debug = false, cfg_ok = false;
    int ret = 1, r, c;
    char **sets = NULL;
    int nsets = 0;

    sets = calloc((size_t)argc, sizeof(*sets));
    if (!sets)
        return 1;
    while ((c = getopt_long(argc, argv, "c:s:dh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 's':
            sets[nsets++] = optarg;
            break;
        case 'd':
            debug = true;
            break;
        case 'h':
            usage(stdout);
            ret = 0;
            goto out;
        default:
            usage(stderr);
            ret = 2;
            goto out;
        }
    }
    if (optind != argc) {
        usage(stderr);
        ret = 2;
        goto out;
    }
    ota_log_setup("ota-notifier", debug ? OTA_LOG_DEBUG : OTA_LOG_INFO);
    if (ota_config_init(&cfg) < 0) {
        ota_err("out of memory");
        goto out;
    }
    cfg_ok = true;
    if (!config)
        config = ota_config_default_path();
    if (config) {
        r = ota_config_load(&cfg, config, err, sizeof(err));
        if (r == -ENOENT) {
            ota_err("--config %s: no such file", config);
            goto out;
        }
        if (r < 0) {
            ota_err("%s: %s", config, err);
            goto out;
        }
    }
    /* Command-line values win over the file, whatever their order. */
    for (int i = 0; i < nsets; i++) {
        if (ota_config_set_arg(&cfg, sets[i], err, sizeof(err)) < 0) {
            ota_err("--set %s: %s", sets[i], err);
            goto out;
        }
    }
    if (ota_config_require(&cfg, required, err, sizeof(err)) < 0) {
        ota_err("%s", err);
        goto out;
    }
    if (cfg.notifier.max_inflight == 0 || cfg.notifier.max_inflight > 65535) {
        ota_err("notifier.max_inflight: must be 1..65535, got %u", cfg.notifier.max_inflight);
        goto out;
    }
    r = ota_db_open(cfg.paths.db, 0, &db);
    if (r < 0 && ota_db_is_url(cfg.paths.db)) {
        ota_err("paths.db: %s", ota_db_open_explain(r, cfg.paths.db, err, sizeof(err)));
        goto out;
    }
    if (r < 0) {
        ota_err("paths.db %s: %s", cfg.paths.db,
                r == -ENOENT ? "no such database (run ota-admin init)" : strerror(-r));
        goto out;
    }
    r = ota_db_check_schema(db);
    if (r < 0) {
        ota_err("paths.db %s: %s", ota_db_display(cfg.paths.db, err, sizeof(err)),
                r == -ESTALE   ? "schema is older than this program (run ota-admin init)"
                : r == -EPROTO ? "schema is newer than this program"
                               : ota_db_errmsg(db));
        goto out;
    }
    r = wait_for_lead(db);
    if (r == 1) {
        ota_info("stopped while standing by");
        ret = 0;
        goto out;
    }
    if (r < 0) {
        ota_err("paths.db: taking the lead: %s", ota_db_errmsg(db));
        goto out;
    }
    r = ntf_daemon_run(&cfg, db, err, sizeof(err));
    if (r < 0) {
        ota_err("%s", err);
        goto out;
    }
    ota_info("stopped");
    ret = 0;
out:
    ota_db_close(db);
    if (cfg_ok)
        ota_config_clear(&cfg);
    free(sets);
    return ret;
}
