/* Tests of srv_metrics: counters by route and status, histogram buckets, Prometheus text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_metrics.h"

static int fails;

static void expect_line(const char *text, const char *line)
{
    const char *p = text;
    size_t n = strlen(line);

    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return;
        p += n;
    }
    fprintf(stderr, "FAIL: no line [%s]\n", line);
    fails++;
}

int main(void)
{
    static const char *const names[] = { "artifacts", "updates" };
    static const char *const methods[] = { "GET", "GET" };
    struct srv_metrics *m = NULL;
    char *text = NULL;
    size_t len = 0;
    struct ota_buf b;

    if (srv_metrics_new(names, methods, 2, &m) < 0)
        return 1;
    srv_metrics_request(m, 0, 200, 1000, 500);      /* 0.5 ms */
    srv_metrics_request(m, 0, 206, 10, 3000);       /* 3 ms */
    srv_metrics_request(m, 0, 206, 10, 20000000);   /* 20 s: +Inf only */
    srv_metrics_request(m, 1, 304, 0, 100);
    srv_metrics_request(m, 7, 404, 50, 100);        /* no such route: "other" */
    srv_metrics_request(m, 1, 599, 0, 100);         /* unlisted status: "other" */
    srv_metrics_connection(m, 1);
    srv_metrics_connection(m, 1);
    srv_metrics_connection(m, -1);
    srv_metrics_tls_failure(m);
    srv_metrics_auth_failure(m, SRV_AUTH_REVOKED);
    srv_metrics_auth_failure(m, SRV_AUTH_REVOKED);
    ota_buf_init(&b, 1 << 20);
    if (srv_metrics_render(m, &b) < 0 || !(text = ota_buf_take(&b, &len)) || strlen(text) != len) {
        fprintf(stderr, "FAIL: render\n");
        return 1;
    }
    expect_line(text, "ota_http_requests_total{route=\"artifacts\",method=\"GET\",status=\"200\"} 1");
    expect_line(text, "ota_http_requests_total{route=\"artifacts\",method=\"GET\",status=\"206\"} 2");
    expect_line(text, "ota_http_requests_total{route=\"updates\",method=\"GET\",status=\"304\"} 1");
    expect_line(text, "ota_http_requests_total{route=\"updates\",method=\"GET\",status=\"other\"} 1");
    expect_line(text, "ota_http_requests_total{route=\"other\",method=\"\",status=\"404\"} 1");
    expect_line(text, "ota_http_response_bytes_total{route=\"artifacts\",method=\"GET\"} 1020");
    expect_line(text, "ota_http_request_duration_seconds_bucket{le=\"0.001\"} 4");
    expect_line(text, "ota_http_request_duration_seconds_bucket{le=\"0.005\"} 5");
    expect_line(text, "ota_http_request_duration_seconds_bucket{le=\"10\"} 5");
    expect_line(text, "ota_http_request_duration_seconds_bucket{le=\"+Inf\"} 6");
    expect_line(text, "ota_http_request_duration_seconds_count 6");
    expect_line(text, "ota_open_connections 1");
    expect_line(text, "ota_connections_total 2");
    expect_line(text, "ota_tls_failures_total 1");
    expect_line(text, "ota_auth_failures_total{reason=\"revoked\"} 2");
    expect_line(text, "ota_auth_failures_total{reason=\"no_cert\"} 0");
    if (fails)
        fprintf(stderr, "%s", text);
    free(text);
    srv_metrics_free(m);
    srv_metrics_free(NULL);
    printf("%d failures\n", fails);
    return fails ? 1 : 0;
}
