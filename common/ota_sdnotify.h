/* ota_sdnotify: tells systemd where a daemon stands (Type=notify units): READY, RELOADING,
 * STOPPING, and a one-line STATUS that `systemctl status` shows. Outside systemd
 * ($NOTIFY_SOCKET unset) it does nothing. A failure to tell is logged once and otherwise
 * ignored: readiness is advice to the service manager, never a reason to stop serving. */
#ifndef OTA_SDNOTIFY_H
#define OTA_SDNOTIFY_H

/* The states systemd knows (sd_notify(3)); OTA_SD_STATUS sends the STATUS line alone. */
enum ota_sd_state {
    OTA_SD_STATUS,
    OTA_SD_READY,
    OTA_SD_RELOADING,
    OTA_SD_STOPPING,
};

/* Sends @state with STATUS=<@fmt ...> (one line: newlines become spaces, cut at 200
 * bytes). @fmt may be NULL for the state alone. */
void ota_sd_notify(enum ota_sd_state state, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
