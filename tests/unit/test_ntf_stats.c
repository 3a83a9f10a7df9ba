/* Unit tests for ntf_stats.c: Prometheus text, summary line and the atomic write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ntf_stats.h"
#include "ota_test.h"

int main(void)
{
    struct ntf_stats s = { 0 };
    char buf[4096], small[64], path[] = "/tmp/test_ntf_stats.XXXXXX", file[128], got[4096];
    int n;
    FILE *f;
    size_t len;

    s.published = 7;
    s.pending = 3;
    s.connected = true;
    s.status_bad[NTF_BAD_PAYLOAD] = 2;
    s.status_bad[NTF_BAD_UNKNOWN] = 1;
    n = ntf_stats_format(&s, buf, sizeof(buf));
    CHECK(n > 0 && (size_t)n == strlen(buf));
    CHECK(strstr(buf, "\nota_notifier_published_total 7\n") != NULL);
    CHECK(strstr(buf, "\nota_notifier_pending 3\n") != NULL);
    CHECK(strstr(buf, "\nota_notifier_broker_connected 1\n") != NULL);
    CHECK(strstr(buf, "ota_notifier_status_bad_total{reason=\"payload\"} 2\n") != NULL);
    CHECK(strstr(buf, "# TYPE ota_notifier_retries_total counter\n") != NULL);
    CHECK(ntf_stats_format(&s, small, sizeof(small)) == -ENOSPC);
    CHECK(ntf_stats_bad_total(&s) == 3);
    n = ntf_stats_summary(&s, buf, sizeof(buf));
    CHECK(n > 0 && strstr(buf, "broker=up session_failures=0 published=7 pending=3") != NULL);
    CHECK(strstr(buf, "status_bad=3") != NULL);

    CHECK(mkdtemp(path) != NULL);
    snprintf(file, sizeof(file), "%s/stats.prom", path);
    CHECK(ntf_stats_write(file, "a 1\n", 4) == 0);
    CHECK(ntf_stats_write(file, "b 2\n", 4) == 0);
    f = fopen(file, "r");
    CHECK(f != NULL);
    if (f) {
        len = fread(got, 1, sizeof(got) - 1, f);
        got[len] = '\0';
        fclose(f);
        CHECK(strcmp(got, "b 2\n") == 0);
    }
    unlink(file);
    snprintf(file, sizeof(file), "%s/nodir/stats.prom", path);
    CHECK(ntf_stats_write(file, "x", 1) == -ENOENT);
    rmdir(path);
    if (ota_test_failures)
        return 1;
    printf("ok\n");
    return 0;
}
