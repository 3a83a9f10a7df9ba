/* Type=notify for ota-server and ota-notifier through libsystemd's sd_notify(3). */
#include "ota_sdnotify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "ota_log.h"

#define STATUS_MAX 200 /* a line systemctl status shows whole */

void ota_sd_notify(enum ota_sd_state state, const char *fmt, ...)
{
    static const char *const names[] = {
        [OTA_SD_STATUS] = "",
        [OTA_SD_READY] = "READY=1\n",
        [OTA_SD_RELOADING] = "RELOADING=1\n",
        [OTA_SD_STOPPING] = "STOPPING=1\n",
    };
    static bool warned;
    char status[STATUS_MAX + 1] = "", msg[sizeof(status) + 32];
    int r;

    if ((unsigned)state >= sizeof(names) / sizeof(names[0]))
        return;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(status, sizeof(status), fmt, ap);
        va_end(ap);
        /* sd_notify's fields are newline-separated: an error text must not add one */
        for (char *p = status; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    snprintf(msg, sizeof(msg), "%s%s%s", names[state], fmt ? "STATUS=" : "", status);
    r = sd_notify(0, msg);
    if (r < 0 && !warned) {
        warned = true;
        ota_warn("telling systemd (NOTIFY_SOCKET): %s", strerror(-r));
    }
}
